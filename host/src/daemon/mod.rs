//! The event loop: the core's virtual routers over the [`DataPath`].
//!
//! One current-thread tokio runtime, one `select!` over signals, the data path's readiness,
//! health changes, the supervised child and the earliest deadline of any router. Every turn ends
//! with [`Daemon::poll`], which runs each router's timers and then acts on what the routers
//! reported ([`events`]: the data path's VIP service, logs, hooks, status).

mod error;
mod events;
mod reload;
mod router;
mod supervise;
pub mod systemd;
mod takeover;
pub mod timer;

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{info, warn};
use vrrp_core::Instant;

pub use error::{RunError, RunOptions};

use crate::config::Config;
use crate::datapath::{DataPath, UnicastFamilies};
use crate::health::{self, HealthChecks, HealthEvent, HealthTable};
use crate::hooks::Hooks;
use crate::status::{self, Snapshot, StatusHandle};
use router::{Event, Router, Table};
use supervise::{Supervised, wait_child};
use systemd::Systemd;
use timer::{Clock, Timer};

/// A wake-up this much later than the deadline the loop slept towards is reported as a freeze
/// (SIGSTOP, `docker pause`, a stalled VM). Scheduling noise on a busy host stays far below it.
const FREEZE_THRESHOLD: StdDuration = StdDuration::from_millis(100);

/// A timer wake-up this late may have raced the data path's readiness (see the timer arm in
/// `run`).
const LATE_WAKE: StdDuration = StdDuration::from_millis(2);

/// Runs the daemon until SIGTERM / SIGINT, on its own current-thread runtime.
pub fn run(cfg: Config, opts: RunOptions) -> Result<(), RunError> {
    let rt = runtime()?;
    rt.block_on(async move {
        let mut daemon = Daemon::start(cfg, opts).await?;
        let result = daemon.run().await;
        daemon.stop().await;
        result
    })
}

/// The daemon's current-thread runtime.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // The blocking pool's threads (process checks' /proc scans, pidfile reads) must not
        // keep the data path's descriptors open past the event loop thread: see
        // crate::fdtable.
        .on_thread_start(|| {
            if let Err(e) = crate::fdtable::drop_sockets_and_devices() {
                tracing::warn!("a blocking-pool thread shares the event loop's descriptors: {e}");
            }
        })
        .build()
}

struct Daemon {
    cfg: Config,
    opts: RunOptions,
    clock: Clock,
    /// Taken at shutdown.
    datapath: Option<DataPath>,
    routers: Vec<Router>,
    health: HealthTable,
    _checks: HealthChecks,
    health_rx: mpsc::Receiver<HealthEvent>,
    hooks: Option<Hooks>,
    status: StatusHandle,
    child: Option<Supervised>,
    /// Until then, routers wait for their tracked checks' first verdicts.
    startup_deadline: Option<Instant>,
    /// `startup_delay`: no router starts before then.
    delay_until: Option<Instant>,
    timer: Timer,
    /// Events drained from the stacks, tagged with their VRID, until [`Daemon::handle_events`].
    events: Vec<(u8, Event)>,
    systemd: Systemd,
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
        let vips: Vec<IpAddr> = cfg.routers.iter().flat_map(|r| r.core.vips()).collect();
        let with_peers = |v6: bool| {
            cfg.routers
                .iter()
                .any(|r| r.core.is_v6() == v6 && r.core.peers().next().is_some())
        };
        let unicast = UnicastFamilies {
            v4: with_peers(false),
            v6: with_peers(true),
        };
        let mut datapath = DataPath::start(&cfg.interface, &vips, unicast, cfg.datapath)
            .await
            .map_err(|e| RunError::Setup(e.to_string()))?;
        // From here on a failure must put the uplink back as it was.
        let clock = Clock::start();
        let routers: Result<Vec<Router>, RunError> = cfg
            .routers
            .iter()
            .map(|rc| Router::start(rc, &mut datapath, clock.now()))
            .collect();
        let started = match routers {
            Ok(r) => tokio::net::TcpListener::bind(cfg.status_listen)
                .await
                .map(|l| (r, l))
                .map_err(|e| RunError::Setup(format!("status.listen {}: {e}", cfg.status_listen))),
            Err(e) => Err(e),
        };
        let (routers, listener) = match started {
            Ok(s) => s,
            Err(e) => {
                datapath.shutdown().await;
                return Err(e);
            }
        };
        let status = StatusHandle::new(Snapshot::new(&cfg));
        status.update(|s| s.process = process);
        tokio::spawn(status::serve(listener, status.clone()));
        let (tx, health_rx) = mpsc::channel(64);
        let mut checks = health::spawn(&cfg.checks, tx);
        checks.report_mode(&status);
        let timer = match Timer::new() {
            Ok(t) => t,
            Err(e) => {
                datapath.shutdown().await;
                return Err(e.into());
            }
        };
        let mut daemon = Daemon {
            health: HealthTable::new(&cfg),
            hooks: Some(Hooks::spawn(&cfg.notify, &cfg.interface)),
            cfg,
            opts,
            clock,
            datapath: Some(datapath),
            routers,
            _checks: checks,
            health_rx,
            status,
            child: None,
            startup_deadline: None,
            delay_until: None,
            timer,
            events: Vec::new(),
            systemd: Systemd::from_env(clock.now()),
        };
        if let Some(sv) = daemon.cfg.supervise.clone() {
            match Supervised::spawn(&sv) {
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
        Ok(daemon)
    }

    async fn run(&mut self) -> Result<(), RunError> {
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sighup = signal(SignalKind::hangup())?;
        // Whatever startup queued (an owner's advert) goes out before the first wait.
        self.poll();
        loop {
            let now = self.clock.now();
            let deadline = self
                .routers
                .iter_mut()
                .filter_map(|r| r.stack.poll_at(now))
                .min()
                .unwrap_or(now + vrrp_core::Duration::from_secs(1));
            let wake = self.startup_deadline.map_or(deadline, |d| d.min(deadline));
            let wake = self.delay_until.map_or(wake, |d| d.min(wake));
            let wake = self.systemd.next_wake().map_or(wake, |w| w.min(wake));
            let clock = self.clock;
            let Some(datapath) = self.datapath.as_mut() else {
                return Ok(());
            };
            let mut received = false;
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
                r = datapath.recv() => {
                    r.map_err(|e| RunError::Other(e.into()))?;
                    received = true;
                }
                Some(ev) = self.health_rx.recv() => self.health_changed(ev),
                status = wait_child(&mut self.child) => {
                    let name = self.child.take().map(|c| c.name).unwrap_or_default();
                    tracing::error!(process = %name, %status, "supervised process exited: stepping down");
                    return Err(RunError::Other(
                        format!("supervised process {name} exited ({status})").into(),
                    ));
                }
                r = self.timer.sleep_until(clock, wake) => {
                    r.map_err(|e| RunError::Other(format!("timerfd: {e}").into()))?;
                    if self.startup_deadline.is_some_and(|d| d <= self.clock.now()) {
                        self.start_routers(true);
                    } else if self.delay_until.is_some_and(|d| d <= self.clock.now()) {
                        self.start_routers(false);
                    }
                }
            }
            // After a freeze any branch can win the race (the timer, the TAP, the unicast
            // socket), so look at every queue ourselves: what the others said while we slept
            // must reach the routers before their overdue timers fire. A punctual wake-up
            // (every advert interval) skips the extra reads.
            self.after_wake(wake, received);
            self.poll();
            self.notify_systemd();
        }
    }

