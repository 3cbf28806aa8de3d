//! The simulation: nodes running the real core and smoltcp binding on one Ethernet segment,
//! driven by a virtual clock that jumps from event to event.
//!
//! One step of [`Sim::run_until`]: take the earliest of (a) the next queued event (a frame
//! arriving at a port, a fault) and (b) the earliest timer of a running router; set the clock
//! there; apply every event due at that instant; poll every router that has frames waiting or a
//! timer due, in node order; put the frames they sent on the wire. Nothing happens between
//! events, so an hour of 10 ms adverts costs what its frames cost.
//!
//! The segment is a learning switch ([`crate::switch`]): each node has one port, hosts outside
//! the routers ([`Sim::send_at`]) share one more, and every node sends from its own MAC
//! ([`node_mac`]). After every instant the world checks what clients rely on: while exactly one
//! router of a VRID is Active and the segment is whole, a frame to the virtual MAC reaches that
//! router once its advert has taught the switch ([`Kind::Misdirected`] when it would not).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use bumpalo::Bump;
use smoltcp::wire::EthernetAddress;
use vrrp_core::net::{Buffers, Event, Resources};
pub use vrrp_core::track::Effect;
use vrrp_core::track::{Tracked, effective_priority};
use vrrp_core::wire::DropReason;
use vrrp_core::{Config, Instant, Reason, State, Stats};

use crate::device::{Frame, Port};
use crate::link::{Fault, Faults, Scope};
use crate::neighbor::NeighborCache;
use crate::pcap::Recorder;
use crate::rng::Rng;
use crate::switch::{AGEING, Forward, Switch};
use crate::time::{Clock, Micros};

/// VIPs (and peers) per virtual router in the simulator.
pub const MAX_VIPS: usize = 4;
pub type VrConfig = Config<MAX_VIPS>;
/// An IPv6 virtual router's configuration.
pub type V6Config = Config<MAX_VIPS, Ipv6Addr>;

/// A virtual router's identity on a node: its VRID and its address family. RFC 9568 makes an
/// IPv4 and an IPv6 virtual router with the same VRID two separate routers (different virtual
/// MACs, different groups). Shown as `10` for IPv4 and `10v6` for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid {
    pub id: u8,
    pub v6: bool,
}

impl Vrid {
    pub const fn v4(id: u8) -> Vrid {
        Vrid { id, v6: false }
    }

    pub const fn v6(id: u8) -> Vrid {
        Vrid { id, v6: true }
    }
}

impl From<u8> for Vrid {
    /// An IPv4 VRID.
    fn from(id: u8) -> Vrid {
        Vrid::v4(id)
    }
}

impl std::fmt::Display for Vrid {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let s = format!("{}{}", self.id, if self.v6 { "v6" } else { "" });
        f.pad(&s)
    }
}

/// The configuration of one virtual router of either family.
pub type RouterConfig = vrrp_core::net::AnyConfig<MAX_VIPS>;

impl Vrid {
    /// The identity of the router `config` configures.
    pub fn of(config: &RouterConfig) -> Vrid {
        Vrid {
            id: config.vrid(),
            v6: config.is_v6(),
        }
    }
}

/// A simulated stack of either family.
type AnyStack<'b> = vrrp_core::net::AnyStack<'b, MAX_VIPS>;

/// What the timeline keeps of the core's events (the addresses are not needed).
fn keep(out: &mut Vec<Event>) -> impl FnMut(Event<IpAddr>) + '_ {
    move |e| match e {
        Event::StateChange { from, to, reason } => {
            out.push(Event::StateChange { from, to, reason })
        }
        Event::Dropped { reason } => out.push(Event::Dropped { reason }),
        _ => {}
    }
}

/// A fresh process's stack: fresh socket memory, which the arena frees with the run.
fn new_stack<'b>(
    config: RouterConfig,
    port: &mut Port,
    arena: &'b Bump,
    now: Instant,
) -> AnyStack<'b> {
    let resources = arena.alloc(Resources::new());
    let buffers = arena.alloc(Buffers::new());
    AnyStack::new(config, port, resources, buffers, now)
        .expect("configs are validated when the scenario is loaded")
}

/// The link every node has: its port on the simulated segment, which carries the adverts.
pub const LAN: &str = "lan";

