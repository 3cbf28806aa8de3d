//! Repeated failover runs for BENCHMARKS.md (issue 6 P1-P3): not part of the default test run.
//!
//! `VRRP_BENCH_RUNS=5 cargo nextest run -p vrrp-tests --run-ignored only --no-capture bench_`
//! prints one MEASURE line per run and a SUMMARY line (min/median/max) per configuration;
//! `VRRP_MEASURE_FILE=FILE` collects the MEASURE lines. `VRRP_BENCH_SPEAKER=vrrpd` puts our
//! daemon in both seats instead of keepalived (once it exists).

use std::time::Duration;

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;
use vrrp_tests::scenario::{Failover, pause_resume, summary};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

fn runs() -> usize {
    std::env::var("VRRP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn speaker() -> Speaker {
    match std::env::var("VRRP_BENCH_SPEAKER").as_deref() {
        Ok("vrrpd") => Speaker::Vrrpd,
        Ok("frr") => Speaker::Frr,
        _ => Speaker::Keepalived,
    }
}

fn bench(name: &str, version: u8, interval: Duration) {
    let s = speaker();
    let need = match s {
        Speaker::Frr => Need::Frr,
        _ => Need::Keepalived,
    };
    if !require(&[need]) {
        return;
    }
    let mut measures = Vec::new();
    for i in 0..runs() {
        let lab = Lab::new(&format!("{name}-{i}"), 2);
        measures.push(pause_resume(
            &lab,
            PROBER,
            &Failover::new(s, version, interval),
        ));
    }
    println!("{}", summary(&measures));
}

#[test]
#[ignore = "benchmark: run with --run-ignored only"]
fn bench_failover_v3_10ms() {
    bench("bench_failover_v3_10ms", 3, Duration::from_millis(10));
}

#[test]
#[ignore = "benchmark: run with --run-ignored only"]
fn bench_failover_v3_100ms() {
    bench("bench_failover_v3_100ms", 3, Duration::from_millis(100));
}

#[test]
#[ignore = "benchmark: run with --run-ignored only"]
fn bench_failover_v3_1s() {
    bench("bench_failover_v3_1s", 3, Duration::from_secs(1));
}

#[test]
#[ignore = "benchmark: run with --run-ignored only"]
fn bench_failover_v2_1s() {
    bench("bench_failover_v2_1s", 2, Duration::from_secs(1));
}
