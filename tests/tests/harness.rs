//! Tests of the harness itself: topology, teardown (also on panic), pause / resume, capture
//! attribution, the prober.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use vrrp_tests::capture::{Capture, Payload};
use vrrp_tests::lab::{Family, Lab, mac_string, proc_state};
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::require;
use vrrp_tests::probe::client_get;
use vrrp_tests::wait_until;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

fn ns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// Every namespace of `lab`: its nodes' and the switch's.
fn namespaces_of(lab: &Lab) -> Vec<String> {
    lab.nodes()
        .iter()
        .map(|n| n.ns.clone())
        .chain([lab.switch_ns.clone()])
        .collect()
}

fn assert_gone(namespaces: &[String]) {
    for ns in namespaces {
        assert!(!ns_exists(ns), "namespace {ns} left behind");
    }
}

fn pid_alive(pid: i32) -> bool {
    // A zombie is gone for our purposes (its parent reaps it).
    proc_state(pid).is_some_and(|s| s != 'Z')
}

#[test]
fn topology_serves_each_router_and_tears_down() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::new("topology_serves_each_router_and_tears_down", 3);
    let bodies = ["one", "two", "three"];
    let mut nginx = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        nginx.push(Nginx::start(&lab, &format!("r{}", i + 1), body));
    }
    for (i, body) in bodies.iter().enumerate() {
        let ip = lab.node(&format!("r{}", i + 1)).ip;
        let got = client_get(&lab, PROBER, ip, Duration::from_secs(2));
        assert_eq!(got.as_deref(), Ok(*body), "GET {ip}");
    }
    // The client resolved every router to the MAC the lab gave it.
    for r in ["r1", "r2", "r3"] {
        let ip = lab.node(r).ip;
        assert_eq!(lab.client_arp_owner(ip).as_deref(), Some(r));
    }
    let namespaces = namespaces_of(&lab);
    let pids: Vec<i32> = lab.routers().flat_map(|n| lab.pids(&n.name)).collect();
    assert!(
        pids.len() >= 6,
        "nginx master + worker per router: {pids:?}"
    );
    let (tmp, artifacts) = (lab.tmp.clone(), lab.artifacts.clone());
    assert!(namespaces.iter().all(|ns| ns_exists(ns)));
    drop(lab);
    assert_gone(&namespaces);
    for pid in pids {
        assert!(!pid_alive(pid), "process {pid} left behind");
    }
    assert!(!tmp.exists(), "tmp dir left behind");
    if std::env::var_os("VRRP_KEEP_ARTIFACTS").is_none() {
        assert!(!artifacts.exists(), "artifacts of a passing test kept");
    }
}

#[test]
fn ipv6_lab_serves_each_router_and_tears_down() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::with_family(
        "ipv6_lab_serves_each_router_and_tears_down",
        2,
        Family::Ipv6,
    );
    let bodies = ["one", "two"];
    let _nginx: Vec<Nginx> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| Nginx::start(&lab, &format!("r{}", i + 1), body))
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        let r = format!("r{}", i + 1);
        let node = lab.node(&r).clone();
        // The link-local the lab expects is the one the kernel made, and it is usable.
        assert!(
            lab.has_addr(&r, node.link_local),
            "{r}: no {}",
            node.link_local
        );
        for ip in [IpAddr::from(node.ip6), IpAddr::from(node.ip)] {
            let got = client_get(&lab, PROBER, ip, Duration::from_secs(2));
            assert_eq!(got.as_deref(), Ok(*body), "GET {ip}");
        }
        // Neighbour discovery resolved the router to the MAC the lab gave it.
        assert_eq!(
            lab.client_neigh_owner(node.ip6).as_deref(),
            Some(r.as_str())
        );
    }
    for n in lab.nodes() {
        let addrs = lab.exec_ok(&n.name, "ip", &["-6", "-o", "addr", "show"]);
        assert!(!addrs.contains("tentative"), "{}: {addrs}", n.name);
        // Routers route IPv6 (as they do IPv4 on a host that forwards); the client is a host.
        let fwd = lab.exec_ok(&n.name, "sysctl", &["-n", "net.ipv6.conf.eth0.forwarding"]);
        let want = if n.name == "client" { "0" } else { "1" };
        assert_eq!(fwd.trim(), want, "{} forwarding", n.name);
    }
    // The switch has no IPv6 of its own: nothing it sends pollutes the captures.
    let sw = lab.exec_ok("sw", "ip", &["-6", "-o", "addr", "show"]);
    assert!(sw.trim().is_empty(), "switch has IPv6 addresses: {sw}");
    let namespaces = namespaces_of(&lab);
    drop(lab);
    assert_gone(&namespaces);
}