/// The MAC of node `i`'s network card: 02:00:00:00:00:11 for the first node (whose address is
/// 192.0.2.11 in most scenarios), locally administered.
pub fn node_mac(i: usize) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, 0x11u8.wrapping_add(i as u8)]
}

/// One simulated host: a name, an address, a clock, and one virtual router per VRID it serves.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// The node's IPv4 address, the primary address of its IPv4 virtual routers.
    pub ip: Option<Ipv4Addr>,
    /// Its IPv6 link-local address, the primary address of its IPv6 virtual routers.
    pub ip6: Option<Ipv6Addr>,
    pub drift_ppm: i32,
    /// Receive queue capacity of each of its ports.
    pub queue: usize,
    /// When the daemon starts (it is absent from the segment before).
    pub start: Micros,
    pub routers: Vec<RouterConfig>,
    /// Links besides [`LAN`] (uplinks): they carry no simulated traffic, only a carrier that
    /// tracking watches.
    pub links: Vec<String>,
    /// Links the virtual routers track, sync groups already merged in.
    pub tracks: Vec<Track>,
}

/// What losing a tracked link's carrier does to one virtual router (keepalived
/// `track_interface`, vrrpd's `interface` check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub vrid: Vrid,
    pub link: String,
    pub effect: Effect,
}

/// Something done to the world at a scheduled instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start (or restart after a kill): a fresh process, through Initialize.
    Start(usize),
    /// `docker pause` / SIGSTOP.
    Pause(usize),
    /// `docker unpause` / SIGCONT.
    Resume(usize),
    /// `kill -9`: no goodbye, all state lost.
    Kill(usize),
    /// SIGTERM: priority-0 adverts for the VRIDs it is Active for, then gone.
    Stop(usize),
    /// Health tracking sets the effective priority.
    Priority {
        node: usize,
        vrid: Vrid,
        priority: u8,
    },
    /// A link of `node` loses (`up` false) or regains its carrier. On [`LAN`] frames stop both
    /// ways; on any link, the routers tracking it change priority at once.
    Link {
        node: usize,
        link: String,
        up: bool,
    },
    Fault {
        scopes: Vec<Scope>,
        fault: Fault,
    },
    Heal(Vec<Scope>),
}

/// Where a node is, as seen from outside the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Paused,
    Down,
}

/// What a frame on the wire is, for the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `to` is 224.0.0.18 or ff02::12, or a peer's address for a unicast advert.
    Advert {
        vrid: u8,
        priority: u8,
        to: IpAddr,
    },
    Arp,
    /// The membership report of a stack joining 224.0.0.18.
    Igmp,
    /// An ICMPv6 Neighbor Advertisement: unsolicited (to ff02::1, an Active announcing a VIP,
    /// the IPv6 twin of a gratuitous ARP) or an answer to a solicitation.
    Na {
        unsolicited: bool,
    },
    /// An ICMPv6 Neighbor Solicitation.
    Ns,
    /// The MLD report of an IPv6 stack joining ff02::12.
    Mld,
    Other,
}

/// One line of the timeline. Checks read these; the CLI prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Action(Action),
    State {
        vrid: Vrid,
        from: State,
        to: State,
        reason: Reason,
    },
    Sent {
        vrid: Vrid,
        frame: FrameKind,
    },
    /// Frames a resumed node found in its queues, and how many overflowed.
    Thawed {
        queued: usize,
        dropped: u64,
    },
    /// Frames lost at a full receive queue while the node was paused.
    QueueFull {
        vrid: Vrid,
    },
    /// The router refused an advert (RFC 9568 §7.1 checks, the peer list). Adverts of another
    /// VRID are left out: every port here sees every VRID, where a host demultiplexes first.
    Dropped {
        vrid: Vrid,
        reason: DropReason,
    },
    /// Link tracking changed the priority the router runs with.
    Priority {
        vrid: Vrid,
        from: u8,
        to: u8,
    },
    /// The entry's node is the only Active of `vrid`, running, the segment is whole, and the
    /// switch had learned the virtual MAC at its port; now the switch sends frames for the
    /// virtual MAC out of `port` (another node's, or the outside hosts' when it equals the node
    /// count): the VIP is black-holed. Logged when it starts.
    Misdirected {
        vrid: Vrid,
        port: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Micros,
    pub node: usize,
    pub kind: Kind,
}

