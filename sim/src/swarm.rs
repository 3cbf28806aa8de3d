//! Swarm testing: each seed draws a topology (2 to 5 routers, 1 to 3 VRIDs) and a fault schedule,
//! runs it in two phases (VOPR style) and checks invariants.
//!
//! 1. **Faults** (`2 I .. F`): pauses, kills, graceful stops, loss, delay and jitter,
//!    duplication, reordering, one-way and symmetric partitions, priority changes, and clock
//!    drift on every node throughout. Only safety is checked here: no advert burst.
//! 2. **Liveness** (from `F`): links heal, paused nodes resume, dead ones restart, priorities
//!    return. After a grace period, per VRID exactly one router is Active, the highest-priority
//!    one, and never two at once. Then the Active of one VRID is killed or paused: the next in
//!    line must take over exactly one Active_Down_Interval (by its own drifting clock) after the
//!    last advert it heard, and the old Active must win its VRIDs back once it returns.
//!
//! Invariant on adverts, all along: a router never sends more than one advert per VRID in the
//! instant it is thawed, and never more than two (one periodic plus one RFC 9568 §6.4.3
//! immediate reply) in any window shorter than its advertisement interval.

use std::net::Ipv4Addr;

use bumpalo::Bump;
use vrrp_core::{Config, State};

use crate::device::DEFAULT_QUEUE;
use crate::expect::{adverts, double_actives, history, view_at};
use crate::link::{Fault, Scope};
use crate::rng::Rng;
use crate::time::{Clock, Micros, fmt};
use crate::world::{Action, Entry, Kind, NodeSpec, Options, Sim, VrConfig, Vrid};

/// A seed's world and schedule.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub nodes: Vec<NodeSpec>,
    pub vrids: Vec<Vrid>,
    pub actions: Vec<(Micros, Action)>,
    /// End of the fault phase.
    pub heal_at: Micros,
    /// From here on at most one Active per VRID, and it is the highest-priority router.
    pub converged_at: Micros,
    /// The takeover test: `victim` is killed (or paused) here.
    pub takeover_at: Micros,
    pub victim: usize,
    pub victim_paused: bool,
    pub back_at: Micros,
    pub end: Micros,
}

/// The result of one seed.
pub struct Outcome {
    pub seed: u64,
    pub violations: Vec<String>,
    pub simulated: Micros,
    pub frames: u64,
    pub log: Vec<Entry>,
    pub names: Vec<String>,
    pub pcap: Vec<u8>,
}

const INTERVALS_CS: [u16; 6] = [1, 2, 5, 10, 20, 100];

