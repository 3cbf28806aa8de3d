//! Malformed adverts injected from a third namespace must be dropped, shown on
//! keepalived; the same scenario takes vrrpd once it exists. And vrrpd's status endpoint under
//! a flood of idle connections and oversized requests: adverts keep their schedule and
//! `/status` keeps answering.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vrrp_tests::capture::Capture;
use vrrp_tests::craft::{AdvertSpec, Fault, inject};
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::{
    Router, Speaker, State, VRRPD_STATUS, VrrpParams, link_local_vip, status, try_status,
};
use vrrp_tests::scenario::{Failover, hostile_adverts};
use vrrp_tests::{Family, Lab, VIP, VIP6, unix_now, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const INJECT: &str = env!("CARGO_BIN_EXE_inject");

#[test]
fn keepalived_drops_malformed_adverts() {
    if !require(&[Need::Keepalived]) {
        return;
    }
    let lab = Lab::new("keepalived_drops_malformed_adverts", 3);
    let spec = Failover::new(Speaker::Keepalived, 3, Duration::from_millis(100));
    // Reported, not asserted: keepalived 2.2.7 drops them ("invalid TTL/HL") but, as Active, stops
    // advertising while they arrive at its own interval, so r2 takes over (see the report).
    let outcomes = hostile_adverts(&lab, PROBER, INJECT, &spec, false);
    assert_eq!(outcomes.len(), 3);
}

#[test]
fn frr_drops_malformed_adverts() {
    if !require(&[Need::Frr]) {
        return;
    }
    let lab = Lab::new("frr_drops_malformed_adverts", 3);
    let spec = Failover::new(Speaker::Frr, 3, Duration::from_millis(100));
    hostile_adverts(&lab, PROBER, INJECT, &spec, true);
}

#[test]
fn injector_refuses_the_initial_namespace() {
    // No root needed: the guard fires before any socket is opened.
    let frame = "01005e000012020c0c0002d0d08004500";
    let out = std::process::Command::new(INJECT)
        .arg(frame)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The message vrrpd logs for an advert that lists other VIPs than its own.
const MISMATCH: &str = "advert lists other virtual addresses than ours";

/// A flood of valid adverts with another address list (RFC 9568 §7.1: logged, processed) at an
/// Active vrrpd: its log stays a few lines (the first, then one summary per 5 s whose counts add
/// up to the status counter), while `address_mismatches` counts the adverts. Then adverts for
/// a VRID it does not run, by multicast and by unicast to its own address: counted in
/// `unmatched_drops`, never in its router's `drops`.
#[test]
fn vrrpd_flood_logs_a_summary_and_counts_every_advert() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_flood_logs_a_summary", 1);
    let client = lab.client().clone();
    let r1_ip = lab.node("r1").ip;
    let r1_mac = lab.node("r1").mac;
    let mut params = VrrpParams::v3(10, 200, Duration::from_millis(100));
    // A peer list opens the unicast socket; the injector is the peer, so its adverts count.
    params.unicast_peers = vec![client.ip.into()];
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &params);
    wait_until(Duration::from_secs(10), || {
        try_status(&lab, "r1").is_some_and(|v| v["routers"][0]["state"] == "Active")
    })
    .expect("r1 Active");
    // Alone on the link, r1 took over when Active_Down_Interval after its start ran out, and
    // says so with the figures.
    let t = &status(&lab, "r1")["routers"][0]["last_transition"];
    assert_eq!(t["reason"], "active_down", "{t}");
    let k = &t["takeover"];
    assert_eq!(k["wait"], "active_down_interval", "{t}");
    assert!(k["late_ms"].as_f64().is_some_and(|l| l >= 0.0), "{t}");
    assert!(k["last_advert"].is_null(), "nobody spoke before: {t}");
    let log = lab.log(r1.procs()[0]);
    assert!(
        log.contains("took over: active_down_interval expired at")
            && log.contains("no advert heard since start"),
        "{log}"
    );

    let tap_rx = |lab: &Lab| {
        status(lab, "r1")["datapath"]["tap_rx_frames"]
            .as_u64()
            .unwrap()
    };
    let rx_before = tap_rx(&lab);
    let mut flood = AdvertSpec::v3(client.mac, client.ip, 10, 100, 10);
    flood.addrs = vec![Ipv4Addr::new(192, 0, 2, 222)];
    let n = 100_000;
    let t0 = Instant::now();
    let sent = inject(
        &lab,
        INJECT,
        "client",
        &[flood.frame(Fault::None)],
        n,
        Duration::ZERO,
    );
    let flood_time = t0.elapsed();
    assert_eq!(sent, n);
    let id = r1.procs()[0];
    // The loop summarises at its next turn after the 5 s window: wait for the counts in the
    // log to add up to the counter.
    let counted = |lab: &Lab| status(lab, "r1")["routers"][0]["address_mismatches"].as_u64();
    let logged = |log: &str| -> (usize, u64) {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(MISMATCH)).collect();
        let summarised: u64 = lines
            .iter()
            .filter_map(|l| {
                let (_, rest) = l.split_once(&format!("{MISMATCH}: "))?;
                rest.split(" more").next()?.parse::<u64>().ok()
            })
            .sum();
        let full = lines
            .iter()
            .filter(|l| !l.contains(" more in the last "))
            .count();
        (lines.len(), full as u64 + summarised)
    };
    let mut last = (0, 0, None);
    // The counts must agree once vrrpd has read all it will read: right after its first frame
    // the counter (1) and the log's first line (1) agree too, with the rest still queued. So
    // the counter must also have stood still for a while.
    let (mut seen, mut still_since) = (None, Instant::now());
    let agree = wait_until(Duration::from_secs(20), || {
        let c = counted(&lab);
        let (lines, total) = logged(&lab.log(id));
        last = (lines, total, c);
        if c != seen {
            (seen, still_since) = (c, Instant::now());
        }
        c.is_some_and(|c| c > 0 && total == c)
            && still_since.elapsed() >= Duration::from_millis(300)
    });
    let (lines, total, c) = last;
    let c = c.unwrap_or(0);
    let elapsed = t0.elapsed();
    let read = tap_rx(&lab) - rx_before;
    println!(
        "MEASURE flood {n} adverts sent in {:.2} s, {read} frames read from the TAP: \
         address_mismatches {c}, {lines} log lines for them (counts in the log: {total}), \
         vrrpd log {} bytes",
        flood_time.as_secs_f64(),
        lab.log(id).len()
    );
    agree.unwrap_or_else(|_| {
        panic!("log counts {total} in {lines} lines never matched the counter {c}")
    });
    // Frames the kernel could not queue to the TAP (its queue holds 1000) are lost before
    // vrrpd; every one it read counts. The other frames read meanwhile (ARP, IGMP) are few.
    assert!(c <= n as u64 && c >= 1000, "{c} of {n} counted");
    assert!(
        c <= read && read - c < 100,
        "{c} counted of {read} frames read"
    );
    // The first line, then at most one summary per 5 s window since the flood began.
    let windows = elapsed.as_secs() as usize / 5 + 1;
    assert!(lines <= 1 + windows, "{lines} lines in {elapsed:?}");
    assert!(
        lab.log(id).len() < 64 * 1024,
        "log of {} bytes",
        lab.log(id).len()
    );

    // Adverts for VRID 99, which r1 does not run: 50 by multicast, 50 by unicast to r1.
    let before = status(&lab, "r1");
    let unmatched = |v: &serde_json::Value| v["unmatched_drops"]["vrid"].as_u64().unwrap_or(0);
    let mut other = AdvertSpec::v3(client.mac, client.ip, 99, 100, 10);
    let multicast = other.frame(Fault::None);
    other.dst = r1_ip;
    let mut unicast = other.frame(Fault::None);
    unicast[..6].copy_from_slice(&r1_mac);
    let rounds = 50;
    inject(
        &lab,
        INJECT,
        "client",
        &[multicast, unicast],
        rounds,
        Duration::from_millis(2),
    );
    let want = unmatched(&before) + 2 * rounds as u64;
    let mut seen = 0;
    let ok = wait_until(Duration::from_secs(5), || {
        seen = unmatched(&status(&lab, "r1"));
        seen >= want
    });
    let after = status(&lab, "r1");
    assert!(
        ok.is_ok() && seen == want,
        "unmatched vrid {seen}, want {want}"
    );
    assert_eq!(
        after["routers"][0]["drops"]["vrid"], 0,
        "adverts for another VRID counted in r1's router: {}",
        after["routers"][0]["drops"]
    );
}

