//! The benchmarks BENCHMARKS.md P1-P5 as library code, so that the full benchmarks
//! (`tests/tests/bench_*.rs`, ignored, run by `bench/run.sh`) and their smoke-size versions
//! (`tests/tests/bench_smoke.rs`, in the normal test run) share one implementation.
//!
//! - [`failover`]: P1-P3, `scenario::pause_resume` repeated, speakers interleaved run by run.
//! - [`datapath`]: P4, wrk from the client against the VIP and against the Active's own address.
//! - [`footprint`]: P5, RSS and CPU of vrrpd and keepalived at I = 10 ms, side by side.
//!
//! Each returns its figures and renders a Markdown fragment; [`write_fragment`] puts it where
//! `bench/run.sh` picks it up (`$VRRP_BENCH_MD_DIR/<id>.md`). Figures are never asserted on: a
//! benchmark fails only if it produced no figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::lab::{Lab, ProcId};
use crate::nginx::{NGINX, listens_on_80};
use crate::probe::client_get;
use crate::router::{Router, Speaker, VrrpParams};
use crate::scenario::{Failover, Measure, min_median_max, pause_resume};
use crate::{VIP, wait_until};

// ---------------------------------------------------------------------------------------------
// Small tools: /proc, statistics, output.

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of utime / stime.
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of `pid` in clock ticks (fields 14 and 15 of `/proc/PID/stat`).
pub fn cpu_ticks(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&s)
}

/// utime + stime from the text of `/proc/PID/stat` (the command may contain spaces and parens).
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the command: state (field 3) ... utime is field 14, stime field 15.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Memory of one process, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mem {
    /// VmRSS: resident now.
    pub rss_kb: u64,
    /// VmHWM: the peak resident size.
    pub hwm_kb: u64,
    /// Pss from `/proc/PID/smaps_rollup` (shared pages divided among their users).
    pub pss_kb: u64,
}

impl std::ops::Add for Mem {
    type Output = Mem;
    fn add(self, o: Mem) -> Mem {
        Mem {
            rss_kb: self.rss_kb + o.rss_kb,
            hwm_kb: self.hwm_kb + o.hwm_kb,
            pss_kb: self.pss_kb + o.pss_kb,
        }
    }
}

fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// VmRSS / VmHWM / Pss of `pid`.
pub fn mem(pid: i32) -> Option<Mem> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Some(Mem {
        rss_kb: kb_field(&status, "VmRSS:")?,
        hwm_kb: kb_field(&status, "VmHWM:")?,
        pss_kb: kb_field(&rollup, "Pss:").unwrap_or(0),
    })
}

/// The pids of the speaker in `router`'s seat: the process we started and, for keepalived, every
/// `keepalived` process of the namespace (the parent and its VRRP child).
pub fn speaker_pids(lab: &Lab, router: &Router) -> Vec<i32> {
    let mut pids: Vec<i32> = router.procs().iter().map(|&p| lab.pid(p)).collect();
    if router.speaker == Speaker::Keepalived {
        for pid in lab.pids(&router.node) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "keepalived" && !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids
}

/// Sum of [`cpu_ticks`] over `pids` (a process that is gone counts 0).
pub fn ticks_of(pids: &[i32]) -> u64 {
    pids.iter().filter_map(|&p| cpu_ticks(p)).sum()
}

/// Sum of [`mem`] over `pids`.
pub fn mem_of(pids: &[i32]) -> Mem {
    pids.iter()
        .filter_map(|&p| mem(p))
        .fold(Mem::default(), |a, b| a + b)
}

/// `min / **median** / max` with `prec` decimals.
pub fn mmm(v: &[f64], prec: usize) -> String {
    if v.is_empty() {
        return "n/a".to_string();
    }
    let (lo, med, hi) = min_median_max(v.to_vec());
    format!("{lo:.prec$} / **{med:.prec$}** / {hi:.prec$}")
}

/// The median of `v` (NaN if empty).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    min_median_max(v.to_vec()).1
}

