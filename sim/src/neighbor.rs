//! A client on the segment that only listens: its neighbour cache (ARP for IPv4, Neighbor
//! Discovery for IPv6) follows every claim of an address it hears, the way a Linux host updates
//! the entry it already has for the VIP (`arp_accept` off: gratuitous ARP updates, never
//! creates). What it keeps is the history of each entry, so a test can ask which MAC the client
//! would have sent to at any instant.
//!
//! A claim is an ARP request or reply whose sender is the address (a gratuitous ARP, an answer),
//! or a Neighbor Advertisement for it with the Override flag, which replaces the entry's
//! link-layer address whatever its state: RFC 826, RFC 4861 §7.2.5.

use std::net::IpAddr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv6Packet, Icmpv6Repr, IpProtocol,
    Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};

use crate::time::Micros;

/// The cache of one listening client, for the addresses it was told to watch.
#[derive(Debug, Clone, Default)]
pub struct NeighborCache {
    watched: Vec<IpAddr>,
    /// Every change of a watched entry, in time order: (when, address, MAC).
    history: Vec<(Micros, IpAddr, [u8; 6])>,
}

impl NeighborCache {
    /// A client that has entries (not yet resolved) for `watched`.
    pub fn new(watched: impl IntoIterator<Item = IpAddr>) -> NeighborCache {
        NeighborCache {
            watched: watched.into_iter().collect(),
            history: Vec::new(),
        }
    }

    /// Hears `frame` at `at`.
    pub fn observe(&mut self, at: Micros, frame: &[u8]) {
        if let Some((ip, mac)) = claim(frame)
            && self.watched.contains(&ip)
            && self.at(ip, at) != Some(mac)
        {
            self.history.push((at, ip, mac));
        }
    }

    /// The MAC the client's entry for `ip` holds at `t` (after everything heard at `t`).
    pub fn at(&self, ip: IpAddr, t: Micros) -> Option<[u8; 6]> {
        self.history
            .iter()
            .rev()
            .find(|(at, a, _)| *a == ip && *at <= t)
            .map(|(_, _, mac)| *mac)
    }

    /// The changes of the entry for `ip`: when it moved, and to which MAC.
    pub fn changes(&self, ip: IpAddr) -> impl Iterator<Item = (Micros, [u8; 6])> + '_ {
        self.history
            .iter()
            .filter(move |(_, a, _)| *a == ip)
            .map(|(at, _, mac)| (*at, *mac))
    }
}

/// The address and MAC a frame claims, if it is a claim.
fn claim(frame: &[u8]) -> Option<(IpAddr, [u8; 6])> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
            match arp {
                ArpRepr::EthernetIpv4 {
                    source_hardware_addr,
                    source_protocol_addr,
                    ..
                } => Some((source_protocol_addr.into(), source_hardware_addr.0)),
                _ => None,
            }
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            let ip_repr = Ipv6Repr::parse(&ip).ok()?;
            if ip_repr.next_header != IpProtocol::Icmpv6 || ip_repr.hop_limit != 255 {
                return None;
            }
            let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
            let repr = Icmpv6Repr::parse(
                &ip_repr.src_addr,
                &ip_repr.dst_addr,
                &icmp,
                &ChecksumCapabilities::default(),
            )
            .ok()?;
            match repr {
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr,
                    lladdr: Some(lladdr),
                }) if flags.contains(NdiscNeighborFlags::OVERRIDE) => {
                    Some((target_addr.into(), mac_of(lladdr)?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn mac_of(addr: RawHardwareAddress) -> Option<[u8; 6]> {
    addr.as_bytes().try_into().ok()
}
