//! systemd's notification protocol, for a unit with `Type=notify` and `WatchdogSec=`: READY=1
//! once every virtual router has started (after its checks' first verdicts), WATCHDOG=1 from the
//! event loop itself at half the watchdog period (so a stalled loop, not only a dead process,
//! gets the service restarted), STOPPING=1 when vrrpd begins to step down. Without
//! `NOTIFY_SOCKET` in the environment nothing is sent.

use vrrp_core::{Duration, Instant};

use sd_notify::NotifyState;

use crate::ratelimit::Kind;

/// The variables systemd hands to its service and that processes vrrpd starts (nginx, hooks)
/// must not inherit: they would speak for vrrpd.
pub const ENV: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// What is owed to systemd, and when.
pub struct Systemd {
    enabled: bool,
    ready: bool,
    /// Half the watchdog period, and when the next WATCHDOG=1 is due.
    watchdog: Option<(Duration, Instant)>,
}

impl Systemd {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog counts only when
    /// its pid is ours).
    pub fn from_env(now: Instant) -> Systemd {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let mut usec = 0;
        let watchdog = (enabled && sd_notify::watchdog_enabled(false, &mut usec) && usec > 0)
            .then(|| (Duration::from_micros(usec / 2), now));
        Systemd {
            enabled,
            ready: !enabled,
            watchdog,
        }
    }

    /// Whether READY=1 went out (or is not owed).
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// READY=1, with a status line for `systemctl status`.
    pub fn ready(&mut self, status: &str) {
        if !self.ready {
            self.ready = true;
            self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
        }
    }

    /// When the loop must wake for the next WATCHDOG=1.
    pub fn next_wake(&self) -> Option<Instant> {
        self.watchdog.map(|(_, next)| next)
    }

    /// Sends WATCHDOG=1 if it is due.
    pub fn poll(&mut self, now: Instant) {
        if let Some((half, next)) = self.watchdog.as_mut()
            && now >= *next
        {
            *next = now + *half;
            self.send(&[NotifyState::Watchdog]);
        }
    }

    /// STOPPING=1.
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping]);
    }

    fn send(&self, state: &[NotifyState]) {
        if !self.enabled {
            return;
        }
        // Leaving the environment as it is: unsetting it would race the logger thread's reads
        // of it; the processes vrrpd starts get it removed instead (see ENV).
        // The watchdog sends twice a period for as long as vrrpd runs: a socket that refuses
        // them is logged once, then summarised.
        if let Err(e) = sd_notify::notify(false, state) {
            crate::warn_limited!(
                Kind::SystemdNotify,
                0,
                "systemd notification ({}) failed: {e}",
                state[0]
            );
        }
    }
}
