//! The smoltcp side of each address family: IP header, receive-side parsing, announcements
//! and the frames the binding looks at before smoltcp does.

use core::net::Ipv4Addr;
#[cfg(feature = "ipv6")]
use core::net::Ipv6Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress,
    IpCidr, IpProtocol, IpVersion, Ipv4Packet, Ipv4Repr,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, Ipv6Packet, Ipv6Repr, NdiscRepr};

use super::announce;
use crate::wire::{Address, DropReason, IP_PROTOCOL, VRRP_TTL};

/// What [`Stack::poll_ingress`](super::Stack::poll_ingress) does with a received frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Not ours to accept (counted).
    Refuse,
    /// Not for smoltcp, silently.
    Ignore,
}

/// An advert's IP header fields and VRRP message, borrowed from a received packet.
pub(crate) struct Received<'p, A> {
    pub src: A,
    pub dst: A,
    pub hop_limit: u8,
    pub body: &'p [u8],
}

/// An [`Address`] family the smoltcp binding runs: IPv4 always, IPv6 with the `ipv6` feature.
pub trait NetAddress: Address + Into<IpAddress> {
    #[doc(hidden)]
    const IP_VERSION: IpVersion;
    #[doc(hidden)]
    const HEADER_LEN: usize;
    /// Length of one announcement frame (gratuitous ARP or unsolicited NA).
    #[doc(hidden)]
    const ANNOUNCE_LEN: usize;
    /// The Ethernet type and group address of multicast adverts (RFC 1112 §6.4, RFC 2464 §7).
    #[doc(hidden)]
    const ETHERTYPE: EthernetProtocol;
    #[doc(hidden)]
    const MULTICAST_MAC: EthernetAddress;
    /// Length of the frame asking for a peer's MAC (ARP request or Neighbor Solicitation).
    #[doc(hidden)]
    const SOLICIT_LEN: usize;

    /// Writes the IP header of an advert of `payload_len` bytes into `buf`.
    #[doc(hidden)]
    fn emit_header(src: Self, dst: Self, payload_len: usize, buf: &mut [u8]);

    /// Splits an IP packet (as raw sockets hand them over) into header fields and message.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn parse(packet: &[u8]) -> Result<Received<'_, Self>, DropReason>;

    /// The advert in `frame` if it is the common case, a multicast advert as the group sends
    /// it: to [`Self::MULTICAST_MAC`] and the group address, VRRP right after an IP header that
    /// smoltcp accepts under `checksum`, from a unicast source. It is then exactly what smoltcp
    /// would hand the raw socket (the fields of the header it re-emits, and the payload up to the
    /// IP length), without the trip through smoltcp's ingress and the socket's buffer, which is
    /// most of what a received advert costs. `None` for anything else (fragments, extension
    /// headers, other destinations, malformed headers): that takes the trip, with smoltcp's
    /// rules. The caller adds the one rule that needs the interface: a source that is the
    /// directed broadcast of one of its subnets is refused ([`Self::is_directed_broadcast`]).
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn multicast_advert<'f>(
        frame: &'f [u8],
        checksum: &ChecksumCapabilities,
    ) -> Option<Received<'f, Self>>;

    /// `addr` is the broadcast address of one of the subnets in `cidrs` (smoltcp refuses IPv4
    /// packets from it; IPv6 has no broadcast).
    #[doc(hidden)]
    fn is_directed_broadcast(cidrs: &[IpCidr], addr: Self) -> bool;

    /// Writes the frame announcing `vip` at `mac` (exactly [`Self::ANNOUNCE_LEN`] bytes).
    #[doc(hidden)]
    fn announce(buf: &mut [u8], mac: EthernetAddress, vip: Self);

    /// What the binding does with a received `frame`; `refuse`: drop traffic to the VIPs.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn inspect(frame: &[u8], vips: &[Self], refuse: bool) -> Verdict;

    /// `frame` asks who holds one of `vips` (an ARP request, a Neighbor Solicitation): its
    /// answer names the virtual MAC.
    #[doc(hidden)]
    fn asks_for(frame: &[u8], vips: &[Self]) -> bool;

    /// Writes the frame asking who holds `target`, from `src` at `mac` (exactly
    /// [`Self::SOLICIT_LEN`] bytes).
    #[doc(hidden)]
    fn solicit(buf: &mut [u8], mac: EthernetAddress, src: Self, target: Self);

    /// The address and MAC that `frame` says belong together, from the horse's mouth: the
    /// sender of an ARP packet, the source of a Neighbor Solicitation or the target of a
    /// Neighbor Advertisement with its link-layer address option.
    #[doc(hidden)]
    fn neighbor(frame: &[u8]) -> Option<(Self, EthernetAddress)>;
}

