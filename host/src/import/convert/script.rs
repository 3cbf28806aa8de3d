//! `vrrp_script`: the script, and the native check it stands for when vrrpd has one.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::Converter;
use super::values::{int_arg, seconds_arg};
use crate::config::format_duration;
use crate::import::ImportError;
use crate::import::lexer::Word;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    pub(super) fn script(&mut self, stmt: &Stmt) -> Result<Script, ImportError> {
        let Some(name) = stmt.args().first() else {
            return Err(self.error(stmt.pos(), "vrrp_script", "the script needs a name"));
        };
        let path = format!("vrrp_script {}", name.text);
        if name.text.is_empty() {
            return Err(self.error(name.pos, "vrrp_script", "the script needs a name"));
        }
        let mut script = None;
        let mut s = Script {
            name: name.text.clone(),
            pos: stmt.pos(),
            at: self.loc(stmt.pos()),
            script: String::new(),
            probe: Probe::Command(Vec::new()),
            notes: Vec::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            rise: 1,
            fall: 1,
            user: None,
        };
        for st in stmt.block.iter().flatten() {
            let key = format!("{path}.{}", st.key());
            match st.key() {
                "script" => {
                    if st.args().is_empty() {
                        return Err(self.error(st.pos(), &key, "the command is missing"));
                    }
                    // An unquoted command with arguments reaches keepalived as separate words.
                    let text = st
                        .args()
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    script = Some((text, st.pos()));
                }
                "interval" => s.interval = self.seconds(st, &key, 0..=86400)?,
                "timeout" => s.timeout = Some(self.seconds(st, &key, 0..=86400)?),
                "weight" => s.weight = self.script_weight(st, &key)?,
                "rise" => s.rise = self.int(st, &key, 1..=1000, "")? as u32,
                "fall" => s.fall = self.int(st, &key, 1..=1000, "")? as u32,
                "user" => s.user = Some(self.user_group(st, &key)?),
                "init_fail" => s.notes.push(
                    "init_fail: vrrpd counts every check as down until its first result anyway"
                        .into(),
                ),
                _ => self.list(
                    st,
                    "unknown keyword (keepalived ignores it too, with a warning)",
                ),
            }
        }
        let Some((text, pos)) = script else {
            return Err(self.error(stmt.pos(), &path, "has no `script`"));
        };
        if s.interval < Duration::from_millis(10) {
            return Err(self.error(
                pos,
                &format!("{path}.interval"),
                "a check interval is at least 10ms",
            ));
        }
        if s.timeout == Some(Duration::ZERO) {
            return Err(self.error(pos, &format!("{path}.timeout"), "must be more than 0"));
        }
        let argv = split_argv(&text);
        if argv.is_empty() {
            return Err(self.error(pos, &format!("{path}.script"), "the command is empty"));
        }
        s.script = text.clone();
        self.script_probe(stmt, &mut s, text, &argv);
        Ok(s)
    }

    /// The `N` of a tracker's `weight N ...` (keepalived takes -254..=254), and the words after
    /// it.
    pub(super) fn weight_arg<'s>(
        &self,
        st: &'s Stmt,
        key: &str,
    ) -> Result<(i32, &'s [Word]), ImportError> {
        let (w, rest) = st
            .args()
            .split_first()
            .ok_or_else(|| self.error(st.pos(), key, "a value is missing"))?;
        match int_arg(&w.text) {
            Some(n) if (-254..=254).contains(&n) => Ok((n as i32, rest)),
            _ => Err(self.error(w.pos, key, format!("{:?}: a weight is -254..=254", w.text))),
        }
    }

    /// `weight N [reverse|noreverse]` of a `vrrp_script`.
    fn script_weight(&self, st: &Stmt, key: &str) -> Result<i32, ImportError> {
        let (weight, rest) = self.weight_arg(st, key)?;
        match rest.first().map(|w| w.text.as_str()) {
            None | Some("noreverse") => {}
            Some("reverse") => {
                return Err(self.error(
                    rest[0].pos,
                    key,
                    "`reverse` weights cannot be expressed in vrrpd: invert the script instead",
                ));
            }
            Some(_) => return Err(self.error(rest[0].pos, key, "unexpected value")),
        }
        Ok(weight)
    }

    /// The probe standing for the script, listed when the translation may not be what keepalived
    /// did; and a timeout longer than the interval, cut to it.
    fn script_probe(&mut self, stmt: &Stmt, s: &mut Script, text: String, argv: &[String]) {
        if shell_syntax(argv) {
            s.probe = Probe::Command(vec!["/bin/sh".into(), "-c".into(), text]);
            let st = stmt
                .block
                .iter()
                .flatten()
                .find(|st| st.key() == "script")
                .expect("seen above");
            self.list(
                st,
                "uses shell syntax, which keepalived 2 passes to the program as plain arguments (no shell): translated as /bin/sh -c, check that this is what was meant",
            );
        } else {
            let (probe, notes) = classify(argv);
            s.probe = probe;
            s.notes.extend(notes);
            if matches!(s.probe, Probe::Http(_)) {
                let st = stmt
                    .block
                    .iter()
                    .flatten()
                    .find(|st| st.key() == "script")
                    .expect("seen above");
                self.list(
                    st,
                    "translated to an http check, which wants status 200 where curl --fail accepted any status below 400 (a redirect, say): make sure the URL answers 200",
                );
            }
        }
        if let Some(t) = s.timeout
            && t > s.interval
        {
            let st = stmt
                .block
                .iter()
                .flatten()
                .find(|st| st.key() == "timeout")
                .expect("set above");
            self.list(
                st,
                format!(
                    "longer than the interval ({}): vrrpd's timeout is at most the interval, so it is cut to that",
                    format_duration(s.interval)
                ),
            );
            s.timeout = Some(s.interval);
        }
    }
}

