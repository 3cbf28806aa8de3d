//! vrrpd's kernel fast path on real namespaces: while a router is Active its VIP traffic goes to
//! the kernel without passing through vrrpd, a Backup takes none, and the fence holds: a frozen
//! vrrpd stops answering for the VIP within one Active_Down_Interval of its last advert (the
//! kernel's element timeout, in whole jiffies, runs out a few milliseconds before it), a killed
//! one at once (its table goes with its netlink socket). A reload keeps the fast path; the relay
//! still works where it is configured.
//!
//! Every figure is printed as a `MEASURE` line.

use std::time::{Duration, Instant};

use vrrp_tests::capture::{Capture, Payload, Pcap, TCPDUMP};
use vrrp_tests::fastpath::{
    CURL, Datapath, Fence, TABLE, alive, alive_timeout, arp_request, datapath, fastpath_table,
    icmp_echo, metric, metrics, status, tables, transitions, try_status, virtual_mac,
};
use vrrp_tests::lab::{ProcId, proc_state};
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{Need, decide, is_ci, require};
use vrrp_tests::probe::{ProbeOpts, Prober, Probes, client_get, wait_client_body};
use vrrp_tests::router::{Router, Speaker, VrrpParams, vrrpd_config_toml};
use vrrp_tests::{Lab, VIP, unix_now, wait_for, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const INJECT: &str = env!("CARGO_BIN_EXE_inject");
const VRID: u8 = 10;
/// nftables' command line, to read vrrpd's table and set.
const NFT: &str = "/usr/sbin/nft";

/// The slack on the fence beyond Active_Down_Interval: the kernel counts the element's timeout
/// in jiffies, and the lease is renewed just after the advert leaves.
const FENCE_SLACK: Duration = Duration::from_millis(5);

/// Whether the test can run: vrrpd and the lab's needs, `nft` and `more` tools. Otherwise prints
/// `skipped: <reason>` and returns false, or panics under CI.
fn ready(more: &[&str]) -> bool {
    if !require(&[Need::Vrrpd]) {
        return false;
    }
    let missing: Vec<&str> = std::iter::once(NFT)
        .chain(more.iter().copied())
        .filter(|t| !std::path::Path::new(t).exists())
        .collect();
    let check = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} not found", missing.join(", ")))
    };
    decide(check, is_ci()).unwrap_or_else(|msg| panic!("{msg}"))
}

/// VRRPv3, VRID 10, priority 200, 100 ms: Active_Down_Interval 321.875 ms.
fn params() -> VrrpParams {
    VrrpParams::v3(VRID, 200, Duration::from_millis(100))
}

fn get(lab: &Lab) -> Result<String, String> {
    client_get(lab, PROBER, VIP, Duration::from_millis(300))
}

fn wait_body(lab: &Lab, body: &str, within: Duration) {
    wait_client_body(lab, PROBER, VIP, body, within);
}

/// Waits until the set `alive` of `node` holds the virtual MAC; returns how long it took.
fn wait_alive(lab: &Lab, node: &str, within: Duration) -> Duration {
    wait_until(within, || {
        alive(lab, node).is_some_and(|s| s.contains(&virtual_mac(VRID)))
    })
    .unwrap_or_else(|_| {
        panic!(
            "{node}'s set alive never held the virtual MAC: {:?}",
            alive(lab, node)
        )
    })
}

/// Waits until the prober has `n` answers that started at or after `t`.
fn wait_answers(lab: &Lab, probe: &Prober, t: f64, n: usize, within: Duration) -> Duration {
    wait_until(within, || {
        probe.records(lab).count_body_since("Primary", t) >= n
    })
    .unwrap_or_else(|_| {
        panic!(
            "fewer than {n} answers from the VIP since {t:.3}; artifacts in {}",
            lab.artifacts.display()
        )
    })
}

/// Waits until the prober holds probes that ended after `t` (so that everything that started
/// before `t - timeout` has its record).
fn wait_records_past(lab: &Lab, probe: &Prober, t: f64, within: Duration) -> Probes {
    wait_for(within, || {
        let r = probe.records(lab);
        r.0.iter().any(|p| p.end > t).then_some(r)
    })
    .unwrap_or_else(|_| panic!("the prober recorded nothing past {t:.3}"))
}