/// The payload of `frame` if it is sent to the group MAC of `A`'s adverts with `A`'s EtherType.
fn group_payload<A: NetAddress>(frame: &[u8]) -> Option<&[u8]> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    (eth.dst_addr() == A::MULTICAST_MAC && eth.ethertype() == A::ETHERTYPE).then(|| eth.payload())
}

/// Whether `frame` is a VRRP advert to the group of its family: to the group MAC and address of
/// IPv4 (224.0.0.18) or, with the `ipv6` feature, IPv6 (ff02::12), protocol 112 (RFC 9568 §5.1).
/// Only the addressing is looked at, not the message: it is for a driver that routes the frames
/// the binding hands its device, where the multicast adverts can take another way out than the
/// rest (unicast adverts and everything else keep to the device).
pub fn is_group_advert(frame: &[u8]) -> bool {
    fn of<A: NetAddress>(frame: &[u8]) -> bool {
        group_payload::<A>(frame)
            .and_then(|packet| A::parse(packet).ok())
            .is_some_and(|r| r.dst == A::MULTICAST)
    }
    #[cfg(feature = "ipv6")]
    if of::<Ipv6Addr>(frame) {
        return true;
    }
    of::<Ipv4Addr>(frame)
}

/// `received` if it is a multicast advert from a unicast source: VRRP (`next_header`) to the
/// group address.
fn group_advert<A: NetAddress>(
    received: Received<'_, A>,
    unicast: bool,
    next_header: IpProtocol,
) -> Option<Received<'_, A>> {
    (unicast && next_header == IpProtocol::Unknown(IP_PROTOCOL) && received.dst == A::MULTICAST)
        .then_some(received)
}

