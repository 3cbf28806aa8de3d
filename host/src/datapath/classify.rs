//! What happens to one frame read from the TAP, decided before smoltcp sees it.
//!
//! smoltcp on the TAP gets what the protocol needs: ARP, Neighbor Discovery, VRRP (IP protocol
//! 112), multicast and broadcast. Unicast IP to a VIP at the virtual MAC it belongs to is relayed
//! into the kernel (see [`super::relay`]) while its router is Active; any other unicast is
//! dropped, as RFC 9568 §6.4.2 requires of a Backup. Headers are read with `smoltcp::wire`'s
//! checked views, so a malformed frame is dropped, never a panic.

use std::net::IpAddr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Address,
    Ipv6Packet,
};

/// What the daemon decides for one received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Leave it for the smoltcp interface (ARP, VRRP, multicast).
    Stack,
    /// Write the (already rewritten) frame back into the TAP: traffic for a VIP bound for the kernel.
    Relay,
    /// Discard it.
    Drop,
    /// Discard it and count it as stale: VIP traffic that waited in the TAP through a freeze
    /// longer than Active_Down_Interval, whose clients have moved to the new Active since.
    Stale,
}

/// Router Solicitation ..= Redirect: Neighbor Discovery (RFC 4861 §4).
const NDISC_TYPES: std::ops::RangeInclusive<u8> = 133..=137;
/// Decides what happens to one untagged Ethernet frame. `serves(dst_mac, dst_ip)` says whether
/// unicast to `dst_ip` arriving at `dst_mac` is VIP traffic to relay.
pub fn classify(frame: &[u8], mut serves: impl FnMut([u8; 6], IpAddr) -> bool) -> Verdict {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Verdict::Drop;
    };
    let dst_mac = eth.dst_addr();
    let mut to_stack = |unicast_ip: Option<IpAddr>| match unicast_ip {
        None => Verdict::Stack,
        Some(_) if dst_mac.is_multicast() => Verdict::Stack,
        Some(ip) if serves(dst_mac.0, ip) => Verdict::Relay,
        Some(_) => Verdict::Drop,
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => Verdict::Stack,
        EthernetProtocol::Ipv4 => {
            let Some(ip) = Ipv4Packet::new_checked(eth.payload())
                .ok()
                .filter(|p| p.version() == 4)
            else {
                return Verdict::Drop;
            };
            let dst = ip.dst_addr();
            let for_stack = u8::from(ip.next_header()) == vrrp_core::wire::IP_PROTOCOL
                || dst.is_multicast()
                || dst.is_broadcast();
            to_stack((!for_stack).then_some(dst.into()))
        }
        EthernetProtocol::Ipv6 => {
            let Some(ip) = Ipv6Packet::new_checked(eth.payload())
                .ok()
                .filter(|p| p.version() == 6)
            else {
                return Verdict::Drop;
            };
            let dst = ip.dst_addr();
            let ndisc = ip.next_header() == IpProtocol::Icmpv6
                && ip
                    .payload()
                    .first()
                    .is_some_and(|t| NDISC_TYPES.contains(t));
            let for_stack = u8::from(ip.next_header()) == vrrp_core::wire::IP_PROTOCOL
                || ndisc
                || dst.is_multicast()
                || dst.is_unicast_link_local();
            to_stack((!for_stack).then_some(dst.into()))
        }
        // VLAN tags, LLDP, STP and the like are not ours.
        _ => Verdict::Drop,
    }
}

/// Which virtual routers a frame for the stack concerns, so that each frame costs one router's
/// work rather than every router's: with N routers on a link, N adverts per interval handed to N
/// interfaces each would grow with N squared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A VRRP advert for this VRID (of the IPv6 or IPv4 family): its router alone.
    Advert { v6: bool, vrid: u8 },
    /// An ARP request or a Neighbor Solicitation for this address: the router that has it as a
    /// VIP, and only while Active does that router answer.
    Owner(IpAddr),
    /// A VRRP packet too short to name a VRID: no router's.
    Short,
    /// Anything else the stack takes (membership queries, other ND, ARP replies): every router.
    All,
}

/// Neighbor Solicitation (RFC 4861 §4.3).
const NDISC_NS: u8 = 135;

