//! BENCHMARKS.md P4 (VIP data path): wrk from the client namespace against the VIP and against the
//! Active's own address, same lab, back to back, for keepalived (the anchor: the kernel serves its
//! VIP) and vrrpd (its default data path: the kernel fast path while Active). Not part of the
//! default test run;
//! `bench/run.sh P4` runs it and writes BENCHMARKS.md.
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | repetitions (3) |
//! | `VRRP_BENCH_CONNS` | comma-separated wrk connection counts (`1,16,64`) |
//! | `VRRP_BENCH_SECS` | seconds per wrk run (3) |
//! | `VRRP_BENCH_SPEAKERS` | `keepalived,vrrpd` |

use vrrp_tests::bench::{
    DataPathRun, datapath, datapath_markdown, env_parse, runs, write_fragment,
};
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

#[test]
#[ignore = "benchmark: bench/run.sh P4 (or --ignored)"]
fn bench_datapath() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    if !std::path::Path::new(vrrp_tests::bench::WRK).exists() {
        assert!(!vrrp_tests::prereq::is_ci(), "CI: wrk missing");
        println!("skipped: wrk not found (apt-get install -y wrk)");
        return;
    }
    let conns: Vec<u32> = std::env::var("VRRP_BENCH_CONNS")
        .unwrap_or_else(|_| "1,16,64".to_string())
        .split(',')
        .map(|c| c.trim().parse().expect("connection count"))
        .collect();
    let speakers: Vec<Speaker> = std::env::var("VRRP_BENCH_SPEAKERS")
        .unwrap_or_else(|_| "keepalived,vrrpd".to_string())
        .split(',')
        .map(|s| match s.trim() {
            "vrrpd" => Speaker::Vrrpd,
            _ => Speaker::Keepalived,
        })
        .collect();
    let secs = env_parse("VRRP_BENCH_SECS").unwrap_or(3);
    let spec = DataPathRun {
        speakers,
        conns,
        secs,
        runs: runs(3),
    };
    let res = datapath("bench_datapath", PROBER, &spec);
    write_fragment("P4", &datapath_markdown(&res, secs));
    assert!(!res.is_empty(), "no figures");
}