struct Vr<'b> {
    config: RouterConfig,
    vrid: Vrid,
    stack: Option<AnyStack<'b>>,
    port: Port,
    /// Global time of the stack's next deadline (cached after every poll).
    wake: Option<Micros>,
    /// Must be polled at the current instant (frames queued, startup, priority change).
    dirty: bool,
    /// The priority before link tracking: the configured one, or what `priority` last set.
    base: u8,
    /// The links this router tracks.
    tracks: Vec<(String, Effect)>,
}

impl Vr<'_> {
    fn priority(&self, down: &[String]) -> u8 {
        tracked_priority(self.base, &self.tracks, down)
    }
}

/// The priority a router runs with, given the one it would run with untracked (`base`, 0 for a
/// failed health check), the links it tracks and the node's links without carrier: vrrpd's
/// rule, [`effective_priority`], with a link up while it has carrier.
fn tracked_priority(base: u8, tracks: &[(String, Effect)], down: &[String]) -> u8 {
    effective_priority(
        base,
        tracks.iter().map(|(link, effect)| Tracked {
            effect: *effect,
            up: Some(!down.contains(link)),
        }),
    )
}

struct Node<'b> {
    spec: NodeSpec,
    clock: Clock,
    status: Status,
    vrs: Vec<Vr<'b>>,
    /// Links without carrier. Hardware state: it outlives a kill of the daemon.
    down: Vec<String>,
    /// [`LAN`] has carrier (cached: it is read for every frame).
    carrier: bool,
}

enum Pending {
    Deliver {
        node: usize,
        frame: Frame,
        /// Sent while a fault rule was in force: the segment is not whole until it lands.
        faulted: bool,
    },
    Action(Action),
    /// A frame from a host outside the routers ([`Sim::send_at`]).
    Outside(Frame),
}

struct Queued {
    at: Micros,
    seq: u64,
    what: Pending,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Same instant: first scheduled, first applied. This is what makes runs reproducible.
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Options that change what a run keeps, not what it does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep every frame as pcap.
    pub pcap: bool,
    /// Keep a timeline entry per advert sent (the checks need them; the bench does not).
    pub quiet_adverts: bool,
    /// Drive each router as the Linux daemon does: its frames through `poll_ingress`, then
    /// `poll` only when `wants_poll` says it has work. A run is the same either way, frame for
    /// frame (the swarm tests compare them); the default polls at every turn, as a firmware does.
    pub lazy_poll: bool,
}

/// A simulation run. `'b` is the arena the routers' socket buffers live in.
pub struct Sim<'b> {
    arena: &'b Bump,
    now: Micros,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    nodes: Vec<Node<'b>>,
    faults: Faults,
    recorder: Option<Recorder>,
    opts: Options,
    pub log: Vec<Entry>,
    scratch_delays: Vec<Micros>,
    scratch_events: Vec<Event>,
    /// Frames put on the wire.
    pub frames: u64,
    /// Calls of a router's `poll` (fewer with [`Options::lazy_poll`]).
    pub polls: u64,
    /// A listening client, if [`Sim::listen`] placed one.
    client: Option<NeighborCache>,
    switch: Switch,
    /// Frames in flight that were sent under a fault rule.
    faulted_in_flight: usize,
    /// Every virtual router on the segment, with its virtual MAC.
    virtual_macs: Vec<(Vrid, [u8; 6])>,
    /// Those whose frames are misdirected now (see [`Kind::Misdirected`]).
    misdirected: Vec<Vrid>,
    /// (VRID, its only Active) once the switch has learned the virtual MAC at that Active's
    /// port, while the segment stays whole.
    settled: Vec<(Vrid, usize)>,
}

