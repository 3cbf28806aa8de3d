//! The validator: every value of the raw schema checked, with the key path of the bad one.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;
use toml::de::DeTable;

use super::raw::*;
use super::source::{Source, key_path_at};
use super::{
    Config, ConfigError, DEFAULT_STATUS_LISTEN, DatapathMode, INTERFACE_NAME_RULE, Location,
    LogConfig, LogFormat, MAX_STARTUP_DELAY, MAX_UPLINKS, RouterConfig, format_duration,
    is_interface_name,
};

/// Judges the raw schema against the text it came from, so that every error carries the line,
/// the column and the key path of the value at fault. One method per table, in the file of its
/// topic.
pub(super) struct Validator<'a> {
    pub(super) src: Source<'a>,
    pub(super) tree: &'a DeTable<'a>,
    /// Loading on the host that runs the file: users are looked up and `scripts.security`
    /// looks at the programs. Off for a file checked elsewhere (the importer's output).
    pub(super) host: bool,
}

impl Validator<'_> {
    /// A Linux interface name (`interface`, `vrrp[].interface`).
    pub(super) fn interface_name(&self, v: &Spanned<String>) -> Result<String, ConfigError> {
        let name = v.get_ref().trim();
        if !is_interface_name(name) {
            return self.err(
                v.span(),
                format!(
                    "{:?} is not a Linux interface name ({INTERFACE_NAME_RULE})",
                    v.get_ref()
                ),
            );
        }
        Ok(name.to_owned())
    }

    pub(super) fn at(&self, span: Range<usize>) -> Location {
        let key = key_path_at(self.tree, &span);
        self.src.location(span, key)
    }

    pub(super) fn err<T>(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, ConfigError> {
        Err(self.at(span).error(message))
    }

    pub(super) fn int<T: TryFrom<i64>>(
        &self,
        v: &Spanned<i64>,
        range: Range<i64>,
        what: &str,
    ) -> Result<T, ConfigError> {
        let n = *v.get_ref();
        if !range.contains(&n) {
            return self.err(
                v.span(),
                format!(
                    "{n} is out of range: {what} must be {}..={}",
                    range.start,
                    range.end - 1
                ),
            );
        }
        T::try_from(n).or_else(|_| self.err(v.span(), "out of range"))
    }

    /// The whole file: the top-level keys here, each table by its own method.
    pub(super) fn file(&self, raw: RawFile) -> Result<Config, ConfigError> {
        let interface = self.interface_name(&raw.interface)?;

        let status_listen = match raw.status.and_then(|s| s.listen) {
            None => DEFAULT_STATUS_LISTEN.parse().expect("valid default"),
            Some(l) => l.get_ref().parse::<SocketAddr>().or_else(|_| {
                self.err(
                    l.span(),
                    format!(
                        "{:?} is not an IP:PORT address, e.g. \"127.0.0.1:9100\"",
                        l.get_ref()
                    ),
                )
            })?,
        };

        let control_socket = match raw.control.and_then(|c| c.socket) {
            None => None,
            Some(p) if p.get_ref().starts_with('/') && p.get_ref().len() < 108 => {
                Some(PathBuf::from(p.get_ref()))
            }
            Some(p) => {
                return self.err(
                    p.span(),
                    format!(
                        "{:?} is not an absolute path of at most 107 bytes (a Unix socket's limit)",
                        p.get_ref()
                    ),
                );
            }
        };

        let datapath = match raw.datapath {
            None => DatapathMode::Auto,
            Some(d) => match d.get_ref().as_str() {
                "auto" => DatapathMode::Auto,
                "relay" => DatapathMode::Relay,
                other => {
                    return self.err(
                        d.span(),
                        format!("unknown data path {other:?}: expected \"auto\" or \"relay\""),
                    );
                }
            },
        };

        let mut log = LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        };
        if let Some(raw_log) = raw.log {
            if let Some(f) = raw_log.format {
                log.format = match f.get_ref().as_str() {
                    "human" => LogFormat::Human,
                    "json" => LogFormat::Json,
                    other => {
                        return self.err(
                            f.span(),
                            format!("unknown log format {other:?}: expected \"human\" or \"json\""),
                        );
                    }
                };
            }
            if let Some(l) = raw_log.level {
                if let Err(e) = tracing_subscriber::EnvFilter::try_new(l.get_ref()) {
                    return self.err(l.span(), format!("invalid log level directive: {e}"));
                }
                log.level = l.into_inner();
            }
        }

        let startup_delay = match &raw.startup_delay {
            None => Duration::ZERO,
            Some(d) if d.get_ref().0 > MAX_STARTUP_DELAY => {
                return self.err(
                    d.span(),
                    format!(
                        "{}: the startup delay is at most {}",
                        format_duration(d.get_ref().0),
                        format_duration(MAX_STARTUP_DELAY)
                    ),
                );
            }
            Some(d) => d.get_ref().0,
        };

        let scripts = self.scripts(raw.scripts.as_ref())?;
        let mut checks = Vec::new();
        for (name, check) in &raw.check {
            checks.push(self.check(name, check, &scripts)?);
        }

        if raw.vrrp.get_ref().is_empty() {
            return self.err(
                raw.vrrp.span(),
                "at least one [[vrrp]] virtual router is required",
            );
        }
        let mut routers: Vec<RouterConfig> = Vec::new();
        let mut uplinks: Vec<String> = Vec::new();
        for r in raw.vrrp.get_ref() {
            let router = self.router(r, &checks, &interface)?;
            if let Some(o) = routers.iter().find(|o| o.vrid() == router.vrid()) {
                let msg = if o.interface == router.interface {
                    format!("VRID {} is configured twice", router.vrid())
                } else {
                    // The segments are different, so VRRP would allow it; but the control
                    // socket, the status, the metrics and the sync groups name a router by
                    // its VRID alone.
                    format!(
                        "VRID {} is configured twice (on {} and on {}): one vrrpd needs \
                         distinct VRIDs across its uplinks",
                        router.vrid(),
                        o.interface,
                        router.interface
                    )
                };
                return self.err(r.get_ref().vrid.span(), msg);
            }
            if !uplinks.contains(&router.interface) {
                if uplinks.len() == MAX_UPLINKS {
                    let at = r.get_ref().interface.as_ref().map(|i| i.span());
                    return self.err(
                        at.unwrap_or_else(|| r.span()),
                        format!("at most {MAX_UPLINKS} uplinks per vrrpd"),
                    );
                }
                uplinks.push(router.interface.clone());
            }
            routers.push(router);
        }

        let notify = match raw.notify {
            None => Vec::new(),
            Some(n) => match n {
                OneOrMany::One(one) => vec![self.notify(&one, &scripts)?],
                OneOrMany::Many(many) => many
                    .iter()
                    .map(|n| self.notify(n, &scripts))
                    .collect::<Result<_, _>>()?,
            },
        };

        let supervise = match &raw.supervise {
            None => None,
            Some(sv) => Some(self.supervise(sv.get_ref())?),
        };

        let sync_groups = self.sync_groups(&raw.sync_group, &mut routers)?;
        let process = match &raw.process {
            None => Default::default(),
            Some(p) => self.process(p)?,
        };

        Ok(Config {
            file: self.src.file.to_owned(),
            interface,
            datapath,
            status_listen,
            control_socket,
            log,
            routers,
            checks,
            notify,
            supervise,
            sync_groups,
            process,
            scripts,
            startup_delay,
        })
    }
}
