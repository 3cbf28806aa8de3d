//! What the event loop does with the routers' events.

use std::time::Duration;

use tracing::{debug, info};
use vrrp_core::State;

use super::router::{AnyStack, Event};
use super::{Daemon, takeover};
use crate::hooks::StateEvent;
use crate::ratelimit::{self, Kind};
use crate::warn_limited;

/// How long an Active router's VIP traffic may go to the kernel after its last advert: its
/// Active_Down_Interval, after which a Backup takes over.
fn lease(stack: &AnyStack) -> Duration {
    Duration::from_micros(stack.active_down_interval().as_micros())
}

/// How far the counters in the status may lag behind the routers'. Copying them costs a lock
/// and a pass over every router and uplink; at 10 ms adverts that was a tenth of a Backup's
/// time in user space for figures nobody reads 100 times a second. Transitions, anything an
/// operator or a check changed, and the data path's exceptions (relayed or stale frames, fast
/// path errors) are copied at once; a copy put off is made when due, by a wake-up of its own if
/// no advert comes first (see [`CounterCopy`]).
const COUNTERS_LAG: vrrp_core::Duration = vrrp_core::Duration::from_millis(100);
/// How soon after a copy the next may be made. Half the lag, so that a loop turning every 100 ms
/// (adverts at that interval) copies at every turn, whichever side of the bound its jitter
/// falls, and never needs a wake-up of its own for it.
const COUNTERS_EVERY: vrrp_core::Duration = vrrp_core::Duration::from_millis(50);

/// The data path's exception counters, summed over the uplinks: VIP frames that reached the
/// TAP (relayed or stale), adverts the uplink's packet socket failed to send, and fast path
/// errors. They move rarely, and a reader wants them when they do.
fn exceptions(uplinks: &[super::Uplink]) -> u64 {
    uplinks
        .iter()
        .map(|u| {
            let c = u.dp.tap_counters();
            c.relayed + c.stale + c.uplink_tx_errors + u.dp.fastpath_errors()
        })
        .sum()
}

/// When the routers' counters are copied into the status (see [`COUNTERS_LAG`]).
#[derive(Default)]
pub(super) struct CounterCopy {
    /// The next copy is allowed from then on; `None`: at the next turn, whatever else holds.
    due: Option<vrrp_core::Instant>,
    /// [`exceptions`] at the last copy.
    exceptions: u64,
    /// A turn since the last copy put its copy off.
    pending: bool,
}

impl CounterCopy {
    /// The next turn copies, however soon.
    pub fn force(&mut self) {
        self.due = None;
    }

    /// Whether the turn at `now`, with the data path's [`exceptions`] at `exceptions`, copies;
    /// if it does, the copy counts as made.
    fn take(&mut self, now: vrrp_core::Instant, exceptions: u64) -> bool {
        if exceptions == self.exceptions && self.due.is_some_and(|due| now < due) {
            self.pending = true;
            return false;
        }
        *self = CounterCopy {
            due: Some(now + COUNTERS_EVERY),
            exceptions,
            pending: false,
        };
        true
    }

    /// When the loop must turn to make a copy a turn put off: [`COUNTERS_LAG`] after the last.
    pub fn deadline(&self) -> Option<vrrp_core::Instant> {
        let due = self.due.filter(|_| self.pending)?;
        Some(due + (COUNTERS_LAG - COUNTERS_EVERY))
    }
}

