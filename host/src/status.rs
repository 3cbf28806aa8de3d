//! The status snapshot the daemon maintains and the HTTP endpoint that serves it.
//!
//! The daemon owns a [`StatusHandle`] and updates it after each batch of events
//! (`handle.update(|s| ...)`); the server only reads it. The routers' counters move at every
//! advert and are copied in only when someone asks: before it answers `/status` or
//! `/metrics`, the server asks the event loop for a copy ([`StatusHandle::set_refresh`]) and
//! waits for it, so that a reader sees them as they are and a daemon nobody reads copies
//! nothing. Routes:
//!
//! - `GET /`: a live page for a browser ([`page`]), one self-contained HTML file whose script
//!   renders `/status` every second;
//! - `GET /status`: the [`Snapshot`] as JSON (what `vrrpd status` prints);
//! - `GET /metrics`: Prometheus text exposition format 0.0.4, every metric prefixed `vrrpd_`;
//! - `GET /healthz`: `ok`, for liveness probes.
//!
//! The endpoint is unauthenticated and read-only; the default listen address is loopback.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use vrrp_core::wire::DropReason;
use vrrp_core::{Reason, State, Stats};

pub mod page;

/// How many transitions per router, and how many freezes, the snapshot keeps for the timeline
/// (`recent_transitions`, `recent_freezes`); older ones are only counted. Every `/status`
/// carries them all (the page asks every second) and the endpoint shares the event loop's
/// thread, so the list stays short: with 234 routers each holding 8, `/status` grows from
/// 212 KB to 488 KB and takes about 1 ms instead of 0.5 ms to answer (release build).
pub const RECENT: usize = 8;

/// What the daemon reports. Serialized as the `/status` JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `vrrpd` version.
    pub version: String,
    /// The first uplink (the only one of most daemons); every one is in `uplinks`.
    pub interface: String,
    /// Milliseconds since the handle was created; filled in when the snapshot is read.
    pub uptime_ms: u64,
    /// Length of the last freeze (SIGSTOP, `docker pause`) the daemon measured on waking.
    pub last_freeze_ms: Option<u64>,
    pub freezes: u64,
    /// The last [`RECENT`] freezes, oldest first.
    #[serde(default)]
    pub recent_freezes: VecDeque<Freeze>,
    pub routers: Vec<RouterStatus>,
    pub checks: Vec<CheckStatus>,
    /// Adverts that match no virtual router of this daemon, by [`DropReason::as_str`]: `vrid`
    /// for a VRID (of that address family, multicast or unicast) it does not run, `length` for
    /// one too short to name a VRID. They never count in a router's `drops`.
    pub unmatched_drops: BTreeMap<String, u64>,
    /// How VIP traffic reaches the kernel and what the TAPs saw, over every uplink: `mode` is
    /// `mixed` when the uplinks' modes differ.
    pub datapath: DatapathStatus,
    /// The same for each uplink, in the order of the configuration, `interface` set.
    #[serde(default)]
    pub uplinks: Vec<DatapathStatus>,
    /// What `[process]` achieved: the event loop's scheduling, locked memory, refusals.
    #[serde(default)]
    pub process: crate::process::ProcessStatus,
    /// Where uptime counts from, to date the freezes; set by [`StatusHandle::new`].
    #[serde(skip)]
    pub clock: Uptime,
}

/// The instant a daemon's uptime counts from. Not part of a snapshot's value: never
/// serialized, and any two compare equal, so that a snapshot read back from JSON equals the
/// one written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uptime(Option<Instant>);

impl Uptime {
    /// Time since the start; zero for a snapshot that no [`StatusHandle`] owns.
    pub fn elapsed(&self) -> Duration {
        self.0.map(|t| t.elapsed()).unwrap_or_default()
    }
}

impl PartialEq for Uptime {
    fn eq(&self, _: &Uptime) -> bool {
        true
    }
}

/// One freeze the daemon measured on waking (SIGSTOP, `docker pause`, a stalled host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Freeze {
    /// Uptime when the daemon woke and measured it, in milliseconds.
    pub at_ms: u64,
    pub length_ms: u64,
}

/// The data path's mode and frame counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatapathStatus {
    /// The uplink; empty in the sum over all of them ([`Snapshot::datapath`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// `kernel` (the nftables fast path) or `relay` (user space); empty before start.
    pub mode: String,
    /// Frames read from the TAP. With the fast path, VIP traffic does not count here.
    pub tap_rx_frames: u64,
    /// Frames written into the TAP (adverts, announcements, ARP / ND answers).
    pub tap_tx_frames: u64,
    /// Multicast adverts sent on the uplink directly, past the TAP and the bridge.
    #[serde(default)]
    pub uplink_tx_frames: u64,
    /// Adverts the uplink's packet socket failed to send (they went through the TAP instead).
    #[serde(default)]
    pub uplink_tx_errors: u64,
    /// VIP frames relayed through user space.
    pub relayed_frames: u64,
    /// VIP frames that waited in the TAP through a freeze longer than Active_Down_Interval,
    /// dropped instead of relayed.
    pub stale_frames: u64,
    /// Failed updates of the fast path (the relay carried the traffic meanwhile).
    pub fastpath_errors: u64,
}

/// One virtual router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterStatus {
    pub vrid: u8,
    /// Its uplink.
    #[serde(default)]
    pub interface: String,
    /// The `[[sync_group]]` it moves with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_group: Option<String>,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// `Initialize`, `Backup` or `Active` ([`State::as_str`]).
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority after health tracking; 0 while a fault check is down or the router is drained.
    pub effective_priority: u8,
    /// Drained by the operator (`vrrpd ctl drain`): priority 0 until undrained.
    #[serde(default)]
    pub drained: bool,
    /// Set by the operator (`vrrpd ctl set-priority`) in place of `priority`.
    #[serde(default)]
    pub priority_override: Option<u8>,
    pub interval_ms: u64,
    pub vips: Vec<String>,
    pub primary: Option<String>,
    /// Source of the last advert accepted from another router: the Active's address while this
    /// router is Backup (the core's `VirtualRouter::last_advert`). `None` before the first one.
    #[serde(default)]
    pub last_advert_from: Option<IpAddr>,
    /// Transitions by [`Reason::as_str`], every reason present.
    pub transitions: BTreeMap<String, u64>,
    pub last_transition: Option<Transition>,
    /// The last [`RECENT`] transitions, oldest first; the last one is `last_transition`.
    #[serde(default)]
    pub recent_transitions: VecDeque<Transition>,
    pub adverts_sent: u64,
    /// Valid adverts from other routers, including those counted in `address_mismatches`.
    pub adverts_received: u64,
    /// Valid adverts that listed other virtual addresses than ours (RFC 9568 §7.1: logged,
    /// processed anyway). Every one is counted; the log line about them is rate-limited.
    #[serde(default)]
    pub address_mismatches: u64,
    /// Adverts for this virtual router (its VRID and family) dropped, by [`DropReason::as_str`],
    /// every reason present. Adverts for a VRID this daemon does not run are in
    /// [`Snapshot::unmatched_drops`], never here.
    pub drops: BTreeMap<String, u64>,
    /// The sum of `drops` when they were last copied: they are copied again only when it moves.
    #[serde(skip)]
    pub drops_total: u64,
}

