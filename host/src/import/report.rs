//! The vrrpd TOML the converter writes, with its comments.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use super::Untranslated;
use super::model::*;
use crate::config::format_duration;

/// A TOML basic string.
pub(super) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn list<T: fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| q(&i.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

/// Comment lines, with newlines inside a comment turned into more comment lines. The text
/// quotes keepalived.conf, which may hold any character: TOML allows none of the control
/// characters but tab in a comment, so the others are written as `\u{XXXX}`.
pub(super) fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str("# ");
        for c in line.chars() {
            if c.is_control() && c != '\t' {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
}

pub(super) fn render(
    source: &str,
    untranslated: &[Untranslated],
    notes: &[String],
    globals: &Globals,
    routers: &[Router],
    checks: &BTreeMap<String, Check>,
    groups: &[Group],
) -> String {
    let mut out = String::new();
    header(&mut out, source, untranslated, notes);
    let _ = writeln!(out, "\ninterface = {}", q(&routers[0].interface));
    if let Some(d) = globals.startup_delay {
        let _ = writeln!(
            out,
            "# vrrp_startup_delay\nstartup_delay = {}",
            q(&format_duration(d))
        );
    }
    process(&mut out, globals);
    let commands = checks
        .values()
        .any(|c| matches!(&c.origin, Origin::Script(s) if matches!(s.probe, Probe::Command(_))))
        || routers.iter().any(|r| r.notify.is_some())
        || groups.iter().any(|g| g.notify.is_some());
    scripts(&mut out, globals, commands);
    for r in routers {
        router(&mut out, r, &routers[0].interface);
    }
    for g in groups {
        sync_group(&mut out, g);
    }
    // keepalived hears of link changes from the kernel at once; vrrpd polls the carrier, as often
    // as the fastest router advertises (at least every second, at most every 100 ms).
    let link_interval = routers
        .iter()
        .map(|r| r.interval)
        .min()
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_millis(100), Duration::from_secs(1));
    for c in checks.values() {
        match &c.origin {
            Origin::Script(s) => script_check(&mut out, c, s),
            Origin::Interface { name, notes } => {
                interface_check(&mut out, c, name, notes, link_interval);
            }
            Origin::File(f) => file_check(&mut out, c, f),
        }
    }
    hooks(&mut out, routers, groups);
    out
}

/// keepalived's scheduling and swapping settings of its VRRP process.
fn process(out: &mut String, g: &Globals) {
    if g.rt_priority.is_none() && !g.no_swap {
        return;
    }
    out.push_str("\n[process]\n");
    if let Some(p) = g.rt_priority {
        let _ = writeln!(out, "# vrrp_rt_priority {p}\nrealtime_priority = {p}");
    }
    if g.no_swap {
        out.push_str("# vrrp_no_swap\nlock_memory = true\n");
    }
}

/// Who runs the commands: keepalived's `script_user`, else root as keepalived does, and
/// `enable_script_security`.
fn scripts(out: &mut String, g: &Globals, commands: bool) {
    if g.script_user.is_none() && !g.script_security && !commands {
        return;
    }
    out.push_str("\n[scripts]\n");
    match &g.script_user {
        Some((user, group)) => {
            out.push_str("# script_user\n");
            let _ = writeln!(out, "user = {}", q(user));
            if let Some(group) = group {
                let _ = writeln!(out, "group = {}", q(group));
            }
        }
        None => out.push_str(
            "# keepalived runs scripts as root when script_user is not set (as keepalived_script\n# where that user exists); vrrpd would run them as \"nobody\"\nuser = \"root\"\n",
        ),
    }
    if g.script_security {
        out.push_str("# enable_script_security\nsecurity = true\n");
    }
}

/// Where the file comes from, then what it does not reproduce and what needs no setting.
fn header(out: &mut String, source: &str, untranslated: &[Untranslated], notes: &[String]) {
    comment(
        out,
        &format!("vrrpd configuration converted from {source} by `vrrpd import-keepalived`."),
    );
    out.push_str("# Review it, then validate it with: vrrpd check --config FILE\n");
    if !untranslated.is_empty() {
        out.push_str("#\n# keepalived settings whose behaviour this file does not reproduce:\n");
        for u in untranslated {
            comment(out, &format!("not translated: {u}"));
        }
    }
    if !notes.is_empty() {
        out.push_str("#\n# Translated without a vrrpd setting:\n");
        for n in notes {
            comment(out, n);
        }
    }
}

/// One `[[vrrp]]` table; `uplink` is the file's `interface`, which a router on it need not name.
fn router(out: &mut String, r: &Router, uplink: &str) {
    out.push_str("\n[[vrrp]]\n");
    comment(out, &format!("vrrp_instance {} ({})", r.name, r.at));
    for c in &r.comments {
        comment(out, c);
    }
    let _ = writeln!(out, "vrid = {}", r.vrid);
    if r.interface != uplink {
        let _ = writeln!(out, "interface = {}", q(&r.interface));
    }
    let _ = writeln!(out, "version = {}", r.version);
    let _ = writeln!(out, "priority = {}", r.priority);
    let _ = writeln!(out, "interval = {}", q(&format_duration(r.interval)));
    let vips: Vec<String> = r.vips.iter().map(|v| format!("{v}/{}", r.prefix)).collect();
    let _ = writeln!(out, "vips = {}", list(&vips));
    if !r.preempt {
        out.push_str("preempt = false\n");
    }
    if let Some(d) = r.preempt_delay {
        let _ = writeln!(out, "preempt_delay = {}", q(&format_duration(d)));
    }
    if !r.accept {
        out.push_str("accept = false\n");
    }
    if r.version == 3 && r.message_only {
        out.push_str("checksum = \"message-only\"\n");
    }
    if let Some(p) = &r.auth_pass {
        let _ = writeln!(out, "auth_pass = {}", q(p));
    }
    // keepalived's second set is one repeat at garp_master_delay; vrrpd counts offsets in
    // whole centiseconds, so a finer delay is rounded up.
    let second: Vec<String> = (r.garp.1 > 0)
        .then(|| {
            format_duration(r.garp.2.as_millis().div_ceil(10) as u32 * Duration::from_millis(10))
        })
        .into_iter()
        .collect();
    let refresh = if r.garp_refresh.is_zero() {
        String::new()
    } else {
        format!(", refresh = {}", q(&format_duration(r.garp_refresh)))
    };
    let _ = writeln!(
        out,
        "garp = {{ burst = {}, repeat_at = {}{refresh} }}",
        r.garp.0,
        list(&second)
    );
    if !r.peers.is_empty() {
        let _ = writeln!(out, "peers = {}", list(&r.peers));
    }
    if let Some(p) = r.primary {
        let _ = writeln!(out, "primary = {}", q(&p.to_string()));
    }
    if !r.track.is_empty() {
        let _ = writeln!(out, "track = {}", list(&r.track));
    }
}

/// One `[[sync_group]]` table.
fn sync_group(out: &mut String, g: &Group) {
    out.push_str("\n[[sync_group]]\n");
    comment(out, &format!("vrrp_sync_group {} ({})", g.name, g.at));
    out.push_str("# keepalived moves the members between states together; vrrpd gives every member the\n# checks of all members, so that they fail over together. Both need the members in the same\n# priority order on every node.\n");
    for c in &g.comments {
        comment(out, c);
    }
    let _ = writeln!(out, "name = {}", q(&g.name));
    let vrids: Vec<String> = g.vrids.iter().map(u8::to_string).collect();
    let _ = writeln!(out, "vrids = [{}]", vrids.join(", "));
}

/// The `[check.NAME]` table of a tracked interface.
fn interface_check(
    out: &mut String,
    c: &Check,
    name: &str,
    notes: &[String],
    link_interval: Duration,
) {
    let _ = writeln!(out, "\n[check.{}]", c.name);
    for n in notes {
        comment(out, n);
    }
    let _ = writeln!(
        out,
        "# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval\nkind = \"interface\"\ninterface = {}\ninterval = {}",
        q(name),
        q(&format_duration(link_interval))
    );
    if c.weight == 0 {
        comment(
            out,
            &format!(
                "keepalived puts the instance at FAULT while {name} has no link; vrrpd gives it\npriority 0, so it steps down and never takes over"
            ),
        );
        out.push_str("fault = true\n");
    } else {
        let _ = writeln!(out, "weight = {}", c.weight);
    }
}

/// The `[check.NAME]` table of a `track_file`, with the weight and `reverse` of the trackers this check stands for.
fn file_check(out: &mut String, c: &Check, f: &TrackFile) {
    let _ = writeln!(out, "\n[check.{}]", c.name);
    comment(
        out,
        &format!("track_file {} ({}): file {:?}", f.name, f.at, f.path),
    );
    for n in &f.notes {
        comment(out, n);
    }
    comment(
        out,
        "keepalived reads the file when inotify reports a change; vrrpd reads it every second",
    );
    let _ = writeln!(out, "kind = \"file\"\npath = {}", q(&f.path));
    if c.weight == 0 {
        comment(
            out,
            if c.reverse {
                "weight 0 reverse: keepalived puts the instance at FAULT while the number is 0; vrrpd gives it priority 0"
            } else {
                "weight 0: keepalived puts the instance at FAULT while the number is not 0; vrrpd gives it priority 0"
            },
        );
    }
    let _ = writeln!(out, "weight = {}", c.weight);
    if c.reverse {
        out.push_str("reverse = true\n");
    }
    if let Some((value, overwrite)) = f.init {
        out.push_str("# init_file\n");
        let _ = writeln!(out, "init = {value}");
        if overwrite {
            out.push_str("overwrite = true\n");
        }
    }
}

/// The `[check.NAME]` table of a `vrrp_script`.
fn script_check(out: &mut String, c: &Check, s: &Script) {
    let _ = writeln!(out, "\n[check.{}]", c.name);
    comment(
        out,
        &format!("vrrp_script {} ({}): script {:?}", s.name, s.at, s.script),
    );
    for n in &s.notes {
        comment(out, n);
    }
    match &s.probe {
        Probe::Process(name) => {
            let _ = writeln!(out, "kind = \"process\"\nname = {}", q(name));
        }
        Probe::Http(url) => {
            let _ = writeln!(out, "kind = \"http\"\nurl = {}", q(url));
        }
        Probe::Tcp(addr) => {
            let _ = writeln!(out, "kind = \"tcp\"\naddr = {}", q(addr));
        }
        Probe::Command(argv) => {
            let _ = writeln!(out, "kind = \"command\"\ncommand = {}", list(argv));
            if let Some((user, group)) = &s.user {
                let _ = writeln!(out, "user = {}", q(user));
                if let Some(group) = group {
                    let _ = writeln!(out, "group = {}", q(group));
                }
            }
        }
    }
    if let (Some((user, _)), false) = (&s.user, matches!(s.probe, Probe::Command(_))) {
        comment(
            out,
            &format!("user {user}: vrrpd probes this itself, no command runs"),
        );
    }
    let _ = writeln!(out, "interval = {}", q(&format_duration(s.interval)));
    if let Some(t) = s.timeout {
        let _ = writeln!(out, "timeout = {}", q(&format_duration(t)));
    }
    if s.rise != 1 {
        let _ = writeln!(out, "rise = {}", s.rise);
    }
    if s.fall != 1 {
        let _ = writeln!(out, "fall = {}", s.fall);
    }
    if c.weight == 0 {
        out.push_str(
            "# weight 0: keepalived puts the instance at FAULT while the script fails; vrrpd\n# gives it priority 0, so it steps down and never takes over\nfault = true\n",
        );
    } else {
        let _ = writeln!(out, "weight = {}", c.weight);
    }
}

/// The `[[notify]]` hooks standing for the notify scripts of instances and sync groups.
fn hooks(out: &mut String, routers: &[Router], groups: &[Group]) {
    let hooks: Vec<&Router> = routers.iter().filter(|r| r.notify.is_some()).collect();
    let group_hooks: Vec<(&Group, u8, &str)> = groups
        .iter()
        .filter_map(|g| g.notify.as_ref().map(|(vrid, s)| (g, *vrid, s.as_str())))
        .collect();
    if !hooks.is_empty() || !group_hooks.is_empty() {
        out.push_str(
            "\n# keepalived runs a notify script per state; a vrrpd hook runs on every state change\n# of every router with VRRP_STATE (Initialize, Backup, Active), VRRP_REASON and VRRP_VRID in\n# its environment. Each hook below keeps to one VRID and maps the change to keepalived's\n# MASTER / BACKUP / FAULT / STOP. keepalived never kills a notify script; vrrpd kills a hook\n# after `timeout`.\n",
        );
    }
    for r in hooks {
        out.push_str("[[notify]]\n");
        comment(out, &format!("vrrp_instance {}", r.name));
        hook(out, r.notify.as_deref().expect("filtered"));
    }
    for (g, vrid, script) in group_hooks {
        out.push_str("[[notify]]\n");
        comment(
            out,
            &format!(
                "vrrp_sync_group {} ({}): keepalived runs these when the group changes state;\nthe members move together, so this hook follows its first member, VRID {vrid}",
                g.name, g.at
            ),
        );
        hook(out, script);
    }
}

/// The command and timeout of one `[[notify]]` hook running `script`.
fn hook(out: &mut String, script: &str) {
    // A literal multi-line string keeps the shell program readable; it cannot hold `'''`, nor
    // a control character other than tab and newline.
    if script.contains("'''")
        || script
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        let _ = writeln!(out, "command = [\"/bin/sh\", \"-c\", {}]", q(script));
    } else {
        let _ = writeln!(out, "command = [\"/bin/sh\", \"-c\", '''\n{script}''']");
    }
    out.push_str("timeout = \"5s\"\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_are_escaped() {
        let s = "a\"b\\c\nd\u{1}";
        let doc = format!("x = {}\n", q(s));
        let v: toml::Table = doc.parse().unwrap();
        assert_eq!(v["x"].as_str(), Some(s));
    }
}
