//! BENCHMARKS.md P9: clients that connect straight to the VIP (no proxy in front) while the
//! Active is frozen for a second, as `docker pause` freezes a container.
//!
//! One lab per speaker (r1 priority 200 with nginx "Primary", r2 priority 100 with nginx
//! "Secondary", preempt on), all labs up at once; the pauses go round the labs in turn, so every
//! speaker sees the same machine load. Each pause has its own prober run: a new connection to the
//! VIP every 5 ms, each with a 1 s timeout, from a little before the pause until the pair has
//! settled after the resume. The prober's run ends by itself, so every request it started is
//! recorded.

use std::fmt::Write as _;
use std::time::Duration;

use crate::bench::{append_measure, attempt, mmm};
use crate::lab::{Lab, ProcId};
use crate::nginx::Nginx;
use crate::probe::{Probe, Probes, client_get};
use crate::router::{Router, Speaker, VrrpParams, vrrpd_config_toml};
use crate::{VIP, wait_until};

/// A speaker and, for vrrpd, the data path it is told to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// keepalived (VIP on r1's own MAC, gratuitous ARP on takeover).
    Keepalived,
    /// vrrpd with `datapath = "relay"`: VIP traffic through the user-space relay.
    VrrpdRelay,
    /// vrrpd with its default data path (the kernel fast path where nftables is available).
    Vrrpd,
}

impl Variant {
    /// The row label.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Keepalived => "keepalived",
            Variant::VrrpdRelay => "vrrpd, datapath = \"relay\"",
            Variant::Vrrpd => "vrrpd, default datapath",
        }
    }

    /// A label without spaces or quotes, for lab and MEASURE names.
    pub fn slug(self) -> &'static str {
        match self {
            Variant::Keepalived => "keepalived",
            Variant::VrrpdRelay => "vrrpd-relay",
            Variant::Vrrpd => "vrrpd-default",
        }
    }

    fn speaker(self) -> Speaker {
        match self {
            Variant::Keepalived => Speaker::Keepalived,
            Variant::VrrpdRelay | Variant::Vrrpd => Speaker::Vrrpd,
        }
    }

    fn start(self, lab: &Lab, node: &str, params: &VrrpParams) -> Router {
        match self {
            Variant::VrrpdRelay => {
                // A top-level key: it must come before the first table.
                let toml = format!("datapath = \"relay\"\n{}", vrrpd_config_toml(params));
                Router::vrrpd(lab, node, params, &toml)
            }
            _ => Router::start(lab, node, self.speaker(), params),
        }
    }
}

/// What [`pause_clients`] runs.
#[derive(Debug, Clone)]
pub struct PauseClientsRun {
    /// One lab each; the pauses go round them in this order.
    pub variants: Vec<Variant>,
    /// Pauses per variant.
    pub pauses: usize,
    /// How long r1 stays frozen.
    pub pause: Duration,
    /// From the resume to the end of the prober run (the pair settles meanwhile).
    pub settle: Duration,
    /// Advertisement interval of both routers.
    pub interval: Duration,
    /// A new connection every this often.
    pub probe_interval: Duration,
    /// Each connection's timeout.
    pub probe_timeout: Duration,
}

impl PauseClientsRun {
    /// The BENCHMARKS.md P9 set-up with `pauses` pauses: keepalived, the relay, the default;
    /// 1 s pauses, 3 s to settle, I = 100 ms, a connection every 5 ms with a 1 s timeout.
    pub fn p9(pauses: usize) -> PauseClientsRun {
        PauseClientsRun {
            variants: vec![Variant::Keepalived, Variant::VrrpdRelay, Variant::Vrrpd],
            pauses,
            pause: Duration::from_secs(1),
            settle: Duration::from_secs(3),
            interval: Duration::from_millis(100),
            probe_interval: Duration::from_millis(5),
            probe_timeout: Duration::from_secs(1),
        }
    }
}

/// The client's view of one pause.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PauseOutcome {
    /// Requests started in the prober run.
    pub requests: usize,
    /// Requests that failed, whatever the reason.
    pub failed: usize,
    /// Failures on an RST: connection reset (read or write) or refused (connect).
    pub resets: usize,
    /// Failures by timeout (connect, read or the overall deadline).
    pub timeouts: usize,
    /// Successful answers from r2 ("Secondary"): the Backup carried the VIP.
    pub secondary: usize,
    /// Failures that ended after the resume (the take-back), the rest ended during the pause.
    pub failed_after_resume: usize,
    /// Resets that arrived after the resume.
    pub resets_after_resume: usize,
}

