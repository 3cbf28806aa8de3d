//! The CI swarm range, and proof that the invariant checks can fail.

use vrrp_sim::swarm::{Plan, check, run_plan_with, run_range, run_seed};
use vrrp_sim::world::{Entry, FrameKind, Kind, Options};

/// At least 500 seeds in CI. The README shows 10,000 with the CLI.
#[test]
fn seeds_0_to_500_hold_every_invariant() {
    let s = run_range(0, 500);
    let report: Vec<String> = s
        .failed
        .iter()
        .map(|o| {
            format!(
                "seed {}: {:?}\n  {}",
                o.seed,
                o.violations,
                vrrp_sim::swarm::repro(o.seed)
            )
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
    assert_eq!(s.seeds, 500);
}

/// The daemon polls a router only when the core says it has work (`Stack::wants_poll`); the
/// swarm's faults (loss, delay, duplicates, reordering, pauses, kills, restarts, clock drift,
/// link loss, priority changes) must not find a run where that changes a single frame or
/// timeline entry against polling at every turn.
#[test]
fn polling_only_when_the_core_has_work_changes_nothing_in_60_seeds() {
    let mut skipped_some = false;
    for seed in 0..60 {
        let run = |lazy_poll: bool| {
            run_plan_with(
                Plan::draw(seed),
                Options {
                    pcap: true,
                    lazy_poll,
                    ..Options::default()
                },
            )
        };
        let (eager, lazy) = (run(false), run(true));
        assert!(eager.pcap.len() > 1_000, "seed {seed}: no capture");
        assert!(
            eager.pcap == lazy.pcap,
            "seed {seed}: the frames differ\n  {}",
            vrrp_sim::swarm::repro(seed)
        );
        assert!(eager.log == lazy.log, "seed {seed}: the timelines differ");
        skipped_some |= lazy.polls < eager.polls;
    }
    assert!(
        skipped_some,
        "the lazy runs polled as often as the eager ones"
    );
}

fn clean(seed: u64) -> (Plan, Vec<Entry>) {
    let out = run_seed(seed, false);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    (Plan::draw(seed), out.log)
}

#[test]
fn a_burst_is_caught() {
    let (plan, mut log) = clean(3);
    let vrid = plan.vrids[0];
    let (at, node, to) = log
        .iter()
        .find_map(|e| match e.kind {
            Kind::Sent {
                vrid: v,
                frame: FrameKind::Advert { priority, to, .. },
            } if v == vrid && priority > 0 => Some((e.at, e.node, to)),
            _ => None,
        })
        .unwrap();
    let extra = Entry {
        at,
        node,
        kind: Kind::Sent {
            vrid,
            frame: FrameKind::Advert {
                vrid: vrid.id,
                priority: 1,
                to,
            },
        },
    };
    let k = log.iter().position(|e| e.at == at).unwrap();
    log.insert(k, extra.clone());
    log.insert(k, extra);
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains(" us from ")), "{v:?}");
}

#[test]
fn a_second_active_is_caught() {
    let (plan, mut log) = clean(5);
    let vrid = plan.vrids[0];
    let other = (plan.victim + 1) % plan.nodes.len();
    log.push(Entry {
        at: plan.converged_at + 1,
        node: other,
        kind: Kind::State {
            vrid,
            from: vrrp_core::State::Backup,
            to: vrrp_core::State::Active,
            reason: vrrp_core::Reason::ActiveDown,
        },
    });
    log.sort_by_key(|e| e.at);
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("Active together")), "{v:?}");
}

#[test]
fn a_late_takeover_is_caught() {
    let (plan, mut log) = clean(9);
    let vrid = plan.vrids[0];
    let e = log
        .iter_mut()
        .find(|e| e.at >= plan.takeover_at && matches!(e.kind, Kind::State { vrid: v, to: vrrp_core::State::Active, .. } if v == vrid))
        .expect("a takeover");
    e.at += 1;
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("took over at")), "{v:?}");
}

/// The CI range draws every newer feature, and most seeds none of them (those run exactly as
/// they did before the features existed).
#[test]
fn the_ci_range_draws_every_feature() {
    let plans: Vec<Plan> = (0..500).map(Plan::draw).collect();
    let count = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count();
    assert!(count(&|p| matches!(p.features.ipv6, Some((_, true)))) >= 20);
    assert!(count(&|p| matches!(p.features.ipv6, Some((_, false)))) >= 20);
    assert!(count(&|p| p.features.links) >= 50);
    assert!(count(&|p| p.sync.is_some()) >= 20);
    assert!(count(&|p| p.features == Default::default()) >= 200);
    // Unicast is drawn only with `--unicast` (see DRAW_PEERS).
    assert_eq!(count(&|p| p.features.peers), 0);
    assert!((0..500).any(|s| Plan::draw_with(s, true).features.peers));
}

