//! The event loop: the core's virtual routers on a TAP bridged with the uplink.
//!
//! One current-thread tokio runtime, one `select!` over signals, TAP readiness, health changes
//! and the earliest deadline of any router. Every turn ends with [`Daemon::poll`], which drives
//! each router's smoltcp stack and then acts on what the routers reported (relay table, logs,
//! hooks, status).
//!
//! The VIPs are local addresses on `lo` for the daemon's whole life, not only while Active: the
//! kernel never answers ARP for them (`arp_ignore`), nothing reaches them unless the relay serves
//! them, and a takeover then costs no netlink round trip on the failover path.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration as StdDuration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, error, info, info_span, warn};
use vrrp_core::{Instant, State};

use crate::cli::{RunError, RunOptions};
use crate::config::{Config, RouterConfig};
use crate::health::{self, HealthChecks, HealthEvent, HealthTable};
use crate::hooks::{Hooks, StateEvent};
use crate::layout::{self, Layout, LayoutSpec};
use crate::relay::{self, Relay};
use crate::stack::{self, AnyStack, Event};
use crate::status::{self, Snapshot, StatusHandle};
use crate::sysctl;
use crate::tap::{self, Tap};
use crate::timer::{Clock, Timer};
use crate::unicast::{self, Received6, Unicast6Socket, UnicastSocket};

/// A wake-up this much later than the deadline the loop slept towards is reported as a freeze
/// (SIGSTOP, `docker pause`, a stalled VM). Scheduling noise on a busy host stays far below it.
const FREEZE_THRESHOLD: StdDuration = StdDuration::from_millis(100);

/// A timer wake-up this late may have raced the TAP's readiness (see the timer arm in `run`).
const LATE_WAKE: StdDuration = StdDuration::from_millis(2);

/// Runs the daemon until SIGTERM / SIGINT, on its own current-thread runtime.
pub fn run(cfg: Config, opts: RunOptions) -> Result<(), RunError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut daemon = Daemon::start(cfg, opts).await?;
        let result = daemon.run().await;
        daemon.stop().await;
        result
    })
}

struct Router {
    cfg: RouterConfig,
    stack: AnyStack,
    vips: Vec<IpAddr>,
    /// Left Initialize. A router waits for its tracked checks' first verdicts (see
    /// [`Daemon::start_routers`]).
    started: bool,
    /// The status shows a new primary address (set by a reload that rebuilt the router).
    primary_changed: bool,
}

impl Router {
    fn new(
        cfg: RouterConfig,
        primary: IpAddr,
        tap: &mut Tap,
        now: Instant,
    ) -> Result<Router, RunError> {
        let core = cfg.to_core(primary)?;
        let vips = core.vips();
        let mut stack = stack::new_stack(core, tap, now)
            .map_err(|e| RunError::Setup(format!("vrid {}: {e}", cfg.vrid())))?;
        // Unicast adverts leave through the kernel (see `unicast`), multicast ones through the TAP.
        stack.set_unicast_delegate(true);
        Ok(Router {
            cfg,
            stack,
            vips,
            started: false,
            primary_changed: true,
        })
    }

    fn vrid(&self) -> u8 {
        self.cfg.vrid()
    }
}

struct Daemon {
    cfg: Config,
    opts: RunOptions,
    clock: Clock,
    tap: Tap,
    layout: Option<Layout>,
    relay: Relay,
    routers: Vec<Router>,
    health: HealthTable,
    _checks: HealthChecks,
    health_rx: mpsc::Receiver<HealthEvent>,
    hooks: Option<Hooks>,
    status: StatusHandle,
    child: Option<Supervised>,
    /// Until then, routers wait for their tracked checks' first verdicts.
    startup_deadline: Option<Instant>,
    timer: Timer,
    /// Present when some IPv4 router has unicast peers.
    unicast: Option<UnicastSocket>,
    /// Present when some IPv6 router has unicast peers.
    unicast6: Option<Unicast6Socket>,
    unicast_errors: u64,
    /// Unicast advert packets read but not yet handed to their router.
    inbox: Vec<Vec<u8>>,
    /// The same for IPv6 routers: the messages with the IP header's fields.
    inbox6: Vec<Received6>,
    /// Events drained from the stacks during one poll, tagged with their VRID.
    events: Vec<(u8, Event)>,
}

