//! Replaying a real trace: our core in one router's seat, fed everything the others sent.
//!
//! 1. The seat's config (VRID, priority, interval, version, VIPs) comes from its own adverts in
//!    the trace, or from options where it never advertised.
//! 2. Every VRRP and ARP frame not sent by the seat reaches our core at its original timestamp
//!    through the same bounded receive queue as in the simulator; pause/resume lines of an
//!    events file freeze and thaw the seat. Everything else in the trace is ignored.
//! 3. The real router's state changes are inferred from its adverts: Backup -> Active at its
//!    first advert after a silence; Active -> Backup when its adverts stop while it is not
//!    paused (at the advert that beat it, if one came before its next advert was due; else when
//!    that advert was due). Ours are the state changes our core reported.
//! 4. The verdict compares the two lists of state changes: same states in the same order, each
//!    within the tolerance. Advert timing is compared too, with a burst (adverts closer than
//!    half an interval) counted as one event, and reported beside the verdict: keepalived's
//!    timer drifts ~0.15 ms per interval and it wakes a few ms after SIGCONT, so its periodic
//!    adverts cannot be held to 2 ms over a whole trace; its state changes can.

use std::net::Ipv4Addr;

use bumpalo::Bump;
use serde::Serialize;
use vrrp_core::net::{Buffers, Event, Resources, Stack, parse_ipv4_advert};
use vrrp_core::wire::{ChecksumMode, DropReason, Version};
use vrrp_core::{Config, Instant, State};

use crate::device::{DEFAULT_QUEUE, Port};
use crate::pcap::{TraceFrame, read_trace};
use crate::world::{FrameKind, MAX_VIPS, VrConfig, classify};

/// Where the seat's config comes from when it never advertised in the trace (and overrides).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    /// Centiseconds.
    pub interval: Option<u16>,
    pub version: Option<Version>,
    pub vips: Vec<Ipv4Addr>,
    /// Seconds after the first frame when the seat's daemon starts (default: see [`replay`]).
    pub startup: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub seat: Ipv4Addr,
    /// The text of an events file (`pause r1 <unix time>` / `resume r1 <unix time>`).
    pub events: Option<String>,
    /// The seat's host name in the events file; inferred from the trace when absent.
    pub name: Option<String>,
    pub tolerance_us: u64,
    pub overrides: Overrides,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// Seconds since the first frame of the trace.
    pub t: f64,
    pub state: &'static str,
}

/// One line of the side-by-side timeline.
#[derive(Debug, Clone)]
pub struct Row {
    pub t_us: i64,
    pub real: String,
    pub ours: String,
    pub diff_us: Option<i64>,
    pub bad: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seat: String,
    pub vrid: u8,
    pub real: Vec<Change>,
    pub ours: Vec<Change>,
    pub max_abs_diff_ms: f64,
    pub verdict: &'static str,
    #[serde(skip)]
    pub rows: Vec<Row>,
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// A VRRP advert seen in the trace.
#[derive(Debug, Clone, Copy)]
struct Advert {
    at: i64,
    src: Ipv4Addr,
    priority: u8,
}

/// Pause/resume of the seat, in microseconds since the first frame.
#[derive(Debug, Clone, Copy)]
struct Freeze {
    from: i64,
    to: i64,
}

fn micros_from_unix(s: &str) -> Result<i64, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let bad = || format!("`{s}` is not a Unix time");
    let secs: i64 = int.parse().map_err(|_| bad())?;
    let mut us = 0i64;
    let mut unit = 100_000i64;
    for c in frac.chars().take(6) {
        us += i64::from(c.to_digit(10).ok_or_else(bad)?) * unit;
        unit /= 10;
    }
    Ok(secs * 1_000_000 + us)
}

/// `(kind, host, unix µs)` per line; `#` comments and blank lines are skipped.
fn parse_events(text: &str) -> Result<Vec<(bool, String, i64)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let [kind, host, t] = w.as_slice() else {
            return Err(format!(
                "events line {}: expected `pause|resume HOST UNIXTIME`",
                i + 1
            ));
        };
        let pause = match *kind {
            "pause" => true,
            "resume" => false,
            other => return Err(format!("events line {}: unknown event `{other}`", i + 1)),
        };
        out.push((pause, host.to_string(), micros_from_unix(t)?));
    }
    Ok(out)
}

pub fn replay_file(path: &std::path::Path, opts: &Options) -> Result<Report, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let frames = read_trace(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    replay(&frames, opts)
}

