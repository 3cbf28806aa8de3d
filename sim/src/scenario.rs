//! The scenario file: routers, their VRRP configs, timed faults and expectations, one statement
//! per line, written to be read as a story. `sim/README.md` documents every statement; the
//! files in `sim/scenarios/` are examples, and `sim/tests/scenarios.rs` runs every one of them and
//! checks its expectations. This one is `sim/scenarios/seed-demo.vrrp`:
//!
#![doc = concat!("```text\n", include_str!("../scenarios/seed-demo.vrrp"), "```")]
//!
//! Run from Rust, with the scenario's seed:
//!
//! ```
//! use vrrp_sim::scenario::Scenario;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/seed-demo.vrrp");
//! let scenario = Scenario::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
//! let outcome = vrrp_sim::run::run(&scenario, scenario.seed, false);
//! assert!(outcome.passed(), "{:?}", outcome.checks);
//! assert_eq!(outcome.checks.len(), 7);
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use vrrp_core::wire::{Address, DropReason, Version};
use vrrp_core::{Config, Garp, State};

use crate::device::DEFAULT_QUEUE;
use crate::link::{Fault, Scope};
use crate::time::{Micros, parse_duration, parse_percent};
use crate::world::{
    Action, Effect, LAN, MAX_VIPS, NodeSpec, RouterConfig, Track, V6Config, VrConfig, Vrid,
};

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub duration: Micros,
    pub seed: u64,
    pub nodes: Vec<NodeSpec>,
    pub actions: Vec<(Micros, Action)>,
    pub expects: Vec<Expect>,
}

/// What a run must show.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The core of `node` for `vrid` is in `state` at `at` (after everything at that instant).
    /// `None` means the process is down.
    State {
        node: usize,
        vrid: Vrid,
        at: Micros,
        state: Option<State>,
    },
    /// The first time `node` becomes Active for `vrid` at or after `from` lies in `from..=to`.
    Takeover {
        node: usize,
        vrid: Vrid,
        from: Micros,
        to: Micros,
    },
    /// `node` sends no advert for `vrid` in `from..=to`.
    Silent {
        node: usize,
        vrid: Vrid,
        from: Micros,
        to: Micros,
    },
    /// From `after` on, never two running Actives for `vrid` for longer than `tolerance`.
    SingleActive {
        vrid: Option<Vrid>,
        after: Micros,
        tolerance: Micros,
    },
    /// The core of `node` for `vrid` is in `state` throughout `from..=to`.
    During {
        node: usize,
        vrid: Vrid,
        from: Micros,
        to: Micros,
        state: Option<State>,
    },
    /// `node` refused exactly `count` adverts for `reason` in `from..=to`.
    Drops {
        node: usize,
        vrid: Vrid,
        reason: DropReason,
        count: u64,
        from: Micros,
        to: Micros,
    },
    /// No router sends a multicast advert (for `vrid`): with peers, every advert is unicast.
    NoMulticast { vrid: Option<Vrid> },
    /// From `after` on, the routers serving as Active for each of `vrids` are the same ones,
    /// except for spans no longer than `tolerance`.
    Together {
        vrids: Vec<Vrid>,
        after: Micros,
        tolerance: Micros,
    },
}

/// A parse error with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone)]
struct Group {
    /// All of one family, that of the group's key.
    vips: Vec<IpAddr>,
    opts: Vec<VrOpt>,
}

/// One option of a `vrid` or `vrrp` line.
#[derive(Debug, Clone)]
enum VrOpt {
    /// `key value`.
    Set(String, String),
    /// `track-link LINK fault` or `track-link LINK weight N`.
    Track(String, Effect),
}

/// A `sync-group` on one router.
struct SyncGroup {
    node: usize,
    name: String,
    vrids: Vec<Vrid>,
}

struct Parser {
    name: String,
    duration: Option<Micros>,
    seed: u64,
    nodes: Vec<NodeSpec>,
    groups: BTreeMap<Vrid, Group>,
    sync: Vec<SyncGroup>,
    actions: Vec<(Micros, Action)>,
    expects: Vec<Expect>,
}

type Res<T> = Result<T, String>;

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, ParseError> {
        let mut p = Parser {
            name: String::new(),
            duration: None,
            seed: 1,
            nodes: Vec::new(),
            groups: BTreeMap::new(),
            sync: Vec::new(),
            actions: Vec::new(),
            expects: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            p.statement(&words).map_err(|message| ParseError {
                line: i + 1,
                message,
            })?;
        }
        let end = ParseError {
            line: text.lines().count(),
            message: String::new(),
        };
        let duration = p.duration.ok_or_else(|| ParseError {
            message: "missing `duration`".into(),
            ..end.clone()
        })?;
        if p.nodes.iter().all(|n| n.routers.is_empty()) {
            return Err(ParseError {
                message: "no `vrrp` line: no router runs VRRP".into(),
                ..end
            });
        }
        Ok(Scenario {
            name: p.name,
            duration,
            seed: p.seed,
            nodes: p.nodes,
            actions: p.actions,
            expects: p.expects,
        })
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
}

impl Parser {
    fn statement(&mut self, w: &[&str]) -> Res<()> {
        match w[0] {
            "name" => self.name = w[1..].join(" "),
            "duration" => self.duration = Some(parse_duration(arg(w, 1, "a duration")?)?),
            "seed" => {
                self.seed = arg(w, 1, "a number")?
                    .parse()
                    .map_err(|_| format!("`{}` is not a seed", w[1]))?
            }
            "router" => self.router(w)?,
            "vrid" => self.vrid(w)?,
            "vrrp" => self.vrrp(w)?,
            "sync-group" => self.sync_group(w)?,
            "at" => {
                let at = parse_duration(arg(w, 1, "a time")?)?;
                let action = self.action(&w[2..])?;
                self.actions.push((at, action));
            }
            "expect" => {
                let e = self.expect(&w[1..])?;
                self.expects.push(e);
            }
            other => return Err(format!("unknown statement `{other}`")),
        }
        Ok(())
    }

