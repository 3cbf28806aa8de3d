//! From the statement tree to the translated model: one submodule per keepalived block.

mod addresses;
mod auth;
mod checks;
mod globals;
mod instance;
mod keywords;
mod notify;
mod script;
mod sync_group;
mod track_file;
mod values;

use std::collections::BTreeMap;

use super::lexer::{Pos, Word};
use super::model::*;
use super::parser::{Sources, Stmt};
use super::report::render;
use super::{ImportError, Imported, Untranslated};
use crate::config::MAX_UPLINKS;
use keywords::unsupported;
use sync_group::group_members;

/// Translates the statements of the files in `src`, and lists what the output does not
/// reproduce next to what reading them listed already.
pub(super) struct Converter {
    src: Sources,
}

impl Converter {
    pub(super) fn new(src: Sources) -> Converter {
        Converter { src }
    }

    pub(super) fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> ImportError {
        self.src.error(pos, key, message)
    }

    /// Where a statement is, for comments: the line in the main file, FILE:LINE in an included one.
    pub(super) fn loc(&self, pos: Pos) -> String {
        if pos.file == 0 {
            format!("line {}", pos.line)
        } else {
            format!("{}:{}", self.src.files[pos.file].name, pos.line)
        }
    }

    pub(super) fn list(&mut self, stmt: &Stmt, why: impl Into<String>) {
        self.src.list(stmt, why);
    }

    /// Lists every entry of a block (or the statement itself when it has none): each tracked
    /// interface gets its own line number.
    pub(super) fn list_entries(&mut self, stmt: &Stmt, why: &str) {
        match &stmt.block {
            Some(b) if !b.is_empty() => {
                for s in b {
                    let mut s = s.clone();
                    s.words.insert(
                        0,
                        Word {
                            text: format!("{}:", stmt.key()),
                            pos: s.pos(),
                        },
                    );
                    self.list(&s, why);
                }
            }
            _ => self.list(stmt, why),
        }
    }
}

/// The top-level statements sorted by kind, before any instance is translated.
struct TopLevel<'t> {
    globals: Globals,
    header_notes: Vec<String>,
    tracks: Trackable,
    instances: Vec<&'t Stmt>,
    groups: Vec<&'t Stmt>,
}

/// The translated instance that has a VRID.
struct VridHolder {
    name: String,
    /// Where the instance is, as [`Converter::loc`] says it.
    at: String,
    interface: String,
    v6: bool,
}

/// Where each VRID is taken.
type VridUse = BTreeMap<u8, VridHolder>;

/// Instances left out of the output, by name: where they are and why.
type Dropped = BTreeMap<String, (String, String)>;

impl Converter {
    /// The translation, or every mistake met reading and converting (in the order met).
    pub(super) fn translate(mut self, top: &[Stmt]) -> Result<Imported, Vec<ImportError>> {
        let TopLevel {
            globals,
            mut header_notes,
            tracks,
            instances,
            groups,
        } = match self.top_level(top) {
            Ok(t) => t,
            Err(e) => return Err(self.fail(e)),
        };
        let membership = self.memberships(&groups);
        let mut checks: BTreeMap<String, Check> = BTreeMap::new();
        let (mut routers, dropped) =
            self.instances(&instances, &globals, &tracks, &mut checks, &membership);
        let mut sync_groups: Vec<Group> = Vec::new();
        for g in groups {
            match self.sync_group(
                g,
                &tracks,
                &mut checks,
                &mut routers,
                &sync_groups,
                &dropped,
            ) {
                Ok(Some(group)) => sync_groups.push(group),
                Ok(None) => {}
                Err(e) => self.src.record(e),
            }
        }
        if !self.src.errors.is_empty() {
            return Err(std::mem::take(&mut self.src.errors));
        }
        // The checks of instances left out after their trackers were read.
        checks.retain(|name, _| routers.iter().any(|r| r.track.contains(name)));
        if routers.is_empty() {
            let e = ImportError::whole_file(
                &self.src.files[0].name,
                "no vrrp_instance to translate: vrrpd needs at least one virtual router",
            );
            return Err(self.fail(e));
        }
        for (name, s) in &tracks.scripts {
            if !checks
                .values()
                .any(|c| matches!(&c.origin, Origin::Script(s) if &s.name == name))
            {
                header_notes.push(format!(
                    "vrrp_script {name} ({}) is tracked by no translated instance: keepalived does not run it either",
                    self.loc(s.pos)
                ));
            }
        }
        for (name, f) in &tracks.files {
            if f.unusable.is_none()
                && !checks
                    .values()
                    .any(|c| matches!(&c.origin, Origin::File(f) if &f.name == name))
            {
                header_notes.push(format!(
                    "track_file {name} ({}) is tracked by no translated instance: keepalived does not read it either",
                    self.loc(f.pos)
                ));
            }
        }
        Ok(self.output(&header_notes, &globals, &routers, &checks, &sync_groups))
    }

