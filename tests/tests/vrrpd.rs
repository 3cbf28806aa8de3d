//! vrrpd on real namespaces with real nginx, and interop with
//! keepalived and FRR in either seat.
//!
//! Timing is checked against generous bounds (this machine is noisy); the exact figures are in
//! the `MEASURE` lines and, repeated, in the benchmarks.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrp_tests::capture::{Capture, Pcap};
use vrrp_tests::lab::mac_string;
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::probe::{ProbeOpts, Prober, client_get, wait_client_body};
use vrrp_tests::router::{Router, Speaker, VrrpParams, status, vrrpd_config_toml};
use vrrp_tests::scenario::{Failover, hostile_adverts, pause_resume, sigterm_takeover};
use vrrp_tests::{Family, Lab, VIP, VIP6, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const INJECT: &str = env!("CARGO_BIN_EXE_inject");
const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 10];

/// ARP frames claiming the VIP per sender MAC, from `t` on.
fn claims_since(cap: &Capture, t: f64) -> BTreeMap<String, (usize, usize)> {
    let all = cap.bridge_now();
    let since = Pcap {
        frames: all.frames.into_iter().filter(|f| f.ts >= t).collect(),
    };
    since.arp_claims(VIP)
}

fn get(lab: &Lab) -> Result<String, String> {
    client_get(lab, PROBER, VIP, Duration::from_millis(300))
}

fn wait_body(lab: &Lab, body: &str, within: Duration) {
    wait_client_body(lab, PROBER, VIP, body, within);
}

/// Tests 1-3: the client gets Primary through the VIP; pausing every process of r1 moves it to
/// Secondary within 3I + skew (seen on the wire); resuming brings Primary back with at most two
/// frames from r1 in its first 50 ms.
fn failover(name: &str, seat1: Speaker, seat2: Speaker, version: u8, interval: Duration) {
    let mut needs = vec![Need::Vrrpd];
    for s in [seat1, seat2] {
        match s {
            Speaker::Keepalived => needs.push(Need::Keepalived),
            Speaker::Frr => needs.push(Need::Frr),
            Speaker::Vrrpd => {}
        }
    }
    if !require(&needs) {
        return;
    }
    let lab = Lab::new(name, 2);
    let mut spec = Failover::pair(seat1, seat2, version, interval);
    if seat1 == Speaker::Vrrpd {
        // No burst: at most two frames beyond the adverts a running Active sends in 50 ms anyway
        // (none at 100 ms and above, five at 10 ms).
        let periodic = (Duration::from_millis(50).as_micros() / interval.as_micros()) as usize;
        spec.max_resume_frames = Some(2 + periodic);
    }
    pause_resume(&lab, PROBER, &spec);
    if seat1 == Speaker::Vrrpd && seat2 == Speaker::Vrrpd && interval >= Duration::from_millis(100)
    {
        replay_both_seats(&lab);
    }
}

/// `vrrp-sim replay` accepts the capture and, with our core in either seat, agrees with what the
/// real daemons did (state changes within a generous bound: real scheduling is not virtual time).
fn replay_both_seats(lab: &Lab) {
    let sim = vrrp_tests::router::vrrpd_bin().with_file_name("vrrp-sim");
    assert!(sim.exists(), "{} not built", sim.display());
    let pcap = lab.artifacts.join("bridge.pcap");
    let events = lab.artifacts.join("events.txt");
    for (seat, with_events) in [(lab.node("r2").ip, false), (lab.node("r1").ip, true)] {
        let mut cmd = std::process::Command::new(&sim);
        cmd.arg("replay")
            .arg(&pcap)
            .args(["--seat", &seat.to_string()]);
        cmd.args(["--tolerance-ms", "25"]);
        if with_events {
            cmd.arg("--events").arg(&events).args(["--name", "r1"]);
        }
        let out = cmd.output().expect("run vrrp-sim replay");
        let text = String::from_utf8_lossy(&out.stdout);
        println!(
            "REPLAY seat {seat}\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "replay in {seat}'s seat differs:\n{text}"
        );
    }
}

