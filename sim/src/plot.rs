//! Timelines as SVG: one lane per router, its states as coloured spans, its adverts as ticks.
//!
//! A lane is one router in one virtual router, named by the source address of its adverts
//! (and the VRID when the trace has more than one). Its spans are Initialize, Backup and
//! Active; every advert is a tick above them, a priority-0 advert (RFC 9568 §6.4.3, leaving
//! Active) a tall red tick, a gratuitous ARP or unsolicited Neighbor Advertisement for a VIP an
//! orange triangle below them, and a pause (SIGSTOP, `docker pause`) a shaded box over the lane.
//!
//! - From a trace ([`from_trace`]) the states are what the replay infers from what the trace
//!   proves ([`crate::replay::infer_router`]): a router is not Active until its first advert,
//!   so a lane starts Backup (a trace cannot show Initialize), and the pauses come from an
//!   events file in the format `vrrp-sim replay` reads ([`crate::replay::events`]).
//! - From a simulator run ([`from_run`]) the states are the ones the routers went through,
//!   Initialize included, and the pauses the scenario's; ticks and triangles come from the
//!   run's frames, read the same way as a trace's.
//!
//! The picture is drawn with plotters' SVG backend only, from [`Timeline`], which tests and
//! other callers can inspect.

use std::net::IpAddr;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use vrrp_core::State;

use crate::pcap::TraceFrame;
use crate::replay::{infer_router, parse_any};
use crate::run::Outcome;
use crate::scenario::Scenario;
use crate::world::{Action, FrameKind, Kind, classify};

pub const INITIALIZE: RGBColor = RGBColor(0xC7, 0xC7, 0xC7);
pub const BACKUP: RGBColor = RGBColor(0x9E, 0xCA, 0xE1);
pub const ACTIVE: RGBColor = RGBColor(0x31, 0xA3, 0x54);
pub const ADVERT: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub const PRIORITY_ZERO: RGBColor = RGBColor(0xD6, 0x27, 0x28);
pub const ANNOUNCE: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
pub const PAUSED: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Picture geometry (pixels). Public so that a test can map an x back to a time.
pub const WIDTH: u32 = 900;
pub const LEFT: i32 = 150;
pub const RIGHT: i32 = 20;
/// Height of the legend above the first lane.
pub const TOP: i32 = 44;
pub const LANE: i32 = 46;
const AXIS: i32 = 30;

/// What the picture shows, in µs since its origin.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub title: String,
    pub end: i64,
    pub lanes: Vec<Lane>,
    /// What could not be drawn as the trace says, for the user.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Lane {
    pub label: String,
    pub router: Option<IpAddr>,
    pub vrid: u8,
    /// Consecutive spans `(from, to, state)` covering the lane from its first to the end.
    pub spans: Vec<(i64, i64, State)>,
    pub adverts: Vec<i64>,
    pub priority_zero: Vec<i64>,
    /// Gratuitous ARPs and unsolicited Neighbor Advertisements for its VIPs.
    pub announces: Vec<i64>,
    pub pauses: Vec<(i64, i64)>,
    /// The source MAC of its adverts and the VIPs they carry, to attribute announcements.
    mac: Option<[u8; 6]>,
    vips: Vec<IpAddr>,
}

/// The lanes of a trace (frames sorted by time, see [`crate::pcap::read_trace`]); `events` is
/// the text of an events file. Times are since the first frame.
pub fn from_trace(
    frames: &[TraceFrame],
    events: Option<&str>,
    title: &str,
) -> Result<Timeline, String> {
    let t0 = frames.first().map_or(0, |f| f.at as i64);
    let mut tl = frames_to_lanes(frames, t0);
    if tl.lanes.is_empty() {
        return Err("no VRRP adverts in this trace".into());
    }
    tl.title = title.to_string();
    for lane in &mut tl.lanes {
        let router = lane.router.expect("trace lanes have an address");
        let inferred = match infer_router(frames, router, lane.vrid, events) {
            Ok(i) => i,
            Err(e) => {
                tl.notes
                    .push(format!("{}: states not inferred: {e}", lane.label));
                Default::default()
            }
        };
        let changes: Vec<(i64, State)> = inferred.changes;
        lane.spans = spans(0, State::Backup, &changes, tl.end);
        lane.pauses = inferred
            .freezes
            .iter()
            .map(|&(a, b)| (a, b.min(tl.end)))
            .collect();
    }
    Ok(tl)
}

