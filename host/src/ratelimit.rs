//! Rate-limited log lines for what can happen once per frame.
//!
//! A peer (or an attacker) can send adverts as fast as the link carries them: 100,000 adverts
//! with another address list in 1.5 s once wrote 100,000 WARN lines. Such a line is logged
//! the first time, then summarised once per [`WINDOW`] ("... 41233 more in the last 5 s") while
//! it keeps happening, per kind and VRID. The status counters still count every occurrence:
//! the log says that something happens, the counters say how often.
//!
//! [`Limiter`] is the rule with the time passed in; [`admit`] and [`flush`] apply it to one
//! process-wide limiter on the monotonic clock, so that a call site needs no state of its own.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a line that keeps happening is summarised.
pub const WINDOW: Duration = Duration::from_secs(5);

/// What to do with one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first in a quiet spell: log it in full.
    Log,
    /// Counted for the next summary, not logged.
    Suppressed,
    /// This occurrence ends a window in which `count` of them (this one included) were not
    /// logged, over `over`: log one summary line instead.
    Summary { count: u64, over: Duration },
}

#[derive(Debug, Clone, Copy)]
struct Slot<K> {
    key: K,
    /// Start of the current window: the last line logged for this key.
    since: Instant,
    suppressed: u64,
}

/// Per-key windows. Keys are few (a kind of line times a VRID), so a linear search beats a map.
#[derive(Debug, Clone)]
pub struct Limiter<K> {
    window: Duration,
    slots: Vec<Slot<K>>,
}

impl<K: Copy + Eq> Limiter<K> {
    pub const fn new(window: Duration) -> Limiter<K> {
        Limiter {
            window,
            slots: Vec::new(),
        }
    }

    /// One occurrence of `key` at `now`.
    pub fn admit(&mut self, key: K, now: Instant) -> Verdict {
        let window = self.window;
        let Some(slot) = self.slots.iter_mut().find(|s| s.key == key) else {
            self.slots.push(Slot {
                key,
                since: now,
                suppressed: 0,
            });
            return Verdict::Log;
        };
        let over = now.saturating_duration_since(slot.since);
        if over < window {
            slot.suppressed += 1;
            return Verdict::Suppressed;
        }
        let count = slot.suppressed + 1;
        slot.since = now;
        slot.suppressed = 0;
        if count == 1 {
            Verdict::Log
        } else {
            Verdict::Summary { count, over }
        }
    }

    /// Calls `summary(key, count, over)` for every window that ended by `now` with occurrences
    /// not logged, and starts a new one; a key whose window ended quietly is forgotten, so its
    /// next occurrence is logged in full.
    pub fn flush(&mut self, now: Instant, mut summary: impl FnMut(K, u64, Duration)) {
        let window = self.window;
        self.slots.retain_mut(|s| {
            let over = now.saturating_duration_since(s.since);
            if over < window {
                return true;
            }
            if s.suppressed == 0 {
                return false;
            }
            summary(s.key, s.suppressed, over);
            s.since = now;
            s.suppressed = 0;
            true
        });
    }
}

/// The lines that can repeat once per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AddressMismatch,
    TxQueueFull,
    TapWriteFailed,
    TapReadFailed,
    TapOversized,
    UnicastSend,
    UnicastRecv,
    UplinkSend,
    /// A READY / WATCHDOG / STOPPING datagram to systemd (not per router: VRID 0).
    SystemdNotify,
}

impl Kind {
    /// The line's message; its summary repeats it.
    pub const fn message(self) -> &'static str {
        match self {
            Kind::AddressMismatch => "advert lists other virtual addresses than ours",
            Kind::TxQueueFull => "transmit queue full: frame dropped",
            Kind::TapWriteFailed => "TAP write failed, frame dropped",
            Kind::TapReadFailed => "TAP read failed",
            Kind::TapOversized => "frame longer than the TAP MTU not sent",
            Kind::UnicastSend => "unicast advert not sent",
            Kind::UnicastRecv => "unicast advert socket",
            Kind::UplinkSend => "advert not sent on the uplink, sent through the TAP",
            Kind::SystemdNotify => "systemd notification not sent",
        }
    }
}

/// A kind of line and the VRID it is about (0: none, VRID 0 is never a router's).
pub type Key = (Kind, u8);

static LIMITER: Mutex<Limiter<Key>> = Mutex::new(Limiter::new(WINDOW));

/// The limiter holds a window: [`flush`] has something to look at. Read without the lock at
/// every loop turn, which on a quiet daemon is all that `flush` costs.
static WINDOWS_OPEN: AtomicBool = AtomicBool::new(false);

fn limiter() -> std::sync::MutexGuard<'static, Limiter<Key>> {
    LIMITER.lock().unwrap_or_else(|p| p.into_inner())
}

/// True if this occurrence of `kind` for `vrid` is to be logged in full (use
/// [`warn_limited!`](crate::warn_limited)). A suppressed one is counted; one that ends a window
/// logs the window's summary here.
pub fn admit(kind: Kind, vrid: u8) -> bool {
    let mut limiter = limiter();
    let verdict = limiter.admit((kind, vrid), Instant::now());
    WINDOWS_OPEN.store(true, Ordering::Relaxed);
    drop(limiter);
    match verdict {
        Verdict::Log => true,
        Verdict::Suppressed => false,
        Verdict::Summary { count, over } => {
            summarise((kind, vrid), count, over);
            false
        }
    }
}