/// Whether a prober error means the client got an RST: `read:Connection_reset_by_peer_(os
/// error 104)`, `connect:Connection_refused_(os_error_111)`, `write:Broken_pipe` (a reset that
/// arrived before the request was written).
pub fn is_reset(err: &str) -> bool {
    let e = err.to_ascii_lowercase();
    e.contains("reset") || e.contains("refused") || e.contains("broken_pipe")
}

/// Whether a prober error is a timeout: the overall deadline (`timeout`), `connect:...timed_out`
/// or a read that would block past its deadline (`Resource_temporarily_unavailable`).
pub fn is_timeout(err: &str) -> bool {
    let e = err.to_ascii_lowercase();
    e == "timeout" || e.contains("timed_out") || e.contains("temporarily_unavailable")
}

impl PauseOutcome {
    /// Counts the records of one prober run around a resume at `resumed` (Unix seconds).
    pub fn of(probes: &[Probe], resumed: f64) -> PauseOutcome {
        let mut o = PauseOutcome {
            requests: probes.len(),
            ..PauseOutcome::default()
        };
        for p in probes {
            match &p.result {
                Ok(body) if body == "Secondary" => o.secondary += 1,
                Ok(_) => {}
                Err(e) => {
                    let after = p.end >= resumed;
                    o.failed += 1;
                    o.failed_after_resume += usize::from(after);
                    if is_reset(e) {
                        o.resets += 1;
                        o.resets_after_resume += usize::from(after);
                    } else if is_timeout(e) {
                        o.timeouts += 1;
                    }
                }
            }
        }
        o
    }
}

/// Results of [`pause_clients`].
#[derive(Debug, Default)]
pub struct PauseClientsResults {
    /// Per variant, in run order: the data path vrrpd reported (`datapath.mode` of its status),
    /// and one outcome per pause.
    pub rows: Vec<(Variant, String, Vec<PauseOutcome>)>,
    /// Pauses that could not be measured (the scenario's own checks failed), with the reason.
    pub failures: Vec<(Variant, String)>,
}

/// `datapath.mode` of the vrrpd in `node` (empty if it does not answer).
pub fn vrrpd_datapath_mode(lab: &Lab, node: &str) -> String {
    crate::router::try_status(lab, node)
        .and_then(|v| v["datapath"]["mode"].as_str().map(str::to_string))
        .unwrap_or_default()
}

struct Seat {
    variant: Variant,
    lab: Lab,
    _nginx: [Nginx; 2],
    routers: [Router; 2],
    mode: String,
    outcomes: Vec<PauseOutcome>,
    /// With `$VRRP_BENCH_CAPTURE` set: tcpdump on the bridge and every port, for a post-mortem
    /// (with `VRRP_KEEP_ARTIFACTS=1`; the probers' logs stay there too, one per pause).
    _capture: Option<crate::capture::Capture>,
}

impl Seat {
    fn alive(&self) {
        for r in &self.routers {
            assert!(
                r.is_running(&self.lab),
                "{} in {} exited; see {}",
                r.speaker.name(),
                r.node,
                self.lab.artifacts.display()
            );
        }
    }
}

fn start_seat(test: &str, prober: &str, v: Variant, spec: &PauseClientsRun) -> Seat {
    let lab = Lab::new(&format!("{test}-{}", v.slug()), 2);
    let capture =
        std::env::var_os("VRRP_BENCH_CAPTURE").map(|_| crate::capture::Capture::start(&lab));
    let nginx = [
        Nginx::start(&lab, "r1", "Primary"),
        Nginx::start(&lab, "r2", "Secondary"),
    ];
    let p = VrrpParams::v3(10, 200, spec.interval);
    let routers = [
        v.start(&lab, "r1", &p),
        v.start(&lab, "r2", &p.with_priority(100)),
    ];
    let mut seat = Seat {
        variant: v,
        lab,
        _nginx: nginx,
        routers,
        mode: "n/a".to_string(),
        outcomes: Vec::new(),
        _capture: capture,
    };
    wait_until(Duration::from_secs(30), || {
        seat.alive();
        client_get(&seat.lab, prober, VIP, Duration::from_millis(300)).as_deref() == Ok("Primary")
    })
    .expect("client gets Primary through the VIP");
    if v != Variant::Keepalived {
        seat.mode = vrrpd_datapath_mode(&seat.lab, "r1");
    }
    seat
}

