//! What an operator's `vrrpd ctl` request does to the running routers.

use std::fmt::Write as _;

use tracing::info;

use super::{Daemon, priority_of};
use crate::control::{Action, Request};

impl Daemon {
    /// Applies `req` and returns the reply line. A drain takes effect at once: an Active router
    /// steps down with a priority-0 advert, so a Backup takes over after Skew_Time.
    pub(super) fn control(&mut self, req: Request) -> String {
        if let Some(v) = req.vrid
            && !self.routers.iter().any(|r| r.vrid() == v)
        {
            return format!("error no virtual router with VRID {v}");
        }
        let chosen = |vrid: u8| req.vrid.is_none_or(|v| v == vrid);
        if req.action != Action::Show {
            // All or nothing: check every router before changing any.
            let mut next = self.overrides.clone();
            for r in self.routers.iter().filter(|r| chosen(r.vrid())) {
                let owner = r.cfg.core.priority() == 255;
                if let Err(e) = next.entry(r.vrid()).or_default().apply(req.action, owner) {
                    return format!("error VRID {}: {e}", r.vrid());
                }
            }
            next.retain(|_, o| *o != Default::default());
            self.overrides = next;
            info!(request = %req, "operator request");
        }
        let now = self.clock.now();
        let mut reply = String::from("ok");
        for r in self.routers.iter_mut().filter(|r| chosen(r.vrid())) {
            let vrid = r.vrid();
            let o = self.overrides.get(&vrid).copied().unwrap_or_default();
            let p = priority_of(&self.health, &self.overrides, r);
            if p != r.stack.priority() {
                info!(vrid, from = r.stack.priority(), to = p, operator = %o, "effective priority changed");
                r.stack.set_priority(now, p);
            }
            self.status.update(|s| {
                if let Some(rs) = s.router_mut(vrid) {
                    rs.drained = o.drained;
                    rs.priority_override = o.priority;
                }
            });
            let _ = write!(reply, "; VRID {vrid}: {o}, effective priority {p}");
        }
        // The step-down advert leaves now, not at the next timer.
        self.poll(now);
        reply
    }
}