/// What the trace says, parsed once.
struct Trace<'f> {
    t0: i64,
    end: i64,
    seat_mac: Option<[u8; 6]>,
    /// The first frame from the seat's address, of any kind (an IGMP join at start-up, an ARP):
    /// its daemon was running by then.
    seat_first: Option<i64>,
    /// Frames fed to the seat: VRRP and ARP not sent by it.
    feed: Vec<(i64, &'f [u8])>,
    seat: Vec<Advert>,
    others: Vec<Advert>,
    ignored: usize,
    /// IPv6 adverts (ignored: replay seats IPv4 routers only).
    ipv6: usize,
    checked: usize,
    bad_checksums: usize,
}

fn read<'f>(frames: &'f [TraceFrame], seat: Ipv4Addr) -> Trace<'f> {
    let t0 = frames.first().map_or(0, |f| f.at as i64);
    let mut tr = Trace {
        t0,
        end: frames.last().map_or(0, |f| f.at as i64 - t0),
        seat_mac: None,
        seat_first: None,
        feed: Vec::new(),
        seat: Vec::new(),
        others: Vec::new(),
        ignored: 0,
        ipv6: 0,
        checked: 0,
        bad_checksums: 0,
    };
    // The seat's MAC, so that its own ARP frames are not fed back to it.
    for f in frames {
        if let FrameKind::Advert { .. } = classify(&f.data)
            && let Some((src, _, _)) = parse_advert(&f.data)
            && src == seat
        {
            let mut mac = [0; 6];
            mac.copy_from_slice(&f.data[6..12]);
            tr.seat_mac = Some(mac);
            break;
        }
    }
    for f in frames {
        let at = f.at as i64 - t0;
        if tr.seat_first.is_none()
            && f.data.get(12..14) == Some(&[0x08, 0x00][..])
            && f.data.get(26..30) == Some(&seat.octets()[..])
        {
            tr.seat_first = Some(at);
        }
        match classify(&f.data) {
            FrameKind::Advert {
                to: std::net::IpAddr::V6(_),
                ..
            } => {
                tr.ipv6 += 1;
                tr.ignored += 1;
            }
            FrameKind::Advert { .. } => {
                tr.checked += 1;
                let Some((src, repr, good)) = parse_advert(&f.data) else {
                    tr.bad_checksums += 1;
                    continue;
                };
                tr.bad_checksums += usize::from(!good);
                let prio = repr.priority;
                let a = Advert {
                    at,
                    src,
                    priority: prio,
                };
                if src == seat {
                    tr.seat.push(a);
                } else {
                    tr.others.push(a);
                    tr.feed.push((at, &f.data));
                }
            }
            FrameKind::Arp => {
                if tr.seat_mac.is_none_or(|m| f.data[6..12] != m) {
                    tr.feed.push((at, &f.data));
                }
            }
            FrameKind::Igmp
            | FrameKind::Mld
            | FrameKind::Na { .. }
            | FrameKind::Ns
            | FrameKind::Other => tr.ignored += 1,
        }
    }
    tr
}

/// The seat's config from its first advert, completed or overridden by options.
fn seat_config(
    frames: &[TraceFrame],
    seat: Ipv4Addr,
    o: &Overrides,
) -> Result<(VrConfig, bool), String> {
    let first = frames.iter().find_map(|f| {
        if !matches!(classify(&f.data), FrameKind::Advert { priority: 1.., .. }) {
            return None;
        }
        let (src, repr, _) = parse_advert(&f.data)?;
        (src == seat).then(|| {
            (
                repr.vrid,
                repr.priority,
                repr.max_adver_int,
                repr.version,
                repr.addresses.iter_v4().collect::<Vec<_>>(),
            )
        })
    });
    let from_trace = first.is_some();
    let (vrid, prio, interval, version, vips) = match first {
        Some((v, p, i, ver, vips)) => (
            o.vrid.unwrap_or(v),
            o.priority.unwrap_or(p),
            o.interval.unwrap_or(i),
            o.version.unwrap_or(ver),
            if o.vips.is_empty() {
                vips
            } else {
                o.vips.clone()
            },
        ),
        None => {
            let need = |what: &str| format!("{seat} never advertised in this trace: give --{what}");
            (
                o.vrid.ok_or_else(|| need("vrid"))?,
                o.priority.ok_or_else(|| need("priority"))?,
                o.interval.unwrap_or(100),
                o.version.unwrap_or(Version::V3),
                if o.vips.is_empty() {
                    return Err(need("vip"));
                } else {
                    o.vips.clone()
                },
            )
        }
    };
    let mut c: VrConfig = Config::new(vrid, prio, seat);
    c.version = version;
    c.adver_interval = interval;
    c.vip_prefix_len = 24;
    if vips.len() > MAX_VIPS {
        return Err(format!(
            "{} VIPs: the simulator handles {MAX_VIPS}",
            vips.len()
        ));
    }
    for v in vips {
        c = c.with_vip(v).map_err(|e| e.to_string())?;
    }
    c.validate().map_err(|e| format!("seat config: {e}"))?;
    Ok((c, from_trace))
}