/// One router alone: nginx (one request per connection) and vrrpd on r1, the captures running;
/// returns once the client gets Primary through the VIP and r1's set holds the virtual MAC.
fn active_alone(lab: &Lab, p: &VrrpParams) -> (Nginx, Capture, Router) {
    let nginx = Nginx::start(lab, "r1", "Primary");
    let cap = Capture::start(lab);
    let r1 = Router::start(lab, "r1", Speaker::Vrrpd, p);
    wait_body(lab, "Primary", Duration::from_secs(20));
    wait_alive(lab, "r1", Duration::from_secs(5));
    (nginx, cap, r1)
}

/// One Active alone, probed every 2 ms (each request given 50 ms): what the fence tests watch.
struct Fenced<'a> {
    lab: &'a Lab,
    p: VrrpParams,
    cap: Capture,
    probe: Prober,
    opts: ProbeOpts,
    /// The element's timeout as the kernel holds it (whole jiffies).
    nft_timeout: Duration,
}

impl<'a> Fenced<'a> {
    /// nginx and vrrpd on r1 ([`active_alone`]), then the prober, once it has 100 answers.
    fn start(lab: &'a Lab, p: &VrrpParams) -> (Fenced<'a>, Nginx, Router) {
        let (nginx, cap, r1) = active_alone(lab, p);
        let nft_timeout = alive_timeout(lab, "r1", virtual_mac(VRID)).expect("element timeout");
        let opts = ProbeOpts {
            interval: Duration::from_millis(2),
            timeout: Duration::from_millis(50),
            duration: Duration::from_secs(60),
        };
        let probe = Prober::start(lab, PROBER, VIP, &opts);
        wait_answers(lab, &probe, 0.0, 100, Duration::from_secs(10));
        let f = Fenced {
            lab,
            p: p.clone(),
            cap,
            probe,
            opts,
            nft_timeout,
        };
        (f, nginx, r1)
    }

    /// Watches the VIP for Active_Down_Interval + 300 ms after `t` (when vrrpd was frozen or
    /// killed), then checks the fence: the VIP's last answered probe started no later than r1's
    /// last advert + Active_Down_Interval + 5 ms + one probe interval, and probes failed after
    /// it. Prints `MEASURE <what> ...`.
    fn check(&self, what: &str, t: f64) -> Fence {
        let lab = self.lab;
        let until = t + self.p.active_down_interval().as_secs_f64() + 0.3;
        let probes = wait_records_past(lab, &self.probe, until, Duration::from_secs(5));
        let adverts = self.cap.from_node_now("r1").advert_times_any(0.0, until);
        let fence =
            Fence::measure(&adverts, &probes, until).expect("an advert and an answered probe");
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let adi = ms(self.p.active_down_interval());
        let bound = adi + ms(FENCE_SLACK) + ms(self.opts.interval);
        println!(
            "MEASURE {what} adi_ms={adi:.3} nft_timeout_ms={} last_advert_to_last_answer_ms={:.3} \
             last_advert_to_first_failure_ms={} bound_ms={bound:.3} failures_after={} \
             last_advert_to_signal_ms={:.3}",
            self.nft_timeout.as_millis(),
            fence.last_ok_ms(),
            fence
                .first_fail_ms()
                .map_or("none".to_owned(), |m| format!("{m:.3}")),
            fence.fails_after,
            (t - fence.last_advert) * 1e3,
        );
        assert!(
            fence.last_ok_ms() <= bound,
            "{what}: the VIP still answered a probe {:.3} ms after r1's last advert (bound \
             {bound:.3} ms); artifacts in {}",
            fence.last_ok_ms(),
            lab.artifacts.display()
        );
        assert!(
            fence.fails_after >= 20,
            "{what}: only {} probes failed after the last answer",
            fence.fails_after
        );
        fence
    }
}