/// How long the first verdict of every check can take: `max(rise, fall)` probes, the last one
/// timing out, plus scheduling slack.
fn first_verdicts(cfg: &Config) -> StdDuration {
    cfg.checks
        .iter()
        .map(|c| c.interval * c.rise.max(c.fall) + c.timeout)
        .max()
        .unwrap_or_default()
        + StdDuration::from_millis(200)
}

/// Where the layout's state file lives: one directory per network namespace, since `eth0` in one
/// namespace is not `eth0` in another and `/run` may be shared between them (several nodes on one
/// host, as in the tests; containers usually have their own `/run`).
fn state_dir() -> Result<std::path::PathBuf, RunError> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/net")
        .map_err(|e| RunError::Setup(format!("/proc/self/ns/net: {e}")))?;
    Ok(std::path::Path::new(layout::DEFAULT_STATE_DIR).join(format!("netns-{}", ns.ino())))
}

/// Interface names for the uplink's bridge and TAP (at most 15 bytes each).
fn names(uplink: &str) -> (String, String) {
    let short: String = uplink.chars().take(11).collect();
    (format!("vbr-{short}"), format!("vtap-{short}"))
}

impl Daemon {
    async fn start(cfg: Config, opts: RunOptions) -> Result<Daemon, RunError> {
        let (bridge, tap_name) = names(&cfg.interface);
        // Before touching any interface: a read-only /proc/sys must not leave the uplink bridged.
        let changed =
            sysctl::ensure_vip_sysctls(&bridge).map_err(|e| RunError::Setup(e.to_string()))?;
        for c in changed {
            info!("sysctl {c}");
        }
        let mut spec = LayoutSpec::new(&cfg.interface, &bridge, &tap_name);
        spec.state_dir = state_dir()?;
        let mtu = layout::uplink_mtu(&cfg.interface)
            .await
            .map_err(|e| RunError::Setup(format!("uplink {}: {e}", cfg.interface)))?;
        let mut tap = Tap::open(&tap_name, mtu as usize, tap::DEFAULT_BATCH)
            .map_err(|e| RunError::Setup(format!("TAP {tap_name} (/dev/net/tun): {e}")))?;
        let mut layout = Layout::apply(&spec)
            .await
            .map_err(|e| RunError::Setup(format!("interface layout: {e}")))?;
        info!(uplink = %cfg.interface, %bridge, tap = %tap.name(), "bridged the uplink with the TAP");

        // From here on a failure must put the uplink back as it was.
        match Self::setup(&cfg, &mut layout, &mut tap).await {
            Ok((routers, clock)) => {
                let status = StatusHandle::new(Snapshot::new(&cfg));
                let listener = tokio::net::TcpListener::bind(cfg.status_listen)
                    .await
                    .map_err(|e| {
                        RunError::Setup(format!("status.listen {}: {e}", cfg.status_listen))
                    });
                let listener = match listener {
                    Ok(l) => l,
                    Err(e) => {
                        Self::undo(&routers, layout).await;
                        return Err(e);
                    }
                };
                tokio::spawn(status::serve(listener, status.clone()));
                let (tx, health_rx) = mpsc::channel(64);
                let mut checks = health::spawn(&cfg.checks, tx);
                checks.report_mode(&status);
                tap.set_report_mac(layout.bridge_mac());
                let relay = Relay::new(layout.bridge_mac());
                let mut daemon = Daemon {
                    health: HealthTable::new(&cfg),
                    hooks: Some(Hooks::spawn(&cfg.notify, &cfg.interface)),
                    cfg,
                    opts,
                    clock,
                    tap,
                    layout: Some(layout),
                    relay,
                    routers,
                    _checks: checks,
                    health_rx,
                    status,
                    child: None,
                    startup_deadline: None,
                    timer: Timer::new()?,
                    unicast: None,
                    unicast6: None,
                    inbox: Vec::new(),
                    inbox6: Vec::new(),
                    unicast_errors: 0,
                    events: Vec::new(),
                };
                let with_peers = |v6: bool| {
                    daemon
                        .routers
                        .iter()
                        .any(|r| r.cfg.core.is_v6() == v6 && !r.cfg.core.peers().is_empty())
                };
                let (need4, need6) = (with_peers(false), with_peers(true));
                let opened = (|| -> std::io::Result<()> {
                    if need4 {
                        daemon.unicast = Some(UnicastSocket::open()?);
                    }
                    if need6 {
                        daemon.unicast6 = Some(Unicast6Socket::open(&bridge)?);
                    }
                    Ok(())
                })();
                if let Err(e) = opened {
                    daemon.stop().await;
                    return Err(RunError::Setup(format!(
                        "raw socket for unicast adverts (peers): {e}"
                    )));
                }
                if let Some(sv) = daemon.cfg.supervise.clone() {
                    match Supervised::spawn(&sv) {
                        Ok(c) => daemon.child = Some(c),
                        Err(e) => {
                            daemon.stop().await;
                            return Err(e);
                        }
                    }
                }
                daemon.startup_deadline = Some(
                    daemon.clock.now()
                        + vrrp_core::Duration::from_micros(
                            first_verdicts(&daemon.cfg).as_micros() as u64
                        ),
                );
                daemon.start_routers(false);
                Ok(daemon)
            }
            Err(e) => {
                if let Err(re) = layout.restore().await {
                    error!("restoring the interface layout after a failed start: {re}");
                }
                Err(e)
            }
        }
    }

