//! Gratuitous ARP (RFC 5227 §2.3 announcement) with the virtual MAC.

use core::net::Ipv4Addr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr,
};

/// Ethernet header + ARP for IPv4 (the device pads to the 60-byte minimum if it must).
pub const FRAME_LEN: usize = 14 + 28;

/// Writes a broadcast ARP request announcing `vip` at `mac` into `buf` (at least [`FRAME_LEN`]).
pub fn gratuitous_arp(buf: &mut [u8], mac: EthernetAddress, vip: Ipv4Addr) {
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
        source_protocol_addr: vip,
        // RFC 5227: ignored by receivers, sent as zero.
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: vip,
    };
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
}