#[test]
fn vrrpd_v3_100ms_pause_resume() {
    failover(
        "vrrpd_v3_100ms_pause_resume",
        Speaker::Vrrpd,
        Speaker::Vrrpd,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn vrrpd_v3_10ms_pause_resume() {
    failover(
        "vrrpd_v3_10ms_pause_resume",
        Speaker::Vrrpd,
        Speaker::Vrrpd,
        3,
        Duration::from_millis(10),
    );
}

#[test]
fn vrrpd_v2_1s_pause_resume() {
    failover(
        "vrrpd_v2_1s_pause_resume",
        Speaker::Vrrpd,
        Speaker::Vrrpd,
        2,
        Duration::from_secs(1),
    );
}

/// Test 7: keepalived VRRPv3 as the peer, in both seats.
#[test]
fn interop_vrrpd_keepalived_v3() {
    failover(
        "interop_vrrpd_keepalived_v3",
        Speaker::Vrrpd,
        Speaker::Keepalived,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn interop_keepalived_vrrpd_v3() {
    failover(
        "interop_keepalived_vrrpd_v3",
        Speaker::Keepalived,
        Speaker::Vrrpd,
        3,
        Duration::from_millis(100),
    );
}

/// Unicast peers on both sides (keepalived `unicast_peer`, vrrpd `peers`): failover and
/// takeback with no multicast at all. Both seats list both addresses; each ignores its own.
fn unicast_interop(name: &str, seat1: Speaker, seat2: Speaker) {
    if !require(&[Need::Vrrpd, Need::Keepalived]) {
        return;
    }
    let lab = Lab::new(name, 2);
    let mut spec = Failover::pair(seat1, seat2, 3, Duration::from_millis(100));
    spec.params.unicast_peers = vec![lab.node("r1").ip.into(), lab.node("r2").ip.into()];
    if seat1 == Speaker::Vrrpd {
        spec.max_resume_frames = Some(2);
    }
    pause_resume(&lab, PROBER, &spec);
    let pcap = Pcap::read(lab.artifacts.join("bridge.pcap"));
    let multicast = pcap
        .adverts()
        .filter(|(_, _, a)| a.dst.is_multicast())
        .count();
    assert_eq!(multicast, 0, "an advert went out by multicast");
}

#[test]
fn interop_vrrpd_keepalived_unicast() {
    unicast_interop(
        "interop_vrrpd_keepalived_unicast",
        Speaker::Vrrpd,
        Speaker::Keepalived,
    );
}

#[test]
fn interop_keepalived_vrrpd_unicast() {
    unicast_interop(
        "interop_keepalived_vrrpd_unicast",
        Speaker::Keepalived,
        Speaker::Vrrpd,
    );
}

/// Test 7: keepalived VRRPv2 (whole-second intervals).
#[test]
fn interop_vrrpd_keepalived_v2() {
    failover(
        "interop_vrrpd_keepalived_v2",
        Speaker::Vrrpd,
        Speaker::Keepalived,
        2,
        Duration::from_secs(1),
    );
}

#[test]
fn interop_keepalived_vrrpd_v2() {
    failover(
        "interop_keepalived_vrrpd_v2",
        Speaker::Keepalived,
        Speaker::Vrrpd,
        2,
        Duration::from_secs(1),
    );
}

/// Test 7: FRR vrrpd VRRPv3, in both seats.
#[test]
fn interop_vrrpd_frr_v3() {
    failover(
        "interop_vrrpd_frr_v3",
        Speaker::Vrrpd,
        Speaker::Frr,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn interop_frr_vrrpd_v3() {
    failover(
        "interop_frr_vrrpd_v3",
        Speaker::Frr,
        Speaker::Vrrpd,
        3,
        Duration::from_millis(100),
    );
}

/// Test 5: SIGTERM sends priority 0 and the Backup takes over after Skew_Time, not 3I + skew.
#[test]
fn vrrpd_sigterm_takes_over_within_skew() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_sigterm_takes_over_within_skew", 2);
    let spec = Failover::new(Speaker::Vrrpd, 3, Duration::from_millis(100));
    let m = sigterm_takeover(&lab, PROBER, &spec);
    let adi_ms = spec
        .params
        .with_priority(100)
        .active_down_interval()
        .as_secs_f64()
        * 1e3;
    assert!(
        m.takeover_ms < adi_ms / 2.0,
        "takeover {:.1} ms after the priority-0 advert: that is Active_Down_Interval ({adi_ms:.1} ms), not Skew_Time",
        m.takeover_ms
    );
    // r1 left nothing behind: its uplink has its address back and no VIP remains on lo.
    assert!(lab.has_addr("r1", lab.node("r1").ip));
    assert!(!lab.has_addr("r1", VIP), "VIP left on r1 after SIGTERM");
}

/// r1 at 200 with an HTTP check on its nginx (weight -150), r2 at 100.
fn health_config(params: &VrrpParams) -> String {
    vrrpd_config_toml(params)
        + "track = [\"nginx\"]\n\n\
           [check.nginx]\n\
           kind = \"http\"\n\
           url = \"http://127.0.0.1/\"\n\
           interval = \"100ms\"\n\
           timeout = \"90ms\"\n\
           rise = 2\n\
           fall = 2\n\
           weight = -150\n"
}

/// Test 4: stopping nginx on the primary lowers its priority and the VIP moves; starting it
/// again brings the VIP back.
#[test]
fn vrrpd_health_check_moves_the_vip_and_back() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_health_check_moves_the_vip_and_back", 2);
    let p = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let mut nginx1 = Nginx::start(&lab, "r1", "Primary");
    let _nginx2 = Nginx::start(&lab, "r2", "Secondary");
    let r1 = Router::vrrpd(&lab, "r1", &p, &health_config(&p));
    let p2 = p.with_priority(100);
    let _r2 = Router::vrrpd(&lab, "r2", &p2, &vrrpd_config_toml(&p2));
    wait_body(&lab, "Primary", Duration::from_secs(20));

    nginx1.stop(&lab);
    // The client cannot reach r1's nginx any more; it must reach r2's through the VIP.
    wait_body(&lab, "Secondary", Duration::from_secs(20));
    nginx1.restart(&lab);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    let log = lab.log(r1.procs()[0]);
    assert!(log.contains("effective priority changed"), "{log}");
}

/// Test 6: `kill -9` of r1's vrrpd: r2 takes over and nothing is left on r1 that answers for the
/// VIP; the restarted daemon recovers its layout, rejoins and takes the VIP back.
#[test]
fn vrrpd_kill9_and_restart_rejoins_without_a_stale_vip() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_kill9_and_restart_rejoins_without_a_stale_vip", 2);
    let p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let p2 = p1.with_priority(100);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let cap = Capture::start(&lab);
    let mut r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let _r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    wait_body(&lab, "Primary", Duration::from_secs(20));

    r1.kill(&lab);
    let t_kill = vrrp_tests::unix_now();
    wait_body(&lab, "Secondary", Duration::from_secs(10));
    // Ask for the VIP a few times: only the virtual MAC (r2's smoltcp) may answer, never r1's
    // kernel, whose lo still holds the VIP after the kill.
    let r1_mac = lab.node("r1").mac;
    for _ in 0..3 {
        lab.exec("client", "ip", &["neigh", "flush", "dev", "eth0"]);
        let _ = get(&lab);
    }
    wait_until(Duration::from_secs(5), || {
        cap.bridge_now()
            .arp_claims(VIP)
            .keys()
            .any(|mac| mac.contains("00:00:5e:00:01:0a"))
    })
    .expect("the new Active answers ARP for the VIP");
    let claims = claims_since(&cap, t_kill);
    let r1_mac_s = mac_string(&r1_mac);
    assert!(
        !claims.contains_key(&r1_mac_s),
        "r1's kernel answered ARP for the VIP after kill -9: {claims:?}"
    );

    // Restart: the leftover bridge and VIP are recovered from the state file, then r1 preempts.
    let r1b = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    let log = lab.log(r1b.procs()[0]);
    assert!(
        log.contains("bridged the uplink"),
        "restart did not rebuild the layout: {log}"
    );
    let claims = claims_since(&cap, t_kill);
    assert!(
        claims.keys().all(|m| *m == mac_string(&VMAC)),
        "only the virtual MAC may claim the VIP: {claims:?}"
    );
}

/// Test 9: malformed and hostile adverts from a third namespace (TTL 64, bad checksum,
/// truncated) are dropped and counted; the VIP does not move.
#[test]
fn vrrpd_drops_hostile_adverts() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_drops_hostile_adverts", 3);
    let spec = Failover::new(Speaker::Vrrpd, 3, Duration::from_millis(100));
    let outcomes = hostile_adverts(&lab, PROBER, INJECT, &spec, true);
    assert_eq!(outcomes.len(), 3);
    let v = status(&lab, "r1");
    let drops = &v["routers"][0]["drops"];
    for reason in ["ttl", "checksum", "length"] {
        assert!(
            drops[reason].as_u64().unwrap_or(0) > 0,
            "no {reason} drops counted: {drops}"
        );
    }
}

/// Test 9, peer list: with `peers` configured (unicast), a higher priority from an address that
/// is not a peer is dropped and counted, and the VIP stays.
#[test]
fn vrrpd_unicast_peers_ignore_strangers() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_unicast_peers_ignore_strangers", 3);
    let (ip1, ip2) = (lab.node("r1").ip, lab.node("r2").ip);
    let mut p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    p1.unicast_peers = vec![ip2.into()];
    let mut p2 = p1.with_priority(100);
    p2.unicast_peers = vec![ip1.into()];
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let cap = Capture::start(&lab);
    let _r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let _r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    // r2 hears r1 by unicast and stays Backup: no advert from r2 at all.
    let t = vrrp_tests::unix_now();
    wait_until(Duration::from_secs(5), || {
        cap.bridge_now().advert_times(ip1, t, f64::MAX).len() >= 10
    })
    .expect("r1 keeps advertising");
    let pcap = cap.bridge_now();
    assert!(
        pcap.advert_times(ip2, 0.0, f64::MAX).is_empty(),
        "r2 spoke: it did not hear r1"
    );
    assert!(
        pcap.adverts()
            .filter(|(_, _, a)| a.src == ip1)
            .all(|(_, _, a)| a.dst == ip2),
        "r1 sent an advert that was not unicast to its peer"
    );

    // A stranger (r3) claims priority 254 by multicast and by unicast to r1.
    let r3 = lab.node("r3").clone();
    let mut advert = vrrp_tests::craft::AdvertSpec::v3(r3.mac, r3.ip, 10, 254, 10);
    for dst in [Ipv4Addr::new(224, 0, 0, 18), ip1] {
        advert.dst = dst;
        vrrp_tests::craft::inject(
            &lab,
            INJECT,
            "r3",
            &[advert.frame(vrrp_tests::craft::Fault::None)],
            10,
            Duration::from_millis(10),
        );
    }
    let probe = Prober::start(
        &lab,
        PROBER,
        VIP,
        &ProbeOpts {
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(200),
            duration: Duration::from_secs(2),
        },
    );
    let records = probe.stop(&lab);
    assert_eq!(
        records.bodies(0.0, f64::MAX).get("Secondary"),
        None,
        "the VIP moved"
    );
    let v = status(&lab, "r1");
    assert!(
        v["routers"][0]["drops"]["peer"].as_u64().unwrap_or(0) >= 10,
        "stranger adverts not counted as peer drops: {}",
        v["routers"][0]["drops"]
    );
}

/// The peer list over IPv6: r1 and r2 list each other's link-local address; a stranger (r3,
/// keepalived, priority 254, VRID 10, its own VIPs) unicasts its adverts to r1, which drops and
/// counts them and keeps the VIP. No advert goes to ff02::12 from r1 or r2.
#[test]
fn vrrpd_ipv6_unicast_peers_ignore_strangers() {
    if !require(&[Need::Vrrpd, Need::Keepalived]) {
        return;
    }
    let lab = Lab::with_family("vrrpd_ipv6_unicast_peers_ignore_strangers", 3, Family::Ipv6);
    let (ll1, ll2) = (lab.node("r1").link_local, lab.node("r2").link_local);
    let mut p1 = VrrpParams::v3_ipv6(10, 200, Duration::from_millis(100));
    p1.unicast_peers = vec![ll2.into()];
    let mut p2 = p1.with_priority(100);
    p2.unicast_peers = vec![ll1.into()];
    let mut p3 = p1.with_priority(254);
    p3.vips = vec![
        "fe80::99".parse::<Ipv6Addr>().unwrap().into(),
        "2001:db8::99".parse::<Ipv6Addr>().unwrap().into(),
    ];
    p3.unicast_peers = vec![ll1.into()];
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let cap = Capture::start(&lab);
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let _r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    let get6 = || client_get(&lab, PROBER, VIP6, Duration::from_millis(300));
    wait_until(Duration::from_secs(20), || {
        get6().as_deref() == Ok("Primary")
    })
    .unwrap_or_else(|_| panic!("client never got Primary; see {}", lab.artifacts.display()));
    let _r3 = Router::start(&lab, "r3", Speaker::Keepalived, &p3);
    wait_until(Duration::from_secs(10), || {
        status(&lab, "r1")["routers"][0]["drops"]["peer"]
            .as_u64()
            .unwrap_or(0)
            >= 10
    })
    .unwrap_or_else(|_| {
        panic!(
            "stranger adverts not counted as peer drops: {}",
            status(&lab, "r1")["routers"][0]["drops"]
        )
    });
    assert_eq!(
        r1.state(&lab),
        vrrp_tests::router::State::Active,
        "r1 gave way to the stranger"
    );
    assert_eq!(get6().as_deref(), Ok("Primary"), "the VIP moved");
    // The kernel must not take multicast adverts to the raw IPv6 socket as well as the TAP.
    for node in ["r1", "r2"] {
        let groups = lab.exec_ok(node, "ip", &["-6", "maddr", "show"]);
        assert!(
            !groups.contains("ff02::12"),
            "{node}'s kernel joined ff02::12:\n{groups}"
        );
    }
    let pcap = cap.bridge_now();
    let r3_ll = lab.node("r3").link_local;
    assert!(
        pcap.adverts()
            .any(|(_, _, a)| a.src == r3_ll && a.dst == ll1),
        "the stranger sent nothing to r1"
    );
    assert!(
        pcap.advert_times(ll2, 0.0, f64::MAX).is_empty(),
        "r2 spoke: it did not hear r1"
    );
    let r1_adverts: Vec<_> = pcap.adverts().filter(|(_, _, a)| a.src == ll1).collect();
    assert!(!r1_adverts.is_empty(), "no advert from r1");
    assert!(
        r1_adverts
            .iter()
            .all(|(_, _, a)| a.dst == IpAddr::from(ll2) && a.ttl == 255),
        "r1 sent an advert that was not unicast to its peer with hop limit 255: {r1_adverts:?}"
    );
}

/// After SIGSTOP / SIGCONT, vrrpd logs the measured freeze and exports it.
#[test]
fn vrrpd_reports_the_freeze_length() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_reports_the_freeze_length", 1);
    let p = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p);
    wait_until(Duration::from_secs(10), || {
        r1.state(&lab) == vrrp_tests::router::State::Active
    })
    .expect("r1 becomes Active");
    let t0 = lab.pause("r1");
    std::thread::sleep(Duration::from_millis(1500)); // the freeze being measured, not a wait
    let t1 = lab.resume("r1");
    wait_until(Duration::from_secs(5), || {
        lab.log(r1.procs()[0]).contains("resumed after a freeze")
    })
    .expect("freeze logged");
    let v = status(&lab, "r1");
    let ms = v["last_freeze_ms"].as_u64().expect("last_freeze_ms");
    let real = (t1 - t0) * 1e3;
    assert!(
        (ms as f64) > real - 200.0 && (ms as f64) < real + 200.0,
        "measured {ms} ms for a {real:.0} ms freeze"
    );
}

