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
//! Invariant on the switch, all along: while exactly one router of a VRID is Active and the
//! segment is whole (no fault in force or in flight, every carrier up), a client's frame to the
//! VIP (to the virtual MAC) reaches that router once its advert has taught the switch.
//!
//! Invariant on adverts, all along: a router never sends more than one advert per VRID in the
//! instant it is thawed, and never more than two (one periodic plus one RFC 9568 §6.4.3
//! immediate reply) in any window shorter than its advertisement interval.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bumpalo::Bump;
use vrrp_core::{Config, State};

use crate::device::DEFAULT_QUEUE;
use crate::expect::{apart, double_actives, history, view_at};
use crate::link::{Fault, Scope};
use crate::rng::Rng;
use crate::time::{Clock, Micros, fmt};
use crate::world::{
    Action, Effect, Entry, FrameKind, Kind, LAN, NodeSpec, Options, RouterConfig, Sim, Track,
    V6Config, VrConfig, Vrid,
};

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
    /// A sync group of two VRIDs on every node (they share their tracked links, and have the
    /// same priorities and interval, so the same router must be Active for both).
    pub sync: Option<[Vrid; 2]>,
    /// Which of the newer features this seed drew.
    pub features: Features,
}

/// Unicast peer lists in the default draw. Off, so that the default swarm keeps the multicast
/// seeds it always ran; `swarm --unicast` and the test
/// `unicast_500_seeds_with_peers_hold_every_invariant` run with it on. The decision is drawn either
/// way, so turning it on changes nothing else a seed draws.
pub const DRAW_PEERS: bool = false;

/// What a seed draws beyond the original feature set (IPv4, multicast, no tracking), from its
/// own stream so that a seed drawing none of it runs exactly as it did before they existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// An IPv6 virtual router: VRID `vrids[k]` becomes IPv6 (`alone`) or gets an IPv6 twin.
    pub ipv6: Option<(usize, bool)>,
    /// Unicast peer lists (single IPv4 VRID only).
    pub peers: bool,
    /// Tracked links, with link-down/link-up faults.
    pub links: bool,
    /// A sync group of two VRIDs (only with `links`).
    pub sync: bool,
}

impl Features {
    fn draw(ext: &mut Rng, n_vrids: usize, peers: bool) -> Features {
        let mut f = Features::default();
        if ext.chance(300_000) {
            f.ipv6 = Some((ext.below(n_vrids as u64) as usize, ext.chance(500_000)));
        }
        f.peers = n_vrids == 1 && f.ipv6.is_none() && ext.chance(500_000) && peers;
        f.links = ext.chance(300_000);
        let routers = n_vrids + usize::from(matches!(f.ipv6, Some((_, false))));
        f.sync = f.links && routers >= 2 && ext.chance(500_000);
        f
    }
}

/// The stream the new features are drawn from: independent of the original one.
fn feature_rng(seed: u64) -> Rng {
    Rng::new(seed ^ 0xfea7_u64.rotate_right(16))
}

/// The result of one seed.
pub struct Outcome {
    pub seed: u64,
    pub violations: Vec<String>,
    pub simulated: Micros,
    pub frames: u64,
    /// Calls of the routers' `poll`.
    pub polls: u64,
    pub log: Vec<Entry>,
    pub names: Vec<String>,
    pub pcap: Vec<u8>,
}

const INTERVALS_CS: [u16; 6] = [1, 2, 5, 10, 20, 100];

impl Plan {
    pub fn draw(seed: u64) -> Plan {
        Plan::draw_with(seed, DRAW_PEERS)
    }

