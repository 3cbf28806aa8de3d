//! The topology (namespaces, bridge, veths), processes in namespaces, pause / resume, teardown.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::{unix_now, wait_until};

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static STALE_SWEEP: std::sync::Once = std::sync::Once::new();

/// Prefix of every namespace a lab creates: `vrrpt<pid>x<counter>-<node>`.
const PREFIX: &str = "vrrpt";

/// The address families a lab's segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 only: IPv6 is disabled in every namespace, so no router solicitation or MLD report
    /// reaches a capture.
    Ipv4,
    /// IPv4 as in [`Family::Ipv4`] plus IPv6 on the nodes: `2001:db8::<n>/64` and the EUI-64
    /// link-local on `eth0`; duplicate address detection, router solicitations and SLAAC from
    /// router advertisements (FRR's Active sends them) off. The routers forward IPv6, as they
    /// forward IPv4 when the host does (a new namespace inherits `ip_forward` from the host but
    /// not IPv6 `forwarding`): a Backup that still gets the client's packets for the VIP (its
    /// neighbour entry still names the Backup's own MAC) passes them on to the Active. The switch
    /// namespace stays without IPv6 (its bridge only forwards).
    Ipv6,
}

/// One of a node's interfaces: its link to one segment of the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface in the node's namespace: `eth0` on segment 0, `eth1` on segment 1.
    pub dev: String,
    /// Its IPv4 address (/24): `192.0.2.<octet>` on segment 0, `198.51.100.<octet>` on
    /// segment 1, the same octet on both.
    pub ip: Ipv4Addr,
    /// Its MAC: `02:00:c0:00:02:<octet>` on segment 0, `02:00:c6:33:64:<octet>` on segment 1.
    pub mac: [u8; 6],
    /// The switch-side end of its veth pair: `p-<name>` on segment 0, `p1-<name>` on segment 1.
    /// Taking it down takes the carrier of `dev` away, as pulling the cable would.
    pub port: String,
    /// The bridge of the segment in the switch namespace: `br0`, `br1`.
    pub bridge: String,
}

/// One host on the segment: a router (`r1`, `r2`, `r3`) or the `client`.
#[derive(Debug, Clone)]
pub struct Node {
    /// Short name: `r1`, `r2`, `r3`, `client`.
    pub name: String,
    /// The network namespace (unique per lab).
    pub ns: String,
    /// Its address on 192.0.2.0/24 (interface `eth0`).
    pub ip: Ipv4Addr,
    /// Its address on 2001:db8::/64 in a [`Family::Ipv6`] lab: the same digits as the last octet
    /// of `ip` (`2001:db8::11` for 192.0.2.11). Not configured in an IPv4 lab.
    pub ip6: Ipv6Addr,
    /// The link-local address the kernel derives from `mac` (EUI-64, RFC 4291 appendix A), on
    /// `eth0` in a [`Family::Ipv6`] lab.
    pub link_local: Ipv6Addr,
    /// The MAC address of its `eth0`: `02:00:c0:00:02:<last octet of ip>`.
    pub mac: [u8; 6],
    /// The switch-side end of its veth pair (in the switch namespace), `p-<name>`.
    pub port: String,
}

/// Handle of a process spawned by a [`Lab`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId(usize);

struct Proc {
    id: ProcId,
    label: String,
    child: Child,
    log: PathBuf,
    /// Stop with SIGINT and give it time to flush (tcpdump) instead of SIGKILL.
    graceful: bool,
    exited: bool,
}

/// One isolated segment: switch namespace with bridge `br0`, routers, client (and optionally a
/// second segment, bridge `br1`: [`Lab::with_segments`]). See the crate docs.
pub struct Lab {
    /// Test name (used for the artifacts directory).
    pub test: String,
    /// Unique id of this lab: `vrrpt<pid>x<counter>`.
    pub id: String,
    /// The switch namespace, holding bridge [`Lab::BRIDGE`] (and `br1` for a second segment).
    pub switch_ns: String,
    /// Where pcaps, logs, configs and the events file go. Kept when the test fails.
    pub artifacts: PathBuf,
    /// Private temporary directory (pid files, sockets, nginx temp paths). Always removed.
    pub tmp: PathBuf,
    family: Family,
    segments: usize,
    nodes: Vec<Node>,
    namespaces: Mutex<Vec<String>>,
    procs: Mutex<Vec<Proc>>,
    next_proc: AtomicUsize,
    events: Mutex<Vec<String>>,
}