impl Plan {
    pub fn draw(seed: u64) -> Plan {
        let mut rng = Rng::new(seed);
        let n_nodes = rng.range(2, 5) as usize;
        let n_vrids = rng.range(1, 3) as usize;
        let vrids: Vec<u8> = (0..n_vrids).map(|k| 10 * (k as u8 + 1)).collect();
        let mut configs: Vec<Vec<VrConfig>> = vec![Vec::new(); n_nodes];
        let mut longest = 0u64;
        for &vrid in &vrids {
            let cs = INTERVALS_CS[rng.below(INTERVALS_CS.len() as u64) as usize];
            // VRRPv2 only knows whole seconds.
            let v2 = cs == 100 && rng.chance(300_000);
            longest = longest.max(u64::from(cs) * 10_000);
            // Distinct priorities so that "the highest-priority live router" is one router.
            let mut prios: Vec<u8> = Vec::new();
            while prios.len() < n_nodes {
                let p = rng.range(1, 254) as u8;
                if !prios.contains(&p) {
                    prios.push(p);
                }
            }
            let vip = Ipv4Addr::new(198, 51, 100, vrid);
            for (n, cfgs) in configs.iter_mut().enumerate() {
                let mut c: VrConfig = Config::new(vrid, prios[n], node_ip(n))
                    .with_vip(vip)
                    .expect("one VIP fits");
                c.vip_prefix_len = 24;
                c.adver_interval = cs;
                if v2 {
                    c.version = vrrp_core::wire::Version::V2;
                }
                cfgs.push(c);
            }
        }
        let nodes: Vec<NodeSpec> = configs
            .into_iter()
            .enumerate()
            .map(|(n, routers)| NodeSpec {
                name: format!("r{}", n + 1),
                ip: Some(node_ip(n)),
                ip6: None,
                drift_ppm: rng.range(0, 400) as i32 - 200,
                queue: if rng.chance(200_000) {
                    rng.range(1, 8) as usize
                } else {
                    DEFAULT_QUEUE
                },
                start: rng.range(0, 2 * longest),
                routers: routers.into_iter().map(Into::into).collect(),
                links: Vec::new(),
                tracks: Vec::new(),
            })
            .collect();
        let i = longest;
        let heal_at = i * rng.range(20, 40);
        let mut actions = Vec::new();
        for _ in 0..rng.range(1, 8) {
            let at = rng.range(2 * i, heal_at - 1);
            let until = rng.range(at + 1, heal_at);
            let node = rng.below(n_nodes as u64) as usize;
            let other = (node + 1 + rng.below(n_nodes as u64 - 1) as usize) % n_nodes;
            let scope = match rng.below(3) {
                0 => vec![Scope::ALL],
                1 => Scope::node(node).to_vec(),
                _ => vec![Scope::link(node, other)],
            };
            let ppm = rng.range(50_000, 600_000) as u32;
            match rng.below(9) {
                0 => {
                    actions.push((at, Action::Pause(node)));
                    actions.push((until, Action::Resume(node)));
                }
                1 => {
                    actions.push((at, Action::Kill(node)));
                    actions.push((until, Action::Start(node)));
                }
                2 => {
                    actions.push((at, Action::Stop(node)));
                    actions.push((until, Action::Start(node)));
                }
                3 => actions.push((
                    at,
                    Action::Fault {
                        scopes: scope,
                        fault: Fault::Loss(ppm),
                    },
                )),
                4 => actions.push((
                    at,
                    Action::Fault {
                        scopes: scope,
                        fault: Fault::Delay {
                            base: rng.range(0, i / 4),
                            jitter: rng.range(0, i / 4),
                        },
                    },
                )),
                5 => actions.push((
                    at,
                    Action::Fault {
                        scopes: scope,
                        fault: Fault::Duplicate {
                            ppm,
                            gap: rng.range(0, i / 10),
                        },
                    },
                )),
                6 => actions.push((
                    at,
                    Action::Fault {
                        scopes: scope,
                        fault: Fault::Reorder {
                            ppm,
                            window: rng.range(1, i / 2),
                        },
                    },
                )),
                7 => {
                    // One-way, or symmetric between a random split of the nodes.
                    let scopes = if rng.chance(500_000) {
                        vec![Scope::link(node, other)]
                    } else {
                        let side: Vec<bool> = (0..n_nodes).map(|_| rng.chance(500_000)).collect();
                        let mut s = Vec::new();
                        for a in 0..n_nodes {
                            for b in 0..n_nodes {
                                if side[a] != side[b] {
                                    s.push(Scope::link(a, b));
                                }
                            }
                        }
                        s
                    };
                    actions.push((
                        at,
                        Action::Fault {
                            scopes: scopes.clone(),
                            fault: Fault::Block,
                        },
                    ));
                    actions.push((until, Action::Heal(scopes)));
                }
                _ => {
                    let vrid = vrids[rng.below(vrids.len() as u64) as usize];
                    let priority = if rng.chance(300_000) {
                        0
                    } else {
                        rng.range(1, 254) as u8
                    };
                    actions.push((
                        at,
                        Action::Priority {
                            node,
                            vrid: vrid.into(),
                            priority,
                        },
                    ));
                }
            }
        }
        // Liveness: everything heals at once.
        actions.push((heal_at, Action::Heal(vec![Scope::ALL])));
        for (n, spec) in nodes.iter().enumerate() {
            actions.push((heal_at, Action::Resume(n)));
            actions.push((heal_at, Action::Start(n)));
            for c in &spec.routers {
                actions.push((
                    heal_at,
                    Action::Priority {
                        node: n,
                        vrid: c.vrid(),
                        priority: c.priority(),
                    },
                ));
            }
        }
        // A restarted router waits Active_Down_Interval (< 4 I), then preempts: 8 I is ample.
        let converged_at = heal_at + 8 * i;
        let takeover_at = converged_at + 10 * i;
        let victim = top(&nodes, Vrid::v4(vrids[0]), &[]);
        let victim_paused = rng.chance(500_000);
        actions.push((
            takeover_at,
            if victim_paused {
                Action::Pause(victim)
            } else {
                Action::Kill(victim)
            },
        ));
        let back_at = takeover_at + 8 * i;
        actions.push((
            back_at,
            if victim_paused {
                Action::Resume(victim)
            } else {
                Action::Start(victim)
            },
        ));
        Plan {
            seed,
            nodes,
            vrids: vrids.into_iter().map(Vrid::v4).collect(),
            actions,
            heal_at,
            converged_at,
            takeover_at,
            victim,
            victim_paused,
            back_at,
            end: back_at + 8 * i,
        }
    }
}

