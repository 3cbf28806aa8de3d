//! The event loop: the core's virtual routers over the [`DataPath`].
//!
//! The main thread waits in one level-triggered epoll wait (the `poller` module) over the data
//! path's descriptors (the TAP, the unicast advert sockets) and an `eventfd` through which the
//! `services` thread (status server, health checks, hooks, the supervised service, signals)
//! hands over what it has to say, until the earliest deadline of any router (the wait's
//! timeout; a `timerfd` on kernels without `epoll_pwait2`). Every turn
//! ends with `Daemon::poll`, which runs each router's timers and then acts on what the routers
//! reported (the `events` module: the data path's VIP service, logs, hooks, status).

mod control;
mod error;
mod events;
mod poller;
mod reload;
mod router;
mod services;
mod supervise;
pub mod systemd;
mod takeover;
pub mod timer;

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use tokio::sync::mpsc;
use tracing::{info, warn};
use vrrp_core::Instant;

pub use error::{RunError, RunOptions};

use crate::config::{CheckConfig, Config};
use crate::datapath::{DataPath, UnicastFamilies};
use crate::health::{self, HealthChecks, HealthEvent, HealthTable};
use crate::hooks::Hooks;
use crate::status::{self, Snapshot, StatusHandle};
use poller::{Poller, Ready};
use router::{Event, Router, Table};
use services::{Inbox, Notice, Notifier, Services};
use supervise::{Supervised, Watched};
use systemd::Systemd;
use timer::{Clock, Timer};

/// A wake-up this much later than the deadline the loop slept towards is reported as a freeze
/// (SIGSTOP, `docker pause`, a stalled VM). Scheduling noise on a busy host stays far below it.
const FREEZE_THRESHOLD: StdDuration = StdDuration::from_millis(100);

/// A timer wake-up this late may have raced the data path's readiness (see `after_wake`).
const LATE_WAKE: StdDuration = StdDuration::from_millis(2);

/// TAP frames that come further apart than this are read one per wake-up (see
/// [`DataPath::read_ready`]); closer ones, a burst, are read in batches.
const SPARSE: vrrp_core::Duration = vrrp_core::Duration::from_millis(1);

/// Runs the daemon until SIGTERM / SIGINT. The main thread runs the event loop; a current-thread
/// runtime on it does the netlink work of starting and stopping the data path.
pub fn run(cfg: Config, opts: RunOptions) -> Result<(), RunError> {
    // Before any other thread starts: they inherit the mask, and only the services thread
    // unblocks these signals.
    services::block_signals()?;
    let rt = runtime()?;
    let mut daemon = rt.block_on(Daemon::start(cfg, opts))?;
    let result = daemon.run();
    rt.block_on(daemon.stop());
    result
}

/// A current-thread runtime: the main thread's (netlink at start and stop) and the services
/// thread's.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // The blocking pool's threads (process checks' /proc scans, pidfile reads) must not
        // keep the data path's descriptors open past the event loop thread (see
        // crate::fdtable), nor take the signals that only the services thread handles.
        .on_thread_start(|| {
            if let Err(e) = crate::fdtable::drop_sockets_and_devices() {
                tracing::warn!("a blocking-pool thread shares the event loop's descriptors: {e}");
            }
            if let Err(e) = services::block_signals() {
                tracing::warn!("a blocking-pool thread takes the daemon's signals: {e}");
            }
        })
        .build()
}

/// Starts `checks` on the services thread; their changes reach the loop as [`Notice::Health`].
fn spawn_checks(
    services: &Services,
    notifier: &Notifier,
    checks: &[CheckConfig],
    status: &StatusHandle,
) -> Result<HealthChecks, services::Gone> {
    let (checks, notifier, status) = (checks.to_vec(), notifier.clone(), status.clone());
    services.run(move || {
        let (tx, mut rx) = mpsc::channel::<HealthEvent>(64);
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                notifier.send(Notice::Health(ev));
            }
        });
        let mut checks = health::spawn(&checks, tx);
        checks.report_mode(&status);
        checks
    })
}

/// The priority `r` runs at: what the operator set (`vrrpd ctl`), else its configured one,
/// with its tracked checks applied; 0 while drained.
fn priority_of(
    health: &HealthTable,
    overrides: &std::collections::BTreeMap<u8, crate::control::Override>,
    r: &Router,
) -> u8 {
    let o = overrides.get(&r.vrid()).copied().unwrap_or_default();
    o.base(r.cfg.core.priority())
        .map_or(0, |base| health.priority_over(base, &r.cfg))
}

