//! What an operator's `vrrpd ctl` request does to the running routers.

use std::fmt::Write as _;

use tracing::info;

use super::{Daemon, priority_of};
use crate::config::SyncGroup;
use crate::control::{Action, Request};

/// `vrid` and the other members of its sync group, if any: a request for one member applies to
/// them all, since members move together (a drained public VIP must not leave its private twin
/// behind).
fn with_partners(vrid: u8, groups: &[SyncGroup]) -> Vec<u8> {
    groups
        .iter()
        .find(|g| g.vrids.contains(&vrid))
        .map_or_else(|| vec![vrid], |g| g.vrids.clone())
}

impl Daemon {
    /// Applies `req` and returns the reply line. A drain takes effect at once: an Active router
    /// steps down with a priority-0 advert, so a Backup takes over after Skew_Time.
    pub(super) fn control(&mut self, req: Request) -> String {
        if let Some(v) = req.vrid
            && !self.routers.iter().any(|r| r.vrid() == v)
        {
            return format!("error no virtual router with VRID {v}");
        }
        let group = req.vrid.map(|v| with_partners(v, &self.cfg.sync_groups));
        let chosen = |vrid: u8| group.as_ref().is_none_or(|g| g.contains(&vrid));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_for_a_sync_group_member_applies_to_the_group() {
        let groups = [SyncGroup {
            name: "edge".into(),
            vrids: vec![51, 52],
        }];
        assert_eq!(with_partners(52, &groups), [51, 52]);
        assert_eq!(with_partners(51, &groups), [51, 52]);
        assert_eq!(with_partners(60, &groups), [60]);
        assert_eq!(with_partners(60, &[]), [60]);
    }
}