/// The lanes of a simulator run recorded with its pcap (`Outcome::pcap`): the states the
/// routers went through and the scenario's pauses. Times are since the start of the run.
pub fn from_run(scenario: &Scenario, out: &Outcome, title: &str) -> Result<Timeline, String> {
    let frames = crate::pcap::read_trace(&out.pcap)?;
    let mut tl = frames_to_lanes(&frames, 0);
    tl.title = title.to_string();
    tl.end = scenario.duration as i64;
    // A router that never advertised still has a lane: the picture must show who stayed Backup.
    for (n, node) in scenario.nodes.iter().enumerate() {
        for r in &node.routers {
            let (ip, vrid) = (r.primary(), r.vrid());
            if !tl
                .lanes
                .iter()
                .any(|l| l.router == Some(ip) && l.vrid == vrid)
            {
                tl.lanes.push(Lane {
                    router: Some(ip),
                    vrid,
                    ..Lane::default()
                });
            }
            let lane = tl
                .lanes
                .iter_mut()
                .find(|l| l.router == Some(ip) && l.vrid == vrid)
                .expect("pushed above");
            let changes: Vec<(i64, State)> = out
                .log
                .iter()
                .filter(|e| e.node == n)
                .filter_map(|e| match e.kind {
                    Kind::State { vrid: v, to, .. } if v.id == vrid && v.v6 == r.is_v6() => {
                        Some((e.at as i64, to))
                    }
                    _ => None,
                })
                .collect();
            lane.spans = spans(0, State::Initialize, &changes, tl.end);
            let mut paused = None;
            for (at, a) in &scenario.actions {
                match a {
                    Action::Pause(p) if *p == n => paused = Some(*at as i64),
                    Action::Resume(p) if *p == n => {
                        if let Some(from) = paused.take() {
                            lane.pauses.push((from, *at as i64));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(from) = paused {
                lane.pauses.push((from, tl.end));
            }
            lane.label = format!("{} {}", node.name, ip);
        }
    }
    label_vrids(&mut tl.lanes);
    Ok(tl)
}

/// Consecutive spans from `start` in `first`, changing at `changes` (repeats ignored).
fn spans(start: i64, first: State, changes: &[(i64, State)], end: i64) -> Vec<(i64, i64, State)> {
    let mut out = Vec::new();
    let (mut from, mut state) = (start, first);
    for &(at, to) in changes {
        if to == state || at >= end {
            continue;
        }
        if at > from {
            out.push((from, at, state));
        }
        (from, state) = (at.max(from), to);
    }
    if end > from {
        out.push((from, end, state));
    }
    out
}

/// Lanes with their adverts and announcements, in order of each router's first advert.
fn frames_to_lanes(frames: &[TraceFrame], t0: i64) -> Timeline {
    let mut lanes: Vec<Lane> = Vec::new();
    for f in frames {
        let at = f.at as i64 - t0;
        match classify(&f.data) {
            FrameKind::Advert { vrid, priority, .. } => {
                let Some((src, repr, _)) = parse_any(&f.data) else {
                    continue;
                };
                let k = match lanes
                    .iter()
                    .position(|l| l.router == Some(src) && l.vrid == vrid)
                {
                    Some(k) => k,
                    None => {
                        let vips = repr.addresses.iter_v4().map(IpAddr::V4);
                        lanes.push(Lane {
                            label: src.to_string(),
                            router: Some(src),
                            vrid,
                            mac: f.data[6..12].try_into().ok(),
                            vips: vips
                                .chain(repr.addresses.iter_v6().map(IpAddr::V6))
                                .collect(),
                            ..Lane::default()
                        });
                        lanes.len() - 1
                    }
                };
                if priority == 0 {
                    lanes[k].priority_zero.push(at);
                } else {
                    lanes[k].adverts.push(at);
                }
            }
            FrameKind::Arp | FrameKind::Na { unsolicited: true } => {
                if let Some(vip) = announced(&f.data)
                    && let Some(k) = announcer(&lanes, vip, &f.data[6..12], at)
                {
                    lanes[k].announces.push(at);
                }
            }
            _ => {}
        }
    }
    label_vrids(&mut lanes);
    Timeline {
        end: frames.last().map_or(0, |f| f.at as i64 - t0),
        lanes,
        ..Timeline::default()
    }
}

/// With more than one virtual router in the picture, a lane says which one it is.
fn label_vrids(lanes: &mut [Lane]) {
    let first = lanes.first().map(|l| l.vrid);
    if lanes.iter().any(|l| Some(l.vrid) != first) {
        for l in lanes {
            l.label = format!("{} vrid {}", l.label, l.vrid);
        }
    }
}

/// The address a gratuitous ARP (sender and target address the same) or an unsolicited
/// Neighbor Advertisement (its target) announces.
fn announced(frame: &[u8]) -> Option<IpAddr> {
    match frame.get(12..14)? {
        [0x08, 0x06] => {
            let arp = frame.get(14..42)?;
            (arp[14..18] == arp[24..28])
                .then(|| IpAddr::from(<[u8; 4]>::try_from(&arp[14..18]).expect("4 bytes")))
        }
        [0x86, 0xdd] => {
            let target = frame.get(14 + 40 + 8..14 + 40 + 24)?;
            Some(IpAddr::from(<[u8; 16]>::try_from(target).ok()?))
        }
        _ => None,
    }
}

/// The lane that announced `vip`: among the routers advertising it, the one whose adverts
/// come from the same MAC if only one does (hosts that move the VIP between their own MACs),
/// otherwise the last to advertise (senders from the virtual MAC: the one that just became
/// Active).
fn announcer(lanes: &[Lane], vip: IpAddr, mac: &[u8], at: i64) -> Option<usize> {
    let owners: Vec<usize> = (0..lanes.len())
        .filter(|&k| lanes[k].vips.contains(&vip))
        .collect();
    let by_mac: Vec<usize> = owners
        .iter()
        .copied()
        .filter(|&k| lanes[k].mac.is_some_and(|m| m == mac))
        .collect();
    if let [k] = by_mac[..] {
        return Some(k);
    }
    let last = |k: &usize| {
        let l = &lanes[*k];
        l.adverts
            .iter()
            .chain(&l.priority_zero)
            .filter(|&&t| t <= at)
            .max()
            .copied()
    };
    owners
        .iter()
        .filter(|k| last(k).is_some())
        .max_by_key(|k| last(k))
        .copied()
}

pub fn state_colour(s: State) -> RGBColor {
    match s {
        State::Initialize => INITIALIZE,
        State::Backup => BACKUP,
        State::Active => ACTIVE,
    }
}

/// The x of time `t` (µs) in a picture of `end` µs.
pub fn x_of(t: i64, end: i64) -> i32 {
    let span = i64::from(WIDTH as i32 - LEFT - RIGHT);
    LEFT + (t.clamp(0, end.max(1)) * span / end.max(1)) as i32
}

/// The picture as an SVG document.
pub fn svg(tl: &Timeline) -> Result<String, String> {
    let height = (TOP + LANE * tl.lanes.len() as i32 + AXIS) as u32;
    let mut out = String::new();
    draw(tl, SVGBackend::with_string(&mut out, (WIDTH, height)))
        .map_err(|e| format!("drawing: {e}"))?;
    Ok(out)
}

type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(tl: &Timeline, backend: SVGBackend<'_>) -> DrawResult {
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let font = |size: i32, h: HPos| {
        TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, VPos::Center))
    };
    root.draw(&Text::new(tl.title.clone(), (8, 10), font(13, HPos::Left)))?;
    legend(&root)?;
    let end = tl.end.max(1);
    let x = |t: i64| x_of(t, end);
    let axis_y = TOP + LANE * tl.lanes.len() as i32;

    // Grid: about ten labelled instants, at a round step.
    let step = [
        100_000,
        200_000,
        500_000,
        1_000_000,
        2_000_000,
        5_000_000,
        10_000_000,
        20_000_000,
        30_000_000,
        60_000_000,
        120_000_000,
        300_000_000,
        600_000_000,
    ]
    .into_iter()
    .find(|s| end / s <= 10)
    .unwrap_or(3_600_000_000);
    let grid = RGBColor(0xE0, 0xE0, 0xE0);
    let mut t = 0;
    while t <= end {
        root.draw(&PathElement::new(
            vec![(x(t), TOP), (x(t), axis_y + 4)],
            grid,
        ))?;
        let label = if step < 1_000_000 {
            format!("{:.1} s", t as f64 / 1e6)
        } else {
            format!("{} s", t / 1_000_000)
        };
        root.draw(&Text::new(
            label,
            (x(t), axis_y + 14),
            font(11, HPos::Center),
        ))?;
        t += step;
    }

    for (k, lane) in tl.lanes.iter().enumerate() {
        let y = TOP + LANE * k as i32;
        root.draw(&Text::new(
            lane.label.clone(),
            (LEFT - 8, y + 25),
            font(12, HPos::Right),
        ))?;
        for &(from, to, state) in &lane.spans {
            root.draw(&Rectangle::new(
                [(x(from), y + 16), (x(to), y + 34)],
                state_colour(state).filled(),
            ))?;
        }
        // Ticks closer than a pixel are one tick: a burst of adverts is one mark.
        let mut ticks: Vec<i32> = lane.adverts.iter().map(|&t| x(t)).collect();
        ticks.dedup();
        for tx in ticks {
            root.draw(&PathElement::new(vec![(tx, y + 6), (tx, y + 16)], ADVERT))?;
        }
        for &t in &lane.priority_zero {
            root.draw(&PathElement::new(
                vec![(x(t), y + 2), (x(t), y + 36)],
                PRIORITY_ZERO.stroke_width(2),
            ))?;
        }
        let mut marks: Vec<i32> = lane.announces.iter().map(|&t| x(t)).collect();
        marks.dedup();
        for mx in marks {
            root.draw(&Polygon::new(
                vec![(mx, y + 35), (mx - 4, y + 43), (mx + 4, y + 43)],
                ANNOUNCE.filled(),
            ))?;
        }
        for &(from, to) in &lane.pauses {
            root.draw(&Rectangle::new(
                [(x(from), y + 2), (x(to), y + 44)],
                PAUSED.mix(0.3).filled(),
            ))?;
        }
    }
    root.draw(&PathElement::new(
        vec![(LEFT, axis_y + 4), (x(end), axis_y + 4)],
        ADVERT,
    ))?;
    root.present()?;
    Ok(())
}

/// The key, in one row above the lanes (its boxes end above [`TOP`], so that they are never
/// taken for spans).
fn legend(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult {
    let font =
        TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut lx = LEFT;
    let y = 30;
    for (name, colour) in [
        ("Initialize", INITIALIZE),
        ("Backup", BACKUP),
        ("Active", ACTIVE),
    ] {
        root.draw(&Rectangle::new(
            [(lx, y - 5), (lx + 14, y + 5)],
            colour.filled(),
        ))?;
        root.draw(&Text::new(name, (lx + 18, y), font.clone()))?;
        lx += 90;
    }
    root.draw(&PathElement::new(vec![(lx, y - 5), (lx, y + 5)], ADVERT))?;
    root.draw(&Text::new("advert", (lx + 6, y), font.clone()))?;
    lx += 60;
    root.draw(&PathElement::new(
        vec![(lx, y - 7), (lx, y + 7)],
        PRIORITY_ZERO.stroke_width(2),
    ))?;
    root.draw(&Text::new("priority 0", (lx + 6, y), font.clone()))?;
    lx += 80;
    root.draw(&Polygon::new(
        vec![(lx, y - 4), (lx - 4, y + 4), (lx + 4, y + 4)],
        ANNOUNCE.filled(),
    ))?;
    root.draw(&Text::new("gratuitous ARP / NA", (lx + 8, y), font.clone()))?;
    lx += 135;
    root.draw(&Rectangle::new(
        [(lx, y - 7), (lx + 14, y + 7)],
        PAUSED.mix(0.3).filled(),
    ))?;
    root.draw(&Text::new("paused", (lx + 18, y), font))?;
    Ok(())
}