    /// [`draw`](Self::draw), with unicast peer lists drawn (`peers`) or not.
    pub fn draw_with(seed: u64, peers: bool) -> Plan {
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
            let prios = distinct_priorities(n_nodes, &mut rng);
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
        let mut nodes = configs
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
            .collect::<Vec<NodeSpec>>();
        let i = longest;
        // The new features: their own stream, applied over what the original one drew.
        let mut ext = feature_rng(seed);
        let features = Features::draw(&mut ext, n_vrids, peers);
        let mut all: Vec<Vrid> = vrids.iter().map(|&v| Vrid::v4(v)).collect();
        if let Some((k, alone)) = features.ipv6 {
            add_ipv6(&mut nodes, &mut all, k, alone, longest, &mut ext);
        }
        if features.peers {
            add_peers(&mut nodes, &mut ext);
        }
        let sync = features.sync.then(|| {
            let a = ext.below(all.len() as u64) as usize;
            let b = (a + 1 + ext.below(all.len() as u64 - 1) as usize) % all.len();
            [all[a], all[b]]
        });
        if features.links {
            add_tracks(&mut nodes, &all, sync, &mut ext);
        }
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
                    // With IPv6, the VRID's family (or one of its two) from the feature stream.
                    let fams: Vec<Vrid> = all.iter().copied().filter(|v| v.id == vrid).collect();
                    let vrid = if fams.len() == 1 {
                        fams[0]
                    } else {
                        fams[ext.below(fams.len() as u64) as usize]
                    };
                    actions.push((
                        at,
                        Action::Priority {
                            node,
                            vrid,
                            priority,
                        },
                    ));
                }
            }
        }
        if features.links {
            add_link_faults(&nodes, &mut actions, 2 * i, heal_at, &mut ext);
        }
        // Liveness: everything heals at once.
        actions.push((heal_at, Action::Heal(vec![Scope::ALL])));
        for (n, spec) in nodes.iter().enumerate() {
            for link in spec.links.iter().chain(
                spec.tracks
                    .iter()
                    .any(|t| t.link == LAN)
                    .then_some(&LAN.to_string()),
            ) {
                actions.push((
                    heal_at,
                    Action::Link {
                        node: n,
                        link: link.clone(),
                        up: true,
                    },
                ));
            }
        }
        for (n, spec) in nodes.iter().enumerate() {
            actions.push((heal_at, Action::Resume(n)));
            actions.push((heal_at, Action::Start(n)));
            for c in &spec.routers {
                actions.push((
                    heal_at,
                    Action::Priority {
                        node: n,
                        vrid: Vrid::of(c),
                        priority: c.priority(),
                    },
                ));
            }
        }
        // A restarted router waits Active_Down_Interval (< 4 I), then preempts: 8 I is ample.
        let converged_at = heal_at + 8 * i;
        let takeover_at = converged_at + 10 * i;
        let victim = top(&nodes, all[0], &[]);
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
            vrids: all,
            actions,
            heal_at,
            converged_at,
            takeover_at,
            victim,
            victim_paused,
            back_at,
            end: back_at + 8 * i,
            sync,
            features,
        }
    }
}

/// VRID `vrids[k]` becomes an IPv6 virtual router (`alone`), or gets an IPv6 twin with its own
/// priorities and an interval no longer than the longest one drawn (the phases are sized by it).
fn add_ipv6(
    nodes: &mut [NodeSpec],
    all: &mut Vec<Vrid>,
    k: usize,
    alone: bool,
    longest: u64,
    ext: &mut Rng,
) {
    let id = all[k].id;
    let short: Vec<u16> = INTERVALS_CS
        .iter()
        .copied()
        .filter(|&cs| u64::from(cs) * 10_000 <= longest)
        .collect();
    let cs = short[ext.below(short.len() as u64) as usize];
    let prios = distinct_priorities(nodes.len(), ext);
    let global = ext.chance(500_000);
    for (n, spec) in nodes.iter_mut().enumerate() {
        spec.ip6 = Some(node_ip6(n));
        let pos = spec
            .routers
            .iter()
            .position(|c| Vrid::of(c) == Vrid::v4(id))
            .expect("joined");
        let v4 = spec.routers[pos].v4().expect("IPv4").clone();
        let (priority, interval) = if alone {
            (v4.priority, v4.adver_interval)
        } else {
            (prios[n], cs)
        };
        let mut c: V6Config = Config::new(id, priority, node_ip6(n))
            .with_vip(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xff, u16::from(id)))
            .expect("one VIP fits");
        if global {
            c = c
                .with_vip(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(id)))
                .expect("two VIPs fit");
        }
        c.vip_prefix_len = 64;
        c.adver_interval = interval;
        if alone {
            spec.routers[pos] = c.into();
        } else {
            spec.routers.insert(pos + 1, c.into());
        }
    }
    if alone {
        all[k] = Vrid::v6(id);
    } else {
        all.insert(k + 1, Vrid::v6(id));
    }
}