    fn node(&self, name: &str) -> Res<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| format!("no router named `{name}` (declare it with `router` first)"))
    }

    fn router(&mut self, w: &[&str]) -> Res<()> {
        let name = arg(w, 1, "a name")?;
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(format!("router `{name}` declared twice"));
        }
        // One address of each family at most: `router r1 192.0.2.11 fe80::11`.
        let mut ip = None;
        let mut ip6 = None;
        let mut used = 2;
        while let Some(a) = w.get(used).and_then(|a| a.parse::<IpAddr>().ok()) {
            match a {
                IpAddr::V4(a) if ip.is_none() => ip = Some(a),
                IpAddr::V6(a) if ip6.is_none() => {
                    if !a.is_unicast_link_local() {
                        return Err(format!(
                            "router {name}: its IPv6 address `{a}` must be link-local (fe80::/10): \
                             IPv6 adverts come from the link-local address (RFC 9568 §5.1.2.1)"
                        ));
                    }
                    ip6 = Some(a)
                }
                _ => {
                    return Err(format!(
                        "router {name}: `{a}` is a second address of one family (give at most one IPv4 and one IPv6 address)"
                    ));
                }
            }
            used += 1;
        }
        if used == 2 {
            return Err(match w.get(2) {
                Some(a) => format!("`{a}` is not an IPv4 or IPv6 address"),
                None => "expected an IPv4 or IPv6 address".into(),
            });
        }
        let mut spec = NodeSpec {
            name: name.to_string(),
            ip,
            ip6,
            drift_ppm: 0,
            queue: DEFAULT_QUEUE,
            start: 0,
            routers: Vec::new(),
            links: Vec::new(),
            tracks: Vec::new(),
        };
        for (k, v) in pairs(&w[used..])? {
            match k.as_str() {
                "drift" => {
                    let n = v
                        .strip_suffix("ppm")
                        .ok_or("drift is written like +100ppm or -50ppm")?;
                    spec.drift_ppm = n
                        .trim_start_matches('+')
                        .parse()
                        .map_err(|_| format!("`{v}` is not a drift"))?;
                    if spec.drift_ppm.abs() >= 100_000 {
                        return Err("drift must stay below 100000ppm".into());
                    }
                }
                "queue" => {
                    spec.queue = v
                        .parse()
                        .map_err(|_| format!("`{v}` is not a queue size"))?
                }
                "start" => spec.start = parse_duration(&v)?,
                "links" => {
                    for l in v.split(',') {
                        if l == LAN {
                            return Err(format!(
                                "`{LAN}` is the segment link every router has: list only the others"
                            ));
                        }
                        if l.is_empty() || spec.links.iter().any(|x| x == l) {
                            return Err(format!(
                                "links `{v}`: names must be distinct, like wan,dmz"
                            ));
                        }
                        spec.links.push(l.to_string());
                    }
                }
                _ => return Err(format!("unknown router option `{k}`")),
            }
        }
        self.nodes.push(spec);
        Ok(())
    }

    fn vrid(&mut self, w: &[&str]) -> Res<()> {
        let (id, family) = parse_vrid_ref(arg(w, 1, "a VRID")?)?;
        let mut vips: Vec<IpAddr> = Vec::new();
        let mut opts = Vec::new();
        for opt in vr_options(&w[2..])? {
            match opt {
                VrOpt::Set(k, v) if k == "vip" => {
                    for a in v.split(',') {
                        vips.push(
                            a.parse()
                                .map_err(|_| format!("`{a}` is not an IPv4 or IPv6 address"))?,
                        );
                    }
                }
                opt => opts.push(opt),
            }
        }
        let Some(first) = vips.first() else {
            return Err("a vrid needs `vip ADDR[,ADDR...]`".into());
        };
        // The family of a virtual router follows its VIPs.
        let v6 = first.is_ipv6();
        if let Some(other) = vips.iter().find(|a| a.is_ipv6() != v6) {
            return Err(format!(
                "vrid {id} mixes IPv4 and IPv6 VIPs ({first} and {other}): a virtual router is of \
                 one family (RFC 9568); declare one vrid per family, with the same number if you like"
            ));
        }
        if family.is_some_and(|f| f != v6) {
            return Err(format!(
                "vrid {}: its VIPs are {}",
                w[1],
                if v6 { "IPv6" } else { "IPv4" }
            ));
        }
        if let IpAddr::V6(a) = first
            && !a.is_unicast_link_local()
        {
            return Err(format!(
                "vrid {id}: the first IPv6 VIP `{a}` must be link-local (fe80::/10, RFC 9568 §5.2.9); \
                 write it first, like `vip fe80::1,2001:db8::1`"
            ));
        }
        self.groups.insert(Vrid { id, v6 }, Group { vips, opts });
        Ok(())
    }

    fn vrrp(&mut self, w: &[&str]) -> Res<()> {
        let node = self.node(arg(w, 1, "a router name")?)?;
        let vrid = self.resolve(arg(w, 2, "a VRID")?)?;
        let group = self
            .groups
            .get(&vrid)
            .ok_or_else(|| {
                format!("vrid {vrid} is not declared (add a `vrid {vrid} vip ...` line)")
            })?
            .clone();
        if self.nodes[node].routers.iter().any(|c| Vrid::of(c) == vrid) {
            return Err(format!("router joins vrid {vrid} twice"));
        }
        let spec = &self.nodes[node];
        let (config, tracks) = if vrid.v6 {
            let ip6 = spec.ip6.ok_or_else(|| {
                format!(
                    "router {} has no IPv6 address for the IPv6 vrid {vrid}: give it a link-local one, like `router {} {} fe80::11`",
                    spec.name,
                    spec.name,
                    spec.ip.map_or(String::new(), |a| a.to_string())
                )
            })?;
            let mut c: V6Config = Config::new(vrid.id, 100, ip6);
            c.vip_prefix_len = 64;
            let vips: Vec<_> = group
                .vips
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(a) => Some(*a),
                    IpAddr::V4(_) => None,
                })
                .collect();
            let (c, t) = self.configure(node, vrid, c, &vips, &group, &w[3..], |_| {
                Err("peers: unicast IPv6 adverts are not simulated (IPv4 only)".into())
            })?;
            (RouterConfig::V6(c), t)
        } else {
            let ip = spec.ip.ok_or_else(|| {
                format!(
                    "router {} has no IPv4 address for the IPv4 vrid {vrid}: give it one, like `router {} 192.0.2.11 {}`",
                    spec.name,
                    spec.name,
                    spec.ip6.map_or(String::new(), |a| a.to_string())
                )
            })?;
            let mut c: VrConfig = Config::new(vrid.id, 100, ip);
            c.vip_prefix_len = 24;
            let vips: Vec<_> = group
                .vips
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .collect();
            let (c, t) =
                self.configure(node, vrid, c, &vips, &group, &w[3..], |v| self.peers(v))?;
            (RouterConfig::V4(c), t)
        };
        self.nodes[node].routers.push(config);
        self.nodes[node].tracks.extend(tracks);
        self.unicast_limit()
    }

    /// A member's config: the group's VIPs, then the group's options, then its own (`own`),
    /// which override them. `vips` are the group's, of the family. `peers` turns a peer list into addresses of the family.
    #[allow(clippy::too_many_arguments)]
    fn configure<A: Address>(
        &self,
        node: usize,
        vrid: Vrid,
        mut config: Config<MAX_VIPS, A>,
        vips: &[A],
        group: &Group,
        own: &[&str],
        peers: impl Fn(&str) -> Res<Vec<A>>,
    ) -> Res<(Config<MAX_VIPS, A>, Vec<Track>)> {
        for vip in vips {
            config = config.with_vip(*vip).map_err(|e| e.to_string())?;
        }
        let own = vr_options(own)?;
        let mut tracks: Vec<Track> = Vec::new();
        for opt in group.opts.iter().chain(own.iter()) {
            match opt {
                VrOpt::Set(k, v) if k == "peers" => {
                    config.peers.clear();
                    for addr in peers(v)? {
                        config.peers.push(addr).map_err(|_| {
                            format!("at most {MAX_VIPS} peers per virtual router here")
                        })?;
                    }
                }
                VrOpt::Set(k, v) => set_option(&mut config, k, v)?,
                VrOpt::Track(link, effect) => {
                    let spec = &self.nodes[node];
                    if link != LAN && !spec.links.contains(link) {
                        return Err(format!(
                            "router {} has no link `{link}` (it has {}); declare it with `router {} {} links {link}`",
                            spec.name,
                            link_list(spec),
                            spec.name,
                            addresses(spec)
                        ));
                    }
                    tracks.retain(|t| t.link != *link);
                    tracks.push(Track {
                        vrid,
                        link: link.clone(),
                        effect: *effect,
                    });
                }
            }
        }
        config
            .validate()
            .map_err(|e| format!("router {} vrid {vrid}: {e}", self.nodes[node].name))?;
        Ok((config, tracks))
    }

    /// A VRID as written (`10`, `10v4`, `10v6`) to the virtual router it names: a bare number
    /// names the family declared for it, and must, when both are.
    fn resolve(&self, s: &str) -> Res<Vrid> {
        let (id, family) = parse_vrid_ref(s)?;
        if let Some(v6) = family {
            return Ok(Vrid { id, v6 });
        }
        let v4 = self.groups.contains_key(&Vrid::v4(id));
        let v6 = self.groups.contains_key(&Vrid::v6(id));
        if v4 && v6 {
            return Err(format!(
                "vrid {id} is declared for IPv4 and for IPv6: write `{id}v4` or `{id}v6`"
            ));
        }
        Ok(Vrid { id, v6 })
    }

    /// `peers r2,r3` or addresses: the peer list of a virtual router.
    fn peers(&self, list: &str) -> Res<Vec<Ipv4Addr>> {
        let mut peers = Vec::new();
        for p in list.split(',') {
            let addr = match self.nodes.iter().find(|n| n.name == p) {
                Some(n) => n
                    .ip
                    .ok_or_else(|| format!("peer `{p}` has no IPv4 address"))?,
                None => p.parse().map_err(|_| {
                    format!(
                        "`{p}` in peers is neither a router (declare it with `router` first) nor an IPv4 address"
                    )
                })?,
            };
            if peers.contains(&addr) {
                return Err(format!("peer `{p}` ({addr}) is listed twice"));
            }
            peers.push(addr);
        }
        Ok(peers)
    }

    /// Each VRID of a simulated node has its own port and virtual MAC, and each owns the node's
    /// address: with two VRIDs, two MACs would answer ARP for it, and a unicast advert would
    /// reach whichever answered last. So unicast is simulated between single-VRID routers only.
    fn unicast_limit(&self) -> Res<()> {
        for n in &self.nodes {
            for c in n
                .routers
                .iter()
                .filter_map(RouterConfig::v4)
                .filter(|c| !c.peers.is_empty())
            {
                let crowded = std::iter::once(n)
                    .chain(
                        self.nodes
                            .iter()
                            .filter(|m| m.ip.is_some_and(|ip| c.peers.contains(&ip))),
                    )
                    .find(|m| m.routers.iter().filter_map(RouterConfig::v4).count() > 1);
                if let Some(m) = crowded {
                    return Err(format!(
                        "router {} sends unicast adverts for vrid {} (peers), so {} may serve only one VRID: \
                         the simulator gives each VRID its own port and MAC, which would all answer ARP for {}",
                        n.name,
                        c.vrid,
                        m.name,
                        m.ip.map_or(String::new(), |a| a.to_string())
                    ));
                }
            }
        }
        Ok(())
    }

    /// `sync-group ROUTER[,ROUTER...] NAME VRID VRID...`: on each router, the VRIDs share the
    /// union of their tracked links, so a link that faults one member faults them all (vrrpd's
    /// config-level sync group).
    fn sync_group(&mut self, w: &[&str]) -> Res<()> {
        const USAGE: &str = "write `sync-group ROUTER[,ROUTER...] NAME VRID VRID...`";
        let routers = arg(w, 1, "a router name")
            .map_err(|e| format!("{e}: {USAGE}"))?
            .split(',')
            .map(|r| self.node(r))
            .collect::<Res<Vec<usize>>>()?;
        let name = arg(w, 2, "a group name").map_err(|e| format!("{e}: {USAGE}"))?;
        if name.parse::<u8>().is_ok() {
            return Err(format!("expected a group name before the VRIDs: {USAGE}"));
        }
        let mut vrids = Vec::new();
        for v in &w[3..] {
            let vrid = self.resolve(v)?;
            if vrids.contains(&vrid) {
                return Err(format!("vrid {vrid} is listed twice"));
            }
            vrids.push(vrid);
        }
        if vrids.len() < 2 {
            return Err(format!("a sync group needs at least two VRIDs: {USAGE}"));
        }
        for node in routers {
            let spec = &self.nodes[node];
            if let Some(v) = vrids
                .iter()
                .find(|v| !spec.routers.iter().any(|c| Vrid::of(c) == **v))
            {
                return Err(format!(
                    "router {} does not serve vrid {v} (its `vrrp {} {v}` line must come first)",
                    spec.name, spec.name
                ));
            }
            for g in self.sync.iter().filter(|g| g.node == node) {
                if g.name == name {
                    return Err(format!(
                        "router {} already has sync group `{name}`",
                        spec.name
                    ));
                }
                if let Some(v) = vrids.iter().find(|v| g.vrids.contains(v)) {
                    return Err(format!(
                        "vrid {v} of router {} is already in sync group `{}`",
                        spec.name, g.name
                    ));
                }
            }
            let mut union: Vec<(String, Effect)> = Vec::new();
            for t in spec.tracks.iter().filter(|t| vrids.contains(&t.vrid)) {
                if !union.contains(&(t.link.clone(), t.effect)) {
                    union.push((t.link.clone(), t.effect));
                }
            }
            let spec = &mut self.nodes[node];
            spec.tracks.retain(|t| !vrids.contains(&t.vrid));
            for &vrid in &vrids {
                for (link, effect) in &union {
                    spec.tracks.push(Track {
                        vrid,
                        link: link.clone(),
                        effect: *effect,
                    });
                }
            }
            self.sync.push(SyncGroup {
                node,
                name: name.to_string(),
                vrids: vrids.clone(),
            });
        }
        Ok(())
    }

    fn scopes(&self, s: &str) -> Res<Vec<Scope>> {
        if s == "all" {
            return Ok(vec![Scope::ALL]);
        }
        if let Some((a, b)) = s.split_once("<->") {
            let (a, b) = (self.node(a)?, self.node(b)?);
            return Ok(vec![Scope::link(a, b), Scope::link(b, a)]);
        }
        if let Some((a, b)) = s.split_once("->") {
            return Ok(vec![Scope::link(self.node(a)?, self.node(b)?)]);
        }
        Ok(Scope::node(self.node(s)?).to_vec())
    }

    fn vrid_of(&self, node: usize, given: Option<Vrid>) -> Res<Vrid> {
        if let Some(v) = given {
            return Ok(v);
        }
        match self.nodes[node].routers.as_slice() {
            [only] => Ok(Vrid::of(only)),
            _ => Err(format!(
                "router {} serves several VRIDs (or none yet): say `vrid N`",
                self.nodes[node].name
            )),
        }
    }

    fn action(&mut self, w: &[&str]) -> Res<Action> {
        let verb = arg(w, 0, "an action")?;
        let node_action = |p: &Parser, f: fn(usize) -> Action| -> Res<Action> {
            Ok(f(p.node(arg(w, 1, "a router name")?)?))
        };
        match verb {
            "pause" => node_action(self, Action::Pause),
            "resume" => node_action(self, Action::Resume),
            "kill" => node_action(self, Action::Kill),
            "restart" | "start" => node_action(self, Action::Start),
            "stop" => node_action(self, Action::Stop),
            "link-down" | "link-up" => {
                let node = self.node(arg(w, 1, "a router name")?)?;
                let link = w.get(2).copied().unwrap_or(LAN);
                if w.len() > 3 {
                    return Err(format!("write `{verb} ROUTER [LINK]`"));
                }
                let spec = &self.nodes[node];
                if link != LAN && !spec.links.iter().any(|l| l == link) {
                    return Err(format!(
                        "router {} has no link `{link}` (it has {})",
                        spec.name,
                        link_list(spec)
                    ));
                }
                Ok(Action::Link {
                    node,
                    link: link.to_string(),
                    up: verb == "link-up",
                })
            }
            "priority" => {
                let node = self.node(arg(w, 1, "a router name")?)?;
                let priority: u8 = arg(w, 2, "a priority")?
                    .parse()
                    .map_err(|_| format!("`{}` is not a priority (0..=255)", w[2]))?;
                let opts = pairs(&w[3..])?;
                let given = match opts.as_slice() {
                    [] => None,
                    [(k, v)] if k == "vrid" => Some(self.resolve(v)?),
                    _ => return Err("priority takes only `vrid N` after the value".into()),
                };
                let vrid = self.vrid_of(node, given)?;
                Ok(Action::Priority {
                    node,
                    vrid,
                    priority,
                })
            }
            "heal" => {
                let scopes = match w.get(1) {
                    Some(s) => self.scopes(s)?,
                    None => vec![Scope::ALL],
                };
                Ok(Action::Heal(scopes))
            }
            "partition" => self.partition(&w[1..]),
            "loss" | "delay" | "duplicate" | "reorder" => {
                let scopes = self.scopes(arg(w, 1, "a scope (all, r1, r1->r2, r1<->r2)")?)?;
                let value = arg(w, 2, "a value")?;
                let opts = pairs(&w[3..])?;
                let opt = |name: &str, default: Micros| -> Res<Micros> {
                    match opts.iter().find(|(k, _)| k == name) {
                        Some((_, v)) => parse_duration(v),
                        None => Ok(default),
                    }
                };
                for (k, _) in &opts {
                    if !["jitter", "gap", "window"].contains(&k.as_str()) {
                        return Err(format!("unknown option `{k}`"));
                    }
                }
                let fault = match verb {
                    "loss" => Fault::Loss(parse_percent(value)?),
                    "delay" => Fault::Delay {
                        base: parse_duration(value)?,
                        jitter: opt("jitter", 0)?,
                    },
                    "duplicate" => Fault::Duplicate {
                        ppm: parse_percent(value)?,
                        gap: opt("gap", 100)?,
                    },
                    _ => Fault::Reorder {
                        ppm: parse_percent(value)?,
                        window: opt("window", 5_000)?,
                    },
                };
                Ok(Action::Fault { scopes, fault })
            }
            other => Err(format!("unknown action `{other}`")),
        }
    }

    /// `partition r1 -> r2` (one way), `partition r1 <-> r2`, `partition r1,r2 | r3`.
    fn partition(&self, w: &[&str]) -> Res<Action> {
        let text = w.join(" ");
        let mut scopes = Vec::new();
        if text.contains('|') {
            let groups: Vec<Vec<usize>> = text
                .split('|')
                .map(|g| {
                    g.split([',', ' '])
                        .filter(|s| !s.is_empty())
                        .map(|n| self.node(n))
                        .collect::<Res<Vec<_>>>()
                })
                .collect::<Res<_>>()?;
            for (i, a) in groups.iter().enumerate() {
                for (j, b) in groups.iter().enumerate() {
                    if i != j {
                        for &x in a {
                            for &y in b {
                                scopes.push(Scope::link(x, y));
                            }
                        }
                    }
                }
            }
        } else {
            scopes = self.scopes(&text.replace(' ', ""))?;
            if scopes.iter().any(|s| s.from.is_none() || s.to.is_none()) {
                return Err(
                    "partition takes `A -> B`, `A <-> B` or groups `A,B | C` (isolate one router with `A | B,C`)"
                        .into(),
                );
            }
        }
        Ok(Action::Fault {
            scopes,
            fault: Fault::Block,
        })
    }

    fn expect(&self, w: &[&str]) -> Res<Expect> {
        let head = arg(w, 0, "what to expect")?;
        if head == "single-active" {
            let mut vrid = None;
            let mut after = 0;
            let mut tolerance = 0;
            for (k, v) in pairs(&w[1..])? {
                match k.as_str() {
                    "after" => after = parse_duration(&v)?,
                    "vrid" => vrid = Some(self.resolve(&v)?),
                    "tolerance" => tolerance = parse_duration(&v)?,
                    _ => return Err(format!("unknown option `{k}`")),
                }
            }
            return Ok(Expect::SingleActive {
                vrid,
                after,
                tolerance,
            });
        }
        if head == "no-multicast" {
            let vrid = match &w[1..] {
                [] => None,
                ["vrid", v] => Some(self.resolve(v)?),
                _ => return Err("write `expect no-multicast [vrid N]`".into()),
            };
            return Ok(Expect::NoMulticast { vrid });
        }
        if head == "together" {
            const USAGE: &str = "write `expect together VRID VRID... [after T] [tolerance T]`";
            let n = w[1..]
                .iter()
                .take_while(|x| parse_vrid_ref(x).is_ok())
                .count();
            let vrids = w[1..1 + n]
                .iter()
                .map(|v| self.resolve(v))
                .collect::<Res<Vec<Vrid>>>()?;
            if vrids.len() < 2 {
                return Err(format!("expected at least two VRIDs: {USAGE}"));
            }
            let mut after = 0;
            let mut tolerance = 0;
            for (k, v) in pairs(&w[1 + n..]).map_err(|e| format!("{e}: {USAGE}"))? {
                match k.as_str() {
                    "after" => after = parse_duration(&v)?,
                    "tolerance" => tolerance = parse_duration(&v)?,
                    _ => return Err(format!("unknown option `{k}`: {USAGE}")),
                }
            }
            return Ok(Expect::Together {
                vrids,
                after,
                tolerance,
            });
        }
        let node = self.node(head)?;
        let what = arg(
            w,
            1,
            "Active, Backup, Initialize, Down, takeover, silent or drops",
        )?;
        // Trailing `vrid N` is optional when the router serves one VRID.
        let (rest, given) = match w {
            [rest @ .., "vrid", v] => (rest, Some(self.resolve(v)?)),
            _ => (w, None),
        };
        let vrid = self.vrid_of(node, given)?;
        match what {
            "takeover" => {
                let (from, to) = match &rest[2..] {
                    ["at", t] => {
                        let t = parse_duration(t)?;
                        (t, t)
                    }
                    ["in", window] => parse_window(window)?,
                    _ => return Err("write `takeover at TIME` or `takeover in FROM..TO`".into()),
                };
                Ok(Expect::Takeover {
                    node,
                    vrid,
                    from,
                    to,
                })
            }
            "silent" => {
                let (from, to) = parse_window(arg(rest, 2, "a window FROM..TO")?)?;
                Ok(Expect::Silent {
                    node,
                    vrid,
                    from,
                    to,
                })
            }
            "drops" => {
                const USAGE: &str =
                    "write `expect ROUTER drops REASON COUNT [in FROM..TO] [vrid N]`";
                let names = || {
                    DropReason::ALL
                        .iter()
                        .filter(|r| **r != DropReason::Vrid)
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let reason = arg(rest, 2, "a drop reason").map_err(|e| format!("{e}: {USAGE}"))?;
                let reason = DropReason::ALL
                    .into_iter()
                    .find(|r| r.as_str() == reason && *r != DropReason::Vrid)
                    .ok_or_else(|| format!("`{reason}` is not a drop reason ({})", names()))?;
                let count = arg(rest, 3, "a count").map_err(|e| format!("{e}: {USAGE}"))?;
                let count = count
                    .parse()
                    .map_err(|_| format!("`{count}` is not a count: {USAGE}"))?;
                let (from, to) = match &rest[4..] {
                    [] => (0, Micros::MAX),
                    ["in", window] => parse_window(window)?,
                    _ => return Err(USAGE.into()),
                };
                Ok(Expect::Drops {
                    node,
                    vrid,
                    reason,
                    count,
                    from,
                    to,
                })
            }
            state => {
                let state = match state {
                    "Active" => Some(State::Active),
                    "Backup" => Some(State::Backup),
                    "Initialize" => Some(State::Initialize),
                    "Down" => None,
                    other => return Err(format!("unknown expectation `{other}`")),
                };
                match &rest[2..] {
                    ["at", t] => Ok(Expect::State {
                        node,
                        vrid,
                        at: parse_duration(t)?,
                        state,
                    }),
                    ["during", window] => {
                        let (from, to) = parse_window(window)?;
                        Ok(Expect::During {
                            node,
                            vrid,
                            from,
                            to,
                            state,
                        })
                    }
                    _ => Err(
                        "write `expect NODE STATE at TIME` or `expect NODE STATE during FROM..TO`"
                            .into(),
                    ),
                }
            }
        }
    }
}