    /// The part of the start that needs the layout in place: routers, VIPs on `lo`.
    async fn setup(
        cfg: &Config,
        layout: &mut Layout,
        tap: &mut Tap,
    ) -> Result<(Vec<Router>, Clock), RunError> {
        let clock = Clock::start();
        let mut routers = Vec::new();
        for rc in &cfg.routers {
            check_peers(layout, rc)?;
            let primary = primary_address(layout, rc)?;
            routers.push(Router::new(rc.clone(), primary, tap, clock.now())?);
        }
        let all_vips: Vec<IpAddr> = routers.iter().flat_map(|r| r.vips.clone()).collect();
        let stale = layout
            .remove_stale_vips(&all_vips)
            .await
            .map_err(|e| RunError::Setup(format!("removing stale VIPs from lo: {e}")))?;
        if !stale.is_empty() {
            warn!(?stale, "removed VIPs an earlier run left on lo");
        }
        for vip in all_vips.iter().filter(|v| relay::on_lo(**v)) {
            layout
                .add_vip(*vip)
                .await
                .map_err(|e| RunError::Setup(format!("adding VIP {vip} to lo: {e}")))?;
        }
        Ok((routers, clock))
    }

    async fn undo(routers: &[Router], mut layout: Layout) {
        for vip in routers.iter().flat_map(|r| r.vips.iter()) {
            if !relay::on_lo(*vip) {
                continue;
            }
            if let Err(e) = layout.remove_vip(*vip).await {
                error!("removing VIP {vip} from lo: {e}");
            }
        }
        if let Err(e) = layout.restore().await {
            error!("restoring the interface layout: {e}");
        }
    }