/// One prober run around one pause of r1; returns its records and the time of the resume.
fn one_pause(seat: &Seat, prober: &str, spec: &PauseClientsRun, k: usize) -> (Vec<Probe>, f64) {
    let lab = &seat.lab;
    // The run: up to 1 s to get going, the pause, the settling time.
    let lead = Duration::from_secs(1);
    let duration = lead + spec.pause + spec.settle;
    let ms = |d: Duration| d.as_millis().to_string();
    let (i, t, d) = (
        ms(spec.probe_interval),
        ms(spec.probe_timeout),
        ms(duration),
    );
    let vip = VIP.to_string();
    let id: ProcId = lab.spawn(
        "client",
        &format!("prober-{k}"),
        prober,
        &[
            "--interval-ms",
            &i,
            "--timeout-ms",
            &t,
            "--duration-ms",
            &d,
            &vip,
        ],
    );
    let since = crate::unix_now();
    wait_until(lead, || {
        Probes::parse(&lab.log(id)).count_body_since("Primary", since) >= 5
    })
    .expect("prober gets Primary before the pause");
    seat.alive();
    lab.pause("r1");
    std::thread::sleep(spec.pause);
    let resumed = lab.resume("r1");
    // The run ends by itself; every request it started is then recorded.
    wait_until(duration + spec.probe_timeout * 2, || !lab.is_running(id))
        .expect("prober finishes its run");
    seat.alive();
    (Probes::parse(&lab.log(id)).0, resumed)
}

/// BENCHMARKS.md P9: every variant of `spec` in its own lab, `spec.pauses` pauses each, going
/// round the labs. Figures are not asserted on; a pause whose set-up fails is reported.
pub fn pause_clients(test: &str, prober: &str, spec: &PauseClientsRun) -> PauseClientsResults {
    let mut res = PauseClientsResults::default();
    let mut seats: Vec<Seat> = Vec::new();
    for &v in &spec.variants {
        match attempt(|| start_seat(test, prober, v, spec)) {
            Ok(s) => seats.push(s),
            Err(e) => {
                println!("BENCHFAIL {test}-{}: {e}", v.slug());
                res.failures.push((v, e));
            }
        }
    }
    for k in 0..spec.pauses {
        for seat in seats.iter_mut() {
            match attempt(|| one_pause(seat, prober, spec, k)) {
                Ok((probes, resumed)) => {
                    let o = PauseOutcome::of(&probes, resumed);
                    let errs: std::collections::BTreeMap<&str, usize> = probes
                        .iter()
                        .filter_map(|p| p.result.as_ref().err())
                        .fold(Default::default(), |mut m, e| {
                            *m.entry(e.as_str()).or_default() += 1;
                            m
                        });
                    let line = format!(
                        "MEASURE pause-clients-{} pause={k} requests={} failed={} resets={} \
                         timeouts={} secondary={} failed_after_resume={} \
                         resets_after_resume={} errors={errs:?}",
                        seat.variant.slug(),
                        o.requests,
                        o.failed,
                        o.resets,
                        o.timeouts,
                        o.secondary,
                        o.failed_after_resume,
                        o.resets_after_resume
                    );
                    println!("{line}");
                    append_measure(&line);
                    seat.outcomes.push(o);
                }
                Err(e) => {
                    println!("BENCHFAIL {test}-{} pause {k}: {e}", seat.variant.slug());
                    res.failures.push((seat.variant, e));
                }
            }
        }
    }
    for seat in seats {
        res.rows.push((seat.variant, seat.mode, seat.outcomes));
    }
    res
}

