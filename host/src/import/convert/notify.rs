//! keepalived's notify scripts, as one vrrpd hook per VRID.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Converter;
use super::script::split_argv;
use crate::import::ImportError;
use crate::import::lexer::Pos;
use crate::import::parser::Stmt;

impl Converter {
    /// A notify script of an instance or a sync group, into `notify`.
    pub(super) fn notify_entry<'s>(
        &mut self,
        s: &'s Stmt,
        key: &str,
        notify: &mut BTreeMap<&'s str, (Vec<String>, Pos)>,
    ) -> Result<(), ImportError> {
        let Some(cmd) = s.args().first() else {
            return Err(self.error(s.pos(), key, "the script is missing"));
        };
        if s.args().len() > 1 {
            self.list(
                s,
                "runs as another user in keepalived; vrrpd runs hooks as its own user",
            );
        }
        let argv = split_argv(&cmd.text);
        if argv.is_empty() {
            return Err(self.error(cmd.pos, key, "the script is empty"));
        }
        if s.key() == "notify_fault" {
            self.list(
                s,
                "vrrpd has no FAULT state: the hook runs it when an Active steps down because a fault check (weight 0) went down, not when a Backup's check fails",
            );
        }
        notify.insert(s.key(), (argv, s.pos()));
        Ok(())
    }
}

fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The shell program of the hook that stands for an instance's notify scripts. vrrpd's hooks are
/// global and get the state in the environment, where keepalived runs a script per state (and
/// `notify` with the state as arguments), so the hook picks this VRID's events and maps them.
/// `kind`, `name` and `priority` are what keepalived passes to `notify` after the script's own
/// arguments: INSTANCE or GROUP, the instance or group, and the priority (0 for a group).
pub(super) fn notify_script(
    vrid: u8,
    kind: &str,
    name: &str,
    priority: &str,
    notify: &BTreeMap<&str, (Vec<String>, Pos)>,
) -> String {
    let cmd = |argv: &[String]| {
        argv.iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let generic = notify.get("notify");
    let exec = if generic.is_some() { "" } else { "exec " };
    let mut out = String::new();
    let _ = writeln!(out, "[ \"$VRRP_VRID\" = {vrid} ] || exit 0");
    out.push_str(
        "case \"$VRRP_STATE:$VRRP_REASON\" in\n  Active:*) s=MASTER ;;\n  Backup:fault) s=FAULT ;;\n  Backup:*) s=BACKUP ;;\n  Initialize:shutdown) s=STOP ;;\n  *) exit 0 ;;\nesac\n",
    );
    let per_state = [
        ("notify_master", "MASTER"),
        ("notify_backup", "BACKUP"),
        ("notify_fault", "FAULT"),
        ("notify_stop", "STOP"),
    ];
    if per_state.iter().any(|(k, _)| notify.contains_key(k)) {
        out.push_str("case $s in\n");
        for (k, state) in per_state {
            if let Some((argv, _)) = notify.get(k) {
                let _ = writeln!(out, "  {state}) {exec}{} ;;", cmd(argv));
            }
        }
        out.push_str("esac\n");
    }
    if let Some((argv, _)) = generic {
        let _ = writeln!(
            out,
            "exec {} {kind} {} \"$s\" {priority}",
            cmd(argv),
            sh_quote(name)
        );
    }
    out
}
