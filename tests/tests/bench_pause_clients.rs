//! BENCHMARKS.md P9 (direct-to-VIP clients through a pause): keepalived, vrrpd with the
//! user-space relay and vrrpd with its default data path, each in its own lab, r1 frozen for 1 s
//! again and again while the client opens a new connection to the VIP every 5 ms. Not part of the
//! default test run; `bench/run.sh P9` runs it (with the release vrrpd) and writes BENCHMARKS.md.
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_RUNS` | pauses per speaker (20) |
//! | `VRRP_MEASURE_FILE` | collects the MEASURE lines |
//! | `VRRP_BENCH_MD_DIR` | where the P9.md fragment goes |
//! | `VRRP_BENCH_CAPTURE` | set: tcpdump in every lab, for a post-mortem with `VRRP_KEEP_ARTIFACTS=1` |

use vrrp_tests::bench::{runs, write_fragment};
use vrrp_tests::bench_pause::{PauseClientsRun, pause_clients};
use vrrp_tests::prereq::{Need, require};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

#[test]
#[ignore = "benchmark: bench/run.sh P9 (or --ignored)"]
fn bench_pause_clients() {
    if !require(&[Need::Keepalived, Need::Vrrpd]) {
        return;
    }
    let spec = PauseClientsRun::p9(runs(20));
    let res = pause_clients("bench_pause_clients", PROBER, &spec);
    write_fragment("P9", &res.markdown(&spec));
    assert!(
        res.rows.iter().any(|r| !r.2.is_empty()),
        "no pause measured: {:?}",
        res.failures
    );
}
