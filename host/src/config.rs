//! The `vrrpd` configuration file: TOML, validated completely before anything runs.
//!
//! Every error names the file, the line and column, the key path (`vrrp[0].interval`) and what
//! is wrong; the CLI exits 2 on any of them. Unknown keys are errors and no bad value is replaced
//! by a default. Defaults apply only to keys that are absent, and are listed here and in
//! `host/examples/vrrpd.toml`.
//!
//! ```toml
//! interface = "eth0"                   # the uplink (required)
//!
//! [status]
//! listen = "127.0.0.1:9100"            # default; GET /status, /metrics, /healthz
//!
//! [log]
//! format = "human"                     # "human" (default) | "json"; `--log-format` overrides
//! level = "info"                       # tracing EnvFilter directive; RUST_LOG overrides
//!
//! [[vrrp]]                             # one table per virtual router, at least one
//! vrid = 51                            # 1..=255, unique (required)
//! version = 3                          # 3 (default) | 2
//! priority = 150                       # 1..=255 (required); 255 = address owner, needs `primary`
//! interval = "100ms"                   # default "1s"; v3: multiple of 10ms, 10ms..=40.95s;
//!                                      # v2: whole seconds, 1s..=255s
//! vips = ["192.0.2.100/24"]            # 1..=8 addresses of one family; prefix optional
//!                                      # (default /24, IPv6 /64), one prefix length for all VIPs
//!                                      # of a router; IPv6: the first is link-local, e.g.
//!                                      # ["fe80::33/64", "2001:db8::1/64"], version 3 only
//! preempt = true                       # default true
//! preempt_delay = "0s"                 # default 0
//! accept = true                        # default true (see below)
//! checksum = "pseudo-header"           # v3 only: "pseudo-header" (default) | "message-only"
//! auth_pass = "secret"                 # v2 only, 1..=8 bytes, sent in clear text
//! garp = { burst = 1, repeats = 1, repeat_delay = "2s" }   # defaults shown
//! peers = ["192.0.2.12"]               # unicast peer list: adverts from others are dropped;
//!                                      # IPv6: the peers' link-local addresses
//! primary = "192.0.2.11"               # default: the interface's IPv4 address (IPv6: its
//!                                      # link-local address) at run time
//! track = ["nginx"]                    # names of [check.NAME] tables
//!
//! [check.nginx]
//! kind = "http"                        # "http" | "tcp" | "process" | "command" (required)
//! url = "http://127.0.0.1/healthz"     # http: plain http only
//! expect_status = 200                  # http: default 200
//! body = "ok"                          # http: optional substring of the body
//! # addr = "127.0.0.1:80"              # tcp
//! # name = "nginx" | pidfile = "/run/nginx.pid"   # process: exactly one of them
//!                                      # process: also re-probed at once on kernel process events
//! # command = ["/usr/local/bin/check"] # command: argv, exit 0 = up
//! # interface = "eth0"                 # interface: up while it has carrier
//! interval = "100ms"                   # default "1s", at least 10ms
//! timeout = "80ms"                     # default = interval, at most interval
//! rise = 2                             # consecutive successes to go up (default 1)
//! fall = 2                             # consecutive failures to go down (default 1)
//! weight = -60                         # -254..=254, or:
//! # fault = true                       # down = priority 0 (go Backup); exactly one of the two
//!
//! [[notify]]                           # or: notify = { command = [...], timeout = "5s" }
//! command = ["/usr/local/bin/vrrp-notify"]
//! timeout = "5s"                       # default 5s; the hook is killed after it
//!
//! [supervise]                          # optional: vrrpd runs nginx as its child
//! command = ["/usr/sbin/nginx", "-g", "daemon off;"]
//! grace = "5s"                         # default 5s between SIGTERM and SIGKILL
//! ```
//!
//! `accept` defaults to true, unlike RFC 9568's Accept_Mode default: the point of the VIP is
//! that nginx serves it, so a non-owner Active must accept traffic addressed to it. keepalived
//! behaves the same way unless `vrrp_strict` is set.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use vrrp_core::wire::{Auth, ChecksumMode, Version};

/// Capacity of the VIP list and of the peer list of one virtual router in this build.
pub const MAX_ADDRS: usize = 8;

/// The core's per-router configuration, at this build's capacity, of either family.
// One per virtual router, for the daemon's lifetime: boxing the larger IPv6 variant would
// save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreConfig {
    V4(vrrp_core::Config<MAX_ADDRS, Ipv4Addr>),
    V6(vrrp_core::Config<MAX_ADDRS, Ipv6Addr>),
}

/// Evaluates `$e` with `$c` bound to the family-specific core configuration.
macro_rules! either {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            CoreConfig::V4($c) => $e,
            CoreConfig::V6($c) => $e,
        }
    };
}

impl CoreConfig {
    pub fn is_v6(&self) -> bool {
        matches!(self, CoreConfig::V6(_))
    }
    pub fn vrid(&self) -> u8 {
        either!(self, c => c.vrid)
    }
    pub fn version(&self) -> Version {
        either!(self, c => c.version)
    }
    pub fn priority(&self) -> u8 {
        either!(self, c => c.priority)
    }
    pub fn adver_interval(&self) -> u16 {
        either!(self, c => c.adver_interval)
    }
    pub fn preempt(&self) -> bool {
        either!(self, c => c.preempt)
    }
    pub fn preempt_delay(&self) -> vrrp_core::Duration {
        either!(self, c => c.preempt_delay)
    }
    pub fn accept_mode(&self) -> bool {
        either!(self, c => c.accept_mode)
    }
    pub fn checksum(&self) -> ChecksumMode {
        either!(self, c => c.checksum)
    }
    pub fn vip_prefix_len(&self) -> u8 {
        either!(self, c => c.vip_prefix_len)
    }
    pub fn auth(&self) -> Auth {
        either!(self, c => c.auth)
    }
    pub fn garp(&self) -> vrrp_core::Garp {
        either!(self, c => c.garp)
    }
    #[cfg(test)]
    pub fn primary(&self) -> IpAddr {
        either!(self, c => c.primary.into())
    }
    pub fn vips(&self) -> Vec<IpAddr> {
        either!(self, c => c.vips.iter().map(|&a| a.into()).collect())
    }
    pub fn peers(&self) -> Vec<IpAddr> {
        either!(self, c => c.peers.iter().map(|&a| a.into()).collect())
    }
    pub fn validate(&self) -> Result<(), vrrp_core::ConfigError> {
        either!(self, c => c.validate())
    }
    /// Skew_Time and Active_Down_Interval at the configured priority and interval.
    pub fn timers(
        &self,
    ) -> Result<(vrrp_core::Duration, vrrp_core::Duration), vrrp_core::ConfigError> {
        either!(self, c => vrrp_core::VirtualRouter::new(c.clone())
            .map(|r| (r.skew_time(), r.active_down_interval())))
    }
}

/// Default status endpoint: loopback only, since it is unauthenticated.
pub const DEFAULT_STATUS_LISTEN: &str = "127.0.0.1:9100";
const DEFAULT_PREFIX_LEN: u8 = 24;
const DEFAULT_PREFIX_LEN_V6: u8 = 64;
const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// A configuration that cannot run, or a keepalived.conf that cannot be converted. `Display`
/// gives `FILE:LINE:COL: KEY: why`; [`render`] adds the offending source line.
///
/// [`render`]: ConfigError::render
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the file could not be read at all.
    pub position: Option<(usize, usize)>,
    /// Key path such as `vrrp[0].interval`; empty for syntax errors outside any key.
    pub key: String,
    pub message: String,
    /// The source line the position points into, for [`render`](ConfigError::render).
    source_line: Option<String>,
}

impl ConfigError {
    /// An error about `file` as a whole (it cannot be read, say): no line to point at.
    pub fn whole_file(file: impl Into<PathBuf>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.into(),
            position: None,
            key: String::new(),
            message: message.into(),
            source_line: None,
        }
    }

    /// The error followed by the source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if let (Some(line), Some((_, col))) = (&self.source_line, self.position) {
            let pad: String = line
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("\n    {line}\n    {pad}^"));
        }
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where a value sits in the file, kept so that errors found after loading (the primary
/// address comes from the interface at run time) still point at the right line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub key: String,
    source_line: String,
}

impl Location {
    /// `line` and `col` are 1-based; `source_line` is the text of that line, which
    /// [`ConfigError::render`] quotes.
    pub fn new(
        file: PathBuf,
        line: usize,
        col: usize,
        key: String,
        source_line: String,
    ) -> Location {
        Location {
            file,
            line,
            col,
            key,
            source_line,
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            position: Some((self.line, self.col)),
            key: self.key.clone(),
            message: message.into(),
            source_line: Some(self.source_line.clone()),
        }
    }
}

