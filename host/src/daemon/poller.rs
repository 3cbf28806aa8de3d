//! The event loop's one wait: a level-triggered epoll over the timer, the services' notices and
//! the data path's descriptors.
//!
//! Level-triggered, so a descriptor that still holds something after a partial read (a TAP read
//! one frame at a time, an unread timer expiry) wakes the next wait at once instead of being
//! lost, and no read has to run until `EAGAIN` to re-arm an edge.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};

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
        Ok(Poller {
            epoll,
            events: [EpollEvent::empty(); 32],
        })
    }

    /// Waits until at least one descriptor is ready.
    pub fn wait(&mut self) -> io::Result<Ready> {
        loop {
            match self.epoll.wait(&mut self.events, EpollTimeout::NONE) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::eventfd::{EfdFlags, EventFd};
    use std::os::fd::AsRawFd;

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
        let r = p.wait().unwrap();
        assert_eq!(
            r.sources().collect::<Vec<_>>(),
            [(0, Source::Tap), (0, Source::Unicast6)]
        );
        assert!(!r.contains(Ready::TIMER) && !r.contains(Ready::NOTICES));
        // Level-triggered: still ready, since nothing was read.
        assert_eq!(p.wait().unwrap(), r);
        tap.read().unwrap();
        u6.read().unwrap();
        // The second uplink's TAP is told apart from the first's.
        tap1.write(1).unwrap();
        assert_eq!(
            p.wait().unwrap().sources().collect::<Vec<_>>(),
            [(1, Source::Tap)]
        );
        tap1.read().unwrap();
        timer.write(1).unwrap();
        let r = p.wait().unwrap();
        assert!(r.contains(Ready::TIMER));
        assert_eq!(r.sources().count(), 0);
    }
}