fn node_ip(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 11 + n as u8)
}

/// The router that must be Active for `vrid` when `excluded` are gone.
fn top(nodes: &[NodeSpec], vrid: Vrid, excluded: &[usize]) -> usize {
    (0..nodes.len())
        .filter(|n| !excluded.contains(n))
        .max_by_key(|&n| {
            let c = nodes[n]
                .routers
                .iter()
                .find(|c| c.vrid() == vrid)
                .expect("joined");
            (c.priority(), nodes[n].ip)
        })
        .expect("at least two routers")
}

/// The one-line command that reruns a seed.
pub fn repro(seed: u64) -> String {
    format!(
        "cargo run --release -p vrrp-sim -- swarm --seeds 1 --from {seed} --pcap swarm-{seed}.pcap -v"
    )
}

pub fn run_seed(seed: u64, pcap: bool) -> Outcome {
    let plan = Plan::draw(seed);
    let arena = Bump::new();
    let mut sim = Sim::new(
        &arena,
        plan.nodes.clone(),
        seed,
        Options {
            pcap,
            ..Options::default()
        },
    );
    for (at, a) in &plan.actions {
        sim.schedule(*at, a.clone());
    }
    let mut violations = Vec::new();
    sim.run_until(plan.takeover_at - 1);
    for &vrid in &plan.vrids {
        let want = top(&plan.nodes, vrid, &[]);
        for n in 0..plan.nodes.len() {
            let s = sim.state(n, vrid);
            let ok = if n == want {
                s == Some(State::Active)
            } else {
                s == Some(State::Backup)
            };
            if !ok {
                violations.push(format!(
                    "vrid {vrid}: {} is {s:?} at {} after healing; {} should be the only Active",
                    plan.nodes[n].name,
                    fmt(plan.takeover_at - 1),
                    plan.nodes[want].name
                ));
            }
        }
    }
    sim.run_until(plan.end);
    let log = std::mem::take(&mut sim.log);
    check(&plan, &log, &mut violations);
    for &vrid in &plan.vrids {
        let want = top(&plan.nodes, vrid, &[]);
        if sim.state(want, vrid) != Some(State::Active) {
            violations.push(format!(
                "vrid {vrid}: {} did not win back Active by {}",
                plan.nodes[want].name,
                fmt(plan.end)
            ));
        }
    }
    Outcome {
        seed,
        violations,
        simulated: plan.end,
        frames: sim.frames,
        names: plan.nodes.iter().map(|n| n.name.clone()).collect(),
        log,
        pcap: sim.take_pcap(),
    }
}

