//! The compact timeline: one line per event, as VOPR prints it.
//!
//! ```text
//!  13.609375 r2/10  Backup -> Active (active_down) | advert p100, arp
//!  16.000000 r1     resume: 4 frames were queued, 0 dropped
//! ```

use crate::link::{Fault, Scope};
use crate::time::fmt;
use crate::world::{Action, Entry, FrameKind, Kind, LAN};

/// Renders the log; entries of one router at one instant share a line. With `adverts` false,
/// lines that only send a periodic advert are left out.
pub fn render(log: &[Entry], names: &[String], adverts: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < log.len() {
        let e = &log[i];
        match &e.kind {
            Kind::Action(a) => lines.push(format!("{:>11} {}", fmt(e.at), action(a, names))),
            Kind::Thawed { queued, dropped } => lines.push(format!(
                "{:>11} {:<6} thawed: {queued} frames were queued, {dropped} dropped",
                fmt(e.at),
                names[e.node]
            )),
            Kind::QueueFull { vrid } => {
                let mut n = 1;
                while log
                    .get(i + n)
                    .is_some_and(|x| x.node == e.node && x.kind == Kind::QueueFull { vrid: *vrid })
                {
                    n += 1;
                }
                lines.push(format!(
                    "{:>11} {:<6} receive queue full: {n} frame(s) dropped",
                    fmt(e.at),
                    format!("{}/{vrid}", names[e.node])
                ));
                i += n;
                continue;
            }
            Kind::Misdirected { vrid, port } => lines.push(format!(
                "{:>11} {:<6} frames to the virtual MAC go to {}'s port while it is the only Active",
                fmt(e.at),
                format!("{}/{vrid}", names[e.node]),
                names.get(*port).map_or("the outside hosts", String::as_str)
            )),
            Kind::Priority { vrid, from, to } => lines.push(format!(
                "{:>11} {:<6} priority {from} -> {to} (tracking)",
                fmt(e.at),
                format!("{}/{vrid}", names[e.node])
            )),
            Kind::State { vrid, .. } | Kind::Sent { vrid, .. } | Kind::Dropped { vrid, .. } => {
                let vrid = *vrid;
                let mut states = Vec::new();
                let mut sent: Vec<String> = Vec::new();
                let mut dropped: Vec<String> = Vec::new();
                // Leaving this line out of a quiet timeline needs every frame to be an advert
                // with a priority, and no two to one destination (a thaw sends a reply too).
                let mut periodic = true;
                let mut dests = Vec::new();
                let mut j = i;
                while let Some(x) = log.get(j) {
                    if x.at != e.at || x.node != e.node {
                        break;
                    }
                    match x.kind {
                        Kind::State {
                            vrid: v,
                            from,
                            to,
                            reason,
                        } if v == vrid => states.push(format!("{from} -> {to} ({reason})")),
                        Kind::Sent { vrid: v, frame } if v == vrid => {
                            match frame {
                                FrameKind::Advert {
                                    priority: 1.., to, ..
                                } if !dests.contains(&to) => dests.push(to),
                                _ => periodic = false,
                            }
                            sent.push(match frame {
                                FrameKind::Advert { priority, to, .. } if to.is_multicast() => {
                                    format!("advert p{priority}")
                                }
                                FrameKind::Advert { priority, to, .. } => {
                                    format!("advert p{priority} to {to}")
                                }
                                FrameKind::Arp => "arp".into(),
                                FrameKind::Igmp => "igmp".into(),
                                FrameKind::Na { unsolicited: true } => "na".into(),
                                FrameKind::Na { unsolicited: false } => "na (solicited)".into(),
                                FrameKind::Ns => "ns".into(),
                                FrameKind::Mld => "mld".into(),
                                FrameKind::Other => "other".into(),
                            })
                        }
                        Kind::Dropped { vrid: v, reason } if v == vrid => {
                            dropped.push(format!("advert ({})", reason.as_str()))
                        }
                        _ => break,
                    }
                    j += 1;
                }
                i = j;
                let only_advert = states.is_empty() && dropped.is_empty() && periodic;
                if only_advert && !adverts {
                    continue;
                }
                let mut parts = Vec::new();
                if !states.is_empty() {
                    parts.push(states.join(", "));
                }
                if !sent.is_empty() {
                    parts.push(format!("sent {}", compress(&sent)));
                }
                if !dropped.is_empty() {
                    parts.push(format!("dropped {}", compress(&dropped)));
                }
                lines.push(format!(
                    "{:>11} {:<6} {}",
                    fmt(e.at),
                    format!("{}/{vrid}", names[e.node]),
                    parts.join(" | ")
                ));
                continue;
            }
        }
        i += 1;
    }
    lines
}

/// `arp, arp, arp` -> `arp x3`.
fn compress(items: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k < items.len() {
        let n = items[k..].iter().take_while(|x| **x == items[k]).count();
        out.push(if n > 1 {
            format!("{} x{n}", items[k])
        } else {
            items[k].clone()
        });
        k += n;
    }
    out.join(", ")
}

fn scope(s: &Scope, names: &[String]) -> String {
    let n = |o: Option<usize>| o.map_or("*".to_string(), |i| names[i].clone());
    format!("{}->{}", n(s.from), n(s.to))
}

fn scopes(list: &[Scope], names: &[String]) -> String {
    if list == [Scope::ALL] {
        return "all".into();
    }
    list.iter()
        .map(|s| scope(s, names))
        .collect::<Vec<_>>()
        .join(" ")
}

fn action(a: &Action, names: &[String]) -> String {
    let node = |n: &usize| format!("{:<6} ", names[*n]);
    match a {
        Action::Start(n) => format!("{}start", node(n)),
        Action::Pause(n) => format!("{}pause", node(n)),
        Action::Resume(n) => format!("{}resume", node(n)),
        Action::Kill(n) => format!("{}kill", node(n)),
        Action::Stop(n) => format!("{}stop", node(n)),
        Action::Priority {
            node: n,
            vrid,
            priority,
        } => format!("{}priority {priority} vrid {vrid}", node(n)),
        Action::Fault { scopes: s, fault } => {
            let what = match fault {
                Fault::Loss(p) => format!("loss {}%", p / 10_000),
                Fault::Delay { base, jitter } => format!("delay {base}us jitter {jitter}us"),
                Fault::Duplicate { ppm, .. } => format!("duplicate {}%", ppm / 10_000),
                Fault::Reorder { ppm, window } => {
                    format!("reorder {}% window {window}us", ppm / 10_000)
                }
                Fault::Block => "partition".into(),
            };
            format!("{:<6} {what} {}", "link", scopes(s, names))
        }
        Action::Heal(s) => format!("{:<6} heal {}", "link", scopes(s, names)),
        Action::Link { node: n, link, up } => format!(
            "{}link-{} {link}{}",
            node(n),
            if *up { "up" } else { "down" },
            if link == LAN && !*up {
                " (no carrier: frames lost both ways)"
            } else {
                ""
            }
        ),
    }
}
