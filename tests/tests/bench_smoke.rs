//! Smoke-size runs of the benchmarks of BENCHMARKS.md, in the normal test run so that they
//! cannot rot: the P1-P5, P9 and P11 machinery once, briefly, and `bench/run.sh --smoke P6 P7`
//! into a temporary file.
//! Only that figures were produced is asserted; the figures themselves belong to BENCHMARKS.md
//! (`bench/run.sh`), never to assertions on a shared, noisy machine.

use std::process::Command;
use std::time::Duration;

use vrrp_tests::bench::{
    DataPathRun, FailoverRun, WRK, datapath, datapath_markdown, failover, footprint,
    footprint_markdown,
};
use vrrp_tests::bench_pause::{PauseClientsRun, pause_clients};
use vrrp_tests::bench_scale::{ScaleCase, ScaleRun, scale, scale_markdown};
use vrrp_tests::prereq::{Need, is_ci, require};
use vrrp_tests::router::Speaker;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const BOTH: [Speaker; 2] = [Speaker::Keepalived, Speaker::Vrrpd];

/// BENCHMARKS.md P1-P3: one pause / resume per speaker at I = 100 ms.
#[test]
fn bench_smoke_failover() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let res = failover(
        "bench_smoke_failover",
        PROBER,
        &FailoverRun {
            speakers: BOTH.to_vec(),
            intervals: vec![Duration::from_millis(100)],
            runs: 1,
        },
    );
    for s in BOTH {
        assert!(
            res.measures.contains_key(&(100, s.name())),
            "no failover figures for {}: {:?}",
            s.name(),
            res.failures
        );
    }
    for (id, md) in res.markdown() {
        assert!(md.contains("| 100 ms |"), "{id}: {md}");
    }
}

/// BENCHMARKS.md P4: one second of wrk per target and mode, 4 connections.
#[test]
fn bench_smoke_datapath() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    if !std::path::Path::new(WRK).exists() {
        assert!(
            !is_ci(),
            "CI is set and wrk is missing (apt-get install -y wrk)"
        );
        println!("skipped: {WRK} not found (apt-get install -y wrk)");
        return;
    }
    let res = datapath(
        "bench_smoke_datapath",
        PROBER,
        &DataPathRun {
            speakers: BOTH.to_vec(),
            conns: vec![4],
            secs: 1,
            runs: 1,
        },
    );
    assert_eq!(res.len(), 4, "2 speakers x 2 modes: {res:?}");
    for p in res.values().flatten() {
        assert!(p.direct.requests > 0 && p.vip.requests > 0, "{p:?}");
    }
    println!("{}", datapath_markdown(&res, 1));
}

/// BENCHMARKS.md P5: three seconds of both speakers at I = 10 ms.
#[test]
fn bench_smoke_footprint() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let i = Duration::from_millis(10);
    let pairs = [
        (Speaker::Keepalived, Speaker::Keepalived),
        (Speaker::Vrrpd, Speaker::Keepalived),
    ];
    let contenders = pairs.map(|(a, b)| (a.into(), b.into()));
    let res = footprint("bench_smoke_footprint", PROBER, &contenders, i, 3.0, 1);
    for (a, b) in pairs {
        for (s, peer, node) in [(a, b, "r1"), (b, a, "r2")] {
            let f = res
                .get(&(s.name(), peer.name(), node))
                .unwrap_or_else(|| panic!("no footprint for {} {node}", s.name()));
            assert!(f[0].procs > 0 && f[0].mem.rss_kb > 0, "{f:?}");
        }
    }
    println!("{}", footprint_markdown(&res, i, 3.0));
}

/// BENCHMARKS.md P6 and P7 through the script itself: `bench/run.sh --smoke --no-build P6 P7`.
#[test]
fn bench_smoke_run_sh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("benchmarks-smoke-{}.md", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let st = Command::new(root.join("bench/run.sh"))
        .args(["--smoke", "--no-build", "P6", "P7"])
        .env("BENCHMARKS_MD", &out)
        .env("CARGO", cargo)
        .status()
        .expect("run bench/run.sh");
    let md = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(st.success(), "bench/run.sh --smoke P6 P7: {st}\n{md}");
    for want in [
        "<!-- bench:P6:begin -->",
        ".text",
        "<!-- bench:P7:begin -->",
        "steady:",
        "swarm:",
    ] {
        assert!(md.contains(want), "{want:?} missing from\n{md}");
    }
}

/// BENCHMARKS.md P9: one pause per variant (keepalived, the relay, the fast path).
#[test]
fn bench_smoke_pause_clients() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let spec = PauseClientsRun::p9(1);
    let res = pause_clients("bench_smoke_pause_clients", PROBER, &spec);
    for (variant, mode, outcomes) in &res.rows {
        assert_eq!(
            outcomes.len(),
            1,
            "{variant:?} ({mode}): {:?}",
            res.failures
        );
    }
    assert_eq!(res.rows.len(), spec.variants.len(), "{:?}", res.failures);
    assert!(
        res.markdown(&spec)
            .contains("| vrrpd, default datapath | kernel |")
    );
}

/// BENCHMARKS.md P11: two virtual routers at 100 ms, a two-second window.
#[test]
fn bench_smoke_scale() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let case = ScaleCase {
        n: 2,
        interval: Duration::from_millis(100),
    };
    let spec = ScaleRun {
        cases: vec![case],
        settle: Duration::from_secs(1),
        secs: 2.0,
        runs: 1,
    };
    let res = scale("bench_smoke_scale", &BOTH, &spec);
    // keepalived may not settle on a loaded machine (BENCHMARKS.md P11 lists such runs); vrrpd
    // must give both seats' figures.
    for seat in ["r1", "r2"] {
        assert!(
            res.figures
                .keys()
                .any(|(_, s, n)| *s == "vrrpd" && *n == seat),
            "no vrrpd figures for {seat}: {:?}",
            res.failures
        );
    }
    assert!(scale_markdown(&res, &spec).contains("| 2 | 100 ms | vrrpd |"));
}
