//! `vrrp-sim plot`: the SVG's lanes, spans, ticks and pauses are where the run put them. The
//! SVG is read back as text, so a missing or misplaced span fails the test.

use std::path::PathBuf;
use std::process::Command;

use vrrp_sim::plot::{self, ACTIVE, ANNOUNCE, BACKUP, INITIALIZE, LANE, LEFT, PAUSED, TOP};
use vrrp_sim::scenario::Scenario;

fn scenario(name: &str) -> (PathBuf, Scenario) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let s = Scenario::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path, s)
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// One `<tag .../>` of the SVG with its attributes, or `<text>` with its content in `text`.
#[derive(Debug)]
struct Elem {
    tag: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl Elem {
    fn get(&self, k: &str) -> &str {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map_or("", |(_, v)| v)
    }
    fn num(&self, k: &str) -> i32 {
        self.get(k)
            .parse()
            .unwrap_or_else(|_| panic!("{k} of {self:?}"))
    }
}

fn parse(svg: &str) -> Vec<Elem> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap();
        let tag_text = &rest[..end];
        rest = &rest[end + 1..];
        if tag_text.starts_with('/') || tag_text.starts_with('?') {
            continue;
        }
        let tag: String = tag_text
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        let mut attrs = Vec::new();
        let mut a = &tag_text[tag.len()..];
        while let Some(eq) = a.find("=\"") {
            let key = a[..eq].trim().to_string();
            let v = &a[eq + 2..];
            let close = v.find('"').unwrap();
            attrs.push((key, v[..close].to_string()));
            a = &v[close + 1..];
        }
        let text = if tag == "text" {
            rest[..rest.find('<').unwrap()].trim().to_string()
        } else {
            String::new()
        };
        out.push(Elem { tag, attrs, text });
    }
    out
}

