//! The Docker demo (docker/) on the real Docker engine: two nginx containers running
//! vrrpd, one VIP, a proxy on localhost:8000.
//!
//! Every test builds what it needs (docker/build.sh: the base image from Debian packages, cached;
//! a static vrrpd built with cargo; test 9 instead compiles vrrpd in the Dockerfile's build
//! stage), runs its own compose project and tears it down, also when it fails. Without a usable Docker engine (or not root) a test prints `skipped: <reason>`, unless
//! `CI` is set: then it fails.
//!
//! Figures are printed as `MEASURE docker <test> <key>=<value>`. The tests are numbered in the
//! order nextest runs them in: the first one pays for the cold build
//! (debootstrap of the base image, release build of vrrpd), not the long chaos test.
//!
//! Environment:
//! - `VRRP_DOCKER_CHAOS_CYCLES` (default 100: about 6 minutes here): fault
//!   cycles of the chaos test;
//! - `VRRP_DOCKER_CHAOS_SEED`: replay a chaos schedule (the seed is printed);
//! - `VRRP_COMPOSE`: `docker-compose` or `docker compose`, instead of the first that works;
//! - `VRRP_DOCKER_CRATES=network`: test 9's build stage fetches the crates from crates.io
//!   instead of the vendored copy.

mod docker_support;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use docker_support::*;
use vrrp_tests::capture::Payload;
use vrrp_tests::lab::mac_string;
use vrrp_tests::unix_now;

/// How long a fresh project may take to elect the master and serve "Primary".
const CONVERGE: Duration = Duration::from_secs(30);
/// The demo's bound: no request slower than this, and the VIP served again within it.
const ONE_SECOND: f64 = 1.0;

fn ms(s: f64) -> String {
    format!("{:.0}", s * 1e3)
}

/// Asserts that the client saw no failure and no request slower than 1 s.
fn assert_served(what: &str, s: &Samples) {
    assert!(
        s.failures().is_empty(),
        "{what}: failed requests: {:?}",
        s.failures().iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        s.max_latency() < ONE_SECOND,
        "{what}: a request took {} ms",
        ms(s.max_latency())
    );
}

/// [`assert_served`], after printing the figures.
fn assert_clean(test: &str, what: &str, s: &Samples) {
    println!("{test}: {what}: {}", s.summary());
    measure(test, &format!("{what}_outage_ms"), ms(s.outage()));
    measure(test, &format!("{what}_max_latency_ms"), ms(s.max_latency()));
    measure(test, &format!("{what}_failed"), s.failures().len());
    assert_served(what, s);
    assert!(
        s.outage() < ONE_SECOND,
        "{what}: outage {} ms",
        ms(s.outage())
    );
}

