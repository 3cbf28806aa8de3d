//! A takeover that races an old Active still announcing the VIP at its own MAC (keepalived
//! without `use_vmac`, whose frozen side sent four gratuitous ARPs 0.8 to 4.8 ms after the new
//! Active's one): a client on the segment must be back on the virtual MAC within the first
//! repeat of the announcement schedule, 10 ms, where a single repeat 2 s later (the schedule
//! before this one) left it on the old MAC for 2 s. The same race over IPv6, with unsolicited
//! Neighbor Advertisements carrying the Override flag.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bumpalo::Bump;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr,
    IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};
use vrrp_core::net::{gratuitous_arp, unsolicited_na};
use vrrp_sim::neighbor::NeighborCache;
use vrrp_sim::scenario::Scenario;
use vrrp_sim::world::{FrameKind, Kind, Options, Sim};

/// The old Active's own MAC (r1's port), which its kernel or a keepalived announces from.
const RIVAL_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
/// When the rival's announcements leave, after the new Active's takeover, in microseconds.
const RIVAL_AT: [u64; 4] = [800, 2_100, 3_500, 4_800];
/// r1 advertises from 3.414062 s every second; paused at 5 s, its last advert left at
/// 4.414062, and r2 (priority 100) takes over 3.609375 s later.
const TAKEOVER: u64 = 4_414_062 + 3_609_375;

struct Race {
    /// The client's entry for the VIP after the takeover: (microseconds after it, MAC).
    changes: Vec<(u64, [u8; 6])>,
    /// r2's announcement frames in the 5 s after the takeover.
    announced: usize,
    vmac: [u8; 6],
}

fn race(v6: bool, garp: &str) -> Race {
    let (routers, vip, vmac) = if v6 {
        (
            "router r1 fe80::11\nrouter r2 fe80::12\nvrid 10 vip fe80::1,2001:db8::1",
            IpAddr::V6("2001:db8::1".parse().unwrap()),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 10],
        )
    } else {
        (
            "router r1 192.0.2.11\nrouter r2 192.0.2.12\nvrid 10 vip 192.0.2.1",
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            [0x00, 0x00, 0x5e, 0x00, 0x01, 10],
        )
    };
    let text = format!(
        "name race\nduration 14s\n{routers} interval 1s {garp}\n\
         vrrp r1 10 priority 150\nvrrp r2 10 priority 100\nat 5s pause r1\n\
         expect r2 takeover at 8.023437s\n"
    );
    let s = Scenario::parse(&text).unwrap();
    let arena = Bump::new();
    let mut sim = Sim::new(&arena, s.nodes.clone(), s.seed, Options::default());
    for (at, a) in &s.actions {
        sim.schedule(*at, a.clone());
    }
    sim.listen(NeighborCache::new([vip]));
    sim.run_until(TAKEOVER);
    let client = sim.client().unwrap();
    assert_eq!(client.at(vip, TAKEOVER), Some(vmac), "on the VIP before");
    for d in RIVAL_AT {
        let mut frame = vec![0; if v6 { 14 + 40 + 32 } else { 14 + 28 }];
        let mac = EthernetAddress(RIVAL_MAC);
        match vip {
            IpAddr::V4(v) => gratuitous_arp(&mut frame, mac, v),
            IpAddr::V6(v) => unsolicited_na(&mut frame, mac, v),
        }
        sim.send_at(TAKEOVER + d, frame);
    }
    sim.run_until(s.duration);
    let takeover = sim.log.iter().find(|e| {
        e.node == 1
            && matches!(
                e.kind,
                Kind::State {
                    to: vrrp_core::State::Active,
                    ..
                }
            )
    });
    assert_eq!(takeover.map(|e| e.at), Some(TAKEOVER));
    let announcement = if v6 {
        FrameKind::Na { unsolicited: true }
    } else {
        FrameKind::Arp
    };
    let vips = if v6 { 2 } else { 1 };
    let announced = sim
        .log
        .iter()
        .filter(|e| {
            e.node == 1
                && e.at >= TAKEOVER
                && e.at < TAKEOVER + 5_000_000
                && matches!(e.kind, Kind::Sent { frame, .. } if frame == announcement)
        })
        .count()
        / vips;
    let changes = sim
        .client()
        .unwrap()
        .changes(vip)
        .filter(|(t, _)| *t > TAKEOVER)
        .map(|(t, mac)| (t - TAKEOVER, mac))
        .collect();
    Race {
        changes,
        announced,
        vmac,
    }
}

#[test]
fn the_first_repeat_wins_the_race_within_10_ms() {
    for v6 in [false, true] {
        let r = race(v6, "");
        assert_eq!(
            r.changes,
            [(800, RIVAL_MAC), (10_000, r.vmac)],
            "v6 {v6}: the client leaves the VIP at the rival's first frame, comes back at 10 ms \
             and stays"
        );
        assert_eq!(
            r.announced, 6,
            "v6 {v6}: 0, 10, 30, 100, 300, 1000 ms: no storm"
        );
    }
}

/// The schedule before this one (one repeat, 2 s later) loses the same race for 2 s: the test
/// tells the two apart.
#[test]
fn one_late_repeat_loses_the_race_for_two_seconds() {
    for v6 in [false, true] {
        let r = race(v6, "garp 1,1,2s");
        assert_eq!(
            r.changes,
            [(800, RIVAL_MAC), (2_000_000, r.vmac)],
            "v6 {v6}"
        );
        assert_eq!(r.announced, 2);
    }
}

#[test]
fn a_listening_client_follows_claims_only() {
    let vip6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let vip = IpAddr::V6(vip6);
    let other_mac = [2, 0, 0, 0, 0, 0x99];
    let mut cache = NeighborCache::new([vip]);
    cache.observe(5, &na(vip6, RIVAL_MAC, NdiscNeighborFlags::OVERRIDE));
    assert_eq!(cache.at(vip, 4), None);
    assert_eq!(cache.at(vip, 5), Some(RIVAL_MAC));
    // The Override flag clear: RFC 4861 §7.2.5 keeps the entry.
    cache.observe(6, &na(vip6, other_mac, NdiscNeighborFlags::SOLICITED));
    assert_eq!(cache.at(vip, 6), Some(RIVAL_MAC));
    cache.observe(7, &na(vip6, other_mac, NdiscNeighborFlags::OVERRIDE));
    assert_eq!(cache.at(vip, 7), Some(other_mac));
    // An address nobody watches is not kept.
    let mut arp = vec![0; 42];
    gratuitous_arp(
        &mut arp,
        EthernetAddress(RIVAL_MAC),
        Ipv4Addr::new(192, 0, 2, 9),
    );
    cache.observe(8, &arp);
    assert_eq!(cache.changes(vip).count(), 2);
}

/// A Neighbor Advertisement for `target` at `mac` with `flags`, to all-nodes.
fn na(target: Ipv6Addr, mac: [u8; 6], flags: NdiscNeighborFlags) -> Vec<u8> {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(EthernetAddress(mac))),
    });
    let ip = Ipv6Repr {
        src_addr: target,
        dst_addr: all_nodes,
        next_header: IpProtocol::Icmpv6,
        payload_len: repr.buffer_len(),
        hop_limit: 255,
    };
    let mut frame = vec![0; 14 + 40 + repr.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(mac),
        dst_addr: EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut eth);
    let mut packet = Ipv6Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet);
    repr.emit(
        &target,
        &all_nodes,
        &mut Icmpv6Packet::new_unchecked(packet.payload_mut()),
        &ChecksumCapabilities::default(),
    );
    frame
}
