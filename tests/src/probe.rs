//! The HTTP prober (binary `prober` of this crate) in the client namespace, and its analysis.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::lab::{Lab, ProcId};

/// Settings of a prober run.
#[derive(Debug, Clone)]
pub struct ProbeOpts {
    /// Start a request every this often.
    pub interval: Duration,
    /// Give up on a request after this long.
    pub timeout: Duration,
    /// Stop after this long at the latest.
    pub duration: Duration,
}

impl Default for ProbeOpts {
    fn default() -> Self {
        ProbeOpts {
            interval: Duration::from_millis(10),
            timeout: Duration::from_millis(200),
            duration: Duration::from_secs(120),
        }
    }
}

/// One request: start and end (Unix seconds) and the body or the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// When the request started.
    pub start: f64,
    /// When it completed or failed.
    pub end: f64,
    /// The body (`Primary` / `Secondary`) or the error.
    pub result: Result<String, String>,
}

/// One GET of `http://<ip>/` (IPv4 or IPv6) from the client namespace, with `timeout`.
pub fn client_get(
    lab: &Lab,
    prober: &str,
    ip: impl Into<IpAddr>,
    timeout: Duration,
) -> Result<String, String> {
    let ip = ip.into();
    let ms = timeout.as_millis().to_string();
    let out = lab.exec(
        "client",
        prober,
        &["--once", "--timeout-ms", &ms, &ip.to_string()],
    );
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A prober running in the client namespace.
pub struct Prober {
    proc: ProcId,
}

impl Prober {
    /// Starts the prober binary (`env!("CARGO_BIN_EXE_prober")` in a test) against `ip`.
    pub fn start(lab: &Lab, prober: &str, ip: impl Into<IpAddr>, opts: &ProbeOpts) -> Prober {
        Prober::start_as(lab, "prober", prober, ip, opts)
    }

    /// Like [`Prober::start`], recording into `<artifacts>/<label>.log`: several probers run at
    /// once under different labels.
    pub fn start_as(
        lab: &Lab,
        label: &str,
        prober: &str,
        ip: impl Into<IpAddr>,
        opts: &ProbeOpts,
    ) -> Prober {
        let ip = ip.into();
        let (i, t, d) = (
            opts.interval.as_millis().to_string(),
            opts.timeout.as_millis().to_string(),
            opts.duration.as_millis().to_string(),
        );
        let proc = lab.spawn(
            "client",
            label,
            prober,
            &[
                "--interval-ms",
                &i,
                "--timeout-ms",
                &t,
                "--duration-ms",
                &d,
                &ip.to_string(),
            ],
        );
        Prober { proc }
    }

    /// The records so far.
    pub fn records(&self, lab: &Lab) -> Probes {
        Probes::parse(&lab.log(self.proc))
    }

    /// Stops the prober (requests in flight are abandoned) and returns every record.
    pub fn stop(&self, lab: &Lab) -> Probes {
        lab.stop_with(self.proc, libc::SIGKILL, Duration::from_secs(1));
        self.records(lab)
    }
}

/// A prober's records, sorted by completion time.
#[derive(Debug, Clone, Default)]
pub struct Probes(pub Vec<Probe>);

/// The longest stretch without a successful completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// Last success before the gap (completion time).
    pub from: f64,
    /// First success after it (completion time).
    pub to: f64,
}

impl Gap {
    /// Length in milliseconds.
    pub fn ms(&self) -> f64 {
        (self.to - self.from) * 1000.0
    }
}

