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
mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::lexer::{Pos, Word};
use super::model::*;
use super::parser::{SourceFile, Stmt};
use super::report::render;
use super::{ImportError, Imported, Untranslated};
use keywords::unsupported;
use sync_group::group_members;

#[derive(Default)]
pub(super) struct Converter {
    pub(super) files: Vec<SourceFile>,
    pub(super) untranslated: Vec<(Pos, String, String)>,
    /// Canonical paths of the files being read, to refuse include cycles.
    pub(super) reading: Vec<PathBuf>,
}

impl Converter {
    pub(super) fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> ImportError {
        let f = &self.files[pos.file];
        ImportError {
            file: f.name.clone(),
            position: Some((pos.line, pos.col)),
            key: key.to_owned(),
            message: message.into(),
            source_line: f.lines.get(pos.line - 1).cloned(),
        }
    }

    /// Where a statement is, for comments: the line in the main file, FILE:LINE in an included one.
    pub(super) fn loc(&self, pos: Pos) -> String {
        if pos.file == 0 {
            format!("line {}", pos.line)
        } else {
            format!("{}:{}", self.files[pos.file].name, pos.line)
        }
    }

    pub(super) fn list(&mut self, stmt: &Stmt, why: impl Into<String>) {
        self.untranslated
            .push((stmt.pos(), stmt.text(), why.into()));
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

impl Converter {
    pub(super) fn translate(mut self, top: &[Stmt]) -> Result<Imported, ImportError> {
        let mut globals = Globals {
            version: 2,
            version_at: None,
            strict: false,
            garp_repeat: None,
            garp_delay: None,
            min_garp: false,
            checksum_as_v2: false,
        };
        let mut header_notes = Vec::new();
        let mut scripts: BTreeMap<String, Script> = BTreeMap::new();
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for stmt in top {
            match stmt.key() {
                "global_defs" => {
                    self.globals(stmt, &mut globals, &mut header_notes)?;
                }
                "vrrp_script" => {
                    let s = self.script(stmt)?;
                    if let Some(old) = scripts.get(&s.name) {
                        return Err(self.error(
                            stmt.args()[0].pos,
                            "vrrp_script",
                            format!(
                                "vrrp_script {} is already defined ({})",
                                s.name,
                                self.loc(old.pos)
                            ),
                        ));
                    }
                    scripts.insert(s.name.clone(), s);
                }
                "vrrp_instance" => instances.push(stmt),
                "vrrp_sync_group" => groups.push(stmt),
                key => {
                    let why = unsupported(key)
                        .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                    self.list(stmt, why);
                }
            }
        }

        // keepalived ignores the weighted trackers of a sync group's members: which instances
        // are members must be known before they are translated.
        let mut membership: BTreeMap<String, Membership> = BTreeMap::new();
        for g in &groups {
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

        let mut routers: Vec<Router> = Vec::new();
        let mut checks: BTreeMap<String, Check> = BTreeMap::new();
        let mut vrid_at: BTreeMap<u8, (String, String, bool)> = BTreeMap::new();
        let mut dropped: BTreeMap<String, (String, String)> = BTreeMap::new();
        for stmt in instances {
            let name = stmt.args().first().map(|w| w.text.clone());
            let member = name.as_ref().and_then(|n| membership.get(n));
            let r = match self.instance(
                stmt,
                &globals,
                &scripts,
                &mut checks,
                routers.first(),
                member,
            )? {
                Ok(r) => r,
                Err(why) => {
                    if let Some(n) = name {
                        dropped.insert(n, (self.loc(stmt.pos()), why));
                    }
                    continue;
                }
            };
            let v6 = r.is_v6();
            if let Some((other, line, other_v6)) = vrid_at.get(&r.vrid) {
                let vrid_stmt = stmt
                    .block
                    .iter()
                    .flatten()
                    .find(|s| s.key() == "virtual_router_id");
                if *other_v6 != v6 {
                    // RFC 9568 §4: an IPv4 and an IPv6 virtual router are separate, and
                    // keepalived runs both; vrrpd's configuration names a router by its VRID.
                    let why = format!(
                        "VRID {} is also used by the {} vrrp_instance {other} ({line}): keepalived runs both, an IPv4 and an IPv6 virtual router being separate, but a VRID names one router in vrrpd's configuration: give one of them another VRID on every node",
                        r.vrid,
                        if *other_v6 { "IPv6" } else { "IPv4" }
                    );
                    match vrid_stmt {
                        Some(s) => self.list(s, why),
                        None => self.list(stmt, why),
                    }
                    if let Some(n) = name {
                        dropped.insert(
                            n,
                            (
                                self.loc(stmt.pos()),
                                "shares its VRID with an instance of the other family".into(),
                            ),
                        );
                    }
                    continue;
                }
                let at = vrid_stmt.map_or(stmt.pos(), |s| s.args()[0].pos);
                return Err(self.error(
                    at,
                    &format!("vrrp_instance {}.virtual_router_id", r.name),
                    format!(
                        "VRID {} is also used by vrrp_instance {other} ({line}) on {}: one VRID is one virtual router on a link",
                        r.vrid, r.interface
                    ),
                ));
            }
            vrid_at.insert(r.vrid, (r.name.clone(), self.loc(stmt.pos()), v6));
            routers.push(r);
        }
        let mut sync_groups: Vec<Group> = Vec::new();
        for g in groups {
            if let Some(group) = self.sync_group(
                g,
                &scripts,
                &mut checks,
                &mut routers,
                &sync_groups,
                &dropped,
            )? {
                sync_groups.push(group);
            }
        }
        // The checks of instances left out after their trackers were read.
        checks.retain(|name, _| routers.iter().any(|r| r.track.contains(name)));
        if routers.is_empty() {
            return Err(ImportError {
                file: self.files[0].name.clone(),
                position: None,
                key: String::new(),
                message: "no vrrp_instance to translate: vrrpd needs at least one virtual router"
                    .into(),
                source_line: None,
            });
        }
        for (name, s) in &scripts {
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

        self.untranslated
            .sort_by_key(|(pos, _, _)| (pos.file, pos.line, pos.col));
        let untranslated: Vec<Untranslated> = self
            .untranslated
            .iter()
            .map(|(pos, what, why)| Untranslated {
                file: self.files[pos.file].name.clone(),
                line: pos.line,
                what: what.clone(),
                why: why.clone(),
            })
            .collect();
        let toml = render(
            &self.files[0].name,
            &untranslated,
            &header_notes,
            &routers,
            &checks,
            &sync_groups,
        );
        Ok(Imported { toml, untranslated })
    }
}
