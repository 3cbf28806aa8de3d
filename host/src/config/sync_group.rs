//! `[[sync_group]]`: virtual routers that fail over together.

use toml::Spanned;

use super::raw::*;
use super::validate::Validator;
use super::{ConfigError, RouterConfig};

/// `[[sync_group]]`: virtual routers that must sit on the same node (a public and a private
/// VIP). Every member tracks the union of the members' checks, so a failing check, a lost
/// interface or a fault moves them all; a dead or paused node stops all their adverts at once.
/// Members must be ordered the same way on every node (the node with the higher priority for
/// one member has it for all), as with keepalived's `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub vrids: Vec<u8>,
}

impl Validator<'_> {
    pub(super) fn sync_groups(
        &self,
        raw: &[Spanned<RawSyncGroup>],
        routers: &mut [RouterConfig],
    ) -> Result<Vec<SyncGroup>, ConfigError> {
        let mut groups: Vec<SyncGroup> = Vec::new();
        for g in raw {
            let g = g.get_ref();
            let name = g.name.get_ref().trim();
            if name.is_empty() {
                return self.err(g.name.span(), "a sync group needs a name");
            }
            if groups.iter().any(|o| o.name == name) {
                return self.err(
                    g.name.span(),
                    format!("sync group {name:?} is defined twice"),
                );
            }
            if g.vrids.get_ref().len() < 2 {
                return self.err(g.vrids.span(), "a sync group needs at least two VRIDs");
            }
            let mut vrids = Vec::new();
            for v in g.vrids.get_ref() {
                let vrid = *v.get_ref();
                if !routers.iter().any(|r| i64::from(r.vrid()) == vrid) {
                    return self.err(v.span(), format!("no [[vrrp]] has VRID {vrid}"));
                }
                let vrid = vrid as u8;
                if vrids.contains(&vrid) {
                    return self.err(v.span(), format!("VRID {vrid} is listed twice"));
                }
                if let Some(other) = groups.iter().find(|o| o.vrids.contains(&vrid)) {
                    return self.err(
                        v.span(),
                        format!("VRID {vrid} is already in sync group {:?}", other.name),
                    );
                }
                vrids.push(vrid);
            }
            let mut union: Vec<String> = Vec::new();
            for r in routers.iter().filter(|r| vrids.contains(&r.vrid())) {
                for t in &r.track {
                    if !union.contains(t) {
                        union.push(t.clone());
                    }
                }
            }
            for r in routers.iter_mut().filter(|r| vrids.contains(&r.vrid())) {
                r.track = union.clone();
            }
            groups.push(SyncGroup {
                name: name.to_owned(),
                vrids,
            });
        }
        Ok(groups)
    }
}