impl PauseClientsResults {
    /// The BENCHMARKS.md P9 fragment.
    pub fn markdown(&self, spec: &PauseClientsRun) -> String {
        let mut md = format!(
            "Each speaker in its own lab (r1 priority 200 with nginx \"Primary\", r2 priority 100 \
             with nginx \"Secondary\", I = {} ms, preempt on); all labs up at once, the pauses \
             going round them in turn. Per pause, the client's prober opens a new connection to the \
             VIP every {} ms (timeout {} ms) from just before the pause until at least {} s after the \
             resume; r1 (every process of its namespace) is frozen for {} ms. A reset is a failure on an RST \
             (connection reset, refused, broken pipe); a timeout is a request that got no answer in \
             time; \"after the resume\" counts the failures that ended after r1 was resumed (the take-back). \
             Figures are min / **median** / max over the pauses.\n\n\
             | speaker | data path (status) | pauses | requests per pause | failed per pause | \
             of them after the resume | resets per pause | of them after the resume | timeouts per \
             pause | answered by r2 per pause | goal: fewer failed than keepalived and the relay |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
            spec.interval.as_millis(),
            spec.probe_interval.as_millis(),
            spec.probe_timeout.as_millis(),
            spec.settle.as_secs_f64(),
            spec.pause.as_millis(),
        );
        let failed_median = |v: Variant| {
            self.rows
                .iter()
                .find(|r| r.0 == v)
                .filter(|r| !r.2.is_empty())
                .map(|r| crate::bench::median(&fig(&r.2, |o| o.failed)))
        };
        for (v, mode, outs) in &self.rows {
            let verdict = match v {
                Variant::Keepalived => "anchor".to_string(),
                Variant::VrrpdRelay => "baseline".to_string(),
                Variant::Vrrpd => {
                    let me = failed_median(*v);
                    let vs = |other: Variant| match (me, failed_median(other)) {
                        (Some(m), Some(o)) if m < o => "met",
                        (Some(_), Some(_)) => "**not met**",
                        _ => "no figure",
                    };
                    format!(
                        "vs keepalived: {}; vs relay: {}",
                        vs(Variant::Keepalived),
                        vs(Variant::VrrpdRelay)
                    )
                }
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {verdict} |",
                v.name(),
                if mode.is_empty() { "?" } else { mode },
                outs.len(),
                mmm(&fig(outs, |o| o.requests), 0),
                mmm(&fig(outs, |o| o.failed), 0),
                mmm(&fig(outs, |o| o.failed_after_resume), 0),
                mmm(&fig(outs, |o| o.resets), 0),
                mmm(&fig(outs, |o| o.resets_after_resume), 0),
                mmm(&fig(outs, |o| o.timeouts), 0),
                mmm(&fig(outs, |o| o.secondary), 0),
            );
        }
        if !self.failures.is_empty() {
            md += "\nPauses that could not be measured (not counted above):\n";
            for (v, e) in &self.failures {
                let _ = writeln!(md, "- {}: {}", v.slug(), e.lines().next().unwrap_or(""));
            }
        }
        md
    }
}

fn fig(outs: &[PauseOutcome], f: impl Fn(&PauseOutcome) -> usize) -> Vec<f64> {
    outs.iter().map(|o| f(o) as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds() {
        // What the prober prints (spaces turned into underscores).
        assert!(is_reset("read:Connection_reset_by_peer_(os_error_104)"));
        assert!(is_reset("connect:Connection_refused_(os_error_111)"));
        assert!(is_reset("write:Broken_pipe_(os_error_32)"));
        assert!(is_timeout("timeout"));
        assert!(is_timeout("connect:connection_timed_out"));
        assert!(is_timeout(
            "read:Resource_temporarily_unavailable_(os_error_11)"
        ));
        assert!(!is_reset("timeout") && !is_timeout("connect:No_route_to_host_(os_error_113)"));
    }

    #[test]
    fn outcome_counts() {
        let p = Probes::parse(
            "1.0 1.1 ok Primary\n1.1 2.1 err timeout\n1.2 1.3 err read:Connection_reset_by_peer\n\
             1.3 1.4 ok Secondary\n1.4 1.5 err connect:No_route_to_host\n",
        );
        let o = PauseOutcome::of(&p.0, 1.35);
        assert_eq!(
            o,
            PauseOutcome {
                requests: 5,
                failed: 3,
                resets: 1,
                timeouts: 1,
                secondary: 1,
                failed_after_resume: 2,
                resets_after_resume: 0,
            }
        );
    }
}
