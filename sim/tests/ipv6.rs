//! IPv6 virtual routers in the simulator: the frames on the wire are RFC 9568's (virtual MAC
//! 00:00:5e:00:02:VRID, link-local source, ff02::12, hop limit 255, unsolicited NAs to
//! ff02::1), the timeline and the expectations see them as they see IPv4's, the pcap is
//! deterministic, and replay seats IPv6 routers.

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr,
    NdiscNeighborFlags, NdiscRepr,
};
use vrrp_sim::scenario::Scenario;
use vrrp_sim::world::{FrameKind, Kind, Vrid, node_mac};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn load(name: &str) -> Scenario {
    Scenario::parse(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

fn ll(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last)
}

const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x02, 10];

/// Every IPv6 advert and NA of the seed demo's capture, decoded with smoltcp and checked.
#[test]
fn the_capture_holds_rfc9568_ipv6_frames() {
    let s = load("ipv6-seed-demo.vrrp");
    let out = vrrp_sim::run::run(&s, s.seed, true);
    let frames = vrrp_sim::pcap::read_trace(&out.pcap).unwrap();
    assert_eq!(frames.len() as u64, out.frames);
    let (mut adverts, mut nas) = (Vec::new(), Vec::new());
    for f in &frames {
        let eth = EthernetFrame::new_checked(&f.data[..]).unwrap();
        assert_eq!(eth.ethertype(), EthernetProtocol::Ipv6, "IPv6 only");
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        let ip_repr = Ipv6Repr::parse(&ip).unwrap();
        let src = eth.src_addr().0;
        // Adverts and NAs leave from the one virtual MAC of vrid 10 over IPv6, the rest (MLD
        // reports) from each node's own MAC.
        let vmac = matches!(
            (ip_repr.next_header, ip.payload().first()),
            (IpProtocol::Unknown(112), _) | (IpProtocol::Icmpv6, Some(136))
        );
        if vmac {
            assert_eq!(src, VMAC);
        } else {
            assert!(src == node_mac(0) || src == node_mac(1), "{src:02x?}");
        }
        match ip_repr.next_header {
            IpProtocol::Unknown(112) => {
                assert_eq!(eth.dst_addr().0, [0x33, 0x33, 0, 0, 0, 0x12]);
                assert_eq!(
                    ip_repr.dst_addr,
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)
                );
                assert_eq!(ip_repr.hop_limit, 255);
                assert!(ip_repr.src_addr == ll(0x11) || ip_repr.src_addr == ll(0x12));
                let p = ip.payload();
                assert_eq!((p[0], p[1]), (0x31, 10), "VRRPv3, vrid 10");
                adverts.push((f.at, ip_repr.src_addr, p[2]));
            }
            IpProtocol::Icmpv6 => {
                let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
                let repr = Icmpv6Repr::parse(
                    &ip_repr.src_addr,
                    &ip_repr.dst_addr,
                    &icmp,
                    &smoltcp::phy::ChecksumCapabilities::default(),
                )
                .expect("ICMPv6 checksum verifies");
                if let Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags, target_addr, ..
                }) = repr
                {
                    assert_eq!(ip_repr.dst_addr, Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
                    assert_eq!(ip_repr.hop_limit, 255);
                    assert!(
                        flags.contains(NdiscNeighborFlags::ROUTER | NdiscNeighborFlags::OVERRIDE)
                    );
                    assert!(!flags.contains(NdiscNeighborFlags::SOLICITED));
                    nas.push((f.at, target_addr));
                }
            }
            _ => {}
        }
    }
    // One advert per second from each Active, the first from r1 at 3.414062.
    assert_eq!(adverts[0].1, ll(0x11));
    assert_eq!(adverts[0].2, 150);
    // An announcement per VIP at each takeover and 10, 30, 100, 300 and 1000 ms after it (the
    // default schedule, as for IPv4's gratuitous ARP): r1 from 3.414062, r2 from 13.023437; r1
    // never lost Active, and at its thaw (16 s) it announces once more, having heard r2's
    // lower-priority adverts: r2 acted as Active and drew the VIPs to its port.
    let lla: Ipv6Addr = "fe80::1".parse().unwrap();
    let gua: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let schedule = |from: u64| [0, 10_000, 30_000, 100_000, 300_000, 1_000_000].map(|d| from + d);
    let want: Vec<u64> = schedule(3_414_062)
        .into_iter()
        .chain(schedule(13_023_437))
        .chain([16_000_000])
        .collect();
    let got: Vec<u64> = nas.chunks(2).map(|pair| pair[0].0).collect();
    assert_eq!(got, want, "{nas:?}");
    for pair in nas.chunks(2) {
        assert_eq!(pair[0].0, pair[1].0);
        assert_eq!([pair[0].1, pair[1].1], [lla, gua]);
    }
    // The timeline shows them as it shows gratuitous ARPs, and counts them the same way.
    let na_entries = out
        .log
        .iter()
        .filter(|e| {
            e.kind
                == Kind::Sent {
                    vrid: Vrid::v6(10),
                    frame: FrameKind::Na { unsolicited: true },
                }
        })
        .count();
    assert_eq!(na_entries, 26);
    // The advert first, then the announcements (RFC 9568 §6.4.1), then smoltcp's report for
    // the VIPs' solicited-node groups, all in the takeover's instant.
    let lines = vrrp_sim::timeline::render(&out.log, &out.names, false);
    for line in [
        "   3.414062 r1/10v6 Backup -> Active (active_down) | sent advert p150, na x2, mld",
        "  13.023437 r2/10v6 Backup -> Active (active_down) | sent advert p100, na x2, mld",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "missing `{line}` in {lines:#?}"
        );
    }
}

