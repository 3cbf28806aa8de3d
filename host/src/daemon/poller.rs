//! The event loop's one wait: a level-triggered epoll over the timer, the services' notices and
//! the data path's descriptors.
//!
//! The deadline is the wait's own timeout, to the nanosecond (`epoll_pwait2`, Linux 5.11), so a
//! turn of the loop makes no system call to re-arm a timer: a Backup's turn is the wait and one
//! TAP read, an Active's the wait and one send of its advert (on the uplink's packet socket,
//! see `datapath::uplink`). The loop thread's timer slack is set to
//! 1 ns, or the kernel would let such a timeout run up to 50 µs late; a timeout above 100 ms
//! also carries a slack the kernel derives from its length, so such a wait ends early on
//! purpose and the rest is waited out (see `early`). On an older kernel the
//! wait falls back to the `timerfd` (see [`super::timer`]), re-armed every turn.
//!
//! Level-triggered, so a descriptor that still holds something after a partial read (a TAP read
//! one frame at a time, an unread timer expiry) wakes the next wait at once instead of being
//! lost, and no read has to run until `EAGAIN` to re-arm an edge.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::datapath::Source;

/// Which descriptors a wait found ready: the timer, the notices, and three bits per uplink.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Ready(u32);

/// An uplink's sources in the order of their bits: uplink `k`'s take bits `2 + 3k` on.
const SOURCES: [Source; 3] = [Source::Tap, Source::Unicast4, Source::Unicast6];

const _: () = assert!(
    2 + 3 * crate::config::MAX_UPLINKS <= 32,
    "Ready has a bit per source"
);

impl Ready {
    pub const TIMER: Ready = Ready(1);
    pub const NOTICES: Ready = Ready(1 << 1);

    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// The data path's ready sources, each with its uplink's index: by uplink, the TAP first.
    /// Walks the set bits only: it runs at every wake-up.
    pub fn sources(self) -> impl Iterator<Item = (usize, Source)> {
        let mut bits = self.0 >> 2;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some((i / 3, SOURCES[i % 3]))
        })
    }

    fn of(uplink: usize, source: Source) -> Ready {
        let i = SOURCES.iter().position(|s| *s == source).unwrap_or(0);
        Ready(1 << (2 + 3 * uplink + i))
    }
}

pub(super) struct Poller {
    epoll: Epoll,
    events: [EpollEvent; 32],
    /// The kernel has `epoll_pwait2`: deadlines are timeouts of the wait, not the timer's.
    timeouts: bool,
}