/// `swarm --unicast`: every invariant holds with unicast peer lists, the exact
/// takeover included, with dead, paused and partitioned peers
/// (scenarios/unicast-takeover-arp.vrrp is the case that used to fail). A seed that draws no
/// peers runs exactly as without `--unicast` (for 0..500, the multicast test above), so only
/// those that draw them run here: the first 500 such seeds (about one in ten draws peers), a
/// few seconds in a debug build.
#[test]
fn unicast_500_seeds_with_peers_hold_every_invariant() {
    let plans: Vec<Plan> = (0..)
        .map(|s| Plan::draw_with(s, true))
        .filter(|p| p.features.peers)
        .take(500)
        .collect();
    assert_eq!(plans.len(), 500);
    let failed: Vec<String> = plans
        .into_iter()
        .filter_map(|p| {
            let seed = p.seed;
            let out = vrrp_sim::swarm::run_plan(p, false);
            (!out.violations.is_empty()).then(|| {
                format!(
                    "seed {seed}: {:?}\n  {} --unicast",
                    out.violations,
                    vrrp_sim::swarm::repro(seed)
                )
            })
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn an_active_with_its_fault_link_down_is_caught() {
    let plan = (0..500)
        .map(Plan::draw)
        .find(|p| {
            p.features.links
                && p.nodes[p.victim]
                    .tracks
                    .iter()
                    .any(|t| t.vrid == p.vrids[0] && t.effect == vrrp_sim::world::Effect::Fault)
        })
        .expect("a seed whose victim tracks a fault link");
    let (_, mut log) = clean(plan.seed);
    let link = plan.nodes[plan.victim]
        .tracks
        .iter()
        .find(|t| t.vrid == plan.vrids[0] && t.effect == vrrp_sim::world::Effect::Fault)
        .unwrap()
        .link
        .clone();
    // The carrier goes while it is Active, and nothing happens.
    log.push(Entry {
        at: plan.converged_at + 1,
        node: plan.victim,
        kind: Kind::Action(vrrp_sim::world::Action::Link {
            node: plan.victim,
            link,
            up: false,
        }),
    });
    log.sort_by_key(|e| e.at);
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("fault link down")), "{v:?}");
}

#[test]
fn a_sync_group_apart_is_caught() {
    let plan = (0..500)
        .map(Plan::draw)
        .find(|p| p.sync.is_some())
        .expect("a seed with a sync group");
    let (_, mut log) = clean(plan.seed);
    let [a, _] = plan.sync.unwrap();
    let other = (0..plan.nodes.len()).find(|&n| n != plan.victim).unwrap();
    // One member moves to another router on its own and stays.
    for (node, from, to) in [
        (
            plan.victim,
            vrrp_core::State::Active,
            vrrp_core::State::Backup,
        ),
        (other, vrrp_core::State::Backup, vrrp_core::State::Active),
    ] {
        log.push(Entry {
            at: plan.converged_at + 1,
            node,
            kind: Kind::State {
                vrid: a,
                from,
                to,
                reason: vrrp_core::Reason::ActiveDown,
            },
        });
    }
    log.sort_by_key(|e| e.at);
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("sync group")), "{v:?}");
}

#[test]
fn a_multicast_advert_with_peers_is_caught() {
    let plan = (0..500)
        .map(|s| Plan::draw_with(s, true))
        .find(|p| {
            p.features.peers
                && vrrp_sim::swarm::run_plan(p.clone(), false)
                    .violations
                    .is_empty()
        })
        .expect("a clean unicast seed");
    let mut log = vrrp_sim::swarm::run_plan(plan.clone(), false).log;
    let e = log
        .iter_mut()
        .find(|e| {
            matches!(
                e.kind,
                Kind::Sent {
                    frame: FrameKind::Advert { .. },
                    ..
                }
            )
        })
        .unwrap();
    if let Kind::Sent {
        frame: FrameKind::Advert { to, .. },
        ..
    } = &mut e.kind
    {
        *to = vrrp_core::wire::MULTICAST_V4.into();
    }
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("has peers but sent")), "{v:?}");
}
