//! BENCHMARKS.md P1-P3 (takeover silence, client outage, resume storm): `scenario::pause_resume`
//! repeated, keepalived and vrrpd interleaved run by run in one invocation. Not part of the
//! default test run; `bench/run.sh P1` runs it and writes BENCHMARKS.md.
//!
//! `VRRP_BENCH_RUNS=5 cargo test -p vrrp-tests --test bench_failover -- --ignored --nocapture`
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | repetitions per speaker and interval (5) |
//! | `VRRP_BENCH_INTERVALS_MS` | comma-separated advert intervals (`10,100,1000`) |
//! | `VRRP_BENCH_SPEAKERS` | comma-separated speakers (`keepalived,vrrpd`); `VRRP_BENCH_SPEAKER` = one |
//! | `VRRP_MEASURE_FILE` | collects the MEASURE lines |
//! | `VRRP_BENCH_MD_DIR` | where the P1.md / P2.md / P3.md fragments go |

use std::time::Duration;

use vrrp_tests::bench::{FailoverRun, failover, runs, write_fragment};
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

fn speaker(name: &str) -> Speaker {
    match name.trim() {
        "vrrpd" => Speaker::Vrrpd,
        "frr" => Speaker::Frr,
        "keepalived" => Speaker::Keepalived,
        other => panic!("unknown speaker {other:?}"),
    }
}

fn speakers() -> Vec<Speaker> {
    let list = std::env::var("VRRP_BENCH_SPEAKERS")
        .or_else(|_| std::env::var("VRRP_BENCH_SPEAKER"))
        .unwrap_or_else(|_| "keepalived,vrrpd".to_string());
    list.split(',').map(speaker).collect()
}

fn intervals() -> Vec<Duration> {
    std::env::var("VRRP_BENCH_INTERVALS_MS")
        .unwrap_or_else(|_| "10,100,1000".to_string())
        .split(',')
        .map(|s| Duration::from_millis(s.trim().parse().expect("interval in ms")))
        .collect()
}

#[test]
#[ignore = "benchmark: bench/run.sh P1 (or --ignored)"]
fn bench_failover() {
    let speakers = speakers();
    let mut needs = vec![];
    for s in &speakers {
        needs.push(match s {
            Speaker::Keepalived => Need::Keepalived,
            Speaker::Frr => Need::Frr,
            Speaker::Vrrpd => Need::Vrrpd,
        });
    }
    if !require(&needs) {
        return;
    }
    let res = failover(
        "bench_failover",
        PROBER,
        &FailoverRun {
            speakers,
            intervals: intervals(),
            runs: runs(5),
        },
    );
    for (id, md) in res.markdown() {
        write_fragment(id, &md);
    }
    assert!(!res.measures.is_empty(), "no run produced figures");
}