/// A lab with two segments: every node on both, with the second segment's addresses and MACs,
/// no IPv6 on either; the client reaches each router on either segment and resolves it to that
/// segment's MAC; the cable pull (switch port down) takes the router's carrier; nothing is left
/// after the drop.
#[test]
fn two_segment_lab_serves_each_router_on_both_and_tears_down() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::with_segments(
        "two_segment_lab_serves_each_router_on_both_and_tears_down",
        2,
        2,
    );
    assert_eq!(lab.segments(), 2);
    let bodies = ["one", "two"];
    let _nginx: Vec<Nginx> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| Nginx::start(&lab, &format!("r{}", i + 1), body))
        .collect();
    for n in lab.nodes() {
        let l = lab.link(&n.name, 1);
        let show = lab.exec_ok(&n.name, "ip", &["-o", "link", "show", "dev", "eth1"]);
        assert!(
            show.contains(&format!("link/ether {} ", mac_string(&l.mac))),
            "{}: {show}",
            n.name
        );
        assert!(lab.has_addr(&n.name, l.ip), "{}: no {}", n.name, l.ip);
        assert_ne!(l.mac, n.mac);
        let v6 = lab.exec_ok(&n.name, "ip", &["-6", "-o", "addr", "show"]);
        assert!(v6.trim().is_empty(), "{} has IPv6: {v6}", n.name);
    }
    for (i, body) in bodies.iter().enumerate() {
        let r = format!("r{}", i + 1);
        let l = lab.link(&r, 1);
        let got = client_get(&lab, PROBER, l.ip, Duration::from_secs(2));
        assert_eq!(got.as_deref(), Ok(*body), "GET {}", l.ip);
        assert_eq!(
            lab.client_arp_owner_on("eth1", l.ip).as_deref(),
            Some(r.as_str())
        );
        // The entry is on eth1: asking on eth0 finds none.
        assert_eq!(lab.client_arp_owner_on("eth0", l.ip), None);
    }
    let carrier = || lab.exec_ok("r1", "cat", &["/sys/class/net/eth1/carrier"]);
    assert_eq!(carrier().trim(), "1");
    let port = lab.link("r1", 1).port;
    lab.exec_ok("sw", "ip", &["link", "set", &port, "down"]);
    assert_eq!(carrier().trim(), "0");
    lab.exec_ok("sw", "ip", &["link", "set", &port, "up"]);
    wait_until(Duration::from_secs(2), || carrier().trim() == "1").expect("carrier back");
    let namespaces = namespaces_of(&lab);
    drop(lab);
    assert_gone(&namespaces);
    // The veths died with their namespaces: none of the lab's ports is left in the host's.
    let host_links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let host_links = String::from_utf8_lossy(&host_links.stdout);
    for port in ["p-r1", "p1-r1", "p-client", "p1-client"] {
        assert!(
            !host_links.contains(&format!(": {port}@")),
            "{port} left in the host"
        );
    }
}

#[test]
fn teardown_on_panic_keeps_artifacts() {
    if !require(&[]) {
        return;
    }
    let seen: Mutex<Option<(Vec<String>, i32, std::path::PathBuf)>> = Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = Lab::new("teardown_on_panic_keeps_artifacts", 1);
        let id = lab.spawn("r1", "sleeper", "sleep", &["600"]);
        let namespaces = lab.nodes().iter().map(|n| n.ns.clone()).collect();
        *seen.lock().unwrap() = Some((namespaces, lab.pid(id), lab.artifacts.clone()));
        panic!("deliberate failure inside a test");
    }));
    assert!(result.is_err());
    let (namespaces, pid, artifacts) = seen.lock().unwrap().take().unwrap();
    for ns in &namespaces {
        assert!(!ns_exists(ns), "namespace {ns} left behind after a panic");
    }
    assert!(!pid_alive(pid), "sleep {pid} left behind after a panic");
    assert!(
        artifacts.join("topology.txt").exists(),
        "artifacts of a failed test must be kept"
    );
    std::fs::remove_dir_all(&artifacts).unwrap();
}

