//! Replaying a real trace: our core in one router's seat, fed everything the others sent.
//!
//! 1. The seat's config (VRID, priority, interval, version, VIPs) comes from its own adverts in
//!    the trace, or from options where it never advertised. The seat is an IPv4 or an IPv6
//!    router (its address says which); adverts of the other family are ignored.
//! 2. Every VRRP frame of the seat's family and every ARP (IPv4) or Neighbor Discovery (IPv6)
//!    frame not sent by the seat reaches our core at its original timestamp through the same
//!    bounded receive queue as in the simulator; pause/resume lines of an events file freeze
//!    and thaw the seat. Everything else in the trace is ignored.
//! 3. The real router's state changes are inferred only from what the trace proves: Backup ->
//!    Active at its first advert after a silence; Active -> Backup at its own priority-0
//!    advert, at an advert of the same virtual router that beats it (RFC 9568 §6.4.3; at the
//!    thaw if it came during a freeze), or when its adverts stop for longer than its
//!    Active_Down_Interval while it is not frozen (no Backup would have waited longer; placed
//!    when its next advert was due). A late advert is not a state change: a loaded keepalived
//!    at 10 ms adverts is often 15 ms late and still Active for everyone. An advert of the seat
//!    sooner than Active_Down_Interval after one that beats it proves it was still Active
//!    (the two crossed): it steps down right after its own, unless it keeps advertising.
//! 4. The verdict compares the two lists of state changes, paired by time (each with the
//!    nearest change of the other side to the same state, at most Active_Down_Interval apart):
//!    every change paired, each pair within the tolerance. Each change is also held to RFC
//!    9568's instant, computed from the others' adverts in the trace (the last one that reset
//!    the seat's Active_Down_Timer, plus Active_Down_Interval or Skew_Time; the advert that
//!    beat an Active), so that a difference says which side is off the RFC and by how much.
//!    Advert timing is compared too, with a burst (adverts closer than half an interval)
//!    counted as one event, and reported beside the verdict: keepalived's timer drifts
//!    ~0.15 ms per interval and it wakes a few ms after SIGCONT, so its periodic adverts
//!    cannot be held to 2 ms over a whole trace; its state changes can.

mod compare;
pub mod events;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bumpalo::Bump;
use serde::Serialize;
use vrrp_core::net::{AnyConfig, AnyStack, Buffers, Event, NetAddress, Resources, parse_advert};
use vrrp_core::wire::{Address, ChecksumMode, DropReason, Repr, Version};
use vrrp_core::{Config, Instant, State};

use crate::device::{DEFAULT_QUEUE, Port};
use crate::pcap::{TraceFrame, read_trace};
use crate::world::{FrameKind, MAX_VIPS, RouterConfig, classify};
use compare::{Heard, Rules, beats, thawed};

/// Where the seat's config comes from when it never advertised in the trace (and overrides).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    /// Centiseconds.
    pub interval: Option<u16>,
    pub version: Option<Version>,
    pub vips: Vec<IpAddr>,
    /// Seconds after the first frame when the seat's daemon starts (default: see [`replay`]).
    pub startup: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub seat: IpAddr,
    /// The text of an events file (see [`events`]).
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

/// How far each side's change is from RFC 9568's instant (positive: later).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfcTiming {
    /// Seconds since the first frame of the trace.
    pub at: f64,
    /// What the instant is computed from.
    pub basis: String,
    pub ours_ms: Option<f64>,
    pub real_ms: Option<f64>,
    /// The sides more than the tolerance away from it.
    pub off: Vec<&'static str>,
}

/// One state change of the comparison: both sides paired by time, or one side alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub state: &'static str,
    /// Seconds since the first frame of the trace.
    pub real: Option<f64>,
    pub ours: Option<f64>,
    /// Ours minus real.
    pub diff_ms: Option<f64>,
    /// `None` where the others' adverts do not decide the instant.
    pub rfc: Option<RfcTiming>,
}