/// Adverts for a virtual router this daemon does not run count in `unmatched_drops`, whatever
/// way they come: a VRID it runs in neither family, or one it runs in the other family only
/// (VRIDs are per family), by multicast (TAP) or by unicast (the kernel's sockets), IPv4 and
/// IPv6. No router's `drops` count them.
#[test]
fn vrrpd_counts_adverts_for_other_routers_as_unmatched() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::with_family("vrrpd_counts_unmatched", 1, Family::Ipv6);
    let client = lab.client().clone();
    let r1 = lab.node("r1").clone();
    // VRID 10 runs over IPv6 only, VRID 20 over IPv4 only; both with the client as their
    // peer, so that both unicast sockets are open.
    let config = format!(
        "interface = \"eth0\"\n[status]\nlisten = \"{VRRPD_STATUS}\"\n\
         [[vrrp]]\nvrid = 10\npriority = 200\ninterval = \"100ms\"\n\
         vips = [\"{}/64\", \"{VIP6}/64\"]\npeers = [\"{}\"]\n\
         [[vrrp]]\nvrid = 20\npriority = 200\ninterval = \"100ms\"\n\
         vips = [\"{VIP}/24\"]\npeers = [\"{}\"]\n",
        link_local_vip(10),
        client.link_local,
        client.ip
    );
    let params = VrrpParams::v3_ipv6(10, 200, Duration::from_millis(100));
    let _r = Router::vrrpd(&lab, "r1", &params, &config);
    wait_until(Duration::from_secs(15), || {
        try_status(&lab, "r1").is_some_and(|v| {
            v["routers"]
                .as_array()
                .is_some_and(|rs| rs.iter().all(|r| r["state"] == "Active"))
        })
    })
    .expect("both routers Active");

    let v4 = |vrid: u8, dst: Option<(Ipv4Addr, [u8; 6])>| {
        let mut a = AdvertSpec::v3(client.mac, client.ip, vrid, 100, 10);
        let Some((ip, mac)) = dst else {
            return a.frame(Fault::None);
        };
        a.dst = ip;
        let mut f = a.frame(Fault::None);
        f[..6].copy_from_slice(&mac);
        f
    };
    let all_routers: std::net::Ipv6Addr = "ff02::12".parse().unwrap();
    let v6 = |vrid: u8, dst: std::net::Ipv6Addr, mac: [u8; 6]| {
        let vip = link_local_vip(vrid);
        vrrp_tests::craft::advert6_frame(
            client.mac,
            client.link_local,
            dst,
            mac,
            vrid,
            100,
            10,
            &[vip],
        )
    };
    let group_mac = [0x33, 0x33, 0, 0, 0, 0x12];
    let frames = [
        // A VRID nobody runs.
        v4(99, None),
        v4(99, Some((r1.ip, r1.mac))),
        v6(99, all_routers, group_mac),
        v6(99, r1.link_local, r1.mac),
        // Each router's VRID in the other family.
        v4(10, None),
        v4(10, Some((r1.ip, r1.mac))),
        v6(20, all_routers, group_mac),
        v6(20, r1.link_local, r1.mac),
    ];
    let before = status(&lab, "r1");
    let unmatched = |v: &serde_json::Value| v["unmatched_drops"]["vrid"].as_u64().unwrap_or(0);
    let rounds = 20;
    inject(
        &lab,
        INJECT,
        "client",
        &frames,
        rounds,
        Duration::from_millis(5),
    );
    let want = unmatched(&before) + (frames.len() * rounds) as u64;
    let mut seen = 0;
    let _ = wait_until(Duration::from_secs(5), || {
        seen = unmatched(&status(&lab, "r1"));
        seen >= want
    });
    // Late ones, if any, would show up as more than wanted.
    std::thread::sleep(Duration::from_millis(300));
    let after = status(&lab, "r1");
    assert_eq!(unmatched(&after), want, "unmatched vrid drops");
    for r in after["routers"].as_array().unwrap() {
        let counted: u64 = r["drops"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|n| n.as_u64())
            .sum();
        assert_eq!(
            counted, 0,
            "VRID {} counted drops: {}",
            r["vrid"], r["drops"]
        );
        assert_eq!(r["state"], "Active", "VRID {} disturbed", r["vrid"]);
    }
}