impl Lab {
    /// Name of the bridge in the switch namespace (segment 0).
    pub const BRIDGE: &'static str = "br0";

    /// Most segments a lab builds: `eth0` on 192.0.2.0/24 and `eth1` on 198.51.100.0/24.
    pub const MAX_SEGMENTS: usize = 2;

    /// Builds the IPv4 segment with `routers` router namespaces (`r1` = .11, `r2` = .12,
    /// `r3` = .13) and a client (.100). Panics (after cleaning up) if any step fails.
    pub fn new(test: &str, routers: usize) -> Lab {
        Lab::with_family(test, routers, Family::Ipv4)
    }

    /// Like [`Lab::new`]; with [`Family::Ipv6`] the nodes also get `2001:db8::11` ... `::13` and
    /// `2001:db8::100` (client), and this returns once every node's link-local and global
    /// address is usable (not tentative).
    pub fn with_family(test: &str, routers: usize, family: Family) -> Lab {
        Lab::build_lab(test, routers, family, 1)
    }

    /// An IPv4 lab as [`Lab::new`] with `segments` segments (1 or 2): the second is bridge `br1`
    /// in the switch namespace and an `eth1` in every node, on 198.51.100.0/24 (see
    /// [`Node::link`]), for routers with several uplinks. IPv6 is off on it as on `eth0`.
    pub fn with_segments(test: &str, routers: usize, segments: usize) -> Lab {
        Lab::build_lab(test, routers, Family::Ipv4, segments)
    }