impl Daemon {
    /// Acts on what the routers reported: the data path serves an Active router's VIPs, the
    /// status and the hooks hear of transitions; then the status takes every router's counters
    /// when they are due or a router changed state.
    pub(super) fn handle_events(&mut self, now: vrrp_core::Instant) {
        if self
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::StateChange { .. }))
        {
            self.counters.force();
        }
        let uplinks = &mut self.uplinks;
        // Taken and given back, so the vector keeps its capacity: no allocation per turn.
        let mut taken = std::mem::take(&mut self.events);
        for (vrid, event) in taken.drain(..) {
            // A Backup's turn has one event, the advert it heard, whose line is DEBUG: no
            // router to look up for it.
            match event {
                Event::AdvertReceived { source, priority } => {
                    debug!(vrid, %source, priority, "advert received");
                    continue;
                }
                Event::Dropped { reason } => {
                    debug!(vrid, %reason, "advert dropped");
                    continue;
                }
                Event::NotAccepted => continue,
                _ => {}
            }
            let Some(r) = self.routers.iter().find(|r| r.vrid() == vrid) else {
                continue;
            };
            let dp = uplinks.get_mut(r.uplink).map(|u| &mut u.dp);
            // Events arrive every advert interval; a span per event would format and allocate
            // even when nothing is logged. The VRID goes into each line instead.
            match event {
                Event::StateChange { from, to, reason } => {
                    let router = &r.stack;
                    let takeover = takeover::explain(router, reason);
                    info!(
                        vrid, %from, %to, %reason,
                        priority = router.priority(),
                        "state change{}", takeover::suffix(takeover.as_ref())
                    );
                    let Some(dp) = dp else {
                        continue;
                    };
                    if to == State::Active && r.vips.iter().all(|v| router.accepts(*v)) {
                        dp.serve(vrid, &r.vips, lease(&r.stack));
                    } else if to == State::Active {
                        // Accept_Mode off: ARP is answered, VIP traffic is not ours to take.
                        info!(
                            vrid,
                            "accept mode off: VIP traffic is not relayed to the kernel"
                        );
                    } else {
                        dp.stop(vrid);
                    }
                    let uptime = self.status.uptime();
                    self.status.update(|s| {
                        if let Some(rs) = s.router_mut(vrid) {
                            rs.record_transition(from, to, reason, uptime, takeover);
                        }
                    });
                    if let Some(h) = &self.hooks {
                        h.notify(&StateEvent {
                            vrid,
                            from,
                            to,
                            reason,
                            priority: router.priority(),
                            vips: r.vips.clone(),
                            interface: r.cfg.interface.clone(),
                        });
                    }
                }
                Event::AddressMismatch { source } => {
                    warn_limited!(Kind::AddressMismatch, vrid, vrid, %source, "advert lists other virtual addresses than ours")
                }
                Event::TxDropped => {
                    warn_limited!(
                        Kind::TxQueueFull,
                        vrid,
                        vrid,
                        "transmit queue full: frame dropped"
                    )
                }
                Event::UnicastAdvert { priority, dst } => {
                    if let Some(dp) = dp {
                        dp.transmit_unicast(vrid, dst, |buf| {
                            r.stack.write_advert(priority, dst, buf)
                        });
                    }
                }
                Event::AdvertSent { priority } => {
                    debug!(vrid, priority, "advert sent");
                    if let Some(dp) = dp {
                        dp.renew(vrid, lease(&r.stack));
                    }
                }
                Event::Announced { frames } => debug!(vrid, frames, "VIPs announced (GARP / NA)"),
                Event::AdvertReceived { .. } | Event::Dropped { .. } | Event::NotAccepted => {}
            }
        }
        self.events = taken;
        for u in &mut self.uplinks {
            u.dp.flush_renewals();
        }
        ratelimit::flush();
        if !self.counters.take(now, exceptions(&self.uplinks)) {
            return;
        }
        let routers = &mut self.routers;
        let uplinks = &self.uplinks;
        self.status.update(|s| {
            for (u, d) in uplinks.iter().zip(s.uplinks.iter_mut()) {
                let c = u.dp.tap_counters();
                if d.mode != u.dp.mode().as_str() {
                    d.mode = u.dp.mode().as_str().to_owned();
                }
                d.tap_rx_frames = c.rx_frames;
                d.tap_tx_frames = c.tx_frames;
                d.uplink_tx_frames = c.uplink_tx_frames;
                d.uplink_tx_errors = c.uplink_tx_errors;
                d.relayed_frames = c.relayed;
                d.stale_frames = c.stale;
                d.fastpath_errors = u.dp.fastpath_errors();
            }
            if !uplinks.is_empty() {
                s.sum_uplinks();
            }
            for r in routers.iter_mut() {
                if let Some(rs) = s.router_mut(r.vrid()) {
                    let router = &r.stack;
                    rs.set_stats(router.stats());
                    rs.effective_priority = router.priority();
                    rs.last_advert_from = router.last_advert_source();
                    // Runs once per loop turn (100 times a second at 10 ms): no allocation
                    // unless something changed.
                    let state = router.state().as_str();
                    if rs.state != state {
                        rs.state = state.to_owned();
                    }
                    if rs.primary.is_none() || r.primary_changed {
                        rs.primary = Some(router.primary().to_string());
                        r.primary_changed = false;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_core::Instant;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1_000)
    }

    #[test]
    fn a_busy_loop_copies_every_50_ms_and_a_100_ms_one_at_every_turn() {
        let mut c = CounterCopy::default();
        assert!(c.take(at(0), 0), "the first turn copies");
        // Adverts every 10 ms: copies at 50 and 100 ms only.
        let copied: Vec<u64> = (1..=10)
            .map(|i| i * 10)
            .filter(|&t| c.take(at(t), 0))
            .collect();
        assert_eq!(copied, [50, 100]);
        // Adverts every 100 ms, early or late by a millisecond: a copy at each, no wake-up.
        for t in [199, 301, 400, 499] {
            assert!(c.take(at(t), 0), "turn at {t} ms");
            assert_eq!(c.deadline(), None);
        }
    }

    #[test]
    fn a_put_off_copy_gets_a_wake_up_within_the_lag() {
        let mut c = CounterCopy::default();
        assert!(c.take(at(1_000), 0));
        assert_eq!(c.deadline(), None, "nothing put off, no wake-up");
        assert!(!c.take(at(1_010), 0));
        assert_eq!(c.deadline(), Some(at(1_100)));
        assert!(c.take(at(1_100), 0));
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn exceptions_and_a_forced_copy_do_not_wait() {
        let mut c = CounterCopy::default();
        assert!(c.take(at(0), 0));
        assert!(c.take(at(1), 2), "relayed frames show at once");
        assert!(!c.take(at(2), 2));
        c.force();
        assert!(
            c.take(at(3), 2),
            "a transition or an operator's change shows at once"
        );
    }
}