/// Idle connections opened to the Active's status endpoint.
const IDLE: usize = 1000;

/// What the oversized and slow requests got back.
#[derive(Debug)]
struct Oversized {
    /// First line of the answer to a 1 MiB header, or "" if the server just closed.
    huge_header: String,
    /// Same for a GET announcing a 100 MB body and sending 8 MiB of it.
    huge_body: String,
    /// How long a client trickling one header line every 500 ms was kept.
    slowloris: Duration,
}

/// Raises this process's descriptor limit to its hard limit: the flood holds 1,000 sockets.
fn raise_nofile() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        l.rlim_cur = l.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &l), 0);
    }
    assert!(
        l.rlim_cur as usize > IDLE + 100,
        "RLIMIT_NOFILE hard limit {} is too low for the flood",
        l.rlim_max
    );
}

/// Moves the calling thread into network namespace `ns` (sockets it opens live there).
fn enter_netns(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
    // SAFETY: setns on a descriptor we own; it affects this thread only.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

/// The first line the server answers, or "" when it closes without answering.
fn answer_line(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.contains(&b'\n') {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer and no close within 15 s: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().unwrap_or("").trim().to_owned()
}

fn oversized_requests(addr: &str) -> Oversized {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    // The server may close before it has read it all.
    let _ = s.write_all(head.as_bytes());
    let huge_header = answer_line(&mut s);

    let mut s = TcpStream::connect(addr).unwrap();
    // A server that neither reads the body nor closes would block the writes for ever.
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    let chunk = vec![b'b'; 1 << 16];
    for _ in 0..128 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let huge_body = answer_line(&mut s);

    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let start = Instant::now();
    let _ = s.write_all(b"GET /status HTTP/1.1\r\n");
    let mut b = [0u8; 1];
    loop {
        // Read once per 500 ms: Ok(0) or a reset is the server closing; a timeout means it
        // still waits for the rest of the head, so send one more header line.
        match s.read(&mut b) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "a slowloris client is still served after 60 s"
                );
                if s.write_all(b"X-Slow: 1\r\n").is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Oversized {
        huge_header,
        huge_body,
        slowloris: start.elapsed(),
    }
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// 1,000 idle connections to the Active's status endpoint, a 1 MiB header, a 100 MB body and a
/// slowloris client, all at once: r1 keeps advertising on schedule (no silence over 3I + skew
/// in the capture of what it sends), nobody changes state, `/status` answers throughout, and the
/// daemon's descriptors stay bounded.
#[test]
fn vrrpd_status_endpoint_survives_a_connection_flood() {
    if !require(&[Need::Vrrpd, Need::Tcpdump]) {
        return;
    }
    let lab = Lab::new("vrrpd_status_endpoint_survives_a_connection_flood", 2);
    let p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let p2 = p1.with_priority(100);
    let cap = Capture::start(&lab);
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    wait_until(Duration::from_secs(20), || {
        r1.state(&lab) == State::Active && r2.state(&lab) == State::Backup
    })
    .expect("r1 Active, r2 Backup");
    let pid = lab.pid(r1.procs()[0]);
    let fds_before = open_fds(pid);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("?")
        .to_owned();
    let log = || lab.log(r1.procs()[0]) + &lab.log(r2.procs()[0]);
    // The status shows r1 Active at once; the logger thread writes the line a moment later.
    wait_until(Duration::from_secs(5), || {
        lab.log(r1.procs()[0])
            .lines()
            .any(|l| l.contains("state change") && l.contains("Active"))
    })
    .expect("r1's transition to Active logged");
    let changes_before = log().matches("state change").count();

    // Only now: the daemons keep the descriptor limit they were started with, as under an
    // init system.
    raise_nofile();
    let t0 = unix_now();
    let ns = lab.ns("r1");
    let (connected_tx, connected) = mpsc::channel();
    let (done, done_rx) = mpsc::channel::<()>();
    let flood = std::thread::spawn(move || {
        enter_netns(&ns);
        let idle: Vec<TcpStream> = (0..IDLE)
            .map(|_| TcpStream::connect(VRRPD_STATUS).expect("connect"))
            .collect();
        connected_tx.send(()).unwrap();
        let oversized = oversized_requests(VRRPD_STATUS);
        done_rx.recv().unwrap();
        // How many idle connections the server closed (end-of-file, or reset).
        let closed = idle
            .iter()
            .filter(|s| {
                s.set_nonblocking(true).unwrap();
                match (&**s).read(&mut [0u8; 1]) {
                    Ok(n) => n == 0,
                    Err(e) => e.kind() != ErrorKind::WouldBlock,
                }
            })
            .count();
        (oversized, closed)
    });
    connected
        .recv_timeout(Duration::from_secs(30))
        .expect("1,000 connections opened");

    // `/status` answers while the flood holds, each time within `vrrpd status`'s own 3 s.
    let mut worst_status = Duration::ZERO;
    let mut worst_fds = 0;
    let hold = Instant::now();
    while hold.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        let v = try_status(&lab, "r1").expect("r1's /status answers during the flood");
        worst_status = worst_status.max(t.elapsed());
        assert_eq!(v["routers"][0]["state"], "Active");
        worst_fds = worst_fds.max(open_fds(pid));
    }
    done.send(()).unwrap();
    let (oversized, closed) = flood.join().expect("flood thread");
    let t1 = unix_now();

    let times = cap.from_node_now("r1").advert_times_any(t0, t1);
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let worst_gap = gaps.iter().copied().fold(0.0, f64::max);
    let line = format!(
        "flood of {IDLE} idle connections + oversized requests for {:.1} s: {} adverts from r1, \
         worst silence {:.1} ms (3I + skew = {:.1} ms); /status worst {:.0} ms; r1's fds {} -> \
         at most {} (limit {}); {} idle connections closed by the server; 1 MiB header: {:?}; 100 MB body: \
         {:?}; slowloris cut after {:.1} s",
        t1 - t0,
        times.len(),
        worst_gap * 1e3,
        p1.active_down_interval().as_secs_f64() * 1e3,
        worst_status.as_secs_f64() * 1e3,
        fds_before,
        worst_fds,
        nofile,
        closed,
        oversized.huge_header,
        oversized.huge_body,
        oversized.slowloris.as_secs_f64()
    );
    eprintln!("{line}");
    lab.write_artifact("status-flood.txt", &line);

    assert!(r1.is_running(&lab) && r2.is_running(&lab), "{}", log());
    assert!(!log().contains("panicked"), "{}", log());
    assert_eq!(
        log().matches("state change").count(),
        changes_before,
        "a state change during the flood:\n{}",
        log()
    );
    assert!(
        times.len() as f64 >= (t1 - t0) / 0.1 * 0.8,
        "r1 sent {} adverts in {:.1} s",
        times.len(),
        t1 - t0
    );
    assert!(
        worst_gap <= p1.active_down_interval().as_secs_f64(),
        "{line}"
    );
    // The limits of host/src/status.rs: 64 connections, 16 KiB heads, 5 s for a head.
    assert!(worst_fds <= fds_before + 64 + 8, "{line}");
    assert!(closed >= IDLE - 64, "{line}");
    assert!(
        oversized.huge_header.is_empty() || oversized.huge_header.starts_with("HTTP/1.1 431"),
        "{line}"
    );
    assert!(
        oversized.slowloris >= Duration::from_secs(4)
            && oversized.slowloris < Duration::from_secs(8),
        "{line}"
    );
}