/// One line of the side-by-side timeline.
#[derive(Debug, Clone)]
pub struct Row {
    pub t_us: i64,
    pub real: String,
    pub ours: String,
    pub diff_us: Option<i64>,
    /// Each side against RFC 9568's instant.
    pub rfc: String,
    pub bad: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seat: String,
    pub vrid: u8,
    pub real: Vec<Change>,
    pub ours: Vec<Change>,
    pub transitions: Vec<Transition>,
    pub max_abs_diff_ms: f64,
    pub verdict: &'static str,
    #[serde(skip)]
    pub rows: Vec<Row>,
    #[serde(skip)]
    pub notes: Vec<String>,
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
    /// The first frame from the seat's address, of any kind (an IGMP or MLD join at start-up,
    /// an ARP): its daemon was running by then.
    seat_first: Option<i64>,
    /// Frames fed to the seat: VRRP of its family and ARP / ND not sent by it.
    feed: Vec<(i64, &'f [u8])>,
    /// The seat's own adverts in its virtual router.
    seat: Vec<Heard>,
    /// The others' adverts in the seat's virtual router.
    others: Vec<Heard>,
    ignored: usize,
    /// Adverts of the other address family (ignored).
    other_family: usize,
    checked: usize,
    bad_checksums: usize,
}

/// The IP source of an Ethernet frame.
fn ip_src(frame: &[u8]) -> Option<IpAddr> {
    match frame.get(12..14)? {
        [0x08, 0x00] => Some(IpAddr::from(<[u8; 4]>::try_from(frame.get(26..30)?).ok()?)),
        [0x86, 0xdd] => Some(IpAddr::from(<[u8; 16]>::try_from(frame.get(22..38)?).ok()?)),
        _ => None,
    }
}

fn read<'f>(frames: &'f [TraceFrame], seat: IpAddr, vrid: u8) -> Trace<'f> {
    let t0 = frames.first().map_or(0, |f| f.at as i64);
    // The seat's MAC, so that its own ARP / ND frames are not fed back to it.
    let seat_mac = frames.iter().find_map(|f| {
        let (src, _, _) = parse_any(&f.data)?;
        (src == seat).then(|| <[u8; 6]>::try_from(&f.data[6..12]).expect("6 bytes"))
    });
    let not_seat = |data: &[u8]| seat_mac.is_none_or(|m| data[6..12] != m);
    let mut tr = Trace {
        t0,
        end: frames.last().map_or(0, |f| f.at as i64 - t0),
        seat_first: None,
        feed: Vec::new(),
        seat: Vec::new(),
        others: Vec::new(),
        ignored: 0,
        other_family: 0,
        checked: 0,
        bad_checksums: 0,
    };
    for f in frames {
        let at = f.at as i64 - t0;
        if tr.seat_first.is_none() && ip_src(&f.data) == Some(seat) {
            tr.seat_first = Some(at);
        }
        match classify(&f.data) {
            FrameKind::Advert { to, .. } if to.is_ipv6() != seat.is_ipv6() => {
                tr.other_family += 1;
                tr.ignored += 1;
            }
            FrameKind::Advert { .. } => {
                tr.checked += 1;
                let Some((src, repr, good)) = parse_any(&f.data) else {
                    tr.bad_checksums += 1;
                    continue;
                };
                tr.bad_checksums += usize::from(!good);
                let a = Heard {
                    at,
                    src,
                    priority: repr.priority,
                    interval: repr.max_adver_int,
                };
                if src == seat {
                    if repr.vrid == vrid {
                        tr.seat.push(a);
                    }
                } else {
                    if repr.vrid == vrid {
                        tr.others.push(a);
                    }
                    tr.feed.push((at, &f.data));
                }
            }
            FrameKind::Arp if seat.is_ipv4() && not_seat(&f.data) => tr.feed.push((at, &f.data)),
            FrameKind::Na { .. } | FrameKind::Ns if seat.is_ipv6() && not_seat(&f.data) => {
                tr.feed.push((at, &f.data))
            }
            // The seat's own.
            FrameKind::Arp if seat.is_ipv4() => {}
            FrameKind::Na { .. } | FrameKind::Ns if seat.is_ipv6() => {}
            _ => tr.ignored += 1,
        }
    }
    tr
}