    /// Every mistake met so far and `last`, which ends the conversion.
    fn fail(&mut self, last: ImportError) -> Vec<ImportError> {
        self.src.record(last);
        std::mem::take(&mut self.src.errors)
    }

    /// Records the mistake of one setting, whose conversion then goes on with the next.
    fn recover(&mut self, r: Result<(), ImportError>) {
        if let Err(e) = r {
            self.src.record(e);
        }
    }

    /// Reads `global_defs` and the scripts, and sets the instances and sync groups aside.
    fn top_level<'t>(&mut self, top: &'t [Stmt]) -> Result<TopLevel<'t>, ImportError> {
        let mut t = TopLevel {
            globals: Globals {
                version: 2,
                version_at: None,
                strict: false,
                garp_repeat: None,
                garp_delay: None,
                min_garp: false,
                checksum_as_v2: false,
                rt_priority: None,
                no_swap: false,
                garp_refresh: std::time::Duration::ZERO,
                startup_delay: None,
                script_user: None,
                script_security: false,
            },
            header_notes: Vec::new(),
            tracks: Trackable::default(),
            instances: Vec::new(),
            groups: Vec::new(),
        };
        for stmt in top {
            match stmt.key() {
                "global_defs" => self.globals(stmt, &mut t.globals, &mut t.header_notes),
                "vrrp_script" => {
                    let s = match self.script(stmt) {
                        Ok(s) => s,
                        Err(e) => {
                            self.src.record(e);
                            continue;
                        }
                    };
                    if let Some(old) = t.tracks.scripts.get(&s.name) {
                        let e = self.error(
                            stmt.args()[0].pos,
                            "vrrp_script",
                            format!(
                                "vrrp_script {} is already defined ({})",
                                s.name,
                                self.loc(old.pos)
                            ),
                        );
                        self.src.record(e);
                        continue;
                    }
                    t.tracks.scripts.insert(s.name.clone(), s);
                }
                "track_file" | "vrrp_track_file" => {
                    let f = match self.track_file(stmt) {
                        Ok(f) => f,
                        Err(e) => {
                            self.src.record(e);
                            continue;
                        }
                    };
                    if let Some(old) = t.tracks.files.get(&f.name) {
                        let e = self.error(
                            stmt.args()[0].pos,
                            stmt.key(),
                            format!(
                                "track_file {} is already defined ({})",
                                f.name,
                                self.loc(old.pos)
                            ),
                        );
                        self.src.record(e);
                        continue;
                    }
                    t.tracks.files.insert(f.name.clone(), f);
                }
                "vrrp_instance" => t.instances.push(stmt),
                "vrrp_sync_group" => t.groups.push(stmt),
                key => {
                    let why = unsupported(key)
                        .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                    self.list(stmt, why);
                }
            }
        }
        Ok(t)
    }

    /// keepalived ignores the weighted trackers of a sync group's members: which instances
    /// are members must be known before they are translated.
    fn memberships(&self, groups: &[&Stmt]) -> BTreeMap<String, Membership> {
        let mut membership: BTreeMap<String, Membership> = BTreeMap::new();
        for g in groups {
            let weights = g
                .block
                .iter()
                .flatten()
                .any(|s| matches!(s.key(), "sync_group_tracking_weight" | "global_tracking"));
            let name = g.args().first().map_or("", |w| w.text.as_str());
            for m in group_members(g) {
                membership.entry(m.text.clone()).or_insert(Membership {
                    group: name.to_owned(),
                    at: self.loc(g.pos()),
                    weights,
                });
            }
        }
        membership
    }

    /// Translates the instances in file order, with the ones left out and why. An instance
    /// with a mistake is reported and left out; the others are still read, for their own.
    fn instances(
        &mut self,
        instances: &[&Stmt],
        globals: &Globals,
        tracks: &Trackable,
        checks: &mut BTreeMap<String, Check>,
        membership: &BTreeMap<String, Membership>,
    ) -> (Vec<Router>, Dropped) {
        let mut routers: Vec<Router> = Vec::new();
        let mut vrid_at = VridUse::new();
        let mut dropped = Dropped::new();
        for &stmt in instances {
            let name = stmt.args().first().map(|w| w.text.clone());
            let member = name.as_ref().and_then(|n| membership.get(n));
            let r = match self.instance(stmt, globals, tracks, checks, member) {
                Ok(Ok(r)) => match self.vrid_taken(stmt, &r, &vrid_at) {
                    Ok(None) => self.uplink_limit(stmt, &r, &routers).map(|()| Ok(r)),
                    Ok(Some(why)) => Ok(Err(why)),
                    Err(e) => Err(e),
                },
                other => other,
            };
            let why = match r {
                Ok(Ok(r)) => {
                    vrid_at.insert(
                        r.vrid,
                        VridHolder {
                            name: r.name.clone(),
                            at: self.loc(stmt.pos()),
                            interface: r.interface.clone(),
                            v6: r.is_v6(),
                        },
                    );
                    routers.push(r);
                    continue;
                }
                Ok(Err(why)) => why,
                Err(e) => {
                    self.src.record(e);
                    "has errors".into()
                }
            };
            if let Some(n) = name {
                dropped.insert(n, (self.loc(stmt.pos()), why));
            }
        }
        (routers, dropped)
    }

    /// Whether `r`'s VRID is already used: an error on one interface within one family, and
    /// across interfaces; the reason `r` is left out when the other family has it on the same
    /// interface.
    fn vrid_taken(
        &mut self,
        stmt: &Stmt,
        r: &Router,
        vrid_at: &VridUse,
    ) -> Result<Option<String>, ImportError> {
        let Some(other) = vrid_at.get(&r.vrid) else {
            return Ok(None);
        };
        let VridHolder {
            name: other_name,
            at: line,
            interface: other_interface,
            v6: other_v6,
        } = other;
        let vrid_stmt = stmt
            .block
            .iter()
            .flatten()
            .rev()
            .find(|s| s.key() == "virtual_router_id");
        let at = vrid_stmt.map_or(stmt.pos(), |s| s.args()[0].pos);
        let key = format!("vrrp_instance {}.virtual_router_id", r.name);
        if *other_interface != r.interface {
            // Separate links, so keepalived runs both; but vrrpd's control socket, status,
            // metrics and sync groups name a router by its VRID alone.
            return Err(self.error(
                at,
                &key,
                format!(
                    "VRID {} is also used by vrrp_instance {other_name} ({line}) on {other_interface}, and this instance is on {}: keepalived runs both, one per link, but one vrrpd needs distinct VRIDs across its uplinks: give one of them another VRID on every node",
                    r.vrid, r.interface
                ),
            ));
        }
        if *other_v6 != r.is_v6() {
            // RFC 9568 §4: an IPv4 and an IPv6 virtual router are separate, and
            // keepalived runs both; vrrpd's configuration names a router by its VRID.
            let why = format!(
                "VRID {} is also used by the {} vrrp_instance {other_name} ({line}): keepalived runs both, an IPv4 and an IPv6 virtual router being separate, but a VRID names one router in vrrpd's configuration: give one of them another VRID on every node",
                r.vrid,
                if *other_v6 { "IPv6" } else { "IPv4" }
            );
            match vrid_stmt {
                Some(s) => self.list(s, why),
                None => self.list(stmt, why),
            }
            return Ok(Some(
                "shares its VRID with an instance of the other family".into(),
            ));
        }
        Err(self.error(
            at,
            &key,
            format!(
                "VRID {} is also used by vrrp_instance {other_name} ({line}) on {}: one VRID is one virtual router on a link",
                r.vrid, r.interface
            ),
        ))
    }

    /// An error when `r` would take vrrpd past the uplinks it can serve.
    fn uplink_limit(&self, stmt: &Stmt, r: &Router, routers: &[Router]) -> Result<(), ImportError> {
        let mut uplinks: Vec<&str> = Vec::new();
        for o in routers {
            if !uplinks.contains(&o.interface.as_str()) {
                uplinks.push(&o.interface);
            }
        }
        if uplinks.len() < MAX_UPLINKS || uplinks.contains(&r.interface.as_str()) {
            return Ok(());
        }
        let at = stmt
            .block
            .iter()
            .flatten()
            .rev()
            .find(|s| s.key() == "interface")
            .map_or(stmt.pos(), |s| s.args()[0].pos);
        Err(self.error(
            at,
            &format!("vrrp_instance {}.interface", r.name),
            format!(
                "{} would be one uplink too many: one vrrpd serves at most {MAX_UPLINKS}, and the instances before this one use {}; run a second vrrpd with its own configuration for the instances on the other interfaces",
                r.interface,
                uplinks.join(", ")
            ),
        ))
    }

    /// The TOML, with the untranslated settings in file order.
    fn output(
        mut self,
        header_notes: &[String],
        globals: &Globals,
        routers: &[Router],
        checks: &BTreeMap<String, Check>,
        sync_groups: &[Group],
    ) -> Imported {
        self.src
            .untranslated
            .sort_by_key(|(pos, _, _)| (pos.file, pos.line, pos.col));
        let untranslated: Vec<Untranslated> = self
            .src
            .untranslated
            .iter()
            .map(|(pos, what, why)| Untranslated {
                file: self.src.files[pos.file].name.clone(),
                line: pos.line,
                what: what.clone(),
                why: why.clone(),
            })
            .collect();
        let toml = render(
            &self.src.files[0].name,
            &untranslated,
            header_notes,
            globals,
            routers,
            checks,
            sync_groups,
        );
        Imported { toml, untranslated }
    }
}