/// One state change. The names are borrowed from the core's `as_str` (owned only when read back
/// from JSON), so that copying a snapshot with its [`RECENT`] transitions per router allocates
/// nothing for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Cow<'static, str>,
    pub to: Cow<'static, str>,
    pub reason: Cow<'static, str>,
    /// Uptime at the transition, in milliseconds.
    pub at_ms: u64,
    /// Why a Backup took over on its own (reason `active_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover: Option<TakeoverStatus>,
}

/// What a Backup waited for before it became Active (reason `active_down`), from the core's
/// [`vrrp_core::Takeover`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeoverStatus {
    /// `active_down_interval`, or `skew_time` after a priority-0 advert.
    pub wait: String,
    /// The deadline that expired, on the daemon's clock (milliseconds since it started).
    pub deadline_ms: f64,
    /// How long after the deadline the timer was handled.
    pub late_ms: f64,
    /// The last advert accepted before the takeover; none if nobody was ever heard.
    pub last_advert: Option<HeardStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeardStatus {
    pub source: String,
    pub priority: u8,
    /// How long before the takeover it arrived.
    pub before_ms: f64,
}

impl TakeoverStatus {
    /// One sentence for the log and `vrrpd status`.
    pub fn explain(&self) -> String {
        let heard = match &self.last_advert {
            Some(h) => format!(
                "last advert from {} (priority {}) {:.1} ms before",
                h.source, h.priority, h.before_ms
            ),
            None => "no advert heard since start".to_owned(),
        };
        format!(
            "took over: {} expired at {:.1} ms, timer handled {:.3} ms late; {heard}",
            self.wait, self.deadline_ms, self.late_ms
        )
    }

    pub fn new(t: &vrrp_core::Takeover<std::net::IpAddr>) -> TakeoverStatus {
        let ms = |d: vrrp_core::Duration| d.as_micros() as f64 / 1000.0;
        let since = |from: vrrp_core::Instant, to: vrrp_core::Instant| {
            ms(to.checked_duration_since(from).unwrap_or_default())
        };
        TakeoverStatus {
            wait: t.wait.as_str().to_owned(),
            deadline_ms: t.deadline.as_micros() as f64 / 1000.0,
            late_ms: ms(t.late()),
            last_advert: t.last_advert.map(|h| HeardStatus {
                source: h.source.to_string(),
                priority: h.priority,
                before_ms: since(h.at, t.fired),
            }),
        }
    }
}

/// One health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub name: String,
    pub kind: String,
    /// `None` until the first rise or fall completes.
    pub up: Option<bool>,
    pub detail: String,
    /// Debounced state changes.
    pub changes: u64,
    /// Process checks only: `events` while kernel process events wake the check besides its
    /// polling, `polling` otherwise (the kernel's process events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<String>,
}

impl Snapshot {
    /// A snapshot for `config` before anything ran: every router in Initialize, every check
    /// unknown, every counter at 0.
    pub fn new(config: &crate::config::Config) -> Snapshot {
        Snapshot {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            interface: config
                .uplinks()
                .first()
                .map_or_else(|| config.interface.clone(), |u| (*u).to_owned()),
            uptime_ms: 0,
            last_freeze_ms: None,
            freezes: 0,
            routers: config
                .routers
                .iter()
                .map(|r| RouterStatus {
                    vrid: r.vrid(),
                    interface: r.interface.clone(),
                    sync_group: config
                        .sync_groups
                        .iter()
                        .find(|g| g.vrids.contains(&r.vrid()))
                        .map(|g| g.name.clone()),
                    version: r.core.version().number(),
                    state: State::Initialize.as_str().to_owned(),
                    priority: r.core.priority(),
                    effective_priority: r.core.priority(),
                    drained: false,
                    priority_override: None,
                    interval_ms: r.interval().as_millis() as u64,
                    vips: r.core.vips().map(|v| v.to_string()).collect(),
                    primary: r.primary.map(|p| p.to_string()),
                    last_advert_from: None,
                    transitions: Reason::ALL
                        .iter()
                        .map(|r| (r.as_str().to_owned(), 0))
                        .collect(),
                    last_transition: None,
                    recent_transitions: VecDeque::new(),
                    adverts_sent: 0,
                    adverts_received: 0,
                    address_mismatches: 0,
                    drops: zero_drops(),
                    drops_total: 0,
                })
                .collect(),
            checks: config
                .checks
                .iter()
                .map(|c| CheckStatus {
                    name: c.name.clone(),
                    kind: c.kind.as_str().to_owned(),
                    up: None,
                    detail: String::new(),
                    changes: 0,
                    watch: (c.kind.as_str() == "process").then(|| "polling".to_owned()),
                })
                .collect(),
            unmatched_drops: zero_drops(),
            datapath: DatapathStatus::default(),
            uplinks: config
                .uplinks()
                .iter()
                .map(|u| DatapathStatus {
                    interface: (*u).to_owned(),
                    ..Default::default()
                })
                .collect(),
            process: Default::default(),
            recent_freezes: VecDeque::new(),
            clock: Uptime::default(),
        }
    }

    /// Sets `datapath` to the sum of `uplinks`.
    pub fn sum_uplinks(&mut self) {
        let d = &mut self.datapath;
        let mode = match self.uplinks.split_first() {
            None => "",
            Some((first, rest)) if rest.iter().all(|u| u.mode == first.mode) => &first.mode,
            Some(_) => "mixed",
        };
        if d.mode != mode {
            d.mode = mode.to_owned();
        }
        let sum = |f: fn(&DatapathStatus) -> u64| self.uplinks.iter().map(f).sum();
        d.tap_rx_frames = sum(|u| u.tap_rx_frames);
        d.tap_tx_frames = sum(|u| u.tap_tx_frames);
        d.uplink_tx_frames = sum(|u| u.uplink_tx_frames);
        d.uplink_tx_errors = sum(|u| u.uplink_tx_errors);
        d.relayed_frames = sum(|u| u.relayed_frames);
        d.stale_frames = sum(|u| u.stale_frames);
        d.fastpath_errors = sum(|u| u.fastpath_errors);
    }

    pub fn router_mut(&mut self, vrid: u8) -> Option<&mut RouterStatus> {
        self.routers.iter_mut().find(|r| r.vrid == vrid)
    }

    /// Records a debounced change of a health check.
    pub fn record_check(&mut self, name: &str, up: bool, detail: &str) {
        if let Some(c) = self.checks.iter_mut().find(|c| c.name == name) {
            c.up = Some(up);
            c.detail = detail.to_owned();
            c.changes += 1;
        }
    }

    /// Records how the process checks learn of changes (`events` or `polling`).
    pub fn record_process_watch(&mut self, watch: &str) {
        for c in self.checks.iter_mut().filter(|c| c.watch.is_some()) {
            c.watch = Some(watch.to_owned());
        }
    }