/// Unicast adverts: each router lists the others (or, where it fits, everyone, itself included:
/// a router skips its own address).
fn add_peers(nodes: &mut [NodeSpec], ext: &mut Rng) {
    let ips: Vec<Ipv4Addr> = nodes.iter().map(|n| n.ip.expect("IPv4")).collect();
    let everyone = ips.len() <= crate::world::MAX_VIPS && ext.chance(500_000);
    for spec in nodes.iter_mut() {
        let own = spec.ip;
        for c in &mut spec.routers {
            let RouterConfig::V4(c) = c else {
                unreachable!("peers are drawn for IPv4 only")
            };
            for &ip in &ips {
                if everyone || Some(ip) != own {
                    c.peers.push(ip).expect("at most MAX_VIPS peers");
                }
            }
        }
    }
}

/// Every node gets an uplink `wan`; each router tracks `wan` or `lan` (or nothing) with `fault`
/// or a negative weight (a positive one would change who wins once everything is up again). A
/// sync group makes its two VRIDs identical (priorities, interval, version) and gives both the
/// union of their tracked links, as the parser does.
fn add_tracks(nodes: &mut [NodeSpec], all: &[Vrid], sync: Option<[Vrid; 2]>, ext: &mut Rng) {
    for spec in nodes.iter_mut() {
        spec.links = vec!["wan".to_string()];
        for &vrid in all {
            let link = if ext.chance(250_000) { LAN } else { "wan" };
            let effect = match ext.below(3) {
                0 => continue,
                1 => Effect::Fault,
                _ => Effect::Weight(-(ext.range(1, 200) as i16)),
            };
            spec.tracks.push(Track {
                vrid,
                link: link.to_string(),
                effect,
            });
        }
        let Some([a, b]) = sync else { continue };
        let ca = spec
            .routers
            .iter()
            .find(|c| Vrid::of(c) == a)
            .expect("joined")
            .clone();
        let (priority, interval, v3) = match &ca {
            RouterConfig::V4(c) => (
                c.priority,
                c.adver_interval,
                c.version == vrrp_core::wire::Version::V3,
            ),
            RouterConfig::V6(c) => (c.priority, c.adver_interval, true),
        };
        let v3 = v3 || b.v6;
        for c in spec.routers.iter_mut() {
            if Vrid::of(c) != a && Vrid::of(c) != b {
                continue;
            }
            match c {
                RouterConfig::V4(c) => {
                    c.priority = priority;
                    c.adver_interval = interval;
                    if v3 {
                        c.version = vrrp_core::wire::Version::V3;
                    }
                }
                RouterConfig::V6(c) => {
                    c.priority = priority;
                    c.adver_interval = interval;
                }
            }
        }
        let mut union: Vec<Track> = Vec::new();
        for t in spec.tracks.iter().filter(|t| t.vrid == a || t.vrid == b) {
            if !union
                .iter()
                .any(|u| u.link == t.link && u.effect == t.effect)
            {
                union.push(t.clone());
            }
        }
        spec.tracks.retain(|t| t.vrid != a && t.vrid != b);
        for vrid in [a, b] {
            for u in &union {
                spec.tracks.push(Track { vrid, ..u.clone() });
            }
        }
    }
}

/// 1 to 3 carrier losses of a node's `wan` (or, less often, its `lan`), each back before `heal`.
fn add_link_faults(
    nodes: &[NodeSpec],
    actions: &mut Vec<(Micros, Action)>,
    from: Micros,
    heal: Micros,
    ext: &mut Rng,
) {
    for _ in 0..ext.range(1, 3) {
        let at = ext.range(from, heal - 1);
        let until = ext.range(at + 1, heal);
        let node = ext.below(nodes.len() as u64) as usize;
        let link = if ext.chance(250_000) { LAN } else { "wan" }.to_string();
        actions.push((
            at,
            Action::Link {
                node,
                link: link.clone(),
                up: false,
            },
        ));
        actions.push((
            until,
            Action::Link {
                node,
                link,
                up: true,
            },
        ));
    }
}