    async fn run(&mut self) -> Result<(), RunError> {
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sighup = signal(SignalKind::hangup())?;
        // Whatever startup queued (an owner's advert) goes out before the first wait.
        self.poll().await;
        loop {
            let now = self.clock.now();
            let deadline = self
                .routers
                .iter_mut()
                .filter_map(|r| r.stack.poll_at(now))
                .min()
                .unwrap_or(now + vrrp_core::Duration::from_secs(1));
            let wake = self.startup_deadline.map_or(deadline, |d| d.min(deadline));
            let clock = self.clock;
            tokio::select! {
                biased;
                _ = sigterm.recv() => {
                    info!("SIGTERM: stepping down and exiting");
                    return Ok(());
                }
                _ = sigint.recv() => {
                    info!("SIGINT: stepping down and exiting");
                    return Ok(());
                }
                _ = sighup.recv() => self.reload().await,
                r = self.tap.recv_batch() => {
                    if let Err(e) = r {
                        return Err(RunError::Other(format!("TAP {}: {e}", self.tap.name()).into()));
                    }
                    self.ingest();
                }
                Some(ev) = self.health_rx.recv() => self.health_changed(ev),
                r = recv_unicast(&mut self.unicast, &mut self.inbox) => {
                    if let Err(e) = r {
                        return Err(RunError::Other(format!("unicast advert socket: {e}").into()));
                    }
                    self.unicast_adverts();
                }
                r = recv_unicast6(&mut self.unicast6, &mut self.inbox6) => {
                    if let Err(e) = r {
                        return Err(RunError::Other(format!("IPv6 unicast advert socket: {e}").into()));
                    }
                    self.unicast_adverts();
                }
                status = wait_child(&mut self.child) => {
                    let name = self.child.as_ref().map(|c| c.name.clone()).unwrap_or_default();
                    self.child = None;
                    error!(process = %name, %status, "supervised process exited: stepping down");
                    return Err(RunError::Other(
                        format!("supervised process {name} exited ({status})").into(),
                    ));
                }
                r = self.timer.sleep_until(clock, wake) => {
                    if let Err(e) = r {
                        return Err(RunError::Other(format!("timerfd: {e}").into()));
                    }
                    if self.startup_deadline.is_some_and(|d| d <= self.clock.now()) {
                        self.start_routers(true);
                    }
                }
            }
            // After a freeze any branch can win the race (the timer, the TAP, the unicast
            // socket), so look at both queues ourselves: what the others said while we slept
            // must reach the routers before their overdue timers fire. A punctual wake-up
            // (every advert interval) skips the extra reads.
            if self.note_freeze(wake) >= LATE_WAKE {
                self.ingest();
                self.ingest_unicast_now();
            }
            self.poll().await;
        }
    }

    /// A wake-up long after the deadline means the process did not run: measure and report
    /// it. The queued frames are handled before the overdue timers either way (see `ingest`).
    /// Reads what the unicast socket has queued, without waiting.
    fn ingest_unicast_now(&mut self) {
        if let Some(u) = &mut self.unicast {
            let inbox = &mut self.inbox;
            if let Err(e) = u.try_recv_with(|p| inbox.push(p.to_vec())) {
                warn!("unicast advert socket: {e}");
            }
        }
        if let Some(u) = &mut self.unicast6 {
            let inbox = &mut self.inbox6;
            if let Err(e) = u.try_recv_with(|m| inbox.push(m)) {
                warn!("IPv6 unicast advert socket: {e}");
            }
        }
        self.unicast_adverts();
    }

    /// How late the wake-up for `deadline` is.
    fn note_freeze(&self, deadline: Instant) -> StdDuration {
        let now = self.clock.now();
        let late = StdDuration::from_micros(if now > deadline {
            (now - deadline).as_micros()
        } else {
            0
        });
        if late >= FREEZE_THRESHOLD {
            warn!(
                freeze_ms = late.as_millis() as u64,
                "resumed after a freeze; handling queued frames before overdue timers"
            );
            self.status.update(|s| s.record_freeze(late));
        }
        late
    }