/// Test 1: while r1 is Active with the fast path, its VIP traffic does not pass through vrrpd:
/// under keep-alive load (wrk, 16 connections, 2 s) the TAP sees far fewer frames than wrk
/// completes requests (ARP and the like only), nothing is relayed, and wrk sees no error.
#[test]
fn fastpath_vip_traffic_stays_out_of_vrrpd_while_active() {
    if !ready(&[vrrp_tests::bench::WRK, CURL]) {
        return;
    }
    let lab = Lab::new("fastpath_vip_traffic_stays_out_of_vrrpd_while_active", 1);
    let p = params();
    vrrp_tests::bench::start_keepalive_nginx(&lab, "r1", "Primary");
    let _r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    wait_alive(&lab, "r1", Duration::from_secs(5));

    let before = datapath(&lab, "r1");
    let started = Instant::now();
    assert_eq!(before.mode, "kernel", "{before:?}");
    let w = vrrp_tests::bench::wrk(&lab, VIP, 16, 2, false);
    let after = datapath(&lab, "r1");
    let elapsed = started.elapsed();
    let tap_rx = after.tap_rx_frames - before.tap_rx_frames;
    let tap_tx = after.tap_tx_frames - before.tap_tx_frames;
    let uplink_tx = after.uplink_tx_frames - before.uplink_tx_frames;
    let relayed = after.relayed_frames - before.relayed_frames;
    println!(
        "MEASURE fastpath-wrk requests={} rps={:.0} p99_ms={:.3} errors={} tap_rx_frames={tap_rx} \
         relayed_frames={relayed} tap_tx_frames={tap_tx} uplink_tx_frames={uplink_tx}",
        w.requests, w.rps, w.p99_ms, w.errors
    );
    // The periodic adverts leave on the uplink's packet socket, not through the TAP (counted
    // from the first status read to the second: an advert either way at each end). The TAP
    // carries the rest: ARP answers to wrk's client and the like, a few in a run.
    let adverts = (elapsed.as_millis() / p.advert_int.as_millis()) as u64;
    assert!(
        uplink_tx + 3 >= adverts,
        "{uplink_tx} of about {adverts} adverts left on the uplink directly: {before:?} -> {after:?}"
    );
    assert!(
        tap_tx * 2 < adverts,
        "{tap_tx} frames went through the TAP in {elapsed:?} ({adverts} adverts): {before:?} -> {after:?}"
    );
    assert_eq!(after.mode, "kernel", "{after:?}");
    assert!(
        w.requests > 1000,
        "wrk completed only {} requests",
        w.requests
    );
    assert_eq!(w.errors, 0, "wrk saw errors: {w:?}");
    assert!(
        tap_rx < w.requests / 100 + 50,
        "the TAP read {tap_rx} frames for {} requests: VIP traffic went through vrrpd",
        w.requests
    );
    assert_eq!(relayed, 0, "frames were relayed: {before:?} -> {after:?}");
    assert_eq!(after.fastpath_errors, 0, "{after:?}");
    let m = metrics(&lab, "r1");
    assert_eq!(
        metric(&m, r#"vrrpd_datapath_mode{mode="kernel"}"#),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, r#"vrrpd_datapath_mode{mode="relay"}"#),
        Some(0.0),
        "{m}"
    );
}

/// Test 2: a Backup takes no VIP traffic. With r1 Active and r2 Backup, r1's set `alive` holds
/// the virtual MAC and r2's is empty; ICMP echo requests for the VIP sent at the virtual MAC
/// straight onto r2's port get no answer from r2 (its kernel holds the VIP on `lo`, so only the
/// fast path keeps it quiet) and nothing is relayed, while the same frames onto r1's port are
/// answered (the injection itself works).
#[test]
fn fastpath_backup_takes_no_vip_traffic() {
    if !ready(&[]) {
        return;
    }
    let lab = Lab::new("fastpath_backup_takes_no_vip_traffic", 2);
    let p1 = params();
    let p2 = p1.with_priority(100);
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let cap = Capture::start(&lab);
    let _r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p1);
    let r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);
    wait_body(&lab, "Primary", Duration::from_secs(20));
    wait_until(Duration::from_secs(10), || {
        r2.state(&lab) == vrrp_tests::router::State::Backup
    })
    .expect("r2 becomes Backup");
    wait_alive(&lab, "r1", Duration::from_secs(5));

    assert_eq!(
        alive(&lab, "r2"),
        Some(vec![]),
        "r2 is Backup: its set alive must be there and empty"
    );
    assert_eq!(alive(&lab, "r1"), Some(vec![virtual_mac(VRID)]));
    let relayed_before = datapath(&lab, "r2").relayed_frames;

    // What reaches r2's uplink, to show that the frames injected onto its port arrived.
    let arrived = lab.artifacts.join("r2-eth0-icmp-in.pcap");
    let arrived_s = arrived.display().to_string();
    let dump = lab.spawn_opts(
        "r2",
        "tcpdump-r2-eth0",
        TCPDUMP,
        &[
            "-i",
            "eth0",
            "-n",
            "--immediate-mode",
            "-U",
            "-Z",
            "root",
            "-Q",
            "in",
            "-w",
            &arrived_s,
            "icmp",
        ],
        true,
    );
    wait_until(Duration::from_secs(10), || {
        lab.log(dump).contains("listening on")
    })
    .expect("tcpdump in r2 listening");

    let client = lab.client().clone();
    let frames: Vec<Vec<u8>> = (1..=5)
        .map(|seq| icmp_echo(client.mac, virtual_mac(VRID), client.ip, VIP, 0x7272, seq))
        .collect();
    let t = unix_now();
    let frames: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let inject_on = |node: &str| inject(&lab, node, &frames);
    let replies_from = |node: &str| {
        cap.from_node_now(node)
            .frames
            .iter()
            .filter(|f| f.ts >= t && matches!(f.payload, Payload::Ipv4 { src, .. } if src == VIP))
            .count()
    };
    inject_on("r2");
    inject_on("r1");
    // r1 answers the frames injected after r2's: by then r2 has had its chance.
    let took = wait_until(Duration::from_secs(5), || replies_from("r1") >= 1)
        .expect("r1, the Active, never answered the injected echo requests");
    let at_r2 = wait_for(Duration::from_secs(5), || {
        let n = Pcap::read_partial(&arrived)
            .frames
            .iter()
            .filter(|f| {
                f.dst_mac == virtual_mac(VRID)
                    && matches!(f.payload, Payload::Ipv4 { dst, .. } if dst == VIP)
            })
            .count();
        (n >= frames.len()).then_some(n)
    })
    .expect("the echo requests injected onto r2's port never reached its uplink");
    let r2_replies = replies_from("r2");
    let r2 = datapath(&lab, "r2");
    println!(
        "MEASURE fastpath-backup r2_received={at_r2} r2_replies={r2_replies} r1_replies={} \
         r1_answer_ms={:.1} r2_relayed_frames={}",
        replies_from("r1"),
        took.as_secs_f64() * 1e3,
        r2.relayed_frames
    );
    assert_eq!(r2_replies, 0, "r2, a Backup, answered for the VIP");
    assert_eq!(r2.relayed_frames, relayed_before, "r2 relayed VIP frames");
    assert_eq!(r2.relayed_frames, 0, "r2 relayed VIP frames: {r2:?}");
    assert_eq!(alive(&lab, "r2"), Some(vec![]), "r2's set changed");
}

