//! BENCHMARKS.md P10: a soak of the Docker demo. wrk (keep-alive, 16 connections) through the
//! proxy on localhost for 10 minutes, a busy loop on every core, `docker pause` of nginx_master
//! for 1 s every 20 s and a `docker restart` of a random node every 2 minutes (in place of
//! every 6th pause). A fault waits until the last one has settled (master Active, backup
//! Backup). Each node's transitions (changes into or out of Active, from its vrrpd's
//! log) are attributed to the fault they followed, or to none.
//!
//! `bench_soak` is the benchmark (ignored; `bench/run.sh P10`, which writes BENCHMARKS.md);
//! `bench_smoke_soak` runs the same machinery for 60 s (a pause, then a restart) in the normal
//! test run, so that it cannot rot. Neither asserts on the figures: the rejoin rule is tested by
//! docker_demo.rs (`docker_7_rejoin_takes_over_once`).
//!
//! | variable | effect (default) |
//! |---|---|
//! | `VRRP_BENCH_SECS` | length of the soak (600) |
//! | `VRRP_BENCH_CONNS` | wrk connections (16) |
//! | `VRRP_BENCH_SEED` | the schedule of the restarts (printed) |
//! | `VRRP_MEASURE_FILE` | collects the MEASURE lines |
//! | `VRRP_BENCH_MD_DIR` | where the P10.md fragment goes |

mod docker_support;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use docker_support::*;
use vrrp_tests::bench::{WRK, append_measure, env_parse, latency_ms, parse_wrk, write_fragment};
use vrrp_tests::unix_now;

/// Time after a fault's end in which the transitions it causes are expected: the take-back
/// after a restart waits for the demo's preempt_delay (3 s) after the checks are up.
const FAULT_WINDOW: f64 = 15.0;