/// The routers a frame already judged [`Verdict::Stack`] is for.
pub fn target(frame: &[u8]) -> Target {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Target::All;
    };
    let vrrp = vrrp_core::wire::IP_PROTOCOL;
    match eth.ethertype() {
        EthernetProtocol::Arp => match ArpPacket::new_checked(eth.payload()) {
            Ok(arp) if arp.operation() == ArpOperation::Request => {
                match <[u8; 4]>::try_from(arp.target_protocol_addr()) {
                    Ok(ip) => Target::Owner(IpAddr::from(ip)),
                    Err(_) => Target::All,
                }
            }
            _ => Target::All,
        },
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
            // The VRID is the second octet of the advert in both versions (RFC 9568 §5.1).
            Ok(ip) if u8::from(ip.next_header()) == vrrp => match ip.payload().get(1) {
                Some(&vrid) => Target::Advert { v6: false, vrid },
                None => Target::Short,
            },
            _ => Target::All,
        },
        EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(eth.payload()) {
            Ok(ip) if u8::from(ip.next_header()) == vrrp => match ip.payload().get(1) {
                Some(&vrid) => Target::Advert { v6: true, vrid },
                None => Target::Short,
            },
            Ok(ip) if ip.next_header() == IpProtocol::Icmpv6 => {
                let icmp = ip.payload();
                match (icmp.first(), icmp.get(8..24)) {
                    (Some(&NDISC_NS), Some(t)) => match <[u8; 16]>::try_from(t) {
                        Ok(t) => Target::Owner(IpAddr::V6(Ipv6Address::from(t))),
                        Err(_) => Target::All,
                    },
                    _ => Target::All,
                }
            }
            _ => Target::All,
        },
        _ => Target::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn eth(ethertype: [u8; 2], dst: [u8; 6], payload: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x50]);
        f.extend_from_slice(&ethertype);
        f.extend_from_slice(payload);
        f
    }

    fn ipv4(proto: u8, dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let len = (20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 255, proto, 0, 0, 192, 0, 2, 50];
        ip[2..4].copy_from_slice(&len.to_be_bytes());
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(payload);
        eth([0x08, 0x00], [0x01, 0x00, 0x5e, 0, 0, 0x12], &ip)
    }

    fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        ip.extend_from_slice(&[nh, 255]);
        ip.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x50).octets());
        ip.extend_from_slice(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12).octets());
        ip.extend_from_slice(payload);
        eth([0x86, 0xdd], [0x33, 0x33, 0, 0, 0, 0x12], &ip)
    }

    #[test]
    fn adverts_go_to_the_router_of_their_vrid_and_family() {
        let advert = [0x31, 51, 100, 1, 0, 100, 0, 0, 198, 51, 100, 100];
        let f = ipv4(112, [224, 0, 0, 18], &advert);
        assert_eq!(classify(&f, |_, _| false), Verdict::Stack);
        assert_eq!(
            target(&f),
            Target::Advert {
                v6: false,
                vrid: 51
            }
        );
        let f = ipv6(112, &advert);
        assert_eq!(target(&f), Target::Advert { v6: true, vrid: 51 });
        // Too short to name a VRID: every router sees it, and each counts it as malformed.
        assert_eq!(target(&ipv4(112, [224, 0, 0, 18], &[0x31])), Target::Short);
    }

    #[test]
    fn arp_requests_and_solicitations_go_to_the_owner_of_the_address() {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0x50, 192, 0, 2, 50];
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&[198, 51, 100, 100]);
        let f = eth([0x08, 0x06], [0xff; 6], &arp);
        assert_eq!(
            target(&f),
            Target::Owner(Ipv4Addr::new(198, 51, 100, 100).into())
        );
        // A reply is for whoever asked.
        let mut reply = arp.clone();
        reply[7] = 2;
        assert_eq!(target(&eth([0x08, 0x06], [0xff; 6], &reply)), Target::All);

        let vip6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&vip6.octets());
        assert_eq!(target(&ipv6(58, &ns)), Target::Owner(vip6.into()));
        // A Router Advertisement is everybody's.
        let mut ra = ns.clone();
        ra[0] = 134;
        assert_eq!(target(&ipv6(58, &ra)), Target::All);
    }

    #[test]
    fn anything_malformed_or_else_goes_to_every_router() {
        let f = ipv4(2, [224, 0, 0, 1], &[0x11, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(target(&f), Target::All);
        for len in 0..f.len() {
            assert_eq!(target(&f[..len]), Target::All, "len {len}");
        }
    }
}
