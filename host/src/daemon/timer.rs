//! Time for the event loop: the core's clock (µs on `CLOCK_MONOTONIC` since start) and a timer
//! that wakes at a deadline on that clock to the microsecond (a `timerfd` under tokio's
//! `AsyncFd`). tokio's own sleeps round every deadline up to a whole millisecond, which alone
//! would put each takeover up to 1 ms past Active_Down_Interval.
//!
//! `CLOCK_MONOTONIC` keeps running through a freeze (SIGSTOP, `docker pause`), so a thawed
//! daemon finds its timers overdue, as it must.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::clock_gettime;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use vrrp_core::Instant;

fn monotonic_ns() -> u64 {
    // CLOCK_MONOTONIC always exists and the timespec is ours, so this cannot fail.
    let ts = clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// The core's clock: microseconds since the daemon started.
#[derive(Clone, Copy)]
pub struct Clock {
    origin_ns: u64,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            origin_ns: monotonic_ns(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros((monotonic_ns() - self.origin_ns) / 1_000)
    }

    fn to_monotonic_ns(self, t: Instant) -> u64 {
        self.origin_ns + t.as_micros() * 1_000
    }
}

/// A one-shot timer at an absolute instant of a [`Clock`].
pub struct Timer {
    fd: AsyncFd<Timerfd>,
}

/// `AsyncFd` wants `AsRawFd`, which nix's `TimerFd` does not implement.
struct Timerfd(TimerFd);

impl AsRawFd for Timerfd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the timerfd is open and owned by the `AsyncFd` from here on, and `Timerfd`
        // always reports its one descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(Timerfd(fd), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Timer { fd })
    }

    /// Resolves at `deadline` (at once if it has passed). Cancel-safe: the next call re-arms.
    pub async fn sleep_until(&mut self, clock: Clock, deadline: Instant) -> io::Result<()> {
        // An all-zero expiry would disarm the timer instead of firing it.
        let ns = clock.to_monotonic_ns(deadline).max(1);
        let at = TimeSpec::from_duration(std::time::Duration::from_nanos(ns));
        self.fd.get_ref().0.set(
            Expiration::OneShot(at),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        loop {
            let mut guard = self.fd.readable().await?;
            // The clock, not a read of the expiration count, says whether this is our expiry:
            // one system call less per wake-up. Leaving the count unread is fine, because the
            // next `set` zeroes it, and the next expiry is a new edge for the reactor.
            // Readiness left from an expiry a cancelled wait never saw ends here as well.
            guard.clear_ready();
            if clock.now() >= deadline {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_at_the_deadline_to_the_microsecond_not_the_millisecond() {
        let clock = Clock::start();
        let mut timer = Timer::new().unwrap();
        let mut late = Vec::new();
        for i in 1..=31u64 {
            let deadline = clock.now() + vrrp_core::Duration::from_micros(1_300 + 37 * i);
            timer.sleep_until(clock, deadline).await.unwrap();
            let now = clock.now();
            assert!(now >= deadline, "woke early");
            late.push((now - deadline).as_micros());
        }
        late.sort_unstable();
        // A timer rounding deadlines up to whole milliseconds is late by ~500 us in the median
        // on these sub-millisecond offsets; the median resists the odd wake-up a loaded machine
        // delays.
        assert!(late[15] < 500, "median lateness {} us: {late:?}", late[15]);
    }

    #[tokio::test]
    async fn an_expiry_left_unread_by_a_cancelled_wait_does_not_end_the_next() {
        let clock = Clock::start();
        let mut timer = Timer::new().unwrap();
        {
            let first =
                timer.sleep_until(clock, clock.now() + vrrp_core::Duration::from_micros(200));
            futures::pin_mut!(first);
            assert!(futures::poll!(first).is_pending());
        }
        // Blocking keeps the reactor from seeing the first expiry before the timer is re-armed.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let deadline = clock.now() + vrrp_core::Duration::from_millis(3);
        timer.sleep_until(clock, deadline).await.unwrap();
        assert!(clock.now() >= deadline, "woke at the cancelled deadline");
    }

    #[tokio::test]
    async fn a_passed_deadline_fires_at_once() {
        let clock = Clock::start();
        let mut timer = Timer::new().unwrap();
        timer
            .sleep_until(clock, Instant::from_micros(0))
            .await
            .unwrap();
    }
}
