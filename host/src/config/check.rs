//! `[check.NAME]`: the health checks routers track.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::raw::*;
use super::scripts::{RunAs, ScriptsConfig};
use super::validate::Validator;
use super::{ConfigError, Effect, INTERFACE_NAME_RULE, format_duration};
use vrrp_core::track::Scale;

const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// HTTP/1.1 GET. `authority` goes into the Host header, `connect` is resolved per probe.
    Http {
        url: String,
        connect: String,
        authority: String,
        path: String,
        expect_status: u16,
        body: Option<String>,
    },
    Tcp {
        addr: SocketAddr,
    },
    /// By name as in `/proc/PID/comm`, which the kernel truncates to 15 bytes.
    ProcessName {
        name: String,
    },
    ProcessPidfile {
        pidfile: PathBuf,
    },
    /// `run_as`: the user and group it runs as (`None`: vrrpd's own).
    Command {
        argv: Vec<String>,
        run_as: Option<RunAs>,
    },
    /// A network interface's carrier (`/sys/class/net/NAME/carrier`): the uplink losing its
    /// link leaves the bridge up through the TAP port, so only this notices.
    Interface {
        name: String,
    },
    /// A number read from a file (keepalived's `track_file`), times the check's
    /// [`Effect::Scaled`] weight.
    File {
        path: PathBuf,
        /// What vrrpd writes to the file at start, if anything (keepalived's `init_file`).
        init: Option<FileInit>,
    },
}

/// `init` / `overwrite` of a file check: the number written to the file when vrrpd starts,
/// if the file is missing or always with `overwrite`, so that a node starts undrained (or
/// drained) whatever an earlier run left. Not written again at a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInit {
    pub value: i64,
    pub overwrite: bool,
}