fn set_option<A: Address>(c: &mut Config<MAX_VIPS, A>, k: &str, v: &str) -> Res<()> {
    match k {
        "priority" => {
            c.priority = v
                .parse()
                .map_err(|_| format!("`{v}` is not a priority (1..=255)"))?
        }
        "interval" => {
            let us = parse_duration(v)?;
            if us % 10_000 != 0 {
                return Err(format!(
                    "interval `{v}` is not a whole number of centiseconds"
                ));
            }
            c.adver_interval =
                u16::try_from(us / 10_000).map_err(|_| format!("interval `{v}` is too long"))?;
        }
        "version" => {
            c.version = match v {
                "2" => Version::V2,
                "3" => Version::V3,
                _ => return Err(format!("version `{v}`: 2 or 3")),
            }
        }
        "preempt" => c.preempt = yes_no(v)?,
        "preempt-delay" => c.preempt_delay = vrrp_core::Duration::from_micros(parse_duration(v)?),
        "accept" => c.accept_mode = yes_no(v)?,
        "garp" => {
            // BURST[,AT...] (offsets from the takeover), or the older BURST,REPEATS,DELAY.
            let mut parts = v.split(',');
            let burst = parts.next().unwrap_or_default();
            let burst: u8 = burst
                .parse()
                .map_err(|_| format!("`{burst}` is not a count"))?;
            let rest: Vec<&str> = parts.collect();
            let shape = "garp is BURST[,AT...] like 1,10ms,1s, or BURST,REPEATS,DELAY like 1,1,2s";
            c.garp = match rest.as_slice() {
                [] => {
                    let mut g = Garp::default();
                    g.burst = burst;
                    g
                }
                [repeats, delay] if repeats.bytes().all(|b| b.is_ascii_digit()) => {
                    let repeats = repeats.parse().map_err(|_| shape.to_string())?;
                    let delay = vrrp_core::Duration::from_micros(parse_duration(delay)?);
                    Garp::evenly(burst, repeats, delay).map_err(|e| e.to_string())?
                }
                at => {
                    let at = at
                        .iter()
                        .map(|t| parse_duration(t).map(vrrp_core::Duration::from_micros))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("{e} ({shape})"))?;
                    Garp::new(burst, &at).map_err(|e| e.to_string())?
                }
            };
        }
        _ => return Err(format!("unknown VRRP option `{k}`")),
    }
    Ok(())
}

