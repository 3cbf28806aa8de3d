//! What happens to one frame read from the TAP, decided before smoltcp sees it.
//!
//! smoltcp on the TAP gets what the protocol needs: ARP, Neighbor Discovery, VRRP (IP protocol
//! 112), multicast and broadcast. Unicast IP to a VIP at the virtual MAC it belongs to is relayed
//! into the kernel (see [`super::relay`]) while its router is Active; any other unicast is
//! dropped, as RFC 9568 §6.4.2 requires of a Backup. Headers are read with `smoltcp::wire`'s
//! checked views, so a malformed frame is dropped, never a panic.

use std::net::IpAddr;

use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6ExtHeader,
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
}

/// Router Solicitation ..= Redirect: Neighbor Discovery (RFC 4861 §4).
const NDISC_TYPES: std::ops::RangeInclusive<u8> = 133..=137;
/// MLDv1 report, MLDv2 report (RFC 2710, RFC 3810).
const MLD_REPORTS: [u8; 2] = [131, 143];

/// Decides what happens to one untagged Ethernet frame. `serves(dst_mac, dst_ip)` says whether
/// unicast to `dst_ip` arriving at `dst_mac` is VIP traffic to relay.
pub fn classify(frame: &[u8], serves: impl Fn([u8; 6], IpAddr) -> bool) -> Verdict {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Verdict::Drop;
    };
    let dst_mac = eth.dst_addr();
    let to_stack = |unicast_ip: Option<IpAddr>| match unicast_ip {
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

/// Whether `frame` is a multicast membership report: IGMP, or an MLD report (after at most a
/// Hop-by-Hop header). Short or malformed frames are not.
pub fn is_membership_report(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => Ipv4Packet::new_checked(eth.payload())
            .is_ok_and(|ip| ip.version() == 4 && ip.next_header() == IpProtocol::Igmp),
        EthernetProtocol::Ipv6 => {
            let Some(ip) = Ipv6Packet::new_checked(eth.payload())
                .ok()
                .filter(|p| p.version() == 6)
            else {
                return false;
            };
            let (mut next, mut payload) = (ip.next_header(), ip.payload());
            if next == IpProtocol::HopByHop {
                let Ok(hbh) = Ipv6ExtHeader::new_checked(payload) else {
                    return false;
                };
                next = hbh.next_header();
                // The extension's length counts 8-octet units after the first 8.
                let skip = (usize::from(hbh.header_len()) + 1) * 8;
                payload = payload.get(skip..).unwrap_or_default();
            }
            next == IpProtocol::Icmpv6 && payload.first().is_some_and(|t| MLD_REPORTS.contains(t))
        }
        _ => false,
    }
}

/// Gives a membership report the source MAC `mac`; leaves every other frame alone. smoltcp sends
/// reports from its interface's MAC whatever the router's state, and a Backup's report from the
/// virtual MAC would move a switch's entry for it away from the Active (seen: MLD reports on an
/// IPv6 Backup's step-down black-holed VIP traffic until the Active's next announcement). The
/// membership is the node's, so its own MAC is the right source.
pub fn report_from(frame: &mut [u8], mac: [u8; 6]) {
    if is_membership_report(frame) {
        let mut eth = EthernetFrame::new_unchecked(frame);
        eth.set_src_addr(EthernetAddress(mac));
    }
}