/// Logs the summaries of the windows that ended: the event loop calls it every turn, so that
/// the count of a flood that stopped is not held back until the next occurrence.
pub fn flush() {
    // Set under the lock by `admit`, cleared under it here: a window opened after the load is
    // flushed at the next turn.
    if !WINDOWS_OPEN.load(Ordering::Relaxed) {
        return;
    }
    let mut limiter = limiter();
    limiter.flush(Instant::now(), summarise);
    if limiter.slots.is_empty() {
        WINDOWS_OPEN.store(false, Ordering::Relaxed);
    }
}

fn summarise((kind, vrid): Key, count: u64, over: Duration) {
    let secs = over.as_secs().max(1);
    if vrid == 0 {
        tracing::warn!(
            suppressed = count,
            "{}: {count} more in the last {secs} s",
            kind.message()
        );
    } else {
        tracing::warn!(
            vrid,
            suppressed = count,
            "{}: {count} more in the last {secs} s",
            kind.message()
        );
    }
}

/// `tracing::warn!` through [`admit`]: `warn_limited!(Kind::X, vrid, fields..., "message")`.
#[macro_export]
macro_rules! warn_limited {
    ($kind:expr, $vrid:expr, $($arg:tt)+) => {
        if $crate::ratelimit::admit($kind, $vrid) {
            ::tracing::warn!($($arg)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Key = (Kind::AddressMismatch, 7);
    const B: Key = (Kind::AddressMismatch, 8);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_logged_then_counted_until_the_window_ends() {
        let t0 = Instant::now();
        let mut l = Limiter::new(ms(5000));
        assert_eq!(l.admit(A, t0), Verdict::Log);
        for i in 1..=999 {
            assert_eq!(l.admit(A, t0 + ms(i)), Verdict::Suppressed);
        }
        assert_eq!(l.admit(A, t0 + ms(4999)), Verdict::Suppressed);
        // At the window's end, the next one is summarised with the thousand before it.
        assert_eq!(
            l.admit(A, t0 + ms(5000)),
            Verdict::Summary {
                count: 1001,
                over: ms(5000)
            }
        );
        assert_eq!(l.admit(A, t0 + ms(5001)), Verdict::Suppressed);
    }

    #[test]
    fn keys_have_their_own_windows() {
        let t0 = Instant::now();
        let mut l = Limiter::new(ms(5000));
        assert_eq!(l.admit(A, t0), Verdict::Log);
        assert_eq!(l.admit(B, t0 + ms(1)), Verdict::Log);
        assert_eq!(l.admit((Kind::TxQueueFull, 7), t0 + ms(2)), Verdict::Log);
        assert_eq!(l.admit(A, t0 + ms(3)), Verdict::Suppressed);
        assert_eq!(l.admit(B, t0 + ms(3)), Verdict::Suppressed);
    }

    #[test]
    fn flush_reports_ended_windows_once_and_forgets_quiet_keys() {
        let t0 = Instant::now();
        let mut l = Limiter::new(ms(5000));
        l.admit(A, t0);
        l.admit(A, t0 + ms(10));
        l.admit(A, t0 + ms(20));
        l.admit(B, t0 + ms(1000));
        let mut seen = Vec::new();
        l.flush(t0 + ms(4999), |k, n, over| seen.push((k, n, over)));
        assert!(seen.is_empty(), "no window ended: {seen:?}");
        l.flush(t0 + ms(5000), |k, n, over| seen.push((k, n, over)));
        assert_eq!(seen, vec![(A, 2, ms(5000))]);
        // A new window started at the summary: a flood that goes on is summarised again.
        assert_eq!(l.admit(A, t0 + ms(6000)), Verdict::Suppressed);
        seen.clear();
        l.flush(t0 + ms(10_000), |k, n, over| seen.push((k, n, over)));
        assert_eq!(seen, vec![(A, 1, ms(5000))]);
        // B's window ended with nothing suppressed: forgotten, its next one is logged.
        assert_eq!(l.admit(B, t0 + ms(10_001)), Verdict::Log);
        // A's last window (10 s..15 s) stays quiet: forgotten as well.
        seen.clear();
        l.flush(t0 + ms(15_000), |k, n, over| seen.push((k, n, over)));
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!(l.admit(A, t0 + ms(15_001)), Verdict::Log);
    }

    #[test]
    fn a_quiet_window_ends_with_a_full_line_not_a_summary() {
        let t0 = Instant::now();
        let mut l = Limiter::new(ms(5000));
        assert_eq!(l.admit(A, t0), Verdict::Log);
        assert_eq!(l.admit(A, t0 + ms(7000)), Verdict::Log);
        assert_eq!(l.admit(A, t0 + ms(7001)), Verdict::Suppressed);
    }

    #[test]
    fn a_flood_makes_a_bounded_number_of_lines() {
        // 100,000 occurrences over 1.5 s, flushed every 10 ms as the event loop does, then
        // flushed on for 10 s: the first line and one summary that counts all the others.
        let t0 = Instant::now();
        let mut l = Limiter::new(WINDOW);
        let mut lines = 0;
        let mut summarised = 0;
        for i in 0..100_000u64 {
            let now = t0 + Duration::from_micros(i * 15);
            if l.admit(A, now) == Verdict::Log {
                lines += 1;
            }
            if i % 667 == 0 {
                l.flush(now, |_, n, _| {
                    lines += 1;
                    summarised += n;
                });
            }
        }
        for turn in 0..1000 {
            l.flush(t0 + ms(1500 + turn * 10), |_, n, _| {
                lines += 1;
                summarised += n;
            });
        }
        assert_eq!((lines, summarised), (2, 99_999));
    }
}