/// Options of a `vrid` or `vrrp` line: `key value` pairs, and `track-link LINK fault` or
/// `track-link LINK weight N`.
fn vr_options(w: &[&str]) -> Res<Vec<VrOpt>> {
    const USAGE: &str = "write `track-link LINK fault` or `track-link LINK weight -N`";
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        if w[i] != "track-link" {
            let v = w
                .get(i + 1)
                .ok_or_else(|| format!("`{}` has no value", w[i]))?;
            out.push(VrOpt::Set(w[i].to_string(), v.to_string()));
            i += 2;
            continue;
        }
        let link = w
            .get(i + 1)
            .ok_or_else(|| format!("track-link needs a link name: {USAGE}"))?;
        let (effect, used) = match w.get(i + 2).copied() {
            Some("fault") => (Effect::Fault, 3),
            Some("weight") => {
                let v = w
                    .get(i + 3)
                    .ok_or_else(|| format!("`weight` needs a value: {USAGE}"))?;
                (Effect::Weight(parse_weight(v)?), 4)
            }
            Some(other) => {
                return Err(format!(
                    "track-link {link}: expected `fault` or `weight`, found `{other}`: {USAGE}"
                ));
            }
            None => {
                return Err(format!(
                    "track-link {link}: expected `fault` or `weight`: {USAGE}"
                ));
            }
        };
        out.push(VrOpt::Track(link.to_string(), effect));
        i += used;
    }
    Ok(out)
}

