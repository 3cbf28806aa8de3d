//! The fast path on a real kernel: network namespaces, a bridge, a veth, `ping` and `nft`.
//!
//! These need root. Without it they print `skipped: <reason>` and pass, except under `CI=true`,
//! where they fail. Each test makes its own namespaces (named after the process id), enters the
//! node's on its own thread, and deletes them when it ends, also on failure.

use std::fs::File;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use super::{Family, FastPath, Lease, kernel_lacks};

const BRIDGE: &str = "vbr-t";
const UPLINK: &str = "vu-t";
const VIP: &str = "192.0.2.100";
const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];
const TABLE: &str = "vrrpd-vbr-t";
/// The VRID of `VMAC`.
const VRID: u8 = 0x33;

/// The lease of router `VRID` (IPv4) for `timeout` after each advert.
fn lease(timeout: Duration) -> Lease {
    Lease {
        vrid: VRID,
        v6: false,
        mac: VMAC,
        timeout,
    }
}

/// An advert-shaped packet (IP protocol 112, `vrid` in its second byte) that the calling
/// thread's namespace (the node's) sends to the client: it leaves on the uplink as vrrpd's
/// unicast adverts do. Multicast adverts from the TAP take the same way out (the e2e tests run
/// the daemon).
fn send_advert(vrid: u8) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain socket(2); the descriptor is owned from here on.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, 112) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let msg = [0x31, vrid, 200, 1, 0, 100, 0, 0, 192, 0, 2, 100];
    let to = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([192, 0, 2, 2]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `msg` and `to` outlive the call, with the lengths given.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&to as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(
        n,
        msg.len() as isize,
        "sendto: {}",
        std::io::Error::last_os_error()
    );
}

/// False (after saying why) when this test cannot run here; panics instead under `CI=true`.
fn can_run() -> bool {
    can_run_with(&[])
}