/// Parses the advert in an Ethernet frame with either checksum convention (v3 over IPv4 is
/// summed with or without the pseudo-header depending on the sender); the bool says whether the
/// RFC 9568 pseudo-header one verified.
fn parse_advert(frame: &[u8]) -> Option<(Ipv4Addr, vrrp_core::wire::Repr<'_>, bool)> {
    let ip = frame.get(14..)?;
    match parse_ipv4_advert(ip, ChecksumMode::PseudoHeader) {
        Ok((src, _, repr)) => Some((src, repr, true)),
        Err(DropReason::Checksum) => parse_ipv4_advert(ip, ChecksumMode::MessageOnly)
            .ok()
            .map(|(src, _, repr)| (src, repr, false)),
        Err(_) => None,
    }
}

fn beats(a: &Advert, seat_prio: u8, seat: Ipv4Addr) -> bool {
    a.priority > seat_prio || (a.priority == seat_prio && a.src > seat)
}

/// The real router's state changes, inferred from its adverts (module docs, step 3).
fn infer(tr: &Trace, freezes: &[Freeze], interval: i64, seat: Ipv4Addr) -> Vec<(i64, State)> {
    let slack = interval / 2;
    let mut out = Vec::new();
    let mut active = false;
    for (k, a) in tr.seat.iter().enumerate() {
        if a.priority == 0 {
            if active {
                out.push((a.at, State::Backup));
                active = false;
            }
            continue;
        }
        if !active {
            out.push((a.at, State::Active));
            active = true;
        }
        // A freeze that begins before the next advert is due explains the silence until thaw.
        let mut base = a.at;
        for f in freezes {
            if f.from <= base + interval + slack && f.to > base {
                base = base.max(f.to);
            }
        }
        let deadline = base + interval + slack;
        let next = tr.seat.get(k + 1).map_or(i64::MAX, |n| n.at);
        if next > deadline && deadline <= tr.end {
            let beaten = tr
                .others
                .iter()
                .find(|o| o.at > a.at && o.at <= deadline && beats(o, a.priority, seat))
                .map(|o| o.at);
            out.push((beaten.unwrap_or(base + interval), State::Backup));
            active = false;
        }
    }
    out
}