    /// Records a freeze of `length`, measured now (on waking).
    pub fn record_freeze(&mut self, length: Duration) {
        self.freezes += 1;
        let length_ms = length.as_millis() as u64;
        self.last_freeze_ms = Some(length_ms);
        push_recent(
            &mut self.recent_freezes,
            Freeze {
                at_ms: self.clock.elapsed().as_millis() as u64,
                length_ms,
            },
        );
    }

    pub fn count_unmatched_drop(&mut self, reason: DropReason) {
        *self
            .unmatched_drops
            .entry(reason.as_str().to_owned())
            .or_insert(0) += 1;
    }
}

fn push_recent<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() == RECENT {
        list.pop_front();
    }
    list.push_back(item);
}

fn zero_drops() -> BTreeMap<String, u64> {
    DropReason::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), 0))
        .collect()
}

impl RouterStatus {
    /// Records an `Action::StateChange`; `uptime` is [`StatusHandle::uptime`]. `takeover`
    /// explains a takeover for [`Reason::ActiveDown`].
    pub fn record_transition(
        &mut self,
        from: State,
        to: State,
        reason: Reason,
        uptime: Duration,
        takeover: Option<TakeoverStatus>,
    ) {
        self.state = to.as_str().to_owned();
        *self
            .transitions
            .entry(reason.as_str().to_owned())
            .or_insert(0) += 1;
        let t = Transition {
            from: from.as_str().into(),
            to: to.as_str().into(),
            reason: reason.as_str().into(),
            at_ms: uptime.as_millis() as u64,
            takeover,
        };
        push_recent(&mut self.recent_transitions, t.clone());
        self.last_transition = Some(t);
    }

    /// Copies the core's counters (they are cumulative, so this is idempotent).
    pub fn set_stats(&mut self, stats: &Stats) {
        self.adverts_sent = stats.adverts_sent.into();
        self.adverts_received = stats.adverts_received.into();
        self.address_mismatches = stats.address_mismatches.into();
        // Every turn of the event loop, for every router: the map is looked up only when a
        // counter moved, since keys are strings.
        let total: u64 = DropReason::ALL
            .iter()
            .map(|&r| u64::from(stats.drops(r)))
            .sum();
        if total == self.drops_total && !self.drops.is_empty() {
            return;
        }
        self.drops_total = total;
        for reason in DropReason::ALL {
            let n = stats.drops(reason).into();
            match self.drops.get_mut(reason.as_str()) {
                Some(v) => *v = n,
                None => {
                    self.drops.insert(reason.as_str().to_owned(), n);
                }
            }
        }
    }
}

/// Asks the event loop to copy its counters into the snapshot; the receiver resolves once it
/// has (see [`StatusHandle::fresh`]).
pub type Refresh = Box<dyn Fn() -> tokio::sync::oneshot::Receiver<()> + Send + Sync>;

/// How long a reader waits for the event loop's copy before it is served the snapshot as it
/// is. A loop that does not turn within it is stuck, and the counters it last copied (with the
/// freezes it recorded) are the best there is.
pub const REFRESH_WAIT: Duration = Duration::from_secs(1);

/// Shared access to the snapshot: the daemon writes, the server reads. Cheap to clone.
#[derive(Clone)]
pub struct StatusHandle {
    inner: Arc<Mutex<Snapshot>>,
    started: Instant,
    refresh: Arc<OnceLock<Refresh>>,
}

impl std::fmt::Debug for StatusHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusHandle")
            .field("started", &self.started)
            .field("refresh", &self.refresh.get().is_some())
            .finish_non_exhaustive()
    }
}

impl StatusHandle {
    pub fn new(mut snapshot: Snapshot) -> StatusHandle {
        let started = Instant::now();
        snapshot.clock = Uptime(Some(started));
        StatusHandle {
            inner: Arc::new(Mutex::new(snapshot)),
            started,
            refresh: Arc::new(OnceLock::new()),
        }
    }

    /// Who copies the counters in on request (the event loop); set once. Without it,
    /// [`fresh`](Self::fresh) is [`get`](Self::get).
    pub fn set_refresh(&self, refresh: Refresh) {
        if self.refresh.set(refresh).is_err() {
            tracing::warn!("the status's refresh was set twice; the first one stays");
        }
    }

    /// A copy taken after the event loop copied its counters in, or after [`REFRESH_WAIT`] if
    /// it did not (a loop that is gone answers at once, by dropping the request).
    pub async fn fresh(&self) -> Snapshot {
        if let Some(refresh) = self.refresh.get() {
            let _ = tokio::time::timeout(REFRESH_WAIT, refresh()).await;
        }
        self.get()
    }