fn distinct_priorities(n: usize, rng: &mut Rng) -> Vec<u8> {
    let mut prios: Vec<u8> = Vec::new();
    while prios.len() < n {
        let p = rng.range(1, 254) as u8;
        if !prios.contains(&p) {
            prios.push(p);
        }
    }
    prios
}

fn node_ip6(n: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x11 + n as u16)
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
                .find(|c| Vrid::of(c) == vrid)
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
    run_plan(Plan::draw(seed), pcap)
}

/// Runs a drawn plan and checks it.
pub fn run_plan(plan: Plan, pcap: bool) -> Outcome {
    run_plan_with(
        plan,
        Options {
            pcap,
            ..Options::default()
        },
    )
}

/// [`run_plan`] with the simulator's options.
pub fn run_plan_with(plan: Plan, opts: Options) -> Outcome {
    let seed = plan.seed;
    let arena = Bump::new();
    let mut sim = Sim::new(&arena, plan.nodes.clone(), seed, opts);
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
        polls: sim.polls,
        names: plan.nodes.iter().map(|n| n.name.clone()).collect(),
        log,
        pcap: sim.take_pcap(),
    }
}

/// The invariants over a finished run's timeline (public so that tests can feed it a doctored one).
pub fn check(plan: &Plan, log: &[Entry], violations: &mut Vec<String>) {
    let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
    // All along: a client's frame to the VIP reaches the only Active while the segment is
    // whole (the world logs when the switch would send it elsewhere).
    for e in log {
        if let Kind::Misdirected { vrid, port } = e.kind {
            violations.push(format!(
                "vrid {vrid}: at {} the switch sends frames for the virtual MAC to {}'s port while {} is the only Active",
                fmt(e.at),
                names.get(port).copied().unwrap_or("the outside hosts"),
                names[e.node]
            ));
        }
    }
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
            let last = adverts_to(log, plan.victim, vrid)
                .filter(|(t, p, _)| *t < plan.takeover_at && *p > 0)
                .last()
                .map(|(t, _, _)| t);
            let took = log.iter().find(|e| {
                e.node == heir
                    && e.at >= plan.takeover_at
                    && matches!(e.kind, Kind::State { vrid: v, to: State::Active, .. } if v == vrid)
            });
            let spec = &plan.nodes[heir];
            let adi = router(spec, vrid).timers().expect("valid").1;
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
        // Adverts: one per VRID (and destination: a unicast advert goes to each peer) at a
        // thaw, at most two per interval anywhere.
        for (n, spec) in plan.nodes.iter().enumerate() {
            let c = router(spec, vrid);
            let clock = Clock {
                ppm: spec.drift_ppm,
            };
            let window = clock.global_len(u64::from(c.adver_interval()) * 10_000) - 1;
            let all: Vec<(Micros, IpAddr)> = adverts_to(log, n, vrid)
                .filter(|(_, p, _)| *p > 0)
                .map(|(t, _, to)| (t, to))
                .collect();
            let mut dests: Vec<IpAddr> = all.iter().map(|(_, to)| *to).collect();
            dests.sort_unstable();
            dests.dedup();
            // A router with peers never sends to the group.
            if c.peers().next().is_some()
                && let Some((t, to)) = all.iter().find(|(_, to)| to.is_multicast())
            {
                violations.push(format!(
                    "vrid {vrid}: {} has peers but sent an advert to {to} at {}",
                    names[n],
                    fmt(*t)
                ));
            }
            for to in dests {
                let sent: Vec<Micros> = all
                    .iter()
                    .filter(|(_, d)| *d == to)
                    .map(|(t, _)| *t)
                    .collect();
                for e in log.iter().filter(|e| e.node == n) {
                    if let Kind::Thawed { .. } = e.kind {
                        let at_thaw = sent.iter().filter(|&&t| t == e.at).count();
                        if at_thaw > 1 {
                            violations.push(format!(
                                "vrid {vrid}: {} sent {at_thaw} adverts to {to} at its thaw at {}",
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
                            "vrid {vrid}: {} sent {within} adverts to {to} in {} us from {}",
                            names[n],
                            window,
                            fmt(t)
                        ));
                        break;
                    }
                }
            }
            fault_links(plan, log, n, vrid, violations);
        }
    }
    // A sync group's two VRIDs: the same routers serve as Active for both once converged
    // (`expect together`'s logic), exactly until the takeover test; across the takeover and the
    // win-back each member moves one Active_Down_Interval after its own last advert, and the
    // two advert timers may be out of phase by up to one interval: that much is tolerated.
    if let Some(pair) = plan.sync {
        let interval = plan
            .nodes
            .iter()
            .map(|spec| {
                let clock = Clock {
                    ppm: spec.drift_ppm,
                };
                clock.global_len(u64::from(router(spec, pair[0]).adver_interval()) * 10_000)
            })
            .max()
            .unwrap_or(0);
        let windows = [
            (plan.converged_at, plan.takeover_at, 0),
            (plan.takeover_at, plan.end, interval),
        ];
        for (after, until, tolerance) in windows {
            for (from, to, who) in apart(log, plan.nodes.len(), &pair, after, until, tolerance)
                .into_iter()
                .filter(|(from, _, _)| *from < until)
            {
                let on: Vec<String> = pair
                    .iter()
                    .zip(who)
                    .map(|(v, ns)| {
                        let ns: Vec<&str> = ns.iter().map(|&n| names[n]).collect();
                        format!("vrid {v} on [{}]", ns.join(","))
                    })
                    .collect();
                violations.push(format!(
                    "sync group {} {}: apart from {} to {} (tolerance {tolerance} us): {}",
                    pair[0],
                    pair[1],
                    fmt(from),
                    fmt(to.min(until)),
                    on.join(", ")
                ));
            }
        }
    }
}

