//! `global_defs`.

use super::Converter;
use super::keywords::{inert_global, unsupported};
use super::values::bool_arg;
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

/// What `vrrp_strict` / `strict_mode` become, listed by line because their meaning changes.
pub(super) const STRICT: &str = "keepalived's strict RFC mode: vrrpd keeps its accept = false part (on every instance without its own accept or no_accept, unless it owns the VIPs at priority 255); keepalived's other strict checks (no authentication, no unicast peers) are not applied";

impl Converter {
    /// Reads `global_defs`; a setting with a mistake is reported and the next one read.
    pub(super) fn globals(&mut self, stmt: &Stmt, g: &mut Globals, notes: &mut Vec<String>) {
        for s in stmt.block.iter().flatten() {
            let r = self.global(s, g, notes);
            self.recover(r);
        }
    }

    fn global(
        &mut self,
        s: &Stmt,
        g: &mut Globals,
        notes: &mut Vec<String>,
    ) -> Result<(), ImportError> {
        {
            let key = format!("global_defs.{}", s.key());
            match s.key() {
                "vrrp_version" => {
                    let w = self.one_arg(s, &key)?;
                    g.version = match w.text.as_str() {
                        "2" => 2,
                        "3" => 3,
                        _ => return Err(self.error(w.pos, &key, "must be 2 or 3")),
                    };
                    g.version_at = Some(s.pos());
                }
                "vrrp_strict" => {
                    g.strict = true;
                    self.list(s, STRICT);
                }
                "vrrp_garp_master_repeat" => g.garp_repeat = Some(self.garp_repeat(s, &key)?),
                "vrrp_garp_master_delay" => g.garp_delay = Some(self.seconds(s, &key, 0..=655)?),
                "vrrp_min_garp" => g.min_garp = bool_arg(s.args()).unwrap_or(true),
                "v3_checksum_as_v2" => g.checksum_as_v2 = bool_arg(s.args()).unwrap_or(true),
                // keepalived reports a priority outside 1..=99 and runs without one.
                "vrrp_rt_priority" => {
                    let range = crate::config::REALTIME_PRIORITIES;
                    g.rt_priority = Some(self.int(s, &key, range, " (SCHED_RR)")? as u8);
                }
                "vrrp_no_swap" => g.no_swap = bool_arg(s.args()).unwrap_or(true),
                "vrrp_garp_master_refresh" => g.garp_refresh = self.garp_refresh(s, &key)?,
                // keepalived takes fractions of a second here.
                "vrrp_startup_delay" => {
                    let max = crate::config::MAX_STARTUP_DELAY.as_secs();
                    g.startup_delay = Some(self.seconds(s, &key, 0..=max)?);
                }
                "script_user" => g.script_user = Some(self.user_group(s, &key)?),
                "enable_script_security" => {
                    g.script_security = bool_arg(s.args()).unwrap_or(true);
                }
                k => {
                    if let Some(why) = inert_global(k) {
                        notes.push(format!("{} ({}): {why}", s.text(), self.loc(s.pos())));
                    } else if let Some(why) = unsupported(k) {
                        self.list(s, why);
                    } else {
                        self.list(s, "not supported by vrrpd");
                    }
                }
            }
        }
        Ok(())
    }
}