    /// Applies `f` under the lock. Keep it short: the server waits on the same lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// A copy with `uptime_ms` filled in.
    pub fn get(&self) -> Snapshot {
        let mut s = self.update(|s| s.clone());
        s.uptime_ms = self.uptime().as_millis() as u64;
        s
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition.

fn datapath_metrics(m: &mut Metrics, d: &DatapathStatus, uplinks: &[DatapathStatus]) {
    m.family(
        "vrrpd_datapath_mode",
        "gauge",
        "1 for how VIP traffic reaches the kernel: kernel (nftables fast path) or relay (user space).",
    );
    for mode in ["kernel", "relay"] {
        m.sample(&[("mode", mode)], (d.mode == mode).into());
    }
    m.family(
        "vrrpd_uplink_datapath_mode",
        "gauge",
        "1 for how VIP traffic reaches the kernel on each uplink: kernel or relay.",
    );
    for u in uplinks {
        for mode in ["kernel", "relay"] {
            m.sample(
                &[("interface", &u.interface), ("mode", mode)],
                (u.mode == mode).into(),
            );
        }
    }
    m.family(
        "vrrpd_tap_frames_total",
        "counter",
        "Frames read from (rx) and written into (tx) the TAP.",
    );
    m.sample(&[("direction", "rx")], d.tap_rx_frames);
    m.sample(&[("direction", "tx")], d.tap_tx_frames);
    for (name, help, value) in [
        (
            "vrrpd_uplink_tx_frames_total",
            "Multicast adverts sent on the uplink directly, past the TAP and the bridge.",
            d.uplink_tx_frames,
        ),
        (
            "vrrpd_uplink_tx_errors_total",
            "Adverts the uplink's packet socket failed to send (they went through the TAP instead).",
            d.uplink_tx_errors,
        ),
        (
            "vrrpd_relayed_frames_total",
            "VIP frames relayed into the kernel through user space.",
            d.relayed_frames,
        ),
        (
            "vrrpd_stale_frames_total",
            "VIP frames that waited in the TAP through a freeze longer than Active_Down_Interval, dropped.",
            d.stale_frames,
        ),
        (
            "vrrpd_fastpath_errors_total",
            "Failed updates of the kernel fast path (the relay carried the traffic meanwhile).",
            d.fastpath_errors,
        ),
    ] {
        m.family(name, "counter", help);
        m.sample(&[], value);
    }
}

/// Renders `s` in the Prometheus text format (version 0.0.4).
pub fn render_metrics(s: &Snapshot) -> String {
    let mut m = Metrics::default();
    m.family("vrrpd_build_info", "gauge", "vrrpd version, always 1.");
    m.sample(&[("version", &s.version)], 1);
    m.family(
        "vrrpd_uptime_seconds",
        "gauge",
        "Seconds since vrrpd started.",
    );
    m.sample_f(&[], s.uptime_ms as f64 / 1000.0);
    m.family(
        "vrrpd_last_freeze_seconds",
        "gauge",
        "Length of the last measured process freeze (SIGSTOP, docker pause); 0 if none.",
    );
    m.sample_f(&[], s.last_freeze_ms.unwrap_or(0) as f64 / 1000.0);
    m.family(
        "vrrpd_freezes_total",
        "counter",
        "Process freezes detected on waking.",
    );
    m.sample(&[], s.freezes);
    m.family(
        "vrrpd_log_lines_dropped_total",
        "counter",
        "Log lines dropped because the log's reader (stderr) could not keep up.",
    );
    m.sample(&[], crate::logging::dropped_lines());
    m.family(
        "vrrpd_realtime_priority",
        "gauge",
        "Real-time (SCHED_RR / SCHED_FIFO) priority of the event loop thread; 0 for normal scheduling.",
    );
    m.sample(&[], s.process.realtime_priority().into());
    m.family(
        "vrrpd_memory_locked",
        "gauge",
        "1 while the daemon's memory is locked (mlockall).",
    );
    m.sample(&[], s.process.memory_locked.into());

    m.family(
        "vrrpd_router_state",
        "gauge",
        "1 for the current RFC 9568 state of each virtual router, 0 for the others.",
    );
    for r in &s.routers {
        let vrid = r.vrid.to_string();
        for state in State::ALL {
            let on = r.state == state.as_str();
            m.sample(&[("vrid", &vrid), ("state", state.as_str())], on.into());
        }
    }
    m.family(
        "vrrpd_router_uplink",
        "gauge",
        "1 for the uplink interface each virtual router runs on.",
    );
    for r in &s.routers {
        m.sample(
            &[("vrid", &r.vrid.to_string()), ("interface", &r.interface)],
            1,
        );
    }
    m.family("vrrpd_router_priority", "gauge", "Configured priority.");
    for r in &s.routers {
        m.sample(&[("vrid", &r.vrid.to_string())], r.priority.into());
    }
    m.family(
        "vrrpd_router_effective_priority",
        "gauge",
        "Priority after health tracking (0 = fault).",
    );
    for r in &s.routers {
        m.sample(
            &[("vrid", &r.vrid.to_string())],
            r.effective_priority.into(),
        );
    }
    m.family(
        "vrrpd_router_drained",
        "gauge",
        "1 while the operator has drained the router (vrrpd ctl drain).",
    );
    for r in &s.routers {
        m.sample(&[("vrid", &r.vrid.to_string())], r.drained.into());
    }
    m.family(
        "vrrpd_transitions_total",
        "counter",
        "State transitions by reason.",
    );
    for r in &s.routers {
        let vrid = r.vrid.to_string();
        for (reason, n) in &r.transitions {
            m.sample(&[("vrid", &vrid), ("reason", reason)], *n);
        }
    }
    m.family(
        "vrrpd_adverts_sent_total",
        "counter",
        "Advertisements sent.",
    );
    for r in &s.routers {
        m.sample(&[("vrid", &r.vrid.to_string())], r.adverts_sent);
    }
    m.family(
        "vrrpd_adverts_received_total",
        "counter",
        "Valid advertisements received.",
    );
    for r in &s.routers {
        m.sample(&[("vrid", &r.vrid.to_string())], r.adverts_received);
    }
    m.family(
        "vrrpd_address_mismatches_total",
        "counter",
        "Valid advertisements that listed other virtual addresses than ours.",
    );
    for r in &s.routers {
        m.sample(&[("vrid", &r.vrid.to_string())], r.address_mismatches);
    }
    m.family(
        "vrrpd_adverts_dropped_total",
        "counter",
        "Advertisements for a configured virtual router dropped, by reason.",
    );
    for r in &s.routers {
        let vrid = r.vrid.to_string();
        for (reason, n) in &r.drops {
            m.sample(&[("vrid", &vrid), ("reason", reason)], *n);
        }
    }
    m.family(
        "vrrpd_adverts_dropped_unmatched_total",
        "counter",
        "Advertisements dropped before they matched a virtual router, by reason.",
    );
    for (reason, n) in &s.unmatched_drops {
        m.sample(&[("reason", reason)], *n);
    }
    datapath_metrics(&mut m, &s.datapath, &s.uplinks);
    m.family(
        "vrrpd_check_up",
        "gauge",
        "1 while a health check is up, 0 while down or not yet decided.",
    );
    for c in &s.checks {
        m.sample(&[("check", &c.name)], (c.up == Some(true)).into());
    }
    m.family(
        "vrrpd_check_changes_total",
        "counter",
        "Debounced health check state changes.",
    );
    for c in &s.checks {
        m.sample(&[("check", &c.name)], c.changes);
    }
    m.out
}

#[derive(Default)]
struct Metrics {
    out: String,
    name: &'static str,
}

impl Metrics {
    fn family(&mut self, name: &'static str, kind: &str, help: &str) {
        self.name = name;
        let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\\', "\\\\"));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{v}\"");
            }
            self.out.push('}');
        }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        self.labels(labels);
        let _ = writeln!(self.out, " {value}");
    }

    fn sample_f(&mut self, labels: &[(&str, &str)], value: f64) {
        self.labels(labels);
        let _ = writeln!(self.out, " {value}");
    }
}

// ---------------------------------------------------------------------------------------------
// Server.

/// Connections served at once. The endpoint is for an operator and a metrics scraper, so a
/// few suffice; beyond this the oldest connection is closed to make room for the new one, so
/// that clients which connect and send nothing cannot lock the endpoint out (a finished
/// request takes milliseconds, so a real client is never the oldest for long), and the daemon's
/// descriptors stay bounded for its checks, hooks and sockets.
pub const MAX_CONNECTIONS: usize = 64;

/// Largest request head (request line and headers) read; a longer one is answered 431 and the
/// connection closed. hyper's smallest allowed buffer is 8 KiB.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Time a client has to send a complete request head, from the start of the connection or of
/// each further request on it; a client that trickles bytes (slowloris) is cut off after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `handle` on `listener` until the future is dropped. Each connection runs on its own
/// task so that one slow client cannot stall another; runs on a current-thread runtime. The
/// limits are [`MAX_CONNECTIONS`], [`MAX_REQUEST_HEAD`] and [`HEADER_READ_TIMEOUT`]; request
/// bodies are never read (every path is a GET), so a body's size does not matter.
pub async fn serve(listener: TcpListener, handle: StatusHandle) {
    // Oldest first.
    let mut open: VecDeque<tokio::task::AbortHandle> = VecDeque::new();
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "status endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        open.retain(|c| !c.is_finished());
        if open.len() >= MAX_CONNECTIONS
            && let Some(oldest) = open.pop_front()
        {
            // Dropping the connection's future closes its socket.
            oldest.abort();
            tracing::debug!("status endpoint: too many connections, closed the oldest");
        }
        let handle = handle.clone();
        let task = tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(respond(&req, &handle).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_REQUEST_HEAD)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "status endpoint: connection error");
            }
        });
        open.push_back(task.abort_handle());
    }
}