    /// Reads everything the kernel queued on the TAP, batch by batch: VIP traffic goes back to
    /// the kernel through the relay, the rest to every router's stack, all before any timer is
    /// looked at.
    fn ingest(&mut self) {
        let now = self.clock.now();
        loop {
            let relay = &self.relay;
            let drained = self.tap.drain_with(|frame| relay.verdict(frame));
            debug!(
                stack = drained.stack,
                relayed = drained.relayed,
                dropped = drained.dropped,
                "frames read from the TAP"
            );
            let routers = &mut self.routers;
            let events = &mut self.events;
            self.tap.for_each_stack_frame(|dev| {
                for r in routers.iter_mut() {
                    dev.rewind();
                    let vrid = r.vrid();
                    r.stack
                        .poll_ingress(now, dev, &mut |e| events.push((vrid, e)));
                }
            });
            match self.tap.try_recv_batch() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    warn!("TAP {}: {e}", self.tap.name());
                    break;
                }
            }
        }
    }

    fn unicast_adverts(&mut self) {
        let now = self.clock.now();
        for packet in std::mem::take(&mut self.inbox) {
            let Some(i) = self.router_index(unicast::vrid_of(&packet)) else {
                continue;
            };
            let (r, events) = (&mut self.routers[i], &mut self.events);
            let vrid = r.vrid();
            r.stack
                .handle_ipv4(now, &packet, &mut self.tap, &mut |e| events.push((vrid, e)));
        }
        for m in std::mem::take(&mut self.inbox6) {
            // Multicast adverts are the TAP's: the kernel joins no ff02::12, but should anything
            // on the host join it, they must still be handled once.
            if m.dst.is_multicast() {
                continue;
            }
            let Some(i) = self.router_index(unicast::vrid_of_message(&m.message)) else {
                continue;
            };
            let (r, events) = (&mut self.routers[i], &mut self.events);
            let vrid = r.vrid();
            r.stack.handle_message(
                now,
                m.src.into(),
                m.dst.into(),
                m.hop_limit,
                &m.message,
                &mut self.tap,
                &mut |e| events.push((vrid, e)),
            );
        }
    }

    /// The router a unicast advert of `vrid` is for; an advert for none (or too short to name
    /// one) is counted as a `vrid` drop.
    fn router_index(&mut self, vrid: Option<u8>) -> Option<usize> {
        let i = self.routers.iter().position(|r| Some(r.vrid()) == vrid);
        if i.is_none() {
            self.status
                .update(|s| s.count_unmatched_drop(vrrp_core::wire::DropReason::Vrid));
        }
        i
    }

    /// Starts the routers whose tracked checks have all given a first verdict, or all of them
    /// when `force` (the deadline passed). Starting on "unknown" would make a healthy primary
    /// start with its weights applied and flip the VIP to the backup and back at every start.
    fn start_routers(&mut self, force: bool) {
        let now = self.clock.now();
        for r in self.routers.iter_mut().filter(|r| !r.started) {
            let undecided: Vec<&String> = r
                .cfg
                .track
                .iter()
                .filter(|c| self.health.state(c).is_none())
                .collect();
            if !undecided.is_empty() && !force {
                continue;
            }
            if !undecided.is_empty() {
                warn!(vrid = r.vrid(), checks = ?undecided, "starting before these checks decided: they count as down");
            }
            let p = self.health.priority(&r.cfg);
            r.stack.set_priority(now, p);
            r.stack.startup(now);
            r.started = true;
            info!(vrid = r.vrid(), priority = p, vips = ?r.vips, "virtual router started");
        }
        if self.routers.iter().all(|r| r.started) {
            self.startup_deadline = None;
        }
    }

    fn health_changed(&mut self, ev: HealthEvent) {
        info!(check = %ev.check, up = ev.up, detail = %ev.detail, "health check changed");
        self.status
            .update(|s| s.record_check(&ev.check, ev.up, &ev.detail));
        if !self.health.apply(&ev) {
            return;
        }
        if self.startup_deadline.is_some() {
            self.start_routers(false);
        }
        let now = self.clock.now();
        for r in &mut self.routers {
            let p = self.health.priority(&r.cfg);
            if p != r.stack.priority() {
                info!(
                    vrid = r.vrid(),
                    from = r.stack.priority(),
                    to = p,
                    "effective priority changed"
                );
                r.stack.set_priority(now, p);
            }
        }
    }

    /// Runs every router's timers and transmissions, then acts on what they reported.
    async fn poll(&mut self) {
        let now = self.clock.now();
        let routers = &mut self.routers;
        let events = &mut self.events;
        for r in routers.iter_mut() {
            let vrid = r.vrid();
            r.stack
                .poll(now, &mut self.tap, &mut |e| events.push((vrid, e)));
        }
        self.handle_events();
    }

    fn handle_events(&mut self) {
        for (vrid, event) in std::mem::take(&mut self.events) {
            let Some(r) = self.routers.iter().find(|r| r.vrid() == vrid) else {
                continue;
            };
            // Events arrive every advert interval; a span per event would format and allocate
            // even when nothing is logged. The VRID goes into each line instead.
            match event {
                Event::StateChange { from, to, reason } => {
                    let router = &r.stack;
                    info!(
                        vrid, %from, %to, %reason,
                        priority = router.priority(),
                        "state change"
                    );
                    if to == State::Active && r.vips.iter().all(|v| router.accepts(*v)) {
                        self.relay.serve(vrid, &r.vips);
                    } else if to == State::Active {
                        // Accept_Mode off: ARP is answered, VIP traffic is not ours to take.
                        info!(
                            vrid,
                            "accept mode off: VIP traffic is not relayed to the kernel"
                        );
                    } else {
                        self.relay.stop(vrid);
                    }
                    let uptime = self.status.uptime();
                    self.status.update(|s| {
                        if let Some(rs) = s.router_mut(vrid) {
                            rs.record_transition(from, to, reason, uptime);
                        }
                    });
                    if let Some(h) = &self.hooks {
                        h.notify(&StateEvent {
                            vrid,
                            from,
                            to,
                            reason,
                            priority: router.priority(),
                            vips: r.vips.clone(),
                        });
                    }
                }
                Event::Dropped { reason } => debug!(vrid, %reason, "advert dropped"),
                Event::AddressMismatch { source } => {
                    warn!(vrid, %source, "advert lists other virtual addresses than ours")
                }
                Event::TxDropped => warn!(vrid, "transmit queue full: frame dropped"),
                Event::UnicastAdvert { priority, dst } => {
                    let mut buf = [0u8; 1100];
                    let written = r.stack.write_advert(priority, dst, &mut buf);
                    let sent = match (written, dst, r.stack.primary()) {
                        (Some(len), IpAddr::V4(dst), _) => match &self.unicast {
                            Some(u) => u.send_to(&buf[..len], dst),
                            None => Err(std::io::Error::other("no unicast socket")),
                        },
                        // The kernel writes the IPv6 header: the message follows the core's.
                        (Some(len), IpAddr::V6(dst), IpAddr::V6(src)) => match &self.unicast6 {
                            Some(u) => u.send_to(
                                &buf[<std::net::Ipv6Addr as vrrp_core::net::NetAddress>::HEADER_LEN
                                    ..len],
                                src,
                                dst,
                            ),
                            None => Err(std::io::Error::other("no IPv6 unicast socket")),
                        },
                        _ => Err(std::io::Error::other("advert not written")),
                    };
                    match sent {
                        Ok(()) => debug!(vrid, priority, %dst, "unicast advert sent"),
                        Err(e) => {
                            self.unicast_errors += 1;
                            // Every interval would repeat it: say it once, then now and then.
                            if self.unicast_errors % 100 == 1 {
                                warn!(vrid, %dst, errors = self.unicast_errors, "unicast advert not sent: {e}");
                            }
                        }
                    }
                }
                Event::AdvertSent { priority } => debug!(vrid, priority, "advert sent"),
                Event::AdvertReceived { source, priority } => {
                    debug!(vrid, %source, priority, "advert received")
                }
                Event::Announced { frames } => debug!(vrid, frames, "VIPs announced (GARP / NA)"),
                Event::NotAccepted => {}
            }
        }
        let routers = &mut self.routers;
        self.status.update(|s| {
            for r in routers.iter_mut() {
                if let Some(rs) = s.router_mut(r.vrid()) {
                    let router = &r.stack;
                    rs.set_stats(router.stats());
                    rs.effective_priority = router.priority();
                    // Runs once per loop turn (100 times a second at 10 ms): no allocation
                    // unless something changed.
                    let state = router.state().as_str();
                    if rs.state != state {
                        rs.state = state.to_owned();
                    }
                    if rs.primary.is_none() || r.primary_changed {
                        rs.primary = Some(router.primary().to_string());
                        r.primary_changed = false;
                    }
                }
            }
        });
    }

    /// SIGHUP: re-read the config. Routers whose protocol parameters are unchanged keep running
    /// (no switchover); checks, hooks and tracking are replaced. A changed router restarts
    /// through Initialize, stepping down first if it was Active.
    async fn reload(&mut self) {
        let new = match Config::load(&self.opts.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the running config: {}", e.render());
                return;
            }
        };
        if new.interface != self.cfg.interface || new.status_listen != self.cfg.status_listen {
            error!("reload refused: interface and status.listen need a restart");
            return;
        }
        if new.supervise != self.cfg.supervise {
            warn!("reload: supervise changes take effect at the next restart");
        }
        let old_vrids: Vec<u8> = self.routers.iter().map(|r| r.vrid()).collect();
        let new_vrids: Vec<u8> = new.routers.iter().map(|r| r.vrid()).collect();
        if old_vrids != new_vrids {
            error!("reload refused: adding or removing virtual routers needs a restart");
            return;
        }
        let now = self.clock.now();
        for (r, rc) in self.routers.iter_mut().zip(&new.routers) {
            if r.cfg.same_protocol(rc) {
                r.cfg = rc.clone();
                continue;
            }
            if !rc.core.vips().into_iter().eq(r.stack.vips()) {
                warn!(
                    vrid = r.vrid(),
                    "reload changes the VIPs: lo is updated at the next restart"
                );
            }
            info!(
                vrid = r.vrid(),
                "reload changes protocol parameters: restarting this router"
            );
            let events = &mut self.events;
            let vrid = r.vrid();
            r.stack
                .shutdown(now, &mut self.tap, &mut |e| events.push((vrid, e)));
            let primary = r.stack.primary();
            match Router::new(rc.clone(), primary, &mut self.tap, now) {
                Ok(mut fresh) => {
                    fresh.stack.startup(now);
                    fresh.started = true;
                    *r = fresh;
                }
                Err(e) => error!(vrid, "reload: {e}; the router stays in Initialize"),
            }
        }
        // Checks that keep their name and definition keep their verdict: a reload must not count
        // a healthy nginx as down until its new probe has run `rise` times.
        let mut health = HealthTable::new(&new);
        for c in &new.checks {
            let same = self.cfg.checks.iter().any(|o| o == c);
            if let (true, Some(up)) = (same, self.health.state(&c.name)) {
                health.apply(&HealthEvent {
                    check: c.name.clone(),
                    up,
                    detail: "carried over the reload".into(),
                });
            }
        }
        self.health = health;
        self._checks = {
            let (tx, rx) = mpsc::channel(64);
            self.health_rx = rx;
            health::spawn(&new.checks, tx)
        };
        self._checks.report_mode(&self.status);
        if let Some(old) = self
            .hooks
            .replace(Hooks::spawn(&new.notify, &new.interface))
        {
            tokio::spawn(old.close().instrument(info_span!("old hooks")));
        }
        for r in &mut self.routers {
            let p = self.health.priority(&r.cfg);
            r.stack.set_priority(now, p);
        }
        self.cfg = new;
        info!("configuration reloaded");
        self.handle_events();
    }

    /// SIGTERM path: priority-0 adverts (a Backup takes over after Skew_Time), hooks finished,
    /// VIPs off `lo`, the uplink's layout restored.
    async fn stop(&mut self) {
        let now = self.clock.now();
        for r in &mut self.routers {
            let events = &mut self.events;
            let vrid = r.vrid();
            r.stack
                .shutdown(now, &mut self.tap, &mut |e| events.push((vrid, e)));
        }
        self.handle_events();
        if let Some(child) = self.child.take() {
            child.terminate().await;
        }
        if let Some(h) = self.hooks.take() {
            h.close().await;
        }
        if let Some(layout) = self.layout.take() {
            Self::undo(&self.routers, layout).await;
        }
        info!("stopped; interface layout restored");
    }
}