/// The IPv4 and the IPv6 seed demo tell the same story at the same microseconds.
#[test]
fn ipv6_demo_times_are_the_ipv4_demo_times() {
    let changes = |name: &str| {
        let s = load(name);
        let out = vrrp_sim::run::run(&s, s.seed, false);
        assert!(out.passed(), "{name}: {:?}", out.checks);
        out.log
            .iter()
            .filter_map(|e| match e.kind {
                Kind::State { from, to, .. } => Some((e.at, e.node, from, to)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let v4 = changes("seed-demo.vrrp");
    assert!(v4.len() >= 5);
    assert_eq!(v4, changes("ipv6-seed-demo.vrrp"));
}

const FAULTY_V6: &str = "
    duration 20s
    router r1 192.0.2.11 fe80::11 drift +37ppm
    router r2 192.0.2.12 fe80::12 drift -81ppm
    router r3 fe80::13
    vrid 10 vip fe80::1,2001:db8::1 interval 50ms
    vrid 20 vip 192.0.2.2 interval 1s
    vrrp r1 10 priority 200
    vrrp r2 10 priority 150
    vrrp r3 10 priority 100
    vrrp r1 20 priority 100
    vrrp r2 20 priority 200
    at 1s loss all 25%
    at 2s delay all 5ms jitter 10ms
    at 3s duplicate r2 30%
    at 4s reorder all 20% window 20ms
    at 5s pause r1
    at 9s resume r1
    at 10s kill r2
    at 13s restart r2
    at 14s heal
    expect single-active after 19s
";

#[test]
fn same_seed_identical_ipv6_pcap_bytes() {
    let pcap = |seed| {
        let s = Scenario::parse(FAULTY_V6).unwrap();
        let out = vrrp_sim::run::run(&s, seed, true);
        assert!(out.passed(), "{:?}", out.checks);
        out.pcap
    };
    let a = pcap(42);
    assert!(a.len() > 10_000, "{} bytes", a.len());
    assert!(a == pcap(42), "two runs of seed 42 differ");
    assert!(pcap(43) != a);
}

/// Same VRID, two families: separate routers, each seen on its own by the expectations.
#[test]
fn same_vrid_two_families_are_separate_routers() {
    let s = load("ipv6-dual-stack.vrrp");
    let out = vrrp_sim::run::run(&s, s.seed, false);
    assert!(out.passed(), "{:?}", out.checks);
    let takeovers = |vrid: Vrid| {
        out.log
            .iter()
            .filter_map(|e| match e.kind {
                Kind::State {
                    vrid: v,
                    to: vrrp_core::State::Active,
                    ..
                } if v == vrid => Some((e.at, out.names[e.node].as_str())),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        takeovers(Vrid::v4(10)),
        // r1 stays Active through its pause: it preempts back at 16 s without a transition.
        [(3_414_062, "r1"), (13_023_437, "r2")]
    );
    assert_eq!(
        takeovers(Vrid::v6(10)),
        [(3_218_750, "r2"), (22_828_125, "r1")]
    );
    // Adverts of each family go to its own group.
    for e in &out.log {
        if let Kind::Sent {
            vrid,
            frame: FrameKind::Advert { to, .. },
        } = e.kind
        {
            assert_eq!(matches!(to, IpAddr::V6(_)), vrid.v6, "{e:?}");
        }
    }
}

/// Replay seats an IPv4 or an IPv6 router: an IPv6-only capture of our own replays in either
/// IPv6 seat to the microsecond, an IPv4 seat on it is refused with a clear error (exit 2, no
/// panic), and a dual-stack one replays its IPv4 router and ignores the IPv6 frames.
#[test]
fn replay_seats_ipv6_routers_and_refuses_a_seat_of_the_other_family() {
    let write = |name: &str| {
        let s = load(name);
        let out = vrrp_sim::run::run(&s, s.seed, true);
        let path =
            std::env::temp_dir().join(format!("vrrp-sim-{}-{name}.pcap", std::process::id()));
        std::fs::write(&path, &out.pcap).unwrap();
        path
    };
    let replay = |path: &PathBuf, seat: &str| {
        Command::new(env!("CARGO_BIN_EXE_vrrp-sim"))
            .arg("replay")
            .arg(path)
            .args(["--seat", seat, "--json"])
            .output()
            .unwrap()
    };
    let v6 = write("ipv6-seed-demo.vrrp");
    let out = replay(&v6, "192.0.2.11");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none over IPv4"), "{err}");

    // r2 takes over 3.609375 s after r1's last advert before the pause and steps down at r1's
    // first advert after it, in the trace and in our seat alike.
    let out = replay(&v6, "fe80::12");
    let _ = std::fs::remove_file(&v6);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{v}");
    assert_eq!(v["verdict"], "match");
    let t = v["transitions"].as_array().unwrap();
    assert_eq!(t.len(), 2, "{v}");
    assert_eq!(t[0]["state"], "Active");
    assert_eq!(t[0]["real"], 13.023437);
    assert_eq!(t[0]["ours"], 13.023437);
    assert_eq!(t[0]["rfc"]["real_ms"], 0.0);
    assert_eq!(t[1]["state"], "Backup");
    assert_eq!(t[1]["real"], 16.0);
    assert_eq!(t[1]["ours"], 16.0);

    let dual = write("ipv6-dual-stack.vrrp");
    let out = replay(&dual, "192.0.2.12");
    let _ = std::fs::remove_file(&dual);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{v}");
    assert_eq!(v["verdict"], "match");
}