    /// READY=1 once every router has started, WATCHDOG=1 when due: from the loop, so that
    /// systemd's watchdog sees the loop turn, not merely the process exist.
    fn notify_systemd(&mut self) {
        if !self.systemd.is_ready() && self.routers.iter().all(|r| r.started) {
            let status = format!("{} virtual router(s) started", self.routers.len());
            self.systemd.ready(&status);
        }
        self.systemd.poll(self.clock.now());
    }

    /// Whatever woke the loop, what was read goes to the routers before any timer runs. After
    /// a freeze any branch can win the race (the timer, the TAP, the unicast socket), so every
    /// queue is read here: what the others said while we slept must reach the routers before
    /// their overdue timers fire, and VIP traffic that waited through the freeze is stale. A
    /// punctual wake-up (every advert interval) skips the extra reads.
    fn after_wake(&mut self, wake: Instant, received: bool) {
        let late = self.note_freeze(wake);
        if late >= LATE_WAKE
            && let Some(dp) = self.datapath.as_mut()
        {
            dp.recv_now();
            dp.discard_stale(late);
        } else if !received {
            return;
        }
        self.ingest();
    }

    /// How late the wake-up for `deadline` is. A wake-up long after the deadline means the
    /// process did not run: it is reported as a freeze.
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

    /// Hands everything the data path read to the routers, before any timer is looked at.
    fn ingest(&mut self) {
        let now = self.clock.now();
        let Some(datapath) = self.datapath.as_mut() else {
            return;
        };
        datapath.ingest(&mut Table {
            routers: &mut self.routers,
            events: &mut self.events,
            status: &self.status,
            now,
        });
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
    fn poll(&mut self) {
        let now = self.clock.now();
        let Some(datapath) = self.datapath.as_mut() else {
            return;
        };
        let events = &mut self.events;
        for r in self.routers.iter_mut() {
            let vrid = r.vrid();
            r.stack.poll(now, &mut datapath.transmitter(), &mut |e| {
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
        if let Some(datapath) = self.datapath.as_mut() {
            for r in &mut self.routers {
                let events = &mut self.events;
                let vrid = r.vrid();
                r.stack
                    .shutdown(now, &mut datapath.transmitter(), &mut |e| {
                        events.push((vrid, e))
                    });
            }
        }
        self.handle_events();
        if let Some(child) = self.child.take() {
            child.terminate().await;
        }
        if let Some(h) = self.hooks.take() {
            h.close().await;
        }
        if let Some(datapath) = self.datapath.take() {
            datapath.shutdown().await;
        }
        info!("stopped; interface layout restored");
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