/// SIGHUP with unchanged VRRP parameters reloads checks and hooks without a switchover: no state
/// change, adverts keep their rhythm; a bad file is refused and the running config kept.
#[test]
fn vrrpd_sighup_reloads_without_a_switchover() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_sighup_reloads_without_a_switchover", 2);
    let p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let p2 = p1.with_priority(100);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let cap = Capture::start(&lab);
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let _r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    let conf = lab.artifacts.join("vrrpd-r1.toml");
    let proc = r1.procs()[0];
    let log = || lab.log(proc);
    let changes = |l: &str| l.matches("state change").count();
    // The VIP answers as soon as r1 is Active; its log line is written by the logger thread a
    // moment later. (No state change line names Active before the one that enters it.)
    wait_until(Duration::from_secs(5), || {
        log()
            .lines()
            .any(|l| l.contains("state change") && l.contains("Active"))
    })
    .expect("r1's transition to Active logged");
    let before = changes(&log());

    // Same protocol, one more check: reloaded in place.
    let extended = vrrpd_config_toml(&p1)
        + "track = [\"web\"]\n[check.web]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\nweight = -10\n";
    std::fs::write(&conf, extended).unwrap();
    let t = vrrp_tests::unix_now();
    lab.signal(proc, libc::SIGHUP);
    wait_until(Duration::from_secs(5), || {
        log().contains("configuration reloaded")
    })
    .expect("reload logged");
    // A bad file: refused, nothing changes.
    std::fs::write(&conf, "interface = \"eth0\"\n[[vrrp]]\nvrid = 0\n").unwrap();
    lab.signal(proc, libc::SIGHUP);
    wait_until(Duration::from_secs(5), || log().contains("reload refused"))
        .expect("bad reload refused");
    wait_until(Duration::from_secs(5), || {
        cap.bridge_now()
            .advert_times(lab.node("r1").ip, t, f64::MAX)
            .len()
            >= 20
    })
    .expect("r1 keeps advertising");
    assert_eq!(
        changes(&log()),
        before,
        "a reload caused a state change:\n{}",
        log()
    );
    let times = cap
        .bridge_now()
        .advert_times(lab.node("r1").ip, t, f64::MAX);
    let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(
        worst < 0.25,
        "adverts paused {worst:.3} s across the reload"
    );
    assert_eq!(get(&lab).as_deref(), Ok("Primary"));
}