/// Starts the notify hooks on the services thread.
fn spawn_hooks(services: &Services, cfg: &Config) -> Result<Hooks, services::Gone> {
    let notify = cfg.notify.clone();
    services.run(move || Hooks::spawn(&notify))
}

/// One uplink: its data path, and when its TAP was last read, to tell sparse frames from a
/// burst.
struct Uplink {
    name: String,
    dp: DataPath,
    last_tap_read: Instant,
}

/// Starts the data path of every uplink of `cfg`, each with the VIPs and unicast sockets of the
/// routers on it. On failure the ones already started are put back.
async fn start_uplinks(cfg: &Config, now: Instant) -> Result<Vec<Uplink>, RunError> {
    // Every uplink is looked up before the first is bridged: a missing eth1 must not cost
    // eth0 a moment in and out of a bridge.
    for name in cfg.uplinks() {
        if let Err(source) = crate::datapath::layout::uplink_mtu(name).await {
            let e = crate::datapath::DataPathError::Uplink {
                uplink: name.to_owned(),
                source,
            };
            return Err(RunError::Setup(e.to_string()));
        }
    }
    let mut uplinks: Vec<Uplink> = Vec::new();
    for name in cfg.uplinks() {
        let routers = || cfg.routers.iter().filter(|r| r.interface == name);
        let vips: Vec<IpAddr> = routers().flat_map(|r| r.core.vips()).collect();
        let with_peers =
            |v6: bool| routers().any(|r| r.core.is_v6() == v6 && r.core.peers().next().is_some());
        let unicast = UnicastFamilies {
            v4: with_peers(false),
            v6: with_peers(true),
        };
        match DataPath::start(name, &vips, unicast, cfg.datapath).await {
            Ok(dp) => uplinks.push(Uplink {
                name: name.to_owned(),
                dp,
                last_tap_read: now,
            }),
            Err(e) => {
                shutdown_uplinks(uplinks).await;
                return Err(RunError::Setup(e.to_string()));
            }
        }
    }
    Ok(uplinks)
}

/// Puts every uplink back as it was, the last started first.
async fn shutdown_uplinks(uplinks: Vec<Uplink>) {
    for u in uplinks.into_iter().rev() {
        u.dp.shutdown().await;
    }
}

