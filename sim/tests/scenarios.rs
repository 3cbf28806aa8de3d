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
        "  16.000000 r1     thawed: 5 frames were queued, 0 dropped",
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
    let r1_adverts: Vec<u64> = vrrp_sim::expect::adverts(&out.log, 0, 10)
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
                queued: 5,
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