impl NetAddress for Ipv4Addr {
    const IP_VERSION: IpVersion = IpVersion::Ipv4;
    const HEADER_LEN: usize = 20;
    const ANNOUNCE_LEN: usize = announce::ARP_LEN;
    const ETHERTYPE: EthernetProtocol = EthernetProtocol::Ipv4;
    const MULTICAST_MAC: EthernetAddress = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 0x12]);
    const SOLICIT_LEN: usize = announce::ARP_LEN;

    fn emit_header(src: Self, dst: Self, payload_len: usize, buf: &mut [u8]) {
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Unknown(IP_PROTOCOL),
            payload_len,
            hop_limit: VRRP_TTL,
        };
        ip.emit(
            &mut Ipv4Packet::new_unchecked(buf),
            &ChecksumCapabilities::default(),
        );
    }

    #[allow(private_interfaces)]
    fn parse(packet: &[u8]) -> Result<Received<'_, Self>, DropReason> {
        let ip = Ipv4Packet::new_checked(packet).map_err(|_| DropReason::Length)?;
        if ip.version() != 4 || ip.next_header() != IpProtocol::Unknown(IP_PROTOCOL) {
            return Err(DropReason::Protocol);
        }
        let header_len = usize::from(ip.header_len());
        let total = usize::from(ip.total_len()).min(packet.len());
        let body = packet.get(header_len..total).ok_or(DropReason::Length)?;
        Ok(Received {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            hop_limit: ip.hop_limit(),
            body,
        })
    }

    #[allow(private_interfaces)]
    fn multicast_advert<'f>(
        frame: &'f [u8],
        checksum: &ChecksumCapabilities,
    ) -> Option<Received<'f, Self>> {
        let ip = Ipv4Packet::new_checked(group_payload::<Self>(frame)?).ok()?;
        // Version, checksum as the device's capabilities say, no fragment.
        let repr = Ipv4Repr::parse(&ip, checksum).ok()?;
        let src = repr.src_addr;
        let unicast = !(src.is_broadcast() || src.is_multicast() || src.is_unspecified());
        let received = Received {
            src,
            dst: repr.dst_addr,
            hop_limit: repr.hop_limit,
            body: ip.payload(),
        };
        group_advert(received, unicast, repr.next_header)
    }

    fn is_directed_broadcast(cidrs: &[IpCidr], addr: Self) -> bool {
        cidrs.iter().any(|c| match c {
            IpCidr::Ipv4(c) => c.broadcast() == Some(addr),
            #[cfg(feature = "ipv6")]
            IpCidr::Ipv6(_) => false,
        })
    }

    fn announce(buf: &mut [u8], mac: EthernetAddress, vip: Self) {
        announce::gratuitous_arp(buf, mac, vip);
    }

    /// - While Active without Accept_Mode (RFC 9568 §6.4.3), frames addressed to the VIPs: ARP
    ///   for them is still answered, but nothing sent to them is taken as our own.
    /// - ARP whose sender address is one of the VIPs: another router's gratuitous ARP for the
    ///   VIP (say, a Backup that took over while we were frozen). smoltcp would answer it and
    ///   cache the VIP at the other router's MAC; the adverts, not ARP, decide who owns the VIP.
    #[allow(private_interfaces)]
    fn inspect(frame: &[u8], vips: &[Self], refuse: bool) -> Verdict {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Verdict::Pass;
        };
        match eth.ethertype() {
            EthernetProtocol::Ipv4 if refuse => match Ipv4Packet::new_checked(eth.payload()) {
                Ok(ip) if vips.contains(&ip.dst_addr()) => Verdict::Refuse,
                _ => Verdict::Pass,
            },
            EthernetProtocol::Arp => {
                match ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p)) {
                    Ok(ArpRepr::EthernetIpv4 {
                        source_protocol_addr,
                        ..
                    }) if vips.contains(&source_protocol_addr) => Verdict::Ignore,
                    _ => Verdict::Pass,
                }
            }
            _ => Verdict::Pass,
        }
    }

    fn asks_for(frame: &[u8], vips: &[Self]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        eth.ethertype() == EthernetProtocol::Arp
            && matches!(
                ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p)),
                Ok(ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Request,
                    target_protocol_addr,
                    ..
                }) if vips.contains(&target_protocol_addr)
            )
    }

    fn solicit(buf: &mut [u8], mac: EthernetAddress, src: Self, target: Self) {
        announce::arp_request(buf, mac, src, target);
    }

    fn neighbor(frame: &[u8]) -> Option<(Self, EthernetAddress)> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != EthernetProtocol::Arp {
            return None;
        }
        match ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()? {
            ArpRepr::EthernetIpv4 {
                source_hardware_addr,
                source_protocol_addr,
                ..
            } => Some((source_protocol_addr, source_hardware_addr)),
            _ => None,
        }
    }
}

#[cfg(feature = "ipv6")]
impl NetAddress for Ipv6Addr {
    const IP_VERSION: IpVersion = IpVersion::Ipv6;
    const HEADER_LEN: usize = 40;
    const ANNOUNCE_LEN: usize = announce::NA_LEN;
    const ETHERTYPE: EthernetProtocol = EthernetProtocol::Ipv6;
    const MULTICAST_MAC: EthernetAddress = EthernetAddress([0x33, 0x33, 0, 0, 0, 0x12]);
    const SOLICIT_LEN: usize = announce::NS_LEN;

