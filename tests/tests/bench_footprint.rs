//! BENCHMARKS.md P5 (daemon footprint): vrrpd and keepalived at I = 10 ms, each pair in its own
//! lab (vrrpd / vrrpd, keepalived / keepalived, and vrrpd in either seat against keepalived), all
//! labs running at the same time; RSS and CPU% of every seat. Not part of the default
//! test run; `bench/run.sh P5` runs it (with the release vrrpd) and writes BENCHMARKS.md.
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | repetitions (3) |
//! | `VRRP_BENCH_SECS` | measured window per run, seconds (60) |

use std::time::Duration;

use vrrp_tests::bench::{env_parse, footprint, footprint_markdown, runs, write_fragment};
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

#[test]
#[ignore = "benchmark: bench/run.sh P5 (or --ignored)"]
fn bench_footprint() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let secs: f64 = env_parse("VRRP_BENCH_SECS").unwrap_or(60.0);
    let i = Duration::from_millis(10);
    let res = footprint(
        "bench_footprint",
        PROBER,
        &[
            (Speaker::Keepalived, Speaker::Keepalived),
            (Speaker::Vrrpd, Speaker::Vrrpd),
            (Speaker::Vrrpd, Speaker::Keepalived),
            (Speaker::Keepalived, Speaker::Vrrpd),
        ],
        i,
        secs,
        runs(3),
    );
    write_fragment("P5", &footprint_markdown(&res, i, secs));
    assert!(!res.is_empty(), "no figures");
}
