//! Time for the event loop: the core's clock (µs on `CLOCK_MONOTONIC` since start) and a timer
//! that wakes at a deadline on that clock to the microsecond (a `timerfd` under tokio's
//! `AsyncFd`). tokio's own sleeps round every deadline up to a whole millisecond, which alone
//! would put each takeover up to 1 ms past Active_Down_Interval.
//!
//! `CLOCK_MONOTONIC` keeps running through a freeze (SIGSTOP, `docker pause`), so a thawed
//! daemon finds its timers overdue, as it must.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use vrrp_core::Instant;

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
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
    fd: AsyncFd<OwnedFd>,
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        // SAFETY: plain timerfd_create; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is an open descriptor owned by the `AsyncFd` from here on, and `OwnedFd`
        // always reports the same descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Timer { fd })
    }

    /// Resolves at `deadline` (at once if it has passed). Cancel-safe: the next call re-arms.
    pub async fn sleep_until(&mut self, clock: Clock, deadline: Instant) -> io::Result<()> {
        let ns = clock.to_monotonic_ns(deadline).max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: timerfd_settime reads the itimerspec we pass; the old value is not wanted.
        let r = unsafe {
            libc::timerfd_settime(
                self.fd.get_ref().as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reads the 8-byte expiration count into our buffer.
            let n = unsafe {
                libc::read(
                    guard.get_inner().as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == 8 {
                // Drained until the next expiry: saves the EAGAIN read at the next wait.
                guard.clear_ready();
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
            // Re-armed before the old expiry was read, or a spurious wake: wait again.
            guard.clear_ready();
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
    async fn a_passed_deadline_fires_at_once() {
        let clock = Clock::start();
        let mut timer = Timer::new().unwrap();
        timer
            .sleep_until(clock, Instant::from_micros(0))
            .await
            .unwrap();
    }
}