/// A router whose tracked `fault` link has no carrier is never Active once it has applied
/// that (the instant of the link-down, or of its thaw if it was frozen, when it steps down with
/// a priority-0 advert).
fn fault_links(plan: &Plan, log: &[Entry], n: usize, vrid: Vrid, violations: &mut Vec<String>) {
    let spec = &plan.nodes[n];
    let faults: Vec<&str> = spec
        .tracks
        .iter()
        .filter(|t| t.vrid == vrid && t.effect == Effect::Fault)
        .map(|t| t.link.as_str())
        .collect();
    if faults.is_empty() {
        return;
    }
    let h = history(log, n, vrid);
    let mut down: Vec<&str> = Vec::new();
    let mut changes: Vec<(Micros, bool)> = Vec::new();
    for e in log {
        if let Kind::Action(Action::Link { node, link, up }) = &e.kind
            && *node == n
            && faults.contains(&link.as_str())
        {
            down.retain(|l| l != link);
            if !up {
                down.push(link);
            }
            match changes.last_mut() {
                Some(last) if last.0 == e.at => last.1 = !down.is_empty(),
                _ => changes.push((e.at, !down.is_empty())),
            }
        }
    }
    let mut times: Vec<Micros> = h.iter().map(|(t, _)| *t).collect();
    times.extend(changes.iter().map(|(t, _)| *t));
    times.sort_unstable();
    times.dedup();
    for t in times {
        let is_down = changes
            .iter()
            .take_while(|(c, _)| *c <= t)
            .last()
            .is_some_and(|(_, d)| *d);
        if is_down && view_at(&h, t).serving() {
            violations.push(format!(
                "vrid {vrid}: {} is Active at {} with a tracked fault link down",
                spec.name,
                fmt(t)
            ));
            break;
        }
    }
}

/// The config of `vrid` on a node.
fn router(spec: &NodeSpec, vrid: Vrid) -> &RouterConfig {
    spec.routers
        .iter()
        .find(|c| Vrid::of(c) == vrid)
        .expect("joined")
}

/// Adverts `node` sent for `vrid`, with their destination, in order.
fn adverts_to(
    log: &[Entry],
    node: usize,
    vrid: Vrid,
) -> impl Iterator<Item = (Micros, u8, IpAddr)> + '_ {
    log.iter().filter_map(move |e| match e.kind {
        Kind::Sent {
            vrid: v,
            frame: FrameKind::Advert { priority, to, .. },
        } if e.node == node && v == vrid => Some((e.at, priority, to)),
        _ => None,
    })
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
