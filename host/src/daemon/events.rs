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
/// no advert comes first (see `Daemon::counters_due`).
const COUNTERS_LAG: vrrp_core::Duration = vrrp_core::Duration::from_millis(100);
/// How soon after a copy the next may be made. Half the lag, so that a loop turning every 100 ms
/// (adverts at that interval) copies at every turn, whichever side of the bound its jitter
/// falls, and never needs a wake-up of its own for it.
const COUNTERS_EVERY: vrrp_core::Duration = vrrp_core::Duration::from_millis(50);

/// The data path's exception counters, summed over the uplinks: VIP frames that reached the
/// TAP (relayed or stale) and fast path errors. They move rarely, and a reader wants them when
/// they do.
fn exceptions(uplinks: &[super::Uplink]) -> u64 {
    uplinks
        .iter()
        .map(|u| {
            let c = u.dp.tap_counters();
            c.relayed + c.stale + u.dp.fastpath_errors()
        })
        .sum()
}

/// What the last copy of the counters into the status left behind.
#[derive(Default)]
pub(super) struct CountersCopied {
    /// [`exceptions`] at that copy.
    pub exceptions: u64,
    /// A turn since then put its copy off: the loop wakes for it at the latest when the lag
    /// allows ([`CountersCopied::deadline`]).
    pub pending: bool,
}

impl CountersCopied {
    /// When the loop must turn to copy what a turn put off, the next copy being allowed from
    /// `due` on.
    pub fn deadline(&self, due: Option<vrrp_core::Instant>) -> Option<vrrp_core::Instant> {
        let due = due.filter(|_| self.pending)?;
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
            self.counters_due = None;
        }
        let uplinks = &mut self.uplinks;
        // Taken and given back, so the vector keeps its capacity: no allocation per turn.
        let mut taken = std::mem::take(&mut self.events);
        for (vrid, event) in taken.drain(..) {
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
                Event::Dropped { reason } => debug!(vrid, %reason, "advert dropped"),
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
                Event::AdvertReceived { source, priority } => {
                    debug!(vrid, %source, priority, "advert received")
                }
                Event::Announced { frames } => debug!(vrid, frames, "VIPs announced (GARP / NA)"),
                Event::NotAccepted => {}
            }
        }
        self.events = taken;
        for u in &mut self.uplinks {
            u.dp.flush_renewals();
        }
        ratelimit::flush();
        let exceptions = exceptions(&self.uplinks);
        if exceptions == self.counters.exceptions && self.counters_due.is_some_and(|due| now < due)
        {
            self.counters.pending = true;
            return;
        }
        self.counters_due = Some(now + COUNTERS_EVERY);
        self.counters = CountersCopied {
            exceptions,
            pending: false,
        };
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

    #[test]
    fn a_put_off_copy_is_due_within_the_lag_of_the_last() {
        let last = Instant::from_micros(1_000_000);
        let due = Some(last + COUNTERS_EVERY);
        let mut c = CountersCopied::default();
        assert_eq!(c.deadline(due), None, "nothing put off, no wake-up");
        c.pending = true;
        assert_eq!(c.deadline(due), Some(last + COUNTERS_LAG));
        assert_eq!(c.deadline(None), None, "a copy at the next turn anyway");
    }
}