/// The lane a y belongs to (the legend is above the first lane: `None`).
/// The y of a polyline's first point.
fn first_y(e: &Elem) -> i32 {
    e.get("points")
        .split([',', ' '])
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn lane_of(y: i32) -> Option<usize> {
    (y >= TOP).then(|| ((y - TOP) / LANE) as usize)
}

/// Spans of each lane as (x from, x to, colour), left to right.
fn spans(elems: &[Elem], lanes: usize) -> Vec<Vec<(i32, i32, String)>> {
    let states = [hex(INITIALIZE), hex(BACKUP), hex(ACTIVE)];
    let mut out = vec![Vec::new(); lanes];
    for e in elems.iter().filter(|e| e.tag == "rect") {
        let fill = e.get("fill").to_string();
        if !states.contains(&fill) {
            continue;
        }
        if let Some(l) = lane_of(e.num("y")) {
            let x = e.num("x");
            out[l].push((x, x + e.num("width"), fill));
        }
    }
    for l in &mut out {
        l.sort();
    }
    out
}

/// The x of `t` seconds in a picture of `end` µs, within a pixel of `x`.
fn at(x: i32, t: f64, end: i64) -> bool {
    (x - plot::x_of((t * 1e6).round() as i64, end)).abs() <= 1
}

fn lane_labels(elems: &[Elem]) -> Vec<String> {
    elems
        .iter()
        .filter(|e| e.tag == "text" && e.get("text-anchor") == "end")
        .map(|e| e.text.clone())
        .collect()
}

/// The seed demo (pause the Active 6 s) recorded as pcap and drawn from the trace alone: the
/// states are inferred, the pause comes from an events file.
#[test]
fn trace_of_a_pause_failover() {
    let (_, s) = scenario("seed-demo.vrrp");
    let out = vrrp_sim::run::run(&s, s.seed, true);
    let frames = vrrp_sim::pcap::read_trace(&out.pcap).unwrap();
    // The run's pcap stamps frames with its virtual time since the Unix epoch.
    let t0 = frames[0].at as f64 / 1e6;
    let events = "pause r1 10.0\nsigterm r9 11.0\nresume r1 at 16.0\n";
    let tl = plot::from_trace(&frames, Some(events), "seed demo").unwrap();
    let svg = plot::svg(&tl).unwrap();
    let elems = parse(&svg);
    let end = tl.end;

    assert_eq!(lane_labels(&elems), ["192.0.2.11", "192.0.2.12"]);
    let sp = spans(&elems, 2);
    let (b, a) = (hex(BACKUP), hex(ACTIVE));
    // r1: Backup until its first advert, then Active throughout (its pause is explained by the
    // freeze, so it never stepped down).
    assert_eq!(sp[0].len(), 2, "{:?}", sp[0]);
    assert_eq!((sp[0][0].0, &sp[0][0].2), (LEFT, &b));
    assert!(at(sp[0][1].0, 3.414062 - t0, end), "{:?}", sp[0]);
    assert_eq!(sp[0][1].2, a);
    // r2: Backup, Active from its takeover until r1's thaw, Backup.
    assert_eq!(
        sp[1].iter().map(|s| s.2.as_str()).collect::<Vec<_>>(),
        [b.as_str(), a.as_str(), b.as_str()]
    );
    assert!(at(sp[1][1].0, 13.023437 - t0, end), "{:?}", sp[1]);
    assert!(at(sp[1][2].0, 16.0 - t0, end), "{:?}", sp[1]);
    // Spans tile each lane without a gap.
    for lane in &sp {
        for w in lane.windows(2) {
            assert_eq!(w[0].1, w[1].0, "{lane:?}");
        }
    }

    // The pause: one shaded box, on r1's lane only, from 10 s to 16 s.
    let pauses: Vec<&Elem> = elems
        .iter()
        .filter(|e| e.tag == "rect" && e.get("fill") == hex(PAUSED))
        .filter(|e| lane_of(e.num("y")).is_some())
        .collect();
    assert_eq!(pauses.len(), 1);
    assert_eq!(lane_of(pauses[0].num("y")), Some(0));
    assert!(at(pauses[0].num("x"), 10.0 - t0, end));
    assert!(at(
        pauses[0].num("x") + pauses[0].num("width"),
        16.0 - t0,
        end
    ));

    // r2's three adverts (13.02, 14.02, 15.02 s) are ticks on its lane, its announcements
    // triangles from its takeover on.
    let ticks: Vec<i32> = elems
        .iter()
        .filter(|e| e.tag == "polyline" && e.get("stroke") == hex(plot::ADVERT))
        .filter(|e| lane_of(first_y(e)) == Some(1))
        .map(|e| e.get("points").split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ticks.len(), 3, "{ticks:?}");
    assert!(at(ticks[0], 13.023437 - t0, end));
    let garps = elems
        .iter()
        .filter(|e| e.tag == "polygon" && e.get("fill") == hex(ANNOUNCE))
        .filter(|e| lane_of(first_y(e)) == Some(1))
        .count();
    assert!(garps >= 1, "no gratuitous ARP on r2's lane");
}

/// `run --plot` draws the states the routers went through: after SIGTERM r1 is down
/// (Initialize), with its priority-0 advert marked.
#[test]
fn run_plot_of_a_graceful_stop() {
    let (path, _) = scenario("graceful-stop.vrrp");
    let svg_path = std::env::temp_dir().join(format!("vrrp-sim-plot-{}.svg", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_vrrp-sim"))
        .args(["run", path.to_str().unwrap(), "-q", "--plot"])
        .arg(&svg_path)
        .status()
        .unwrap();
    assert!(status.success());
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    std::fs::remove_file(&svg_path).unwrap();
    let elems = parse(&svg);
    let end = 15_000_000;

    assert_eq!(lane_labels(&elems), ["r1 192.0.2.11", "r2 192.0.2.12"]);
    let sp = spans(&elems, 2);
    let names = |l: &[(i32, i32, String)]| l.iter().map(|s| s.2.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&sp[0]),
        [hex(BACKUP), hex(ACTIVE), hex(INITIALIZE)],
        "{:?}",
        sp[0]
    );
    assert!(at(sp[0][1].0, 3.21875, end));
    assert!(at(sp[0][2].0, 5.0, end));
    assert_eq!(names(&sp[1]), [hex(BACKUP), hex(ACTIVE)]);
    assert!(at(sp[1][1].0, 5.609375, end));
    let zero: Vec<&Elem> = elems
        .iter()
        .filter(|e| e.tag == "polyline" && e.get("stroke") == hex(plot::PRIORITY_ZERO))
        .filter(|e| lane_of(first_y(e)).is_some())
        .collect();
    assert_eq!(zero.len(), 1);
    let x: i32 = zero[0]
        .get("points")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(at(x, 5.0, end));
}

/// README's failover picture is this test's drawing of the shared keepalived trace: the test
/// draws it again and requires the committed file to be the same, so the picture cannot drift
/// from the code. `VRRP_PLOT_WRITE=1` writes the drawing to the file instead (after a change to
/// the plot). The trace is read where the repository keeps it, beside the project, not copied.
#[test]
fn readme_picture_is_the_drawing_of_the_shared_keepalived_trace() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let traces = root.join("../shared/traces");
    let pcap = traces.join("keepalived-v3-1s-pause.pcap");
    let Ok(bytes) = std::fs::read(&pcap) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing under CI",
            pcap.display()
        );
        println!("skipped: {} not found (the shared traces)", pcap.display());
        return;
    };
    let events = std::fs::read_to_string(traces.join("keepalived-v3-1s-pause.events.txt")).unwrap();
    let frames = vrrp_sim::pcap::read_trace(&bytes).unwrap();
    let tl = plot::from_trace(
        &frames,
        Some(&events),
        "keepalived 2.2.7, advert_int 1: docker pause of the Active r1 for 6 s",
    )
    .unwrap();
    // Two routers, and each is Active at some point: r1 before the pause, r2 during it.
    assert_eq!(tl.lanes.len(), 2, "{:?}", tl.notes);
    let svg = plot::svg(&tl).unwrap();
    let active = hex(ACTIVE);
    let elems = parse(&svg);
    let spans = spans(&elems, tl.lanes.len());
    for (i, lane) in spans.iter().enumerate() {
        assert!(
            lane.iter().any(|(_, _, c)| *c == active),
            "lane {i} is never Active: {lane:?}"
        );
    }
    let picture = root.join("docs/keepalived-failover.svg");
    if std::env::var_os("VRRP_PLOT_WRITE").is_some() {
        std::fs::write(&picture, &svg).unwrap();
    }
    let committed = std::fs::read_to_string(&picture).unwrap();
    assert!(
        committed == svg,
        "{} is not what the plot draws now: rerun with VRRP_PLOT_WRITE=1",
        picture.display()
    );
}
