//! The fast path on a real kernel: network namespaces, a bridge, a veth, `ping` and `nft`.
//!
//! These need root. Without it they print `skipped: <reason>` and pass, except under `CI=true`,
//! where they fail. Each test makes its own namespaces (named after the process id), enters the
//! node's on its own thread, and deletes them when it ends, also on failure.

use std::fs::File;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use super::FastPath;

const BRIDGE: &str = "vbr-t";
const UPLINK: &str = "vu-t";
const VIP: &str = "192.0.2.100";
const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];
const TABLE: &str = "vrrpd-vbr-t";

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
/// `lo` (the kernel never answers ARP for it); the client, at the other end of the veth, has
/// 192.0.2.2/24 and a static neighbour entry sending the VIP to the virtual MAC. Returns the
/// bridge's MAC.
fn lan(ns: &Namespaces) -> [u8; 6] {
    let (n, c) = (ns.name(NODE), ns.name(CLIENT));
    for args in [
        vec!["ip", "-n", n, "link", "add", BRIDGE, "type", "bridge"],
        vec![
            "ip", "-n", n, "link", "add", UPLINK, "type", "veth", "peer", "name", "vc-t", "netns",
            c,
        ],
        vec!["ip", "-n", n, "link", "set", UPLINK, "master", BRIDGE, "up"],
        vec!["ip", "-n", n, "link", "set", BRIDGE, "up"],
        vec!["ip", "-n", n, "link", "set", "lo", "up"],
        vec!["ip", "-n", n, "addr", "add", "192.0.2.1/24", "dev", BRIDGE],
        vec!["ip", "-n", n, "addr", "add", "192.0.2.100/32", "dev", "lo"],
        vec![
            "ip",
            "netns",
            "exec",
            n,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.arp_ignore=1",
        ],
        vec!["ip", "-n", c, "link", "set", "vc-t", "up"],
        vec!["ip", "-n", c, "link", "set", "lo", "up"],
        vec!["ip", "-n", c, "addr", "add", "192.0.2.2/24", "dev", "vc-t"],
        vec![
            "ip",
            "-n",
            c,
            "neigh",
            "add",
            VIP,
            "lladdr",
            "00:00:5e:00:01:33",
            "dev",
            "vc-t",
            "nud",
            "permanent",
        ],
    ] {
        must(&args);
    }
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
    if !can_run() {
        return;
    }
    let ns = Namespaces::new("serve", &["node", "client"]);
    let bridge_mac = lan(&ns);
    ns.enter(NODE);
    let mut fp = FastPath::install(BRIDGE, UPLINK, bridge_mac).expect("install");
    assert_eq!(fp.table(), TABLE);
    assert!(tables(&ns).contains(TABLE), "{}", tables(&ns));

    // (a) Nothing in the set: frames for the virtual MAC go nowhere.
    assert!(!ping(&ns, VIP, "0.5"), "answered before any refresh");

    // (b) Refreshed: the kernel answers for the VIP.
    fp.refresh(VMAC, Duration::from_millis(300))
        .expect("refresh");
    let refreshed = Instant::now();
    assert!(ping(&ns, VIP, "0.25"), "not answered after a refresh");

    // (c) No further refresh: the element expires and the answers stop by themselves.
    let set = || ns.must(NODE, &["nft", "list", "set", "bridge", TABLE, "alive"]);
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

    // (d) Withdraw stops it at once.
    fp.refresh(VMAC, Duration::from_secs(10)).expect("refresh");
    assert!(ping(&ns, VIP, "1"), "not answered after a refresh");
    fp.withdraw(VMAC).expect("withdraw");
    assert!(!ping(&ns, VIP, "0.5"), "answered after withdraw");
    fp.withdraw(VMAC).expect("withdraw of a missing element");

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
    assert!(
        FastPath::install(BRIDGE, UPLINK, mac).is_err(),
        "a second instance took over a live instance's table"
    );
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
    ns.must(NODE, &["nft", "add", "table", "bridge", TABLE]);
    ns.must(NODE, &["nft", "add", "chain", "bridge", TABLE, "stale"]);
    assert!(FastPath::remove_leftover(BRIDGE).expect("remove_leftover"));
    assert!(!tables(&ns).contains(TABLE), "{}", tables(&ns));
    assert!(!FastPath::remove_leftover(BRIDGE).expect("remove_leftover"));

    // install replaces one in the same transaction.
    ns.must(NODE, &["nft", "add", "table", "bridge", TABLE]);
    ns.must(NODE, &["nft", "add", "chain", "bridge", TABLE, "stale"]);
    let fp = FastPath::install(BRIDGE, UPLINK, mac).expect("install over a leftover");
    let listing = ns.must(NODE, &["nft", "list", "table", "bridge", TABLE]);
    assert!(!listing.contains("stale"), "{listing}");
    assert!(listing.contains("flags owner"), "{listing}");
    assert!(
        listing.contains("iifname \"vu-t\" ether daddr @alive ether daddr set 02:00:00:00:00:01 meta pkttype set host"),
        "{listing}"
    );
    println!("{listing}");
    fp.remove().expect("remove");
    assert!(!tables(&ns).contains(TABLE));
}