fn on_link(a: &layout::Addr, ip: Ipv4Addr) -> bool {
    let std::net::IpAddr::V4(addr) = a.addr else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - u32::from(a.prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(addr) & mask
}

/// Unicast adverts go out on the link, never through a router: a peer list in which no address
/// is on the uplink's subnets can never be reached, which is a configuration error, not
/// something to discover by a silent split brain.
fn check_peers(layout: &Layout, rc: &RouterConfig) -> Result<(), RunError> {
    // IPv6 peers are link-local (the config sees to it), on the bridge's link by definition.
    let peers: Vec<Ipv4Addr> = rc
        .core
        .peers()
        .into_iter()
        .filter_map(|p| match p {
            IpAddr::V4(p) => Some(p),
            IpAddr::V6(_) => None,
        })
        .collect();
    if peers.is_empty() {
        return Ok(());
    }
    let (near, far): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) = peers
        .iter()
        .partition(|p| layout.addresses().iter().any(|a| on_link(a, **p)));
    if near.is_empty() {
        let nets: Vec<String> = layout
            .addresses()
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix))
            .collect();
        return Err(RunError::Setup(format!(
            "vrid {}: no peer is reachable: none of {far:?} is on the uplink's subnets {nets:?} \
             (unicast adverts are sent on the link, not routed)",
            rc.vrid()
        )));
    }
    if !far.is_empty() {
        warn!(vrid = rc.vrid(), unreachable = ?far, "peers off the uplink's subnets get no adverts");
    }
    Ok(())
}