impl<'b> Sim<'b> {
    /// Builds the world; each node starts at its `start` time. `seed` drives the link faults.
    pub fn new(arena: &'b Bump, specs: Vec<NodeSpec>, seed: u64, opts: Options) -> Sim<'b> {
        let mut rng = Rng::new(seed);
        let mut sim = Sim {
            arena,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            faults: Faults::new(rng.fork()),
            recorder: opts.pcap.then(Recorder::new),
            opts,
            log: Vec::new(),
            scratch_delays: Vec::new(),
            scratch_events: Vec::new(),
            frames: 0,
            polls: 0,
            client: None,
            switch: Switch::new(AGEING),
            faulted_in_flight: 0,
            virtual_macs: Vec::new(),
            misdirected: Vec::new(),
            settled: Vec::new(),
        };
        for (i, spec) in specs.into_iter().enumerate() {
            let vrs = spec
                .routers
                .iter()
                .map(|c| Vr {
                    config: c.clone(),
                    vrid: Vrid::of(c),
                    stack: None,
                    port: Port::new(spec.queue),
                    wake: None,
                    dirty: false,
                    base: c.priority(),
                    tracks: spec
                        .tracks
                        .iter()
                        .filter(|t| t.vrid == Vrid::of(c))
                        .map(|t| (t.link.clone(), t.effect))
                        .collect(),
                })
                .collect();
            for c in &spec.routers {
                if !sim.virtual_macs.iter().any(|(v, _)| *v == Vrid::of(c)) {
                    sim.virtual_macs.push((Vrid::of(c), c.virtual_mac()));
                }
            }
            sim.schedule(spec.start, Action::Start(i));
            sim.nodes.push(Node {
                clock: Clock {
                    ppm: spec.drift_ppm,
                },
                spec,
                status: Status::Down,
                vrs,
                down: Vec::new(),
                carrier: true,
            });
        }
        sim
    }

    pub fn now(&self) -> Micros {
        self.now
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn spec(&self, node: usize) -> &NodeSpec {
        &self.nodes[node].spec
    }

    pub fn status(&self, node: usize) -> Status {
        self.nodes[node].status
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The core's state for `vrid` on `node`, `None` while the process is down.
    pub fn state(&self, node: usize, vrid: impl Into<Vrid>) -> Option<State> {
        self.vr(node, vrid.into())?
            .stack
            .as_ref()
            .map(AnyStack::state)
    }

    /// Received-queue overflow drops of `node`, all ports.
    pub fn queue_drops(&self, node: usize) -> u64 {
        self.nodes[node].vrs.iter().map(|v| v.port.rx_dropped).sum()
    }

    /// The core's counters for `vrid` on `node`, `None` while the process is down.
    pub fn stats(&self, node: usize, vrid: impl Into<Vrid>) -> Option<&Stats> {
        self.vr(node, vrid.into())?
            .stack
            .as_ref()
            .map(AnyStack::stats)
    }

    fn vr(&self, node: usize, vrid: Vrid) -> Option<&Vr<'b>> {
        self.nodes[node].vrs.iter().find(|v| v.vrid == vrid)
    }

    pub fn schedule(&mut self, at: Micros, action: Action) {
        self.push(at, Pending::Action(action));
    }

    fn push(&mut self, at: Micros, what: Pending) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            what,
        }));
    }

    /// Puts `frame` on the wire at `at`, from a host that is no router here (a rival speaker, a
    /// client): every node receives it at that instant, outside the link faults.
    pub fn send_at(&mut self, at: Micros, frame: Vec<u8>) {
        self.push(at, Pending::Outside(Rc::from(frame)));
    }

    /// Places a client on the segment that hears every frame as it is sent and keeps a
    /// neighbour cache for `cache`'s addresses.
    pub fn listen(&mut self, cache: NeighborCache) {
        self.client = Some(cache);
    }

    /// The port the switch sends a frame to `mac` out of now: a node's index, the node count
    /// for the hosts outside the routers, `None` if it floods the frame (unknown or aged out).
    pub fn port_of(&self, mac: [u8; 6]) -> Option<usize> {
        match self.switch.lookup(self.now, EthernetAddress(mac)) {
            Forward::Port(p) => Some(p),
            Forward::Flood => None,
        }
    }

    /// The listening client's cache.
    pub fn client(&self) -> Option<&NeighborCache> {
        self.client.as_ref()
    }

    /// The recorded pcap (empty unless [`Options::pcap`]).
    pub fn take_pcap(&mut self) -> Vec<u8> {
        self.recorder
            .take()
            .map(Recorder::into_bytes)
            .unwrap_or_default()
    }

    fn next_wake(&self) -> Option<Micros> {
        self.nodes
            .iter()
            .filter(|n| n.status == Status::Running)
            .flat_map(|n| n.vrs.iter())
            .filter_map(|v| if v.dirty { Some(self.now) } else { v.wake })
            .min()
    }

    /// Runs every event up to and including `until`, then leaves the clock at `until`.
    pub fn run_until(&mut self, until: Micros) {
        loop {
            let next_event = self.queue.peek().map(|q| q.0.at);
            let t = match (next_event, self.next_wake()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if t > until {
                break;
            }
            self.now = t.max(self.now);
            while self.queue.peek().is_some_and(|q| q.0.at <= self.now) {
                let Reverse(q) = self.queue.pop().expect("peeked");
                match q.what {
                    Pending::Deliver {
                        node,
                        frame,
                        faulted,
                    } => {
                        self.faulted_in_flight -= usize::from(faulted);
                        self.deliver(node, frame)
                    }
                    Pending::Action(a) => self.apply(a),
                    Pending::Outside(frame) => self.outside_frame(frame),
                }
            }
            self.poll_due();
            self.check_forwarding();
        }
        self.now = self.now.max(until);
    }

    /// No fault rule in force, none of its frames still in flight, every carrier up.
    fn whole(&self) -> bool {
        self.faults.is_empty()
            && self.faulted_in_flight == 0
            && self.nodes.iter().all(|n| n.carrier)
    }

    /// Logs [`Kind::Misdirected`] for each VRID whose frames start going astray.
    ///
    /// The check starts once the switch has learned the virtual MAC at the only Active's port
    /// (its next advert does it): right after a split brain heals, the loser's last advert may
    /// still hold the entry until then, as it would on any real switch.
    fn check_forwarding(&mut self) {
        if !self.whole() {
            self.settled.clear();
            self.misdirected.clear();
            return;
        }
        for k in 0..self.virtual_macs.len() {
            let (vrid, mac) = self.virtual_macs[k];
            let mut actives =
                (0..self.nodes.len()).filter(|&n| self.state(n, vrid) == Some(State::Active));
            // A frozen Active sends nothing that could keep the switch's entry: until it
            // thaws, where frames for it go is not the binding's doing.
            let only = match (actives.next(), actives.next()) {
                (Some(n), None) if self.nodes[n].status == Status::Running => Some(n),
                _ => None,
            };
            let Some(active) = only else {
                self.settled.retain(|(v, _)| *v != vrid);
                self.misdirected.retain(|v| *v != vrid);
                continue;
            };
            match self.port_of(mac) {
                Some(port) if port == active => {
                    if !self.settled.contains(&(vrid, active)) {
                        self.settled.retain(|(v, _)| *v != vrid);
                        self.settled.push((vrid, active));
                    }
                    self.misdirected.retain(|v| *v != vrid);
                }
                Some(port)
                    if self.settled.contains(&(vrid, active))
                        && !self.misdirected.contains(&vrid) =>
                {
                    self.misdirected.push(vrid);
                    self.log.push(Entry {
                        at: self.now,
                        node: active,
                        kind: Kind::Misdirected { vrid, port },
                    });
                }
                Some(_) => {}
                // Flooded: it reaches the Active too.
                None => self.misdirected.retain(|v| *v != vrid),
            }
        }
    }

    fn deliver(&mut self, node: usize, frame: Frame) {
        let now = self.now;
        let n = &mut self.nodes[node];
        // Checked on arrival: a frame in flight when the carrier goes is lost too.
        if n.status == Status::Down || !n.carrier {
            return;
        }
        for (i, vr) in n.vrs.iter_mut().enumerate() {
            if vr.port.enqueue(frame.clone(), n.status == Status::Paused) {
                vr.dirty |= n.status == Status::Running;
            } else {
                let vrid = n.vrs[i].vrid;
                self.log.push(Entry {
                    at: now,
                    node,
                    kind: Kind::QueueFull { vrid },
                });
                break;
            }
        }
    }

    fn apply(&mut self, action: Action) {
        let now = self.now;
        // A resume of a running node or a start of a live one changes nothing: keep it off
        // the timeline.
        let noop = match action {
            Action::Resume(n) => self.nodes[n].status != Status::Paused,
            Action::Start(n) => self.nodes[n].status != Status::Down,
            _ => false,
        };
        if noop {
            return;
        }
        self.log.push(Entry {
            at: now,
            node: match &action {
                Action::Start(n)
                | Action::Pause(n)
                | Action::Resume(n)
                | Action::Kill(n)
                | Action::Stop(n) => *n,
                Action::Priority { node, .. } | Action::Link { node, .. } => *node,
                Action::Fault { .. } | Action::Heal(_) => usize::MAX,
            },
            kind: Kind::Action(action.clone()),
        });
        match action {
            Action::Start(i) => self.start(i),
            Action::Pause(i) => {
                if self.nodes[i].status == Status::Running {
                    self.nodes[i].status = Status::Paused;
                }
            }
            Action::Resume(i) => {
                let n = &mut self.nodes[i];
                if n.status == Status::Paused {
                    n.status = Status::Running;
                    let queued = n.vrs.iter().map(|v| v.port.queued()).sum();
                    let dropped = n.vrs.iter().map(|v| v.port.rx_dropped).sum();
                    for v in &mut n.vrs {
                        v.dirty = true;
                    }
                    self.log.push(Entry {
                        at: now,
                        node: i,
                        kind: Kind::Thawed { queued, dropped },
                    });
                    // The carrier changes it slept through reach it now (netlink queues them).
                    self.retrack(i);
                }
            }
            Action::Kill(i) => self.kill(i),
            Action::Stop(i) => {
                if self.nodes[i].status != Status::Down {
                    let local = self.nodes[i].clock.local(now);
                    for k in 0..self.nodes[i].vrs.len() {
                        let vr = &mut self.nodes[i].vrs[k];
                        let vrid = vr.vrid;
                        let mut events = std::mem::take(&mut self.scratch_events);
                        if let Some(stack) = vr.stack.as_mut() {
                            stack.shutdown(local, &mut vr.port, &mut keep(&mut events));
                        }
                        self.scratch_events = events;
                        self.after_poll(i, k, vrid);
                    }
                }
                self.kill(i);
            }
            Action::Priority {
                node,
                vrid,
                priority,
            } => {
                // Health tracking runs inside the daemon: a frozen one changes nothing.
                if self.nodes[node].status != Status::Running {
                    return;
                }
                let n = &mut self.nodes[node];
                let local = n.clock.local(now);
                if let Some(vr) = n.vrs.iter_mut().find(|v| v.vrid == vrid)
                    && vr.stack.is_some()
                {
                    vr.base = priority;
                    let p = vr.priority(&n.down);
                    if let Some(stack) = vr.stack.as_mut() {
                        stack.set_priority(local, p);
                    }
                    vr.dirty = true;
                }
            }
            Action::Link { node, link, up } => {
                let n = &mut self.nodes[node];
                n.down.retain(|l| *l != link);
                if !up {
                    n.down.push(link);
                }
                n.carrier = !n.down.iter().any(|l| l == LAN);
                if n.status == Status::Running {
                    self.retrack(node);
                }
            }
            Action::Fault { scopes, fault } => {
                for s in scopes {
                    self.faults.add(s, fault);
                }
            }
            Action::Heal(scopes) => {
                for s in scopes {
                    self.faults.heal(s);
                }
            }
        }
    }

    /// Gives every router of node `i` the priority its tracked links imply, if that changed.
    fn retrack(&mut self, i: usize) {
        let now = self.now;
        let n = &mut self.nodes[i];
        let local = n.clock.local(now);
        for vr in &mut n.vrs {
            let to = vr.priority(&n.down);
            let Some(stack) = vr.stack.as_mut() else {
                continue;
            };
            let from = stack.priority();
            if to != from {
                stack.set_priority(local, to);
                vr.dirty = true;
                self.log.push(Entry {
                    at: now,
                    node: i,
                    kind: Kind::Priority {
                        vrid: vr.vrid,
                        from,
                        to,
                    },
                });
            }
        }
    }

    fn kill(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.status = Status::Down;
        for v in &mut n.vrs {
            v.stack = None;
            v.port.clear();
            v.wake = None;
            v.dirty = false;
        }
    }

    fn start(&mut self, i: usize) {
        let now = self.now;
        let arena = self.arena;
        let n = &mut self.nodes[i];
        if n.status != Status::Down {
            return;
        }
        let local = n.clock.local(now);
        for vr in &mut n.vrs {
            vr.port.clear();
            let mut stack = new_stack(vr.config.clone(), &mut vr.port, arena, local);
            // The node's only stack, as on firmware: it answers ARP for the node's address and
            // receives the unicast adverts sent to it.
            stack.set_own_primary(true);
            stack
                .set_node_mac(EthernetAddress(node_mac(i)))
                .expect("node MACs are unicast");
            // A fresh process forgets what `priority` set, but reads the carriers before it
            // starts, as vrrpd does: a router whose fault link is down starts as a Backup that
            // never takes over.
            vr.base = vr.config.priority();
            let p = vr.priority(&n.down);
            if p != vr.base {
                stack.set_priority(local, p);
                self.log.push(Entry {
                    at: now,
                    node: i,
                    kind: Kind::Priority {
                        vrid: vr.vrid,
                        from: vr.base,
                        to: p,
                    },
                });
            }
            stack.startup(local);
            vr.stack = Some(stack);
            vr.dirty = true;
        }
        n.status = Status::Running;
    }

    fn poll_due(&mut self) {
        let now = self.now;
        for i in 0..self.nodes.len() {
            if self.nodes[i].status != Status::Running {
                continue;
            }
            let local = self.nodes[i].clock.local(now);
            for k in 0..self.nodes[i].vrs.len() {
                let vr = &mut self.nodes[i].vrs[k];
                if !(vr.dirty || vr.wake.is_some_and(|w| w <= now)) {
                    continue;
                }
                vr.dirty = false;
                let vrid = vr.vrid;
                let mut events = std::mem::take(&mut self.scratch_events);
                if let Some(stack) = vr.stack.as_mut() {
                    let on_event = &mut keep(&mut events);
                    let lazy = self.opts.lazy_poll;
                    if lazy {
                        stack.poll_ingress(local, &mut vr.port, on_event);
                    }
                    if !lazy || stack.wants_poll(local) {
                        stack.poll(local, &mut vr.port, on_event);
                        self.polls += 1;
                    }
                }
                self.scratch_events = events;
                self.after_poll(i, k, vrid);
            }
        }
    }

    /// Logs what a poll did, puts its frames on the wire and caches the next deadline.
    fn after_poll(&mut self, i: usize, k: usize, vrid: Vrid) {
        let now = self.now;
        for e in self.scratch_events.drain(..) {
            let kind = match e {
                Event::StateChange { from, to, reason } => Kind::State {
                    vrid,
                    from,
                    to,
                    reason,
                },
                Event::Dropped { reason } if reason != DropReason::Vrid => {
                    Kind::Dropped { vrid, reason }
                }
                _ => continue,
            };
            self.log.push(Entry {
                at: now,
                node: i,
                kind,
            });
        }
        let out = std::mem::take(&mut self.nodes[i].vrs[k].port.tx);
        for frame in &out {
            let kind = classify(frame);
            if !(self.opts.quiet_adverts && matches!(kind, FrameKind::Advert { .. })) {
                self.log.push(Entry {
                    at: now,
                    node: i,
                    kind: Kind::Sent { vrid, frame: kind },
                });
            }
            self.transmit(i, frame);
        }
        let mut out = out;
        out.clear();
        let node = &mut self.nodes[i];
        let clock = node.clock;
        let vr = &mut node.vrs[k];
        vr.port.tx = out;
        let local = clock.local(now);
        vr.wake = vr
            .stack
            .as_mut()
            .and_then(|s| s.poll_at(local))
            // A deadline already passed is due now; `max` keeps the clock from running back.
            .map(|t| clock.global(t).max(now));
        if vr.wake == Some(now) {
            // smoltcp asks to be polled again at once (a queued egress); do it in this instant
            // but never spin: a second "now" after a poll with nothing to do would loop forever.
            vr.wake = Some(now + 1);
        }
    }

    fn outside_frame(&mut self, frame: Frame) {
        self.frames += 1;
        if let Some(r) = self.recorder.as_mut() {
            r.record(self.now, &frame);
        }
        if let Some(c) = self.client.as_mut() {
            c.observe(self.now, &frame);
        }
        let outside = self.nodes.len();
        let forward = self.switch.forward(self.now, outside, &frame);
        for to in 0..self.nodes.len() {
            if forward == Forward::Flood || forward == Forward::Port(to) {
                self.deliver(to, frame.clone());
            }
        }
    }

    fn transmit(&mut self, from: usize, frame: &[u8]) {
        // No carrier, no wire: the frame is not on the capture either.
        if !self.nodes[from].carrier {
            return;
        }
        self.frames += 1;
        if let Some(r) = self.recorder.as_mut() {
            r.record(self.now, frame);
        }
        if let Some(c) = self.client.as_mut() {
            c.observe(self.now, frame);
        }
        let forward = self.switch.forward(self.now, from, frame);
        let faulted = !self.faults.is_empty();
        let frame: Frame = Rc::from(frame);
        let mut delays = std::mem::take(&mut self.scratch_delays);
        for to in 0..self.nodes.len() {
            if to == from || !(forward == Forward::Flood || forward == Forward::Port(to)) {
                continue;
            }
            self.faults.deliveries(from, to, &mut delays);
            for &d in &delays {
                self.faulted_in_flight += usize::from(faulted);
                self.push(
                    self.now + d,
                    Pending::Deliver {
                        node: to,
                        frame: frame.clone(),
                        faulted,
                    },
                );
            }
        }
        self.scratch_delays = delays;
    }
}