#[test]
fn pause_freezes_every_process_of_the_namespace() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::new("pause_freezes_every_process_of_the_namespace", 2);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let sleeper = lab.spawn("r1", "sleeper", "sleep", &["600"]);
    let r1 = lab.node("r1").ip;
    assert_eq!(
        client_get(&lab, PROBER, r1, Duration::from_secs(2)).as_deref(),
        Ok("Primary")
    );
    let pids = lab.pids("r1");
    assert!(pids.contains(&lab.pid(sleeper)));
    let t_pause = lab.pause("r1");
    for &pid in &pids {
        assert_eq!(proc_state(pid), Some('T'), "pid {pid} not stopped");
    }
    // r2 is untouched.
    for pid in lab.pids("r2") {
        assert_ne!(proc_state(pid), Some('T'));
    }
    // The kernel still accepts the connection, but paused nginx never answers.
    assert!(client_get(&lab, PROBER, r1, Duration::from_millis(300)).is_err());
    let t_resume = lab.resume("r1");
    assert!(t_resume > t_pause);
    wait_until(Duration::from_secs(2), || {
        pids.iter().all(|&p| proc_state(p) != Some('T'))
    })
    .expect("processes resumed");
    assert_eq!(
        client_get(&lab, PROBER, r1, Duration::from_secs(2)).as_deref(),
        Ok("Primary")
    );
    // The events file has the format of ../shared/traces/*.events.txt.
    let events = std::fs::read_to_string(lab.artifacts.join("events.txt")).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 2, "{events}");
    for (line, verb, t) in [(lines[0], "pause", t_pause), (lines[1], "resume", t_resume)] {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[..2], [verb, "r1"], "{line}");
        let (secs, frac) = parts[2].split_once('.').expect("fractional seconds");
        assert_eq!(frac.len(), 6, "microseconds: {line}");
        assert!(secs.parse::<u64>().is_ok());
        assert!((parts[2].parse::<f64>().unwrap() - t).abs() < 1e-5);
    }
}

#[test]
fn capture_attributes_frames_to_their_sender() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::new("capture_attributes_frames_to_their_sender", 2);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let cap = Capture::start(&lab);
    let r1 = lab.node("r1").clone();
    let client = lab.client().clone();
    let t0 = vrrp_tests::unix_now();
    assert_eq!(
        client_get(&lab, PROBER, r1.ip, Duration::from_secs(2)).as_deref(),
        Ok("Primary")
    );
    // tcpdump writes packet-buffered: the reply is in the file without stopping it.
    wait_until(Duration::from_secs(5), || {
        cap.from_node_now("r1")
            .arps()
            .any(|(_, _, a)| a.op == 2 && a.sender_ip == r1.ip)
            && cap
                .bridge_now()
                .arps()
                .any(|(_, _, a)| a.op == 2 && a.sender_ip == r1.ip)
    })
    .expect("r1's ARP reply captured on its port and on the bridge");
    let (bridge, ports) = cap.finish(&lab);
    // On the bridge: the client's ARP request for r1 and r1's reply.
    assert!(
        bridge
            .arps()
            .any(|(t, mac, a)| t >= t0 && mac == client.mac && a.op == 1 && a.target_ip == r1.ip)
    );
    assert!(
        bridge
            .arps()
            .any(|(_, mac, a)| mac == r1.mac && a.op == 2 && a.sender_ip == r1.ip)
    );
    // Per port: only what that router sent.
    assert!(!ports["r1"].frames.is_empty());
    assert!(ports["r1"].frames.iter().all(|f| f.src_mac == r1.mac));
    assert!(
        ports["r1"]
            .frames
            .iter()
            .any(|f| matches!(f.payload, Payload::Ipv4 { src, .. } if src == r1.ip))
    );
    assert!(ports["r2"].frames.is_empty(), "r2 sent nothing");
}

#[test]
fn prober_stays_on_the_test_segment() {
    // No root needed: the prober refuses before sending anything. 198.51.100.0/24 is a lab's
    // second segment; 203.0.113.0/24 is a documentation prefix no lab uses.
    for target in [
        "203.0.113.1",
        "8.8.8.8",
        "127.0.0.1",
        "::1",
        "2001:4860::8888",
        "fe80::1",
    ] {
        let out = Command::new(PROBER)
            .args(["--once", target])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}");
    }
    let out = Command::new(PROBER).args(["--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn prober_records_failures_and_successes() {
    if !require(&[]) {
        return;
    }
    let lab = Lab::new("prober_records_failures_and_successes", 1);
    let r1 = lab.node("r1").ip;
    // Nothing listens yet: refused.
    assert!(client_get(&lab, PROBER, r1, Duration::from_millis(300)).is_err());
    let probe = vrrp_tests::probe::Prober::start(
        &lab,
        PROBER,
        r1,
        &vrrp_tests::probe::ProbeOpts {
            interval: Duration::from_millis(5),
            timeout: Duration::from_millis(100),
            duration: Duration::from_secs(30),
        },
    );
    wait_until(Duration::from_secs(5), || probe.records(&lab).0.len() >= 5)
        .expect("prober records failures");
    let t = vrrp_tests::unix_now();
    let _n = Nginx::start(&lab, "r1", "Primary");
    wait_until(Duration::from_secs(5), || {
        probe.records(&lab).count_body_since("Primary", t) >= 5
    })
    .expect("prober records successes");
    let rec = probe.stop(&lab);
    assert!(rec.errors(0.0, t) >= 5);
    assert!(rec.0.iter().all(|p| p.end >= p.start));
}