/// Test 1: `compose up` with the build, then localhost:8000 says Primary; the nodes run without
/// --privileged and report healthy through `vrrpd status`; their metrics are published on the
/// host.
#[test]
fn docker_1_compose_up_serves_primary() {
    let test = "up";
    let Some(demo) = Demo::up(test) else { return };
    let t = demo.wait_converged(CONVERGE);
    measure(test, "converged_after_up_ms", t.as_millis());
    let (status, body) = demo.get().expect("GET localhost");
    assert_eq!((status, body.trim()), (200, "Primary"));
    println!("curl 127.0.0.1:{} -> {}", demo.port, body.trim());

    for service in [MASTER, BACKUP] {
        let id = demo.container(service);
        let out = run(Command::new("docker").args([
            "inspect",
            "-f",
            "{{.HostConfig.Privileged}} {{.HostConfig.CapAdd}} {{len .HostConfig.Devices}}",
            &id,
        ]));
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            text, "false [NET_ADMIN] 1",
            "{service}: privileged, caps, devices"
        );
        // The compose health check runs `vrrpd status`.
        vrrp_tests::wait_until(Duration::from_secs(20), || {
            demo.state(service).health == "healthy"
        })
        .unwrap_or_else(|e| panic!("{service} not healthy: {:?} ({e})", demo.state(service)));
    }
    // Each node's status and metrics are published on the host.
    for (service, port) in [(MASTER, demo.status_ports.0), (BACKUP, demo.status_ports.1)] {
        let (code, body) = http_get_path(port, "/metrics", Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{service}'s metrics on 127.0.0.1:{port}: {e}"));
        assert_eq!(code, 200, "{service}'s /metrics on 127.0.0.1:{port}");
        assert!(
            body.contains("vrrpd_datapath_mode"),
            "{service}'s /metrics on 127.0.0.1:{port}:\n{body}"
        );
    }
    let size =
        run(Command::new("docker").args(["image", "inspect", "-f", "{{.Size}}", &demo.image]));
    let size: f64 = String::from_utf8_lossy(&size.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    measure(test, "image_size_mb", format!("{:.1}", size / 1e6));
}

/// Test 2: the seed's walkthrough, through localhost:8000 with a client polling every 10 ms:
/// pause the master -> Secondary; unpause -> Primary; pause the backup -> still Primary.
#[test]
fn docker_2_walkthrough_pause_unpause() {
    let test = "walkthrough";
    let Some(demo) = Demo::up(test) else { return };
    demo.wait_converged(CONVERGE);
    let capture = BridgeCapture::start(
        &demo.bridge(),
        artifact(&format!("{}-walkthrough.pcap", demo.project)),
        "arp or ip proto 112",
    );
    let capture_path = capture.path.clone();
    let prober = Prober::start(demo.port);
    std::thread::sleep(Duration::from_millis(500));

    // 2. pause nginx_master: Secondary.
    let t0 = unix_now();
    demo.compose_run(&["pause", MASTER]);
    let switched = demo.wait_body("Secondary", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    let s = prober.samples().window(t0, unix_now());
    if let Some(t) = s.first_body_after("Secondary", t0) {
        measure(test, "pause_master_to_secondary_ms", ms(t - t0));
    }
    println!("pause {MASTER}: Secondary after {switched:?}");
    if let Some(silence) = capture
        .read_now()
        .takeover_silence(MASTER_IP, BACKUP_IP, t0)
    {
        // Last advert of the paused master to the first of the backup, on the Docker bridge.
        measure(
            test,
            "pause_master_takeover_silence_ms",
            format!("{:.1}", silence.ms()),
        );
    }
    assert_clean(test, "pause_master", &s);

    // 3. unpause: Primary again.
    let t1 = unix_now();
    demo.compose_run(&["unpause", MASTER]);
    demo.wait_body("Primary", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    let s = prober.samples().window(t1, unix_now());
    if let Some(t) = s.first_body_after("Primary", t1) {
        measure(test, "unpause_master_to_primary_ms", ms(t - t1));
    }
    assert_clean(test, "unpause_master", &s);
    demo.wait_converged(Duration::from_secs(5));

    // 4. pause nginx_backup: nothing changes.
    let t2 = unix_now();
    demo.compose_run(&["pause", BACKUP]);
    std::thread::sleep(Duration::from_secs(1));
    let s = prober.samples().window(t2, unix_now());
    assert_clean(test, "pause_backup", &s);
    assert_eq!(
        s.bodies().keys().cloned().collect::<Vec<_>>(),
        vec!["Primary".to_string()],
        "pausing the backup changed the answer"
    );
    assert_eq!(demo.vrrp_state(MASTER).as_deref(), Some("Active"));

    // ... and unpausing it changes nothing either (a thawed backup must not take the VIP).
    let t3 = unix_now();
    demo.compose_run(&["unpause", BACKUP]);
    std::thread::sleep(Duration::from_secs(1));
    let t4 = unix_now();
    let s = prober.stop().window(t3, t4);
    let pcap = capture.finish();
    assert_clean(test, "unpause_backup", &s);
    let secondary = s.bodies().get("Secondary").copied().unwrap_or(0);
    measure(test, "unpause_backup_secondary_answers", secondary);
    assert_eq!(
        secondary,
        0,
        "the thawed backup served the VIP: {}",
        s.summary()
    );
    // On the wire: the thawed backup stays Backup. An advert from it means it went Active
    // (with a gratuitous ARP that pulls the VIP's frames to it until the master's next advert).
    let backup_adverts = advert_sources(&pcap, t3, t4)
        .get(&BACKUP_IP.to_string())
        .copied()
        .unwrap_or(0);
    measure(test, "unpause_backup_adverts_from_backup", backup_adverts);
    assert_eq!(
        backup_adverts,
        0,
        "the backup went Active when it was unpaused (it advertised), although the master never \
         stopped advertising: see {}",
        capture_path.display()
    );
    demo.wait_converged(Duration::from_secs(5));
}

/// Test 3: `compose stop` / `start` of the master, then `docker kill` and `start`: the VIP
/// moves to the backup and back, with no failed request. Then `kill -9` of the master's nginx:
/// vrrpd, its supervisor, steps down and exits, and the restart policy brings the container
/// and the VIP back.
#[test]
fn docker_3_stop_start_and_kill_master() {
    let test = "stop_kill";
    let Some(demo) = Demo::up(test) else { return };
    demo.wait_converged(CONVERGE);
    let prober = Prober::start(demo.port);

    for what in ["stop", "kill"] {
        let t0 = unix_now();
        if what == "stop" {
            demo.compose_run(&["stop", MASTER]);
        } else {
            demo.docker_on("kill", MASTER);
        }
        demo.wait_body("Secondary", Duration::from_secs(5));
        demo.wait_vrrp_state(BACKUP, "Active", Duration::from_secs(5));
        assert_ne!(
            demo.state(MASTER).status,
            "running",
            "{what}: master still running"
        );
        std::thread::sleep(Duration::from_millis(300));
        let s = prober.samples().window(t0, unix_now());
        if let Some(t) = s.first_body_after("Secondary", t0) {
            measure(test, &format!("{what}_master_to_secondary_ms"), ms(t - t0));
        }
        assert_clean(test, &format!("{what}_master"), &s);

        let t1 = unix_now();
        demo.compose_run(&["start", MASTER]);
        let back = demo.wait_converged(CONVERGE);
        std::thread::sleep(Duration::from_millis(300));
        let s = prober.samples().window(t1, unix_now());
        measure(
            test,
            &format!("{what}_start_to_primary_ms"),
            back.as_millis(),
        );
        assert_clean(test, &format!("{what}_start_master"), &s);
    }

    let before = demo.state(MASTER);
    let nginx = demo.process_pid(MASTER, "nginx");
    let t0 = unix_now();
    kill9(nginx);
    println!("kill -9 {nginx} (nginx in {MASTER})");
    demo.wait_body("Secondary", Duration::from_secs(5));
    vrrp_tests::wait_until(Duration::from_secs(30), || {
        demo.state(MASTER).restarts > before.restarts
    })
    .unwrap_or_else(|e| panic!("{MASTER} was not restarted ({e}): {:?}", demo.state(MASTER)));
    demo.wait_converged(CONVERGE);
    measure(
        test,
        "nginx_kill9_to_primary_s",
        format!("{:.2}", unix_now() - t0),
    );
    std::thread::sleep(Duration::from_millis(300));
    let s = prober.stop().window(t0, unix_now());
    assert_clean(test, "nginx_kill9", &s);
}

/// Sends ARP requests for the VIP from the host every 50 ms (deleting the host's neighbour
/// entry, then sending one UDP datagram to the VIP), so that the capture shows who answers.
struct ArpPoker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArpPoker {
    fn start(bridge: &str) -> ArpPoker {
        let stop = Arc::new(AtomicBool::new(false));
        let (st, bridge) = (stop.clone(), bridge.to_string());
        let thread = std::thread::spawn(move || {
            let sock = UdpSocket::bind("0.0.0.0:0").expect("udp socket");
            while !st.load(Ordering::Relaxed) {
                let _ = Command::new("ip")
                    .args(["neigh", "del", &VIP.to_string(), "dev", &bridge])
                    .output();
                let _ = sock.send_to(b"arp?", (VIP, 9));
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        ArpPoker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for ArpPoker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long after a takeover advert the old Active may still answer: until that advert has
/// reached it and its loop has turned (a millisecond or two; generous for a loaded machine).
const HANDOVER_OVERLAP: f64 = 0.020;

/// ARP replies for the VIP in a capture.
struct ArpReplies {
    /// Replies per sender MAC.
    per_mac: BTreeMap<String, usize>,
    /// The largest number of replies to one request, requests near a takeover left out.
    max_per_request: usize,
    /// Requests answered twice within [`HANDOVER_OVERLAP`] of a takeover advert: both
    /// routers were Active until the old one saw the new one's first advert.
    handover_doubles: usize,
}

/// Times of the adverts whose source differs from the previous advert's (a takeover).
fn takeovers(pcap: &Pcap, from: f64) -> Vec<f64> {
    let mut last = None;
    let mut out = Vec::new();
    for f in &pcap.frames {
        if let Payload::Vrrp(a) = &f.payload
            && f.ts >= from
            && a.priority > 0
        {
            if last.is_some_and(|src| src != a.src) {
                out.push(f.ts);
            }
            last = Some(a.src);
        }
    }
    out
}

fn arp_replies(pcap: &Pcap, from: f64) -> ArpReplies {
    let handovers = takeovers(pcap, from);
    let near_takeover = |t: f64| handovers.iter().any(|&h| (t - h).abs() <= HANDOVER_OVERLAP);
    let mut out = ArpReplies {
        per_mac: BTreeMap::new(),
        max_per_request: 0,
        handover_doubles: 0,
    };
    // The current request: its time and its replies so far.
    let mut current: Option<(f64, usize)> = None;
    let close = |out: &mut ArpReplies, req: Option<(f64, usize)>| {
        if let Some((t, n)) = req {
            if n > 1 && near_takeover(t) {
                out.handover_doubles += 1;
            } else {
                out.max_per_request = out.max_per_request.max(n);
            }
        }
    };
    for (t, _, a) in pcap.arps() {
        if t < from {
            continue;
        }
        if a.op == 1 && a.target_ip == VIP && a.sender_ip != VIP {
            // A new request (from the host): count the replies until the next one.
            close(&mut out, current.take());
            current = Some((t, 0));
        } else if a.op == 2 && a.sender_ip == VIP && !a.is_gratuitous() {
            *out.per_mac.entry(mac_string(&a.sender_mac)).or_insert(0) += 1;
            if let Some((_, n)) = current.as_mut() {
                *n += 1;
            }
        }
    }
    close(&mut out, current);
    out
}

/// Test 4: `kill -9` of vrrpd inside the master: the container exits, `restart:` brings it
/// back and it takes the VIP back; on the Docker bridge only the virtual MAC ever answers ARP
/// for the VIP, one reply per request (a VIP left on the dead node's `lo` must not answer;
/// the old Active may still answer in the millisecond before the new one's first advert reaches
/// it, which is counted, not failed).
#[test]
fn docker_4_kill9_vrrpd_restarts_master() {
    let test = "kill9";
    let Some(demo) = Demo::up(test) else { return };
    demo.wait_converged(CONVERGE);
    let bridge = demo.bridge();
    let capture = BridgeCapture::start(
        &bridge,
        artifact(&format!("{}-kill9.pcap", demo.project)),
        "arp or ip proto 112",
    );
    let poker = ArpPoker::start(&bridge);
    let prober = Prober::start(demo.port);
    std::thread::sleep(Duration::from_millis(500));

    let before = demo.state(MASTER);
    let pid = demo.vrrpd_pid(MASTER);
    let t0 = unix_now();
    kill9(pid);
    println!("kill -9 {pid} (vrrpd in {MASTER})");
    demo.wait_body("Secondary", Duration::from_secs(5));
    // The restart policy brings the container back and the master takes the VIP back.
    vrrp_tests::wait_until(Duration::from_secs(30), || {
        demo.state(MASTER).restarts > before.restarts
    })
    .unwrap_or_else(|e| panic!("{MASTER} was not restarted ({e}): {:?}", demo.state(MASTER)));
    let back = demo.wait_converged(CONVERGE);
    measure(
        test,
        "kill9_to_primary_s",
        format!("{:.2}", unix_now() - t0),
    );
    println!("{MASTER} restarted, Primary again {back:?} after the restart was seen");
    std::thread::sleep(Duration::from_secs(1));

    let s = prober.stop().window(t0, unix_now());
    drop(poker);
    let pcap = capture.finish();
    let ArpReplies {
        per_mac,
        max_per_request,
        handover_doubles,
    } = arp_replies(&pcap, t0 - 0.5);
    for (mac, n) in &per_mac {
        measure(test, &format!("arp_replies[{mac}]"), n);
    }
    measure(test, "arp_max_replies_per_request", max_per_request);
    measure(test, "arp_handover_doubles", handover_doubles);
    let vmac = mac_string(&VIRTUAL_MAC);
    assert!(
        per_mac.keys().all(|m| *m == vmac),
        "a MAC other than the virtual MAC {vmac} answered ARP for the VIP: {per_mac:?}"
    );
    assert!(
        per_mac.get(&vmac).copied().unwrap_or(0) > 0,
        "no ARP reply seen"
    );
    assert!(
        max_per_request <= 1,
        "two answers to one ARP request for the VIP, away from any takeover (two Actives)"
    );
    assert_clean(test, "kill9", &s);
}

/// Adverts with a non-zero priority in `[from, to)`, by IPv4 source.
fn advert_sources(pcap: &Pcap, from: f64, to: f64) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in &pcap.frames {
        if let Payload::Vrrp(a) = &f.payload
            && f.ts >= from
            && f.ts < to
            && a.priority > 0
        {
            *m.entry(a.src.to_string()).or_insert(0) += 1;
        }
    }
    m
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Pause(&'static str),
    DockerKill(&'static str),
    Kill9Vrrpd(&'static str),
}

/// Test 5: chaos. Cycles of pause / unpause, `docker kill` / start and `kill -9` of vrrpd on
/// either node, with random timing from a printed seed. In every cycle the VIP is served again
/// within 1 s; after every convergence exactly one node advertises (never two Actives).
#[test]
fn docker_5_chaos_pause_unpause_kill() {
    let test = "chaos";
    let cycles: u32 = std::env::var("VRRP_DOCKER_CHAOS_CYCLES")
        .ok()
        .map(|v| v.parse().expect("VRRP_DOCKER_CHAOS_CYCLES: a number"))
        .unwrap_or(100);
    let seed: u64 = std::env::var("VRRP_DOCKER_CHAOS_SEED")
        .ok()
        .map(|v| v.parse().expect("VRRP_DOCKER_CHAOS_SEED: a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("chaos: {cycles} cycles, seed {seed} (replay: VRRP_DOCKER_CHAOS_SEED={seed})");
    let Some(demo) = Demo::up(test) else { return };
    demo.wait_converged(CONVERGE);
    let capture = BridgeCapture::start(
        &demo.bridge(),
        artifact(&format!("{}-chaos.pcap", demo.project)),
        "ip proto 112",
    );
    let prober = Prober::start(demo.port);
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut worst = (0.0f64, 0u32, String::new());
    let mut windows = Vec::new();

    for cycle in 0..cycles {
        let node = if rng.range(0, 2) == 0 { MASTER } else { BACKUP };
        let fault = match rng.range(0, 4) {
            0 | 1 => Fault::Pause(node),
            2 => Fault::DockerKill(node),
            _ => Fault::Kill9Vrrpd(node),
        };
        let hold = Duration::from_millis(rng.range(20, 1500));
        let t0 = unix_now();
        match fault {
            Fault::Pause(n) => {
                demo.docker_on("pause", n);
                std::thread::sleep(hold);
                demo.docker_on("unpause", n);
            }
            Fault::DockerKill(n) => {
                demo.docker_on("kill", n);
                std::thread::sleep(hold);
                demo.docker_on("start", n);
            }
            Fault::Kill9Vrrpd(n) => {
                kill9(demo.vrrpd_pid(n));
                std::thread::sleep(hold);
            }
        }
        demo.wait_converged(CONVERGE);
        let converged = unix_now();
        // Who is Active, according to both daemons, right after convergence.
        let states = [demo.vrrp_state(MASTER), demo.vrrp_state(BACKUP)];
        let actives = states
            .iter()
            .filter(|s| s.as_deref() == Some("Active"))
            .count();
        assert_eq!(actives, 1, "cycle {cycle} ({fault:?}): states {states:?}");
        std::thread::sleep(Duration::from_millis(rng.range(100, 600)));
        let end = unix_now();
        windows.push((cycle, fault, converged + 0.1, end));

        let s = prober.samples().window(t0, end);
        let outage = s.outage();
        println!(
            "cycle {cycle}: {fault:?} for {} ms: converged after {} ms; {}",
            hold.as_millis(),
            ms(converged - t0),
            s.summary()
        );
        if outage > worst.0 {
            worst = (outage, cycle, format!("{fault:?}"));
        }
        assert!(
            s.failures().is_empty() && outage < ONE_SECOND && s.max_latency() < ONE_SECOND,
            "cycle {cycle} ({fault:?}, seed {seed}): {}",
            s.summary()
        );
    }
    let all = prober.stop();
    let pcap = capture.finish();
    // Never two Actives after convergence: in each settled window only the master advertises.
    for (cycle, fault, from, to) in &windows {
        let sources = advert_sources(&pcap, *from, *to);
        assert!(
            sources.keys().all(|s| *s == MASTER_IP.to_string()),
            "cycle {cycle} ({fault:?}, seed {seed}): adverts after convergence from {sources:?}"
        );
    }
    measure(test, "cycles", cycles);
    measure(test, "seed", seed);
    measure(test, "duration_s", started.elapsed().as_secs());
    measure(test, "requests", all.0.len());
    measure(test, "failed", all.failures().len());
    measure(test, "worst_outage_ms", ms(worst.0));
    measure(
        test,
        "worst_outage_cycle",
        format!("{}:{}", worst.1, worst.2),
    );
    measure(test, "max_latency_ms", ms(all.max_latency()));
}

/// Test 6: teardown removes the project's containers, network and image (the cached base
/// stays), also when the test fails: here a test that panics with its master paused.
#[test]
fn docker_6_teardown_leaves_nothing() {
    let test = "teardown";
    let (tx, rx) = std::sync::mpsc::channel();
    let failing = std::thread::spawn(move || {
        let Some(demo) = Demo::up(test) else { return };
        tx.send((demo.project.clone(), demo.image.clone())).unwrap();
        demo.wait_converged(CONVERGE);
        demo.docker_on("pause", MASTER);
        panic!("a failing test, its master paused");
    })
    .join();
    let Ok((project, image)) = rx.try_recv() else {
        return; // skipped
    };
    assert!(failing.is_err(), "the test thread was meant to panic");
    assert_eq!(
        project_leftovers(&project, &image),
        (0, 0, 0),
        "containers, networks, images left by {project}"
    );
    let base = run(Command::new("docker").args(["images", "-q", "vrrp-demo-base"]));
    assert!(!base.stdout.is_empty(), "the cached base image must stay");
}

/// How long after the master is back a flap would still show: before the start-up rule, the
/// last one came 9 s after the start.
const QUIET_AFTER: Duration = Duration::from_secs(12);

/// Test 7: a master that rejoins takes the VIP back once. `compose restart` of the master, then
/// `docker kill` + `compose start`: each time the backup changes state exactly twice (Backup ->
/// Active when the master goes, Active -> Backup when it is back), counted by the backup's own
/// vrrpd (`vrrpd status`), and the client sees no failed request and none slower than 1 s. A
/// busy loop runs on every core meanwhile: a busy host delays checks and adverts, which is when
/// a rejoin used to flap.
#[test]
fn docker_7_rejoin_takes_over_once() {
    let test = "rejoin";
    let Some(demo) = Demo::up(test) else { return };
    demo.wait_converged(CONVERGE);
    let _hog = CpuHog::start(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let prober = Prober::start(demo.port);

    for what in ["restart", "kill_start"] {
        let before = demo.transitions(BACKUP).expect("the backup's status");
        let t0 = unix_now();
        if what == "restart" {
            demo.compose_run(&["restart", MASTER]);
        } else {
            demo.docker_on("kill", MASTER);
            demo.wait_vrrp_state(BACKUP, "Active", Duration::from_secs(5));
            demo.compose_run(&["start", MASTER]);
        }
        let back = demo.wait_converged(CONVERGE);
        measure(
            test,
            &format!("{what}_start_to_primary_ms"),
            back.as_millis(),
        );
        // Nothing may move any more: watch the whole time the old start-up flapped.
        std::thread::sleep(QUIET_AFTER);
        let after = demo.transitions(BACKUP).expect("the backup's status");
        let changes = demo.state_changes(BACKUP, t0);
        let s = prober.samples().window(t0, unix_now());
        println!("{what}: {}", s.summary());
        for c in &changes {
            println!(
                "  {BACKUP} at +{} ms after the fault: {} -> {} ({})",
                ms(c.at - t0),
                c.from,
                c.to,
                c.reason
            );
        }
        measure(test, &format!("{what}_backup_transitions"), after - before);
        measure(test, &format!("{what}_failed"), s.failures().len());
        measure(test, &format!("{what}_max_latency_ms"), ms(s.max_latency()));
        assert_eq!(
            after - before,
            2,
            "{what}: the backup changed state {} times, expected Backup -> Active -> Backup: \
             {changes:?}",
            after - before
        );
        // The proxy retries what fails within 900 ms: a rejoin may fail no request.
        assert_served(what, &s);
        assert_eq!(demo.vrrp_state(MASTER).as_deref(), Some("Active"));
    }
}

mod parse_tests {
    use super::docker_support::{StateChange, rfc3339_unix};

    #[test]
    fn a_state_change_line() {
        let line = "2026-12-04T13:20:00.250000000Z 2026-12-04T13:20:00.249Z  INFO vrrp_host::daemon::events: \u{1b}[3mstate change\u{1b}[0m vrid=51 \u{1b}[3mfrom\u{1b}[0m\u{1b}[2m=\u{1b}[0mBackup to=Active reason=active_down priority=100";
        let c = StateChange::parse("b", line).unwrap();
        assert_eq!((c.from.as_str(), c.to.as_str()), ("Backup", "Active"));
        assert_eq!(c.reason, "active_down");
        assert!(c.moves_vip());
        // 2026-12-04T13:20:00Z
        assert!((c.at - 1_796_390_400.25).abs() < 1e-6, "{}", c.at);
        assert!(StateChange::parse("b", "2026-12-04T13:20:00Z health check changed").is_none());
        assert_eq!(rfc3339_unix("1970-01-01T00:00:01.5Z"), Some(1.5));
    }
}

/// Test 8: the quick start's `docker/demo` wrapper, with whichever compose this machine has:
/// `up` returns only once the VIP answers Primary (the first request after it says Primary),
/// `pause` / `unpause master` move the VIP, `status` reads a node's vrrpd without a TTY, and
/// `down` leaves no container, network or image of the project.
#[test]
fn docker_8_demo_wrapper_up_pause_status_down() {
    let test = "wrapper";
    let Some(demo) = Demo::prepare(test) else {
        return;
    };
    let ok = |args: &[&str]| {
        let out = demo.wrapper(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "docker/demo {args:?}: {}\n{text}",
            out.status
        );
        text
    };
    let t = Instant::now();
    ok(&["up"]);
    measure(test, "up_s", format!("{:.1}", t.elapsed().as_secs_f64()));
    let (status, body) = demo.get().expect("GET right after docker/demo up");
    assert_eq!(
        (status, body.trim()),
        (200, "Primary"),
        "the first answer after docker/demo up"
    );

    ok(&["pause", "master"]);
    demo.wait_body("Secondary", Duration::from_secs(5));
    ok(&["unpause", "master"]);
    demo.wait_body("Primary", Duration::from_secs(10));

    let status = ok(&["status", "master"]);
    assert!(
        status.contains("Active"),
        "docker/demo status master:\n{status}"
    );
    let refused = demo.wrapper(&["pause", "nobody"]);
    assert_eq!(refused.status.code(), Some(2), "an unknown node is refused");

    ok(&["down"]);
    let left = project_leftovers(&demo.project, &demo.image);
    assert_eq!(
        left,
        (0, 0, 0),
        "containers, networks, images left by docker/demo down"
    );
}

/// Test 9: the Dockerfile's build stage, the one `docker compose up --build` alone uses where a
/// registry is reachable: vrrpd compiled from source in a Rust image (`VRRP_DEMO_VRRPD=source`),
/// without docker/build.sh. Here the image with cargo is the local one docker/rust-image.sh
/// makes (`VRRP_DEMO_RUST_IMAGE`), and the crates come from docker/vendor/ (`cargo vendor`),
/// unless `VRRP_DOCKER_CRATES=network`. The demo built this way must serve, be healthy and
/// answer `vrrpd --version`; the cargo image, the build stage's images and the vendored crates
/// are removed afterwards, also on failure.
#[test]
fn docker_9_build_stage_compiles_vrrpd() {
    let test = "build_stage";
    let Some(demo) = Demo::prepare_with(test, |teardown| source_build(test, teardown)) else {
        return;
    };
    let t = Instant::now();
    demo.compose_run(&["up", "-d", "--build"]);
    measure(
        test,
        "compose_up_build_s",
        format!("{:.1}", t.elapsed().as_secs_f64()),
    );
    demo.wait_converged(CONVERGE);
    for service in [MASTER, BACKUP] {
        vrrp_tests::wait_until(Duration::from_secs(20), || {
            demo.state(service).health == "healthy"
        })
        .unwrap_or_else(|e| panic!("{service} not healthy: {:?} ({e})", demo.state(service)));
    }
    let out = run(Command::new("docker").args([
        "run",
        "--rm",
        "--entrypoint",
        "/usr/local/bin/vrrpd",
        &demo.image,
        "--version",
    ]));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        version.starts_with("vrrpd "),
        "vrrpd --version: {version:?}"
    );
    println!("{}: {version}", demo.image);
    let size =
        run(Command::new("docker").args(["image", "inspect", "-f", "{{.Size}}", &demo.image]));
    let size: f64 = String::from_utf8_lossy(&size.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    measure(test, "image_size_mb", format!("{:.1}", size / 1e6));
}

/// The build of test 9: the base image, the local cargo image and the vendored crates; returns
/// compose's variables for a build from source.
fn source_build(test: &str, teardown: &mut Teardown) -> Vec<(String, String)> {
    let script = |name: &str| {
        let out = run(Command::new(repo().join("docker").join(name)).stderr(Stdio::inherit()));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let base = script("build-base.sh");
    let t = Instant::now();
    let rust_image = script("rust-image.sh");
    measure(
        test,
        "rust_image_s",
        format!("{:.1}", t.elapsed().as_secs_f64()),
    );
    let image = rust_image.clone();
    teardown.push(move || remove_with_descendants(&image));
    if std::env::var("VRRP_DOCKER_CRATES").as_deref() == Ok("network") {
        println!("{test}: crates from the network (VRRP_DOCKER_CRATES=network)");
    } else {
        vendor_crates(test, teardown);
    }
    [
        ("VRRP_DEMO_BASE", base),
        ("VRRP_DEMO_RUST_IMAGE", rust_image),
        ("VRRP_DEMO_VRRPD", "source".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `cargo vendor` into docker/vendor/crates with the cargo configuration the build stage uses
/// when docker/vendor/ exists. A docker/vendor/ this test did not make is used as it is and kept.
fn vendor_crates(test: &str, teardown: &mut Teardown) {
    let dir = repo().join("docker/vendor");
    let marker = dir.join(".made-by-docker-demo-test");
    if dir.exists() && !marker.exists() {
        println!("{test}: using the docker/vendor/ that is there");
        return;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.clone();
    teardown.push(move || {
        let _ = std::fs::remove_dir_all(&d);
    });
    let t = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .current_dir(repo())
        .args(["vendor", "--locked", "--quiet", "docker/vendor/crates"])
        .stdout(Stdio::null()));
    std::fs::write(&marker, "").expect("docker/vendor marker");
    // Relative to the build stage's /src, where it is copied as .cargo/config.toml.
    std::fs::write(
        dir.join("config.toml"),
        "[source.crates-io]\nreplace-with = \"vendored\"\n\n\
         [source.vendored]\ndirectory = \"docker/vendor/crates\"\n",
    )
    .expect("docker/vendor/config.toml");
    measure(
        test,
        "vendor_s",
        format!("{:.1}", t.elapsed().as_secs_f64()),
    );
}

/// Removes `image` and what was built on it: containers a failed build step left, and the
/// build stage's untagged images (their history goes through `image`).
fn remove_with_descendants(image: &str) {
    let lines = docker_support::docker_words;
    let Some(id) = lines(&["image", "inspect", "-f", "{{.Id}}", image])
        .into_iter()
        .next()
    else {
        return;
    };
    for c in lines(&["ps", "-aq", "--filter", &format!("ancestor={id}")]) {
        let _ = Command::new("docker").args(["rm", "-f", &c]).output();
    }
    // Newest first: removing a stage's last image removes its untagged parents with it.
    for candidate in lines(&[
        "images",
        "-aq",
        "--no-trunc",
        "--filter",
        "label=org.vrrp-demo.stage=vrrpd",
    ]) {
        if lines(&["history", "-q", "--no-trunc", &candidate]).contains(&id) {
            let _ = Command::new("docker").args(["rmi", &candidate]).output();
        }
    }
    let out = Command::new("docker").args(["rmi", image]).output();
    if let Ok(out) = out
        && !out.status.success()
    {
        eprintln!(
            "docker rmi {image}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}