/// The router's source address: configured, or the node's own address in the VIPs' subnet.
fn primary_address(layout: &Layout, rc: &RouterConfig) -> Result<IpAddr, RunError> {
    if let Some(p) = rc.primary {
        return Ok(p);
    }
    if rc.core.is_v6() {
        return layout.link_local().map(IpAddr::V6).ok_or_else(|| {
            RunError::Setup(format!(
                "vrid {}: the uplink has no IPv6 link-local address to send adverts from; \
                 enable IPv6 on it or set vrrp.primary",
                rc.vrid()
            ))
        });
    }
    let vip = match rc.core.vips().first() {
        Some(IpAddr::V4(v)) => Some(*v),
        _ => None,
    };
    let prefix = rc.core.vip_prefix_len();
    let same_subnet = |(a, p): &(Ipv4Addr, u8)| {
        vip.is_some_and(|v| {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(*p)))
                .unwrap_or(0);
            u32::from(v) & mask == u32::from(*a) & mask
        })
    };
    let addrs: Vec<(Ipv4Addr, u8)> = layout
        .addresses()
        .iter()
        .filter_map(|a| match a.addr {
            std::net::IpAddr::V4(v) => Some((v, a.prefix)),
            std::net::IpAddr::V6(_) => None,
        })
        .collect();
    addrs
        .iter()
        .find(|a| same_subnet(a))
        .or(addrs.first())
        .map(|a| IpAddr::V4(a.0))
        .ok_or_else(|| {
            RunError::Setup(format!(
                "vrid {}: the uplink has no IPv4 address to send adverts from; set vrrp.primary",
                rc.vrid()
            ))
        })
}