impl CheckKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckKind::Http { .. } => "http",
            CheckKind::Tcp { .. } => "tcp",
            CheckKind::ProcessName { .. } | CheckKind::ProcessPidfile { .. } => "process",
            CheckKind::Command { .. } => "command",
            CheckKind::Interface { .. } => "interface",
            CheckKind::File { .. } => "file",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CheckKind::Http {
                url,
                expect_status,
                body,
                ..
            } => {
                write!(f, "http GET {url} expect {expect_status}")?;
                if let Some(body) = body {
                    write!(f, " body contains {body:?}")?;
                }
                Ok(())
            }
            CheckKind::Tcp { addr } => write!(f, "tcp connect {addr}"),
            CheckKind::ProcessName { name } => write!(f, "process named {name:?}"),
            CheckKind::ProcessPidfile { pidfile } => {
                write!(f, "process in pidfile {}", pidfile.display())
            }
            CheckKind::Command { argv, run_as } => {
                write!(f, "command {argv:?}")?;
                match run_as {
                    Some(r) => write!(f, " as {r}"),
                    None => Ok(()),
                }
            }
            CheckKind::Interface { name } => write!(f, "interface {name} has carrier"),
            CheckKind::File { path, init } => {
                write!(f, "number in {}", path.display())?;
                match init {
                    Some(i) if i.overwrite => write!(f, " ({} written to it at start)", i.value),
                    Some(i) => write!(f, " ({} written to it at start if missing)", i.value),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One `[check.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    pub name: String,
    pub kind: CheckKind,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub effect: Effect,
}

/// A key only some check kinds take: name, where it is set, the kinds that take it.
type KindKey<'k> = (&'static str, Option<Range<usize>>, &'k [&'k str]);

impl Validator<'_> {
    pub(super) fn check(
        &self,
        name: &Spanned<String>,
        raw: &Spanned<RawCheck>,
        scripts: &ScriptsConfig,
    ) -> Result<CheckConfig, ConfigError> {
        let table_span = raw.span();
        let raw = raw.get_ref();
        let n = name.get_ref();
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return self.err(
                name.span(),
                format!("check name {n:?} must be letters, digits, '_' or '-'"),
            );
        }

        let kind = self.kind(raw, &table_span, scripts)?;
        let (interval, timeout) = self.timing(raw)?;
        if let CheckKind::File { .. } = kind
            && let Some(r) = raw.rise.as_ref().or(raw.fall.as_ref())
        {
            return self.err(
                r.span(),
                "a file check applies every number it reads: `rise` and `fall` do not apply",
            );
        }
        let rise = match &raw.rise {
            None => 1,
            Some(r) => self.int(r, 1..1001, "rise")?,
        };
        let fall = match &raw.fall {
            None => 1,
            Some(f) => self.int(f, 1..1001, "fall")?,
        };
        let effect = match kind {
            CheckKind::File { .. } => self.scale(raw, table_span)?,
            _ => self.effect(raw, table_span)?,
        };
        Ok(CheckConfig {
            name: n.clone(),
            kind,
            interval,
            timeout,
            rise,
            fall,
            effect,
        })
    }

    /// What the check probes, from `kind` and the keys that kind takes.
    fn kind(
        &self,
        raw: &RawCheck,
        table_span: &Range<usize>,
        scripts: &ScriptsConfig,
    ) -> Result<CheckKind, ConfigError> {
        let kind_str = raw.kind.get_ref().as_str();
        self.kind_keys(raw, kind_str)?;
        let missing = |key: &str| {
            self.err::<CheckKind>(
                table_span.clone(),
                format!("kind = {kind_str:?} requires `{key}`"),
            )
        };
        let kind = match kind_str {
            "http" => match &raw.url {
                None => missing("url")?,
                Some(url) => self.http(url, raw.expect_status.as_ref(), raw.body.as_ref())?,
            },
            "tcp" => match &raw.addr {
                None => missing("addr")?,
                Some(a) => CheckKind::Tcp {
                    addr: a.get_ref().parse().or_else(|_| {
                        self.err(
                            a.span(),
                            format!(
                                "{:?} is not an IP:PORT address, e.g. \"127.0.0.1:80\"",
                                a.get_ref()
                            ),
                        )
                    })?,
                },
            },
            "process" => match (&raw.name, &raw.pidfile) {
                (Some(n), None) => {
                    let name = n.get_ref();
                    if name.is_empty() || name.contains('/') {
                        return self.err(n.span(), format!("{name:?} is not a process name"));
                    }
                    CheckKind::ProcessName { name: name.clone() }
                }
                (None, Some(p)) => {
                    if !p.get_ref().starts_with('/') {
                        return self.err(p.span(), "the pidfile path must be absolute");
                    }
                    CheckKind::ProcessPidfile {
                        pidfile: PathBuf::from(p.get_ref()),
                    }
                }
                (Some(_), Some(p)) => {
                    return self.err(p.span(), "set either `name` or `pidfile`, not both");
                }
                (None, None) => missing("name` or `pidfile")?,
            },
            "interface" => match &raw.interface {
                None => missing("interface")?,
                Some(i) => {
                    let name = i.get_ref();
                    if !super::is_interface_name(name) {
                        return self.err(
                            i.span(),
                            format!(
                                "{name:?} is not a Linux interface name ({INTERFACE_NAME_RULE})"
                            ),
                        );
                    }
                    CheckKind::Interface { name: name.clone() }
                }
            },
            "file" => match &raw.path {
                None => missing("path")?,
                Some(p) => {
                    if !p.get_ref().starts_with('/') {
                        return self.err(p.span(), "the path of a file check must be absolute");
                    }
                    CheckKind::File {
                        path: PathBuf::from(p.get_ref()),
                        init: self.file_init(raw)?,
                    }
                }
            },
            _ => match &raw.command {
                None => missing("command")?,
                Some(c) => {
                    if c.get_ref().is_empty() || c.get_ref()[0].is_empty() {
                        return self
                            .err(c.span(), "the command is an argv list and needs a program");
                    }
                    self.command_safe(scripts, c)?;
                    CheckKind::Command {
                        argv: c.get_ref().clone(),
                        run_as: self.command_user(
                            scripts,
                            raw.user.as_ref(),
                            raw.group.as_ref(),
                        )?,
                    }
                }
            },
        };
        Ok(kind)
    }

    /// `init` (-254..=254, as keepalived's `init_file`) and `overwrite`, which needs it.
    fn file_init(&self, raw: &RawCheck) -> Result<Option<FileInit>, ConfigError> {
        let overwrite = raw.overwrite.as_ref();
        let Some(v) = &raw.init else {
            return match overwrite {
                Some(o) => self.err(o.span(), "`overwrite` needs `init`, the number to write"),
                None => Ok(None),
            };
        };
        let value: i64 = self.int(v, -254..255, "init")?;
        Ok(Some(FileInit {
            value,
            overwrite: overwrite.is_some_and(|o| *o.get_ref()),
        }))
    }

    /// Refuses an unknown kind, and keys that only other kinds take: a key the kind ignores
    /// would be a silent no-op.
    fn kind_keys(&self, raw: &RawCheck, kind_str: &str) -> Result<(), ConfigError> {
        let specific: [KindKey; 14] = [
            ("url", raw.url.as_ref().map(|v| v.span()), &["http"]),
            (
                "expect_status",
                raw.expect_status.as_ref().map(|v| v.span()),
                &["http"],
            ),
            ("body", raw.body.as_ref().map(|v| v.span()), &["http"]),
            ("addr", raw.addr.as_ref().map(|v| v.span()), &["tcp"]),
            ("name", raw.name.as_ref().map(|v| v.span()), &["process"]),
            (
                "pidfile",
                raw.pidfile.as_ref().map(|v| v.span()),
                &["process"],
            ),
            (
                "command",
                raw.command.as_ref().map(|v| v.span()),
                &["command"],
            ),
            (
                "interface",
                raw.interface.as_ref().map(|v| v.span()),
                &["interface"],
            ),
            ("path", raw.path.as_ref().map(|v| v.span()), &["file"]),
            ("reverse", raw.reverse.as_ref().map(|v| v.span()), &["file"]),
            ("init", raw.init.as_ref().map(|v| v.span()), &["file"]),
            (
                "overwrite",
                raw.overwrite.as_ref().map(|v| v.span()),
                &["file"],
            ),
            ("user", raw.user.as_ref().map(|v| v.span()), &["command"]),
            ("group", raw.group.as_ref().map(|v| v.span()), &["command"]),
        ];
        if !["http", "tcp", "process", "command", "interface", "file"].contains(&kind_str) {
            return self.err(
                raw.kind.span(),
                format!(
                    "unknown check kind {kind_str:?}: expected \"http\", \"tcp\", \"process\", \"command\", \"interface\" or \"file\""
                ),
            );
        }
        for (key, span, kinds) in &specific {
            if let Some(span) = span
                && !kinds.contains(&kind_str)
            {
                return self.err(
                    span.clone(),
                    format!("`{key}` applies to kind = {:?}, not {kind_str:?}", kinds[0]),
                );
            }
        }
        Ok(())
    }

    /// The interval and the timeout, which is at most the interval.
    fn timing(&self, raw: &RawCheck) -> Result<(Duration, Duration), ConfigError> {
        let interval = raw
            .interval
            .as_ref()
            .map_or(DEFAULT_CHECK_INTERVAL, |i| i.get_ref().0);
        if interval < MIN_CHECK_INTERVAL {
            return self.err(
                raw.interval.as_ref().unwrap().span(),
                format!(
                    "{}: a check interval is at least 10ms",
                    format_duration(interval)
                ),
            );
        }
        let timeout = raw.timeout.as_ref().map_or(interval, |t| t.get_ref().0);
        if let Some(t) = &raw.timeout
            && (timeout.is_zero() || timeout > interval)
        {
            return self.err(
                t.span(),
                format!(
                    "timeout {} must be more than 0 and at most the interval ({})",
                    format_duration(timeout),
                    format_duration(interval)
                ),
            );
        }
        Ok((interval, timeout))
    }

    fn effect(&self, raw: &RawCheck, table_span: Range<usize>) -> Result<Effect, ConfigError> {
        let effect = match (&raw.weight, &raw.fault) {
            (Some(w), None) => Effect::Weight(self.int(w, -254..255, "weight")?),
            (None, Some(f)) if *f.get_ref() => Effect::Fault,
            (None, Some(f)) => {
                return self.err(
                    f.span(),
                    "fault = false has no effect: set `weight` instead, or fault = true",
                );
            }
            (Some(_), Some(f)) => {
                return self.err(f.span(), "set either `weight` or `fault`, not both");
            }
            (None, None) => {
                return self.err(
                    table_span,
                    "set `weight` (priority adjustment) or `fault = true` (priority 0 while down)",
                );
            }
        };
        Ok(effect)
    }

    /// A file check's `weight` (required: 0 makes the number pass/fail) and `reverse`.
    fn scale(&self, raw: &RawCheck, table_span: Range<usize>) -> Result<Effect, ConfigError> {
        if let Some(f) = &raw.fault {
            return self.err(
                f.span(),
                "a file check takes `weight` (0: any number but 0 is a fault), not `fault`",
            );
        }
        let Some(w) = &raw.weight else {
            return self.err(
                table_span,
                "set `weight`: the number in the file times the weight is added to the priority (0: any number but 0 is a fault)",
            );
        };
        Ok(Effect::Scaled(Scale {
            weight: self.int(w, -254..255, "weight")?,
            reverse: raw.reverse.as_ref().is_some_and(|r| *r.get_ref()),
        }))
    }

    pub(super) fn http(
        &self,
        url: &Spanned<String>,
        expect: Option<&Spanned<i64>>,
        body: Option<&Spanned<String>>,
    ) -> Result<CheckKind, ConfigError> {
        let uri: hyper::Uri = url
            .get_ref()
            .parse()
            .or_else(|e| self.err(url.span(), format!("{:?} is not a URL: {e}", url.get_ref())))?;
        if uri.scheme_str() != Some("http") {
            return self.err(
                url.span(),
                "only http:// URLs are supported (check nginx over plain HTTP on loopback)",
            );
        }
        let Some(host) = uri.host() else {
            return self.err(url.span(), "the URL has no host");
        };
        let port = uri.port_u16().unwrap_or(80);
        let connect = if host.starts_with('[') {
            format!("{host}:{port}")
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let expect_status = match expect {
            None => 200,
            Some(s) => self.int(s, 100..600, "expect_status")?,
        };
        Ok(CheckKind::Http {
            url: url.get_ref().clone(),
            connect,
            authority: uri.authority().map(|a| a.to_string()).unwrap_or_default(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.to_string()),
            expect_status,
            body: body.map(|b| b.get_ref().clone()),
        })
    }
}
