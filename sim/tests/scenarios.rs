//! Every shipped scenario passes; a wrong expectation fails, in the library and in the CLI.

use std::path::PathBuf;
use std::process::Command;

use vrrp_sim::scenario::Scenario;
use vrrp_sim::world::{Action, Kind};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn load(name: &str) -> Scenario {
    Scenario::parse(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

#[test]
fn every_scenario_passes() {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vrrp"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} scenarios", files.len());
    for f in files {
        let s = Scenario::parse(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!s.expects.is_empty(), "{} expects nothing", f.display());
        let out = vrrp_sim::run::run(&s, s.seed, false);
        let failed: Vec<_> = out.checks.iter().filter_map(|c| c.as_ref().err()).collect();
        assert!(failed.is_empty(), "{}: {failed:?}", f.display());
    }
}

#[test]
fn a_wrong_expectation_fails() {
    let text = std::fs::read_to_string(dir().join("seed-demo.vrrp")).unwrap();
    // One microsecond later than the exact takeover instant.
    let wrong = text.replace("takeover at 13.023437s", "takeover at 13.023438s");
    assert_ne!(text, wrong);
    let s = Scenario::parse(&wrong).unwrap();
    let out = vrrp_sim::run::run(&s, 1, false);
    assert!(!out.passed());
    assert_eq!(out.checks.iter().filter(|c| c.is_err()).count(), 1);

    let path = std::env::temp_dir().join(format!("vrrp-sim-wrong-{}.vrrp", std::process::id()));
    std::fs::write(&path, wrong).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_vrrp-sim"))
        .args(["run", path.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(status.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&status.stdout).contains("FAILED r2 vrid 10 takes over"));
}

#[test]
fn cli_prints_one_line_per_event() {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrp-sim"))
        .args(["run", dir().join("seed-demo.vrrp").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "   3.414062 r1/10  Backup -> Active (active_down) | sent advert p150, arp",
        "  10.000000 r1     pause",
        "  13.023437 r2/10  Backup -> Active (active_down) | sent advert p100, arp",
        // r2's 3 adverts and its 6 announcements (at 0, 10, 30, 100, 300 and 1000 ms).
        "  16.000000 r1     thawed: 9 frames were queued, 0 dropped",
        "  16.000000 r1/10  sent advert p150",
        "  16.000000 r2/10  Active -> Backup (higher_priority)",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}

/// `docker pause` semantics, exactly: nothing runs while frozen; frames queue; on thaw the
/// queue is read first and the overdue timer fires once, so one advert leaves, not six.
#[test]
fn pause_queues_then_acts_once() {
    let s = load("seed-demo.vrrp");
    let out = vrrp_sim::run::run(&s, 1, false);
    let r1_adverts: Vec<u64> = vrrp_sim::expect::adverts(&out.log, 0, 10.into())
        .map(|(t, _)| t)
        .collect();
    let before: Vec<_> = r1_adverts.iter().filter(|&&t| t < 10_000_000).collect();
    assert_eq!(before.last(), Some(&&9_414_062));
    let at_thaw = r1_adverts.iter().filter(|&&t| t == 16_000_000).count();
    assert_eq!(at_thaw, 1);
    assert!(!r1_adverts.iter().any(|&t| t > 9_414_062 && t < 16_000_000));
    assert!(out.log.iter().any(|e| e.at == 16_000_000
        && e.kind
            == Kind::Thawed {
                queued: 9,
                dropped: 0
            }));
    assert!(
        out.log
            .iter()
            .any(|e| e.kind == Kind::Action(Action::Resume(0)))
    );
}

#[test]
fn small_queue_overflows_and_counts() {
    let s = load("pause-queue-overflow.vrrp");
    let out = vrrp_sim::run::run(&s, 1, false);
    assert!(out.passed());
    // 6 s of r2 at 100 ms: ~33 adverts + ARP; the queue keeps 4.
    assert!(out.queue_drops[0] > 20, "{:?}", out.queue_drops);
    assert!(out.log.iter().any(|e| e.kind
        == Kind::Thawed {
            queued: 4,
            dropped: out.queue_drops[0]
        }));
}

fn run_text(text: &str) -> vrrp_sim::run::Outcome {
    let s = Scenario::parse(text).unwrap();
    vrrp_sim::run::run(&s, s.seed, false)
}

fn failures(out: &vrrp_sim::run::Outcome) -> Vec<&String> {
    out.checks.iter().filter_map(|c| c.as_ref().err()).collect()
}

/// The exact times and counts of the unicast, tracking and sync-group scenarios are exact: one
/// microsecond (or one drop) off, and exactly that expectation fails.
#[test]
fn one_microsecond_off_fails() {
    for (file, right, wrong, failed) in [
        (
            "unicast-peers.vrrp",
            "takeover at 13.023437s",
            "takeover at 13.023438s",
            "r2 vrid 10 takes over",
        ),
        (
            "unicast-takeover-arp.vrrp",
            "r2 takeover at 2.302343s",
            "r2 takeover at 2.302344s",
            "r2 vrid 10 takes over in 2.302344..2.302344: never",
        ),
        (
            "unicast-stranger.vrrp",
            "expect r1 drops peer 12",
            "expect r1 drops peer 11",
            "r1 vrid 10 dropped 11 adverts (peer): dropped 12",
        ),
        (
            "track-link-fault.vrrp",
            "r2 takeover at 8.609375s",
            "r2 takeover at 8.609374s",
            "r2 vrid 10 takes over in 8.609374..8.609374: at 8.609375",
        ),
        (
            "track-link-weight.vrrp",
            "r1 takeover at 18.671874s",
            "r1 takeover at 18.671875s",
            "r1 vrid 10 takes over",
        ),
        (
            "carrier-loss.vrrp",
            "r2 takeover at 11.023437s",
            "r2 takeover at 11.023436s",
            "r2 vrid 10 takes over in 11.023436..11.023436: at 11.023437",
        ),
        (
            "sync-group.vrrp",
            "r2 takeover at 8.609375s vrid 20",
            "r2 takeover at 8.609376s vrid 20",
            "r2 vrid 20 takes over",
        ),
        (
            "ipv6-seed-demo.vrrp",
            "r2 takeover at 13.023437s",
            "r2 takeover at 13.023438s",
            "r2 vrid 10v6 takes over in 13.023438..13.023438: never",
        ),
        (
            "ipv6-seed-demo.vrrp",
            "r1 takeover at 3.414062s",
            "r1 takeover at 3.414061s",
            "r1 vrid 10v6 takes over in 3.414061..3.414061: at 3.414062",
        ),
        (
            "ipv6-dual-stack.vrrp",
            "r1 takeover at 22.828125s vrid 10v6",
            "r1 takeover at 22.828126s vrid 10v6",
            "r1 vrid 10v6 takes over in 22.828126..22.828126: never",
        ),
        (
            "ipv6-dual-stack.vrrp",
            "r2 takeover at 13.023437s vrid 10v4",
            "r2 takeover at 13.023436s vrid 10v4",
            "r2 vrid 10 takes over in 13.023436..13.023436: at 13.023437",
        ),
        // The families are separate routers: the IPv6 one did not move at 13.023437.
        (
            "ipv6-dual-stack.vrrp",
            "r2 takeover at 13.023437s vrid 10v4",
            "r2 takeover at 13.023437s vrid 10v6",
            "r2 vrid 10v6 takes over in 13.023437..13.023437: never",
        ),
    ] {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let changed = text.replace(right, wrong);
        assert_ne!(text, changed, "{file}: `{right}` not found");
        let out = run_text(&changed);
        let f = failures(&out);
        assert_eq!(f.len(), 1, "{file}: {f:?}");
        assert!(f[0].contains(failed), "{file}: {f:?}");
    }
}

/// The scenarios' expectations tell the features apart: without them, the same story fails.
#[test]
fn without_the_feature_the_expectations_fail() {
    let text = |f: &str| std::fs::read_to_string(dir().join(f)).unwrap();

    // Multicast instead of unicast.
    let out = run_text(&text("unicast-peers.vrrp").replace(" peers r1,r2", ""));
    let f = failures(&out);
    assert!(
        f.len() == 1 && f[0].starts_with("no multicast advert: r1 vrid 10 sent one"),
        "{f:?}"
    );

    // No peer lists: the stranger's priority 200 wins.
    let out = run_text(
        &text("unicast-stranger.vrrp")
            .replace(" peers r2\n", "\n")
            .replace(" peers r1\n", "\n"),
    );
    let f = failures(&out);
    assert!(
        f.iter()
            .any(|m| m.starts_with("r1 vrid 10 Active during 3.414062..20.000000: Backup at")),
        "{f:?}"
    );
    assert!(f.iter().any(|m| m.contains("dropped 0")), "{f:?}");

    // No tracking: r1 keeps the VIP with its uplink down.
    let out = run_text(&text("track-link-fault.vrrp").replace(
        "vrrp r1 10 priority 150 track-link wan fault",
        "vrrp r1 10 priority 150",
    ));
    assert!(
        failures(&out)
            .iter()
            .any(|m| m.starts_with("r1 vrid 10 Backup at 8.000000: was Active")),
        "{:?}",
        failures(&out)
    );

    // No sync group: only vrid 10 moves, and the VIPs part.
    let out = run_text(&text("sync-group.vrrp").replace("sync-group r1,r2", "# "));
    assert!(
        failures(&out).iter().any(|m| m.starts_with(
            "vrids 10 20 Active together after 0.000000: vrid 10 nowhere, vrid 20 on r1 from 8.000000"
        )),
        "{:?}",
        failures(&out)
    );
}

/// The capture, read back: every VRRP packet of the unicast run goes to a peer's address.
#[test]
fn unicast_capture_has_no_multicast_advert() {
    let s = load("unicast-peers.vrrp");
    let out = vrrp_sim::run::run(&s, s.seed, true);
    let mut reader = pcap_file::pcap::PcapReader::new(&out.pcap[..]).unwrap();
    let mut adverts = Vec::new();
    while let Some(p) = reader.next_packet() {
        let data = p.unwrap().data;
        if data.len() >= 34 && data[12..14] == [8, 0] && data[23] == 112 {
            adverts.push(std::net::Ipv4Addr::new(
                data[30], data[31], data[32], data[33],
            ));
        }
    }
    // r1: 7 before the pause and 10 from the thaw on, one at the thaw: r2's adverts, held
    // behind ARP for the frozen r1, arrive after r1's overdue one and crossed it. r2: those 3.
    assert_eq!(adverts.len(), 20);
    for to in adverts {
        assert!(
            ["192.0.2.11", "192.0.2.12"].contains(&to.to_string().as_str()),
            "{to}"
        );
    }
}

/// The drops on the timeline are the ones the core counts in its Stats.
#[test]
fn peer_drops_match_the_core_stats() {
    use vrrp_core::wire::DropReason;
    use vrrp_sim::world::{Options, Sim};

    let s = load("unicast-stranger.vrrp");
    let arena = bumpalo::Bump::new();
    let mut sim = Sim::new(&arena, s.nodes.clone(), s.seed, Options::default());
    for (at, a) in &s.actions {
        sim.schedule(*at, a.clone());
    }
    sim.run_until(s.duration);
    for node in [0, 1] {
        let logged = sim
            .log
            .iter()
            .filter(|e| {
                e.node == node
                    && e.kind
                        == Kind::Dropped {
                            vrid: 10.into(),
                            reason: DropReason::Peer,
                        }
            })
            .count();
        let stats = sim.stats(node, 10).unwrap();
        assert_eq!(logged, 12);
        assert_eq!(stats.drops(DropReason::Peer), 12);
    }
}
