//! The CI swarm range, and proof that the invariant checks can fail.

use vrrp_sim::swarm::{Plan, check, run_range, run_seed};
use vrrp_sim::world::{Entry, FrameKind, Kind};

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

fn clean(seed: u64) -> (Plan, Vec<Entry>) {
    let out = run_seed(seed, false);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    (Plan::draw(seed), out.log)
}

#[test]
fn a_burst_is_caught() {
    let (plan, mut log) = clean(3);
    let vrid = plan.vrids[0];
    let (at, node) = log
        .iter()
        .find_map(|e| match e.kind {
            Kind::Sent {
                vrid: v,
                frame: FrameKind::Advert { priority, .. },
            } if v == vrid && priority > 0 => Some((e.at, e.node)),
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
                to: vrrp_core::wire::MULTICAST_V4.into(),
            },
        },
    };
    let k = log.iter().position(|e| e.at == at).unwrap();
    log.insert(k, extra.clone());
    log.insert(k, extra);
    let mut v = Vec::new();
    check(&plan, &log, &mut v);
    assert!(v.iter().any(|m| m.contains("adverts in")), "{v:?}");
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