/// `log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, already validated.
    pub level: String,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub interface: String,
    pub status_listen: SocketAddr,
    pub log: LogConfig,
    pub routers: Vec<RouterConfig>,
    /// Sorted by name.
    pub checks: Vec<CheckConfig>,
    pub notify: Vec<NotifyConfig>,
    pub supervise: Option<SuperviseConfig>,
    pub sync_groups: Vec<SyncGroup>,
}

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

/// One `[[vrrp]]` table.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// The core configuration with `primary` set to the configured address, or to a
    /// placeholder (`0.0.0.0`, `fe80::`) when it is to be taken from the interface: use
    /// [`to_core`](Self::to_core).
    pub core: CoreConfig,
    /// The configured `primary`, if any (of the VIPs' family).
    pub primary: Option<IpAddr>,
    /// Names of the checks this router tracks, each one present in [`Config::checks`].
    pub track: Vec<String>,
    at: RouterLocations,
}

#[derive(Debug, Clone)]
struct RouterLocations {
    table: Location,
    priority: Location,
    primary: Option<Location>,
}

impl RouterConfig {
    pub fn vrid(&self) -> u8 {
        self.core.vrid()
    }

    /// True when `other` runs the same protocol (every core parameter and the primary
    /// address): a SIGHUP reload keeps such a router running, with its state, instead of
    /// restarting it. Tracked checks may differ; they only change the effective priority.
    pub fn same_protocol(&self, other: &RouterConfig) -> bool {
        self.core == other.core && self.primary == other.primary
    }

    /// The advertisement interval.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.core.adver_interval()) * 10)
    }

    /// The core configuration for a router whose address on the uplink is `interface_addr`
    /// (used when `primary` is not configured; of the router's family: the IPv4 address, or
    /// the IPv6 link-local one). Core validation errors name the key.
    pub fn to_core(&self, interface_addr: IpAddr) -> Result<CoreConfig, ConfigError> {
        let mut core = self.core.clone();
        let primary = self.primary.unwrap_or(interface_addr);
        match (&mut core, primary) {
            (CoreConfig::V4(c), IpAddr::V4(p)) => c.primary = p,
            (CoreConfig::V6(c), IpAddr::V6(p)) => c.primary = p,
            _ => {
                return Err(self.at.table.error(format!(
                    "the interface address {primary} is not of the VIPs' family"
                )));
            }
        }
        match core.validate() {
            Ok(()) => Ok(core),
            Err(
                e @ (vrrp_core::ConfigError::OwnerWithoutAddress
                | vrrp_core::ConfigError::PrimaryNotLinkLocal),
            ) => {
                let at = self.at.primary.as_ref().unwrap_or(&self.at.priority);
                Err(at.error(format!("{e} (primary is {primary})")))
            }
            Err(e) => Err(self.at.table.error(e.to_string())),
        }
    }
}

/// What a failing check does to the routers that track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Added to the priority: a positive weight while the check is up, a negative one while it
    /// is down (keepalived's convention, so either polarity can be expressed).
    Weight(i16),
    /// While down, the priority is 0: an Active steps down, a Backup never takes over.
    Fault,
}

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
    Command {
        argv: Vec<String>,
    },
    /// A network interface's carrier (`/sys/class/net/NAME/carrier`): the uplink losing its
    /// link leaves the bridge up through the TAP port, so only this notices.
    Interface {
        name: String,
    },
}

impl CheckKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckKind::Http { .. } => "http",
            CheckKind::Tcp { .. } => "tcp",
            CheckKind::ProcessName { .. } | CheckKind::ProcessPidfile { .. } => "process",
            CheckKind::Command { .. } => "command",
            CheckKind::Interface { .. } => "interface",
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
            CheckKind::Command { argv } => write!(f, "command {argv:?}"),
            CheckKind::Interface { name } => write!(f, "interface {name} has carrier"),
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

/// `[supervise]`: the service vrrpd runs as its child (nginx in a container). When the child
/// exits, vrrpd steps down and exits with an error, so that the container's restart policy
/// restarts both; on SIGTERM the child gets SIGTERM after the step-down and `grace` to finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperviseConfig {
    pub command: Vec<String>,
    pub grace: Duration,
}

/// Time a supervised child gets between SIGTERM and SIGKILL unless `supervise.grace` says.
pub const DEFAULT_SUPERVISE_GRACE: Duration = Duration::from_secs(5);