/// Tells adverts, ARP, neighbour discovery and anything else apart by their Ethernet and IP
/// headers.
pub fn classify(frame: &[u8]) -> FrameKind {
    if frame.len() < 14 {
        return FrameKind::Other;
    }
    match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0806 => FrameKind::Arp,
        0x0800 => {
            let ip = &frame[14..];
            if ip.len() >= 20 && ip[9] == 2 {
                return FrameKind::Igmp;
            }
            if ip.len() < 20 || ip[9] != vrrp_core::wire::IP_PROTOCOL {
                return FrameKind::Other;
            }
            let hl = usize::from(ip[0] & 0x0f) * 4;
            match ip.get(hl..hl + 3) {
                Some(v) => FrameKind::Advert {
                    vrid: v[1],
                    priority: v[2],
                    to: IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19])),
                },
                None => FrameKind::Other,
            }
        }
        0x86dd => {
            let ip = &frame[14..];
            if ip.len() < 40 {
                return FrameKind::Other;
            }
            let dst: [u8; 16] = ip[24..40].try_into().expect("16 bytes");
            let dst = Ipv6Addr::from(dst);
            match ip[6] {
                n if n == vrrp_core::wire::IP_PROTOCOL => match ip.get(40..43) {
                    Some(v) => FrameKind::Advert {
                        vrid: v[1],
                        priority: v[2],
                        to: IpAddr::V6(dst),
                    },
                    None => FrameKind::Other,
                },
                // ICMPv6: neighbour discovery; MLD reports carry a hop-by-hop header first.
                58 => match ip.get(40) {
                    Some(135) => FrameKind::Ns,
                    Some(136) => FrameKind::Na {
                        unsolicited: dst == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                    },
                    Some(143) => FrameKind::Mld,
                    _ => FrameKind::Other,
                },
                0 if ip.get(40) == Some(&58) => FrameKind::Mld,
                _ => FrameKind::Other,
            }
        }
        _ => FrameKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_priority_follows_vrrpd() {
        let tracks = [
            ("wan".to_string(), Effect::Weight(-60)),
            ("dmz".to_string(), Effect::Weight(10)),
            ("lan".to_string(), Effect::Fault),
        ];
        let down = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // A positive weight counts while its link is up, a negative one while it is down.
        assert_eq!(tracked_priority(150, &tracks, &down(&[])), 160);
        assert_eq!(tracked_priority(150, &tracks, &down(&["wan"])), 100);
        assert_eq!(tracked_priority(150, &tracks, &down(&["wan", "dmz"])), 90);
        assert_eq!(tracked_priority(150, &tracks, &down(&["lan"])), 0);
        assert_eq!(
            tracked_priority(0, &tracks, &down(&[])),
            0,
            "a failed health check"
        );
        assert_eq!(tracked_priority(50, &tracks, &down(&["wan", "dmz"])), 1);
        // Only an untouched owner advertises 255.
        assert_eq!(tracked_priority(250, &tracks, &down(&[])), 254);
        assert_eq!(tracked_priority(255, &tracks[..1], &down(&[])), 255);
        assert_eq!(tracked_priority(255, &tracks[..1], &down(&["wan"])), 195);
    }
}
