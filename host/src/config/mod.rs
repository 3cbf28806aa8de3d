//! The `vrrpd` configuration file: TOML, validated completely before anything runs.
//!
//! Every error names the file, the line and column, the key path (`vrrp[0].interval`) and what
//! is wrong; the CLI exits 2 on any of them. Unknown keys are errors and no bad value is replaced
//! by a default. Defaults apply only to keys that are absent, and are listed here and in
//! `host/examples/vrrpd.toml`.
//!
//! ```toml
//! interface = "eth0"                   # the uplink of every [[vrrp]] that names none (required)
//! startup_delay = "0s"                 # default 0, at most 3600s: the routers start this long
//!                                      # after vrrpd (the checks run meanwhile; a router then
//!                                      # waits for its checks' first verdicts as always);
//!                                      # keepalived's vrrp_startup_delay
//!
//! [status]
//! listen = "127.0.0.1:9100"            # default; GET /status, /metrics, /healthz; at most 64
//!                                      # connections, 16 KiB request heads (crate::status)
//!
//! [log]
//! format = "human"                     # "human" (default) | "json"; `--log-format` overrides
//! level = "info"                       # tracing EnvFilter directive; RUST_LOG overrides
//!
//! [[vrrp]]                             # one table per virtual router, at least one
//! vrid = 51                            # 1..=255, unique, across uplinks too (required)
//! interface = "eth1"                   # default: the file's `interface`. Routers on several
//!                                      # uplinks (at most 8) may share a sync group; each
//!                                      # uplink gets its own bridge, TAP and fast path
//! version = 3                          # 3 (default) | 2
//! priority = 150                       # 1..=255 (required); 255 = address owner, needs `primary`
//! interval = "100ms"                   # default "1s"; v3: multiple of 10ms, 10ms..=40.95s;
//!                                      # v2: whole seconds, 1s..=255s
//! vips = ["192.0.2.100/24"]            # 1..=8 addresses of one family; prefix optional
//!                                      # (default /24, IPv6 /64), one prefix length for all VIPs
//!                                      # of a router; IPv6: the first is link-local, e.g.
//!                                      # ["fe80::33/64", "2001:db8::1/64"], version 3 only
//! preempt = true                       # default true
//! preempt_delay = "0s"                 # default 0: how long this router must have outranked
//!                                      # the Active before it takes over (from start, and again
//!                                      # after every advert it did not outrank)
//! accept = true                        # default true (see below)
//! checksum = "pseudo-header"           # v3 only: "pseudo-header" (default) | "message-only"
//! auth_pass = "secret"                 # v2 only, 1..=8 bytes, sent in clear text
//! garp = { burst = 1, repeat_at = ["10ms", "30ms", "100ms", "300ms", "1s"] }   # defaults
//!                                      # gratuitous ARP / unsolicited NA: `burst` per VIP at
//!                                      # the takeover and at each offset after it (up to 8,
//!                                      # increasing, multiples of 10ms); the older form
//!                                      # `repeats = 1, repeat_delay = "2s"` (evenly spaced)
//!                                      # still loads. `refresh = "60s"`: then a burst at
//!                                      # every multiple of 60s after the takeover while
//!                                      # Active (whole seconds; default "0s" = none;
//!                                      # keepalived's garp_master_refresh)
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
//! # user = "nobody"                    # command: who runs it (default: scripts.user)
//! # group = "nogroup"                  # command: default: scripts.group, else the user's group
//! # interface = "eth0"                 # interface: up while it has carrier
//! # path = "/run/vrrpd/drain"          # file: the number in it times `weight` (keepalived's
//!                                      # track_file); `reverse = true` negates it
//! # init = 0                           # file: written to a missing file at start (-254..=254);
//! # overwrite = true                   # ... to any file (keepalived's init_file ... overwrite)
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
//! # user = "root"                      # default: scripts.user; `group` as for checks
//!
//! [scripts]                            # who runs command checks and notify hooks
//! user = "nobody"                      # default when vrrpd runs as root: "nobody" (keepalived's
//!                                      # script_user); "root" keeps root. A vrrpd that is not
//!                                      # root runs them as itself
//! group = "nogroup"                    # default: the user's primary group; never any
//!                                      # supplementary group
//! security = false                     # default false; true: refuse to start when a command's
//!                                      # program or a directory above it is not owned by root
//!                                      # or is writable by group or others (keepalived's
//!                                      # enable_script_security)
//!
//! [supervise]                          # optional: vrrpd runs nginx as its child
//! command = ["/usr/sbin/nginx", "-g", "daemon off;"]
//! grace = "5s"                         # default 5s between SIGTERM and SIGKILL
//!
//! [process]                            # optional, applied at start (needs a restart)
//! realtime_priority = 10               # 1..=99: SCHED_RR for the event loop thread (needs
//!                                      # CAP_SYS_NICE); keepalived's vrrp_rt_priority
//! lock_memory = true                   # default false: mlockall, never paged out (needs
//!                                      # CAP_IPC_LOCK); keepalived's vrrp_no_swap
//! ```
//!
//! `accept` defaults to true, unlike RFC 9568's Accept_Mode default: the point of the VIP is
//! that nginx serves it, so a non-owner Active must accept traffic addressed to it. keepalived
//! behaves the same way unless `vrrp_strict` is set.