impl Poller {
    /// Watches `timer`, `notices` and every source of every uplink's data path (`sources[k]`
    /// is uplink `k`'s) for readability (and errors: a TAP whose interface was deleted polls as
    /// an error only, which the next read reports).
    pub fn new(
        timer: &impl AsFd,
        notices: &impl AsFd,
        sources: &[Vec<(Source, RawFd)>],
    ) -> io::Result<Poller> {
        if sources.len() > crate::config::MAX_UPLINKS {
            return Err(io::Error::other(
                "more uplinks than the wait can tell apart",
            ));
        }
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let watch = |fd: BorrowedFd<'_>, r: Ready| {
            epoll.add(fd, EpollEvent::new(EpollFlags::EPOLLIN, u64::from(r.0)))
        };
        watch(timer.as_fd(), Ready::TIMER)?;
        watch(notices.as_fd(), Ready::NOTICES)?;
        for (k, uplink) in sources.iter().enumerate() {
            for &(source, fd) in uplink {
                // SAFETY: the data path owns `fd` and outlives the poller (both belong to the
                // daemon, and the poller only lives inside its loop).
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                watch(fd, Ready::of(k, source))?;
            }
        }
        let mut p = Poller {
            epoll,
            events: [EpollEvent::empty(); 32],
            timeouts: true,
        };
        // An instant wait tells whether the kernel has the call.
        p.timeouts = !matches!(p.pwait2(Some(Duration::ZERO)), Err(Errno::ENOSYS));
        Ok(p)
    }

    /// Whether [`Poller::wait`] takes deadlines; if not, the caller arms the timer it watches.
    pub fn takes_timeouts(&self) -> bool {
        self.timeouts
    }

    /// `epoll_pwait2` on the events buffer, `None`: no timeout. nix has no binding for it.
    fn pwait2(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the events buffer is ours and holds `len` events (EpollEvent is
        // `repr(transparent)` over `epoll_event`); the timespec lives across the call; no
        // signal mask is passed.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epoll.0.as_fd().as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                ts_ptr,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }

    /// Waits until at least one descriptor is ready or, if the kernel [takes
    /// timeouts](Poller::takes_timeouts), until `timeout` has passed ([`Ready::TIMER`]; without
    /// them the timer the poller watches says it).
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Ready> {
        let start = std::time::Instant::now();
        loop {
            let n = if self.timeouts {
                let left = timeout.saturating_sub(start.elapsed());
                let ask = early(left);
                match self.pwait2(Some(ask)) {
                    Ok(0) if ask == left => return Ok(Ready::TIMER),
                    // Ended early on purpose: the rest is a short wait.
                    Ok(0) => continue,
                    // The caller works out the time left again.
                    Err(Errno::EINTR) => return Ok(Ready::default()),
                    n => n,
                }
            } else {
                self.epoll.wait(&mut self.events, EpollTimeout::NONE)
            };
            match n {
                Ok(n) => {
                    let ready = self.events[..n]
                        .iter()
                        .fold(0u32, |acc, e| acc | e.data() as u32);
                    if ready != 0 {
                        return Ok(Ready(ready));
                    }
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Waits longer than this end early on purpose (see [`early`]).
const LONG_WAIT: Duration = Duration::from_millis(100);

/// What to ask of `epoll_pwait2` for a wait of `left`. The kernel gives an epoll timeout a
/// slack of its own, 0.1 % of the timeout (0.5 % for a niced task, none for a real-time one),
/// whatever the thread's timer slack, and on a quiet machine the wait ends at the end of it: a
/// Backup's 3.6 s wait for its Master_Down_Interval at I = 1 s would end 3.6 ms late. A wait
/// longer than [`LONG_WAIT`] (a slack above 100 µs) therefore ends 0.5 % early, and the rest,
/// a wait of a few milliseconds whose slack is a few microseconds, follows.
fn early(left: Duration) -> Duration {
    if left > LONG_WAIT {
        left - left / 200
    } else {
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::eventfd::{EfdFlags, EventFd};
    use std::os::fd::AsRawFd;

    /// Longer than any test waits for a ready descriptor.
    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn reports_what_is_ready_and_keeps_reporting_it_until_read() {
        let timer = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let notices = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let tap = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let u6 = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let tap1 = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let mut p = Poller::new(
            &timer,
            &notices,
            &[
                vec![
                    (Source::Tap, tap.as_raw_fd()),
                    (Source::Unicast6, u6.as_raw_fd()),
                ],
                vec![(Source::Tap, tap1.as_raw_fd())],
            ],
        )
        .unwrap();
        tap.write(1).unwrap();
        u6.write(1).unwrap();
        let r = p.wait(LONG).unwrap();
        assert_eq!(
            r.sources().collect::<Vec<_>>(),
            [(0, Source::Tap), (0, Source::Unicast6)]
        );
        assert!(!r.contains(Ready::TIMER) && !r.contains(Ready::NOTICES));
        // Level-triggered: still ready, since nothing was read.
        assert_eq!(p.wait(LONG).unwrap(), r);
        tap.read().unwrap();
        u6.read().unwrap();
        // The second uplink's TAP is told apart from the first's.
        tap1.write(1).unwrap();
        assert_eq!(
            p.wait(LONG).unwrap().sources().collect::<Vec<_>>(),
            [(1, Source::Tap)]
        );
        tap1.read().unwrap();
        timer.write(1).unwrap();
        let r = p.wait(LONG).unwrap();
        assert!(r.contains(Ready::TIMER));
        assert_eq!(r.sources().count(), 0);
    }

    fn eventfds() -> (EventFd, EventFd) {
        let fd = || EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        (fd(), fd())
    }

    /// A poller that takes timeouts, on a thread whose timer slack is 1 ns (as the loop's).
    fn timeout_poller<'a>(timer: &'a EventFd, notices: &'a EventFd) -> Poller {
        let p = Poller::new(timer, notices, &[]).unwrap();
        assert!(
            p.takes_timeouts(),
            "this kernel has no epoll_pwait2 (Linux 5.11)"
        );
        nix::sys::prctl::set_timerslack(1).unwrap();
        p
    }

    #[test]
    fn a_timeout_ends_the_wait_at_the_deadline_to_the_microsecond() {
        let (timer, notices) = eventfds();
        let mut p = timeout_poller(&timer, &notices);
        let clock = super::super::timer::Clock::start();
        let mut late = Vec::new();
        for i in 1..=31u64 {
            let deadline = clock.now() + vrrp_core::Duration::from_micros(1_300 + 37 * i);
            let r = p.wait(clock.until(deadline)).unwrap();
            let now = clock.now();
            assert_eq!(r, Ready::TIMER);
            assert!(now >= deadline, "woke early");
            late.push((now - deadline).as_micros());
        }
        late.sort_unstable();
        // As for the timerfd (see `timer`): a millisecond-rounding wait would be ~500 us late in
        // the median; the default timer slack alone adds up to 50 us.
        assert!(late[15] < 500, "median lateness {} us: {late:?}", late[15]);
        // A ready descriptor still ends a wait with a long timeout at once.
        notices.write(1).unwrap();
        assert!(p.wait(LONG).unwrap().contains(Ready::NOTICES));
    }

    #[test]
    fn long_waits_end_early_by_more_than_the_kernel_slack_and_short_ones_do_not() {
        assert_eq!(early(Duration::from_millis(10)), Duration::from_millis(10));
        assert_eq!(early(LONG_WAIT), LONG_WAIT);
        let long = Duration::from_millis(3_610);
        // The kernel may end it up to 0.5 % (niced) after what was asked: still not late.
        let asked = early(long);
        assert!(asked + asked / 200 <= long, "{asked:?}");
        // What is left after the first wait is short enough to take as is.
        assert!(long - asked <= LONG_WAIT);
        assert_eq!(early(long - asked), long - asked);
    }

    /// A Backup at I = 1 s waits 3.6 s for its Master_Down_Interval: the wait must end at its
    /// deadline, not 0.1 % of it later (the kernel's slack for epoll timeouts).
    #[test]
    fn a_long_timeout_ends_the_wait_at_the_deadline_not_a_slack_later() {
        let (timer, notices) = eventfds();
        let mut p = timeout_poller(&timer, &notices);
        let clock = super::super::timer::Clock::start();
        // The slack would make every wait 1,500 us late; a loaded machine (the whole suite
        // running beside it) makes one late now and then. Up to three waits, one on time.
        let mut lateness = Vec::new();
        for _ in 0..3 {
            let deadline = clock.now() + vrrp_core::Duration::from_millis(1_500);
            let r = p.wait(clock.until(deadline)).unwrap();
            let now = clock.now();
            assert_eq!(r, Ready::TIMER);
            assert!(now >= deadline, "woke early");
            lateness.push((now - deadline).as_micros());
            if lateness.last().is_some_and(|&late| late < 500) {
                return;
            }
        }
        panic!("every wait was late (us): {lateness:?}");
    }
}