/// The host in the events file whose adverts stop during every one of its pauses.
fn events_host_ip(tr: &Trace, events: &[(bool, String, i64)], host: &str) -> Option<Ipv4Addr> {
    let mut ips: Vec<Ipv4Addr> = tr.seat.iter().chain(&tr.others).map(|a| a.src).collect();
    ips.sort();
    ips.dedup();
    let windows: Vec<(i64, i64)> = events
        .iter()
        .filter(|e| e.0 && e.1 == host)
        .filter_map(|p| {
            let resume = events.iter().find(|r| !r.0 && r.1 == host && r.2 > p.2)?;
            Some((p.2 - tr.t0, resume.2 - tr.t0))
        })
        .collect();
    let silent = |ip: Ipv4Addr| {
        let adverts = || {
            tr.seat
                .iter()
                .chain(&tr.others)
                .filter(move |a| a.src == ip)
        };
        windows.iter().all(|&(from, to)| {
            adverts().any(|a| a.at < from) && !adverts().any(|a| a.at > from && a.at < to)
        })
    };
    let mut found = ips.into_iter().filter(|ip| silent(*ip));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

pub fn replay(frames: &[TraceFrame], opts: &Options) -> Result<Report, String> {
    let seat = opts.seat;
    let tr = read(frames, seat);
    if tr.checked == 0 && tr.ipv6 > 0 {
        return Err(format!(
            "{} IPv6 VRRP adverts and no IPv4 one: IPv6 is not supported in replay (it seats an IPv4 virtual router)",
            tr.ipv6
        ));
    }
    let (config, from_trace) = seat_config(frames, seat, &opts.overrides)?;
    let interval = i64::from(config.adver_interval) * 10_000;
    let mut notes = vec![format!(
        "seat {seat}: vrid {} priority {} interval {} ms v{} vips {} ({})",
        config.vrid,
        config.priority,
        interval / 1000,
        config.version.number(),
        config
            .vips
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(","),
        if from_trace {
            "from its adverts"
        } else {
            "from options"
        }
    )];
    notes.push(format!(
        "checksums: {} adverts verified with the IPv4 pseudo-header, {} bad",
        tr.checked, tr.bad_checksums
    ));
    notes.push(format!(
        "fed {} VRRP/ARP frames from the others, ignored {} unrelated frames",
        tr.feed.len(),
        tr.ignored
    ));

    // Freezes of the seat from the events file.
    let mut freezes = Vec::new();
    if let Some(text) = &opts.events {
        let events = parse_events(text)?;
        let mut hosts: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
        hosts.sort();
        hosts.dedup();
        for host in hosts {
            let is_seat = match &opts.name {
                Some(n) => n == host,
                None => events_host_ip(&tr, &events, host) == Some(seat),
            };
            if !is_seat {
                notes.push(format!(
                    "events: `{host}` is not the seat (its frames are in the trace as they were)"
                ));
                continue;
            }
            let mut pause_at = None;
            for (pause, h, t) in &events {
                if h != host {
                    continue;
                }
                match (pause, pause_at) {
                    (true, None) => pause_at = Some(t - tr.t0),
                    (false, Some(p)) => {
                        freezes.push(Freeze {
                            from: p,
                            to: t - tr.t0,
                        });
                        pause_at = None;
                    }
                    _ => return Err(format!("events: `{host}` pause/resume out of order")),
                }
            }
            if let Some(p) = pause_at {
                freezes.push(Freeze {
                    from: p,
                    to: i64::MAX,
                });
            }
            notes.push(format!(
                "events: `{host}` is the seat: {} freeze(s)",
                freezes.len()
            ));
        }
    }

    // When the seat's daemon started is not in the trace. If the seat is the first router to
    // advertise, it won an election nobody else took part in: start it one Active_Down_Interval
    // before that advert, which reproduces it (so that first change matches by construction).
    // Otherwise it was running by its first frame of any kind (the IGMP join a daemon sends at
    // start-up), or by the others' first advert if that came first; with no frame of its own
    // before, start it with the capture. Starting it with the capture when its daemon started
    // later would have it take over before the others' first advert, which the real one never
    // saw happen.
    let probe = vrrp_core::VirtualRouter::new(config.clone()).map_err(|e| e.to_string())?;
    let adi = probe.active_down_interval().as_micros() as i64;
    let first_seat = tr.seat.first().map(|a| a.at);
    let first_other = tr.others.first().map_or(i64::MAX, |a| a.at);
    let (startup, aligned) = match (opts.overrides.startup, first_seat) {
        (Some(s), _) => ((s * 1e6).round() as i64, false),
        (None, Some(f)) if f < first_other => (f - adi, true),
        _ => (tr.seat_first.map_or(0, |s| s.min(first_other)), false),
    };
    notes.push(if aligned {
        format!(
            "startup: {:.6} s, one Active_Down_Interval before the seat's first advert (the trace does not show when it started; that first change matches by construction)",
            startup as f64 / 1e6
        )
    } else {
        format!("startup: {:.6} s", startup as f64 / 1e6)
    });

    let ours = run_seat(&tr, &config, &freezes, startup)?;
    let mut ours_changes: Vec<(i64, State)> = ours
        .states
        .iter()
        .filter(|(_, s)| *s != State::Initialize)
        .copied()
        .collect();
    // Initialize -> Backup at startup is where the inference starts too: not a change.
    if ours_changes
        .first()
        .is_some_and(|c| c.1 == State::Backup && c.0 == startup)
    {
        ours_changes.remove(0);
    }
    let real_changes = infer(&tr, &freezes, interval, seat);

    // Pair in order; a state that differs ends the pairing, the rest is missing or extra.
    let mut rows = Vec::new();
    let mut max_diff = 0i64;
    let mut ok = true;
    let n = real_changes.len().max(ours_changes.len());
    let mut paired = true;
    for i in 0..n {
        let r = real_changes.get(i);
        let o = ours_changes.get(i);
        match (r, o) {
            (Some(r), Some(o)) if paired && r.1 == o.1 => {
                let d = o.0 - r.0;
                let bad = d.abs() > opts.tolerance_us as i64;
                ok &= !bad;
                max_diff = max_diff.max(d.abs());
                rows.push(Row {
                    t_us: r.0,
                    real: format!("-> {}", r.1),
                    ours: format!("-> {}", o.1),
                    diff_us: Some(d),
                    bad,
                });
            }
            _ => {
                paired = false;
                ok = false;
                if let Some(r) = r {
                    rows.push(Row {
                        t_us: r.0,
                        real: format!("-> {}", r.1),
                        ours: "(missing)".into(),
                        diff_us: None,
                        bad: true,
                    });
                }
                if let Some(o) = o {
                    rows.push(Row {
                        t_us: o.0,
                        real: "(none)".into(),
                        ours: format!("-> {} (extra)", o.1),
                        diff_us: None,
                        bad: true,
                    });
                }
            }
        }
    }
    for f in &freezes {
        rows.push(Row {
            t_us: f.from,
            real: "paused".into(),
            ours: "paused (frames queue)".into(),
            diff_us: None,
            bad: false,
        });
        if f.to != i64::MAX {
            rows.push(Row {
                t_us: f.to,
                real: "resumed".into(),
                ours: format!(
                    "resumed: {} frames were queued, {} dropped",
                    ours.thawed.iter().find(|t| t.0 == f.to).map_or(0, |t| t.1),
                    ours.queue_drops
                ),
                diff_us: None,
                bad: false,
            });
        }
    }
    // Advert events: bursts count once (module docs, step 4).
    let real_ev = bursts(&tr.seat.iter().map(|a| a.at).collect::<Vec<_>>(), interval);
    let our_ev = bursts(&ours.adverts, interval);
    // Consecutive bursts (keepalived catching up after a thaw) share one row.
    let mut k = 0;
    while k < real_ev.len() {
        if real_ev[k].1 < 2 {
            k += 1;
            continue;
        }
        let start = k;
        while k < real_ev.len() && real_ev[k].1 > 1 {
            k += 1;
        }
        let (from, to) = (real_ev[start].0, real_ev[k - 1].0);
        let adverts: usize = real_ev[start..k].iter().map(|e| e.1).sum();
        let near = our_ev
            .iter()
            .filter(|(o, _)| *o >= from - interval / 2 && *o <= to + interval / 2)
            .map(|(_, n)| *n)
            .sum::<usize>();
        let real = if k - start == 1 {
            format!("burst of {adverts} adverts")
        } else {
            format!(
                "{} bursts, {adverts} adverts in {:.3} s",
                k - start,
                (to - from) as f64 / 1e6
            )
        };
        rows.push(Row {
            t_us: from,
            real,
            ours: format!("{near} advert(s): same event(s)"),
            diff_us: None,
            bad: false,
        });
    }
    rows.sort_by_key(|r| r.t_us);
    let mut pairs = 0;
    let mut advert_max = 0i64;
    for (t, _) in &real_ev {
        if let Some((o, _)) = our_ev
            .iter()
            .filter(|(o, _)| (o - t).abs() <= interval / 2)
            .min_by_key(|(o, _)| (o - t).abs())
        {
            pairs += 1;
            advert_max = advert_max.max((o - t).abs());
        }
    }
    notes.push(format!(
        "advert events (a burst counts as one): real {} from {} adverts, ours {} from {}; {} paired, max |diff| {:.3} ms (reported, not in the verdict)",
        real_ev.len(),
        tr.seat.len(),
        our_ev.len(),
        ours.adverts.len(),
        pairs,
        advert_max as f64 / 1000.0
    ));
    let change = |v: &[(i64, State)]| -> Vec<Change> {
        v.iter()
            .map(|(t, s)| Change {
                t: *t as f64 / 1e6,
                state: s.as_str(),
            })
            .collect()
    };
    Ok(Report {
        seat: seat.to_string(),
        vrid: config.vrid,
        real: change(&real_changes),
        ours: change(&ours_changes),
        max_abs_diff_ms: max_diff as f64 / 1000.0,
        verdict: if ok { "match" } else { "differ" },
        rows,
        notes,
    })
}

/// Groups advert times into events: an advert less than half an interval after the first of
/// the current group joins it. Returns (time of the first, count).
fn bursts(times: &[i64], interval: i64) -> Vec<(i64, usize)> {
    let mut out: Vec<(i64, usize)> = Vec::new();
    for &t in times {
        match out.last_mut() {
            Some((first, n)) if t - *first < interval / 2 => *n += 1,
            _ => out.push((t, 1)),
        }
    }
    out
}

struct SeatRun {
    states: Vec<(i64, State)>,
    adverts: Vec<i64>,
    /// (thaw time, frames found queued).
    thawed: Vec<(i64, usize)>,
    queue_drops: u64,
}

/// Drives our core in the seat: frames at their timestamps, timers in between, freezes.
fn run_seat(
    tr: &Trace,
    config: &VrConfig,
    freezes: &[Freeze],
    startup: i64,
) -> Result<SeatRun, String> {
    let arena = Bump::new();
    // The core's clock cannot go below zero: it starts at the earlier of capture and startup.
    let origin = startup.min(0);
    let local = |t: i64| Instant::from_micros((t - origin) as u64);
    let mut port = Port::new(DEFAULT_QUEUE);
    let resources = arena.alloc(Resources::new());
    let buffers = arena.alloc(Buffers::new());
    let mut stack: Stack<'_, MAX_VIPS> = Stack::new(
        config.clone(),
        &mut port,
        resources,
        buffers,
        local(startup),
    )
    .map_err(|e| e.to_string())?;
    stack.startup(local(startup));
    let mut out = SeatRun {
        states: Vec::new(),
        adverts: Vec::new(),
        thawed: Vec::new(),
        queue_drops: 0,
    };
    let mut now = startup;
    let mut next_frame = tr
        .feed
        .iter()
        .position(|f| f.0 >= startup)
        .unwrap_or(tr.feed.len());
    let frozen = |t: i64| freezes.iter().any(|f| t >= f.from && t < f.to);
    let mut dirty = true;
    let mut wake: Option<i64> = None;
    let mut events = Vec::new();
    let mut was_frozen = false;
    loop {
        if !frozen(now) {
            if was_frozen {
                out.thawed.push((now, port.queued()));
                dirty = true;
            }
            was_frozen = false;
            if dirty || wake.is_some_and(|w| w <= now) {
                dirty = false;
                stack.poll(local(now), &mut port, &mut |e| events.push(e));
                for e in events.drain(..) {
                    if let Event::StateChange { to, .. } = e {
                        out.states.push((now, to));
                    }
                }
                for f in port.tx.drain(..) {
                    if let FrameKind::Advert { .. } = classify(&f) {
                        out.adverts.push(now);
                    }
                }
                wake = stack
                    .poll_at(local(now))
                    .map(|t| (t.as_micros() as i64 + origin).max(now + 1));
            }
        } else {
            was_frozen = true;
        }
        // The next instant anything happens: a frame, a timer (if running), a freeze edge.
        let mut next = i64::MAX;
        if let Some(f) = tr.feed.get(next_frame) {
            next = next.min(f.0);
        }
        if !frozen(now)
            && let Some(w) = wake
        {
            next = next.min(w);
        }
        for f in freezes {
            for edge in [f.from, f.to] {
                if edge > now {
                    next = next.min(edge);
                }
            }
        }
        if next == i64::MAX || next > tr.end {
            break;
        }
        now = next;
        while let Some(&(at, data)) = tr.feed.get(next_frame) {
            if at > now {
                break;
            }
            if port.enqueue(std::rc::Rc::from(data), frozen(now)) {
                dirty = true;
            } else {
                out.queue_drops += 1;
            }
            next_frame += 1;
        }
    }
    Ok(out)
}

/// The side-by-side timeline for a terminal.
pub fn render(report: &Report, tolerance_us: u64) -> String {
    let mut s = String::new();
    for n in &report.notes {
        s.push_str(&format!("# {n}\n"));
    }
    s.push_str(&format!(
        "{:>11}  {:<34} {:<40} {:>9}\n",
        "t (s)", "real", "ours", "diff ms"
    ));
    for r in &report.rows {
        let diff = r
            .diff_us
            .map_or(String::new(), |d| format!("{:+.3}", d as f64 / 1000.0));
        s.push_str(&format!(
            "{:>11.6}  {:<34} {:<40} {:>9}{}\n",
            r.t_us as f64 / 1e6,
            r.real,
            r.ours,
            diff,
            if r.bad { "  <-- differs" } else { "" }
        ));
    }
    s.push_str(&format!(
        "verdict: {} ({} state changes real, {} ours; max |diff| {:.3} ms, tolerance {} ms)\n",
        report.verdict,
        report.real.len(),
        report.ours.len(),
        report.max_abs_diff_ms,
        tolerance_us as f64 / 1000.0
    ));
    s
}