/// Splits a script string into argv the way keepalived does (no shell): spaces separate,
/// single or double quotes group, a backslash escapes the next character.
pub(super) fn split_argv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.get_or_insert_with(String::new).push(n);
                }
            }
            (Some(_), c) => cur.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                cur.get_or_insert_with(String::new);
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            (None, c) => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = cur {
        out.push(w);
    }
    out
}

/// Words a shell would treat specially: keepalived 2 does not run scripts through a shell.
fn shell_syntax(argv: &[String]) -> bool {
    argv.iter().any(|w| {
        ["|", "||", "&&", ";", ">", "<", ">>", "2>&1", "&"].contains(&w.as_str())
            || w.starts_with(['<', '>'])
            || w.contains("$(")
            || w.contains('`')
            || w.ends_with(';')
            || (w.starts_with('$') && w.len() > 1)
    })
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Maps the obvious script idioms to vrrpd's native checks; anything else stays a command.
fn classify(argv: &[String]) -> (Probe, Vec<String>) {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let Some((&prog, rest)) = words.split_first() else {
        return (Probe::Command(argv.to_vec()), Vec::new());
    };
    // /proc/PID/comm holds at most 15 bytes, which is what vrrpd's process check compares.
    let process_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 15
            && !n.starts_with('-')
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    };
    match (basename(prog), rest) {
        ("killall", ["-0", name])
        | ("pidof", [name])
        | ("pidof", ["-s", name])
        | ("pgrep", ["-x", name])
            if process_name(name) =>
        {
            return (
                Probe::Process((*name).to_owned()),
                vec![format!(
                    "`{}` succeeds while a process named {name} runs: vrrpd checks that without forking",
                    words.join(" ")
                )],
            );
        }
        ("curl", _) => {
            if let Some(probe) = curl(rest) {
                return probe;
            }
        }
        ("nc" | "ncat", _) => {
            if let Some(addr) = netcat(rest) {
                return (
                    Probe::Tcp(addr.clone()),
                    vec![format!(
                        "`{}` succeeds when {addr} accepts a TCP connection",
                        words.join(" ")
                    )],
                );
            }
        }
        _ => {}
    }
    (Probe::Command(argv.to_vec()), Vec::new())
}