    fn build_lab(test: &str, routers: usize, family: Family, segments: usize) -> Lab {
        assert!((1..=3).contains(&routers), "1 to 3 routers");
        assert!(
            (1..=Lab::MAX_SEGMENTS).contains(&segments),
            "1 to {} segments",
            Lab::MAX_SEGMENTS
        );
        assert!(
            segments == 1 || family == Family::Ipv4,
            "a second segment is IPv4 only"
        );
        STALE_SWEEP.call_once(sweep_stale_namespaces);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{PREFIX}{}x{n}", std::process::id());
        let artifacts = artifacts_root().join(sanitize(test));
        let _ = fs::remove_dir_all(&artifacts);
        fs::create_dir_all(&artifacts).expect("create artifacts dir");
        let tmp = std::env::temp_dir().join(format!("vrrp-e2e-{id}"));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).expect("create tmp dir");
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).expect("chmod tmp");

        let mut nodes = Vec::new();
        for i in 1..=routers {
            nodes.push(node(&id, &format!("r{i}"), 10 + i as u8));
        }
        nodes.push(node(&id, "client", 100));

        let lab = Lab {
            test: test.to_string(),
            switch_ns: format!("{id}-sw"),
            id,
            artifacts,
            tmp,
            family,
            segments,
            nodes,
            namespaces: Mutex::new(Vec::new()),
            procs: Mutex::new(Vec::new()),
            next_proc: AtomicUsize::new(0),
            events: Mutex::new(Vec::new()),
        };
        lab.build();
        lab
    }

    /// Creates a namespace with IPv6 off, or with `ipv6` on (see [`Family::Ipv6`]; set for the
    /// interfaces created afterwards: the `default` settings are what a new interface inherits),
    /// forwarding if it is a `router`.
    fn add_ns(&self, ns: &str, ipv6: bool, router: bool) {
        run("ip", &["netns", "add", ns]);
        self.namespaces.lock().unwrap().push(ns.to_string());
        let mut sysctls: Vec<&str> = if ipv6 {
            // No duplicate address detection: an address is usable at once instead of tentative
            // for a second. No router solicitations in the captures, no address from an RA.
            vec![
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.dad_transmits=0",
                "net.ipv6.conf.default.dad_transmits=0",
                "net.ipv6.conf.default.router_solicitations=0",
                "net.ipv6.conf.all.accept_ra=0",
                "net.ipv6.conf.default.accept_ra=0",
            ]
        } else {
            // No IPv6 at all: no router solicitations or MLD reports in the captures.
            vec![
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]
        };
        if ipv6 && router {
            // `all` also sets `default`.
            sysctls.push("net.ipv6.conf.all.forwarding=1");
        }
        let mut args = vec!["netns", "exec", ns, "sysctl", "-qw"];
        args.extend_from_slice(&sysctls);
        run("ip", &args);
        run("ip", &["-n", ns, "link", "set", "lo", "up"]);
    }

    fn build(&self) {
        let sw = self.switch_ns.clone();
        let ipv6 = self.family == Family::Ipv6;
        self.add_ns(&sw, false, false);
        for seg in 0..self.segments {
            let bridge = bridge_name(seg);
            run(
                "ip",
                &[
                    "-n",
                    &sw,
                    "link",
                    "add",
                    &bridge,
                    "type",
                    "bridge",
                    "stp_state",
                    "0",
                    "forward_delay",
                    "0",
                    "mcast_snooping",
                    "0",
                ],
            );
            run("ip", &["-n", &sw, "link", "set", &bridge, "up"]);
        }
        for node in &self.nodes {
            self.add_ns(&node.ns, ipv6, node.name.starts_with('r'));
            for seg in 0..self.segments {
                self.plug(node, seg);
            }
        }
        if ipv6 {
            self.wait_ipv6_ready();
        }
        let mut topo = String::new();
        for node in &self.nodes {
            topo += &format!(
                "{} ns={} ip={} mac={} port={}",
                node.name,
                node.ns,
                node.ip,
                mac_string(&node.mac),
                node.port
            );
            if ipv6 {
                topo += &format!(" ip6={} link_local={}", node.ip6, node.link_local);
            }
            for seg in 1..self.segments {
                let l = node.link(seg);
                topo += &format!(
                    " {}: ip={} mac={} port={} bridge={}",
                    l.dev,
                    l.ip,
                    mac_string(&l.mac),
                    l.port,
                    l.bridge
                );
            }
            topo += "\n";
        }
        self.write_artifact("topology.txt", &topo);
    }

    /// Connects `node` to segment `seg`: a veth from the segment's bridge to the node's
    /// interface, with the segment's MAC and /24 address (and on `eth0` of an IPv6 lab the
    /// node's IPv6 address), up.
    fn plug(&self, node: &Node, seg: usize) {
        let sw = &self.switch_ns;
        let l = node.link(seg);
        let mac = mac_string(&l.mac);
        run(
            "ip",
            &[
                "-n", sw, "link", "add", &l.port, "type", "veth", "peer", "name", &l.dev,
                "address", &mac, "netns", &node.ns,
            ],
        );
        run(
            "ip",
            &["-n", sw, "link", "set", &l.port, "master", &l.bridge, "up"],
        );
        let cidr = format!("{}/24", l.ip);
        run("ip", &["-n", &node.ns, "addr", "add", &cidr, "dev", &l.dev]);
        if seg == 0 && self.family == Family::Ipv6 {
            let cidr6 = format!("{}/64", node.ip6);
            run(
                "ip",
                &[
                    "-n", &node.ns, "addr", "add", &cidr6, "dev", "eth0", "nodad",
                ],
            );
        }
        run("ip", &["-n", &node.ns, "link", "set", &l.dev, "up"]);
    }

    /// Waits until `eth0` of every node holds its link-local and global IPv6 address and no
    /// address is tentative. The link-local appears only once both ends of the veth are up.
    fn wait_ipv6_ready(&self) {
        let ready = |node: &Node| {
            let out = self.exec(
                &node.name,
                "ip",
                &["-6", "-o", "addr", "show", "dev", "eth0"],
            );
            let s = String::from_utf8_lossy(&out.stdout);
            let has = |a: Ipv6Addr| s.contains(&format!("inet6 {a}/64 "));
            has(node.link_local) && has(node.ip6) && !s.contains("tentative")
        };
        wait_until(Duration::from_secs(10), || self.nodes.iter().all(ready)).unwrap_or_else(|e| {
            let state: Vec<String> = self
                .nodes
                .iter()
                .map(|n| self.exec_ok(&n.name, "ip", &["-6", "-o", "addr", "show"]))
                .collect();
            panic!("IPv6 addresses not usable: {e}\n{}", state.join(""))
        });
    }

    /// The address families of this lab's segment.
    pub fn family(&self) -> Family {
        self.family
    }

    /// How many segments the lab has (1, or 2 from [`Lab::with_segments`]).
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// The link of node `name` to segment `seg`; panics if the lab has no such segment.
    pub fn link(&self, name: &str, seg: usize) -> Link {
        assert!(
            seg < self.segments,
            "lab {} has {} segment(s), no segment {seg}",
            self.id,
            self.segments
        );
        self.node(name).link(seg)
    }

    /// All nodes (routers first, then the client).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The router nodes.
    pub fn routers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.name.starts_with('r'))
    }

    /// A node by short name (`r1`, `client`). Panics if there is none.
    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name} in lab {}", self.id))
    }

    /// The client node.
    pub fn client(&self) -> &Node {
        self.node("client")
    }

    /// Namespace for a node name, or `sw` for the switch.
    pub fn ns(&self, name: &str) -> String {
        if name == "sw" {
            self.switch_ns.clone()
        } else {
            self.node(name).ns.clone()
        }
    }

    /// Which node owns this MAC (the MAC of its `eth0`, or of its `eth1` in a lab with two
    /// segments), if any.
    pub fn node_by_mac(&self, mac: &[u8; 6]) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| (0..self.segments).any(|seg| &n.link(seg).mac == mac))
    }

    /// Runs `cmd args` in the namespace of `node` (`sw` for the switch) to completion.
    pub fn exec(&self, node: &str, cmd: &str, args: &[&str]) -> Output {
        let ns = self.ns(node);
        let mut full = vec!["netns", "exec", &ns, cmd];
        full.extend_from_slice(args);
        Command::new("ip")
            .args(&full)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("ip {full:?}: {e}"))
    }

    /// Like [`Lab::exec`], panicking unless it exits 0; returns stdout.
    pub fn exec_ok(&self, node: &str, cmd: &str, args: &[&str]) -> String {
        let out = self.exec(node, cmd, args);
        assert!(
            out.status.success(),
            "{cmd} {args:?} in {node} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Spawns `cmd args` in the namespace of `node` (`sw` for the switch) with
    /// `ip netns exec`, stdout and stderr going to `<artifacts>/<label>.log`. Tracked: killed when
    /// the lab is dropped.
    pub fn spawn(&self, node: &str, label: &str, cmd: &str, args: &[&str]) -> ProcId {
        self.spawn_opts(node, label, cmd, args, false)
    }

    /// Like [`Lab::spawn`]; `graceful` processes get SIGINT and 3 s to exit at teardown.
    pub fn spawn_opts(
        &self,
        node: &str,
        label: &str,
        cmd: &str,
        args: &[&str],
        graceful: bool,
    ) -> ProcId {
        let ns = self.ns(node);
        let log = self.artifacts.join(format!("{label}.log"));
        let out = fs::File::create(&log).expect("create log");
        let err = out.try_clone().expect("clone log fd");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, cmd])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd} in {ns}: {e}"));
        let id = ProcId(self.next_proc.fetch_add(1, Ordering::SeqCst));
        self.procs.lock().unwrap().push(Proc {
            id,
            label: label.to_string(),
            child,
            log,
            graceful,
            exited: false,
        });
        id
    }

    /// The pid of a spawned process (`ip netns exec` execs, so this is the command itself).
    pub fn pid(&self, id: ProcId) -> i32 {
        self.with_proc(id, |p| p.child.id() as i32)
    }

    /// The log file of a spawned process.
    pub fn log_path(&self, id: ProcId) -> PathBuf {
        self.with_proc(id, |p| p.log.clone())
    }

    /// The log of a spawned process so far.
    pub fn log(&self, id: ProcId) -> String {
        fs::read_to_string(self.log_path(id)).unwrap_or_default()
    }

    /// Whether a spawned process is still running.
    pub fn is_running(&self, id: ProcId) -> bool {
        self.with_proc(id, |p| {
            if !p.exited && matches!(p.child.try_wait(), Ok(Some(_))) {
                p.exited = true;
            }
            !p.exited
        })
    }

    /// Sends a signal to a spawned process.
    pub fn signal(&self, id: ProcId, sig: i32) {
        let pid = self.pid(id);
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid, sig) };
    }

    /// Stops a spawned process: `sig`, then SIGKILL if it is still running after `grace`.
    /// Waits for it. Returns whether it exited on `sig` alone.
    pub fn stop_with(&self, id: ProcId, sig: i32, grace: Duration) -> bool {
        if !self.is_running(id) {
            return true;
        }
        self.signal(id, sig);
        let clean = wait_until(grace, || !self.is_running(id)).is_ok();
        if !clean {
            self.signal(id, libc::SIGKILL);
            let _ = wait_until(Duration::from_secs(5), || !self.is_running(id));
        }
        clean
    }

    /// Stops a spawned process with SIGTERM (SIGKILL after 5 s).
    pub fn stop(&self, id: ProcId) -> bool {
        self.stop_with(id, libc::SIGTERM, Duration::from_secs(5))
    }

    fn with_proc<T>(&self, id: ProcId, f: impl FnOnce(&mut Proc) -> T) -> T {
        let mut procs = self.procs.lock().unwrap();
        let p = procs
            .iter_mut()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("unknown process {id:?}"));
        f(p)
    }

    /// The pids of every process in the namespace of `node` (like `ip netns pids`).
    pub fn pids(&self, node: &str) -> Vec<i32> {
        netns_pids(&self.ns(node))
    }

    /// SIGSTOP to every process of the namespace of `node`, as `docker pause` freezes a container.
    /// Records `pause <node> <unix time>` (taken when every process has been sent SIGSTOP) in
    /// `<artifacts>/events.txt` and returns that time.
    pub fn pause(&self, node: &str) -> f64 {
        let ns = self.ns(node);
        let mut stopped = HashSet::new();
        // Loop until no new process appears: a process may fork while we stop the others.
        loop {
            let fresh: Vec<i32> = netns_pids(&ns)
                .into_iter()
                .filter(|p| !stopped.contains(p))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for pid in fresh {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGSTOP) };
                stopped.insert(pid);
            }
        }
        let t = unix_now();
        assert!(!stopped.is_empty(), "pause {node}: no process to stop");
        self.record_event(&format!("pause {node} {t:.6}"));
        let all_stopped = wait_until(Duration::from_secs(2), || {
            stopped
                .iter()
                .all(|&pid| proc_state(pid).is_none_or(|s| s == 'T'))
        });
        assert!(all_stopped.is_ok(), "pause {node}: processes not stopped");
        t
    }

    /// SIGCONT to every process of the namespace of `node`. Records `resume <node> <unix time>`
    /// (taken just before the first SIGCONT) and returns that time.
    pub fn resume(&self, node: &str) -> f64 {
        let ns = self.ns(node);
        let pids = netns_pids(&ns);
        let t = unix_now();
        for pid in &pids {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(*pid, libc::SIGCONT) };
        }
        self.record_event(&format!("resume {node} {t:.6}"));
        t
    }

    /// Appends a line to `<artifacts>/events.txt` (the format of ../shared/traces/*.events.txt).
    pub fn record_event(&self, line: &str) {
        let mut ev = self.events.lock().unwrap();
        ev.push(line.to_string());
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.artifacts.join("events.txt"))
            .expect("open events.txt");
        writeln!(f, "{line}").expect("write events.txt");
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Writes a file into the artifacts directory and returns its path.
    pub fn write_artifact(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.artifacts.join(name);
        fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    /// Creates (if needed) and returns a private directory under [`Lab::tmp`].
    pub fn tmp_dir(&self, name: &str) -> PathBuf {
        let p = self.tmp.join(name);
        fs::create_dir_all(&p).expect("create tmp subdir");
        p
    }

    /// Which node the client currently resolves the VIP to (its ARP entry for `vip`).
    pub fn client_arp_owner(&self, vip: Ipv4Addr) -> Option<String> {
        self.client_neigh_owner(vip)
    }

    /// Which node the client currently resolves `ip` to (its ARP or, for IPv6, neighbour
    /// discovery entry): the node's name, else the MAC (e.g. a virtual MAC).
    pub fn client_neigh_owner(&self, ip: impl Into<IpAddr>) -> Option<String> {
        self.neigh_owner(ip.into(), None)
    }

    /// Like [`Lab::client_arp_owner`] for the client's entry on interface `dev` (`eth1` for
    /// segment 1). An entry that is not `REACHABLE`, `STALE`, `DELAY` or `PROBE` (e.g. `FAILED`,
    /// `INCOMPLETE`) names no MAC and gives None.
    pub fn client_arp_owner_on(&self, dev: &str, vip: Ipv4Addr) -> Option<String> {
        self.neigh_owner(vip.into(), Some(dev))
    }

    fn neigh_owner(&self, ip: IpAddr, dev: Option<&str>) -> Option<String> {
        let fam = if ip.is_ipv4() { "-4" } else { "-6" };
        let ip = ip.to_string();
        let mut args = vec![fam, "neigh", "show", ip.as_str()];
        if let Some(dev) = dev {
            args.extend_from_slice(&["dev", dev]);
        }
        let out = self.exec("client", "ip", &args);
        let s = String::from_utf8_lossy(&out.stdout);
        let mac = s.split_whitespace().skip_while(|w| *w != "lladdr").nth(1)?;
        let mac = parse_mac(mac)?;
        Some(
            self.node_by_mac(&mac)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| mac_string(&mac)),
        )
    }

    /// Whether `addr` (IPv4 or IPv6) is configured on any interface of the node's namespace.
    pub fn has_addr(&self, node: &str, addr: impl Into<IpAddr>) -> bool {
        let addr = addr.into();
        let (fam, inet) = if addr.is_ipv4() {
            ("-4", "inet")
        } else {
            ("-6", "inet6")
        };
        let out = self.exec(node, "ip", &[fam, "-o", "addr", "show"]);
        let needle = format!("{inet} {addr}/");
        String::from_utf8_lossy(&out.stdout).contains(&needle)
    }

    fn teardown(&mut self) {
        let mut procs = std::mem::take(&mut *self.procs.lock().unwrap());
        // Resume everything first so that SIGINT / SIGTERM can be handled.
        for ns in self.namespaces.lock().unwrap().iter() {
            for pid in netns_pids(ns) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGCONT) };
            }
        }
        for p in procs.iter_mut().filter(|p| p.graceful) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(p.child.id() as i32, libc::SIGINT) };
        }
        let _ = wait_until(Duration::from_secs(3), || {
            procs
                .iter_mut()
                .filter(|p| p.graceful)
                .all(|p| matches!(p.child.try_wait(), Ok(Some(_))))
        });
        for p in procs.iter_mut() {
            let _ = p.child.kill();
        }
        for ns in self.namespaces.lock().unwrap().iter() {
            for pid in netns_pids(ns) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for p in procs.iter_mut() {
            let _ = p.child.wait();
            let _ = &p.label;
        }
        let namespaces = std::mem::take(&mut *self.namespaces.lock().unwrap());
        for ns in namespaces.iter().rev() {
            // Processes that were just killed may still hold the namespace for a moment.
            let _ = wait_until(Duration::from_secs(2), || netns_pids(ns).is_empty());
            let out = Command::new("ip").args(["netns", "del", ns]).output();
            if let Ok(o) = out
                && !o.status.success()
            {
                eprintln!(
                    "teardown: ip netns del {ns}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        let _ = fs::remove_dir_all(&self.tmp);
        let keep = std::thread::panicking() || std::env::var_os("VRRP_KEEP_ARTIFACTS").is_some();
        if keep {
            eprintln!("artifacts kept in {}", self.artifacts.display());
        } else {
            let _ = fs::remove_dir_all(&self.artifacts);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
    }
}

impl Node {
    /// Its link to segment `seg` (0: `eth0`, 1: `eth1`). Whether the lab has that segment is
    /// [`Lab::segments`]; [`Lab::link`] checks it.
    pub fn link(&self, seg: usize) -> Link {
        let octet = self.ip.octets()[3];
        let (ip, mac, port) = match seg {
            0 => (self.ip, self.mac, self.port.clone()),
            1 => (
                Ipv4Addr::new(198, 51, 100, octet),
                [0x02, 0x00, 0xc6, 0x33, 0x64, octet],
                format!("p1-{}", self.name),
            ),
            _ => panic!("no segment {seg}: at most {}", Lab::MAX_SEGMENTS),
        };
        Link {
            dev: format!("eth{seg}"),
            ip,
            mac,
            port,
            bridge: bridge_name(seg),
        }
    }
}

/// The bridge of segment `seg` in the switch namespace: `br0` ([`Lab::BRIDGE`]), `br1`.
fn bridge_name(seg: usize) -> String {
    format!("br{seg}")
}

fn node(id: &str, name: &str, octet: u8) -> Node {
    let mac = [0x02, 0x00, 0xc0, 0x00, 0x02, octet];
    Node {
        name: name.to_string(),
        ns: format!("{id}-{name}"),
        ip: Ipv4Addr::new(192, 0, 2, octet),
        ip6: format!("2001:db8::{octet}")
            .parse()
            .expect("2001:db8::<octet> is an address"),
        link_local: eui64_link_local(&mac),
        mac,
        port: format!("p-{name}"),
    }
}

/// The link-local address the kernel forms from a MAC (`addrgenmode eui64`, the default):
/// fe80::/64 with the MAC split by ff:fe and its universal/local bit flipped (RFC 4291
/// appendix A).
pub fn eui64_link_local(mac: &[u8; 6]) -> Ipv6Addr {
    let b = [
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ];
    let w = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    Ipv6Addr::new(0xfe80, 0, 0, 0, w(0), w(2), w(4), w(6))
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_string(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Runs a command to completion, panicking with its stderr unless it exits 0.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {} failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pids of every process whose network namespace is the named one (`ip netns pids`, without
/// spawning anything).
pub fn netns_pids(ns: &str) -> Vec<i32> {
    let Ok(target) = fs::metadata(Path::new("/run/netns").join(ns)) else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Ok(m) = fs::metadata(entry.path().join("ns/net"))
            && m.ino() == target.ino()
            && m.dev() == target.dev()
        {
            pids.push(pid);
        }
    }
    pids
}

/// The state letter of a process (`R`, `S`, `T`...), None if it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) S ...: comm may contain spaces and parentheses, the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `$VRRP_ARTIFACTS`, else `<target dir>/e2e-artifacts` (found from the test binary's path).
fn artifacts_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("VRRP_ARTIFACTS") {
        return PathBuf::from(dir);
    }
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("current_exe");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("e2e-artifacts")
}

/// Deletes namespaces left by a test process that no longer exists (e.g. killed by a timeout).
fn sweep_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('x') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !name.contains('-') || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        for p in netns_pids(name) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        let _ = wait_until(Duration::from_secs(2), || netns_pids(name).is_empty());
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        eprintln!("removed stale namespace {name}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip() {
        let m = [0x02, 0x00, 0xc0, 0x00, 0x02, 0x0b];
        assert_eq!(mac_string(&m), "02:00:c0:00:02:0b");
        assert_eq!(parse_mac("02:00:c0:00:02:0b"), Some(m));
        assert_eq!(parse_mac("02:00:c0:00:02"), None);
        assert_eq!(parse_mac("02:00:c0:00:02:0b:01"), None);
    }

    #[test]
    fn node_addresses() {
        let n = node("x", "r1", 11);
        assert_eq!(n.ip6, "2001:db8::11".parse::<Ipv6Addr>().unwrap());
        // What the kernel gave 02:00:c0:00:02:0b (`ip -6 addr` in a lab).
        assert_eq!(
            n.link_local,
            "fe80::c0ff:fe00:20b".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            node("x", "client", 100).ip6,
            "2001:db8::100".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn second_segment_addresses() {
        let n = node("x", "r2", 12);
        assert_eq!(n.link(0).dev, "eth0");
        assert_eq!(n.link(0).ip, n.ip);
        assert_eq!(n.link(0).mac, n.mac);
        assert_eq!(n.link(0).bridge, Lab::BRIDGE);
        let l = n.link(1);
        assert_eq!(l.dev, "eth1");
        assert_eq!(l.ip, Ipv4Addr::new(198, 51, 100, 12));
        assert_eq!(mac_string(&l.mac), "02:00:c6:33:64:0c");
        assert_eq!((l.port.as_str(), l.bridge.as_str()), ("p1-r2", "br1"));
        // Veth names are at most 15 bytes (IFNAMSIZ - 1).
        assert!(node("x", "client", 100).link(1).port.len() <= 15);
    }

    #[test]
    fn proc_state_of_self_and_of_nobody() {
        assert!(proc_state(std::process::id() as i32).is_some());
        assert_eq!(proc_state(i32::MAX), None);
    }
}