/// The service vrrpd runs as its child (`[supervise]`), so that in a container one process
/// owns both and the restart policy sees either die.
struct Supervised {
    name: String,
    child: tokio::process::Child,
    grace: StdDuration,
}

impl Supervised {
    fn spawn(cfg: &crate::config::SuperviseConfig) -> Result<Supervised, RunError> {
        let name = cfg.command[0].clone();
        let child = tokio::process::Command::new(&cfg.command[0])
            .args(&cfg.command[1..])
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RunError::Setup(format!("supervise.command {name}: {e}")))?;
        info!(process = %name, pid = child.id(), "started supervised process");
        Ok(Supervised {
            name,
            child,
            grace: cfg.grace,
        })
    }

    /// SIGTERM, then SIGKILL after the grace period.
    async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid; it cannot have been reaped and reused
            // because we hold the `Child` and have not waited on it.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        match tokio::time::timeout(self.grace, self.child.wait()).await {
            Ok(Ok(status)) => info!(process = %self.name, %status, "supervised process stopped"),
            Ok(Err(e)) => warn!(process = %self.name, "waiting for the supervised process: {e}"),
            Err(_) => {
                warn!(process = %self.name, "supervised process ignored SIGTERM: killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// Reads what the IPv6 unicast socket has queued into `inbox`; never resolves without a socket.
async fn recv_unicast6(
    socket: &mut Option<Unicast6Socket>,
    inbox: &mut Vec<Received6>,
) -> std::io::Result<usize> {
    match socket {
        Some(s) => s.recv_with(|m| inbox.push(m)).await,
        None => std::future::pending().await,
    }
}

/// Reads what the unicast socket has queued into `inbox`; never resolves without a socket.
async fn recv_unicast(
    socket: &mut Option<UnicastSocket>,
    inbox: &mut Vec<Vec<u8>>,
) -> std::io::Result<usize> {
    match socket {
        Some(s) => s.recv_with(|p| inbox.push(p.to_vec())).await,
        None => std::future::pending().await,
    }
}

/// Resolves when the supervised child exits; never, when there is none.
async fn wait_child(child: &mut Option<Supervised>) -> String {
    match child {
        Some(c) => match c.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("wait failed: {e}"),
        },
        None => std::future::pending().await,
    }
}