/// `can_run`, with `more` tools needed besides `ip`, `nft` and `ping`.
fn can_run_with(more: &[&str]) -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("needs root (network namespaces, nftables)".to_owned())
    } else {
        ["ip", "nft", "ping"].iter().chain(more).find_map(|tool| {
            let found = Command::new(tool).arg("-V").output().is_ok();
            (!found).then(|| format!("needs `{tool}`"))
        })
    };
    match why {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => panic!("{why} (CI=true)"),
        Some(why) => {
            println!("skipped: {why}");
            false
        }
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs `args` and panics with its stderr unless it succeeds.
fn must(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs each command line (words split at spaces) with [`must`].
fn script(lines: &[String]) {
    for line in lines {
        must(&line.split_whitespace().collect::<Vec<_>>());
    }
}

/// Network namespaces that are deleted when this is dropped.
struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    fn new(tag: &str, roles: &[&str]) -> Namespaces {
        let mut ns = Namespaces { names: Vec::new() };
        for role in roles {
            let name = format!("fp-{tag}-{role}-{}", std::process::id());
            // A namespace of that name can only be a leftover of a dead process with our id.
            let _ = run(&["ip", "netns", "del", &name]);
            must(&["ip", "netns", "add", &name]);
            ns.names.push(name);
        }
        ns
    }

    fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// `args` run inside namespace `i`.
    fn exec(&self, i: usize, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", self.name(i)];
        full.extend_from_slice(args);
        run(&full)
    }

    fn must(&self, i: usize, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", self.name(i)];
        full.extend_from_slice(args);
        must(&full)
    }

    /// Moves the calling thread (only) into namespace `i`: sockets it opens from now on are there.
    fn enter(&self, i: usize) {
        let path = format!("/run/netns/{}", self.name(i));
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

const NODE: usize = 0;
const CLIENT: usize = 1;

/// The node holds bridge `vbr-t` with port `vu-t`, 192.0.2.1/24 on the bridge and the VIP on
/// `lo` (the kernel never answers ARP for it, nor names it in its own); the client, at the other end of the veth, has
/// 192.0.2.2/24 and a static neighbour entry sending the VIP to the virtual MAC. Returns the
/// bridge's MAC.
fn lan(ns: &Namespaces) -> [u8; 6] {
    let (n, c) = (ns.name(NODE), ns.name(CLIENT));
    script(&[
        // A set address, as vrrpd gives its bridge (the uplink's): one that the bridge chose
        // itself would change with the ports added later, and the fast path rewrites frames to it.
        format!("ip -n {n} link add {BRIDGE} address 02:00:00:00:00:fe type bridge"),
        format!("ip -n {n} link add {UPLINK} type veth peer name vc-t netns {c}"),
        format!("ip -n {n} link set {UPLINK} master {BRIDGE} up"),
        format!("ip -n {n} link set {BRIDGE} up"),
        format!("ip -n {n} link set lo up"),
        format!("ip -n {n} addr add 192.0.2.1/24 dev {BRIDGE}"),
        format!("ip -n {n} addr add {VIP}/32 dev lo"),
        format!("ip netns exec {n} sysctl -qw net.ipv4.conf.all.arp_ignore=1"),
        // Or the node's ARP requests, sent with a VIP as sender when it answers from one,
        // would teach the client that the VIP is at the bridge's MAC.
        format!("ip netns exec {n} sysctl -qw net.ipv4.conf.all.arp_announce=2"),
        format!("ip -n {c} link set vc-t up"),
        format!("ip -n {c} link set lo up"),
        format!("ip -n {c} addr add 192.0.2.2/24 dev vc-t"),
        format!("ip -n {c} neigh add {VIP} lladdr 00:00:5e:00:01:33 dev vc-t nud permanent"),
    ]);
    let json = ns.must(NODE, &["ip", "-j", "link", "show", BRIDGE]);
    let links: serde_json::Value = serde_json::from_str(&json).expect("ip -j");
    let text = links[0]["address"].as_str().expect("bridge address");
    let mut mac = [0; 6];
    for (byte, hex) in mac.iter_mut().zip(text.split(':')) {
        *byte = u8::from_str_radix(hex, 16).expect("MAC");
    }
    // The client reaches the node itself (this also fills the node's ARP cache for the client).
    assert!(ping(ns, "192.0.2.1", "1"), "the test LAN does not work");
    mac
}

/// Whether one ping from the client to `dst` is answered within `wait` seconds.
fn ping(ns: &Namespaces, dst: &str, wait: &str) -> bool {
    ns.exec(CLIENT, &["ping", "-c1", "-q", "-W", wait, dst])
        .status
        .success()
}

fn tables(ns: &Namespaces) -> String {
    ns.must(NODE, &["nft", "list", "tables"])
}

/// Polls `cond` every 10 ms for up to `limit`; the time it took to hold, if it did.
fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn fastpath_serves_the_vip_while_refreshed() {
    fastpath_serves_the_vip_while_refreshed_as(Family::Netdev);
}

/// The same with the table older kernels get.
#[test]
fn fastpath_serves_the_vip_while_refreshed_bridge_family() {
    fastpath_serves_the_vip_while_refreshed_as(Family::Bridge);
}

fn fastpath_serves_the_vip_while_refreshed_as(family: Family) {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new(&format!("serve-{}", family.as_str()), &["node", "client"]);
    let bridge_mac = lan(&ns);
    ns.enter(NODE);
    let mut fp = FastPath::install_as(family, BRIDGE, UPLINK, bridge_mac).expect("install");
    assert_eq!(fp.table(), TABLE);
    assert!(tables(&ns).contains(TABLE), "{}", tables(&ns));

    // (a) Nothing in the set: frames for the virtual MAC go nowhere.
    assert!(!ping(&ns, VIP, "0.5"), "answered before any refresh");

    // (b) Refreshed: the kernel answers for the VIP (a few tries: starting `ping` on a loaded
    // machine may take a good part of the 300 ms).
    let mut refreshed = Instant::now();
    let answered = (0..5).any(|_| {
        fp.refresh(VMAC, Duration::from_millis(300))
            .expect("refresh");
        refreshed = Instant::now();
        ping(&ns, VIP, "0.25")
    });
    assert!(answered, "not answered after a refresh");

    // (c) No further refresh: the element expires and the answers stop by themselves.
    let set = || {
        ns.must(
            NODE,
            &["nft", "list", "set", family.as_str(), TABLE, "alive"],
        )
    };
    let gone = within(Duration::from_secs(3), || {
        !set().contains("00:00:5e:00:01:33")
    });
    let lifetime = refreshed.elapsed();
    assert!(gone.is_some(), "the element never expired: {}", set());
    println!(
        "element listed for {} ms after refresh(300 ms)",
        lifetime.as_millis()
    );
    assert!(
        lifetime >= Duration::from_millis(250),
        "expired early: {lifetime:?}"
    );
    let silent = within(Duration::from_secs(3), || !ping(&ns, VIP, "0.2"));
    assert!(silent.is_some(), "still answered after the element expired");

    // (d) A served lease: withdraw stops it at once, also once the element has expired.
    fp.serve(&lease(Duration::from_secs(10))).expect("serve");
    assert!(ping(&ns, VIP, "1"), "not answered while served");
    fp.withdraw(&lease(Duration::from_secs(10)))
        .expect("withdraw");
    assert!(!ping(&ns, VIP, "0.5"), "answered after withdraw");
    fp.serve(&lease(Duration::from_millis(20))).expect("serve");
    std::thread::sleep(Duration::from_millis(100));
    fp.withdraw(&lease(Duration::from_millis(20)))
        .expect("withdraw of an expired lease");

    // (e) Remove leaves no table.
    fp.remove().expect("remove");
    assert!(!tables(&ns).contains(TABLE), "{}", tables(&ns));
}

#[test]
fn fastpath_leaves_no_table_behind() {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new("left", &["node"]);
    ns.enter(NODE);
    let mac = [0x02, 0, 0, 0, 0, 1];

    // Killed (here: dropped, which closes the socket just as dying does): the kernel deletes
    // the table it owned.
    let mut fp = FastPath::install(BRIDGE, UPLINK, mac).expect("install");
    fp.refresh(VMAC, Duration::from_secs(60)).expect("refresh");
    assert!(tables(&ns).contains(TABLE));
    // A live (say, frozen) instance's table is not a leftover.
    let err = FastPath::install(BRIDGE, UPLINK, mac).expect_err("took over a live table");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    let err = FastPath::remove_leftover(BRIDGE).expect_err("removed a live table");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    println!("{err}");
    // Someone else's `nft flush ruleset` (a firewall tool) succeeds and leaves it alone.
    ns.must(NODE, &["nft", "flush", "ruleset"]);
    assert!(tables(&ns).contains(TABLE), "flushed: {}", tables(&ns));
    drop(fp);
    assert!(
        within(Duration::from_secs(2), || !tables(&ns).contains(TABLE)).is_some(),
        "the table outlived its owner: {}",
        tables(&ns)
    );

    // A table nobody owns (an older vrrpd's, or one made by hand) is a leftover.
    ns.must(NODE, &["nft", "add", "table", "netdev", TABLE]);
    ns.must(NODE, &["nft", "add", "chain", "netdev", TABLE, "stale"]);
    assert!(FastPath::remove_leftover(BRIDGE).expect("remove_leftover"));
    assert!(!tables(&ns).contains(TABLE), "{}", tables(&ns));
    assert!(!FastPath::remove_leftover(BRIDGE).expect("remove_leftover"));
    // So is the `bridge` family table of a vrrpd on an older kernel.
    ns.must(NODE, &["nft", "add", "table", "bridge", TABLE]);
    assert!(FastPath::remove_leftover(BRIDGE).expect("remove_leftover"));
    assert!(!tables(&ns).contains(TABLE), "{}", tables(&ns));

    // install replaces one in the same transaction.
    ns.must(NODE, &["nft", "add", "table", "netdev", TABLE]);
    ns.must(NODE, &["nft", "add", "chain", "netdev", TABLE, "stale"]);
    let fp = FastPath::install(BRIDGE, UPLINK, mac).expect("install over a leftover");
    let listing = ns.must(NODE, &["nft", "list", "table", "netdev", TABLE]);
    assert!(!listing.contains("stale"), "{listing}");
    assert!(listing.contains("flags owner"), "{listing}");
    assert!(
        listing.contains("ether daddr @alive ether daddr set 02:00:00:00:00:01"),
        "{listing}"
    );
    println!("{listing}");
    fp.remove().expect("remove");
    assert!(!tables(&ns).contains(TABLE));
}

/// The fence's clock is the router's own adverts: each one leaving on the uplink renews its
/// lease in the kernel; another router's adverts do not, and without adverts it runs out.
#[test]
fn fastpath_adverts_renew_the_lease() {
    fastpath_adverts_renew_the_lease_as(Family::Netdev);
}

/// The same with the table older kernels get.
#[test]
fn fastpath_adverts_renew_the_lease_bridge_family() {
    fastpath_adverts_renew_the_lease_as(Family::Bridge);
}

fn fastpath_adverts_renew_the_lease_as(family: Family) {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new(&format!("renew-{}", family.as_str()), &["node", "client"]);
    let bridge_mac = lan(&ns);
    ns.enter(NODE);
    let mut fp = FastPath::install_as(family, BRIDGE, UPLINK, bridge_mac).expect("install");
    let listing = ns.must(NODE, &["nft", "list", "table", family.as_str(), TABLE]);
    println!("{listing}");
    // Other tools list the namespace's tables too; nft 1.0.6 must not choke on ours.
    ns.must(NODE, &["nft", "-j", "list", "tables"]);
    ns.must(NODE, &["nft", "-j", "list", "ruleset"]);
    assert!(
        listing.contains("ip protocol vrrp @th,8,8 vmap @leases4"),
        "{listing}"
    );
    let served = lease(Duration::from_millis(300));
    fp.serve(&served).expect("serve");
    let chain = ns.must(
        NODE,
        &["nft", "list", "chain", family.as_str(), TABLE, "v4-51"],
    );
    // nft 1.0.6 prints the immediate key as a number of the wrong type; the timeout it reads.
    assert!(
        chain.contains("update @alive {") && chain.contains("timeout 300ms }"),
        "{chain}"
    );

    // Adverts every 50 ms for 1 s: the lease (300 ms) outlives its start by far.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        send_advert(VRID);
        std::thread::sleep(Duration::from_millis(50));
    }
    send_advert(VRID);
    let last = Instant::now();
    assert!(ping(&ns, VIP, "0.2"), "not answered while adverts renew");

    // Only another router's adverts: the lease runs out 300 ms after the last of ours.
    let set = || {
        ns.must(
            NODE,
            &["nft", "list", "set", family.as_str(), TABLE, "alive"],
        )
    };
    let mut gone = None;
    while last.elapsed() < Duration::from_secs(2) {
        send_advert(VRID + 1);
        if !set().contains("00:00:5e:00:01:33") {
            gone = Some(last.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let gone = gone.unwrap_or_else(|| panic!("the lease never ran out: {}", set()));
    println!("lease gone {} ms after the last advert", gone.as_millis());
    assert!(
        gone >= Duration::from_millis(250),
        "ran out early: {gone:?}"
    );
    assert!(!ping(&ns, VIP, "0.2"), "answered after the lease ran out");

    // A new timeout (a new priority) applies from the next advert on.
    fp.renew_for(&lease(Duration::from_secs(30)))
        .expect("renew_for");
    send_advert(VRID);
    let elem = set();
    assert!(elem.contains("00:00:5e:00:01:33 timeout 30s"), "{elem}");

    // Withdrawn: the router's chain and map entry go, and its adverts renew nothing.
    fp.withdraw(&lease(Duration::from_secs(30)))
        .expect("withdraw");
    send_advert(VRID);
    assert!(!set().contains("00:00:5e:00:01:33"), "{}", set());
    let listing = ns.must(NODE, &["nft", "list", "table", family.as_str(), TABLE]);
    assert!(!listing.contains("v4-51"), "{listing}");

    // What a state change costs (nothing is sent to the kernel per advert).
    let n = 1_000;
    let t = Instant::now();
    for _ in 0..n {
        fp.serve(&served).expect("serve");
        fp.withdraw(&served).expect("withdraw");
    }
    println!(
        "serve + withdraw: {:.1} µs per pair over {n}",
        (t.elapsed() / n).as_secs_f64() * 1e6
    );
    fp.remove().expect("remove");
}

#[test]
fn fastpath_kernel_errors_are_clear() {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new("err", &["node"]);
    ns.enter(NODE);
    let mut fp = FastPath::install(BRIDGE, UPLINK, [0x02, 0, 0, 0, 0, 1]).expect("install");
    ns.must(NODE, &["nft", "list", "tables"]);
    // Delete the table behind its back (as its owner would: through its own socket).
    let mut other = FastPath::open(BRIDGE, Family::Netdev).expect("open");
    let err = other
        .transact(|b, t| b.del_table(t))
        .expect_err("another socket deleted an owned table");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    fp.transact(|b, t| b.del_table(t)).expect("owner deletes");
    let err = fp
        .refresh(VMAC, Duration::from_secs(1))
        .expect_err("no table");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("add element") && text.contains(TABLE),
        "{text}"
    );
    println!("{text}");
    assert!(FastPath::install("", UPLINK, [0; 6]).is_err());
    assert!(FastPath::install(BRIDGE, "sixteen-bytes-xx", [0; 6]).is_err());
}

/// The client's neighbour entry for `addr`: its state and link-layer address.
fn neighbour(ns: &Namespaces, addr: &str) -> String {
    ns.must(CLIENT, &["ip", "neigh", "show", addr, "dev", "vc-t"])
}

/// Unicast ARP and neighbour discovery for the VIPs, sent to the virtual MACs, are answered by
/// the virtual router (here a namespace that owns the virtual MACs and the VIPs, standing in for
/// smoltcp behind the TAP), never diverted to the node's kernel, even while the fast path is on.
/// The client's own neighbour unreachability detection makes the unicast probes: a stale entry
/// in use becomes reachable only if the virtual router answers.
#[test]
fn fastpath_leaves_arp_and_nd_to_the_virtual_router() {
    fastpath_leaves_arp_and_nd_to_the_virtual_router_as(Family::Netdev);
}

/// The same with the table older kernels get.
#[test]
fn fastpath_leaves_arp_and_nd_to_the_virtual_router_bridge_family() {
    fastpath_leaves_arp_and_nd_to_the_virtual_router_as(Family::Bridge);
}

fn fastpath_leaves_arp_and_nd_to_the_virtual_router_as(family: Family) {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new(
        &format!("nd-{}", family.as_str()),
        &["node", "client", "router"],
    );
    let bridge_mac = lan(&ns);
    let (n, c, r) = (ns.name(NODE), ns.name(CLIENT), ns.name(2));
    let vmac6 = [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33];
    script(&[
        format!(
            "ip -n {n} link add vt4-t type veth peer name vr4 address 00:00:5e:00:01:33 netns {r}"
        ),
        format!(
            "ip -n {n} link add vt6-t type veth peer name vr6 address 00:00:5e:00:02:33 netns {r}"
        ),
        format!("ip -n {n} link set vt4-t master {BRIDGE} up"),
        format!("ip -n {n} link set vt6-t master {BRIDGE} up"),
        format!("ip -n {n} addr add 2001:db8::1/64 dev {BRIDGE} nodad"),
        format!("ip -n {n} addr add 2001:db8::100/128 dev lo nodad"),
        format!("ip -n {r} link set vr4 up"),
        format!("ip -n {r} link set vr6 up"),
        format!("ip -n {r} addr add {VIP}/24 dev vr4"),
        format!("ip -n {r} addr add 2001:db8::100/64 dev vr6 nodad"),
        format!("ip -n {c} addr add 2001:db8::2/64 dev vc-t nodad"),
        format!("ip netns exec {c} sysctl -qw net.ipv4.neigh.vc-t.delay_first_probe_time=0"),
        format!("ip netns exec {c} sysctl -qw net.ipv6.neigh.vc-t.delay_first_probe_time=0"),
        format!("ip -n {c} neigh replace {VIP} lladdr 00:00:5e:00:01:33 dev vc-t nud stale"),
        format!(
            "ip -n {c} neigh replace 2001:db8::100 lladdr 00:00:5e:00:02:33 dev vc-t nud stale"
        ),
    ]);
    // The client reaches the node over IPv6 (once the new links' addresses are usable).
    let v6 = within(Duration::from_secs(5), || ping(&ns, "2001:db8::1", "1"));
    assert!(v6.is_some(), "the test LAN does not work over IPv6");
    ns.enter(NODE);
    let mut fp = FastPath::install_as(family, BRIDGE, UPLINK, bridge_mac).expect("install");
    fp.refresh(VMAC, Duration::from_secs(30)).expect("refresh");
    fp.refresh(vmac6, Duration::from_secs(30)).expect("refresh");

    for (vip, vmac) in [
        (VIP, "00:00:5e:00:01:33"),
        ("2001:db8::100", "00:00:5e:00:02:33"),
    ] {
        // Using the stale entry starts the probes (unicast to the virtual MAC).
        assert!(
            ping(&ns, vip, "1"),
            "{vip} not answered through the fast path"
        );
        let reachable = within(Duration::from_secs(5), || {
            let entry = neighbour(&ns, vip);
            entry.contains("REACHABLE") || entry.contains("FAILED")
        });
        let entry = neighbour(&ns, vip);
        assert!(
            reachable.is_some() && entry.contains("REACHABLE") && entry.contains(vmac),
            "the virtual router did not answer the client's probe for {vip}: {entry}"
        );
    }
    fp.remove().expect("remove");
}

/// Names the node namespace to [`fastpath_stand_in_daemon`] when the test below runs it.
const STAND_IN_NS: &str = "VRRPD_FASTPATH_STAND_IN_NS";

/// Not a test of its own: run by [`fastpath_fences_a_frozen_then_killed_daemon`] as a separate
/// process (this test binary, filtered to this test) that behaves like an Active vrrpd: it
/// serves a lease of 300 ms and sends an advert every 50 ms until it is stopped or killed.
/// Ignored, so that a normal run does not count it as a test that passed.
#[test]
#[ignore = "a helper process of fastpath_fences_a_frozen_then_killed_daemon, not a test"]
fn fastpath_stand_in_daemon() {
    let Ok(ns) = std::env::var(STAND_IN_NS) else {
        return;
    };
    let file = File::open(format!("/run/netns/{ns}")).expect("netns");
    setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
    let mac_text = std::env::var("VRRPD_FASTPATH_STAND_IN_MAC").expect("MAC");
    let mut bridge_mac = [0; 6];
    for (byte, hex) in bridge_mac.iter_mut().zip(mac_text.split(':')) {
        *byte = u8::from_str_radix(hex, 16).expect("MAC");
    }
    let mut fp = FastPath::install(BRIDGE, UPLINK, bridge_mac).expect("install");
    fp.serve(&lease(Duration::from_millis(300))).expect("serve");
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_millis(50));
        send_advert(VRID);
    }
}

/// A child process, killed when this is dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fence itself: a frozen daemon's VIPs stop being answered once the element its adverts no
/// longer renew expires (the table stays, owned by the frozen process); a killed daemon's table
/// goes with its socket.
#[test]
fn fastpath_fences_a_frozen_then_killed_daemon() {
    use std::io::BufRead;
    if !can_run_with(&["kill"]) {
        return;
    }
    let ns = Namespaces::new("fence", &["node", "client"]);
    let bridge_mac = lan(&ns);
    let mac_text: Vec<String> = bridge_mac.iter().map(|b| format!("{b:02x}")).collect();
    let exe = std::env::current_exe().expect("test binary");
    // The test's own name, wherever the module sits in the crate.
    let stand_in = format!(
        "{}::fastpath_stand_in_daemon",
        module_path!().trim_start_matches("vrrp_host::")
    );
    let mut child = Child(
        Command::new(exe)
            .args(["--exact", &stand_in, "--ignored", "--nocapture"])
            .env(STAND_IN_NS, ns.name(NODE))
            .env("VRRPD_FASTPATH_STAND_IN_MAC", mac_text.join(":"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the stand-in daemon"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let ready = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "ready");
    assert!(ready, "the stand-in daemon did not start");
    let pid = child.0.id().to_string();

    assert!(
        ping(&ns, VIP, "1"),
        "not answered while the daemon refreshes"
    );
    must(&["kill", "-STOP", &pid]);
    let frozen = Instant::now();
    let silent = within(Duration::from_secs(3), || !ping(&ns, VIP, "0.2"));
    assert!(
        silent.is_some(),
        "still answered 3 s after the daemon froze"
    );
    println!(
        "frozen daemon: VIP silent {} ms after SIGSTOP",
        frozen.elapsed().as_millis()
    );
    assert!(
        tables(&ns).contains(TABLE),
        "the frozen daemon's table is gone"
    );

    must(&["kill", "-KILL", &pid]);
    let _ = child.0.wait();
    let gone = within(Duration::from_secs(2), || !tables(&ns).contains(TABLE));
    assert!(
        gone.is_some(),
        "the killed daemon's table stayed: {}",
        tables(&ns)
    );
}

/// Only a kernel that lacks the `netdev` family or its egress hook makes `install` fall back to
/// a `bridge` table: a table that a live vrrpd owns, or a missing privilege, must not (the other
/// family would give a second daemon a table of its own).
#[test]
fn fastpath_falls_back_only_where_the_kernel_lacks_the_netdev_hooks() {
    let nft = |errno| {
        std::io::Error::from(super::NftError {
            family: Family::Netdev,
            op: "create chain",
            table: TABLE.into(),
            errno,
            detail: None,
        })
    };
    for errno in [
        libc::EOPNOTSUPP,
        libc::EAFNOSUPPORT,
        libc::ENOENT,
        libc::EINVAL,
    ] {
        assert!(kernel_lacks(&nft(errno)), "{}", nft(errno));
        assert!(kernel_lacks(&std::io::Error::from_raw_os_error(errno)));
    }
    for errno in [libc::EPERM, libc::EBUSY, libc::EEXIST, libc::ENOBUFS] {
        assert!(!kernel_lacks(&nft(errno)), "{}", nft(errno));
    }
    assert!(!kernel_lacks(&std::io::Error::other("timed out")));
}