/// Test 2b: the Active's adverts leave on the uplink past the bridge, so the bridge never sees
/// them; a frame from the virtual MAC arriving on the uplink (here the last advert of the Active
/// it took over from, lower in priority) must not teach the bridge that the MAC lives out there.
/// Right after such a frame, a client's unicast ARP probe for the VIP to the virtual MAC (what
/// a neighbour cache sends to confirm an entry) still reaches smoltcp and is answered, and so is
/// a second one a few adverts later. Without the bridge's pinned entry for the virtual MAC on
/// the TAP both are dropped (the bridge does not send a frame back out of its port).
#[test]
fn fastpath_unicast_arp_is_answered_after_the_virtual_mac_came_in_on_the_uplink() {
    if !ready(&[]) {
        return;
    }
    let lab = Lab::new(
        "fastpath_unicast_arp_is_answered_after_the_virtual_mac_came_in_on_the_uplink",
        1,
    );
    let p = params();
    let cap = Capture::start(&lab);
    let r1 = Router::start(&lab, "r1", Speaker::Vrrpd, &p);
    wait_until(Duration::from_secs(10), || {
        r1.state(&lab) == vrrp_tests::router::State::Active
    })
    .expect("r1 becomes Active");
    wait_alive(&lab, "r1", Duration::from_secs(5));
    let adverts = |d: &Datapath| d.uplink_tx_frames;
    let first = datapath(&lab, "r1");
    wait_until(Duration::from_secs(5), || {
        adverts(&datapath(&lab, "r1")) >= adverts(&first) + 3
    })
    .expect("r1's adverts do not leave on the uplink's packet socket");

    let client = lab.client().clone();
    let vmac = virtual_mac(VRID);
    let old_active = vrrp_tests::craft::AdvertSpec::v3(
        vmac,
        std::net::Ipv4Addr::new(192, 0, 2, 99),
        VRID,
        50,
        10,
    )
    .frame(vrrp_tests::craft::Fault::None);
    let probe = arp_request(client.mac, vmac, client.ip, VIP);
    let answers_since = |t: f64| {
        cap.from_node_now("r1")
            .arps()
            .filter(|(ts, src, a)| {
                *ts >= t
                    && *src == vmac
                    && a.op == 2
                    && a.sender_ip == VIP
                    && a.target_mac == client.mac
            })
            .count()
    };
    for round in 0..2 {
        let t = unix_now();
        inject(&lab, "r1", &[&old_active, &probe]);
        let took =
            wait_until(Duration::from_secs(2), || answers_since(t) >= 1).unwrap_or_else(|e| {
                panic!(
                    "round {round}: the unicast ARP probe after a frame from the virtual MAC was \
                     not answered: {e}; r1's bridge: {}",
                    lab.exec_ok("r1", "bridge", &["fdb", "show", "br", "vbr-eth0"])
                )
            });
        println!(
            "MEASURE fastpath-arp-after-vmac round={round} answer_ms={:.1}",
            took.as_secs_f64() * 1e3
        );
        // A few adverts (none of them through the bridge) before the next round.
        let d = datapath(&lab, "r1");
        wait_until(Duration::from_secs(5), || {
            adverts(&datapath(&lab, "r1")) >= adverts(&d) + 3
        })
        .expect("r1 keeps advertising on the uplink");
    }
    assert_eq!(
        r1.state(&lab),
        vrrp_tests::router::State::Active,
        "the lower-priority advert moved r1"
    );
}

