//! BENCHMARKS.md P11 (cost as the number of virtual routers grows): N = 1, 16, 64, 200 virtual
//! routers at 100 ms and 16 at 10 ms, keepalived and vrrpd side by side (both labs at the same
//! time); CPU% and RSS of the Active and the Backup. Not part of the default test run;
//! `bench/run.sh P11` runs it (with the release vrrpd) and writes BENCHMARKS.md.
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | repetitions of every case (3) |
//! | `VRRP_BENCH_SECS` | measured window, seconds (15) |
//! | `VRRP_BENCH_SETTLE_SECS` | from every router having its role to the window (6) |
//! | `VRRP_BENCH_SCALE_N` | comma-separated `N` or `N@ms` cases (`1,16,64,200,16@10`) |

use std::time::Duration;

use vrrp_tests::bench::{env_parse, runs, write_fragment};
use vrrp_tests::bench_scale::{ScaleCase, ScaleRun, scale, scale_markdown};
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;

fn cases() -> Vec<ScaleCase> {
    let Ok(list) = std::env::var("VRRP_BENCH_SCALE_N") else {
        return ScaleRun::p11_cases();
    };
    list.split(',')
        .map(|c| {
            let (n, ms) = c.trim().split_once('@').unwrap_or((c.trim(), "100"));
            ScaleCase {
                n: n.parse().expect("N"),
                interval: Duration::from_millis(ms.parse().expect("interval in ms")),
            }
        })
        .collect()
}

#[test]
#[ignore = "benchmark: bench/run.sh P11 (or --ignored)"]
fn bench_scale() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let spec = ScaleRun {
        cases: cases(),
        settle: Duration::from_secs_f64(env_parse("VRRP_BENCH_SETTLE_SECS").unwrap_or(6.0)),
        secs: env_parse("VRRP_BENCH_SECS").unwrap_or(15.0),
        runs: runs(3),
    };
    let res = scale("bench_scale", &[Speaker::Keepalived, Speaker::Vrrpd], &spec);
    write_fragment("P11", &scale_markdown(&res, &spec));
    assert!(!res.figures.is_empty(), "no figures: {:?}", res.failures);
}
