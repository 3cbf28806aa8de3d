//! Checking a finished run's timeline against a scenario's expectations.

use vrrp_core::State;

use crate::scenario::Expect;
use crate::time::{Micros, fmt};
use crate::world::{Action, Entry, FrameKind, Kind, Vrid};

/// What one router (node, VRID) looked like from outside over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The core's state; `None` while the process is down.
    pub state: Option<State>,
    pub paused: bool,
}

impl View {
    /// Active and able to act on it: a frozen Active answers nothing.
    pub fn serving(&self) -> bool {
        self.state == Some(State::Active) && !self.paused
    }
}

/// The views of one router over time, as steps: `(from, view)`.
pub fn history(log: &[Entry], node: usize, vrid: Vrid) -> Vec<(Micros, View)> {
    let mut out: Vec<(Micros, View)> = vec![(
        0,
        View {
            state: None,
            paused: false,
        },
    )];
    let mut cur = out[0].1;
    for e in log {
        let mut next = cur;
        match &e.kind {
            Kind::Action(a) => match a {
                Action::Start(n) if *n == node && cur.state.is_none() => {
                    next.state = Some(State::Initialize);
                    next.paused = false;
                }
                Action::Pause(n) if *n == node && cur.state.is_some() => next.paused = true,
                Action::Resume(n) if *n == node => next.paused = false,
                Action::Kill(n) | Action::Stop(n) if *n == node => {
                    next.state = None;
                    next.paused = false;
                }
                _ => {}
            },
            // A stop logs its own Active -> Initialize after the stop: the process is gone.
            Kind::State { vrid: v, to, .. }
                if e.node == node && *v == vrid && cur.state.is_some() =>
            {
                next.state = Some(*to);
            }
            _ => {}
        }
        if next != cur {
            cur = next;
            match out.last_mut() {
                Some(last) if last.0 == e.at => last.1 = cur,
                _ => out.push((e.at, cur)),
            }
        }
    }
    out
}

pub fn view_at(history: &[(Micros, View)], at: Micros) -> View {
    history
        .iter()
        .take_while(|(t, _)| *t <= at)
        .last()
        .map(|(_, v)| *v)
        .unwrap_or(history[0].1)
}

/// Spans (start, end) after `after` during which two or more routers of `vrid` serve as Active,
/// longer than `tolerance`. `end` is `until` for an overlap still open.
pub fn double_actives(
    log: &[Entry],
    nodes: usize,
    vrid: Vrid,
    after: Micros,
    until: Micros,
    tolerance: Micros,
) -> Vec<(Micros, Micros, Vec<usize>)> {
    let hs: Vec<_> = (0..nodes).map(|n| history(log, n, vrid)).collect();
    let times: Vec<Micros> = hs.iter().flatten().map(|(t, _)| *t).collect();
    spans(times, after, until, tolerance, |t| {
        let serving: Vec<usize> = (0..nodes)
            .filter(|&n| view_at(&hs[n], t).serving())
            .collect();
        (serving.len() >= 2).then_some(serving)
    })
}

/// The spans, among instants `times` from `after` on, during which `bad(t)` says something is
/// wrong, longer than `tolerance`: (start, end, what `bad` said at the start). `end` is `until`
/// for a span still open.
fn spans<T>(
    mut times: Vec<Micros>,
    after: Micros,
    until: Micros,
    tolerance: Micros,
    bad: impl Fn(Micros) -> Option<T>,
) -> Vec<(Micros, Micros, T)> {
    times.push(after);
    times.sort_unstable();
    times.dedup();
    let mut out = Vec::new();
    let mut open: Option<(Micros, T)> = None;
    for &t in times.iter().filter(|&&t| t >= after) {
        match (open.take(), bad(t)) {
            (None, found) => open = found.map(|f| (t, f)),
            (Some((start, what)), None) => {
                if t - start > tolerance {
                    out.push((start, t, what));
                }
            }
            (still, Some(_)) => open = still,
        }
    }
    if let Some((start, what)) = open
        && until - start > tolerance
    {
        out.push((start, until, what));
    }
    out
}