/// Repetitions: `$VRRP_BENCH_RUNS`, else `default`.
pub fn runs(default: usize) -> usize {
    env_parse("VRRP_BENCH_RUNS").unwrap_or(default).max(1)
}

/// A number from the environment.
pub fn env_parse<T: std::str::FromStr>(key: &str) -> Option<T> {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok())
}

/// Appends a line to `$VRRP_MEASURE_FILE` if set.
pub fn append_measure(line: &str) {
    if let Some(f) = std::env::var_os("VRRP_MEASURE_FILE")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Writes the Markdown fragment of benchmark `id` (BENCHMARKS.md `P1`...) to
/// `$VRRP_BENCH_MD_DIR/<id>.md` if that is set (bench/run.sh splices it into BENCHMARKS.md), and
/// prints it.
pub fn write_fragment(id: &str, md: &str) {
    println!("----- {id} -----\n{md}");
    if let Some(dir) = std::env::var_os("VRRP_BENCH_MD_DIR") {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join(format!("{id}.md"));
        std::fs::write(&p, md).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }
}

/// Runs `f`, turning a panic into `Err(message)` (the lab inside is dropped, so cleaned up).
pub fn attempt<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md P1-P3: failover.

/// One configuration of the failover benchmark.
#[derive(Debug, Clone)]
pub struct FailoverRun {
    /// Speakers, run in this order within each repetition (interleaved).
    pub speakers: Vec<Speaker>,
    /// Advertisement intervals.
    pub intervals: Vec<Duration>,
    /// Repetitions per (speaker, interval).
    pub runs: usize,
}

/// The figures of [`failover`]: per (interval, speaker), the runs that completed, and the
/// failures (panics of the scenario: a silence outside the sanity bounds, no takeover...).
#[derive(Debug, Default)]
pub struct FailoverResults {
    /// (interval ms, speaker name) -> measures.
    pub measures: BTreeMap<(u64, &'static str), Vec<Measure>>,
    /// (interval ms, speaker name) -> failure messages.
    pub failures: BTreeMap<(u64, &'static str), Vec<String>>,
}

/// BENCHMARKS.md P1-P3: `pause_resume` at each interval, `runs` times, both speakers in turn within
/// each run so that they see the same machine load. No assertion on the figures (flaps are
/// reported).
pub fn failover(test: &str, prober: &str, spec: &FailoverRun) -> FailoverResults {
    let mut res = FailoverResults::default();
    for &interval in &spec.intervals {
        let ms = interval.as_millis() as u64;
        for i in 0..spec.runs {
            for &s in &spec.speakers {
                let mut f = Failover::new(s, 3, interval);
                f.strict_convergence = false;
                let name = format!("{test}-{}-{ms}ms-{i}", s.name());
                let r = attempt(|| {
                    let lab = Lab::new(&name, 2);
                    pause_resume(&lab, prober, &f)
                });
                match r {
                    Ok(m) => res.measures.entry((ms, s.name())).or_default().push(m),
                    Err(e) => {
                        println!("BENCHFAIL {name}: {e}");
                        append_measure(&format!("BENCHFAIL {name}: {}", e.replace('\n', " ")));
                        res.failures.entry((ms, s.name())).or_default().push(e);
                    }
                }
            }
        }
    }
    res
}

/// Adverts a running Active sends anyway in the 50 ms after the resume at interval `ms`.
pub fn periodic_in_50ms(ms: u64) -> usize {
    (50 / ms.max(1)) as usize
}

impl FailoverResults {
    fn intervals(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .measures
            .keys()
            .chain(self.failures.keys())
            .map(|k| k.0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn fig(&self, ms: u64, speaker: &str, f: impl Fn(&Measure) -> f64) -> Vec<f64> {
        self.measures
            .get(&(ms, speaker_static(speaker)))
            .map(|m| m.iter().map(f).collect())
            .unwrap_or_default()
    }

    fn runs_note(&self, ms: u64, speaker: &str) -> String {
        let k = (ms, speaker_static(speaker));
        let ok = self.measures.get(&k).map_or(0, Vec::len);
        let failed = self.failures.get(&k).map_or(0, Vec::len);
        if failed == 0 {
            format!("{ok}")
        } else {
            format!("{ok} (+{failed} failed)")
        }
    }

    /// The BENCHMARKS.md P1, P2 and P3 fragments.
    pub fn markdown(&self) -> [(&'static str, String); 3] {
        let (v, k) = ("vrrpd", "keepalived");
        let mut p1 = String::from(
            "| I | limit 3I+skew (ms) | runs vrrpd / keepalived | vrrpd silence (ms) | keepalived silence (ms) | vrrpd − limit, median (ms) | keepalived − limit, median (ms) | ratio vrrpd / keepalived (medians) | goal: vrrpd ≤ limit + 1 ms |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        let mut p2 = String::from(
            "| I | vrrpd outage − silence (ms) | keepalived outage − silence (ms) | vrrpd outage (ms) | keepalived outage (ms) | vrrpd client lag (ms) | goal: vrrpd ≤ 15 ms |\n\
             |---|---|---|---|---|---|---|\n",
        );
        let mut p3 = String::from(
            "| I | adverts due anyway in 50 ms | vrrpd VRRP+ARP frames | keepalived VRRP+ARP frames | vrrpd all frames (incl. nginx TCP) | keepalived all frames | vrrpd flaps / keepalived flaps (sum) | goal: vrrpd ≤ 2 beyond the due adverts |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for ms in self.intervals() {
            let i = if ms >= 1000 {
                format!("{} s", ms / 1000)
            } else {
                format!("{ms} ms")
            };
            let limit = self
                .measures
                .iter()
                .find(|(key, _)| key.0 == ms)
                .and_then(|(_, m)| m.first())
                .map_or(f64::NAN, |m| m.limit_ms);
            let sv = self.fig(ms, v, |m| m.silence_ms);
            let sk = self.fig(ms, k, |m| m.silence_ms);
            let (mv, mk) = (median(&sv), median(&sk));
            let verdict = |ok: bool, have: bool| {
                if !have {
                    "no figure"
                } else if ok {
                    "met"
                } else {
                    "**not met**"
                }
            };
            let _ = writeln!(
                p1,
                "| {i} | {limit:.3} | {} / {} | {} | {} | {:+.3} | {:+.3} | {:.3} | {} |",
                self.runs_note(ms, v),
                self.runs_note(ms, k),
                mmm(&sv, 3),
                mmm(&sk, 3),
                mv - limit,
                mk - limit,
                mv / mk,
                verdict(mv <= limit + 1.0, !sv.is_empty())
            );
            let ov = self.fig(ms, v, |m| m.outage_ms - m.silence_ms);
            let ok_ = self.fig(ms, k, |m| m.outage_ms - m.silence_ms);
            let _ = writeln!(
                p2,
                "| {i} | {} | {} | {} | {} | {} | {} |",
                mmm(&ov, 1),
                mmm(&ok_, 1),
                mmm(&self.fig(ms, v, |m| m.outage_ms), 1),
                mmm(&self.fig(ms, k, |m| m.outage_ms), 1),
                mmm(&self.fig(ms, v, |m| m.client_lag_ms), 1),
                verdict(median(&ov) <= 15.0, !ov.is_empty())
            );
            let due = periodic_in_50ms(ms);
            let fv = self.fig(ms, v, |m| m.resume_frames as f64);
            let flaps = |s: &str| self.fig(ms, s, |m| m.flaps as f64).iter().sum::<f64>();
            let _ = writeln!(
                p3,
                "| {i} | {due} | {} | {} | {} | {} | {:.0} / {:.0} | {} |",
                mmm(&fv, 0),
                mmm(&self.fig(ms, k, |m| m.resume_frames as f64), 0),
                mmm(&self.fig(ms, v, |m| m.resume_all_frames as f64), 0),
                mmm(&self.fig(ms, k, |m| m.resume_all_frames as f64), 0),
                flaps(v),
                flaps(k),
                verdict(fv.iter().all(|&f| f <= (due + 2) as f64), !fv.is_empty())
            );
        }
        let fails: Vec<String> = self
            .failures
            .iter()
            .flat_map(|((ms, s), e)| {
                e.iter()
                    .map(move |e| format!("- {s} at {ms} ms: {}", e.lines().next().unwrap_or("")))
            })
            .collect();
        if !fails.is_empty() {
            p1 += "\nRuns that failed a sanity check of the scenario (not counted above):\n";
            p1 += &fails.join("\n");
            p1.push('\n');
        }
        [("P1", p1), ("P2", p2), ("P3", p3)]
    }
}

fn speaker_static(s: &str) -> &'static str {
    match s {
        "vrrpd" => "vrrpd",
        "frr" => "frr",
        _ => "keepalived",
    }
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md P4: data path.

/// Starts nginx with keep-alive ([`crate::nginx::config_with`]) in `node`; waits until it listens on port 80.
pub fn start_keepalive_nginx(lab: &Lab, node: &str, body: &str) -> ProcId {
    let prefix = lab.tmp_dir(&format!("nginx-bench-{node}"));
    let conf = lab.write_artifact(
        &format!("nginx-bench-{node}.conf"),
        &crate::nginx::config_with(&prefix, body, crate::nginx::Connections::KeepAlive),
    );
    let prefix_s = prefix.display().to_string();
    let err_log = format!("{prefix_s}/startup-error.log");
    let conf = conf.display().to_string();
    let id = lab.spawn(
        node,
        &format!("nginx-bench-{node}"),
        NGINX,
        &["-e", &err_log, "-p", &prefix_s, "-c", &conf],
    );
    wait_until(Duration::from_secs(10), || {
        assert!(
            lab.is_running(id),
            "nginx in {node} exited: {}",
            lab.log(id)
        );
        listens_on_80(lab, node)
    })
    .unwrap_or_else(|e| panic!("nginx in {node} not listening: {e}"));
    id
}

/// Path of the wrk binary (Debian package `wrk`).
pub const WRK: &str = "/usr/bin/wrk";

/// One wrk run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkResult {
    /// Completed requests.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Socket errors (connect + read + write + timeout) and non-2xx answers.
    pub errors: u64,
}

/// A wrk latency (`12.34ms`, `1.2s`) in milliseconds.
pub fn latency_ms(s: &str) -> Option<f64> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let v: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => return None,
    })
}

/// Parses wrk's output (run with `--latency`).
pub fn parse_wrk(out: &str) -> Option<WrkResult> {
    let mut r = WrkResult {
        requests: 0,
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        errors: 0,
    };
    for l in out.lines() {
        let t = l.trim();
        let w: Vec<&str> = t.split_whitespace().collect();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().ok()?;
        } else if w.len() >= 2 && w[1] == "requests" && w.get(2) == Some(&"in") {
            r.requests = w[0].parse().ok()?;
        } else if w.len() == 2 && w[0] == "50%" {
            r.p50_ms = latency_ms(w[1])?;
        } else if w.len() == 2 && w[0] == "99%" {
            r.p99_ms = latency_ms(w[1])?;
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            r.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            r.errors += v.trim().parse::<u64>().ok()?;
        }
    }
    (r.rps.is_finite() && r.p99_ms.is_finite()).then_some(r)
}

/// Runs wrk (one thread) in the client namespace against `http://ip/` with `conns` connections
/// for `secs` seconds; `close` adds `Connection: close` (a new connection per request).
pub fn wrk(lab: &Lab, ip: Ipv4Addr, conns: u32, secs: u32, close: bool) -> WrkResult {
    let (c, d, url) = (
        conns.to_string(),
        format!("{secs}s"),
        format!("http://{ip}/"),
    );
    let mut args = vec!["-t1", "-c", &c, "-d", &d, "--latency", "--timeout", "2s"];
    if close {
        args.extend(["-H", "Connection: close"]);
    }
    args.push(&url);
    let out = lab.exec("client", WRK, &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    parse_wrk(&text).unwrap_or_else(|| {
        panic!(
            "wrk {args:?}: {}\n{text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What [`datapath`] measures.
#[derive(Debug, Clone)]
pub struct DataPathRun {
    /// Speakers, one lab each, in this order.
    pub speakers: Vec<Speaker>,
    /// wrk connection counts.
    pub conns: Vec<u32>,
    /// Seconds per wrk run.
    pub secs: u32,
    /// Repetitions (each one: direct and VIP back to back, in alternating order).
    pub runs: usize,
}

/// One paired sample: the same wrk run against the Active's own address and against the VIP.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// Against the Active's own address.
    pub direct: WrkResult,
    /// Against the VIP.
    pub vip: WrkResult,
    /// CPU of the speaker (all its processes) during the VIP run, ms per 10k requests.
    pub cpu_ms_per_10k: f64,
    /// The same during the direct run (its idle cost plus whatever reaches it).
    pub cpu_ms_per_10k_direct: f64,
}

/// Results of [`datapath`]: (speaker, close, conns) -> pairs.
pub type DataPathResults = BTreeMap<(&'static str, bool, u32), Vec<Pair>>;

/// BENCHMARKS.md P4: for each speaker, a lab with one router (r1, Active, nginx with keep-alive)
/// and the client; wrk against r1's address and against the VIP, back to back, for every
/// concurrency level, with keep-alive and with `Connection: close`; the speaker's CPU from /proc.
pub fn datapath(test: &str, prober: &str, spec: &DataPathRun) -> DataPathResults {
    let mut res = DataPathResults::new();
    for &s in &spec.speakers {
        let lab = Lab::new(&format!("{test}-{}", s.name()), 1);
        start_keepalive_nginx(&lab, "r1", "Primary");
        let params = VrrpParams::v3(10, 200, Duration::from_millis(100));
        let router = Router::start(&lab, "r1", s, &params);
        let r1 = lab.node("r1").ip;
        // Many short connections: let the client reuse ports in TIME_WAIT.
        lab.exec_ok(
            "client",
            "sysctl",
            &[
                "-qw",
                "net.ipv4.tcp_tw_reuse=1",
                "net.ipv4.ip_local_port_range=1024 65000",
            ],
        );
        wait_until(Duration::from_secs(30), || {
            assert!(router.is_running(&lab), "{} exited", s.name());
            curl_like(&lab, prober, VIP)
        })
        .expect("client reaches nginx through the VIP");
        let pids = speaker_pids(&lab, &router);
        // Warm-up: ARP caches, nginx, page cache.
        wrk(&lab, VIP, 4, 1, false);
        wrk(&lab, r1, 4, 1, false);
        let hz = clk_tck();
        let measure = |ip: Ipv4Addr, c: u32, close: bool| {
            let t0 = ticks_of(&pids);
            let w = wrk(&lab, ip, c, spec.secs, close);
            let dt = ticks_of(&pids).saturating_sub(t0) as f64 / hz * 1000.0;
            (w, dt / (w.requests.max(1) as f64) * 10_000.0)
        };
        for i in 0..spec.runs {
            for close in [false, true] {
                for &c in &spec.conns {
                    let (direct, vip, cd, cv);
                    if i % 2 == 0 {
                        (direct, cd) = measure(r1, c, close);
                        (vip, cv) = measure(VIP, c, close);
                    } else {
                        (vip, cv) = measure(VIP, c, close);
                        (direct, cd) = measure(r1, c, close);
                    }
                    let p = Pair {
                        direct,
                        vip,
                        cpu_ms_per_10k: cv,
                        cpu_ms_per_10k_direct: cd,
                    };
                    append_measure(&format!(
                        "MEASURE datapath-{}-{}-c{c} run={i} direct_rps={:.0} vip_rps={:.0} \
                         rps_ratio={:.3} direct_p99_ms={:.3} vip_p99_ms={:.3} p99_ratio={:.3} \
                         cpu_ms_per_10k={:.2} cpu_ms_per_10k_direct={:.2} errors={}/{}",
                        s.name(),
                        if close { "close" } else { "keepalive" },
                        direct.rps,
                        vip.rps,
                        vip.rps / direct.rps,
                        direct.p99_ms,
                        vip.p99_ms,
                        vip.p99_ms / direct.p99_ms,
                        cv,
                        cd,
                        direct.errors,
                        vip.errors
                    ));
                    res.entry((s.name(), close, c)).or_default().push(p);
                }
            }
        }
        assert!(
            router.is_running(&lab),
            "{} exited during the run",
            s.name()
        );
    }
    res
}

fn curl_like(lab: &Lab, prober: &str, ip: Ipv4Addr) -> bool {
    client_get(lab, prober, ip, Duration::from_millis(300)).as_deref() == Ok("Primary")
}

/// The BENCHMARKS.md P4 fragment.
pub fn datapath_markdown(res: &DataPathResults, secs: u32) -> String {
    let mut md = format!(
        "wrk -t1 for {secs} s per run from the client namespace; each row pairs a run against the VIP \
         with one against r1's own address (192.0.2.11), back to back, order alternating. Ratios are \
         medians of the per-pair ratios (VIP / direct); CPU is the speaker's utime+stime during the \
         VIP run (vrrpd: the daemon; keepalived: all its processes).\n\n\
         | speaker | connection | conns | runs | direct rps | VIP rps | rps ratio | direct p99 (ms) | VIP p99 (ms) | p99 ratio | CPU ms / 10k req (VIP) | errors | goal |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for (&(s, close, c), pairs) in res {
        let f = |g: fn(&Pair) -> f64| pairs.iter().map(g).collect::<Vec<f64>>();
        let ratio = f(|p| p.vip.rps / p.direct.rps);
        let goal = if close { 0.9 } else { 0.95 };
        let verdict = if s != "vrrpd" {
            "anchor".to_string()
        } else if median(&ratio) >= goal {
            format!("≥ {goal}: met")
        } else {
            format!("≥ {goal}: **not met**")
        };
        let errors: u64 = pairs.iter().map(|p| p.direct.errors + p.vip.errors).sum();
        let _ = writeln!(
            md,
            "| {s} | {} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} | {verdict} |",
            if close {
                "new per request"
            } else {
                "keep-alive"
            },
            pairs.len(),
            mmm(&f(|p| p.direct.rps), 0),
            mmm(&f(|p| p.vip.rps), 0),
            mmm(&ratio, 3),
            mmm(&f(|p| p.direct.p99_ms), 2),
            mmm(&f(|p| p.vip.p99_ms), 2),
            mmm(&f(|p| p.vip.p99_ms / p.direct.p99_ms), 2),
            mmm(&f(|p| p.cpu_ms_per_10k), 1),
        );
    }
    md
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md P5: footprint.

/// One speaker's footprint over one run.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// Processes counted.
    pub procs: usize,
    /// Sum over them at the end of the run.
    pub mem: Mem,
    /// CPU time over wall time, percent of one core.
    pub cpu_pct: f64,
}

/// One seat of [`footprint`]: the speaker in it, the speaker in the other seat of its lab, and
/// the seat (`r1` Active, `r2` Backup).
pub type Seat = (&'static str, &'static str, &'static str);

/// Results of [`footprint`]: seat -> runs.
pub type FootprintResults = BTreeMap<Seat, Vec<Footprint>>;

/// Who sits in a seat of [`footprint`]: a speaker, or a second build of vrrpd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    Speaker(Speaker),
    /// vrrpd from `$VRRPD_BIN_B` (another build), in labs that run beside the others, so that
    /// two builds are compared in the same minutes on the same machine.
    VrrpdB,
}

impl Contender {
    pub fn name(self) -> &'static str {
        match self {
            Contender::Speaker(s) => s.name(),
            Contender::VrrpdB => "vrrpd-B",
        }
    }

    fn start(self, lab: &Lab, node: &str, params: &VrrpParams) -> Router {
        match self {
            Contender::Speaker(s) => Router::start(lab, node, s, params),
            Contender::VrrpdB => {
                let bin = std::env::var_os("VRRPD_BIN_B").expect("VRRPD_BIN_B names the B build");
                let toml = crate::router::vrrpd_config_toml(params);
                Router::vrrpd_from(lab, node, params, &toml, std::path::Path::new(&bin))
            }
        }
    }
}

impl From<Speaker> for Contender {
    fn from(s: Speaker) -> Contender {
        Contender::Speaker(s)
    }
}

/// BENCHMARKS.md P5: every pair of `pairs` (r1's speaker, r2's speaker) in its own lab (r1
/// Active at priority 200, r2 Backup at 100, I = `interval`), all running at the same time; CPU
/// and memory of each seat over `secs`.
pub fn footprint(
    test: &str,
    prober: &str,
    pairs: &[(Contender, Contender)],
    interval: Duration,
    secs: f64,
    runs: usize,
) -> FootprintResults {
    let mut res = FootprintResults::new();
    for i in 0..runs {
        let labs: Vec<((Contender, Contender), Lab)> = pairs
            .iter()
            .map(|&(a, b)| {
                let name = format!("{test}-{}-{}-{i}", a.name(), b.name());
                ((a, b), Lab::new(&name, 2))
            })
            .collect();
        let mut seats = Vec::new();
        for ((a, b), lab) in &labs {
            start_keepalive_nginx(lab, "r1", "Primary");
            let p = VrrpParams::v3(10, 200, interval);
            let r1 = a.start(lab, "r1", &p);
            let r2 = b.start(lab, "r2", &p.with_priority(100));
            seats.push(((*a, *b), lab, r1, r2));
        }
        for ((a, b), lab, r1, r2) in &seats {
            wait_until(Duration::from_secs(30), || {
                assert!(
                    r1.is_running(lab) && r2.is_running(lab),
                    "{} / {} exited",
                    a.name(),
                    b.name()
                );
                curl_like(lab, prober, VIP)
            })
            .expect("client reaches r1 through the VIP");
        }
        // Let start-up costs (config parsing, interface set-up) fall out of the window.
        std::thread::sleep(Duration::from_secs(1));
        let pids: Vec<(Seat, Vec<i32>)> = seats
            .iter()
            .flat_map(|((a, b), lab, r1, r2)| {
                [
                    ((a.name(), b.name(), "r1"), speaker_pids(lab, r1)),
                    ((b.name(), a.name(), "r2"), speaker_pids(lab, r2)),
                ]
            })
            .collect();
        // Nanoseconds on the CPU, every thread: utime + stime count whole 10 ms ticks, too
        // coarse for the few milliseconds a second that a speaker costs.
        let t0: Vec<u64> = pids
            .iter()
            .map(|(_, p)| crate::bench_scale::cpu_ns_of(p))
            .collect();
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        let wall = start.elapsed().as_secs_f64();
        for (((s, peer, node), p), t0) in pids.iter().zip(t0) {
            let dt = crate::bench_scale::cpu_ns_of(p).saturating_sub(t0) as f64 / 1e9;
            let f = Footprint {
                procs: p.len(),
                mem: mem_of(p),
                cpu_pct: dt / wall * 100.0,
            };
            append_measure(&format!(
                "MEASURE footprint-{s}-{node} peer={peer} run={i} interval_ms={} secs={wall:.1} \
                 procs={} rss_kb={} hwm_kb={} pss_kb={} cpu_pct={:.3}",
                interval.as_millis(),
                f.procs,
                f.mem.rss_kb,
                f.mem.hwm_kb,
                f.mem.pss_kb,
                f.cpu_pct
            ));
            res.entry((*s, *peer, *node)).or_default().push(f);
        }
        for ((a, b), lab, r1, r2) in &seats {
            assert!(
                r1.is_running(lab) && r2.is_running(lab),
                "{} / {} exited during the run",
                a.name(),
                b.name()
            );
        }
    }
    res
}

/// The BENCHMARKS.md P5 fragment: one row per seat, vrrpd's compared with keepalived's in the
/// same seat of the keepalived pair.
pub fn footprint_markdown(res: &FootprintResults, interval: Duration, secs: f64) -> String {
    let mut md = format!(
        "The pairs run at the same time, each in its own lab (r1 Active, priority 200; r2 Backup, \
         priority 100), I = {} ms, {secs:.0} s window after start-up. The peer is the speaker in \
         the other seat: a sender's system time includes the receiving node's kernel path, which \
         runs inline in the sender's write on one machine (veth), so a pair of vrrpd also charges \
         vrrpd's Active for its Backup's bridge; the rows with a keepalived peer compare the \
         daemons alone. RSS figures are sums over the speaker's processes (keepalived: parent + \
         VRRP child); PSS divides shared pages among their users. CPU% is the time on the CPU of \
         all the speaker's threads (`/proc/PID/task/*/schedstat`, nanoseconds) over wall time, \
         percent of one core.\n\n\
         | speaker | seat | peer | procs | VmRSS (KiB) | VmHWM (KiB) | PSS (KiB) | CPU % | goal |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        interval.as_millis()
    );
    let cpu_of = |runs: &[Footprint]| median(&runs.iter().map(|r| r.cpu_pct).collect::<Vec<_>>());
    for (&(s, peer, node), runs) in res {
        let f = |g: fn(&Footprint) -> f64| runs.iter().map(g).collect::<Vec<f64>>();
        let cpu = cpu_of(runs);
        let verdict = if s.starts_with("vrrpd") {
            let rss_ok = median(&f(|r| r.mem.hwm_kb as f64)) < 4096.0;
            let ka = res
                .get(&("keepalived", "keepalived", node))
                .map(|k| cpu_of(k));
            format!(
                "RSS < 4 MB: {}; CPU < keepalived's: {}",
                if rss_ok { "met" } else { "**not met**" },
                match ka {
                    Some(k) if cpu < k => format!("met ({:.2}x)", cpu / k),
                    Some(k) => format!("**not met** ({:.2}x)", cpu / k),
                    None => "no anchor".to_string(),
                }
            )
        } else if peer == "keepalived" {
            "anchor".to_string()
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            md,
            "| {s} | {node} ({}) | {peer} | {} | {} | {} | {} | {} | {verdict} |",
            if node == "r1" { "Active" } else { "Backup" },
            runs[0].procs,
            mmm(&f(|r| r.mem.rss_kb as f64), 0),
            mmm(&f(|r| r.mem.hwm_kb as f64), 0),
            mmm(&f(|r| r.mem.pss_kb as f64), 0),
            mmm(&f(|r| r.cpu_pct), 3),
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks() {
        let s = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0 \
                 100 1000 200 18446744073709551615";
        assert_eq!(parse_stat_ticks(s), Some(22));
    }

    #[test]
    fn wrk_output() {
        let out = "Running 3s test @ http://192.0.2.1/\n  1 threads and 8 connections\n  \
            Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   412.31us  120.00us   \
            5.00ms   90.00%\n  Latency Distribution\n     50%  400.00us\n     75%  450.00us\n     \
            90%  500.00us\n     99%    1.20ms\n  58000 requests in 3.00s, 9.00MB read\n  \
            Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 4\n\
            Requests/sec:  19333.33\nTransfer/sec:      3.00MB\n";
        let r = parse_wrk(out).expect("parsed");
        assert_eq!(r.requests, 58000);
        assert!((r.rps - 19333.33).abs() < 1e-6);
        assert!((r.p50_ms - 0.4).abs() < 1e-9);
        assert!((r.p99_ms - 1.2).abs() < 1e-9);
        assert_eq!(r.errors, 7);
    }

    #[test]
    fn mmm_format() {
        assert_eq!(mmm(&[3.0, 1.0, 2.0], 1), "1.0 / **2.0** / 3.0");
        assert_eq!(mmm(&[], 1), "n/a");
    }
}