impl Probes {
    /// Parses the prober's output (lines that are not records are ignored).
    pub fn parse(text: &str) -> Probes {
        let mut v: Vec<Probe> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(4, ' ');
                let start = it.next()?.parse().ok()?;
                let end = it.next()?.parse().ok()?;
                let kind = it.next()?;
                let rest = it.next().unwrap_or("").to_string();
                let result = match kind {
                    "ok" => Ok(rest),
                    "err" => Err(rest),
                    _ => return None,
                };
                Some(Probe { start, end, result })
            })
            .collect();
        v.sort_by(|a, b| a.end.total_cmp(&b.end));
        Probes(v)
    }

    /// Successful completions `(end, body)`.
    pub fn successes(&self) -> impl Iterator<Item = (f64, &str)> {
        self.0
            .iter()
            .filter_map(|p| p.result.as_ref().ok().map(|b| (p.end, b.as_str())))
    }

    /// Number of successes with `body` that started at or after `t`.
    pub fn count_body_since(&self, body: &str, t: f64) -> usize {
        self.0
            .iter()
            .filter(|p| p.start >= t && p.result.as_deref() == Ok(body))
            .count()
    }

    /// The body of the latest successful completion.
    pub fn last_body(&self) -> Option<&str> {
        self.successes().last().map(|(_, b)| b)
    }

    /// Bodies of successes that started in `[from, to)`, counted.
    pub fn bodies(&self, from: f64, to: f64) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in &self.0 {
            if p.start >= from
                && p.start < to
                && let Ok(b) = &p.result
            {
                *m.entry(b.clone()).or_insert(0) += 1;
            }
        }
        m
    }

    /// Number of failed requests that started in `[from, to)`.
    pub fn errors(&self, from: f64, to: f64) -> usize {
        self.0
            .iter()
            .filter(|p| p.start >= from && p.start < to && p.result.is_err())
            .count()
    }

    /// The longest gap between consecutive successful completions among the gaps that end in
    /// `(from, to]` (so the gap that contains `from` counts from the last success before it, and a
    /// gap is attributed to the window in which it ends). None without such a gap.
    pub fn longest_gap(&self, from: f64, to: f64) -> Option<Gap> {
        let ends: Vec<f64> = self.successes().map(|(t, _)| t).collect();
        let mut best: Option<Gap> = None;
        for w in ends.windows(2) {
            let g = Gap {
                from: w[0],
                to: w[1],
            };
            if g.to <= from || g.to > to {
                continue;
            }
            if best.is_none_or(|b| g.ms() > b.ms()) {
                best = Some(g);
            }
        }
        best
    }
}

/// Waits until a GET of `ip` from the client (300 ms timeout each) answers `body`; panics after
/// `within`, naming the lab's artifacts.
pub fn wait_client_body(
    lab: &Lab,
    prober: &str,
    ip: impl Into<IpAddr>,
    body: &str,
    within: Duration,
) {
    let ip = ip.into();
    crate::wait_until(within, || {
        client_get(lab, prober, ip, Duration::from_millis(300)).as_deref() == Ok(body)
    })
    .unwrap_or_else(|_| {
        panic!(
            "client never got {body:?} from {ip}; artifacts in {}",
            lab.artifacts.display()
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_gap() {
        let text = "\
10.000 10.001 ok Primary
10.010 10.011 ok Primary
10.020 10.220 err timeout
garbage line
10.030 10.230 err timeout
10.300 10.301 ok Secondary
10.310 10.311 ok Secondary
";
        let p = Probes::parse(text);
        assert_eq!(p.0.len(), 6);
        let g = p.longest_gap(10.015, 11.0).unwrap();
        assert!((g.ms() - 290.0).abs() < 1e-6, "{g:?}");
        assert_eq!(p.last_body(), Some("Secondary"));
        assert_eq!(p.count_body_since("Secondary", 10.2), 2);
        assert_eq!(p.errors(10.0, 11.0), 2);
        assert_eq!(p.bodies(10.0, 11.0).get("Primary"), Some(&2));
        assert!(p.longest_gap(20.0, 21.0).is_none());
        // The 290 ms gap ends at 10.301: it belongs to a window ending after that, not before.
        let g = p.longest_gap(10.0, 10.3).unwrap();
        assert!((g.ms() - 10.0).abs() < 1e-6, "{g:?}");
    }
}