/// Two VRIDs on one uplink in a sync group, the group tracking an interface: losing that
/// interface's link moves both VIPs together, and they come back together.
#[test]
fn vrrpd_sync_group_moves_two_vrids_on_interface_loss() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_sync_group_moves_two_vrids_on_interface_loss", 2);
    let vip2 = Ipv4Addr::new(192, 0, 2, 2);
    let config = |priority: u8, track: bool| {
        let mut t = format!(
            "interface = \"eth0\"\n[status]\nlisten = \"{}\"\n",
            vrrp_tests::router::VRRPD_STATUS
        );
        for (vrid, vip) in [(10, VIP), (20, vip2)] {
            t += &format!(
                "[[vrrp]]\nvrid = {vrid}\npriority = {priority}\ninterval = \"100ms\"\nvips = [\"{vip}/24\"]\n"
            );
            // Only VRID 10 tracks the link; the group makes VRID 20 follow it.
            if track && vrid == 10 {
                t += "track = [\"uplink2\"]\n";
            }
        }
        if track {
            t += "[check.uplink2]\nkind = \"interface\"\ninterface = \"trk0\"\ninterval = \"50ms\"\nfault = true\n";
        }
        t + "[[sync_group]]\nname = \"public-private\"\nvrids = [10, 20]\n"
    };
    // A second link of r1's: a veth pair inside its namespace; taking the far end down takes
    // trk0's carrier away, as a pulled cable would.
    lab.exec_ok(
        "r1",
        "ip",
        &[
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ],
    );
    lab.exec_ok("r1", "ip", &["link", "set", "trk0", "up"]);
    lab.exec_ok("r1", "ip", &["link", "set", "trk1", "up"]);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let _r1 = Router::vrrpd(&lab, "r1", &p1, &config(200, true));
    let _r2 = Router::vrrpd(&lab, "r2", &p1.with_priority(100), &config(100, false));
    let both = |body: &str| {
        wait_until(Duration::from_secs(20), || {
            [VIP, vip2].iter().all(|ip| {
                client_get(&lab, PROBER, *ip, Duration::from_millis(300)).as_deref() == Ok(body)
            })
        })
        .unwrap_or_else(|_| panic!("both VIPs never served {body:?}"));
    };
    both("Primary");
    lab.exec_ok("r1", "ip", &["link", "set", "trk1", "down"]);
    both("Secondary");
    lab.exec_ok("r1", "ip", &["link", "set", "trk1", "up"]);
    both("Primary");
}