fn parse_weight(s: &str) -> Res<i16> {
    match s.trim_start_matches('+').parse::<i16>() {
        Ok(w) if w != 0 && (-254..=254).contains(&w) => Ok(w),
        _ => Err(format!(
            "weight `{s}` must be -254..=-1 (while down) or 1..=254 (while up); for priority 0 write `fault`"
        )),
    }
}

fn link_list(spec: &NodeSpec) -> String {
    std::iter::once(LAN)
        .chain(spec.links.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(", ")
}

fn arg<'a>(w: &[&'a str], i: usize, what: &str) -> Res<&'a str> {
    w.get(i).copied().ok_or_else(|| format!("expected {what}"))
}

/// `key value key value ...`
fn pairs(w: &[&str]) -> Res<Vec<(String, String)>> {
    if !w.len().is_multiple_of(2) {
        return Err(format!("`{}` has no value", w[w.len() - 1]));
    }
    Ok(w.chunks(2)
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect())
}

/// `10` (either family), `10v4` or `10v6`: the VRID and the family, if given.
fn parse_vrid_ref(s: &str) -> Res<(u8, Option<bool>)> {
    if let Some(n) = s.strip_suffix("v6") {
        return Ok((parse_vrid(n)?, Some(true)));
    }
    if let Some(n) = s.strip_suffix("v4") {
        return Ok((parse_vrid(n)?, Some(false)));
    }
    Ok((parse_vrid(s)?, None))
}

