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

/// When the routers' counters are copied into the status: when a reader asks (the status
/// server sends a [`Refresh`](super::services::Notice::Refresh) before it answers), and at a
/// transition, an operator's or a check's change, a reload and the stop, so that what those
/// change shows with them. Never at a turn that only heard adverts: a copy is a lock and a pass
/// over every router and uplink, at 10 ms adverts a tenth of a Backup's time in user space
/// when it was made every 50 ms.
pub(super) struct CounterCopy {
    due: bool,
}

impl Default for CounterCopy {
    /// The first turn copies: the status starts with the routers as they started.
    fn default() -> CounterCopy {
        CounterCopy { due: true }
    }
}

impl CounterCopy {
    /// The next turn copies.
    pub fn force(&mut self) {
        self.due = true;
    }

    /// Whether this turn copies; if it does, the copy counts as made.
    fn take(&mut self) -> bool {
        std::mem::take(&mut self.due)
    }
}

/// Router `vrid` and the data path of its uplink.
fn router_of<'a>(
    routers: &'a [super::Router],
    uplinks: &'a mut [super::Uplink],
    vrid: u8,
) -> Option<(&'a super::Router, Option<&'a mut crate::datapath::DataPath>)> {
    let r = routers.iter().find(|r| r.vrid() == vrid)?;
    Some((r, uplinks.get_mut(r.uplink).map(|u| &mut u.dp)))
}

impl Daemon {
    /// Acts on what the routers reported: the data path serves an Active router's VIPs, the
    /// status and the hooks hear of transitions; then the status takes every router's counters
    /// if a copy is due (see [`CounterCopy`]).
    pub(super) fn handle_events(&mut self) {
        if self
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::StateChange { .. }))
        {
            self.counters.force();
        }
        let (routers, uplinks) = (&self.routers, &mut self.uplinks);
        // Taken and given back, so the vector keeps its capacity: no allocation per turn.
        let mut taken = std::mem::take(&mut self.events);
        for (vrid, event) in taken.drain(..) {
            // Events arrive every advert interval; a span per event would format and allocate
            // even when nothing is logged. The VRID goes into each line instead. The router is
            // looked up only by the events that act on it: a Backup's turn, one advert heard,
            // logs at DEBUG and needs none.
            match event {
                Event::StateChange { from, to, reason } => {
                    let Some((r, dp)) = router_of(routers, uplinks, vrid) else {
                        continue;
                    };
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
                    if let Some((r, Some(dp))) = router_of(routers, uplinks, vrid) {
                        dp.transmit_unicast(vrid, dst, |buf| {
                            r.stack.write_advert(priority, dst, buf)
                        });
                    }
                }
                Event::AdvertSent { priority } => {
                    debug!(vrid, priority, "advert sent");
                    if let Some((r, Some(dp))) = router_of(routers, uplinks, vrid) {
                        dp.renew(vrid, lease(&r.stack));
                    }
                }
                Event::Announced { frames } => debug!(vrid, frames, "VIPs announced (GARP / NA)"),
                Event::AdvertReceived { source, priority } => {
                    debug!(vrid, %source, priority, "advert received")
                }
                Event::Dropped { reason } => debug!(vrid, %reason, "advert dropped"),
                Event::NotAccepted => {}
            }
        }
        self.events = taken;
        for u in &mut self.uplinks {
            u.dp.flush_renewals();
        }
        ratelimit::flush();
        if !self.counters.take() {
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