/// One notify hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub command: Vec<String>,
    pub timeout: Duration,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(path, format!("cannot read the config file: {e}"))
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text`; `file` is only used in error messages.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let src = Source { text, file };
        let tree = DeTable::parse(text).map_err(|e| src.toml_error(&e, None))?;
        let raw: RawFile = toml::from_str(text).map_err(|e| src.toml_error(&e, Some(&tree)))?;
        Validator {
            src,
            tree: tree.get_ref(),
        }
        .file(raw)
    }

    pub fn check(&self, name: &str) -> Option<&CheckConfig> {
        self.checks.iter().find(|c| c.name == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Raw, spanned schema: what serde reads before validation.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    interface: Spanned<String>,
    status: Option<RawStatus>,
    log: Option<RawLog>,
    vrrp: Spanned<Vec<Spanned<RawRouter>>>,
    #[serde(default)]
    check: BTreeMap<Spanned<String>, Spanned<RawCheck>>,
    notify: Option<OneOrMany<RawNotify>>,
    supervise: Option<Spanned<RawSupervise>>,
    #[serde(default)]
    sync_group: Vec<Spanned<RawSyncGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSyncGroup {
    name: Spanned<String>,
    vrids: Spanned<Vec<Spanned<i64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervise {
    command: Spanned<Vec<String>>,
    grace: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<Spanned<String>>,
    level: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouter {
    vrid: Spanned<i64>,
    version: Option<Spanned<i64>>,
    priority: Spanned<i64>,
    interval: Option<Spanned<Dur>>,
    vips: Spanned<Vec<Spanned<String>>>,
    preempt: Option<bool>,
    preempt_delay: Option<Spanned<Dur>>,
    accept: Option<bool>,
    checksum: Option<Spanned<String>>,
    auth_pass: Option<Spanned<String>>,
    garp: Option<Spanned<RawGarp>>,
    #[serde(default)]
    peers: Vec<Spanned<String>>,
    primary: Option<Spanned<String>>,
    #[serde(default)]
    track: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGarp {
    burst: Option<Spanned<i64>>,
    repeats: Option<Spanned<i64>>,
    repeat_delay: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    expect_status: Option<Spanned<i64>>,
    body: Option<Spanned<String>>,
    addr: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    pidfile: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    interface: Option<Spanned<String>>,
    interval: Option<Spanned<Dur>>,
    timeout: Option<Spanned<Dur>>,
    rise: Option<Spanned<i64>>,
    fall: Option<Spanned<i64>>,
    weight: Option<Spanned<i64>>,
    fault: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    command: Spanned<Vec<String>>,
    timeout: Option<Spanned<Dur>>,
}

/// `notify` as one inline table or an array of tables. `T` cannot be `Spanned`: the map of a
/// single table reaches it through serde's `MapAccessDeserializer`, which knows nothing of the
/// toml deserializer's span protocol.
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table or an array of tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A duration string: a decimal number and a unit, `ms`, `s` or `m` ("10ms", "1.5s").
/// Bare numbers are refused: a unitless `interval = 1` is ambiguous between keepalived's
/// seconds and VRRPv3's centiseconds.
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string with a unit, such as \"100ms\" or \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses "10ms", "1.5s", "2m" exactly (no floating point), to microsecond resolution.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {s:?}: expected a number and a unit (ms, s, m), such as \"100ms\" or \"1.5s\""
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let unit_us: u128 = match unit {
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        _ => return Err(bad()),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || (number.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() > 12 {
        return Err(bad());
    }
    let int: u128 = int.parse().map_err(|_| bad())?;
    let mut us = int * unit_us;
    let mut scale = unit_us;
    for digit in frac.bytes() {
        if !scale.is_multiple_of(10) {
            return Err(format!("invalid duration {s:?}: finer than a microsecond"));
        }
        scale /= 10;
        us += u128::from(digit - b'0') * scale;
    }
    let us = u64::try_from(us).map_err(|_| bad())?;
    Ok(Duration::from_micros(us))
}

/// Renders a duration the way the config file spells it.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us.is_multiple_of(1_000) && us < 1_000_000 {
        format!("{}ms", us / 1_000)
    } else {
        let ms = us as f64 / 1_000.0;
        if ms >= 1_000.0 {
            format!("{}s", ms / 1_000.0)
        } else {
            format!("{ms}ms")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Positions and key paths.

struct Source<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Source<'_> {
    fn line_col(&self, pos: usize) -> (usize, usize, String) {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[start..pos].chars().count() + 1;
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[start..end].trim_end_matches('\r').to_owned();
        (line, col, source_line)
    }

    fn location(&self, span: Range<usize>, key: String) -> Location {
        let (line, col, source_line) = self.line_col(span.start);
        Location {
            file: self.file.to_owned(),
            line,
            col,
            key,
            source_line,
        }
    }

    fn toml_error(&self, e: &toml::de::Error, tree: Option<&Spanned<DeTable>>) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        // toml reports errors about the document itself (a missing top-level key) at 0..0.
        let key = match tree {
            Some(t) if span != (0..0) => key_path_at(t.get_ref(), &span),
            _ => String::new(),
        };
        let (line, col, source_line) = self.line_col(span.start);
        ConfigError {
            file: self.file.to_owned(),
            position: Some((line, col)),
            key,
            message: e.message().trim_end().to_owned(),
            source_line: Some(source_line),
        }
    }
}

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The deepest key path whose key or value span contains `span`, e.g. `vrrp[1].vips[0]`.
fn key_path_at(root: &DeTable, span: &Range<usize>) -> String {
    let mut best = Vec::new();
    let mut path = Vec::new();
    walk_table(root, span, &mut path, &mut best);
    let mut out = String::new();
    for seg in best {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(&k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start
        && (inner.end <= outer.end || (inner.start == inner.end && inner.start < outer.end))
        && outer.start < outer.end
}

fn walk_table(t: &DeTable, span: &Range<usize>, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    for (k, v) in t.iter() {
        path.push(Seg::Key(k.get_ref().to_string()));
        if (covers(&k.span(), span) || covers(&v.span(), span)) && path.len() > best.len() {
            *best = path.clone();
        }
        walk_value(v.get_ref(), span, path, best);
        path.pop();
    }
}

fn walk_value(v: &DeValue, span: &Range<usize>, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    match v {
        DeValue::Table(t) => walk_table(t, span, path, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if covers(&item.span(), span) && path.len() > best.len() {
                    *best = path.clone();
                }
                walk_value(item.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// A key only some check kinds take: name, where it is set, the kinds that take it.
type KindKey<'k> = (&'static str, Option<Range<usize>>, &'k [&'k str]);

struct Validator<'a> {
    src: Source<'a>,
    tree: &'a DeTable<'a>,
}

impl Validator<'_> {
    fn at(&self, span: Range<usize>) -> Location {
        let key = key_path_at(self.tree, &span);
        self.src.location(span, key)
    }

    fn err<T>(&self, span: Range<usize>, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(self.at(span).error(message))
    }

    fn int<T: TryFrom<i64>>(
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

    fn file(&self, raw: RawFile) -> Result<Config, ConfigError> {
        let interface = raw.interface.get_ref().trim();
        if interface.is_empty() || interface.len() > 15 || interface.contains(['/', ' ', '\t']) {
            return self.err(
                raw.interface.span(),
                format!(
                    "{:?} is not a Linux interface name (1..=15 bytes, no '/' or spaces)",
                    raw.interface.get_ref()
                ),
            );
        }

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

        let mut checks = Vec::new();
        for (name, check) in &raw.check {
            checks.push(self.check(name, check)?);
        }

        if raw.vrrp.get_ref().is_empty() {
            return self.err(
                raw.vrrp.span(),
                "at least one [[vrrp]] virtual router is required",
            );
        }
        let mut routers: Vec<RouterConfig> = Vec::new();
        for r in raw.vrrp.get_ref() {
            let router = self.router(r, &checks)?;
            if routers.iter().any(|o| o.vrid() == router.vrid()) {
                return self.err(
                    r.get_ref().vrid.span(),
                    format!("VRID {} is configured twice", router.vrid()),
                );
            }
            routers.push(router);
        }

        let notify = match raw.notify {
            None => Vec::new(),
            Some(n) => match n {
                OneOrMany::One(one) => vec![self.notify(&one)?],
                OneOrMany::Many(many) => many
                    .iter()
                    .map(|n| self.notify(n))
                    .collect::<Result<_, _>>()?,
            },
        };

        let supervise = match &raw.supervise {
            None => None,
            Some(sv) => Some(self.supervise(sv.get_ref())?),
        };

        let sync_groups = self.sync_groups(&raw.sync_group, &mut routers)?;

        Ok(Config {
            file: self.src.file.to_owned(),
            interface: interface.to_owned(),
            status_listen,
            log,
            routers,
            checks,
            notify,
            supervise,
            sync_groups,
        })
    }

    fn router(
        &self,
        raw: &Spanned<RawRouter>,
        checks: &[CheckConfig],
    ) -> Result<RouterConfig, ConfigError> {
        let table_span = raw.span();
        let raw = raw.get_ref();
        let vrid: u8 = self.int(&raw.vrid, 1..256, "vrid")?;
        let version = match raw.version.as_ref() {
            None => Version::V3,
            Some(v) => match *v.get_ref() {
                3 => Version::V3,
                2 => Version::V2,
                n => return self.err(v.span(), format!("version {n} does not exist: use 3 or 2")),
            },
        };
        let priority: u8 = self.int(
            &raw.priority,
            1..256,
            "priority (0 is reserved for shutdown)",
        )?;

        let adver_interval = match &raw.interval {
            None => 100,
            Some(i) => self.interval(i, version)?,
        };

        let mut vips: Vec<IpAddr> = Vec::new();
        let mut prefix: Option<(u8, Range<usize>)> = None;
        if raw.vips.get_ref().is_empty() {
            return self.err(raw.vips.span(), "at least one virtual address is required");
        }
        for v in raw.vips.get_ref() {
            let (addr, len) = self.cidr(v)?;
            if vips.contains(&addr) {
                return self.err(v.span(), format!("{addr} is listed twice"));
            }
            if let Some(first) = vips.first()
                && first.is_ipv4() != addr.is_ipv4()
            {
                return self.err(
                    v.span(),
                    format!(
                        "{addr} is not of the family of {first}: an IPv4 and an IPv6 virtual \
                         router are separate (RFC 9568 §4); put them in two [[vrrp]] tables \
                         with different VRIDs"
                    ),
                );
            }
            if let Some((first, _)) = &prefix {
                if *first != len {
                    return self.err(
                        v.span(),
                        format!(
                            "prefix length /{len} differs from /{first} of the first VIP: \
                             all VIPs of one virtual router are installed with one prefix length"
                        ),
                    );
                }
            } else {
                prefix = Some((len, v.span()));
            }
            vips.push(addr);
        }
        if vips.len() > MAX_ADDRS {
            return self.err(
                raw.vips.span(),
                format!(
                    "{} VIPs, at most {MAX_ADDRS} per virtual router",
                    vips.len()
                ),
            );
        }
        let v6 = vips[0].is_ipv6();
        if v6 {
            if let IpAddr::V6(first) = vips[0]
                && !first.is_unicast_link_local()
            {
                return self.err(
                    raw.vips.get_ref()[0].span(),
                    format!(
                        "the first address of an IPv6 virtual router is its link-local one \
                         (RFC 9568 §5.2.9), e.g. \"fe80::{vrid:x}/64\" before {first}"
                    ),
                );
            }
            if version == Version::V2 {
                let span = raw.version.as_ref().map_or(raw.vips.span(), |v| v.span());
                return self.err(
                    span,
                    "VRRPv2 has no IPv6: IPv6 virtual routers run version 3",
                );
            }
        }

        let preempt_delay = raw
            .preempt_delay
            .as_ref()
            .map_or(Duration::ZERO, |d| d.get_ref().0);

        let checksum = match &raw.checksum {
            None => ChecksumMode::PseudoHeader,
            Some(_) if version == Version::V2 => {
                return self.err(
                    raw.checksum.as_ref().unwrap().span(),
                    "VRRPv2 always checksums the message alone: remove `checksum` or use version 3",
                );
            }
            Some(c) => match c.get_ref().as_str() {
                "pseudo-header" => ChecksumMode::PseudoHeader,
                "message-only" if v6 => {
                    return self.err(
                        c.span(),
                        "IPv6 adverts always include the pseudo-header in their checksum \
                         (RFC 9568 §5.2.8): remove `checksum`",
                    );
                }
                "message-only" => ChecksumMode::MessageOnly,
                other => {
                    return self.err(
                        c.span(),
                        format!(
                            "unknown checksum mode {other:?}: expected \"pseudo-header\" or \"message-only\""
                        ),
                    );
                }
            },
        };

        let auth = match &raw.auth_pass {
            None => Auth::None,
            Some(p) if version == Version::V3 => {
                return self.err(
                    p.span(),
                    "authentication exists only in VRRPv2 (RFC 9568 removed it): remove `auth_pass` or set version = 2",
                );
            }
            Some(p) => {
                let bytes = p.get_ref().as_bytes();
                if bytes.is_empty() || bytes.len() > 8 {
                    return self.err(
                        p.span(),
                        format!(
                            "the VRRPv2 password is 1..=8 bytes, this one has {}",
                            bytes.len()
                        ),
                    );
                }
                let mut pw = [0u8; 8];
                pw[..bytes.len()].copy_from_slice(bytes);
                Auth::Simple(pw)
            }
        };

        let mut garp = vrrp_core::Garp::default();
        if let Some(g) = &raw.garp {
            let g = g.get_ref();
            if let Some(b) = &g.burst {
                garp.burst = self.int(b, 1..256, "garp.burst")?;
            }
            if let Some(r) = &g.repeats {
                garp.repeats = self.int(r, 0..256, "garp.repeats")?;
            }
            if let Some(d) = &g.repeat_delay {
                garp.repeat_delay = embassy(d.get_ref().0);
            }
        }

        let mut peers: Vec<IpAddr> = Vec::new();
        for p in &raw.peers {
            let addr = self.ip(p)?;
            if addr.is_ipv6() != v6 {
                return self.err(p.span(), format!("{addr} is not of the VIPs' family"));
            }
            if let IpAddr::V6(a) = addr
                && !a.is_unicast_link_local()
            {
                return self.err(
                    p.span(),
                    format!(
                        "{addr}: list the peer's link-local address (fe80::/10): IPv6 adverts \
                         come from it (RFC 9568 §5.1.2.1) and `peers` also lists the sources \
                         accepted"
                    ),
                );
            }
            if peers.contains(&addr) {
                return self.err(p.span(), format!("{addr} is listed twice"));
            }
            peers.push(addr);
        }
        if peers.len() > MAX_ADDRS {
            return self.err(
                raw.peers[MAX_ADDRS].span(),
                format!(
                    "{} peers, at most {MAX_ADDRS} per virtual router",
                    peers.len()
                ),
            );
        }

        let primary = match &raw.primary {
            None => None,
            Some(p) => {
                let addr = self.ip(p)?;
                match addr {
                    IpAddr::V4(_) if v6 => {
                        return self.err(p.span(), format!("{addr} is not of the VIPs' family"));
                    }
                    IpAddr::V6(_) if !v6 => {
                        return self.err(p.span(), format!("{addr} is not of the VIPs' family"));
                    }
                    IpAddr::V6(a) if !a.is_unicast_link_local() => {
                        return self.err(
                            p.span(),
                            format!(
                                "{addr}: an IPv6 virtual router's primary address is link-local \
                                 (fe80::/10; RFC 9568 §5.1.2.1)"
                            ),
                        );
                    }
                    _ => Some(addr),
                }
            }
        };
        if priority == 255 && primary.is_none() {
            return self.err(
                raw.priority.span(),
                "priority 255 makes this router the address owner: set `primary` to the VIP this host owns",
            );
        }

        let mut track = Vec::new();
        for t in &raw.track {
            let name = t.get_ref();
            if !checks.iter().any(|c| &c.name == name) {
                let known: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
                return self.err(
                    t.span(),
                    format!("no [check.{name}] is defined (defined checks: {known:?})"),
                );
            }
            if track.contains(name) {
                return self.err(t.span(), format!("check {name:?} is tracked twice"));
            }
            track.push(name.clone());
        }

        macro_rules! build {
            ($variant:ident, $addr:ident, $placeholder:expr) => {{
                let unwrap = |a: &IpAddr| match a {
                    IpAddr::$variant(a) => Some(*a),
                    _ => None,
                };
                let mut c = vrrp_core::Config::new(
                    vrid,
                    priority,
                    primary.as_ref().and_then(unwrap).unwrap_or($placeholder),
                );
                c.version = version;
                c.adver_interval = adver_interval;
                c.preempt = raw.preempt.unwrap_or(true);
                c.preempt_delay = embassy(preempt_delay);
                c.accept_mode = raw.accept.unwrap_or(true);
                c.checksum = checksum;
                c.vips = vips.iter().filter_map(unwrap).collect();
                c.vip_prefix_len = prefix.as_ref().map_or(DEFAULT_PREFIX_LEN, |(l, _)| *l);
                c.auth = auth;
                c.garp = garp;
                c.peers = peers.iter().filter_map(unwrap).collect();
                CoreConfig::$variant(c)
            }};
        }
        // The placeholders stand in for the interface's address until run time (to_core); the
        // IPv6 one is link-local so that load-time validation judges the rest.
        let core = if v6 {
            build!(V6, Ipv6Addr, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0))
        } else {
            build!(V4, Ipv4Addr, Ipv4Addr::UNSPECIFIED)
        };

        let at = RouterLocations {
            table: self.at(table_span.clone()),
            priority: self.at(raw.priority.span()),
            primary: raw.primary.as_ref().map(|p| self.at(p.span())),
        };
        let router = RouterConfig {
            core,
            primary,
            track,
            at,
        };
        // The core has the last word on what the protocol can run; a mismatch between its rules
        // and ours must still surface here, at load time, not when the daemon starts the router.
        if let Err(e) = router.core.validate() {
            let span = match e {
                vrrp_core::ConfigError::Vrid => raw.vrid.span(),
                vrrp_core::ConfigError::Priority => raw.priority.span(),
                vrrp_core::ConfigError::Interval | vrrp_core::ConfigError::IntervalV2 => raw
                    .interval
                    .as_ref()
                    .map_or(table_span.clone(), |i| i.span()),
                vrrp_core::ConfigError::AuthV3 => raw
                    .auth_pass
                    .as_ref()
                    .map_or(table_span.clone(), |a| a.span()),
                vrrp_core::ConfigError::NoVips
                | vrrp_core::ConfigError::TooManyVips
                | vrrp_core::ConfigError::PrefixLen => raw.vips.span(),
                vrrp_core::ConfigError::GarpBurst => {
                    raw.garp.as_ref().map_or(table_span.clone(), |g| g.span())
                }
                vrrp_core::ConfigError::OwnerWithoutAddress
                | vrrp_core::ConfigError::PrimaryNotLinkLocal => raw
                    .primary
                    .as_ref()
                    .map_or(raw.priority.span(), |p| p.span()),
                vrrp_core::ConfigError::V2OverIpv6 => raw
                    .version
                    .as_ref()
                    .map_or(table_span.clone(), |v| v.span()),
                vrrp_core::ConfigError::FirstVipNotLinkLocal => raw.vips.span(),
            };
            return self.err(span, e.to_string());
        }
        Ok(router)
    }

    fn interval(&self, i: &Spanned<Dur>, version: Version) -> Result<u16, ConfigError> {
        let us = i.get_ref().0.as_micros();
        let shown = format_duration(i.get_ref().0);
        match version {
            Version::V2 => {
                if !us.is_multiple_of(1_000_000) || !(1..=255).contains(&(us / 1_000_000)) {
                    return self.err(
                        i.span(),
                        format!("{shown}: a VRRPv2 advert interval is whole seconds, 1s..=255s"),
                    );
                }
                Ok((us / 10_000) as u16)
            }
            _ => {
                if !us.is_multiple_of(10_000) {
                    return self.err(
                        i.span(),
                        format!(
                            "{shown}: a VRRPv3 advert interval is a multiple of 10ms (centiseconds on the wire)"
                        ),
                    );
                }
                let centis = us / 10_000;
                if !(1..=u128::from(vrrp_core::wire::vrrp::MAX_ADVER_INT_V3)).contains(&centis) {
                    return self.err(
                        i.span(),
                        format!("{shown}: a VRRPv3 advert interval is 10ms..=40.95s"),
                    );
                }
                Ok(centis as u16)
            }
        }
    }

    fn ip(&self, s: &Spanned<String>) -> Result<IpAddr, ConfigError> {
        let addr: IpAddr = s.get_ref().parse().or_else(|_| {
            self.err(
                s.span(),
                format!("{:?} is not an IPv4 or IPv6 address", s.get_ref()),
            )
        })?;
        let unusable = match addr {
            IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
        };
        if unusable {
            return self.err(s.span(), format!("{addr} cannot be a router address"));
        }
        Ok(addr)
    }

    /// `ADDR[/LEN]`; the default length is /24 for IPv4 and /64 for IPv6.
    fn cidr(&self, s: &Spanned<String>) -> Result<(IpAddr, u8), ConfigError> {
        let (addr, len) = match s.get_ref().split_once('/') {
            None => (s.get_ref().as_str(), None),
            Some((a, l)) => (a, Some(l)),
        };
        let ip = self.ip(&Spanned::new(s.span(), addr.to_owned()))?;
        let (default, max) = match ip {
            IpAddr::V4(_) => (DEFAULT_PREFIX_LEN, 32),
            IpAddr::V6(_) => (DEFAULT_PREFIX_LEN_V6, 128),
        };
        let len = match len {
            None => default,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return self.err(
                        s.span(),
                        format!("{:?}: the prefix length must be 1..={max}", s.get_ref()),
                    );
                }
            },
        };
        Ok((ip, len))
    }

    fn check(
        &self,
        name: &Spanned<String>,
        raw: &Spanned<RawCheck>,
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

        let kind_str = raw.kind.get_ref().as_str();
        // Keys that only some kinds use: a key the kind ignores would be a silent no-op.
        let specific: [KindKey; 8] = [
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
        ];
        if !["http", "tcp", "process", "command", "interface"].contains(&kind_str) {
            return self.err(
                raw.kind.span(),
                format!(
                    "unknown check kind {kind_str:?}: expected \"http\", \"tcp\", \"process\", \"command\" or \"interface\""
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
                    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                        return self.err(i.span(), format!("{name:?} is not an interface name"));
                    }
                    CheckKind::Interface { name: name.clone() }
                }
            },
            _ => match &raw.command {
                None => missing("command")?,
                Some(c) => {
                    if c.get_ref().is_empty() || c.get_ref()[0].is_empty() {
                        return self
                            .err(c.span(), "the command is an argv list and needs a program");
                    }
                    CheckKind::Command {
                        argv: c.get_ref().clone(),
                    }
                }
            },
        };

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
        let rise = match &raw.rise {
            None => 1,
            Some(r) => self.int(r, 1..1001, "rise")?,
        };
        let fall = match &raw.fall {
            None => 1,
            Some(f) => self.int(f, 1..1001, "fall")?,
        };
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

    fn http(
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

    fn sync_groups(
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

    fn supervise(&self, raw: &RawSupervise) -> Result<SuperviseConfig, ConfigError> {
        if raw.command.get_ref().is_empty() || raw.command.get_ref()[0].is_empty() {
            return self.err(
                raw.command.span(),
                "the command is an argv list and needs a program",
            );
        }
        let grace = raw
            .grace
            .as_ref()
            .map_or(DEFAULT_SUPERVISE_GRACE, |t| t.get_ref().0);
        Ok(SuperviseConfig {
            command: raw.command.get_ref().clone(),
            grace,
        })
    }

    fn notify(&self, raw: &RawNotify) -> Result<NotifyConfig, ConfigError> {
        if raw.command.get_ref().is_empty() || raw.command.get_ref()[0].is_empty() {
            return self.err(
                raw.command.span(),
                "the command is an argv list and needs a program",
            );
        }
        let timeout = raw
            .timeout
            .as_ref()
            .map_or(DEFAULT_HOOK_TIMEOUT, |t| t.get_ref().0);
        if timeout.is_zero() {
            return self.err(
                raw.timeout.as_ref().unwrap().span(),
                "a hook timeout must be more than 0",
            );
        }
        Ok(NotifyConfig {
            command: raw.command.get_ref().clone(),
            timeout,
        })
    }
}

fn embassy(d: Duration) -> vrrp_core::Duration {
    vrrp_core::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    fn err(text: &str) -> ConfigError {
        match parse(text) {
            Ok(_) => panic!("accepted a bad config:\n{text}"),
            Err(e) => e,
        }
    }

    const HEAD: &str = "interface = \"eth0\"\n";
    const ROUTER: &str = "[[vrrp]]\nvrid = 51\npriority = 100\nvips = [\"192.0.2.100\"]\n";

    /// Asserts that `text` is refused at `line` (1-based) with the key path `key` and a
    /// message containing `why`.
    #[track_caller]
    fn refused(text: &str, line: usize, key: &str, why: &str) {
        let e = err(text);
        let shown = e.to_string();
        assert_eq!(
            e.position.map(|p| p.0),
            Some(line),
            "wrong line: {shown}\n{text}"
        );
        assert_eq!(e.key, key, "wrong key: {shown}\n{text}");
        assert!(shown.contains(why), "message lacks {why:?}: {shown}");
        assert!(shown.starts_with(&format!("test.toml:{line}:")), "{shown}");
    }

    /// `ROUTER` plus `extra` lines inside the same [[vrrp]] table; `extra` starts at line 6.
    fn router_with(extra: &str) -> String {
        format!("{HEAD}{ROUTER}{extra}")
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = parse(&router_with("")).unwrap();
        assert_eq!(c.interface, "eth0");
        assert_eq!(c.status_listen, DEFAULT_STATUS_LISTEN.parse().unwrap());
        assert_eq!(c.log.format, LogFormat::Human);
        let r = &c.routers[0];
        assert_eq!(r.core.version(), Version::V3);
        assert_eq!(r.core.adver_interval(), 100);
        assert!(r.core.preempt());
        assert!(
            r.core.accept_mode(),
            "accept defaults to true so that nginx serves the VIP"
        );
        assert_eq!(r.core.checksum(), ChecksumMode::PseudoHeader);
        assert_eq!(r.core.vip_prefix_len(), 24);
        assert_eq!(r.core.garp(), vrrp_core::Garp::default());
        assert_eq!(r.primary, None);
        assert!(c.checks.is_empty() && c.notify.is_empty());
    }

    #[test]
    fn example_config_is_valid() {
        let text = include_str!("../examples/vrrpd.toml");
        let c = Config::parse(text, Path::new("examples/vrrpd.toml")).unwrap();
        let nginx = c.check("nginx").expect("the example tracks nginx");
        assert!(matches!(nginx.kind, CheckKind::Http { .. }));
        assert_eq!(nginx.interval, Duration::from_millis(100));
        assert!(c.routers[0].track.contains(&"nginx".to_owned()));
        let backup = include_str!("../examples/backup.toml");
        let b = Config::parse(backup, Path::new("examples/backup.toml")).unwrap();
        assert!(b.routers[0].core.priority() < c.routers[0].core.priority());
        assert_eq!(b.routers[0].core.vips(), c.routers[0].core.vips());
    }

    #[test]
    fn full_router_table() {
        let c = parse(&format!(
            "{HEAD}[status]\nlisten = \"0.0.0.0:9200\"\n[log]\nformat = \"json\"\n\
             [[vrrp]]\nvrid = 7\nversion = 2\npriority = 254\ninterval = \"3s\"\n\
             vips = [\"198.51.100.1/28\", \"198.51.100.2/28\"]\npreempt = false\n\
             preempt_delay = \"1.5s\"\naccept = false\nauth_pass = \"12345678\"\n\
             garp = {{ burst = 3, repeats = 0, repeat_delay = \"500ms\" }}\n\
             peers = [\"198.51.100.9\"]\nprimary = \"198.51.100.3\"\ntrack = [\"up\"]\n\
             [check.up]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\ninterval = \"200ms\"\n\
             timeout = \"150ms\"\nrise = 3\nfall = 2\nweight = -60\n\
             [[notify]]\ncommand = [\"/bin/true\", \"x\"]\ntimeout = \"1s\"\n"
        ))
        .unwrap();
        assert_eq!(c.status_listen, "0.0.0.0:9200".parse().unwrap());
        assert_eq!(c.log.format, LogFormat::Json);
        let r = c.routers.iter().find(|r| r.vrid() == 7).unwrap();
        assert_eq!(r.core.version(), Version::V2);
        assert_eq!(r.core.adver_interval(), 300);
        assert_eq!(r.core.vip_prefix_len(), 28);
        assert_eq!(r.core.vips().len(), 2);
        assert!(!r.core.preempt() && !r.core.accept_mode());
        assert_eq!(
            r.core.preempt_delay(),
            vrrp_core::Duration::from_millis(1500)
        );
        assert_eq!(r.core.auth(), Auth::Simple(*b"12345678"));
        assert_eq!(r.core.garp().burst, 3);
        assert_eq!(r.core.garp().repeats, 0);
        assert_eq!(
            r.core.peers().as_slice(),
            &["198.51.100.9".parse::<Ipv4Addr>().unwrap()]
        );
        assert_eq!(r.primary, Some("198.51.100.3".parse().unwrap()));
        let check = c.check("up").unwrap();
        assert_eq!(check.effect, Effect::Weight(-60));
        assert_eq!((check.rise, check.fall), (3, 2));
        assert_eq!(check.timeout, Duration::from_millis(150));
        assert_eq!(c.notify[0].command, ["/bin/true", "x"]);
    }

    #[test]
    fn notify_as_one_inline_table() {
        let c = parse(&format!(
            "{HEAD}notify = {{ command = [\"/bin/echo\"] }}\n{ROUTER}"
        ))
        .unwrap();
        assert_eq!(c.notify.len(), 1);
        assert_eq!(c.notify[0].timeout, DEFAULT_HOOK_TIMEOUT);
    }

    #[test]
    fn intervals() {
        let v3 = |i: &str| parse(&router_with(&format!("interval = \"{i}\"\n")));
        assert_eq!(v3("10ms").unwrap().routers[0].core.adver_interval(), 1);
        assert_eq!(v3("1.5s").unwrap().routers[0].core.adver_interval(), 150);
        assert_eq!(v3("40.95s").unwrap().routers[0].core.adver_interval(), 4095);
        for bad in ["15ms", "0ms", "40.96s", "5ms", "1m"] {
            refused(
                &router_with(&format!("interval = \"{bad}\"\n")),
                6,
                "vrrp[0].interval",
                "VRRPv3 advert interval",
            );
        }
        let v2 = |i: &str| router_with(&format!("version = 2\ninterval = \"{i}\"\n"));
        assert_eq!(
            parse(&v2("255s")).unwrap().routers[0].core.adver_interval(),
            25500
        );
        for bad in ["1.5s", "100ms", "256s", "0s"] {
            refused(
                &v2(bad),
                7,
                "vrrp[0].interval",
                "VRRPv2 advert interval is whole seconds",
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "", "10", "ms", "1.s", ".5s", "1,5s", "10 ms", "1h", "-1s", "0.0001ms", "1.2.3s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        for d in ["10ms", "1s", "1.5s", "250us"] {
            if let Ok(parsed) = parse_duration(d) {
                assert_eq!(parse_duration(&format_duration(parsed)), Ok(parsed));
            }
        }
    }

    #[test]
    fn bad_top_level() {
        refused(ROUTER, 1, "", "missing field `interface`");
        refused(
            &format!("interface = \"\"\n{ROUTER}"),
            1,
            "interface",
            "not a Linux interface name",
        );
        refused(
            &format!("interface = \"a-very-long-name0\"\n{ROUTER}"),
            1,
            "interface",
            "1..=15 bytes",
        );
        refused(
            &format!("{HEAD}colour = \"blue\"\n{ROUTER}"),
            2,
            "colour",
            "unknown field `colour`",
        );
        refused(
            &format!("{HEAD}[status]\nlisten = \"localhost\"\n{ROUTER}"),
            3,
            "status.listen",
            "not an IP:PORT",
        );
        refused(
            &format!("{HEAD}[status]\nlsten = \"127.0.0.1:1\"\n{ROUTER}"),
            3,
            "status.lsten",
            "unknown field",
        );
        refused(
            &format!("{HEAD}[log]\nformat = \"xml\"\n{ROUTER}"),
            3,
            "log.format",
            "unknown log format \"xml\"",
        );
        refused(
            &format!("{HEAD}[log]\nlevel = \"vrrpd=[\"\n{ROUTER}"),
            3,
            "log.level",
            "invalid log level",
        );
        refused(HEAD, 1, "", "missing field `vrrp`");
        refused(
            &format!("{HEAD}vrrp = []\n"),
            2,
            "vrrp",
            "at least one [[vrrp]]",
        );
        refused(
            &format!("{HEAD}[[vrrp]]\nvrid = 1\npriority = 100\nvips = [\"192.0.2.1\"\n"),
            5,
            "",
            "unclosed array",
        );
    }

    #[test]
    fn bad_router_values() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "vrid = 0",
                "vrrp[0].vrid",
                "0 is out of range: vrid must be 1..=255",
            ),
            ("vrid = 256", "vrrp[0].vrid", "vrid must be 1..=255"),
            ("vrid = \"1\"", "vrrp[0].vrid", "invalid type"),
            ("priority = 0", "vrrp[0].priority", "0 is reserved"),
            ("priority = 300", "vrrp[0].priority", "out of range"),
            ("priority = 255", "vrrp[0].priority", "set `primary`"),
            ("version = 4", "vrrp[0].version", "version 4 does not exist"),
            (
                "interval = 1",
                "vrrp[0].interval",
                "expected a duration string",
            ),
            ("interval = \"1 s\"", "vrrp[0].interval", "invalid duration"),
            ("vips = []", "vrrp[0].vips", "at least one virtual address"),
            (
                "vips = [\"192.0.2.300\"]",
                "vrrp[0].vips[0]",
                "not an IPv4 or IPv6 address",
            ),
            (
                "vips = [\"192.0.2.1/33\"]",
                "vrrp[0].vips[0]",
                "prefix length must be 1..=32",
            ),
            (
                "vips = [\"192.0.2.1/x\"]",
                "vrrp[0].vips[0]",
                "prefix length",
            ),
            (
                "vips = [\"2001:db8::1\"]",
                "vrrp[0].vips[0]",
                "is its link-local one",
            ),
            (
                "vips = [\"224.0.0.18\"]",
                "vrrp[0].vips[0]",
                "cannot be a router address",
            ),
            (
                "vips = [\"192.0.2.1\", \"192.0.2.1\"]",
                "vrrp[0].vips[1]",
                "listed twice",
            ),
            (
                "vips = [\"192.0.2.1/24\", \"192.0.2.2/25\"]",
                "vrrp[0].vips[1]",
                "differs from /24",
            ),
            ("vips = \"192.0.2.1\"", "vrrp[0].vips", "invalid type"),
            ("preempt = \"yes\"", "vrrp[0].preempt", "invalid type"),
            (
                "preempt_delay = \"soon\"",
                "vrrp[0].preempt_delay",
                "invalid duration",
            ),
            (
                "checksum = \"none\"",
                "vrrp[0].checksum",
                "unknown checksum mode \"none\"",
            ),
            ("auth_pass = \"x\"", "vrrp[0].auth_pass", "only in VRRPv2"),
            (
                "garp = { burst = 0 }",
                "vrrp[0].garp.burst",
                "garp.burst must be 1..=255",
            ),
            (
                "garp = { repeats = -1 }",
                "vrrp[0].garp.repeats",
                "out of range",
            ),
            (
                "garp = { repeat_delay = 2 }",
                "vrrp[0].garp.repeat_delay",
                "duration string",
            ),
            (
                "garp = { bursts = 2 }",
                "vrrp[0].garp.bursts",
                "unknown field `bursts`",
            ),
            (
                "peers = [\"192.0.2.9\", \"nope\"]",
                "vrrp[0].peers[1]",
                "not an IPv4 or IPv6 address",
            ),
            (
                "peers = [\"192.0.2.9\", \"192.0.2.9\"]",
                "vrrp[0].peers[1]",
                "listed twice",
            ),
            (
                "primary = \"0.0.0.0\"",
                "vrrp[0].primary",
                "cannot be a router address",
            ),
            (
                "track = [\"nginx\"]",
                "vrrp[0].track[0]",
                "no [check.nginx] is defined",
            ),
            (
                "intervl = \"1s\"",
                "vrrp[0].intervl",
                "unknown field `intervl`",
            ),
        ];
        for (line, key, why) in cases {
            // Later keys override nothing in TOML (duplicates are errors), so the bad key goes in
            // a router that lacks it.
            let base = ROUTER
                .lines()
                .filter(|l| l.split(' ').next() != line.split(' ').next())
                .collect::<Vec<_>>()
                .join("\n");
            let text = format!("{HEAD}{base}\n{line}\n");
            let line_no = text.lines().position(|l| l == *line).unwrap() + 1;
            refused(&text, line_no, key, why);
        }
    }

    #[test]
    fn bad_router_combinations() {
        refused(
            &router_with("version = 2\nchecksum = \"message-only\"\n"),
            7,
            "vrrp[0].checksum",
            "VRRPv2 always checksums the message alone",
        );
        refused(
            &router_with("version = 2\nauth_pass = \"123456789\"\n"),
            7,
            "vrrp[0].auth_pass",
            "1..=8 bytes",
        );
        refused(
            &router_with("version = 2\nauth_pass = \"\"\n"),
            7,
            "vrrp[0].auth_pass",
            "1..=8 bytes",
        );
        refused(
            &router_with("priority = 255\n").replace("priority = 100\n", ""),
            5,
            "vrrp[0].priority",
            "address owner",
        );
        refused(
            &format!("{HEAD}{ROUTER}[[vrrp]]\nvrid = 51\npriority = 90\nvips = [\"192.0.2.5\"]\n"),
            7,
            "vrrp[1].vrid",
            "VRID 51 is configured twice",
        );
        refused(
            &format!("{HEAD}{ROUTER}[[vrrp]]\nvrid = 52\nvips = [\"192.0.2.5\"]\n"),
            6,
            "vrrp[1]",
            "missing field `priority`",
        );
        let nine: Vec<String> = (1..=9).map(|i| format!("\"192.0.2.{i}\"")).collect();
        refused(
            &router_with(&format!("peers = [{}]\n", nine.join(", "))),
            6,
            "vrrp[0].peers[8]",
            "at most 8",
        );
        let text = format!(
            "{HEAD}[[vrrp]]\nvrid = 1\npriority = 100\nvips = [{}]\n",
            nine.join(", ")
        );
        refused(&text, 5, "vrrp[0].vips", "9 VIPs, at most 8");
        refused(
            &router_with(
                "track = [\"a\", \"a\"]\n[check.a]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n",
            ),
            6,
            "vrrp[0].track[1]",
            "tracked twice",
        );
    }

    #[test]
    fn owner_needs_its_address() {
        refused(
            &router_with("primary = \"192.0.2.7\"\n").replace("priority = 100", "priority = 255"),
            6,
            "vrrp[0].primary",
            "address owner",
        );
        let c = parse(
            &router_with("primary = \"192.0.2.100\"\n").replace("priority = 100", "priority = 255"),
        )
        .unwrap();
        assert_eq!(
            c.routers[0]
                .to_core(Ipv4Addr::new(192, 0, 2, 1).into())
                .unwrap()
                .primary(),
            Ipv4Addr::new(192, 0, 2, 100)
        );
    }

    #[test]
    fn reload_comparison_ignores_layout_and_tracking() {
        let a = parse(&router_with("")).unwrap();
        let moved = format!(
            "# a comment\n{HEAD}\n{ROUTER}track = [\"t\"]\n[check.t]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n"
        );
        let b = parse(&moved).unwrap();
        assert!(a.routers[0].same_protocol(&b.routers[0]));
        let c = parse(&router_with("preempt = false\n")).unwrap();
        assert!(!a.routers[0].same_protocol(&c.routers[0]));
        let d = parse(&router_with("primary = \"192.0.2.9\"\n")).unwrap();
        assert!(!a.routers[0].same_protocol(&d.routers[0]));
    }

    #[test]
    fn to_core_uses_interface_address_when_primary_is_absent() {
        let c = parse(&router_with("")).unwrap();
        let core = c.routers[0]
            .to_core(Ipv4Addr::new(192, 0, 2, 11).into())
            .unwrap();
        assert_eq!(core.primary(), Ipv4Addr::new(192, 0, 2, 11));
        assert!(core.timers().is_ok());
    }

    const V6_ROUTER: &str =
        "[[vrrp]]\nvrid = 52\npriority = 100\nvips = [\"fe80::52/64\", \"2001:db8::100/64\"]\n";

    #[test]
    fn ipv6_router_takes_the_link_local_primary_at_run_time() {
        let c = parse(&format!("{HEAD}{V6_ROUTER}")).unwrap();
        let r = &c.routers[0];
        assert!(r.core.is_v6());
        assert_eq!(r.core.vip_prefix_len(), 64);
        let vips: Vec<String> = r.core.vips().iter().map(|v| v.to_string()).collect();
        assert_eq!(vips, ["fe80::52", "2001:db8::100"]);
        let ll: IpAddr = "fe80::11".parse().unwrap();
        let core = r.to_core(ll).unwrap();
        assert_eq!(core.primary(), ll);
        // An IPv4 interface address cannot be an IPv6 router's source.
        assert!(r.to_core(Ipv4Addr::new(192, 0, 2, 11).into()).is_err());
        // Default prefix /64, and a configured link-local primary.
        let c = parse(&format!(
            "{HEAD}[[vrrp]]\nvrid = 52\npriority = 255\nvips = [\"fe80::52\", \"2001:db8::100\"]\nprimary = \"fe80::52\"\n"
        ))
        .unwrap();
        assert_eq!(c.routers[0].core.vip_prefix_len(), 64);
        assert_eq!(c.routers[0].primary, Some("fe80::52".parse().unwrap()));
    }

    #[test]
    fn ipv6_router_takes_link_local_peers() {
        let c = parse(&format!(
            "{HEAD}{V6_ROUTER}peers = [\"fe80::12\", \"fe80::13\"]\n"
        ))
        .unwrap();
        let peers: Vec<String> = c.routers[0]
            .core
            .peers()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(peers, ["fe80::12", "fe80::13"]);
    }

    #[test]
    fn ipv6_mistakes_are_refused_with_their_line() {
        let v6 = |vips: &str, extra: &str| {
            format!("{HEAD}[[vrrp]]\nvrid = 52\npriority = 100\nvips = {vips}\n{extra}")
        };
        refused(
            &v6("[\"2001:db8::100/64\"]", ""),
            5,
            "vrrp[0].vips[0]",
            "link-local",
        );
        refused(
            &v6("[\"fe80::52/64\", \"192.0.2.100\"]", ""),
            5,
            "vrrp[0].vips[1]",
            "not of the family",
        );
        refused(
            &v6("[\"fe80::52/64\"]", "version = 2\n"),
            6,
            "vrrp[0].version",
            "VRRPv2 has no IPv6",
        );
        refused(
            &v6("[\"fe80::52/64\"]", "primary = \"2001:db8::11\"\n"),
            6,
            "vrrp[0].primary",
            "link-local",
        );
        refused(
            &v6("[\"fe80::52/64\"]", "primary = \"192.0.2.11\"\n"),
            6,
            "vrrp[0].primary",
            "not of the VIPs' family",
        );
        refused(
            &v6("[\"fe80::52/64\"]", "peers = [\"2001:db8::12\"]\n"),
            6,
            "vrrp[0].peers[0]",
            "link-local",
        );
        refused(
            &v6(
                "[\"fe80::52/64\"]",
                "peers = [\"fe80::12\", \"192.0.2.12\"]\n",
            ),
            6,
            "vrrp[0].peers[1]",
            "not of the VIPs' family",
        );
        refused(
            &v6("[\"fe80::52/64\"]", "checksum = \"message-only\"\n"),
            6,
            "vrrp[0].checksum",
            "pseudo-header",
        );
        refused(
            &v6("[\"fe80::52/129\"]", ""),
            5,
            "vrrp[0].vips[0]",
            "1..=128",
        );
        refused(
            &v6("[\"ff02::12\"]", ""),
            5,
            "vrrp[0].vips[0]",
            "cannot be a router address",
        );
    }

    fn check(body: &str) -> String {
        format!("{HEAD}{ROUTER}track = [\"c\"]\n[check.c]\n{body}\n")
    }

    #[test]
    fn checks_of_each_kind() {
        let c = parse(&check("kind = \"http\"\nurl = \"http://127.0.0.1:8080/health?x=1\"\nbody = \"ok\"\nfault = true")).unwrap();
        let CheckKind::Http {
            connect,
            authority,
            path,
            expect_status,
            body,
            ..
        } = &c.checks[0].kind
        else {
            panic!()
        };
        assert_eq!(
            (connect.as_str(), authority.as_str(), path.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/health?x=1")
        );
        assert_eq!((*expect_status, body.as_deref()), (200, Some("ok")));
        assert_eq!(c.checks[0].effect, Effect::Fault);
        assert_eq!(
            c.checks[0].timeout, c.checks[0].interval,
            "timeout defaults to the interval"
        );

        let c = parse(&check("kind = \"process\"\nname = \"nginx\"\nweight = 10")).unwrap();
        assert_eq!(
            c.checks[0].kind,
            CheckKind::ProcessName {
                name: "nginx".into()
            }
        );
        let c = parse(&check(
            "kind = \"process\"\npidfile = \"/run/nginx.pid\"\nweight = -10",
        ))
        .unwrap();
        assert_eq!(
            c.checks[0].kind,
            CheckKind::ProcessPidfile {
                pidfile: "/run/nginx.pid".into()
            }
        );
        let c = parse(&check(
            "kind = \"command\"\ncommand = [\"/bin/true\"]\nweight = 0",
        ))
        .unwrap();
        assert_eq!(
            c.checks[0].kind,
            CheckKind::Command {
                argv: vec!["/bin/true".into()]
            }
        );
    }

    #[test]
    fn bad_checks() {
        // The check table starts on line 7, its first key on line 8.
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "kind = \"ping\"\nfault = true",
                8,
                "check.c.kind",
                "unknown check kind \"ping\"",
            ),
            ("fault = true", 7, "check.c", "missing field `kind`"),
            (
                "kind = \"http\"\nfault = true",
                7,
                "check.c",
                "requires `url`",
            ),
            (
                "kind = \"http\"\nurl = \"https://127.0.0.1/\"\nfault = true",
                9,
                "check.c.url",
                "only http://",
            ),
            (
                "kind = \"http\"\nurl = \"not a url\"\nfault = true",
                9,
                "check.c.url",
                "not a URL",
            ),
            (
                "kind = \"http\"\nurl = \"http://127.0.0.1/\"\nexpect_status = 99\nfault = true",
                10,
                "check.c.expect_status",
                "100..=599",
            ),
            (
                "kind = \"tcp\"\nurl = \"http://127.0.0.1/\"\nfault = true",
                9,
                "check.c.url",
                "`url` applies to kind = \"http\", not \"tcp\"",
            ),
            (
                "kind = \"tcp\"\naddr = \"localhost:80\"\nfault = true",
                9,
                "check.c.addr",
                "not an IP:PORT",
            ),
            (
                "kind = \"tcp\"\nfault = true",
                7,
                "check.c",
                "requires `addr`",
            ),
            (
                "kind = \"process\"\nfault = true",
                7,
                "check.c",
                "requires `name` or `pidfile`",
            ),
            (
                "kind = \"process\"\nname = \"nginx\"\npidfile = \"/run/x.pid\"\nfault = true",
                10,
                "check.c.pidfile",
                "not both",
            ),
            (
                "kind = \"process\"\npidfile = \"run/x.pid\"\nfault = true",
                9,
                "check.c.pidfile",
                "absolute",
            ),
            (
                "kind = \"command\"\ncommand = []\nfault = true",
                9,
                "check.c.command",
                "needs a program",
            ),
            (
                "kind = \"command\"\ncommand = \"/bin/true\"\nfault = true",
                9,
                "check.c.command",
                "invalid type",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterval = \"5ms\"\nfault = true",
                10,
                "check.c.interval",
                "at least 10ms",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterval = \"100ms\"\ntimeout = \"200ms\"\nfault = true",
                11,
                "check.c.timeout",
                "at most the interval",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ntimeout = \"0s\"\nfault = true",
                10,
                "check.c.timeout",
                "more than 0",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nrise = 0\nfault = true",
                10,
                "check.c.rise",
                "rise must be 1..=1000",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfall = -2\nfault = true",
                10,
                "check.c.fall",
                "fall must be",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nweight = 300",
                10,
                "check.c.weight",
                "-254..=254",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"",
                7,
                "check.c",
                "set `weight`",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nweight = 5\nfault = true",
                11,
                "check.c.fault",
                "not both",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = false",
                10,
                "check.c.fault",
                "no effect",
            ),
            (
                "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\nretries = 3",
                11,
                "check.c.retries",
                "unknown field `retries`",
            ),
        ];
        for (body, line, key, why) in cases {
            refused(&check(body), *line, key, why);
        }
        refused(
            &format!(
                "{HEAD}{ROUTER}[check.\"bad name\"]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n"
            ),
            6,
            "check.\"bad name\"",
            "must be letters",
        );
    }

    #[test]
    fn interface_check() {
        let c = parse(&check(
            "kind = \"interface\"\ninterface = \"eth0\"\nfault = true",
        ))
        .unwrap();
        assert_eq!(
            c.checks[0].kind,
            CheckKind::Interface {
                name: "eth0".into()
            }
        );
        refused(
            &check("kind = \"interface\"\ninterface = \"a/b\"\nfault = true"),
            9,
            "check.c.interface",
            "not an interface name",
        );
        refused(
            &check("kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterface = \"eth0\"\nfault = true"),
            10,
            "check.c.interface",
            "applies to kind",
        );
    }

    #[test]
    fn sync_groups_share_tracking() {
        let text = format!(
            "{HEAD}[[vrrp]]\nvrid = 10\npriority = 100\nvips = [\"192.0.2.1\"]\ntrack = [\"web\"]\n\
             [[vrrp]]\nvrid = 20\npriority = 100\nvips = [\"198.51.100.1\"]\ntrack = [\"link\"]\n\
             [[vrrp]]\nvrid = 30\npriority = 100\nvips = [\"203.0.113.1\"]\n\
             [check.web]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\nweight = -50\n\
             [check.link]\nkind = \"interface\"\ninterface = \"eth1\"\nfault = true\n\
             [[sync_group]]\nname = \"public-private\"\nvrids = [10, 20]\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.sync_groups[0].vrids, [10, 20]);
        let track = |v: u8| {
            c.routers
                .iter()
                .find(|r| r.vrid() == v)
                .unwrap()
                .track
                .clone()
        };
        assert_eq!(track(10), ["web", "link"]);
        assert_eq!(track(20), ["web", "link"]);
        assert!(track(30).is_empty(), "not a member");

        let bad = |group: &str| format!("{HEAD}{ROUTER}[[sync_group]]\n{group}\n");
        refused(
            &bad("name = \"g\"\nvrids = [51]"),
            8,
            "sync_group[0].vrids",
            "at least two",
        );
        refused(
            &bad("name = \"g\"\nvrids = [51, 52]"),
            8,
            "sync_group[0].vrids[1]",
            "no [[vrrp]] has VRID 52",
        );
        refused(
            &bad("name = \"g\"\nvrids = [51, 51]"),
            8,
            "sync_group[0].vrids[1]",
            "listed twice",
        );
        refused(&bad("vrids = [51, 51]"), 6, "sync_group[0]", "name");
    }

    #[test]
    fn supervise_section() {
        let c = parse(&format!(
            "{HEAD}[supervise]\ncommand = [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]\n{ROUTER}"
        ))
        .unwrap();
        let sv = c.supervise.unwrap();
        assert_eq!(sv.command, ["/usr/sbin/nginx", "-g", "daemon off;"]);
        assert_eq!(sv.grace, DEFAULT_SUPERVISE_GRACE);
        refused(
            &format!("{HEAD}[supervise]\ncommand = []\n{ROUTER}"),
            3,
            "supervise.command",
            "needs a program",
        );
        refused(
            &format!("{HEAD}[supervise]\ncommand = [\"/bin/true\"]\nrestart = true\n{ROUTER}"),
            4,
            "supervise.restart",
            "unknown field",
        );
    }

    #[test]
    fn bad_notify() {
        refused(
            &format!("{HEAD}[[notify]]\ncommand = []\n{ROUTER}"),
            3,
            "notify[0].command",
            "needs a program",
        );
        refused(
            &format!("{HEAD}[[notify]]\n{ROUTER}"),
            2,
            "notify[0]",
            "missing field `command`",
        );
        refused(
            &format!("{HEAD}[[notify]]\ncommand = [\"/bin/true\"]\ntimeout = \"0s\"\n{ROUTER}"),
            4,
            "notify[0].timeout",
            "more than 0",
        );
        refused(
            &format!("{HEAD}notify = {{ command = [\"/bin/true\"], timout = \"1s\" }}\n{ROUTER}"),
            2,
            "notify.timout",
            "unknown field `timout`",
        );
        refused(
            &format!("{HEAD}notify = \"/bin/true\"\n{ROUTER}"),
            2,
            "notify",
            "a table or an array of tables",
        );
    }

    #[test]
    fn render_points_at_the_column() {
        let e = err(&router_with("interval = \"15ms\"\n"));
        let r = e.render();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[1], "    interval = \"15ms\"");
        assert_eq!(lines[2], "               ^");
    }

    #[test]
    fn unreadable_file() {
        let e = Config::load(Path::new("/nonexistent/vrrpd.toml")).unwrap_err();
        assert_eq!(e.position, None);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/vrrpd.toml: cannot read"),
            "{e}"
        );
    }
}