/// Every VRID anyone in the log sends or changes state for.
pub fn vrids(log: &[Entry]) -> Vec<Vrid> {
    let mut v: Vec<Vrid> = log
        .iter()
        .filter_map(|e| match e.kind {
            Kind::State { vrid, .. } => Some(vrid),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Adverts `node` sent for `vrid`, in order.
pub fn adverts(log: &[Entry], node: usize, vrid: Vrid) -> impl Iterator<Item = (Micros, u8)> + '_ {
    log.iter().filter_map(move |e| match e.kind {
        Kind::Sent {
            vrid: v,
            frame: FrameKind::Advert { priority, .. },
        } if e.node == node && v == vrid => Some((e.at, priority)),
        _ => None,
    })
}

/// Checks one expectation; `Err` says what happened instead.
pub fn check(e: &Expect, log: &[Entry], names: &[String], until: Micros) -> Result<String, String> {
    match *e {
        Expect::State {
            node,
            vrid,
            at,
            state,
        } => {
            let got = view_at(&history(log, node, vrid), at).state;
            let show = |s: Option<State>| s.map_or("Down", |s| s.as_str());
            let what = format!("{} vrid {vrid} {} at {}", names[node], show(state), fmt(at));
            if got == state {
                Ok(what)
            } else {
                Err(format!("{what}: was {}", show(got)))
            }
        }
        Expect::Takeover {
            node,
            vrid,
            from,
            to,
        } => {
            let what = format!(
                "{} vrid {vrid} takes over in {}..{}",
                names[node],
                fmt(from),
                fmt(to)
            );
            let first = log.iter().find(|x| {
                x.node == node
                    && x.at >= from
                    && matches!(x.kind, Kind::State { vrid: v, to: State::Active, .. } if v == vrid)
            });
            match first {
                Some(x) if x.at <= to => Ok(format!("{what}: at {}", fmt(x.at))),
                Some(x) => Err(format!("{what}: at {}", fmt(x.at))),
                None => Err(format!("{what}: never")),
            }
        }
        Expect::Silent {
            node,
            vrid,
            from,
            to,
        } => {
            let what = format!(
                "{} vrid {vrid} silent {}..{}",
                names[node],
                fmt(from),
                fmt(to)
            );
            match adverts(log, node, vrid).find(|(t, _)| (from..=to).contains(t)) {
                None => Ok(what),
                Some((t, p)) => Err(format!("{what}: advert priority {p} at {}", fmt(t))),
            }
        }
        Expect::SingleActive {
            vrid,
            after,
            tolerance,
        } => {
            let list = match vrid {
                Some(v) => vec![v],
                None => vrids(log),
            };
            let what = format!("single Active after {}", fmt(after));
            for v in list {
                if let Some((s, end, who)) =
                    double_actives(log, names.len(), v, after, until, tolerance).first()
                {
                    let who: Vec<&str> = who.iter().map(|&n| names[n].as_str()).collect();
                    return Err(format!(
                        "{what}: vrid {v} Active on {} from {} to {}",
                        who.join(" and "),
                        fmt(*s),
                        fmt(*end)
                    ));
                }
            }
            Ok(what)
        }
        Expect::During {
            node,
            vrid,
            from,
            to,
            state,
        } => {
            let show = |s: Option<State>| s.map_or("Down", |s| s.as_str());
            let what = format!(
                "{} vrid {vrid} {} during {}..{}",
                names[node],
                show(state),
                fmt(from),
                fmt(to)
            );
            let h = history(log, node, vrid);
            let start = (from, view_at(&h, from));
            let steps = h.iter().filter(|(t, _)| *t > from && *t <= to);
            match std::iter::once(&start)
                .chain(steps)
                .find(|(_, v)| v.state != state)
            {
                None => Ok(what),
                Some((t, v)) => Err(format!("{what}: {} at {}", show(v.state), fmt(*t))),
            }
        }
        Expect::Drops {
            node,
            vrid,
            reason,
            count,
            from,
            to,
        } => {
            let window = if (from, to) == (0, Micros::MAX) {
                String::new()
            } else {
                format!(" in {}..{}", fmt(from), fmt(to))
            };
            let what = format!(
                "{} vrid {vrid} dropped {count} advert{} ({}){window}",
                names[node],
                if count == 1 { "" } else { "s" },
                reason.as_str()
            );
            let got = log
                .iter()
                .filter(|e| {
                    e.node == node
                        && (from..=to).contains(&e.at)
                        && e.kind == Kind::Dropped { vrid, reason }
                })
                .count() as u64;
            if got == count {
                Ok(what)
            } else {
                Err(format!("{what}: dropped {got}"))
            }
        }
        Expect::NoMulticast { vrid } => {
            let what = match vrid {
                Some(v) => format!("no multicast advert for vrid {v}"),
                None => "no multicast advert".to_string(),
            };
            let first = log.iter().find_map(|e| match e.kind {
                Kind::Sent {
                    vrid: v,
                    frame: FrameKind::Advert { priority, to, .. },
                } if to.is_multicast() && vrid.is_none_or(|x| x == v) => Some((e, v, priority)),
                _ => None,
            });
            match first {
                None => Ok(what),
                Some((e, v, p)) => Err(format!(
                    "{what}: {} vrid {v} sent one (priority {p}) at {}",
                    names[e.node],
                    fmt(e.at)
                )),
            }
        }
        Expect::Together {
            ref vrids,
            after,
            tolerance,
        } => {
            let list: Vec<String> = vrids.iter().map(Vrid::to_string).collect();
            let what = format!(
                "vrids {} Active together after {}",
                list.join(" "),
                fmt(after)
            );
            match apart(log, names.len(), vrids, after, until, tolerance).first() {
                None => Ok(what),
                Some((s, end, at_start)) => {
                    let who: Vec<String> = vrids
                        .iter()
                        .zip(at_start)
                        .map(|(v, nodes)| {
                            let on: Vec<&str> = nodes.iter().map(|&n| names[n].as_str()).collect();
                            let on = if on.is_empty() {
                                "nowhere".to_string()
                            } else {
                                format!("on {}", on.join(" and "))
                            };
                            format!("vrid {v} {on}")
                        })
                        .collect();
                    Err(format!(
                        "{what}: {} from {} to {}",
                        who.join(", "),
                        fmt(*s),
                        fmt(*end)
                    ))
                }
            }
        }
    }
}

/// A span (start, end) and, per VRID, the nodes serving it as Active when it starts.
pub type Apart = (Micros, Micros, Vec<Vec<usize>>);

/// Spans after `after`, longer than `tolerance`, during which the routers serving as Active for
/// the `vrids` are not the same ones. `end` is `until` for a span still open.
pub fn apart(
    log: &[Entry],
    nodes: usize,
    vrids: &[Vrid],
    after: Micros,
    until: Micros,
    tolerance: Micros,
) -> Vec<Apart> {
    let hs: Vec<Vec<_>> = vrids
        .iter()
        .map(|&v| (0..nodes).map(|n| history(log, n, v)).collect())
        .collect();
    let times: Vec<Micros> = hs.iter().flatten().flatten().map(|(t, _)| *t).collect();
    spans(times, after, until, tolerance, |t| {
        let serving: Vec<Vec<usize>> = hs
            .iter()
            .map(|per_node| {
                (0..nodes)
                    .filter(|&n| view_at(&per_node[n], t).serving())
                    .collect()
            })
            .collect();
        let same = serving.windows(2).all(|w| w[0] == w[1]);
        (!same).then_some(serving)
    })
}
