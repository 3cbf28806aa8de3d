//! One speaker on two uplinks against another: VRID 51 on `eth0`, VRID 52 on `eth1`, one sync
//! group, vrrpd facing keepalived in either seat (and keepalived in both, the harness's
//! baseline). Whatever fails, both VIPs move together: at the end of every phase the client gets
//! both from the same node, and that node's speaker calls itself Active for both.
//!
//! Who serves a VIP is told by nginx's body (each router serves its own name), as in the other
//! failover tests: a vrrpd Active answers ARP with the virtual MAC, which names no node. The
//! client's ARP entries are in the log. Timing goes to the log (`UPLINKS` lines, from a prober
//! per VIP requesting every 10 ms), not into tight asserts: the bounds are generous.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use vrrp_tests::capture::{start_tcpdump, wait_listening};
use vrrp_tests::lab::{Lab, ProcId};
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::probe::{ProbeOpts, Prober, client_get};
use vrrp_tests::router::{Router, Speaker, State, try_status};
use vrrp_tests::uplinks::{self, UPLINKS};
use vrrp_tests::{unix_now, wait_for, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

/// Priorities of the seats: r1 outranks r2 on both uplinks.
const PRIORITIES: [u8; 2] = [150, 100];

/// The bound of a takeover (3 x 100 ms + skew is about 0.36 s).
const TAKEOVER: Duration = Duration::from_secs(2);

/// The bound of a take-back by preemption, and of a link check noticing the carrier (every
/// 100 ms).
const TAKEBACK: Duration = Duration::from_secs(5);

/// The bound of the start: both speakers up, the first Active elected.
const START: Duration = Duration::from_secs(20);

/// Two routers, each one speaker on both uplinks, nginx in each serving the node's name, a
/// prober per VIP in the client, and tcpdump on both bridges (for the artifacts).
struct Pair<'a> {
    lab: &'a Lab,
    routers: [Router; 2],
    probers: [Prober; 2],
    /// When the speakers were started (Unix seconds).
    started: f64,
    _nginx: [Nginx; 2],
    _tcpdump: Vec<ProcId>,
}