struct Daemon {
    cfg: Config,
    opts: RunOptions,
    clock: Clock,
    /// In the order of [`Config::uplinks`]; a router's `uplink` indexes it. Taken at shutdown.
    uplinks: Vec<Uplink>,
    routers: Vec<Router>,
    health: HealthTable,
    _checks: HealthChecks,
    hooks: Option<Hooks>,
    status: StatusHandle,
    child: Option<Watched>,
    /// Until then, routers wait for their tracked checks' first verdicts.
    startup_deadline: Option<Instant>,
    /// `startup_delay`: no router starts before then.
    delay_until: Option<Instant>,
    timer: Timer,
    /// Events drained from the stacks, tagged with their VRID, until [`Daemon::handle_events`].
    events: Vec<(u8, Event)>,
    /// When the routers' counters are copied into the status.
    counters: events::CounterCopy,
    /// Readers of the status waiting for this turn's copy of the counters.
    refreshes: Vec<tokio::sync::oneshot::Sender<()>>,
    systemd: Systemd,
    /// What the operator set with `vrrpd ctl`, by VRID; kept across reloads.
    overrides: std::collections::BTreeMap<u8, crate::control::Override>,
    /// The `vrrpd ctl` socket's file, removed at a clean stop.
    control_path: std::path::PathBuf,
    notifier: Notifier,
    inbox: Inbox,
    /// Dropped last: the tasks above live on its thread.
    services: Services,
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

impl Daemon {
    async fn start(cfg: Config, opts: RunOptions) -> Result<Daemon, RunError> {
        // First, on the loop's own thread, so that MCL_FUTURE covers what follows.
        let process = crate::process::apply(&cfg.process);
        // Before the data path opens anything: the services thread's copy of the descriptor
        // table never holds the data path's descriptors, not even briefly.
        let (notifier, inbox) = services::channel()
            .map_err(|e| RunError::Setup(format!("the services thread's eventfd: {e}")))?;
        let services = Services::start(notifier.clone())
            .map_err(|e| RunError::Setup(format!("starting the services thread: {e}")))?;
        let gone = |e: services::Gone| RunError::Other(e.into());
        // The status dates transitions and freezes from its own start, the routers their
        // timers from the clock's: started together, the two figures of a takeover
        // (`at_ms`, `deadline_ms`) share one zero.
        let clock = Clock::start();
        let status = StatusHandle::new(Snapshot::new(&cfg));
        status.update(|s| s.process = process);
        let asks = notifier.clone();
        status.set_refresh(Box::new(move || {
            let (tx, rx) = tokio::sync::oneshot::channel();
            asks.send(Notice::Refresh(tx));
            rx
        }));
        // Bound now, so that a taken port fails the start before the uplink changes; served
        // once the routers have started, as before there was a services thread: a status that
        // answers means a daemon that runs.
        let listen = cfg.status_listen;
        let served = status.clone();
        let (serve_tx, serve_rx) = tokio::sync::oneshot::channel::<()>();
        services
            .block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                tokio::spawn(async move {
                    if serve_rx.await.is_ok() {
                        status::serve(listener, served).await;
                    }
                });
                Ok::<_, std::io::Error>(())
            })
            .map_err(gone)?
            .map_err(|e| RunError::Setup(format!("status.listen {listen}: {e}")))?;
        let control = match &cfg.control_socket {
            Some(p) => p.clone(),
            None => crate::control::default_socket()
                .map_err(|e| RunError::Setup(format!("control socket: {e}")))?,
        };
        let to = notifier.clone();
        let shown = control.clone();
        let control_path = control.clone();
        services
            .block_on(async move {
                let listener = crate::control::bind(&control)?;
                let listener = tokio::net::UnixListener::from_std(listener)?;
                tokio::spawn(services::serve_control(listener, to));
                Ok::<_, std::io::Error>(())
            })
            .map_err(gone)?
            .map_err(|e| RunError::Setup(format!("control socket {}: {e}", shown.display())))?;
        let mut uplinks = start_uplinks(&cfg, clock.now()).await?;
        // From here on a failure must put the uplinks back as they were.
        let started = (|| {
            let routers = cfg
                .routers
                .iter()
                .map(|rc| {
                    let k = uplinks
                        .iter()
                        .position(|u| u.name == rc.interface)
                        .expect("every router's uplink is started");
                    Router::start(rc, &mut uplinks[k].dp, k, clock.now())
                })
                .collect::<Result<Vec<Router>, RunError>>()?;
            // Once per start, before the first read; a reload leaves the files alone.
            crate::health::file::init_files(&cfg.checks);
            let checks = spawn_checks(&services, &notifier, &cfg.checks, &status).map_err(gone)?;
            let hooks = spawn_hooks(&services, &cfg).map_err(gone)?;
            Ok::<_, RunError>((routers, checks, hooks, Timer::new()?))
        })();
        let (routers, checks, hooks, timer) = match started {
            Ok(s) => s,
            Err(e) => {
                shutdown_uplinks(uplinks).await;
                return Err(e);
            }
        };
        let mut daemon = Daemon {
            health: HealthTable::new(&cfg),
            hooks: Some(hooks),
            cfg,
            opts,
            clock,
            uplinks,
            routers,
            _checks: checks,
            status,
            child: None,
            startup_deadline: None,
            delay_until: None,
            timer,
            events: Vec::new(),
            counters: Default::default(),
            refreshes: Vec::new(),
            systemd: Systemd::from_env(clock.now()),
            overrides: Default::default(),
            control_path,
            notifier,
            inbox,
            services,
        };
        if let Some(sv) = daemon.cfg.supervise.clone() {
            let notifier = daemon.notifier.clone();
            let spawned = daemon
                .services
                .run(move || Supervised::spawn(&sv).map(|c| c.watch(notifier)))
                .map_err(gone)
                .and_then(|r| r);
            match spawned {
                Ok(c) => daemon.child = Some(c),
                Err(e) => {
                    daemon.stop().await;
                    return Err(e);
                }
            }
        }
        let now = daemon.clock.now();
        let delay = daemon.cfg.startup_delay;
        let micros = |d: StdDuration| vrrp_core::Duration::from_micros(d.as_micros() as u64);
        daemon.delay_until = (!delay.is_zero()).then(|| now + micros(delay));
        if !delay.is_zero() {
            info!(startup_delay = ?delay, "the virtual routers start after the startup delay");
        }
        daemon.startup_deadline = Some(now + micros(first_verdicts(&daemon.cfg).max(delay)));
        daemon.start_routers(false);
        daemon.poll(daemon.clock.now());
        let _ = serve_tx.send(());
        Ok(daemon)
    }

    fn run(&mut self) -> Result<(), RunError> {
        let sources: Vec<_> = self.uplinks.iter().map(|u| u.dp.sources()).collect();
        let mut poller = Poller::new(&self.timer, &self.inbox, &sources)?;
        if poller.takes_timeouts()
            && let Err(e) = nix::sys::prctl::set_timerslack(1)
        {
            warn!("timer slack not set, wake-ups may come up to 50 us late: {e}");
        }
        // Whatever startup queued (an owner's advert) went out in `start`.
        let mut now = self.clock.now();
        loop {
            // `now` is the last turn's: the deadlines are absolute, and one clock read per turn
            // is all a turn needs.
            let deadline = self
                .routers
                .iter_mut()
                .filter_map(|r| r.stack.poll_at(now))
                .min()
                .unwrap_or(now + vrrp_core::Duration::from_secs(1));
            let wake = self.startup_deadline.map_or(deadline, |d| d.min(deadline));
            let wake = self.delay_until.map_or(wake, |d| d.min(wake));
            let wake = self.systemd.next_wake().map_or(wake, |w| w.min(wake));
            let timeout = if poller.takes_timeouts() {
                self.clock.until(wake)
            } else {
                self.timer.arm(self.clock, wake)?;
                StdDuration::ZERO
            };
            let ready = poller.wait(timeout)?;
            if ready.contains(Ready::NOTICES) {
                // Whatever an operator or a check changed shows in the status at this turn.
                self.counters.force();
                for notice in self.inbox.drain().collect::<Vec<_>>() {
                    match notice {
                        Notice::Terminate(signal) => {
                            info!("{signal}: stepping down and exiting");
                            return Ok(());
                        }
                        Notice::Reload => self.reload(),
                        Notice::Control(req, reply) => {
                            let _ = reply.send(self.control(req));
                        }
                        Notice::Refresh(done) => self.refreshes.push(done),
                        Notice::Health(ev) => self.health_changed(ev),
                        Notice::ChildExited(name, status) => {
                            self.child = None;
                            tracing::error!(process = %name, %status, "supervised process exited: stepping down");
                            return Err(RunError::Other(
                                format!("supervised process {name} exited ({status})").into(),
                            ));
                        }
                    }
                }
            }
            now = self.clock.now();
            let received = self.read(ready, now)?;
            if self.startup_deadline.is_some_and(|d| d <= now) {
                self.start_routers(true);
            } else if self.delay_until.is_some_and(|d| d <= now) {
                self.start_routers(false);
            }
            self.after_wake(wake, received, now);
            self.poll(now);
            // The copy was made in `poll`.
            for done in self.refreshes.drain(..) {
                let _ = done.send(());
            }
            self.notify_systemd(now);
        }
    }

    /// Reads what the data path's readable descriptors hold; whether anything was readable.
    fn read(&mut self, ready: Ready, now: Instant) -> Result<bool, RunError> {
        let mut received = false;
        for (k, source) in ready.sources() {
            let Some(u) = self.uplinks.get_mut(k) else {
                continue;
            };
            if source == crate::datapath::Source::Tap {
                let sparse = now - u.last_tap_read >= SPARSE;
                u.last_tap_read = now;
                u.dp.read_ready(source, sparse)
            } else {
                u.dp.read_ready(source, false)
            }
            .map_err(|e| RunError::Other(e.into()))?;
            received = true;
        }
        Ok(received)
    }

    /// READY=1 once every router has started, WATCHDOG=1 when due: from the loop, so that
    /// systemd's watchdog sees the loop turn, not merely the process exist.
    fn notify_systemd(&mut self, now: Instant) {
        if !self.systemd.is_ready() && self.routers.iter().all(|r| r.started) {
            let status = format!("{} virtual router(s) started", self.routers.len());
            self.systemd.ready(&status);
        }
        self.systemd.poll(now);
    }

    /// Whatever woke the loop, what was read goes to the routers before any timer runs. After
    /// a freeze any branch can win the race (the timer, the TAP, the unicast socket), so every
    /// queue is read here: what the others said while we slept must reach the routers before
    /// their overdue timers fire, and VIP traffic that waited through the freeze is stale. A
    /// punctual wake-up (every advert interval) skips the extra reads.
    fn after_wake(&mut self, wake: Instant, received: bool, now: Instant) {
        let late = self.note_freeze(wake, now);
        if late >= LATE_WAKE {
            for u in &mut self.uplinks {
                u.dp.recv_now();
                u.dp.discard_stale(late);
            }
        } else if !received {
            return;
        }
        self.ingest(now);
    }

    /// How late the wake-up for `deadline` is. A wake-up long after the deadline means the
    /// process did not run: it is reported as a freeze.
    fn note_freeze(&self, deadline: Instant, now: Instant) -> StdDuration {
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

    /// Hands everything the data path read to the routers, before any timer is looked at.
    fn ingest(&mut self, now: Instant) {
        for (k, u) in self.uplinks.iter_mut().enumerate() {
            u.dp.ingest(&mut Table {
                uplink: k,
                routers: &mut self.routers,
                events: &mut self.events,
                status: &self.status,
                now,
            });
        }
    }

    /// Starts the routers whose tracked checks have all given a first verdict, or all of them
    /// when `force` (the deadline passed). Starting on "unknown" would make a healthy primary
    /// start with its weights applied and flip the VIP to the backup and back at every start.
    fn start_routers(&mut self, force: bool) {
        let now = self.clock.now();
        if self.delay_until.is_some_and(|d| now < d) {
            return;
        }
        self.delay_until = None;
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
            let p = priority_of(&self.health, &self.overrides, r);
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
            let p = priority_of(&self.health, &self.overrides, r);
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

    /// Runs the timers and transmissions of every router that has work, then acts on what
    /// they reported. The data path hands the routers their frames (`ingest`), so a router
    /// with none of its own to do (a Backup's turn that only heard an advert) is not polled.
    fn poll(&mut self, now: Instant) {
        let events = &mut self.events;
        for r in self.routers.iter_mut() {
            if !r.stack.wants_poll(now) {
                continue;
            }
            let Some(u) = self.uplinks.get_mut(r.uplink) else {
                continue;
            };
            let vrid = r.vrid();
            r.stack.poll(now, &mut u.dp.transmitter(), &mut |e| {
                events.push((vrid, e))
            });
        }
        self.handle_events();
    }

    /// SIGTERM path: priority-0 adverts (a Backup takes over after Skew_Time), hooks finished,
    /// VIPs off `lo`, the uplink's layout restored.
    async fn stop(&mut self) {
        self.systemd.stopping();
        let now = self.clock.now();
        for r in &mut self.routers {
            let Some(u) = self.uplinks.get_mut(r.uplink) else {
                continue;
            };
            let events = &mut self.events;
            let vrid = r.vrid();
            r.stack.shutdown(now, &mut u.dp.transmitter(), &mut |e| {
                events.push((vrid, e))
            });
        }
        self.counters.force();
        self.handle_events();
        if let Some(child) = self.child.take()
            && self.services.block_on(child.terminate()).is_err()
        {
            warn!("the supervised process could not be stopped: the services thread is gone");
        }
        if let Some(h) = self.hooks.take()
            && self.services.block_on(h.close()).is_err()
        {
            warn!("the shutdown hooks did not run: the services thread is gone");
        }
        shutdown_uplinks(std::mem::take(&mut self.uplinks)).await;
        // Nobody is left to answer on it; a killed vrrpd leaves it, and the next start
        // replaces it.
        let _ = std::fs::remove_file(&self.control_path);
        info!("stopped; interface layouts restored");
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    /// A blocking-pool thread does not hold the event loop's descriptors, so a fast path
    /// socket closes with the event loop thread (see crate::fdtable).
    #[test]
    fn blocking_pool_threads_hold_none_of_the_loops_descriptors() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = socket.as_raw_fd();
        // The blocking thread wakes the loop when its task ends: run the loop on a thread of
        // its own, so a broken wake-up fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = super::runtime().expect("runtime");
            let seen = rt.block_on(async move {
                tokio::task::spawn_blocking(move || {
                    (crate::fdtable::holds(fd), crate::fdtable::holds(2))
                })
                .await
            });
            let _ = tx.send(seen);
        });
        let (held, stderr) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the blocking task's end never woke the event loop")
            .unwrap();
        assert!(stderr, "the blocking thread lost stderr");
        assert!(
            !held,
            "a blocking-pool thread holds the loop's descriptor {fd}"
        );
    }
}