mod check;
mod duration;
mod error;
mod model;
mod notify;
mod process;
mod raw;
mod router;
mod scripts;
mod source;
mod supervise;
mod sync_group;
#[cfg(test)]
mod tests;
mod validate;

pub use check::{CheckConfig, CheckKind, FileInit};
pub use duration::{format_duration, parse_duration};
pub use error::{ConfigError, Location};
pub use model::{CoreConfig, Effect};
pub use notify::NotifyConfig;
pub use process::{ProcessConfig, REALTIME_PRIORITIES};
pub use router::RouterConfig;
pub use scripts::{DEFAULT_SCRIPT_USER, RunAs, ScriptsConfig, unsafe_path};
pub use supervise::SuperviseConfig;
pub use sync_group::SyncGroup;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use raw::RawFile;
use source::Source;
use validate::Validator;

/// Capacity of the VIP list and of the peer list of one virtual router in this build.
pub const MAX_ADDRS: usize = 8;

/// Most uplinks one vrrpd serves: each is a bridge, a TAP and a table of the fast path, and
/// the event loop's wait tags their descriptors in one word.
pub const MAX_UPLINKS: usize = 8;

/// Longest `startup_delay`: beyond it a value is more likely a unit mistake than a wish.
pub const MAX_STARTUP_DELAY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Default status endpoint: loopback only, since it is unauthenticated.
pub const DEFAULT_STATUS_LISTEN: &str = "127.0.0.1:9100";

/// What the kernel accepts as a network interface name (`dev_valid_name`): 1..=15 bytes, not
/// `.` or `..`, no `/`, `:` or whitespace. Control characters are refused too: the kernel takes
/// them, but no real interface has one, and a name is echoed into logs, messages and the comments
/// of a converted file.
pub fn is_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

/// Why a name fails [`is_interface_name`], for error messages.
pub const INTERFACE_NAME_RULE: &str = "1..=15 bytes; no '/', ':', whitespace or control characters";

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

/// How VIP traffic reaches the kernel while a router is Active (`datapath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatapathMode {
    /// The kernel fast path (nftables) where it can be installed, else the user-space relay.
    #[default]
    Auto,
    /// Always the user-space relay: where nftables must not be touched, or as a baseline.
    Relay,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub interface: String,
    pub datapath: DatapathMode,
    pub status_listen: SocketAddr,
    /// `[control] socket`: the `vrrpd ctl` socket; `None` for [`crate::control::default_socket`].
    pub control_socket: Option<PathBuf>,
    pub log: LogConfig,
    pub routers: Vec<RouterConfig>,
    /// Sorted by name.
    pub checks: Vec<CheckConfig>,
    pub notify: Vec<NotifyConfig>,
    pub supervise: Option<SuperviseConfig>,
    pub sync_groups: Vec<SyncGroup>,
    pub process: ProcessConfig,
    pub scripts: ScriptsConfig,
    /// How long after start the virtual routers wait before they start (keepalived's
    /// `vrrp_startup_delay`); the checks run meanwhile.
    pub startup_delay: std::time::Duration,
}

impl Config {
    /// Reads and validates `path` for this host: also looks up the users commands run as
    /// and, with `scripts.security`, the ownership and modes of their programs.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(path, format!("cannot read the config file: {e}"))
        })?;
        Config::validate(&text, path, true)
    }

    /// Validates `text` without looking at the host's users and files; `file` is only used in
    /// error messages.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        Config::validate(text, file, false)
    }

    fn validate(text: &str, file: &Path, host: bool) -> Result<Config, ConfigError> {
        let src = Source { text, file };
        let tree = DeTable::parse(text).map_err(|e| src.toml_error(&e, None))?;
        let raw: RawFile = toml::from_str(text).map_err(|e| src.toml_error(&e, Some(&tree)))?;
        Validator {
            src,
            tree: tree.get_ref(),
            host,
        }
        .file(raw)
    }

    /// The uplinks the routers run on, each once, in the order the routers appear.
    pub fn uplinks(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for r in &self.routers {
            if !v.contains(&r.interface.as_str()) {
                v.push(&r.interface);
            }
        }
        v
    }

    pub fn check(&self, name: &str) -> Option<&CheckConfig> {
        self.checks.iter().find(|c| c.name == name)
    }
}