/// A router's addresses as written on its `router` line.
fn addresses(spec: &NodeSpec) -> String {
    let v4 = spec.ip.map(|a| a.to_string());
    let v6 = spec.ip6.map(|a| a.to_string());
    v4.into_iter().chain(v6).collect::<Vec<_>>().join(" ")
}

fn parse_vrid(s: &str) -> Res<u8> {
    match s.parse::<u8>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!("`{s}` is not a VRID (1..=255)")),
    }
}

fn yes_no(s: &str) -> Res<bool> {
    match s {
        "yes" | "on" | "true" => Ok(true),
        "no" | "off" | "false" => Ok(false),
        _ => Err(format!("`{s}`: yes or no")),
    }
}

fn parse_window(s: &str) -> Res<(Micros, Micros)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not a window like 10s..16s"))?;
    let (a, b) = (parse_duration(a)?, parse_duration(b)?);
    if a > b {
        return Err(format!("window `{s}` ends before it starts"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "
        duration 30s
        router r1 192.0.2.11
        router r2 192.0.2.12 drift -50ppm
        vrid 10 vip 192.0.2.1 interval 1s
        vrrp r1 10 priority 150
        vrrp r2 10 priority 100 preempt no
        at 10s pause r1 # freeze
        at 16s resume r1
        at 20s partition r1 -> r2
        at 21s loss all 20%
        at 22s heal
        expect r2 takeover at 13.609375s
        expect r1 silent 10s..16s
        expect r1 Active at 17s
        expect single-active after 4s tolerance 1ms
    ";

    #[test]
    fn parses_the_demo() {
        let s = Scenario::parse(DEMO).unwrap();
        assert_eq!(s.duration, 30_000_000);
        assert_eq!(s.nodes[1].drift_ppm, -50);
        assert_eq!(s.nodes[0].routers[0].priority(), 150);
        assert!(!s.nodes[1].routers[0].v4().unwrap().preempt);
        assert!(s.nodes[0].routers[0].v4().unwrap().preempt);
        assert_eq!(s.actions[0], (10_000_000, Action::Pause(0)));
        assert_eq!(
            s.actions[2].1,
            Action::Fault {
                scopes: vec![Scope::link(0, 1)],
                fault: Fault::Block
            }
        );
        assert_eq!(
            s.expects[0],
            Expect::Takeover {
                node: 1,
                vrid: Vrid::v4(10),
                from: 13_609_375,
                to: 13_609_375
            }
        );
        assert_eq!(
            s.expects[3],
            Expect::SingleActive {
                vrid: None,
                after: 4_000_000,
                tolerance: 1_000
            }
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = Scenario::parse("duration 1s\nrouter r1 192.0.2.300\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("192.0.2.300"), "{e}");
        let e = Scenario::parse("duration 1s\nrouter r1 192.0.2.1\nvrrp r1 10 priority 5\n")
            .unwrap_err();
        assert!(e.message.contains("vrid 10 is not declared"), "{e}");
        let e = Scenario::parse(
            "duration 1s\nrouter r1 192.0.2.1\nvrid 1 vip 192.0.2.9 interval 15ms\nvrrp r1 1\n",
        )
        .unwrap_err();
        assert!(e.message.contains("centiseconds"), "{e}");
    }

    const PAIR: &str = "duration 20s
router r1 192.0.2.11 links wan,dmz
router r2 192.0.2.12 links wan
vrid 10 vip 192.0.2.1 peers r1,r2 track-link wan fault
vrid 20 vip 192.0.2.2
";

    /// The error `extra` (lines appended to [`PAIR`]) gives: its line and message.
    fn error(extra: &str) -> (usize, String) {
        let e = Scenario::parse(&format!("{PAIR}{extra}")).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn parses_peers_tracking_and_sync_groups() {
        let s = Scenario::parse(&format!(
            "{PAIR}vrrp r1 10 priority 150 track-link dmz weight -60
vrrp r2 10 priority 100 peers 192.0.2.11 track-link wan weight +5
router r3 192.0.2.13 links wan
vrid 30 vip 192.0.2.3
vrrp r3 20 priority 50 track-link wan fault
vrrp r3 30 priority 50 track-link lan fault
sync-group r3 g1 20 30
at 5s link-down r1 wan
at 6s link-up r1
expect r1 drops peer 3 in 1s..2s
expect r1 drops ttl 0 vrid 10
expect no-multicast vrid 10
expect together 10 20 after 4s tolerance 1ms
expect r1 Backup during 8s..9s
"
        ))
        .unwrap();
        let ips = |v: &[Ipv4Addr]| v.to_vec();
        let r1 = &s.nodes[0];
        assert_eq!(
            ips(&r1.routers[0].v4().unwrap().peers),
            [
                "192.0.2.11".parse::<Ipv4Addr>().unwrap(),
                "192.0.2.12".parse().unwrap()
            ]
        );
        // The member's own option overrides the vrid line's for its own link only.
        let track = |n: &NodeSpec, vrid: u8| -> Vec<(String, Effect)> {
            n.tracks
                .iter()
                .filter(|t| t.vrid == Vrid::v4(vrid))
                .map(|t| (t.link.clone(), t.effect))
                .collect()
        };
        assert_eq!(
            track(r1, 10),
            [
                ("wan".to_string(), Effect::Fault),
                ("dmz".to_string(), Effect::Weight(-60))
            ]
        );
        let r2 = &s.nodes[1];
        assert_eq!(
            ips(&r2.routers[0].v4().unwrap().peers),
            ["192.0.2.11".parse::<Ipv4Addr>().unwrap()]
        );
        assert_eq!(track(r2, 10), [("wan".to_string(), Effect::Weight(5))]);
        // The sync group gives each member the union of the members' links.
        let r3 = &s.nodes[2];
        let union = [
            ("wan".to_string(), Effect::Fault),
            ("lan".to_string(), Effect::Fault),
        ];
        assert_eq!(track(r3, 20), union);
        assert_eq!(track(r3, 30), union);
        assert_eq!(
            s.actions,
            [
                (
                    5_000_000,
                    Action::Link {
                        node: 0,
                        link: "wan".into(),
                        up: false
                    }
                ),
                (
                    6_000_000,
                    Action::Link {
                        node: 0,
                        link: "lan".into(),
                        up: true
                    }
                )
            ]
        );
        assert_eq!(
            s.expects,
            [
                Expect::Drops {
                    node: 0,
                    vrid: Vrid::v4(10),
                    reason: DropReason::Peer,
                    count: 3,
                    from: 1_000_000,
                    to: 2_000_000
                },
                Expect::Drops {
                    node: 0,
                    vrid: Vrid::v4(10),
                    reason: DropReason::Ttl,
                    count: 0,
                    from: 0,
                    to: Micros::MAX
                },
                Expect::NoMulticast {
                    vrid: Some(Vrid::v4(10))
                },
                Expect::Together {
                    vrids: vec![Vrid::v4(10), Vrid::v4(20)],
                    after: 4_000_000,
                    tolerance: 1_000
                },
                Expect::During {
                    node: 0,
                    vrid: Vrid::v4(10),
                    from: 8_000_000,
                    to: 9_000_000,
                    state: Some(State::Backup)
                },
            ]
        );
    }

    #[test]
    fn new_syntax_errors_name_the_line_and_what_was_expected() {
        // Line 6 is the first line after PAIR.
        for (extra, line, wanted) in [
            (
                "vrrp r1 20 track-link wan",
                6,
                "expected `fault` or `weight`",
            ),
            ("vrrp r1 20 track-link wan weigth 5", 6, "found `weigth`"),
            (
                "vrrp r1 20 track-link wan weight",
                6,
                "`weight` needs a value",
            ),
            (
                "vrrp r1 20 track-link wan weight 0",
                6,
                "for priority 0 write `fault`",
            ),
            ("vrrp r1 20 track-link wan weight -300", 6, "-254..=-1"),
            (
                "vrrp r2 20 track-link dmz fault",
                6,
                "router r2 has no link `dmz` (it has lan, wan)",
            ),
            (
                "vrrp r1 20 peers r2,r9",
                6,
                "`r9` in peers is neither a router",
            ),
            ("vrrp r1 20 peers r2,192.0.2.12", 6, "listed twice"),
            (
                "vrrp r1 20 peers 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4,192.0.2.5",
                6,
                "at most 4 peers",
            ),
            // Unicast to a router serving two VRIDs: refused at the line that breaks the rule.
            (
                "vrrp r2 10
vrrp r2 20",
                7,
                "so r2 may serve only one VRID",
            ),
            (
                "vrrp r1 10
sync-group r1 g 10 20",
                7,
                "router r1 does not serve vrid 20",
            ),
            (
                "vrrp r1 20
sync-group r1 g 20",
                7,
                "at least two VRIDs",
            ),
            (
                "vrrp r1 20
sync-group r1 10 20",
                7,
                "expected a group name before the VRIDs",
            ),
            (
                "vrrp r1 20
sync-group r1",
                7,
                "expected a group name",
            ),
            (
                "vrrp r1 20
vrid 30 vip 192.0.2.3
vrrp r1 30
sync-group r1 a 20 30
sync-group r1 b 30 20",
                10,
                "vrid 30 of router r1 is already in sync group `a`",
            ),
            (
                "at 1s link-down r1 wlan",
                6,
                "router r1 has no link `wlan` (it has lan, wan, dmz)",
            ),
            (
                "at 1s link-up r1 wan now",
                6,
                "write `link-up ROUTER [LINK]`",
            ),
            (
                "router r3 192.0.2.13 links lan",
                6,
                "`lan` is the segment link",
            ),
            (
                "router r3 192.0.2.13 links wan,wan",
                6,
                "names must be distinct",
            ),
            (
                "vrrp r2 20
expect r2 drops peers 1",
                7,
                "`peers` is not a drop reason (ttl,",
            ),
            (
                "vrrp r2 20
expect r2 drops peer many",
                7,
                "`many` is not a count",
            ),
            (
                "vrrp r2 20
expect r2 drops peer",
                7,
                "expected a count",
            ),
            (
                "vrrp r2 20
expect r2 drops peer 1 at 5s",
                7,
                "[in FROM..TO]",
            ),
            ("expect together 10", 6, "expected at least two VRIDs"),
            (
                "expect together 10 20 since 3s",
                6,
                "unknown option `since`",
            ),
            (
                "expect no-multicast r1",
                6,
                "write `expect no-multicast [vrid N]`",
            ),
            (
                "vrrp r2 20
expect r2 Active during 5s",
                7,
                "is not a window",
            ),
            (
                "vrrp r2 20
expect r2 Active for 5s",
                7,
                "STATE during FROM..TO",
            ),
        ] {
            let (got_line, message) = error(extra);
            assert!(message.contains(wanted), "{extra:?}: {message}");
            assert_eq!(got_line, line, "{extra:?}: {message}");
        }
    }

    #[test]
    fn ipv6_routers_and_vrids() {
        let s = Scenario::parse(
            "duration 5s
router r1 fe80::11
router r2 192.0.2.12 fe80::12 drift +10ppm
vrid 10 vip fe80::1,2001:db8::1 interval 100ms
vrid 20 vip 192.0.2.2
vrrp r1 10 priority 150
vrrp r2 10
vrrp r2 20
expect r1 Active at 1s
expect r2 Backup at 1s vrid 10
expect single-active vrid 10v6
",
        )
        .unwrap();
        assert_eq!(s.nodes[0].ip, None);
        assert_eq!(s.nodes[0].ip6, Some("fe80::11".parse().unwrap()));
        assert_eq!(s.nodes[1].ip, Some("192.0.2.12".parse().unwrap()));
        assert_eq!(s.nodes[1].drift_ppm, 10);
        let RouterConfig::V6(c) = &s.nodes[0].routers[0] else {
            panic!("an IPv6 router")
        };
        assert_eq!((c.vrid, c.priority, c.adver_interval), (10, 150, 10));
        assert_eq!(c.vips.len(), 2);
        assert_eq!(Vrid::of(&s.nodes[1].routers[1]), Vrid::v4(20));
        assert_eq!(
            s.expects[1],
            Expect::State {
                node: 1,
                vrid: Vrid::v6(10),
                at: 1_000_000,
                state: Some(State::Backup)
            }
        );
    }

    #[test]
    fn ipv6_errors_name_the_line() {
        const HEAD: &str = "duration 5s
router r1 192.0.2.11 fe80::11
router r2 192.0.2.12
vrid 10 vip 192.0.2.1
vrid 10 vip fe80::1
";
        for (extra, line, wanted) in [
            (
                "router r3 2001:db8::13",
                6,
                "must be link-local (fe80::/10)",
            ),
            (
                "router r3 fe80::13 fe80::14",
                6,
                "a second address of one family",
            ),
            (
                "router r3 192.0.2.300",
                6,
                "`192.0.2.300` is not an IPv4 or IPv6 address",
            ),
            (
                "vrid 20 vip 192.0.2.2,fe80::2",
                6,
                "vrid 20 mixes IPv4 and IPv6 VIPs (192.0.2.2 and fe80::2)",
            ),
            (
                "vrid 20 vip 2001:db8::2,fe80::2",
                6,
                "the first IPv6 VIP `2001:db8::2` must be link-local",
            ),
            ("vrid 20v4 vip fe80::2", 6, "vrid 20v4: its VIPs are IPv6"),
            ("vrrp r1 10", 6, "write `10v4` or `10v6`"),
            ("vrrp r2 10v6", 6, "router r2 has no IPv6 address"),
            (
                "vrrp r1 10v6 peers r2",
                6,
                "unicast IPv6 adverts are not simulated",
            ),
            ("vrrp r1 10v6 version 2", 6, "router r1 vrid 10v6:"),
            (
                "vrrp r1 10v4
expect r1 Active at 1s vrid 10",
                7,
                "write `10v4` or `10v6`",
            ),
            (
                "vrrp r1 10v4
vrrp r1 10v6
expect r1 Active at 1s",
                8,
                "serves several VRIDs",
            ),
        ] {
            let e = Scenario::parse(&format!("{HEAD}{extra}\n")).unwrap_err();
            assert!(e.message.contains(wanted), "{extra:?}: {e}");
            assert_eq!(e.line, line, "{extra:?}: {e}");
        }
    }
}
