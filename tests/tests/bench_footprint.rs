//! BENCHMARKS.md P5 (daemon footprint): vrrpd and keepalived at I = 10 ms, each pair in its own
//! lab (vrrpd / vrrpd, keepalived / keepalived, and vrrpd in either seat against keepalived), all
//! labs running at the same time; RSS and CPU% of every seat. Not part of the default
//! test run; `bench/run.sh P5` runs it (with the release vrrpd) and writes BENCHMARKS.md.
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | repetitions (3) |
//! | `VRRP_BENCH_SECS` | measured window per run, seconds (60) |
//! | `VRRPD_BIN_B` | a second vrrpd build: its rows (`vrrpd-B`, against a keepalived peer in either seat) run beside the others (unset: none) |

use std::time::Duration;

use vrrp_tests::bench::{
    Contender, env_parse, footprint, footprint_markdown, runs, write_fragment,
};
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
    let ka = Contender::Speaker(Speaker::Keepalived);
    let us = Contender::Speaker(Speaker::Vrrpd);
    let mut pairs = vec![(ka, ka), (us, us), (us, ka), (ka, us)];
    let b = std::env::var_os("VRRPD_BIN_B");
    if b.is_some() {
        pairs.extend([(Contender::VrrpdB, ka), (ka, Contender::VrrpdB)]);
    }
    let res = footprint("bench_footprint", PROBER, &pairs, i, secs, runs(3));
    let mut md = footprint_markdown(&res, i, secs);
    if let Some(b) = b {
        md.push_str(&format!(
            "\n`vrrpd-B` is the build at `{}` (`VRRPD_BIN_B`), `vrrpd` the one under test.\n",
            std::path::Path::new(&b).display()
        ));
    }
    write_fragment("P5", &md);
    assert!(!res.is_empty(), "no figures");
}