async fn respond(req: &Request<Incoming>, handle: &StatusHandle) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("static response parts are valid")
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET\n".into(),
        );
    }
    match req.uri().path() {
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page::PAGE.into(),
        ),
        "/status" => {
            let json = serde_json::to_string_pretty(&handle.fresh().await)
                .expect("the snapshot always serializes");
            reply(StatusCode::OK, "application/json", json + "\n")
        }
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            render_metrics(&handle.fresh().await),
        ),
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /, /status, /metrics or /healthz\n".into(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Client (`vrrpd status`).

/// Why `vrrpd status` could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "nothing is listening on {addr} ({source}): is vrrpd running, with status.listen = \"{addr}\"?"
    )]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr} did not answer within 3 s")]
    Timeout { addr: SocketAddr },
    #[error("HTTP error talking to {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: hyper::Error,
    },
    #[error("{addr}{path} answered {status}")]
    Status {
        addr: SocketAddr,
        path: String,
        status: StatusCode,
    },
    #[error("{addr}{path} sent a body vrrpd cannot read: {reason}")]
    Body {
        addr: SocketAddr,
        path: String,
        reason: String,
    },
}

const TIMEOUT: Duration = Duration::from_secs(3);

/// GETs `path` from the status endpoint at `addr`.
pub async fn fetch(addr: SocketAddr, path: &str) -> Result<String, ClientError> {
    tokio::time::timeout(TIMEOUT, fetch_inner(addr, path))
        .await
        .unwrap_or(Err(ClientError::Timeout { addr }))
}