#[test]
fn fastpath_refresh_cost() {
    if !can_run() {
        return;
    }
    let ns = Namespaces::new("cost", &["node"]);
    ns.enter(NODE);
    let mut fp = FastPath::install(BRIDGE, UPLINK, [0x02, 0, 0, 0, 0, 1]).expect("install");
    let n = 10_000;
    let start = Instant::now();
    for _ in 0..n {
        fp.refresh(VMAC, Duration::from_millis(3_600))
            .expect("refresh");
    }
    let per = start.elapsed() / n;
    println!(
        "refresh: {:.1} µs per call over {n} calls",
        per.as_secs_f64() * 1e6
    );
    let set = ns.must(NODE, &["nft", "list", "set", "bridge", TABLE, "alive"]);
    assert!(
        set.contains("00:00:5e:00:01:33 timeout 3s600ms expires"),
        "{set}"
    );
    let start = Instant::now();
    for _ in 0..n / 10 {
        fp.withdraw(VMAC).expect("withdraw");
    }
    println!(
        "withdraw: {:.1} µs per call",
        (start.elapsed() / (n / 10)).as_secs_f64() * 1e6
    );
    let err = fp
        .refresh(VMAC, Duration::ZERO)
        .expect_err("a zero timeout");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
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
    let mut other = FastPath::open(BRIDGE).expect("open");
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

/// Sends `frame` from the client's `vc-t` and prints (hex, one per line) every frame of
/// `ethertype` addressed back to the sender within 700 ms.
const PROBE: &str = r#"
import socket, sys, time
frame, ethertype = bytes.fromhex(sys.argv[1]), int(sys.argv[2], 16)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
s.bind(("vc-t", 0))
s.settimeout(0.05)
s.send(frame)
end = time.time() + 0.7
while time.time() < end:
    try:
        data = s.recv(2048)
    except socket.timeout:
        continue
    if data[0:6] == frame[6:12]:
        print(data.hex())
"#;

/// The frames that answered `frame`, sent from the client.
fn probe(ns: &Namespaces, frame: &[u8], ethertype: u16) -> Vec<Vec<u8>> {
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let out = ns.must(
        CLIENT,
        &["python3", "-c", PROBE, &hex, &format!("{ethertype:04x}")],
    );
    out.lines()
        .map(|line| {
            (0..line.len() / 2)
                .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

fn mac_of(ns: &Namespaces, i: usize, ifname: &str) -> [u8; 6] {
    let json = ns.must(i, &["ip", "-j", "link", "show", ifname]);
    let links: serde_json::Value = serde_json::from_str(&json).expect("ip -j");
    let text = links[0]["address"].as_str().expect("address");
    let mut mac = [0; 6];
    for (byte, hex) in mac.iter_mut().zip(text.split(':')) {
        *byte = u8::from_str_radix(hex, 16).expect("MAC");
    }
    mac
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Unicast ARP and neighbour discovery for the VIPs, sent to the virtual MACs, are answered by
/// the virtual router (here a namespace that owns the virtual MACs and the VIPs, standing in for
/// smoltcp behind the TAP), never by the node's kernel, even while the fast path is on.
#[test]
fn fastpath_leaves_arp_and_nd_to_the_virtual_router() {
    if !can_run_with(&["python3"]) {
        return;
    }
    let ns = Namespaces::new("nd", &["node", "client", "router"]);
    let bridge_mac = lan(&ns);
    let (n, r) = (ns.name(NODE), ns.name(2));
    let vmac6 = [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33];
    for args in [
        vec![
            "ip",
            "-n",
            n,
            "link",
            "add",
            "vt4-t",
            "type",
            "veth",
            "peer",
            "name",
            "vr4",
            "address",
            "00:00:5e:00:01:33",
            "netns",
            r,
        ],
        vec![
            "ip",
            "-n",
            n,
            "link",
            "add",
            "vt6-t",
            "type",
            "veth",
            "peer",
            "name",
            "vr6",
            "address",
            "00:00:5e:00:02:33",
            "netns",
            r,
        ],
        vec![
            "ip", "-n", n, "link", "set", "vt4-t", "master", BRIDGE, "up",
        ],
        vec![
            "ip", "-n", n, "link", "set", "vt6-t", "master", BRIDGE, "up",
        ],
        vec![
            "ip",
            "-n",
            n,
            "addr",
            "add",
            "2001:db8::1/64",
            "dev",
            BRIDGE,
            "nodad",
        ],
        vec![
            "ip",
            "-n",
            n,
            "addr",
            "add",
            "2001:db8::100/128",
            "dev",
            "lo",
            "nodad",
        ],
        vec!["ip", "-n", r, "link", "set", "vr4", "up"],
        vec!["ip", "-n", r, "link", "set", "vr6", "up"],
        vec!["ip", "-n", r, "addr", "add", "192.0.2.100/24", "dev", "vr4"],
        vec![
            "ip",
            "-n",
            r,
            "addr",
            "add",
            "2001:db8::100/64",
            "dev",
            "vr6",
            "nodad",
        ],
        vec![
            "ip",
            "-n",
            ns.name(CLIENT),
            "addr",
            "add",
            "2001:db8::2/64",
            "dev",
            "vc-t",
            "nodad",
        ],
    ] {
        must(&args);
    }
    let client_mac = mac_of(&ns, CLIENT, "vc-t");
    ns.enter(NODE);
    let mut fp = FastPath::install(BRIDGE, UPLINK, bridge_mac).expect("install");
    fp.refresh(VMAC, Duration::from_secs(30)).expect("refresh");
    fp.refresh(vmac6, Duration::from_secs(30)).expect("refresh");
    assert!(ping(&ns, VIP, "1"), "the fast path is not on");

    // who-has 192.0.2.100 tell 192.0.2.2, unicast to the virtual MAC (a NUD probe).
    let mut arp = Vec::new();
    arp.extend_from_slice(&VMAC);
    arp.extend_from_slice(&client_mac);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    arp.extend_from_slice(&client_mac);
    arp.extend_from_slice(&[192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 192, 0, 2, 100]);
    let replies = probe(&ns, &arp, 0x0806);
    let senders: Vec<&[u8]> = replies.iter().filter_map(|f| f.get(22..28)).collect();
    assert_eq!(senders, [&VMAC[..]], "ARP answered by {senders:02x?}");

    // A neighbour solicitation for 2001:db8::100, unicast to the virtual MAC.
    let src: [u8; 16] = "2001:db8::2"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets();
    let dst: [u8; 16] = "2001:db8::100"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets();
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&dst);
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&client_mac);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&icmp);
    icmp[2..4].copy_from_slice(&checksum(&pseudo).to_be_bytes());
    let mut ns_frame = Vec::new();
    ns_frame.extend_from_slice(&vmac6);
    ns_frame.extend_from_slice(&client_mac);
    ns_frame.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    ns_frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    ns_frame.extend_from_slice(&[58, 255]);
    ns_frame.extend_from_slice(&src);
    ns_frame.extend_from_slice(&dst);
    ns_frame.extend_from_slice(&icmp);
    let replies = probe(&ns, &ns_frame, 0x86dd);
    let advertisers: Vec<&[u8]> = replies
        .iter()
        .filter(|f| f.get(20) == Some(&58) && f.get(54) == Some(&136))
        .filter_map(|f| f.get(6..12))
        .collect();
    assert_eq!(
        advertisers,
        [&vmac6[..]],
        "NS answered by {advertisers:02x?}"
    );
    fp.remove().expect("remove");
}
