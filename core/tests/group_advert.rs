//! `net::is_group_advert`, the rule by which a driver sends the multicast adverts another way
//! out than the rest of what the binding writes (vrrpd: a packet socket on the uplink, past its
//! TAP). It is checked against the frames the binding itself writes, IPv4 and IPv6: every
//! multicast advert is one, and nothing else is (announcements, unicast adverts, the peers'
//! solicitations, IGMP / MLD).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::firmware_segment;
use smoltcp::wire::{EthernetFrame, EthernetProtocol};
use vrrp_core::net::{NetAddress, is_group_advert};
use vrrp_core::{Instant, State};

fn v4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

fn v6(last: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(last))
}

/// Offset of the protocol / next header byte and end of the destination address in an IP frame.
fn layout(frame: &[u8]) -> Option<(usize, usize)> {
    match EthernetFrame::new_checked(frame).ok()?.ethertype() {
        EthernetProtocol::Ipv4 => Some((14 + 9, 14 + 20)),
        EthernetProtocol::Ipv6 => Some((14 + 6, 14 + 40)),
        _ => None,
    }
}

fn is_vrrp(frame: &[u8]) -> bool {
    layout(frame).is_some_and(|(proto, _)| frame[proto] == 112)
}

/// Every frame router 11 sends while it becomes Active and holds the VIP for two seconds: on
/// its own with multicast adverts, or with router 12 (lower priority) as its unicast peer.
fn sent<A: NetAddress>(addr: fn(u8) -> A, vip: A, prefix: u8, unicast: bool) -> Vec<Vec<u8>> {
    let mut seg = if unicast {
        firmware_segment(addr, vip, prefix, &[(11, 100), (12, 50)], &[11, 12])
    } else {
        firmware_segment(addr, vip, prefix, &[(11, 100)], &[])
    };
    seg.start_all();
    seg.run_until(Instant::from_secs(2));
    assert_eq!(seg.state(0), State::Active);
    seg.wire
        .into_iter()
        .filter(|s| s.node == 0)
        .map(|s| s.frame)
        .collect()
}

fn only_the_multicast_adverts_are_group_adverts<A: NetAddress>(addr: fn(u8) -> A, vip: A, p: u8) {
    let multicast = sent(addr, vip, p, false);
    let adverts = multicast.iter().filter(|f| is_vrrp(f)).count();
    assert!(adverts > 10, "{adverts} adverts sent");
    assert!(
        multicast.len() > adverts,
        "the announcements are in the sample"
    );
    for f in &multicast {
        assert_eq!(is_group_advert(f), is_vrrp(f), "{f:02x?}");
    }
    // Adverts to a peer (resolved or not) and the solicitations for it stay with the device.
    let unicast = sent(addr, vip, p, true);
    assert!(unicast.iter().any(|f| is_vrrp(f)), "no unicast advert sent");
    assert!(unicast.iter().all(|f| !is_group_advert(f)));

    let advert = multicast.iter().find(|f| is_vrrp(f)).unwrap();
    let (proto, dst_end) = layout(advert).unwrap();
    // The group's addressing with another protocol (IGMP / hop-by-hop MLD), another group
    // address, another MAC, or too short to hold the IP header.
    let mut other = advert.clone();
    other[proto] = 2;
    assert!(!is_group_advert(&other));
    let mut other = advert.clone();
    other[dst_end - 1] ^= 1;
    assert!(!is_group_advert(&other));
    let mut other = advert.clone();
    other[5] ^= 1;
    assert!(!is_group_advert(&other));
    assert!(!is_group_advert(&advert[..dst_end - 1]));
}

#[test]
fn ipv4_only_the_multicast_adverts_are_group_adverts() {
    only_the_multicast_adverts_are_group_adverts(v4, v4(1), 24);
}

#[test]
fn ipv6_only_the_multicast_adverts_are_group_adverts() {
    only_the_multicast_adverts_are_group_adverts(v6, v6(1), 64);
}
