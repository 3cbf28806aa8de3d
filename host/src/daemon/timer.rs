//! Time for the event loop: the core's clock (µs on `CLOCK_MONOTONIC` since start) and a timer
//! that wakes at a deadline on that clock to the microsecond (a `timerfd`). tokio's sleeps round
//! every deadline up to a whole millisecond, which alone would put each takeover up to 1 ms past
//! Active_Down_Interval.
//!
//! `CLOCK_MONOTONIC` keeps running through a freeze (SIGSTOP, `docker pause`), so a thawed
//! daemon finds its timers overdue, as it must.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::clock_gettime;
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

    /// How long from now until `deadline` (zero if it has passed), to the nanosecond: a wait's
    /// timeout that ends where a timer armed at `deadline` would fire.
    pub fn until(self, deadline: Instant) -> std::time::Duration {
        std::time::Duration::from_nanos(
            self.to_monotonic_ns(deadline)
                .saturating_sub(monotonic_ns()),
        )
    }
}

/// A one-shot timer at an absolute instant of a [`Clock`]: a non-blocking `timerfd` that the
/// event loop's epoll watches.
pub struct Timer {
    fd: TimerFd,
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(Timer { fd })
    }

    /// Makes the descriptor readable at `deadline` (at once if it has passed), replacing any
    /// earlier deadline. The expiration count is never read: the clock, not the count, says
    /// whether a deadline passed, which saves a system call per wake-up. The next `arm` zeroes
    /// the count, and with it the readability, so the descriptor must be watched level-triggered.
    pub fn arm(&self, clock: Clock, deadline: Instant) -> io::Result<()> {
        // An all-zero expiry would disarm the timer instead of firing it.
        let ns = clock.to_monotonic_ns(deadline).max(1);
        let at = TimeSpec::from_duration(std::time::Duration::from_nanos(ns));
        self.fd
            .set(
                Expiration::OneShot(at),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME,
            )
            .map_err(io::Error::from)
    }
}

impl AsFd for Timer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    /// Blocks until the timer's descriptor is readable.
    fn wait(timer: &Timer) {
        let mut fds = [PollFd::new(timer.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(5_000u16)).expect("poll");
        assert_eq!(n, 1, "the timer never fired");
    }

    #[test]
    fn wakes_at_the_deadline_to_the_microsecond_not_the_millisecond() {
        let clock = Clock::start();
        let timer = Timer::new().unwrap();
        let mut late = Vec::new();
        for i in 1..=31u64 {
            let deadline = clock.now() + vrrp_core::Duration::from_micros(1_300 + 37 * i);
            timer.arm(clock, deadline).unwrap();
            wait(&timer);
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

    #[test]
    fn rearming_forgets_an_expiry_nobody_read() {
        let clock = Clock::start();
        let timer = Timer::new().unwrap();
        timer
            .arm(clock, clock.now() + vrrp_core::Duration::from_micros(200))
            .unwrap();
        wait(&timer);
        let deadline = clock.now() + vrrp_core::Duration::from_millis(3);
        timer.arm(clock, deadline).unwrap();
        wait(&timer);
        assert!(clock.now() >= deadline, "woke at the replaced deadline");
    }

    #[test]
    fn a_passed_deadline_fires_at_once() {
        let clock = Clock::start();
        let timer = Timer::new().unwrap();
        timer.arm(clock, Instant::from_micros(0)).unwrap();
        wait(&timer);
    }
}