/// The seat's config from its first advert, completed or overridden by options.
fn seat_config(
    frames: &[TraceFrame],
    seat: IpAddr,
    o: &Overrides,
) -> Result<(RouterConfig, bool), String> {
    let first = frames.iter().find_map(|f| {
        if !matches!(classify(&f.data), FrameKind::Advert { priority: 1.., .. }) {
            return None;
        }
        let (src, repr, _) = parse_any(&f.data)?;
        (src == seat && o.vrid.is_none_or(|v| v == repr.vrid)).then(|| {
            let vips = repr.addresses.iter_v4().map(IpAddr::V4);
            (
                repr.vrid,
                repr.priority,
                repr.max_adver_int,
                repr.version,
                vips.chain(repr.addresses.iter_v6().map(IpAddr::V6))
                    .collect::<Vec<_>>(),
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
    let wrong = |v: &IpAddr| format!("VIP {v} is not of the seat {seat}'s address family");
    let config: RouterConfig = match seat {
        IpAddr::V4(a) => {
            let vips = vips.iter().map(|v| match v {
                IpAddr::V4(v) => Ok(*v),
                IpAddr::V6(_) => Err(wrong(v)),
            });
            build(a, 24, (vrid, prio, interval, version), vips)?.into()
        }
        IpAddr::V6(a) => {
            let vips = vips.iter().map(|v| match v {
                IpAddr::V6(v) => Ok(*v),
                IpAddr::V4(_) => Err(wrong(v)),
            });
            build(a, 64, (vrid, prio, interval, version), vips)?.into()
        }
    };
    Ok((config, from_trace))
}

/// One family's config: `(vrid, priority, interval, version)`.
fn build<A: Address>(
    seat: A,
    prefix_len: u8,
    (vrid, prio, interval, version): (u8, u8, u16, Version),
    vips: impl Iterator<Item = Result<A, String>>,
) -> Result<Config<MAX_VIPS, A>, String> {
    let mut c: Config<MAX_VIPS, A> = Config::new(vrid, prio, seat);
    c.version = version;
    c.adver_interval = interval;
    c.vip_prefix_len = prefix_len;
    let vips = vips.collect::<Result<Vec<A>, String>>()?;
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
    Ok(c)
}

/// Skew_Time and Active_Down_Interval (µs) of the seat at an Active_Adver_Interval of
/// `interval` centiseconds, as the core computes them.
fn timers_at(config: &RouterConfig, interval: u16) -> Option<(i64, i64)> {
    let mut c = config.clone();
    match &mut c {
        AnyConfig::V4(c) => c.adver_interval = interval,
        AnyConfig::V6(c) => c.adver_interval = interval,
    }
    let (skew, adi) = c.timers().ok()?;
    Some((skew.as_micros() as i64, adi.as_micros() as i64))
}

/// Parses the advert in an Ethernet frame with either checksum convention (v3 over IPv4 is
/// summed with or without the pseudo-header depending on the sender); the bool says whether the
/// RFC 9568 pseudo-header one verified.
pub(crate) fn parse_any(frame: &[u8]) -> Option<(IpAddr, Repr<'_>, bool)> {
    let ip = frame.get(14..)?;
    match frame.get(12..14)? {
        [0x08, 0x00] => parse_family::<Ipv4Addr>(ip),
        [0x86, 0xdd] => parse_family::<Ipv6Addr>(ip),
        _ => None,
    }
}

fn parse_family<A: NetAddress + Into<IpAddr>>(ip: &[u8]) -> Option<(IpAddr, Repr<'_>, bool)> {
    match parse_advert::<A>(ip, ChecksumMode::PseudoHeader) {
        Ok((src, _, repr)) => Some((src.into(), repr, true)),
        Err(DropReason::Checksum) => parse_advert::<A>(ip, ChecksumMode::MessageOnly)
            .ok()
            .map(|(src, _, repr)| (src.into(), repr, false)),
        Err(_) => None,
    }
}

/// The real router's state changes, from what the trace proves (module docs, step 3). `adi`:
/// its Active_Down_Interval; `interval`: its advert interval (µs).
fn infer(
    tr: &Trace,
    freezes: &[(i64, i64)],
    adi: i64,
    interval: i64,
    seat: IpAddr,
) -> Vec<(i64, State)> {
    let mut out = Vec::new();
    let mut active = false;
    // The seat advertised after an advert that beats it: it had sent it before reading that
    // one (the two crossed), and steps down right after unless it keeps advertising.
    let mut crossed = false;
    for (k, a) in tr.seat.iter().enumerate() {
        if a.priority == 0 {
            if active {
                out.push((a.at, State::Backup));
                active = false;
            }
            crossed = false;
            continue;
        }
        if !active {
            out.push((a.at, State::Active));
            active = true;
        }
        let next = tr.seat.get(k + 1).map_or(i64::MAX, |n| n.at);
        if let Some(b) = tr
            .others
            .iter()
            .find(|o| o.at > a.at && o.at < next && o.at <= tr.end && beats(o, a.priority, seat))
        {
            let at = thawed(freezes, b.at);
            // A Backup takes over no sooner than Active_Down_Interval after the last advert
            // that beat it: an advert sooner than that proves the seat was still Active.
            if next == i64::MAX || next - at >= adi {
                out.push((if crossed { a.at } else { at }, State::Backup));
                active = false;
                crossed = false;
            } else {
                crossed = true;
            }
            continue;
        }
        // A freeze that begins before the Backups give up on it explains the silence until
        // the thaw: it still believes it is Active then.
        let mut base = a.at;
        for f in freezes {
            if f.0 <= base + adi && f.1 > base {
                base = base.max(f.1);
            }
        }
        let silent = next > base + adi && base + adi <= tr.end;
        if crossed && (silent || next == i64::MAX) {
            out.push((a.at, State::Backup));
            active = false;
        } else if silent {
            out.push((base + interval, State::Backup));
            active = false;
        }
        crossed = false;
    }
    out
}

/// One router of a trace as the replay sees it in the seat: its state changes as inferred from
/// the trace (module docs, step 3) and its freezes from an events file, in µs since the first
/// frame: what `replay` compares against (its `real` side), and what `vrrp-sim plot` draws.
#[derive(Debug, Clone, Default)]
pub struct Inferred {
    /// Changes to Active or Backup; before the first, the router is not Active.
    pub changes: Vec<(i64, State)>,
    pub freezes: Vec<(i64, i64)>,
}

/// [`Inferred`] for the router advertising from `router` in virtual router `vrid`.
pub fn infer_router(
    frames: &[TraceFrame],
    router: IpAddr,
    vrid: u8,
    events: Option<&str>,
) -> Result<Inferred, String> {
    let overrides = Overrides {
        vrid: Some(vrid),
        ..Overrides::default()
    };
    let (config, _) = seat_config(frames, router, &overrides)?;
    let tr = read(frames, router, vrid);
    let (_, adi) = timers_at(&config, config.adver_interval())
        .ok_or_else(|| format!("{router}: no Active_Down_Interval"))?;
    let freezes = match events {
        Some(text) => seat_freezes(&tr, text, router, None, &mut Vec::new())?,
        None => Vec::new(),
    };
    let interval = i64::from(config.adver_interval()) * 10_000;
    let changes = infer(&tr, &freezes, adi, interval, router);
    Ok(Inferred { changes, freezes })
}

/// The host in the events file whose adverts stop during every one of its pauses.
fn events_host_ip(tr: &Trace, events: &[events::Event], host: &str) -> Option<IpAddr> {
    let mut ips: Vec<IpAddr> = tr.seat.iter().chain(&tr.others).map(|a| a.src).collect();
    ips.sort();
    ips.dedup();
    let windows: Vec<(i64, i64)> = events
        .iter()
        .filter(|e| e.pause && e.host == host)
        .filter_map(|p| {
            let resume = events
                .iter()
                .find(|r| !r.pause && r.host == host && r.unix_us > p.unix_us)?;
            Some((p.unix_us - tr.t0, resume.unix_us - tr.t0))
        })
        .collect();
    let silent = |ip: IpAddr| {
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

/// The seat's freezes from the events file, as (from, to) in µs since the first frame.
fn seat_freezes(
    tr: &Trace,
    text: &str,
    seat: IpAddr,
    name: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Vec<(i64, i64)>, String> {
    let parsed = events::parse(text)?;
    if !parsed.skipped.is_empty() {
        notes.push(format!(
            "events: skipped {} line(s) of other kinds ({}): only pause/resume freeze a host",
            parsed.skipped.len(),
            parsed.skipped.join(", ")
        ));
    }
    let events = parsed.events;
    let mut hosts: Vec<&str> = events.iter().map(|e| e.host.as_str()).collect();
    hosts.sort();
    hosts.dedup();
    let mut out = Vec::new();
    for host in hosts {
        let is_seat = match name {
            Some(n) => n == host,
            None => events_host_ip(tr, &events, host) == Some(seat),
        };
        if !is_seat {
            notes.push(format!(
                "events: `{host}` is not the seat (its frames are in the trace as they were)"
            ));
            continue;
        }
        let mut pause_at = None;
        for e in events.iter().filter(|e| e.host == host) {
            let t = e.unix_us - tr.t0;
            match (e.pause, pause_at) {
                (true, None) => pause_at = Some(t),
                (false, Some(p)) => {
                    out.push((p, t));
                    pause_at = None;
                }
                _ => return Err(format!("events: `{host}` pause/resume out of order")),
            }
        }
        if let Some(p) = pause_at {
            out.push((p, i64::MAX));
        }
        notes.push(format!(
            "events: `{host}` is the seat: {} freeze(s)",
            out.len()
        ));
    }
    Ok(out)
}

pub fn replay(frames: &[TraceFrame], opts: &Options) -> Result<Report, String> {
    let seat = opts.seat;
    let family = |ip: IpAddr| if ip.is_ipv6() { "IPv6" } else { "IPv4" };
    let (same, other) = frames
        .iter()
        .fold((0, 0), |(same, other), f| match classify(&f.data) {
            FrameKind::Advert { to, .. } if to.is_ipv6() == seat.is_ipv6() => (same + 1, other),
            FrameKind::Advert { .. } => (same, other + 1),
            _ => (same, other),
        });
    if same == 0 && other > 0 {
        return Err(format!(
            "{other} VRRP adverts, none over {}: the seat {seat} is an {} router (give its address of the other family)",
            family(seat),
            family(seat)
        ));
    }
    let (config, from_trace) = seat_config(frames, seat, &opts.overrides)?;
    let tr = read(frames, seat, config.vrid());
    let interval = i64::from(config.adver_interval()) * 10_000;
    let mut notes = vec![format!(
        "seat {seat}: vrid {} priority {} interval {} ms v{} vips {} ({})",
        config.vrid(),
        config.priority(),
        interval / 1000,
        config.version().number(),
        config
            .vips()
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
        "checksums: {} adverts verified with the {} pseudo-header, {} bad",
        tr.checked,
        family(seat),
        tr.bad_checksums
    ));
    notes.push(format!(
        "fed {} VRRP/{} frames from the others, ignored {} unrelated frames ({} adverts of the other family)",
        tr.feed.len(),
        if seat.is_ipv6() { "ND" } else { "ARP" },
        tr.ignored,
        tr.other_family
    ));

    let freezes = match &opts.events {
        Some(text) => seat_freezes(&tr, text, seat, opts.name.as_deref(), &mut notes)?,
        None => Vec::new(),
    };

    // When the seat's daemon started is not in the trace. If the seat is the first router to
    // advertise, it won an election nobody else took part in: start it one Active_Down_Interval
    // before that advert, which reproduces it (so that first change matches by construction).
    // Otherwise it was running by its first frame of any kind (the IGMP join a daemon sends at
    // start-up), or by the others' first advert if that came first; with no frame of its own
    // before, start it with the capture. Starting it with the capture when its daemon started
    // later would have it take over before the others' first advert, which the real one never
    // saw happen.
    let (_, adi) = timers_at(&config, config.adver_interval())
        .ok_or_else(|| "seat config: no Active_Down_Interval".to_string())?;
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
    let real_changes = infer(&tr, &freezes, adi, interval, seat);

    let tolerance = opts.tolerance_us as i64;
    let pairs = compare::pair(&real_changes, &ours_changes, adi.max(tolerance));
    let timers = |i: u16| timers_at(&config, i);
    let rules = Rules {
        others: &tr.others,
        seat,
        priority: config.priority(),
        startup,
        freezes: &freezes,
        timers: &timers,
        own_interval: config.adver_interval(),
        learns_interval: config.version() == Version::V3,
    };
    let mut rows = Vec::new();
    let mut transitions = Vec::new();
    let mut max_diff = 0i64;
    let mut ok = true;
    let ms = |us: i64| us as f64 / 1000.0;
    for (k, p) in pairs.iter().enumerate() {
        let rfc = rules.instant(p, k.checked_sub(1).map(|k| &pairs[k]));
        let diff = p.real.zip(p.ours).map(|(r, o)| o - r);
        let bad = diff.is_none_or(|d| d.abs() > tolerance);
        ok &= !bad;
        max_diff = max_diff.max(diff.map_or(0, i64::abs));
        let rfc = rfc.map(|i| {
            let off = |t: Option<i64>| t.map(|t| t - i.at);
            let (ours_off, real_off) = (off(p.ours), off(p.real));
            RfcTiming {
                at: i.at as f64 / 1e6,
                basis: i.basis,
                ours_ms: ours_off.map(ms),
                real_ms: real_off.map(ms),
                off: [("real", real_off), ("ours", ours_off)]
                    .into_iter()
                    .filter(|(_, d)| d.is_some_and(|d| d.abs() > tolerance))
                    .map(|(side, _)| side)
                    .collect(),
            }
        });
        rows.push(Row {
            t_us: p.at(),
            real: match p.real {
                Some(_) => format!("-> {}", p.state),
                None => "(none)".into(),
            },
            ours: match (p.ours, p.real) {
                (Some(_), Some(_)) => format!("-> {}", p.state),
                (Some(_), None) => format!("-> {} (extra)", p.state),
                (None, _) => "(missing)".into(),
            },
            diff_us: diff,
            rfc: rfc.as_ref().map_or(String::new(), |r| {
                let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:+.3}"));
                format!("real {} ours {}", f(r.real_ms), f(r.ours_ms))
            }),
            bad,
        });
        transitions.push(Transition {
            state: p.state.as_str(),
            real: p.real.map(|t| t as f64 / 1e6),
            ours: p.ours.map(|t| t as f64 / 1e6),
            diff_ms: diff.map(ms),
            rfc,
        });
    }
    for &(from, to) in &freezes {
        rows.push(Row {
            t_us: from,
            real: "paused".into(),
            ours: "paused (frames queue)".into(),
            diff_us: None,
            rfc: String::new(),
            bad: false,
        });
        if to != i64::MAX {
            rows.push(Row {
                t_us: to,
                real: "resumed".into(),
                ours: format!(
                    "resumed: {} frames were queued, {} dropped",
                    ours.thawed.iter().find(|t| t.0 == to).map_or(0, |t| t.1),
                    ours.queue_drops
                ),
                diff_us: None,
                rfc: String::new(),
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
            rfc: String::new(),
            bad: false,
        });
    }
    rows.sort_by_key(|r| r.t_us);
    let mut paired = 0;
    let mut advert_max = 0i64;
    for (t, _) in &real_ev {
        if let Some((o, _)) = our_ev
            .iter()
            .filter(|(o, _)| (o - t).abs() <= interval / 2)
            .min_by_key(|(o, _)| (o - t).abs())
        {
            paired += 1;
            advert_max = advert_max.max((o - t).abs());
        }
    }
    notes.push(format!(
        "advert events (a burst counts as one): real {} from {} adverts, ours {} from {}; {} paired, max |diff| {:.3} ms (reported, not in the verdict)",
        real_ev.len(),
        tr.seat.len(),
        our_ev.len(),
        ours.adverts.len(),
        paired,
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
        vrid: config.vrid(),
        real: change(&real_changes),
        ours: change(&ours_changes),
        transitions,
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
    config: &RouterConfig,
    freezes: &[(i64, i64)],
    startup: i64,
) -> Result<SeatRun, String> {
    let arena = Bump::new();
    // The core's clock cannot go below zero: it starts at the earlier of capture and startup.
    let origin = startup.min(0);
    let local = |t: i64| Instant::from_micros((t - origin) as u64);
    let mut port = Port::new(DEFAULT_QUEUE);
    let resources = arena.alloc(Resources::new());
    let buffers = arena.alloc(Buffers::new());
    let mut stack: AnyStack<'_, MAX_VIPS> = AnyStack::new(
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
    let frozen = |t: i64| freezes.iter().any(|f| t >= f.0 && t < f.1);
    let mut dirty = true;
    let mut wake: Option<i64> = None;
    let mut events: Vec<Event<IpAddr>> = Vec::new();
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
            for edge in [f.0, f.1] {
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
        "{:>11}  {:<34} {:<40} {:>9}  {}\n",
        "t (s)", "real", "ours", "diff ms", "vs RFC 9568 (ms)"
    ));
    for r in &report.rows {
        let diff = r
            .diff_us
            .map_or(String::new(), |d| format!("{:+.3}", d as f64 / 1000.0));
        s.push_str(&format!(
            "{:>11.6}  {:<34} {:<40} {:>9}  {}{}\n",
            r.t_us as f64 / 1e6,
            r.real,
            r.ours,
            diff,
            r.rfc,
            if r.bad { "  <-- differs" } else { "" }
        ));
    }
    for t in &report.transitions {
        let Some(rfc) = &t.rfc else { continue };
        let side = |name: &str, ms: Option<f64>| match ms {
            None => format!("{name} has none"),
            Some(ms) if rfc.off.contains(&name) => format!(
                "{name} is {:.3} ms {} (off the RFC)",
                ms.abs(),
                if ms > 0.0 { "late" } else { "early" }
            ),
            Some(ms) => format!("{name} {ms:+.3} ms"),
        };
        s.push_str(&format!(
            "# RFC 9568: -> {} due at {:.6}, {}: {}, {}\n",
            t.state,
            rfc.at,
            rfc.basis,
            side("real", rfc.real_ms),
            side("ours", rfc.ours_ms)
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
