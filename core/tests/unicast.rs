//! Unicast peers through the smoltcp binding, IPv4 and IPv6: each peer is resolved and sent to
//! on its own, so a peer that never answers ARP or Neighbor Solicitations holds nobody else's
//! adverts, and a takeover does not forget the peers already known.

mod common;

use common::{Segment, VIP, VIP6, addr, addr6, firmware_segment};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv6Packet, IpAddress,
    IpProtocol, Ipv4Packet, Ipv6Packet, NdiscRepr,
};
use vrrp_core::net::{Event, NetAddress};
use vrrp_core::{Duration, Instant, Reason, State};

/// The destination and priority of a VRRP advert, either family.
fn advert(frame: &[u8]) -> Option<(IpAddress, u8)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (dst, body) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            (ip.next_header() == IpProtocol::Unknown(112))
                .then(|| (IpAddress::Ipv4(ip.dst_addr()), ip.payload().to_vec()))?
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            (ip.next_header() == IpProtocol::Unknown(112))
                .then(|| (IpAddress::Ipv6(ip.dst_addr()), ip.payload().to_vec()))?
        }
        _ => return None,
    };
    Some((dst, body[2]))
}

/// The address an ARP request or Neighbor Solicitation asks for.
fn solicited(frame: &[u8]) -> Option<IpAddress> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Arp => match ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?)
        {
            Ok(ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_protocol_addr,
                target_protocol_addr,
                ..
            }) if source_protocol_addr != target_protocol_addr => {
                Some(IpAddress::Ipv4(target_protocol_addr))
            }
            _ => None,
        },
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Icmpv6 {
                return None;
            }
            match NdiscRepr::parse(&Icmpv6Packet::new_checked(ip.payload()).ok()?) {
                Ok(NdiscRepr::NeighborSolicit { target_addr, .. }) => {
                    Some(IpAddress::Ipv6(target_addr))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn takeovers<A: NetAddress>(seg: &Segment<A>, node: usize) -> Vec<Instant> {
    seg.nodes[node]
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::StateChange {
                to: State::Active, ..
            } => Some(*t),
            _ => None,
        })
        .collect()
}

fn adverts_to<A: NetAddress>(seg: &Segment<A>, node: usize, dst: A) -> Vec<(Instant, u8)> {
    let dst: IpAddress = dst.into();
    seg.wire
        .iter()
        .filter(|s| s.node == node)
        .filter_map(|s| {
            advert(&s.frame)
                .filter(|(d, _)| *d == dst)
                .map(|(_, p)| (s.at, p))
        })
        .collect()
}

/// The first peer in everyone's list (.11) never exists. The Active's adverts to r3 leave at
/// its takeover and every 100 ms after it, while it asks for .11 when it starts, when it takes
/// over, then every three intervals (300 ms): r3 stays Backup throughout. With one FIFO raw socket and smoltcp's neighbour cache, the advert to r3
/// waited behind the unanswered ARP for .11 and r3 took over too (20 ms after r2).
fn a_peer_that_never_answers_holds_nobody<A: NetAddress>(addr: fn(u8) -> A, vip: A, prefix: u8) {
    let mut seg = firmware_segment(addr, vip, prefix, &[(12, 100), (13, 50)], &[11, 12, 13]);
    seg.start_all();
    seg.run_until(Instant::from_secs(5));

    // Both start at 0: r2 after 3 x 100 ms + (256-100)/256 x 100 ms.
    let takeover = Instant::from_micros(360_937);
    assert_eq!(takeovers(&seg, 0), [takeover]);
    assert_eq!(takeovers(&seg, 1), [], "r3 heard r2 all along");
    assert_eq!(seg.state(1), State::Backup);
    let to_r3 = adverts_to(&seg, 0, addr(13));
    let expected: Vec<_> = (0..47)
        .map(|k| (takeover + Duration::from_millis(100 * k), 100))
        .collect();
    assert_eq!(
        to_r3, expected,
        "one advert per interval to r3, from the takeover on"
    );
    assert_eq!(
        adverts_to(&seg, 0, addr(11)),
        [],
        "nothing to a peer never resolved"
    );
    // Not one request per advert.
    let asked: Vec<Instant> = seg
        .wire
        .iter()
        .filter(|s| s.node == 0 && solicited(&s.frame) == Some(addr(11).into()))
        .map(|s| s.at)
        .collect();
    let expected: Vec<_> = std::iter::once(Instant::from_secs(0))
        .chain((0..16).map(|k| takeover + Duration::from_millis(300 * k)))
        .collect();
    assert_eq!(asked, expected);
}

#[test]
fn ipv4_a_peer_that_never_answers_arp_holds_nobody() {
    a_peer_that_never_answers_holds_nobody(addr, VIP, 24);
}

#[test]
fn ipv6_a_peer_that_never_answers_ns_holds_nobody() {
    a_peer_that_never_answers_holds_nobody(addr6, VIP6, 64);
}

/// The Active r1 dies. r2 claims the VIP and sends to r3 at once, from what it learned before:
/// claiming the VIPs does not forget the peers (smoltcp flushes its own neighbour cache then).
fn a_takeover_keeps_the_peers_it_knows<A: NetAddress>(addr: fn(u8) -> A, vip: A, prefix: u8) {
    let mut seg = firmware_segment(
        addr,
        vip,
        prefix,
        &[(11, 150), (12, 100), (13, 50)],
        &[11, 12, 13],
    );
    seg.start_all();
    seg.run_until(Instant::from_secs(2));
    assert_eq!(seg.state(0), State::Active);
    let last = seg.wire.iter().rfind(|s| s.node == 0).unwrap().at;
    seg.nodes[0].up = false;
    seg.run_until(Instant::from_secs(4));

    let takeover = last + Duration::from_micros(360_937);
    assert_eq!(takeovers(&seg, 1), [takeover]);
    assert!(seg.nodes[1].events.iter().any(|(t, e)| *t == takeover
        && matches!(
            e,
            Event::StateChange {
                reason: Reason::ActiveDown,
                ..
            }
        )));
    assert_eq!(
        adverts_to(&seg, 1, addr(13)).first(),
        Some(&(takeover, 100))
    );
    assert_eq!(
        adverts_to(&seg, 1, addr(11)).first(),
        Some(&(takeover, 100))
    );
    let asked = seg
        .wire
        .iter()
        .filter(|s| s.node == 1 && s.at >= takeover && solicited(&s.frame).is_some())
        .count();
    assert_eq!(asked, 0, "both peers were known before the takeover");
    assert_eq!(takeovers(&seg, 2), []);
}

#[test]
fn ipv4_a_takeover_keeps_the_peers_it_knows() {
    a_takeover_keeps_the_peers_it_knows(addr, VIP, 24);
}

#[test]
fn ipv6_a_takeover_keeps_the_peers_it_knows() {
    a_takeover_keeps_the_peers_it_knows(addr6, VIP6, 64);
}