impl<'a> Pair<'a> {
    /// With `unicast`, both seats are vrrpd and each sends its adverts to the other's address
    /// on each segment.
    fn start(lab: &'a Lab, seats: [Speaker; 2], unicast: bool) -> Pair<'a> {
        let tcpdump = capture_bridges(lab);
        let nginx = ["r1", "r2"].map(|n| Nginx::start(lab, n, n));
        let opts = ProbeOpts {
            interval: Duration::from_millis(10),
            timeout: Duration::from_millis(100),
            duration: Duration::from_secs(240),
        };
        let probers = UPLINKS.map(|u| {
            Prober::start_as(lab, &format!("prober-vrid{}", u.vrid), PROBER, u.vip, &opts)
        });
        let started = unix_now();
        let routers = [0, 1].map(|i| {
            let node = format!("r{}", i + 1);
            if unicast {
                assert_eq!(seats[i], Speaker::Vrrpd, "unicast pairs are vrrpd's");
                let peer = lab.node(&format!("r{}", 2 - i)).ip.octets()[3];
                uplinks::start_unicast(lab, &node, PRIORITIES[i], peer)
            } else {
                uplinks::start(lab, &node, seats[i], PRIORITIES[i])
            }
        });
        Pair {
            lab,
            routers,
            probers,
            started,
            _nginx: nginx,
            _tcpdump: tcpdump,
        }
    }

    fn router(&self, node: &str) -> &Router {
        self.routers
            .iter()
            .find(|r| r.node == node)
            .unwrap_or_else(|| panic!("no router {node}"))
    }

    fn states(&self, node: &str) -> [State; 2] {
        UPLINKS.map(|u| self.router(node).state_of(self.lab, u.vrid))
    }

    /// Waits until the client gets both VIPs from `owner`, whose speaker calls itself Active for
    /// both, and the other router (unless `frozen`: it cannot answer) is Active for neither.
    /// Logs, from `since` (the Unix time of what changed): when each VIP's prober was first
    /// served by `owner` and its longest gap without an answer, and when the whole held. Returns
    /// how long the whole took from now.
    fn wait_owner(
        &self,
        owner: &str,
        phase: &str,
        frozen: bool,
        since: f64,
        within: Duration,
    ) -> Duration {
        let other = if owner == "r1" { "r2" } else { "r1" };
        let settled = wait_until(within, || {
            UPLINKS
                .iter()
                .all(|u| served_by(self.lab, u.vip).as_deref() == Some(owner))
                && self.states(owner).iter().all(|s| *s == State::Active)
                && (frozen || self.states(other).iter().all(|s| *s != State::Active))
        });
        let took = settled.unwrap_or_else(|e| {
            panic!(
                "{phase}: both VIPs not at {owner}: {e}\n{}",
                self.report(frozen.then_some(other))
            )
        });
        let settled_at = unix_now();
        // Once more, after the whole condition held: both are still at the owner.
        for u in &UPLINKS {
            assert_eq!(
                served_by(self.lab, u.vip).as_deref(),
                Some(owner),
                "{phase}: {} left {owner} again\n{}",
                u.vip,
                self.report(frozen.then_some(other))
            );
        }
        let mut line = format!("UPLINKS {} {phase}: at {owner}:", self.lab.test);
        for (u, prober) in UPLINKS.iter().zip(&self.probers) {
            // The prober asks every 10 ms: its first answer from the owner is at most that far
            // behind the client's.
            let first = wait_for(Duration::from_secs(2), || {
                prober
                    .records(self.lab)
                    .0
                    .iter()
                    .find(|p| p.start >= since && p.result.as_deref() == Ok(owner))
                    .map(|p| p.end)
            })
            .unwrap_or_else(|_| panic!("{phase}: the prober of {} never got {owner}", u.vip));
            let gap = prober
                .records(self.lab)
                .longest_gap(since, first.max(settled_at))
                .map_or(0.0, |g| g.ms());
            let _ = write!(
                line,
                " {} served after {:.0} ms (longest gap {gap:.0} ms),",
                u.vip,
                (first - since) * 1000.0
            );
        }
        let _ = write!(
            line,
            " settled after {:.0} ms (ARP {})",
            (settled_at - since) * 1000.0,
            arp_entries(self.lab)
        );
        eprintln!("{line}");
        took
    }

    /// What every party says: the client's view of each VIP, the speakers' states (not those of
    /// `skip`, which is frozen), the ARP entries and where the artifacts are.
    fn report(&self, skip: Option<&str>) -> String {
        let mut s = String::new();
        for u in &UPLINKS {
            let got = client_get(self.lab, PROBER, u.vip, Duration::from_millis(300));
            let _ = writeln!(s, "client GET {}: {got:?}", u.vip);
        }
        for r in &self.routers {
            if Some(r.node.as_str()) == skip {
                continue;
            }
            let _ = writeln!(
                s,
                "{} ({}): {:?}",
                r.node,
                r.speaker.name(),
                self.states(&r.node)
            );
            if r.speaker == Speaker::Vrrpd {
                let _ = writeln!(s, "{} status: {:#?}", r.node, try_status(self.lab, &r.node));
            }
        }
        let _ = writeln!(s, "ARP: {}", arp_entries(self.lab));
        let _ = write!(s, "artifacts: {}", self.lab.artifacts.display());
        s
    }
}

/// The node whose nginx answered a GET of `vip` from the client, if any did within 300 ms.
fn served_by(lab: &Lab, vip: Ipv4Addr) -> Option<String> {
    client_get(lab, PROBER, vip, Duration::from_millis(300)).ok()
}

/// The client's ARP entry of each VIP on its segment: a node's name or a (virtual) MAC.
fn arp_entries(lab: &Lab) -> String {
    UPLINKS
        .iter()
        .map(|u| {
            let owner = lab.client_arp_owner_on(u.dev, u.vip);
            format!("{}={}", u.vip, owner.as_deref().unwrap_or("none"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// tcpdump on both bridges, into `br0.pcap` and `br1.pcap`: what happened, for a failure's
/// artifacts.
fn capture_bridges(lab: &Lab) -> Vec<ProcId> {
    let ids: Vec<ProcId> = (0..lab.segments())
        .map(|seg| {
            let bridge = format!("br{seg}");
            let out = lab.artifacts.join(format!("{bridge}.pcap"));
            start_tcpdump(lab, &bridge, &out, &format!("tcpdump-{bridge}"), false)
        })
        .collect();
    wait_listening(lab, &ids);
    ids
}

/// vrrpd in `node` reports each router on its own uplink: VRID 51 on `eth0`, 52 on `eth1`.
fn assert_status_interfaces(lab: &Lab, node: &str) {
    let status = try_status(lab, node).unwrap_or_else(|| panic!("vrrpd in {node}: no status"));
    let routers = status["routers"].as_array().cloned().unwrap_or_default();
    for u in &UPLINKS {
        let r = routers
            .iter()
            .find(|r| r["vrid"].as_u64() == Some(u64::from(u.vrid)))
            .unwrap_or_else(|| panic!("no VRID {} in {status:#}", u.vrid));
        assert_eq!(
            r["interface"].as_str(),
            Some(u.dev),
            "VRID {}'s interface in {status:#}",
            u.vrid
        );
    }
}

fn needs(seats: [Speaker; 2]) -> Vec<Need> {
    let mut n: Vec<Need> = seats.iter().map(|&s| Need::speaker(s)).collect();
    n.dedup();
    n
}

/// The pair started, r1 (priority 150) serving both VIPs; a vrrpd reports each router's
/// interface.
fn started(lab: &Lab, seats: [Speaker; 2]) -> Pair<'_> {
    started_with(lab, seats, false)
}

fn started_with(lab: &Lab, seats: [Speaker; 2], unicast: bool) -> Pair<'_> {
    let pair = Pair::start(lab, seats, unicast);
    pair.wait_owner("r1", "start", false, pair.started, START);
    check_vrrpd_interfaces(&pair);
    pair
}

/// Freezing r1's namespace (every process SIGSTOPped, its speaker too, as `docker pause`) gives
/// both VIPs to r2 within [`TAKEOVER`]; resuming gives both back to r1.
fn pause_resume(lab: &Lab, pair: &Pair) {
    let t = lab.pause("r1");
    pair.wait_owner("r2", "r1 paused", true, t, TAKEOVER);
    let t = lab.resume("r1");
    pair.wait_owner("r1", "r1 resumed", false, t, TAKEBACK);
    check_vrrpd_interfaces(pair);
}

/// The switch port of r1's `eth1` going down (the cable pulled: `eth1` loses its carrier) gives
/// both VIPs to r2, the `eth0` one by the sync group; the port coming back gives both back to r1.
fn link_down_up(lab: &Lab, pair: &Pair) {
    let port = lab.link("r1", 1).port;
    let t = unix_now();
    lab.exec_ok("sw", "ip", &["link", "set", &port, "down"]);
    lab.record_event(&format!("link-down r1 eth1 {t:.6}"));
    pair.wait_owner("r2", "r1 eth1 down", false, t, TAKEOVER);
    let t = unix_now();
    lab.exec_ok("sw", "ip", &["link", "set", &port, "up"]);
    lab.record_event(&format!("link-up r1 eth1 {t:.6}"));
    pair.wait_owner("r1", "r1 eth1 up", false, t, TAKEBACK);
    check_vrrpd_interfaces(pair);
}

fn check_vrrpd_interfaces(pair: &Pair) {
    for r in pair.routers.iter().filter(|r| r.speaker == Speaker::Vrrpd) {
        assert_status_interfaces(pair.lab, &r.node);
    }
}

/// The harness on keepalived alone: both failures move both VIPs (keepalived watches its
/// interfaces by itself, and its `vrrp_sync_group` moves the group).
#[test]
fn uplinks_keepalived_pair_baseline() {
    let seats = [Speaker::Keepalived, Speaker::Keepalived];
    if !require(&needs(seats)) {
        return;
    }
    let lab = Lab::with_segments("uplinks_keepalived_pair_baseline", 2, 2);
    let pair = started(&lab, seats);
    pause_resume(&lab, &pair);
    link_down_up(&lab, &pair);
}

/// vrrpd Active on both uplinks, keepalived Backup: a frozen vrrpd loses both VIPs, and takes
/// both back.
#[test]
fn uplinks_vrrpd_active_pause_moves_both_vips() {
    let seats = [Speaker::Vrrpd, Speaker::Keepalived];
    if !require(&needs(seats)) {
        return;
    }
    let lab = Lab::with_segments("uplinks_vrrpd_active_pause_moves_both_vips", 2, 2);
    let pair = started(&lab, seats);
    pause_resume(&lab, &pair);
}

/// vrrpd Active on both uplinks, keepalived Backup: vrrpd losing `eth1`'s link gives up the
/// `eth0` VIP too (the sync group), and takes both back with the link.
#[test]
fn uplinks_vrrpd_active_link_down_moves_both_vips() {
    let seats = [Speaker::Vrrpd, Speaker::Keepalived];
    if !require(&needs(seats)) {
        return;
    }
    let lab = Lab::with_segments("uplinks_vrrpd_active_link_down_moves_both_vips", 2, 2);
    let pair = started(&lab, seats);
    link_down_up(&lab, &pair);
}

/// keepalived Active on both uplinks, vrrpd Backup: a frozen keepalived gives both VIPs to
/// vrrpd, which hands both back when keepalived resumes.
#[test]
fn uplinks_vrrpd_backup_takes_both_when_keepalived_pauses() {
    let seats = [Speaker::Keepalived, Speaker::Vrrpd];
    if !require(&needs(seats)) {
        return;
    }
    let lab = Lab::with_segments(
        "uplinks_vrrpd_backup_takes_both_when_keepalived_pauses",
        2,
        2,
    );
    let pair = started(&lab, seats);
    pause_resume(&lab, &pair);
}

/// Two vrrpd on two uplinks with unicast peers: the pause moves both VIPs and back, and each
/// uplink's advert socket hears its own segment's adverts only (bound to its bridge): an
/// advert of VRID 52 reaching the eth0 socket would count as an advert for no router.
#[test]
fn uplinks_vrrpd_pair_unicast_pause_moves_both_vips() {
    let seats = [Speaker::Vrrpd, Speaker::Vrrpd];
    if !require(&needs(seats)) {
        return;
    }
    let lab = Lab::with_segments("uplinks_vrrpd_pair_unicast_pause_moves_both_vips", 2, 2);
    let pair = started_with(&lab, seats, true);
    pause_resume(&lab, &pair);
    for node in ["r1", "r2"] {
        let s = try_status(&lab, node).unwrap_or_else(|| panic!("vrrpd in {node}: no status"));
        let unmatched: u64 = s["unmatched_drops"]
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(unmatched, 0, "{node} dropped adverts for no router: {s:#}");
        for r in s["routers"].as_array().cloned().unwrap_or_default() {
            assert!(
                r["adverts_received"].as_u64().unwrap_or(0) > 0,
                "{node}: VRID {} heard no advert: {s:#}",
                r["vrid"]
            );
        }
    }
}

/// A configuration naming an uplink the node lacks is refused with exit 2 naming it, before
/// any uplink is touched: `eth0` is never bridged (no bridge appears in the node, and vrrpd
/// does not log bridging it).
#[test]
fn uplinks_a_missing_uplink_is_refused_before_any_is_touched() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new(
        "uplinks_a_missing_uplink_is_refused_before_any_is_touched",
        1,
    );
    let conf = lab.write_artifact(
        "vrrpd.toml",
        &uplinks::vrrpd_toml(150).replace("\"eth1\"", "\"eth9\""),
    );
    let bin = vrrp_tests::router::vrrpd_bin().display().to_string();
    let out = lab.exec(
        "r1",
        &bin,
        &["run", "--config", &conf.display().to_string()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("uplink eth9:"), "{stderr}");
    assert!(!stderr.contains("bridged the uplink"), "{stderr}");
    let bridges = lab.exec_ok("r1", "ip", &["-o", "link", "show", "type", "bridge"]);
    assert!(bridges.trim().is_empty(), "{bridges}");
}
