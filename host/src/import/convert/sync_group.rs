//! `vrrp_sync_group`.

use std::collections::BTreeMap;

use super::Converter;
use super::keywords::unsupported;
use super::notify::notify_script;
use crate::import::ImportError;
use crate::import::lexer::{Pos, Word};
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    /// A `vrrp_sync_group` whose members are among `routers`; `done` are the groups before it,
    /// `dropped` the instances left out (an IPv6 one without a link-local first address, say) with
    /// where they are and why.
    pub(super) fn sync_group(
        &mut self,
        g: &Stmt,
        tracks: &Trackable,
        checks: &mut BTreeMap<String, Check>,
        routers: &mut [Router],
        done: &[Group],
        dropped: &BTreeMap<String, (String, String)>,
    ) -> Result<Option<Group>, ImportError> {
        let name = match g.args() {
            [n] if !n.text.trim().is_empty() => n.text.trim().to_owned(),
            _ => {
                self.list(
                    g,
                    "a vrrp_sync_group needs one name: keepalived skips this one too",
                );
                return Ok(None);
            }
        };
        let path = format!("vrrp_sync_group {name}");
        if let Some(other) = done.iter().find(|o| o.name == name) {
            self.list(
                g,
                format!(
                    "{path} is already defined ({}): keepalived skips this one too",
                    other.at
                ),
            );
            return Ok(None);
        }
        let members = self.group_routers(g, routers, done, dropped);
        if members.len() < 2 {
            let names: Vec<&str> = members.iter().map(|&i| routers[i].name.as_str()).collect();
            self.list(
                g,
                format!(
                    "{} of its instances translated ({}): a vrrpd sync group needs two, so neither it nor its settings are in the output",
                    members.len(),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            );
            return Ok(None);
        }
        let mut group = Group {
            name,
            at: self.loc(g.pos()),
            vrids: members.iter().map(|&i| routers[i].vrid).collect(),
            comments: Vec::new(),
            notify: None,
        };
        let mut notify: BTreeMap<&str, (Vec<String>, Pos)> = BTreeMap::new();
        for s in g.block.iter().flatten() {
            let key = format!("{path}.{}", s.key());
            match s.key() {
                "group" => {}
                "track_script" | "track_interface" | "track_file" => {
                    let kind = match s.key() {
                        "track_script" => TrackKind::Script,
                        "track_file" => TrackKind::File,
                        _ => TrackKind::Interface,
                    };
                    let tracked = self.trackers(s, kind, tracks, checks, &key, None)?;
                    for (_, check) in &tracked {
                        for &i in &members {
                            if !routers[i].track.contains(check) {
                                routers[i].track.push(check.clone());
                            }
                        }
                    }
                    if !tracked.is_empty() {
                        group.comments.push(format!(
                            "{} ({}): tracked by every member",
                            s.key(),
                            self.loc(s.pos())
                        ));
                    }
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    self.notify_entry(s, &key, &mut notify)?;
                }
                "sync_group_tracking_weight" | "global_tracking" => group.comments.push(format!(
                    "{} ({}): the members' weighted trackers are kept; each member tracks them all",
                    s.key(),
                    self.loc(s.pos())
                )),
                k => {
                    let why = unsupported(k)
                        .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                    self.list_entries(s, why);
                }
            }
        }
        if !notify.is_empty() {
            let first = &routers[members[0]];
            group.notify = Some((
                first.vrid,
                notify_script(first.vrid, "GROUP", &group.name, "0", &notify),
            ));
        }
        Ok(Some(group))
    }

    /// The indices in `routers` of the group's members; the names that are no member (twice,
    /// in an earlier group, left out, unknown) are listed.
    fn group_routers(
        &mut self,
        g: &Stmt,
        routers: &[Router],
        done: &[Group],
        dropped: &BTreeMap<String, (String, String)>,
    ) -> Vec<usize> {
        let mut members: Vec<usize> = Vec::new();
        for w in group_members(g) {
            let entry = Stmt {
                words: vec![
                    Word {
                        text: "group:".into(),
                        pos: w.pos,
                    },
                    w.clone(),
                ],
                block: None,
            };
            match routers.iter().position(|r| r.name == w.text) {
                Some(i) if members.contains(&i) => {
                    self.list(&entry, "listed twice: keepalived ignores the repetition too");
                }
                Some(i) => {
                    if let Some(other) = done.iter().find(|o| o.vrids.contains(&routers[i].vrid)) {
                        self.list(
                            &entry,
                            format!(
                                "already in vrrp_sync_group {} ({}): an instance belongs to one sync group, keepalived ignores it here too",
                                other.name, other.at
                            ),
                        );
                    } else {
                        members.push(i);
                    }
                }
                None => match dropped.get(&w.text) {
                    Some((at, why)) => self.list(
                        &entry,
                        format!(
                            "vrrp_instance {} ({at}) {why} and not translated: nothing here keeps it with the other members",
                            w.text
                        ),
                    ),
                    None => self.list(
                        &entry,
                        "no vrrp_instance has this name: keepalived ignores it too",
                    ),
                },
            }
        }
        members
    }
}

/// The instance names of a `vrrp_sync_group`: every word of its `group` blocks, which keepalived
/// reads as one list whether the names stand on one line or several.
pub(super) fn group_members(g: &Stmt) -> Vec<&Word> {
    g.block
        .iter()
        .flatten()
        .filter(|s| s.key() == "group")
        .flat_map(|s| s.block.iter().flatten())
        .flat_map(|m| m.words.iter())
        .collect()
}