/// Sends `frames` from the switch onto `node`'s port, in order.
fn inject(lab: &Lab, node: &str, frames: &[&[u8]]) {
    let port = lab.node(node).port.clone();
    let hex: Vec<String> = frames
        .iter()
        .map(|f| f.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut args = vec!["--iface", port.as_str()];
    args.extend(hex.iter().map(String::as_str));
    lab.exec_ok("sw", INJECT, &args);
}

/// SIGSTOP to vrrpd alone, and waits until it is stopped; returns the time it was sent.
fn freeze(lab: &Lab, proc: ProcId) -> f64 {
    let pid = lab.pid(proc);
    let t = unix_now();
    lab.signal(proc, libc::SIGSTOP);
    wait_until(Duration::from_secs(2), || proc_state(pid) == Some('T')).expect("vrrpd stopped");
    t
}

/// Test 3: the fence. With one router and no Backup to take over, SIGSTOP of vrrpd alone (nginx
/// keeps running) stops the VIP's answers by itself: the last answered probe started no later
/// than r1's last advert + Active_Down_Interval + 5 ms + one probe interval, and probes fail
/// after it while vrrpd stays stopped. After SIGCONT vrrpd renews its lease and the VIP answers
/// again.
#[test]
fn fastpath_sigstop_of_vrrpd_fences_the_vip() {
    if !ready(&[]) {
        return;
    }
    let lab = Lab::new("fastpath_sigstop_of_vrrpd_fences_the_vip", 1);
    let p = params();
    let (f, _nginx, r1) = Fenced::start(&lab, &p);
    let vrrpd = r1.procs()[0];

    let t_stop = freeze(&lab, vrrpd);
    let fence = f.check("fastpath-sigstop", t_stop);
    assert!(
        fence.last_advert <= t_stop + 0.01,
        "r1 advertised after SIGSTOP"
    );
    assert!(
        alive(&lab, "r1").is_some_and(|s| s.is_empty()),
        "the element outlived its lease: {:?}",
        alive(&lab, "r1")
    );
    // Only the VIP is fenced: nginx still answers on r1's own address.
    let own = client_get(&lab, PROBER, lab.node("r1").ip, Duration::from_millis(300));
    assert_eq!(own.as_deref(), Ok("Primary"), "nginx on r1 did not answer");

    let t_cont = unix_now();
    lab.signal(vrrpd, libc::SIGCONT);
    let back = wait_answers(&lab, &f.probe, t_cont, 1, Duration::from_secs(10));
    wait_alive(&lab, "r1", Duration::from_secs(5));
    let d = datapath(&lab, "r1");
    println!(
        "MEASURE fastpath-sigcont answer_after_ms={:.1} stale_frames={} relayed_frames={}",
        back.as_secs_f64() * 1e3,
        d.stale_frames,
        d.relayed_frames
    );
    assert_eq!(d.mode, "kernel", "{d:?}");
    f.probe.stop(&lab);
}

/// Test 4: `kill -9` of vrrpd. Its table goes with its netlink socket: it is gone from
/// `nft list tables` at once, and the VIP stops answering within Active_Down_Interval + 5 ms of
/// the last advert (at once, in fact). A restarted vrrpd recovers what the dead one left (the
/// bridge, the VIP on `lo`), comes up in mode "kernel" with a table of its own and serves the VIP
/// again.
#[test]
fn fastpath_kill9_removes_the_table_and_restart_serves_again() {
    if !ready(&[]) {
        return;
    }
    let lab = Lab::new(
        "fastpath_kill9_removes_the_table_and_restart_serves_again",
        1,
    );
    let p = params();
    let (f, _nginx, mut r1) = Fenced::start(&lab, &p);
    let old = fastpath_table(&lab, "r1").expect("r1's table");

    let t_kill = unix_now();
    let start = Instant::now();
    r1.kill(&lab);
    wait_until(Duration::from_secs(1), || {
        fastpath_table(&lab, "r1").is_none()
    })
    .unwrap_or_else(|_| {
        panic!(
            "{TABLE} outlived vrrpd by a second: {:?}",
            tables(&lab, "r1")
        )
    });
    let gone = start.elapsed();
    println!(
        "MEASURE fastpath-kill9 table_gone_after_kill_ms<={:.1}",
        gone.as_secs_f64() * 1e3
    );
    let fence = f.check("fastpath-kill9", t_kill);
    println!(
        "MEASURE fastpath-kill9 kill_to_last_answer_ms={:.3}",
        (fence.last_ok - t_kill) * 1e3
    );

    let r1b = Router::start(&lab, "r1", Speaker::Vrrpd, &p);
    let t_restart = unix_now();
    let d = wait_for(Duration::from_secs(20), || {
        try_status(&lab, "r1").map(|s| Datapath::of(&s))
    })
    .expect("the restarted vrrpd answers its status");
    assert_eq!(d.mode, "kernel", "{d:?}");
    let back = wait_answers(&lab, &f.probe, t_restart, 1, Duration::from_secs(20));
    wait_alive(&lab, "r1", Duration::from_secs(5));
    let new = fastpath_table(&lab, "r1").expect("the restarted vrrpd's table");
    println!(
        "MEASURE fastpath-restart answer_after_ms={:.1}",
        back.as_secs_f64() * 1e3
    );
    assert_ne!(new.handle, old.handle, "the old table survived: {new:?}");
    let ours: Vec<_> = tables(&lab, "r1")
        .into_iter()
        .filter(|t| t.name.starts_with("vrrpd-"))
        .collect();
    assert_eq!(ours, vec![new], "one fast path table");
    let log = lab.log(r1b.procs()[0]);
    assert!(
        log.contains("bridged the uplink"),
        "restart did not rebuild the layout: {log}"
    );
    let bridges = lab.exec_ok("r1", "ip", &["-o", "link", "show", "type", "bridge"]);
    assert_eq!(bridges.lines().count(), 1, "bridges in r1:\n{bridges}");
    f.probe.stop(&lab);
}

/// Test 5: SIGHUP with an unchanged config keeps the fast path: the table is the same (same
/// handle), the element never leaves the set while the config is reloaded, the VIP answers every
/// probe across the reload, the mode stays "kernel" and no transition is counted.
#[test]
fn fastpath_sighup_unchanged_keeps_the_fast_path() {
    if !ready(&[]) {
        return;
    }
    let lab = Lab::new("fastpath_sighup_unchanged_keeps_the_fast_path", 1);
    let p = params();
    let (_nginx, _cap, r1) = active_alone(&lab, &p);
    let vrrpd = r1.procs()[0];
    let table = fastpath_table(&lab, "r1").expect("r1's table");
    let s0 = status(&lab, "r1");
    let opts = ProbeOpts {
        interval: Duration::from_millis(5),
        timeout: Duration::from_millis(200),
        duration: Duration::from_secs(60),
    };
    let probe = Prober::start(&lab, PROBER, VIP, &opts);
    wait_answers(&lab, &probe, 0.0, 50, Duration::from_secs(10));

    let t0 = unix_now();
    let mut samples = 0usize;
    let mut missing = Vec::new();
    let mut sample = || {
        samples += 1;
        let s = alive(&lab, "r1");
        if !s.as_ref().is_some_and(|s| s.contains(&virtual_mac(VRID))) {
            missing.push((unix_now(), s));
        }
    };
    for _ in 0..20 {
        sample();
    }
    lab.signal(vrrpd, libc::SIGHUP);
    let t_hup = unix_now();
    // Sample until the reload is done and two leases later.
    let reloaded = wait_for(Duration::from_secs(5), || {
        sample();
        lab.log(vrrpd)
            .contains("configuration reloaded")
            .then(unix_now)
    })
    .unwrap_or_else(|_| panic!("reload not logged: {}", lab.log(vrrpd)));
    let lease = p.active_down_interval().as_secs_f64();
    while unix_now() < reloaded + 2.0 * lease {
        sample();
    }
    let t1 = unix_now();
    let probes = wait_records_past(
        &lab,
        &probe,
        t1 + opts.timeout.as_secs_f64(),
        Duration::from_secs(5),
    );
    probe.stop(&lab);
    let s1 = status(&lab, "r1");
    let d = Datapath::of(&s1);
    let answered = probes.bodies(t0, t1).get("Primary").copied().unwrap_or(0);
    let errors = probes.errors(t0, t1);
    println!(
        "MEASURE fastpath-sighup set_samples={samples} missing={} probes_answered={answered} \
         probe_errors={errors} reload_logged_after_ms={:.1} transitions_before={} \
         transitions_after={}",
        missing.len(),
        (reloaded - t_hup) * 1e3,
        transitions(&s0),
        transitions(&s1)
    );
    assert!(missing.is_empty(), "the element left the set: {missing:?}");
    assert_eq!(errors, 0, "probes failed across the reload");
    assert!(answered >= 50, "only {answered} probes across the reload");
    assert_eq!(d.mode, "kernel", "{d:?}");
    assert_eq!(d.fastpath_errors, 0, "{d:?}");
    assert_eq!(
        transitions(&s1),
        transitions(&s0),
        "a transition was counted"
    );
    assert_eq!(
        fastpath_table(&lab, "r1"),
        Some(table),
        "the table was replaced"
    );
}

/// Test 6: with `datapath = "relay"` vrrpd installs no nftables table, says mode "relay" and
/// serves the VIP through the user-space relay: `relayed_frames` grows with the client's
/// requests.
#[test]
fn fastpath_relay_fallback_serves_the_vip() {
    if !ready(&[CURL]) {
        return;
    }
    let lab = Lab::new("fastpath_relay_fallback_serves_the_vip", 1);
    let p = params();
    let _nginx = Nginx::start(&lab, "r1", "Primary");
    let config = format!("datapath = \"relay\"\n{}", vrrpd_config_toml(&p));
    let _r1 = Router::vrrpd(&lab, "r1", &p, &config);
    wait_body(&lab, "Primary", Duration::from_secs(20));

    let before = datapath(&lab, "r1");
    assert_eq!(before.mode, "relay", "{before:?}");
    let n = 20;
    for i in 0..n {
        assert_eq!(get(&lab).as_deref(), Ok("Primary"), "request {i}");
    }
    let after = datapath(&lab, "r1");
    let relayed = after.relayed_frames - before.relayed_frames;
    let ours: Vec<_> = tables(&lab, "r1")
        .into_iter()
        .filter(|t| t.name.starts_with("vrrpd-"))
        .collect();
    println!(
        "MEASURE fastpath-relay requests={n} relayed_frames={relayed} tap_rx_frames={}",
        after.tap_rx_frames - before.tap_rx_frames
    );
    // Each request brings at least the SYN, the handshake's ACK and the request itself.
    assert!(
        relayed >= 3 * n,
        "{relayed} frames relayed for {n} requests"
    );
    assert_eq!(after.mode, "relay", "{after:?}");
    assert!(ours.is_empty(), "relay mode installed tables: {ours:?}");
    let m = metrics(&lab, "r1");
    assert_eq!(
        metric(&m, r#"vrrpd_datapath_mode{mode="relay"}"#),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, r#"vrrpd_datapath_mode{mode="kernel"}"#),
        Some(0.0),
        "{m}"
    );
    assert!(
        metric(&m, "vrrpd_relayed_frames_total").is_some_and(|v| v >= after.relayed_frames as f64),
        "{m}"
    );
}