/// `curl -fsS [-o /dev/null] [-m N] http://...`: only with --fail does curl's exit status
/// depend on the HTTP status at all.
pub(super) fn curl(args: &[&str]) -> Option<(Probe, Vec<String>)> {
    let mut fail = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        match a {
            "--fail" => fail = true,
            "--silent" | "--show-error" | "--insecure" => {}
            "-o" | "--output" => {
                if args.get(i + 1) != Some(&"/dev/null") {
                    return None;
                }
                i += 1;
            }
            "-m" | "--max-time" | "--connect-timeout" => {
                seconds_arg(args.get(i + 1)?)?;
                i += 1;
            }
            _ if a.starts_with("--") => return None,
            _ if a.starts_with('-') && a.len() > 1 => {
                if !a[1..].chars().all(|c| "sSfk".contains(c)) {
                    return None;
                }
                fail |= a.contains('f');
            }
            _ if url.is_none() && a.starts_with("http://") => url = Some(a),
            _ => return None,
        }
        i += 1;
    }
    let url = url?;
    if !fail || url.parse::<hyper::Uri>().is_err() {
        return None;
    }
    Some((
        Probe::Http(url.to_owned()),
        vec![format!(
            "`curl --fail {url}` succeeds on an HTTP status below 400: vrrpd's http check expects 200"
        )],
    ))
}

/// `nc -z [-w N] IP PORT`.
fn netcat(args: &[&str]) -> Option<String> {
    let mut zero_io = false;
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a == "-w" {
            seconds_arg(args.get(i + 1)?)?;
            i += 1;
        } else if let Some(flags) = a.strip_prefix('-') {
            if flags.is_empty() || !flags.chars().all(|c| "zvn".contains(c)) {
                return None;
            }
            zero_io |= flags.contains('z');
        } else {
            operands.push(a);
        }
        i += 1;
    }
    let [host, port] = operands[..] else {
        return None;
    };
    let ip: Ipv4Addr = host.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    zero_io.then(|| format!("{ip}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splitting_follows_keepalived() {
        assert_eq!(
            split_argv("/bin/sh -c 'pidof nginx || exit 1'"),
            ["/bin/sh", "-c", "pidof nginx || exit 1"]
        );
        assert_eq!(split_argv("  a\\ b  c "), ["a b", "c"]);
        assert!(shell_syntax(&split_argv("pidof nginx || exit 1")));
        assert!(shell_syntax(&split_argv("</dev/tcp/127.0.0.1/80")));
        assert!(!shell_syntax(&split_argv("/bin/sh -c 'a | b'")));
    }

    #[test]
    fn script_idioms() {
        let argv = |s: &str| split_argv(s);
        assert_eq!(
            classify(&argv("killall -0 nginx")).0,
            Probe::Process("nginx".into())
        );
        assert_eq!(
            classify(&argv("/usr/bin/pidof nginx")).0,
            Probe::Process("nginx".into())
        );
        assert_eq!(
            classify(&argv("pgrep -x nginx")).0,
            Probe::Process("nginx".into())
        );
        // pgrep without -x matches substrings: not the same as an exact name.
        assert!(matches!(
            classify(&argv("pgrep nginx")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("curl -fsS -o /dev/null -m 2 http://127.0.0.1/health")).0,
            Probe::Http("http://127.0.0.1/health".into())
        );
        // Without --fail curl succeeds on a 500 too; https is not what vrrpd's check speaks.
        assert!(matches!(
            classify(&argv("curl -s http://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert!(matches!(
            classify(&argv("curl -f https://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert!(matches!(
            classify(&argv("curl -f -H Host:x http://127.0.0.1/")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("nc -z -w 1 127.0.0.1 80")).0,
            Probe::Tcp("127.0.0.1:80".into())
        );
        assert!(matches!(
            classify(&argv("nc 127.0.0.1 80")).0,
            Probe::Command(_)
        ));
        assert_eq!(
            classify(&argv("/etc/keepalived/check.sh --quiet")).0,
            Probe::Command(vec!["/etc/keepalived/check.sh".into(), "--quiet".into()])
        );
    }
}