    fn emit_header(src: Self, dst: Self, payload_len: usize, buf: &mut [u8]) {
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Unknown(IP_PROTOCOL),
            payload_len,
            hop_limit: VRRP_TTL,
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(buf));
    }

    #[allow(private_interfaces)]
    fn parse(packet: &[u8]) -> Result<Received<'_, Self>, DropReason> {
        let ip = Ipv6Packet::new_checked(packet).map_err(|_| DropReason::Length)?;
        // Adverts carry no extension headers; one in front of the message is not an advert
        // this router can read.
        if ip.version() != 6 || ip.next_header() != IpProtocol::Unknown(IP_PROTOCOL) {
            return Err(DropReason::Protocol);
        }
        let total = (40 + usize::from(ip.payload_len())).min(packet.len());
        let body = packet.get(40..total).ok_or(DropReason::Length)?;
        Ok(Received {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            hop_limit: ip.hop_limit(),
            body,
        })
    }

    #[allow(private_interfaces)]
    fn multicast_advert<'f>(
        frame: &'f [u8],
        _checksum: &ChecksumCapabilities,
    ) -> Option<Received<'f, Self>> {
        let ip = Ipv6Packet::new_checked(group_payload::<Self>(frame)?).ok()?;
        let repr = Ipv6Repr::parse(&ip).ok()?;
        let src = repr.src_addr;
        let unicast = !src.is_multicast() && !src.is_unspecified();
        let received = Received {
            src,
            dst: repr.dst_addr,
            hop_limit: repr.hop_limit,
            body: ip.payload(),
        };
        // A hop-by-hop header in front of the message takes smoltcp's path.
        group_advert(received, unicast, repr.next_header)
    }

    fn is_directed_broadcast(_: &[IpCidr], _: Self) -> bool {
        false
    }

    fn announce(buf: &mut [u8], mac: EthernetAddress, vip: Self) {
        announce::unsolicited_na(buf, mac, vip);
    }

    /// - While Active without Accept_Mode, packets addressed to the VIPs, except Neighbor
    ///   Solicitations and Advertisements: neighbour discovery for a VIP must keep working
    ///   whatever Accept_Mode says (RFC 9568 §6.4.3), and a unicast NS probing a cached entry
    ///   (RFC 4861 §7.3.3) is addressed to the VIP itself.
    /// - Neighbor Advertisements for one of the VIPs: another router's unsolicited NA, the
    ///   IPv6 twin of the gratuitous ARP the IPv4 filter ignores.
    #[allow(private_interfaces)]
    fn inspect(frame: &[u8], vips: &[Self], refuse: bool) -> Verdict {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Verdict::Pass;
        };
        if eth.ethertype() != EthernetProtocol::Ipv6 {
            return Verdict::Pass;
        }
        let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
            return Verdict::Pass;
        };
        let ndisc = (ip.next_header() == IpProtocol::Icmpv6)
            .then(|| Icmpv6Packet::new_checked(ip.payload()).ok())
            .flatten()
            .map(|icmp| (icmp.msg_type(), NdiscRepr::parse(&icmp)));
        match ndisc {
            Some((
                Icmpv6Message::NeighborAdvert,
                Ok(NdiscRepr::NeighborAdvert { target_addr, .. }),
            )) if vips.contains(&target_addr) => Verdict::Ignore,
            Some((Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert, _)) => {
                Verdict::Pass
            }
            _ if refuse && vips.contains(&ip.dst_addr()) => Verdict::Refuse,
            _ => Verdict::Pass,
        }
    }

    fn asks_for(frame: &[u8], vips: &[Self]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        if eth.ethertype() != EthernetProtocol::Ipv6 {
            return false;
        }
        let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
            return false;
        };
        ip.next_header() == IpProtocol::Icmpv6
            && matches!(
                Icmpv6Packet::new_checked(ip.payload()).map(|icmp| NdiscRepr::parse(&icmp)),
                Ok(Ok(NdiscRepr::NeighborSolicit { target_addr, .. }))
                    if vips.contains(&target_addr)
            )
    }

    fn solicit(buf: &mut [u8], mac: EthernetAddress, src: Self, target: Self) {
        announce::neighbor_solicit(buf, mac, src, target);
    }

    fn neighbor(frame: &[u8]) -> Option<(Self, EthernetAddress)> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != EthernetProtocol::Ipv6 {
            return None;
        }
        let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
        if ip.next_header() != IpProtocol::Icmpv6 {
            return None;
        }
        let (addr, lladdr) =
            match NdiscRepr::parse(&Icmpv6Packet::new_checked(ip.payload()).ok()?).ok()? {
                NdiscRepr::NeighborSolicit { lladdr, .. } => (ip.src_addr(), lladdr),
                NdiscRepr::NeighborAdvert {
                    target_addr,
                    lladdr,
                    ..
                } => (target_addr, lladdr),
                _ => return None,
            };
        // An option of another length is not an Ethernet address (from_bytes would panic).
        let mac = <[u8; 6]>::try_from(lladdr?.as_bytes()).ok()?;
        Some((addr, EthernetAddress(mac)))
    }
}