/// `[process]` on a running vrrpd: its event loop (the main thread) runs SCHED_RR at the
/// configured priority and its memory is locked, as the kernel and `vrrpd status` both say.
#[test]
fn vrrpd_runs_realtime_with_locked_memory() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_runs_realtime_with_locked_memory", 1);
    let params = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let config = format!(
        "{}\n[process]\nrealtime_priority = 10\nlock_memory = true\n",
        vrrpd_config_toml(&params)
    );
    let r1 = Router::vrrpd(&lab, "r1", &params, &config);
    wait_until(Duration::from_secs(10), || {
        r1.state(&lab) == vrrp_tests::router::State::Active
    })
    .expect("r1 Active");
    let pid = lab.pid(r1.procs()[0]);
    let v = status(&lab, "r1");
    let p = &v["process"];
    let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).unwrap();
    let policy = sched
        .lines()
        .find(|l| l.starts_with("policy"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked_kb: u64 = proc_status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    println!("MEASURE process: status {p}, kernel policy {policy}, VmLck {locked_kb} kB");
    assert_eq!(p["scheduling"], "SCHED_RR 10", "{p}");
    assert_eq!(policy, "2", "SCHED_RR in /proc/{pid}/sched");
    assert_eq!(p["memory_locked"], true, "{p}");
    assert!(locked_kb > 0, "VmLck 0 kB");
    assert_eq!(p["errors"].as_array().map(Vec::len), Some(0), "{p}");
}

/// Under systemd (`Type=notify`, `WatchdogSec=`): vrrpd sends READY=1 once its router has
/// started, WATCHDOG=1 from its event loop at half the period, and STOPPING=1 on SIGTERM. The
/// notify socket is the test's own, as systemd's would be.
#[test]
fn vrrpd_speaks_systemds_notify_protocol() {
    use std::os::unix::net::UnixDatagram;
    /// A datagram from vrrpd and when it came.
    type Note = (std::time::Instant, String);
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_speaks_systemds_notify_protocol", 1);
    let params = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let conf = lab.write_artifact("vrrpd-r1.toml", &vrrpd_config_toml(&params));
    // A socket path must fit in 108 bytes: not under the artifacts directory.
    let path = std::env::temp_dir().join(format!("vrrpd-notify-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
    struct Unlink(std::path::PathBuf);
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _unlink = Unlink(path.clone());
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let bin = vrrp_tests::router::vrrpd_bin().display().to_string();
    // systemd sets WATCHDOG_PID to the service's pid: the shell's, which exec keeps.
    let id = lab.spawn(
        "r1",
        "vrrpd-r1",
        "sh",
        &[
            "-c",
            "export WATCHDOG_PID=$$; exec \"$@\"",
            "sh",
            "env",
            &format!("NOTIFY_SOCKET={}", path.display()),
            "WATCHDOG_USEC=200000",
            &bin,
            "run",
            "--config",
            &conf.display().to_string(),
        ],
    );
    let mut messages: Vec<Note> = Vec::new();
    let mut buf = [0u8; 512];
    let mut read_until =
        |messages: &mut Vec<Note>, done: &dyn Fn(&[Note]) -> bool, within: Duration| {
            let end = std::time::Instant::now() + within;
            while !done(messages) && std::time::Instant::now() < end {
                if let Ok(n) = sock.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    messages.push((std::time::Instant::now(), text));
                }
            }
            done(messages)
        };
    let has =
        |what: &'static str| move |m: &[Note]| m.iter().any(|(_, t)| t.lines().any(|l| l == what));
    assert!(
        read_until(&mut messages, &has("READY=1"), Duration::from_secs(15)),
        "no READY=1: {messages:?}\n{}",
        lab.log(id)
    );
    let ready_at = messages
        .iter()
        .find(|(_, t)| t.contains("READY=1"))
        .unwrap()
        .0;
    let v = status(&lab, "r1");
    // Started: out of Initialize (Backup, until Active_Down_Interval passes).
    assert_ne!(v["routers"][0]["state"], "Initialize", "{v}");
    // A second of watchdog pings at half of 200 ms.
    let count = |m: &[Note]| {
        m.iter()
            .filter(|(t, s)| *t >= ready_at && s.lines().any(|l| l == "WATCHDOG=1"))
            .count()
    };
    read_until(
        &mut messages,
        &|m| ready_at.elapsed() > Duration::from_secs(1) && !m.is_empty(),
        Duration::from_secs(2),
    );
    let pings = count(&messages);
    println!("MEASURE systemd watchdog_pings_in_1s={pings} (every 100 ms expected)");
    assert!(
        (5..=15).contains(&pings),
        "{pings} WATCHDOG=1 in a second: {messages:?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(lab.pid(id)),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    assert!(
        read_until(&mut messages, &has("STOPPING=1"), Duration::from_secs(5)),
        "no STOPPING=1 after SIGTERM: {messages:?}"
    );
}