async fn fetch_inner(addr: SocketAddr, path: &str) -> Result<String, ClientError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| ClientError::Connect { addr, source })?;
    let http = |source| ClientError::Http { addr, source };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let conn = tokio::spawn(conn);
    let req = Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("static request parts are valid");
    let resp = sender.send_request(req).await.map_err(http)?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), 4 << 20)
        .collect()
        .await
        .map_err(|e| ClientError::Body {
            addr,
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .to_bytes();
    conn.abort();
    if status != StatusCode::OK {
        return Err(ClientError::Status {
            addr,
            path: path.to_owned(),
            status,
        });
    }
    String::from_utf8(body.to_vec()).map_err(|e| ClientError::Body {
        addr,
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// `vrrpd status` without `--json`.
pub fn render_human(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vrrpd {} on {}, up {}",
        s.version,
        if s.uplinks.is_empty() {
            s.interface.clone()
        } else {
            let names: Vec<&str> = s.uplinks.iter().map(|u| u.interface.as_str()).collect();
            names.join(", ")
        },
        crate::config::format_duration(Duration::from_secs(s.uptime_ms / 1000))
    );
    let d = &s.datapath;
    let _ = writeln!(
        out,
        "VIP traffic: {} (TAP: {} frames in, {} relayed, {} stale)",
        match d.mode.as_str() {
            "kernel" => "kernel fast path",
            "relay" => "user-space relay",
            "mixed" => "kernel fast path on some uplinks, user-space relay on others",
            _ => "not started",
        },
        d.tap_rx_frames,
        d.relayed_frames,
        d.stale_frames
    );
    if s.uplinks.len() > 1 {
        for u in &s.uplinks {
            let _ = writeln!(
                out,
                "  {}: {} (TAP: {} frames in, {} relayed, {} stale)",
                u.interface, u.mode, u.tap_rx_frames, u.relayed_frames, u.stale_frames
            );
        }
    }
    if let Some(ms) = s.last_freeze_ms {
        let _ = writeln!(out, "last freeze: {ms} ms ({} freezes)", s.freezes);
    }
    let p = &s.process;
    if !p.scheduling.is_empty() {
        let _ = writeln!(
            out,
            "process: event loop {}, memory {}",
            p.scheduling,
            if p.memory_locked {
                "locked"
            } else {
                "not locked"
            }
        );
    }
    for e in &p.errors {
        let _ = writeln!(out, "process: {e}");
    }
    for r in &s.routers {
        let _ = writeln!(
            out,
            "\nVRID {}{} (v{}): {}  priority {} (effective {})  interval {} ms  VIPs {}",
            r.vrid,
            if s.uplinks.len() > 1 {
                format!(" on {}", r.interface)
            } else {
                String::new()
            },
            r.version,
            r.state,
            r.priority,
            r.effective_priority,
            r.interval_ms,
            r.vips.join(", ")
        );
        if let Some(g) = &r.sync_group {
            let _ = writeln!(out, "  sync group: {g}");
        }
        if r.drained || r.priority_override.is_some() {
            let o = crate::control::Override {
                drained: r.drained,
                priority: r.priority_override,
            };
            let _ = writeln!(out, "  operator: {o} (vrrpd ctl)");
        }
        if let Some(t) = &r.last_transition {
            let _ = writeln!(
                out,
                "  last transition: {} -> {} ({}) at {} ms",
                t.from, t.to, t.reason, t.at_ms
            );
            if let Some(k) = &t.takeover {
                let _ = writeln!(out, "    {}", k.explain());
            }
        }
        let _ = writeln!(
            out,
            "  adverts: {} sent, {} received ({} with other addresses)",
            r.adverts_sent, r.adverts_received, r.address_mismatches
        );
        let nonzero = |m: &BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let t = nonzero(&r.transitions);
        if !t.is_empty() {
            let _ = writeln!(out, "  transitions: {t}");
        }
        let d = nonzero(&r.drops);
        if !d.is_empty() {
            let _ = writeln!(out, "  drops: {d}");
        }
    }
    if !s.checks.is_empty() {
        let _ = writeln!(out, "\nchecks:");
        for c in &s.checks {
            let state = match c.up {
                Some(true) => "up",
                Some(false) => "DOWN",
                None => "pending",
            };
            let watch = c
                .watch
                .as_ref()
                .map(|w| format!(" [{w}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<16} {:<8} {:<7} {}{watch}",
                c.name, c.kind, state, c.detail
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn snapshot() -> Snapshot {
        let text = "interface = \"eth0\"\n\
            [[vrrp]]\nvrid = 51\npriority = 150\nvips = [\"192.0.2.100\"]\ntrack = [\"nginx\"]\n\
            [[vrrp]]\nvrid = 52\nversion = 2\npriority = 100\nvips = [\"192.0.2.101\"]\n\
            [check.nginx]\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\nweight = -60\n\
            [check.\"quo-te\"]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\nfault = true\n";
        let config = crate::config::Config::parse(text, Path::new("t.toml")).unwrap();
        Snapshot::new(&config)
    }

    /// A strict reader of the text format: every sample belongs to the family announced by
    /// the HELP and TYPE lines before it, names and labels are well formed, counters end in
    /// `_total`, values parse, and no series appears twice. Returns the samples.
    fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
        let mut samples = BTreeMap::new();
        let mut family: Option<(String, String)> = None;
        let mut seen_families = std::collections::BTreeSet::new();
        let mut help_for: Option<String> = None;
        assert!(text.ends_with('\n'), "exposition must end with a newline");
        let valid_name = |n: &str| {
            !n.is_empty()
                && n.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
                })
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP has text");
                assert!(valid_name(name) && !help.is_empty(), "{line}");
                assert!(seen_families.insert(name.to_owned()), "family {name} twice");
                help_for = Some(name.to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(help_for.as_deref(), Some(name), "TYPE without HELP: {line}");
                assert!(["counter", "gauge"].contains(&kind), "{line}");
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "counter {name} lacks _total");
                }
                assert!(name.starts_with("vrrpd_"), "{name}");
                family = Some((name.to_owned(), kind.to_owned()));
            } else {
                assert!(
                    !line.starts_with('#') && !line.is_empty(),
                    "stray line {line:?}"
                );
                let (series, value) = line.rsplit_once(' ').expect("sample has a value");
                let name = series.split('{').next().unwrap();
                let (fam, _) = family.as_ref().expect("sample before TYPE");
                assert_eq!(name, fam, "sample outside its family: {line}");
                if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                    let inner = labels
                        .strip_prefix('{')
                        .and_then(|l| l.strip_suffix('}'))
                        .expect("labels in braces");
                    let mut rest = inner;
                    while !rest.is_empty() {
                        let (k, after) = rest.split_once("=\"").expect("label=\"value\"");
                        assert!(valid_name(k) && !k.starts_with("__"), "label name {k}");
                        let mut end = None;
                        let mut escaped = false;
                        for (i, c) in after.char_indices() {
                            match (escaped, c) {
                                (true, '\\' | '"' | 'n') => escaped = false,
                                (true, _) => panic!("bad escape in {line}"),
                                (false, '\\') => escaped = true,
                                (false, '"') => {
                                    end = Some(i);
                                    break;
                                }
                                (false, '\n') => panic!("raw newline"),
                                _ => {}
                            }
                        }
                        let end = end.expect("closing quote");
                        rest = &after[end + 1..];
                        rest = rest.strip_prefix(',').unwrap_or(rest);
                    }
                }
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
                assert!(
                    samples.insert(series.to_owned(), v).is_none(),
                    "duplicate {series}"
                );
            }
        }
        samples
    }

    #[test]
    fn exposition_is_well_formed_and_complete() {
        let mut s = snapshot();
        s.routers[0].record_transition(
            State::Initialize,
            State::Backup,
            Reason::Startup,
            Duration::ZERO,
            None,
        );
        s.routers[0].record_transition(
            State::Backup,
            State::Active,
            Reason::ActiveDown,
            Duration::from_secs(3),
            None,
        );
        let mut drops = [0; DropReason::ALL.len()];
        drops[DropReason::Checksum.index()] = 2;
        let stats = Stats {
            adverts_sent: 7,
            address_mismatches: 5,
            drops,
            ..Stats::default()
        };
        s.routers[0].set_stats(&stats);
        s.process = crate::process::ProcessStatus {
            scheduling: "SCHED_RR 10".into(),
            memory_locked: true,
            errors: Vec::new(),
        };
        s.record_check("nginx", true, "200 OK");
        s.record_check("quo-te", false, "refused \"x\"\n");
        s.record_freeze(Duration::from_millis(2500));
        s.count_unmatched_drop(DropReason::Vrid);
        let uplink = |name: &str, n: u64| DatapathStatus {
            interface: name.into(),
            mode: "kernel".into(),
            tap_rx_frames: 20 * n,
            tap_tx_frames: 15 * n,
            uplink_tx_frames: 12 * n,
            uplink_tx_errors: 2 * n,
            relayed_frames: n + 1,
            stale_frames: n,
            fastpath_errors: n,
        };
        // Two uplinks: the totals are their sums.
        s.uplinks = vec![uplink("eth0", 1), uplink("eth1", 1)];
        s.routers[1].interface = "eth1".into();
        s.routers[1].sync_group = Some("edge".into());
        s.sum_uplinks();
        let m = parse_exposition(&render_metrics(&s));
        let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("missing {k}"));
        assert_eq!(get(r#"vrrpd_router_state{vrid="51",state="Active"}"#), 1.0);
        assert_eq!(get(r#"vrrpd_router_state{vrid="51",state="Backup"}"#), 0.0);
        assert_eq!(
            get(r#"vrrpd_router_state{vrid="52",state="Initialize"}"#),
            1.0
        );
        assert_eq!(
            get(r#"vrrpd_transitions_total{vrid="51",reason="active_down"}"#),
            1.0
        );
        assert_eq!(
            get(r#"vrrpd_transitions_total{vrid="52",reason="fault"}"#),
            0.0
        );
        assert_eq!(get(r#"vrrpd_adverts_sent_total{vrid="51"}"#), 7.0);
        assert_eq!(get(r#"vrrpd_address_mismatches_total{vrid="51"}"#), 5.0);
        assert_eq!(get("vrrpd_realtime_priority"), 10.0);
        assert_eq!(get("vrrpd_memory_locked"), 1.0);
        assert_eq!(
            get(r#"vrrpd_adverts_dropped_total{vrid="51",reason="checksum"}"#),
            2.0
        );
        for reason in DropReason::ALL {
            get(&format!(
                r#"vrrpd_adverts_dropped_total{{vrid="52",reason="{}"}}"#,
                reason.as_str()
            ));
        }
        assert_eq!(
            get(r#"vrrpd_adverts_dropped_unmatched_total{reason="vrid"}"#),
            1.0
        );
        assert_eq!(get(r#"vrrpd_check_up{check="nginx"}"#), 1.0);
        assert_eq!(get(r#"vrrpd_check_up{check="quo-te"}"#), 0.0);
        assert_eq!(get("vrrpd_last_freeze_seconds"), 2.5);
        assert_eq!(get("vrrpd_router_effective_priority{vrid=\"51\"}"), 150.0);
        assert_eq!(get(r#"vrrpd_datapath_mode{mode="kernel"}"#), 1.0);
        assert_eq!(get(r#"vrrpd_datapath_mode{mode="relay"}"#), 0.0);
        assert_eq!(get(r#"vrrpd_tap_frames_total{direction="rx"}"#), 40.0);
        assert_eq!(get(r#"vrrpd_tap_frames_total{direction="tx"}"#), 30.0);
        assert_eq!(get("vrrpd_relayed_frames_total"), 4.0);
        assert_eq!(get("vrrpd_uplink_tx_frames_total"), 24.0);
        assert_eq!(get("vrrpd_uplink_tx_errors_total"), 4.0);
        assert_eq!(get("vrrpd_stale_frames_total"), 2.0);
        assert_eq!(get("vrrpd_fastpath_errors_total"), 2.0);
        assert_eq!(
            get(r#"vrrpd_router_uplink{vrid="51",interface="eth0"}"#),
            1.0
        );
        assert_eq!(
            get(r#"vrrpd_router_uplink{vrid="52",interface="eth1"}"#),
            1.0
        );
        assert_eq!(
            get(r#"vrrpd_uplink_datapath_mode{interface="eth1",mode="kernel"}"#),
            1.0
        );
        let human = render_human(&s);
        assert!(
            human.contains("VIP traffic: kernel fast path (TAP: 40 frames in, 4 relayed, 2 stale)"),
            "{human}"
        );
        assert!(human.contains("on eth0, eth1, up"), "{human}");
        assert!(human.contains("\nVRID 52 on eth1 (v2)"), "{human}");
        assert!(human.contains("\n  sync group: edge\n"), "{human}");
        // One uplink on the relay: the total says so, each uplink its own.
        s.uplinks[1].mode = "relay".into();
        s.sum_uplinks();
        let m = parse_exposition(&render_metrics(&s));
        assert_eq!(m[r#"vrrpd_datapath_mode{mode="kernel"}"#], 0.0);
        assert_eq!(m[r#"vrrpd_datapath_mode{mode="relay"}"#], 0.0);
        assert_eq!(
            m[r#"vrrpd_uplink_datapath_mode{interface="eth0",mode="kernel"}"#],
            1.0
        );
        assert_eq!(
            m[r#"vrrpd_uplink_datapath_mode{interface="eth1",mode="relay"}"#],
            1.0
        );
        assert_eq!(s.datapath.mode, "mixed");
        assert!(
            render_human(&s).contains("kernel fast path on some uplinks"),
            "{}",
            render_human(&s)
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut m = Metrics::default();
        m.family("vrrpd_x", "gauge", "x");
        m.sample(&[("check", "a\"b\\c\nd")], 1);
        assert_eq!(
            m.out.lines().last(),
            Some(r#"vrrpd_x{check="a\"b\\c\nd"} 1"#)
        );
        parse_exposition(&m.out);
    }

    #[test]
    fn snapshot_round_trips_through_json() {
        let mut s = snapshot();
        s.record_freeze(Duration::from_millis(10));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), s);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn server_answers_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = StatusHandle::new(snapshot());
        let server = tokio::spawn(serve(listener, handle.clone()));

        let json: Snapshot = serde_json::from_str(&fetch(addr, "/status").await.unwrap()).unwrap();
        assert_eq!(json.routers[0].state, "Initialize");

        handle.update(|s| {
            s.router_mut(51).unwrap().record_transition(
                State::Initialize,
                State::Backup,
                Reason::Startup,
                Duration::ZERO,
                None,
            )
        });
        let json: Snapshot = serde_json::from_str(&fetch(addr, "/status").await.unwrap()).unwrap();
        assert_eq!(
            json.routers[0].state, "Backup",
            "the server reads the live snapshot"
        );

        let metrics = fetch(addr, "/metrics").await.unwrap();
        let m = parse_exposition(&metrics);
        assert_eq!(m[r#"vrrpd_router_state{vrid="51",state="Backup"}"#], 1.0);
        assert_eq!(fetch(addr, "/healthz").await.unwrap(), "ok\n");
        match fetch(addr, "/nope").await {
            Err(ClientError::Status { status, .. }) => assert_eq!(status, StatusCode::NOT_FOUND),
            other => panic!("{other:?}"),
        }
        server.abort();
    }

    /// Status line, headers (lower-case names) and body of a raw `GET path` to `addr`.
    async fn raw_get(addr: SocketAddr, path: &str) -> (String, BTreeMap<String, String>, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        let mut lines = head.lines();
        let status = lines.next().unwrap().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        (status, headers, body.to_owned())
    }

    /// A handle whose refresh plays the event loop: each request copies `received` adverts
    /// into router 51 and answers.
    fn refreshed_by_a_loop(received: u64) -> StatusHandle {
        let handle = StatusHandle::new(snapshot());
        let writes = handle.clone();
        handle.set_refresh(Box::new(move || {
            let (tx, rx) = tokio::sync::oneshot::channel();
            writes.update(|s| s.router_mut(51).unwrap().adverts_received = received);
            let _ = tx.send(());
            rx
        }));
        handle
    }

    /// `/status` and `/metrics` ask the event loop for its counters before they answer: what
    /// they show is the copy made for them, not whatever an earlier turn left.
    #[tokio::test(flavor = "current_thread")]
    async fn status_and_metrics_ask_the_loop_for_its_counters_first() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, refreshed_by_a_loop(4242)));
        let (_, _, body) = raw_get(addr, "/status").await;
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["routers"][0]["adverts_received"], 4242, "{body}");
        let (_, _, metrics) = raw_get(addr, "/metrics").await;
        assert!(
            metrics.contains(r#"vrrpd_adverts_received_total{vrid="51"} 4242"#),
            "{metrics}"
        );
        server.abort();
    }

    /// A loop that does not answer costs a reader [`REFRESH_WAIT`], then the snapshot as it
    /// is; one that is gone (the request dropped) costs nothing.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_loop_that_does_not_answer_delays_a_reader_by_the_wait_only() {
        let stuck = StatusHandle::new(snapshot());
        let held = Arc::new(Mutex::new(Vec::new()));
        let holds = held.clone();
        stuck.set_refresh(Box::new(move || {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            holds.lock().unwrap().push(tx);
            rx
        }));
        let t0 = tokio::time::Instant::now();
        let s = stuck.fresh().await;
        assert_eq!(t0.elapsed(), REFRESH_WAIT);
        assert_eq!(s.routers[0].adverts_received, 0);
        assert_eq!(held.lock().unwrap().len(), 1, "the loop was asked once");

        let gone = StatusHandle::new(snapshot());
        gone.set_refresh(Box::new(|| tokio::sync::oneshot::channel::<()>().1));
        let t0 = tokio::time::Instant::now();
        gone.fresh().await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }

    /// `GET /` is the page, as HTML, and carries no reference to anything outside it.
    #[tokio::test(flavor = "current_thread")]
    async fn root_serves_the_self_contained_page() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, StatusHandle::new(snapshot())));
        let (status, headers, body) = raw_get(addr, "/").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(body, page::PAGE);
        let lower = body.to_ascii_lowercase();
        assert!(
            !lower.contains("http://") && !lower.contains("https://"),
            "external reference in the page"
        );
        assert!(
            lower.contains("fetch(\"/status\""),
            "the page renders /status"
        );
        // Only the root: other unknown paths stay 404.
        let (status, _, _) = raw_get(addr, "/index.html").await;
        assert_eq!(status, "HTTP/1.1 404 Not Found");
        server.abort();
    }

    /// The timeline's lists keep the last RECENT entries, oldest first, and date the freezes on
    /// the handle's clock.
    #[test]
    fn recent_transitions_and_freezes_are_bounded() {
        let handle = StatusHandle::new(snapshot());
        handle.update(|s| {
            let r = s.router_mut(51).unwrap();
            for i in 0..RECENT as u64 + 3 {
                let (from, to) = if i % 2 == 0 {
                    (State::Backup, State::Active)
                } else {
                    (State::Active, State::Backup)
                };
                r.record_transition(from, to, Reason::ActiveDown, Duration::from_secs(i), None);
            }
            for i in 0..RECENT as u64 + 1 {
                s.record_freeze(Duration::from_millis(100 + i));
            }
        });
        let s = handle.get();
        let r = &s.routers[0];
        assert_eq!(r.recent_transitions.len(), RECENT);
        assert_eq!(r.recent_transitions[0].at_ms, 3000, "the oldest 3 dropped");
        assert_eq!(r.recent_transitions.back(), r.last_transition.as_ref());
        assert_eq!(r.transitions["active_down"], RECENT as u64 + 3);
        assert!(s.routers[1].recent_transitions.is_empty());
        assert_eq!(s.recent_freezes.len(), RECENT);
        assert_eq!(s.recent_freezes[0].length_ms, 101);
        assert_eq!(
            s.recent_freezes.back().unwrap().length_ms,
            100 + RECENT as u64
        );
        assert!(s.recent_freezes.iter().all(|f| f.at_ms <= s.uptime_ms));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["recent_freezes"][0]["length_ms"], 101);
        assert_eq!(json["routers"][0]["recent_transitions"][0]["to"], "Backup");
        assert_eq!(
            json["routers"][0]["last_advert_from"],
            serde_json::Value::Null
        );
        assert!(json.get("clock").is_none());
        assert_eq!(serde_json::from_value::<Snapshot>(json).unwrap(), s);
    }

    /// Clients that connect and send nothing hold no more than MAX_CONNECTIONS descriptors,
    /// and cannot keep a real client out; a request head over MAX_REQUEST_HEAD is refused.
    #[tokio::test(flavor = "current_thread")]
    async fn idle_and_oversized_clients_do_not_lock_the_endpoint_out() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, StatusHandle::new(snapshot())));

        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS * 3 {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        assert_eq!(fetch(addr, "/healthz").await.unwrap(), "ok\n");
        // The server closed the oldest idle ones to make room: they read end-of-file.
        let mut closed = 0;
        for s in &mut idle {
            let mut b = [0u8; 1];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(20), s.read(&mut b)).await
            {
                closed += 1;
            }
        }
        assert!(
            closed >= MAX_CONNECTIONS * 2,
            "{closed} of {} idle connections closed",
            idle.len()
        );

        let mut big = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(MAX_REQUEST_HEAD * 4)
        );
        // The server may close before it has read everything; what it answers is the point.
        let _ = big.write_all(head.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = big.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
        assert!(
            !answer.contains("routers"),
            "no status for an oversized request"
        );
        server.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn client_reports_nothing_listening() {
        // Bound then dropped: a loopback port that nobody listens on.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = fetch(addr, "/status").await.unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains("is vrrpd running"), "{err}");
    }

    #[test]
    fn human_rendering_names_state_and_checks() {
        let mut s = snapshot();
        s.record_check("nginx", false, "connection refused");
        let text = render_human(&s);
        assert!(
            text.contains("VRID 51 (v3): Initialize  priority 150"),
            "{text}"
        );
        assert!(
            text.contains("nginx") && text.contains("DOWN") && text.contains("connection refused"),
            "{text}"
        );
        assert!(
            text.contains("quo-te") && text.contains("pending"),
            "{text}"
        );
    }

    /// A takeover for Active_Down_Interval carries the core's figures into the JSON and the
    /// human status: the wait, how late the timer fired, the last advert heard.
    #[test]
    fn takeover_is_explained_in_the_status() {
        use std::net::{IpAddr, Ipv4Addr};
        use vrrp_core::{DownWait, Heard, Instant as At, Takeover};
        let us = At::from_micros;
        let t: Takeover<IpAddr> = Takeover {
            wait: DownWait::ActiveDownInterval,
            deadline: us(5_609_375),
            fired: us(5_611_375),
            last_advert: Some(Heard {
                source: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
                priority: 200,
                at: us(2_000_000),
            }),
        };
        let mut s = snapshot();
        s.routers[0].record_transition(
            State::Backup,
            State::Active,
            Reason::ActiveDown,
            Duration::from_secs(6),
            Some(TakeoverStatus::new(&t)),
        );
        let json = serde_json::to_value(&s).unwrap();
        let k = &json["routers"][0]["last_transition"]["takeover"];
        assert_eq!(k["wait"], "active_down_interval");
        assert_eq!(k["deadline_ms"], 5609.375);
        assert_eq!(k["late_ms"], 2.0);
        assert_eq!(k["last_advert"]["source"], "192.0.2.11");
        assert_eq!(k["last_advert"]["priority"], 200);
        assert_eq!(k["last_advert"]["before_ms"], 3611.375);
        let back: Snapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        let text = render_human(&s);
        assert!(
            text.contains(
                "took over: active_down_interval expired at 5609.4 ms, timer handled 2.000 ms \
                 late; last advert from 192.0.2.11 (priority 200) 3611.4 ms before"
            ),
            "{text}"
        );
        // Other transitions carry none.
        s.routers[0].record_transition(
            State::Active,
            State::Backup,
            Reason::HigherPriority,
            Duration::from_secs(7),
            None,
        );
        let json = serde_json::to_value(&s).unwrap();
        assert!(
            json["routers"][0]["last_transition"]
                .get("takeover")
                .is_none()
        );
    }

    #[test]
    fn process_checks_show_how_they_are_woken() {
        let text = "interface = \"eth0\"\n\
            [[vrrp]]\nvrid = 51\npriority = 150\nvips = [\"192.0.2.100\"]\n\
            [check.web]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\nfault = true\n\
            [check.nginx]\nkind = \"process\"\nname = \"nginx\"\nfault = true\n";
        let config = crate::config::Config::parse(text, Path::new("t.toml")).unwrap();
        let mut s = Snapshot::new(&config);
        let watch = |s: &Snapshot| {
            s.checks
                .iter()
                .map(|c| (c.name.clone(), c.watch.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            watch(&s),
            [
                ("nginx".into(), Some("polling".into())),
                ("web".into(), None)
            ]
        );
        s.record_process_watch("events");
        assert_eq!(
            watch(&s),
            [
                ("nginx".into(), Some("events".into())),
                ("web".into(), None)
            ]
        );
        s.record_check("nginx", true, "pid 7");
        assert!(
            render_human(&s).contains("pid 7 [events]"),
            "{}",
            render_human(&s)
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json.matches("\"watch\"").count(), 1, "{json}");
        assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), s);
    }
}
