//! What the converter builds from keepalived statements before it renders them as TOML.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::lexer::Pos;
use super::parser::Stmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Probe {
    Process(String),
    Http(String),
    Tcp(String),
    Command(Vec<String>),
}

#[derive(Debug, Clone)]
pub(super) struct Script {
    pub(super) name: String,
    pub(super) pos: Pos,
    pub(super) at: String,
    pub(super) script: String,
    pub(super) probe: Probe,
    /// Why the probe is what it is, as TOML comments.
    pub(super) notes: Vec<String>,
    pub(super) interval: Duration,
    pub(super) timeout: Option<Duration>,
    pub(super) weight: i32,
    pub(super) rise: u32,
    pub(super) fall: u32,
    /// `user USER [GROUP]`: who runs the command.
    pub(super) user: Option<(String, Option<String>)>,
}

/// A `track_file` (or its deprecated synonym `vrrp_track_file`) block.
#[derive(Debug, Clone)]
pub(super) struct TrackFile {
    pub(super) name: String,
    pub(super) pos: Pos,
    pub(super) at: String,
    pub(super) path: String,
    /// The default of the trackers that name it: `weight N [reverse]`, 1 unless set.
    pub(super) weight: i32,
    pub(super) reverse: bool,
    /// Why the check is what it is, as TOML comments.
    pub(super) notes: Vec<String>,
    /// Why it cannot be tracked (listed where it is defined), if it cannot.
    pub(super) unusable: Option<String>,
    /// `init_file [VALUE] [overwrite]`: the value and `overwrite`.
    pub(super) init: Option<(i64, bool)>,
}

/// What the trackers of instances and sync groups can name.
#[derive(Debug, Clone, Default)]
pub(super) struct Trackable {
    pub(super) scripts: BTreeMap<String, Script>,
    pub(super) files: BTreeMap<String, TrackFile>,
}

/// What a check probes.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Script(Script),
    File(TrackFile),
    /// A network interface's carrier; `notes` say where keepalived tracks it, as TOML comments.
    Interface {
        name: String,
        notes: Vec<String>,
    },
}

impl Origin {
    pub(super) fn same_source(&self, other: &Origin) -> bool {
        match (self, other) {
            (Origin::Script(a), Origin::Script(b)) => a.name == b.name,
            (Origin::Interface { name: a, .. }, Origin::Interface { name: b, .. }) => a == b,
            (Origin::File(a), Origin::File(b)) => a.name == b.name,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Check {
    pub(super) name: String,
    pub(super) origin: Origin,
    pub(super) weight: i32,
    /// A file's `reverse` (false for the other trackers, which cannot reverse).
    pub(super) reverse: bool,
}

/// What a tracker (`track_script` or `track_interface` entry) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TrackKind {
    Script,
    Interface,
    File,
}

/// The sync group an instance is a member of, known before the instances are translated.
#[derive(Debug, Clone)]
pub(super) struct Membership {
    pub(super) group: String,
    pub(super) at: String,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): keepalived keeps the
    /// weights of the members' trackers, which it otherwise ignores.
    pub(super) weights: bool,
}

/// A translated `vrrp_sync_group`.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) name: String,
    pub(super) at: String,
    pub(super) vrids: Vec<u8>,
    pub(super) comments: Vec<String>,
    /// The hook standing for the group's notify scripts, with the VRID it follows.
    pub(super) notify: Option<(u8, String)>,
}

impl Router {
    pub(super) fn is_v6(&self) -> bool {
        self.v6.as_ref().is_some_and(|(v6, _)| *v6)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Router {
    pub(super) name: String,
    pub(super) at: String,
    pub(super) interface: String,
    pub(super) vrid: u8,
    pub(super) version: u8,
    pub(super) priority: u8,
    pub(super) interval: Duration,
    /// keepalived's addresses in keepalived's order: one family, the IPv6 link-local one first.
    pub(super) vips: Vec<IpAddr>,
    pub(super) prefix: u8,
    /// The family, once the first address or `native_ipv6` has set it, with what set it.
    pub(super) v6: Option<(bool, String)>,
    /// The entry of the first VIP, to point at when an IPv6 router's is not link-local.
    pub(super) first_vip: Option<Stmt>,
    pub(super) preempt: bool,
    pub(super) preempt_delay: Option<Duration>,
    pub(super) accept: bool,
    pub(super) message_only: bool,
    pub(super) auth_pass: Option<String>,
    pub(super) garp: (u8, u8, Duration),
    /// `garp_master_refresh`; zero: none.
    pub(super) garp_refresh: Duration,
    pub(super) peers: Vec<IpAddr>,
    pub(super) primary: Option<IpAddr>,
    pub(super) track: Vec<String>,
    pub(super) notify: Option<String>,
    pub(super) comments: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Globals {
    pub(super) version: u8,
    /// Where `vrrp_version` sets `version`.
    pub(super) version_at: Option<Pos>,
    pub(super) strict: bool,
    pub(super) garp_repeat: Option<u8>,
    pub(super) garp_delay: Option<Duration>,
    pub(super) min_garp: bool,
    pub(super) checksum_as_v2: bool,
    /// `vrrp_rt_priority`: `[process] realtime_priority`.
    pub(super) rt_priority: Option<u8>,
    /// `vrrp_no_swap`: `[process] lock_memory`.
    pub(super) no_swap: bool,
    /// `vrrp_garp_master_refresh`: every instance's default `garp_master_refresh`.
    pub(super) garp_refresh: Duration,
    /// `vrrp_startup_delay`: `startup_delay`.
    pub(super) startup_delay: Option<Duration>,
    /// `script_user USER [GROUP]`: `[scripts] user`, `group`.
    pub(super) script_user: Option<(String, Option<String>)>,
    /// `enable_script_security`: `[scripts] security`.
    pub(super) script_security: bool,
}
