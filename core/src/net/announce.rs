//! Announcing a VIP at the virtual MAC: gratuitous ARP (RFC 5227 §2.3 announcement) for IPv4,
//! an unsolicited Neighbor Advertisement (RFC 9568 §6.4.1, RFC 4861 §7.2.6) for IPv6. And asking
//! for a unicast peer's MAC: an ARP request, a Neighbor Solicitation (RFC 4861 §7.2.2).

use core::net::Ipv4Addr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr,
};

/// Ethernet header + ARP for IPv4 (the device pads to the 60-byte minimum if it must).
pub const ARP_LEN: usize = 14 + 28;

/// Writes a broadcast ARP request announcing `vip` at `mac` into `buf` (at least 42 bytes, `ARP_LEN`).
pub fn gratuitous_arp(buf: &mut [u8], mac: EthernetAddress, vip: Ipv4Addr) {
    arp_request(buf, mac, vip, vip);
}

/// Writes a broadcast ARP request from `sender` at `mac` for `target` (at least [`ARP_LEN`]).
pub(crate) fn arp_request(
    buf: &mut [u8],
    mac: EthernetAddress,
    sender: Ipv4Addr,
    target: Ipv4Addr,
) {
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let mut frame = EthernetFrame::new_unchecked(buf);
    eth.emit(&mut frame);
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: sender,
        // Unknown, sent as zero (RFC 5227 for the announcement).
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
}

#[cfg(feature = "ipv6")]
pub use v6::{NA_LEN, unsolicited_na};
#[cfg(feature = "ipv6")]
pub(crate) use v6::{NS_LEN, neighbor_solicit};

#[cfg(feature = "ipv6")]
mod v6 {
    use core::net::Ipv6Addr;

    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr,
        IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
    };

    /// All-nodes (RFC 4291 §2.7.1): every host on the link updates its cache.
    const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    /// 24 bytes of NA + 8 of the target link-layer address option.
    const ICMP_LEN: usize = 24 + 8;
    /// Ethernet + IPv6 + NA with the target link-layer address.
    pub const NA_LEN: usize = 14 + 40 + ICMP_LEN;
    /// Ethernet + IPv6 + NS with the source link-layer address (the same sizes as an NA).
    pub const NS_LEN: usize = NA_LEN;

    /// Writes an unsolicited NA for `vip` at `mac` into `buf` (at least 86 bytes, `NA_LEN`): to
    /// all-nodes, hop limit 255 (receivers drop ND with less, RFC 4861 §7.1.2), Router and
    /// Override set, Solicited clear, as RFC 9568 §6.4.1 lists. The source is the VIP itself,
    /// which the router holds from this moment, as a gratuitous ARP names the VIP as sender.
    pub fn unsolicited_na(buf: &mut [u8], mac: EthernetAddress, vip: Ipv6Addr) {
        let eth = EthernetRepr {
            src_addr: mac,
            dst_addr: EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
            ethertype: EthernetProtocol::Ipv6,
        };
        let mut frame = EthernetFrame::new_unchecked(buf);
        eth.emit(&mut frame);
        let ip = Ipv6Repr {
            src_addr: vip,
            dst_addr: ALL_NODES,
            next_header: IpProtocol::Icmpv6,
            payload_len: ICMP_LEN,
            hop_limit: 255,
        };
        let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
        ip.emit(&mut packet);
        let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::ROUTER | NdiscNeighborFlags::OVERRIDE,
            target_addr: vip,
            lladdr: Some(RawHardwareAddress::from(mac)),
        });
        na.emit(
            &vip,
            &ALL_NODES,
            &mut Icmpv6Packet::new_unchecked(packet.payload_mut()),
            &ChecksumCapabilities::default(),
        );
    }

    /// Writes a Neighbor Solicitation from `src` at `mac` for `target` into `buf` (at least
    /// [`NS_LEN`]): to the target's solicited-node group (RFC 4861 §7.2.2), hop limit 255,
    /// with the source link-layer address so that the answer comes straight back.
    pub fn neighbor_solicit(buf: &mut [u8], mac: EthernetAddress, src: Ipv6Addr, target: Ipv6Addr) {
        let [.., a, b, c] = target.octets();
        let group = Ipv6Addr::new(
            0xff02,
            0,
            0,
            0,
            0,
            1,
            0xff00 | u16::from(a),
            u16::from_be_bytes([b, c]),
        );
        let eth = EthernetRepr {
            src_addr: mac,
            dst_addr: EthernetAddress([0x33, 0x33, 0xff, a, b, c]),
            ethertype: EthernetProtocol::Ipv6,
        };
        let mut frame = EthernetFrame::new_unchecked(buf);
        eth.emit(&mut frame);
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: group,
            next_header: IpProtocol::Icmpv6,
            payload_len: ICMP_LEN,
            hop_limit: 255,
        };
        let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
        ip.emit(&mut packet);
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: Some(RawHardwareAddress::from(mac)),
        });
        ns.emit(
            &src,
            &group,
            &mut Icmpv6Packet::new_unchecked(packet.payload_mut()),
            &ChecksumCapabilities::default(),
        );
    }
}