/// The invariants over a finished run's timeline (public so that tests can feed it a doctored one).
pub fn check(plan: &Plan, log: &[Entry], violations: &mut Vec<String>) {
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    for &vrid in &plan.vrids {
        // Never two Actives once converged.
        for (from, to, who) in
            double_actives(log, plan.nodes.len(), vrid, plan.converged_at, plan.end, 0)
        {
            let who: Vec<&str> = who.iter().map(|&n| names[n]).collect();
            violations.push(format!(
                "vrid {vrid}: {} Active together from {} to {}",
                who.join(" and "),
                fmt(from),
                fmt(to)
            ));
        }
        // Takeover: the next in line, one Active_Down_Interval after the last advert it heard.
        let victim_active = view_at(&history(log, plan.victim, vrid), plan.takeover_at - 1).state
            == Some(State::Active);
        if victim_active {
            let heir = top(&plan.nodes, vrid, &[plan.victim]);
            let last = adverts(log, plan.victim, vrid)
                .filter(|(t, p)| *t < plan.takeover_at && *p > 0)
                .last()
                .map(|(t, _)| t);
            let took = log.iter().find(|e| {
                e.node == heir
                    && e.at >= plan.takeover_at
                    && matches!(e.kind, Kind::State { vrid: v, to: State::Active, .. } if v == vrid)
            });
            let spec = &plan.nodes[heir];
            let c = spec
                .routers
                .iter()
                .filter_map(|c| c.v4())
                .find(|c| Vrid::v4(c.vrid) == vrid)
                .expect("joined");
            let adi = vrrp_core::VirtualRouter::new(c.clone())
                .expect("valid")
                .active_down_interval();
            let clock = Clock {
                ppm: spec.drift_ppm,
            };
            match (last, took) {
                (Some(last), Some(e)) => {
                    let want = clock.global(clock.local(last) + adi);
                    if e.at != want {
                        violations.push(format!(
                            "vrid {vrid}: {} took over at {}, expected {} (last advert of {} at {}, Active_Down_Interval {} us, drift {} ppm)",
                            names[heir],
                            fmt(e.at),
                            fmt(want),
                            names[plan.victim],
                            fmt(last),
                            adi.as_micros(),
                            spec.drift_ppm
                        ));
                    }
                }
                (Some(_), None) => violations.push(format!(
                    "vrid {vrid}: {} never took over from {}",
                    names[heir], names[plan.victim]
                )),
                (None, _) => violations.push(format!(
                    "vrid {vrid}: {} was Active but never advertised",
                    names[plan.victim]
                )),
            }
        }
        // Adverts: one per VRID at a thaw, at most two per interval anywhere.
        for (n, spec) in plan.nodes.iter().enumerate() {
            let c = spec
                .routers
                .iter()
                .filter_map(|c| c.v4())
                .find(|c| Vrid::v4(c.vrid) == vrid)
                .expect("joined");
            let clock = Clock {
                ppm: spec.drift_ppm,
            };
            let window = clock.global_len(u64::from(c.adver_interval) * 10_000) - 1;
            let sent: Vec<Micros> = adverts(log, n, vrid)
                .filter(|(_, p)| *p > 0)
                .map(|(t, _)| t)
                .collect();
            for e in log.iter().filter(|e| e.node == n) {
                if let Kind::Thawed { .. } = e.kind {
                    let at_thaw = sent.iter().filter(|&&t| t == e.at).count();
                    if at_thaw > 1 {
                        violations.push(format!(
                            "vrid {vrid}: {} sent {at_thaw} adverts at its thaw at {}",
                            names[n],
                            fmt(e.at)
                        ));
                    }
                }
            }
            for (k, &t) in sent.iter().enumerate() {
                let within = sent[k..].iter().take_while(|&&u| u < t + window).count();
                if within > 2 {
                    violations.push(format!(
                        "vrid {vrid}: {} sent {within} adverts in {} us from {}",
                        names[n],
                        window,
                        fmt(t)
                    ));
                    break;
                }
            }
        }
    }
}

/// Totals of a range of seeds.
pub struct Summary {
    pub seeds: u64,
    pub failed: Vec<Outcome>,
    pub simulated: Micros,
    pub frames: u64,
}

pub fn run_range(from: u64, count: u64) -> Summary {
    let mut s = Summary {
        seeds: 0,
        failed: Vec::new(),
        simulated: 0,
        frames: 0,
    };
    for seed in from..from + count {
        let out = run_seed(seed, false);
        s.seeds += 1;
        s.simulated += out.simulated;
        s.frames += out.frames;
        if !out.violations.is_empty() {
            s.failed.push(out);
        }
    }
    s
}