#[derive(Debug, Clone)]
struct SoakRun {
    secs: u64,
    conns: u32,
    /// One fault per slot.
    slot: Duration,
    /// How long a pause holds nginx_master frozen.
    hold: Duration,
    /// Every this many slots, a restart instead of a pause.
    restart_every: u32,
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FaultKind {
    PauseMaster,
    Restart(&'static str),
}

impl FaultKind {
    fn describe(self) -> String {
        match self {
            FaultKind::PauseMaster => format!("`docker pause` of {MASTER}, 1 s"),
            FaultKind::Restart(n) => format!("`docker restart` of {n}"),
        }
    }

    /// The VIP moves each node should make: (master, backup). A paused master keeps its state
    /// and the backup goes Active and back; a restarted master leaves Active and takes it back
    /// once, the backup covering in between; a restarted backup moves nothing.
    fn expected(self) -> (usize, usize) {
        match self {
            FaultKind::PauseMaster => (0, 2),
            FaultKind::Restart(n) if n == MASTER => (2, 2),
            FaultKind::Restart(_) => (0, 0),
        }
    }
}

#[derive(Debug, Clone)]
struct Fault {
    kind: FaultKind,
    start: f64,
    end: f64,
    /// VIP moves attributed to it: (master, backup).
    seen: (usize, usize),
}

#[derive(Debug)]
struct SoakResult {
    spec: SoakRun,
    started: f64,
    wrk_text: String,
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    socket_errors: String,
    faults: Vec<Fault>,
    /// Faults the engine refused (`docker pause` failing to freeze), with its error.
    not_injected: Vec<String>,
    /// VIP moves no fault explains.
    unexplained: Vec<StateChange>,
    /// VIP moves per node: (total, attributed).
    per_node: [(usize, usize); 2],
}

fn sleep_until(t: f64) {
    let now = unix_now();
    if t > now {
        std::thread::sleep(Duration::from_secs_f64(t - now));
    }
}

fn soak(test: &str, spec: &SoakRun) -> Option<SoakResult> {
    println!(
        "{test}: {spec:?} (replay the schedule: VRRP_BENCH_SEED={})",
        spec.seed
    );
    let demo = Demo::up(test)?;
    demo.wait_converged(Duration::from_secs(30));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hog = CpuHog::start(cores);
    let url = format!("http://127.0.0.1:{}/", demo.port);
    let started = unix_now();
    let wrk = Command::new(WRK)
        .args([
            "-t2",
            "-c",
            &spec.conns.to_string(),
            "-d",
            &format!("{}s", spec.secs),
            "--latency",
            "--timeout",
            "2s",
            &url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{WRK}: {e}"));

    let mut rng = Rng::new(spec.seed);
    let mut faults = Vec::new();
    let slot = spec.slot.as_secs_f64();
    let mut settled = started;
    let mut not_injected = Vec::new();
    for k in 1.. {
        // On schedule, unless the last fault has not settled yet: its transitions must not be
        // taken for the next one's.
        let at = (started + slot * f64::from(k)).max(settled + 1.0);
        // The last fault leaves a whole slot to settle before wrk stops.
        if at + slot > started + spec.secs as f64 {
            break;
        }
        sleep_until(at);
        let kind = if k % spec.restart_every == 0 {
            FaultKind::Restart(if rng.range(0, 2) == 0 { MASTER } else { BACKUP })
        } else {
            FaultKind::PauseMaster
        };
        let start = unix_now();
        let injected = match kind {
            FaultKind::PauseMaster => match demo.try_docker_on("pause", MASTER) {
                Ok(()) => {
                    std::thread::sleep(spec.hold);
                    // Thawing must not fail for good: try again until it works.
                    let _ = vrrp_tests::wait_until(Duration::from_secs(30), || {
                        demo.try_docker_on("unpause", MASTER).is_ok()
                    });
                    Ok(())
                }
                Err(e) => Err(e),
            },
            FaultKind::Restart(n) => demo.try_docker_on("restart", n),
        };
        let end = unix_now();
        if let Err(e) = injected {
            // Nothing was done: not a fault. Counted, and the soak goes on.
            println!(
                "{test}: +{:.1} s: {} failed: {e}",
                start - started,
                kind.describe()
            );
            not_injected.push(format!(
                "+{:.1} s, {}: {e}",
                start - started,
                kind.describe()
            ));
            settled = unix_now();
            continue;
        }
        // The master Active and the backup Backup again (not asserted: a benchmark reports).
        let _ = vrrp_tests::wait_until(Duration::from_secs(30), || {
            demo.vrrp_state(MASTER).as_deref() == Some("Active")
                && demo.vrrp_state(BACKUP).as_deref() == Some("Backup")
        });
        settled = unix_now();
        println!(
            "{test}: +{:.1} s: {} ({:.1} s, settled after {:.1} s)",
            start - started,
            kind.describe(),
            end - start,
            settled - start
        );
        faults.push(Fault {
            kind,
            start,
            end,
            seen: (0, 0),
        });
    }
    let out = wrk.wait_with_output().expect("wrk");
    let ended = unix_now();
    drop(hog);
    let wrk_text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{wrk_text}");
    let parsed = parse_wrk(&wrk_text).unwrap_or_else(|| {
        panic!(
            "wrk {}: {wrk_text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let max_ms = wrk_text
        .lines()
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&"Latency") && w.len() >= 4)
                .then(|| latency_ms(w[3]))
                .flatten()
        })
        .unwrap_or(f64::NAN);
    let socket_errors = wrk_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map_or("none".to_string(), |s| s.trim().to_string());

    // Who moved when, and why.
    let mut unexplained = Vec::new();
    let mut per_node = [(0, 0); 2];
    for (i, node) in [MASTER, BACKUP].into_iter().enumerate() {
        for c in demo.state_changes(node, started) {
            if !c.moves_vip() || c.at > ended {
                continue;
            }
            per_node[i].0 += 1;
            let owner = faults.iter().enumerate().rev().find(|(j, f)| {
                let next = faults.get(j + 1).map_or(f64::INFINITY, |n| n.start);
                c.at >= f.start - 0.05 && c.at <= (f.end + FAULT_WINDOW).min(next)
            });
            match owner {
                Some((j, _)) => {
                    per_node[i].1 += 1;
                    let seen = &mut faults[j].seen;
                    if i == 0 {
                        seen.0 += 1;
                    } else {
                        seen.1 += 1;
                    }
                }
                None => unexplained.push(c),
            }
        }
    }
    Some(SoakResult {
        spec: spec.clone(),
        started,
        wrk_text,
        requests: parsed.requests,
        rps: parsed.rps,
        p50_ms: parsed.p50_ms,
        p99_ms: parsed.p99_ms,
        max_ms,
        errors: parsed.errors,
        socket_errors,
        faults,
        not_injected,
        unexplained,
        per_node,
    })
}

fn measure_all(test: &str, r: &SoakResult) {
    let m = |k: &str, v: String| {
        let line = format!("MEASURE docker {test} {k}={v}");
        println!("{line}");
        append_measure(&line);
    };
    m("requests", r.requests.to_string());
    m("rps", format!("{:.0}", r.rps));
    m("failed", r.errors.to_string());
    m("p99_ms", format!("{:.1}", r.p99_ms));
    m("max_ms", format!("{:.1}", r.max_ms));
    m("faults", r.faults.len().to_string());
    m("faults_not_injected", r.not_injected.len().to_string());
    m(
        "faults_as_expected",
        r.faults
            .iter()
            .filter(|f| f.seen == f.kind.expected())
            .count()
            .to_string(),
    );
    m("transitions_master", r.per_node[0].0.to_string());
    m("transitions_backup", r.per_node[1].0.to_string());
    m("transitions_without_fault", r.unexplained.len().to_string());
}

fn markdown(r: &SoakResult) -> String {
    let s = &r.spec;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "The demo as `docker/compose.yaml` runs it, for {} s: wrk (`-t2 -c{} --timeout 2s`, \
         keep-alive) through the proxy on 127.0.0.1, a busy loop on each of the {} cores (normal \
         priority) from the start of wrk to its end; every {} s a fault: {}, except that one \
         slot in {} has a `docker restart` of a random node instead (seed {}); a fault waits until the \
         last one has settled (master Active, backup Backup). A transition is a change into or \
         out of Active that a node's vrrpd logged; it is caused by a fault when it comes \
         between the fault's start and {} s after its end (and before the next fault).",
        s.secs,
        s.conns,
        std::thread::available_parallelism().map_or(2, |n| n.get()),
        s.slot.as_secs(),
        FaultKind::PauseMaster.describe(),
        s.restart_every,
        s.seed,
        FAULT_WINDOW
    );
    md.push('\n');
    let explained = r.per_node.iter().map(|n| n.1).sum::<usize>();
    let as_expected = r
        .faults
        .iter()
        .filter(|f| f.seen == f.kind.expected())
        .count();
    md.push_str("| figure | value | goal |\n|---|---|---|\n");
    let _ = writeln!(
        md,
        "| requests (wrk) | {} ({:.0}/s) | — |",
        r.requests, r.rps
    );
    let _ = writeln!(
        md,
        "| failed requests | **{}** (socket errors: {}) | 0 |",
        r.errors, r.socket_errors
    );
    let _ = writeln!(
        md,
        "| latency p50 / **p99** / max | {:.1} / **{:.1}** / {:.1} ms | — |",
        r.p50_ms, r.p99_ms, r.max_ms
    );
    for (i, node) in [MASTER, BACKUP].into_iter().enumerate() {
        let _ = writeln!(
            md,
            "| transitions of {node}: all / caused by a fault | {} / {} | — |",
            r.per_node[i].0, r.per_node[i].1
        );
    }
    let _ = writeln!(
        md,
        "| transitions without a fault | **{}** | 0 |",
        r.per_node.iter().map(|n| n.0).sum::<usize>() - explained
    );
    let _ = writeln!(
        md,
        "| faults with exactly the expected transitions | **{as_expected} / {}** | all |",
        r.faults.len()
    );
    md.push('\n');
    md.push_str(
        "| fault | count | expected transitions (master, backup) | as expected | seen (master, backup): count |\n\
         |---|---|---|---|---|\n",
    );
    let mut kinds: Vec<FaultKind> = r.faults.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        let of: Vec<&Fault> = r.faults.iter().filter(|f| f.kind == k).collect();
        let ok = of.iter().filter(|f| f.seen == k.expected()).count();
        let mut seen: Vec<(usize, usize)> = of.iter().map(|f| f.seen).collect();
        seen.sort();
        let mut hist: Vec<String> = Vec::new();
        for v in &seen {
            let label = format!("({}, {})", v.0, v.1);
            if !hist.iter().any(|h| h.starts_with(&label)) {
                let n = seen.iter().filter(|x| *x == v).count();
                hist.push(format!("{label}: {n}"));
            }
        }
        let (em, eb) = k.expected();
        let _ = writeln!(
            md,
            "| {} | {} | ({em}, {eb}) | {ok} | {} |",
            k.describe(),
            of.len(),
            hist.join(", ")
        );
    }
    if !r.not_injected.is_empty() {
        let _ = writeln!(
            md,
            "\nFaults the engine refused (not counted above): {}.",
            r.not_injected.join("; ")
        );
    }
    let odd: Vec<&Fault> = r
        .faults
        .iter()
        .filter(|f| f.seen != f.kind.expected())
        .collect();
    if !odd.is_empty() || !r.unexplained.is_empty() {
        md.push_str("\nDeviations:\n");
        for f in odd {
            let _ = writeln!(
                md,
                "- +{:.1} s, {}: (master, backup) = ({}, {})",
                f.start - r.started,
                f.kind.describe(),
                f.seen.0,
                f.seen.1
            );
        }
        for c in &r.unexplained {
            let _ = writeln!(
                md,
                "- +{:.1} s, no fault: {} {} -> {} ({})",
                c.at - r.started,
                c.service,
                c.from,
                c.to,
                c.reason
            );
        }
    }
    md
}

fn spec(secs: u64, restart_every: u32) -> SoakRun {
    SoakRun {
        secs: env_parse("VRRP_BENCH_SECS").unwrap_or(secs),
        conns: env_parse("VRRP_BENCH_CONNS").unwrap_or(16),
        slot: Duration::from_secs(20),
        hold: Duration::from_secs(1),
        restart_every,
        seed: env_parse("VRRP_BENCH_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        }),
    }
}

fn wrk_present() -> bool {
    if std::path::Path::new(WRK).exists() {
        return true;
    }
    assert!(
        !vrrp_tests::prereq::is_ci(),
        "CI is set and wrk is missing (apt-get install -y wrk)"
    );
    println!("skipped: {WRK} not found (apt-get install -y wrk)");
    false
}

#[test]
#[ignore = "benchmark: bench/run.sh P10 (or --ignored), 10 minutes"]
fn bench_soak() {
    if !wrk_present() {
        return;
    }
    let Some(r) = soak("soak", &spec(600, 6)) else {
        return;
    };
    measure_all("soak", &r);
    write_fragment("P10", &markdown(&r));
    assert!(r.requests > 0, "wrk completed no request: {}", r.wrk_text);
}

/// 60 s: a pause of the master at 20 s, a restart of a random node at 40 s.
#[test]
fn bench_smoke_soak() {
    if !wrk_present() {
        return;
    }
    let mut s = spec(60, 2);
    s.secs = 60;
    let Some(r) = soak("soak_smoke", &s) else {
        return;
    };
    measure_all("soak_smoke", &r);
    let md = markdown(&r);
    println!("{md}");
    assert!(r.requests > 0, "wrk completed no request: {}", r.wrk_text);
    let kinds: Vec<FaultKind> = r.faults.iter().map(|f| f.kind).collect();
    assert!(
        matches!(kinds[..], [FaultKind::PauseMaster, FaultKind::Restart(_)]),
        "{kinds:?}"
    );
    assert!(md.contains("| failed requests |"), "{md}");
}
