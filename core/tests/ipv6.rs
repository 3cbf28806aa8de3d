//! VRRPv3 for IPv6 (RFC 9568) through the smoltcp binding, in exact virtual time: the virtual
//! MAC 00:00:5e:00:02:VRID, link-local sources, ff02::12 with hop limit 255, the IPv6
//! pseudo-header checksum, unsolicited Neighbor Advertisements instead of gratuitous ARP,
//! Neighbor Solicitations answered by the Active alone, and ND that Accept_Mode never drops.

mod common;

use std::net::Ipv6Addr;

use common::{Segment, Sent};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr,
    IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};
use vrrp_core::net::Event;
use vrrp_core::wire::{self, Addresses, ChecksumMode, DropReason, IpContext, Version};
use vrrp_core::{Config, ConfigError, Duration, Instant, State, VirtualRouter};

const VMAC: EthernetAddress = EthernetAddress([0x00, 0x00, 0x5e, 0x00, 0x02, 10]);
const LL_VIP: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const VIP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const CLIENT: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x64);
const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x42]);

fn ll(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last)
}

fn config(priority: u8, last: u16) -> Config<4, Ipv6Addr> {
    let mut c = Config::new(10, priority, ll(last))
        .with_vip(LL_VIP)
        .and_then(|c| c.with_vip(VIP))
        .unwrap();
    c.vip_prefix_len = 64;
    c
}

/// Active_Down_Interval of priority 200 / 100 at 1 s, in microseconds.
const DOWN_200: u64 = 3_000_000 + 56 * 1_000_000 / 256;
const DOWN_100: u64 = 3_000_000 + 156 * 1_000_000 / 256;

fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Advert {
        src_mac: EthernetAddress,
        dst_mac: EthernetAddress,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        priority: u8,
        addresses: Vec<Ipv6Addr>,
    },
    Na {
        src_mac: EthernetAddress,
        dst: Ipv6Addr,
        hop_limit: u8,
        flags: NdiscNeighborFlags,
        target: Ipv6Addr,
        lladdr: Option<RawHardwareAddress>,
    },
    Other,
}

/// Decodes a frame the routers sent, verifying every checksum on the way: the VRRP one with
/// the IPv6 pseudo-header (RFC 9568 §5.2.8), the ICMPv6 one by smoltcp's parser.
fn decode(frame: &[u8]) -> Frame {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    if eth.ethertype() != EthernetProtocol::Ipv6 {
        return Frame::Other;
    }
    let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
    let ip_repr = Ipv6Repr::parse(&ip).unwrap();
    match ip_repr.next_header {
        IpProtocol::Unknown(112) => {
            let packet = wire::Packet::new_checked(ip.payload()).unwrap();
            let ctx = IpContext::V6 {
                src: ip_repr.src_addr,
                dst: ip_repr.dst_addr,
            };
            let repr = wire::Repr::parse(&packet, &ctx, ChecksumMode::PseudoHeader)
                .expect("advert parses with the IPv6 pseudo-header checksum");
            assert_eq!(repr.version, Version::V3);
            Frame::Advert {
                src_mac: eth.src_addr(),
                dst_mac: eth.dst_addr(),
                src: ip_repr.src_addr,
                dst: ip_repr.dst_addr,
                hop_limit: ip_repr.hop_limit,
                priority: repr.priority,
                addresses: repr.addresses.iter_v6().collect(),
            }
        }
        IpProtocol::Icmpv6 => {
            let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
            let repr = Icmpv6Repr::parse(
                &ip_repr.src_addr,
                &ip_repr.dst_addr,
                &icmp,
                &ChecksumCapabilities::default(),
            )
            .expect("ICMPv6 checksum verifies");
            match repr {
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr,
                    lladdr,
                }) => Frame::Na {
                    src_mac: eth.src_addr(),
                    dst: ip_repr.dst_addr,
                    hop_limit: ip_repr.hop_limit,
                    flags,
                    target: target_addr,
                    lladdr,
                },
                _ => Frame::Other,
            }
        }
        _ => Frame::Other,
    }
}

fn ipv6_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: Ipv6Repr,
    payload: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + 40 + ip.payload_len];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut eth);
    let mut packet = Ipv6Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet);
    payload(packet.payload_mut());
    buf
}

fn icmpv6_frame(
    dst_mac: EthernetAddress,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp: Icmpv6Repr,
) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: CLIENT,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit,
    };
    ipv6_frame(CLIENT_MAC, dst_mac, ip, |p| {
        icmp.emit(
            &CLIENT,
            &dst,
            &mut Icmpv6Packet::new_unchecked(p),
            &ChecksumCapabilities::default(),
        )
    })
}

/// A Neighbor Solicitation for `target`: to its solicited-node group, or (a reachability
/// probe, RFC 4861 §7.3.3) unicast to the target at `dst_mac`.
fn neighbor_solicit(target: Ipv6Addr, unicast_to: Option<EthernetAddress>) -> Vec<u8> {
    let t = target.octets();
    let (dst_mac, dst) = match unicast_to {
        Some(mac) => (mac, target),
        None => (
            EthernetAddress([0x33, 0x33, 0xff, t[13], t[14], t[15]]),
            Ipv6Addr::new(
                0xff02,
                0,
                0,
                0,
                0,
                1,
                0xff00 | u16::from(t[13]),
                u16::from_be_bytes([t[14], t[15]]),
            ),
        ),
    };
    let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(CLIENT_MAC)),
    });
    icmpv6_frame(dst_mac, dst, 255, ns)
}

fn echo_request(dst_mac: EthernetAddress, dst: Ipv6Addr) -> Vec<u8> {
    let echo = Icmpv6Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"ping",
    };
    icmpv6_frame(dst_mac, dst, 64, echo)
}

/// An advert from `src` (hop limit `hop_limit`) for VRID 10 listing the test's VIPs.
fn advert(src: Ipv6Addr, hop_limit: u8, priority: u8) -> Vec<u8> {
    let vips = [LL_VIP, VIP];
    let repr = wire::Repr {
        version: Version::V3,
        vrid: 10,
        priority,
        max_adver_int: 100,
        addresses: Addresses::V6(&vips),
        auth: wire::Auth::None,
    };
    let dst = wire::MULTICAST_V6;
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Unknown(112),
        payload_len: repr.buffer_len(),
        hop_limit,
    };
    let ctx = IpContext::V6 { src, dst };
    ipv6_frame(
        PEER_MAC,
        EthernetAddress([0x33, 0x33, 0, 0, 0, 0x12]),
        ip,
        |p| {
            repr.emit(
                &mut wire::Packet::new_unchecked(p),
                &ctx,
                ChecksumMode::PseudoHeader,
            )
        },
    )
}

fn frames_of(wire: &[Sent], node: usize) -> Vec<(Instant, Frame)> {
    wire.iter()
        .filter(|s| s.node == node)
        .map(|s| (s.at, decode(&s.frame)))
        .filter(|(_, f)| *f != Frame::Other)
        .collect()
}

#[test]
fn ipv6_config_rules() {
    let ok = config(100, 11);
    assert_eq!(ok.validate(), Ok(()));

    let mut v2 = ok.clone();
    v2.version = Version::V2;
    assert_eq!(v2.validate(), Err(ConfigError::V2OverIpv6));

    let mut global_primary = ok.clone();
    global_primary.primary = CLIENT;
    assert_eq!(
        global_primary.validate(),
        Err(ConfigError::PrimaryNotLinkLocal)
    );

    let global_first = Config::<4, Ipv6Addr>::new(10, 100, ll(11))
        .with_vip(VIP)
        .and_then(|c| c.with_vip(LL_VIP))
        .unwrap();
    assert_eq!(
        global_first.validate(),
        Err(ConfigError::FirstVipNotLinkLocal)
    );

    let mut prefix = ok.clone();
    prefix.vip_prefix_len = 128;
    assert_eq!(prefix.validate(), Ok(()));
    prefix.vip_prefix_len = 129;
    assert_eq!(prefix.validate(), Err(ConfigError::PrefixLen));
}

#[test]
fn ipv6_election_advert_format_announcement_and_failover() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_200));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup);

    let r1 = frames_of(&seg.wire, 0);
    let advert = Frame::Advert {
        src_mac: VMAC,
        dst_mac: EthernetAddress([0x33, 0x33, 0, 0, 0, 0x12]),
        src: ll(11),
        dst: wire::MULTICAST_V6,
        hop_limit: 255,
        priority: 200,
        addresses: vec![LL_VIP, VIP],
    };
    let na = |target| Frame::Na {
        src_mac: VMAC,
        dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        hop_limit: 255,
        flags: NdiscNeighborFlags::ROUTER | NdiscNeighborFlags::OVERRIDE,
        target,
        lladdr: Some(RawHardwareAddress::from(VMAC)),
    };
    // The advert first, then one unsolicited NA per VIP, all at the takeover instant.
    assert_eq!(
        r1,
        [
            (at(DOWN_200), advert),
            (at(DOWN_200), na(LL_VIP)),
            (at(DOWN_200), na(VIP)),
        ]
    );
    // Nothing smoltcp sent on its own (MLD reports) counts as a frame of ours above; the
    // Backup said nothing.
    assert!(frames_of(&seg.wire, 1).is_empty());

    // r1 dies right after an advert: r2 takes over 3 s + 156/256 s later, with NAs.
    seg.run_for(Duration::from_millis(4500));
    let last = seg
        .wire
        .iter()
        .filter(|s| s.node == 0 && matches!(decode(&s.frame), Frame::Advert { .. }))
        .map(|s| s.at)
        .max()
        .unwrap();
    seg.nodes[0].up = false;
    seg.run_for(Duration::from_secs(5));
    assert_eq!(seg.state(1), State::Active);
    let r2 = frames_of(&seg.wire, 1);
    assert_eq!(r2[0].0 - last, Duration::from_micros(DOWN_100));
    assert!(matches!(r2[0].1, Frame::Advert { priority: 100, .. }));
    assert_eq!(r2[1], (r2[0].0, na(LL_VIP)));
    assert_eq!(r2[2], (r2[0].0, na(VIP)));
}

/// The announcement schedule holds for unsolicited NAs as for gratuitous ARP: one NA per VIP at
/// the takeover and at 10, 30, 100, 300 and 1000 ms after it, each at the virtual MAC.
#[test]
fn ipv6_unsolicited_na_schedule() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 10_000_000));
    assert_eq!(seg.state(0), State::Active);
    let mut times = Vec::new();
    for (t, f) in frames_of(&seg.wire, 0) {
        if let Frame::Na {
            src_mac,
            flags,
            target,
            lladdr,
            ..
        } = f
        {
            assert_eq!(src_mac, VMAC);
            assert_eq!(lladdr, Some(RawHardwareAddress::from(VMAC)));
            assert!(!flags.contains(NdiscNeighborFlags::SOLICITED));
            times.push(((t.as_micros() - DOWN_100), target));
        }
    }
    let want: Vec<(u64, Ipv6Addr)> = [0, 10_000, 30_000, 100_000, 300_000, 1_000_000]
        .into_iter()
        .flat_map(|us| [(us, LL_VIP), (us, VIP)])
        .collect();
    assert_eq!(times, want);
}

/// RFC 9568 §6.4.3 breaks an equal-priority tie by the larger primary address: IPv6 compares
/// the link-local sources as 128-bit numbers.
#[test]
fn ipv6_equal_priority_higher_link_local_wins() {
    let v6_advert = |priority| wire::Repr {
        version: Version::V3,
        vrid: 10,
        priority,
        max_adver_int: 100,
        addresses: Addresses::V6(&[LL_VIP, VIP]),
        auth: wire::Auth::None,
    };
    for (peer, steps_down) in [(ll(0x10), false), (ll(0x12), true), (ll(0x1100), true)] {
        let mut r = VirtualRouter::new(config(100, 0x11)).unwrap();
        r.startup(at(0));
        r.handle_timeout(at(DOWN_100));
        assert_eq!(r.state(), State::Active);
        r.handle_advert(at(DOWN_100 + 10), peer, 255, &v6_advert(100))
            .unwrap();
        let expected = if steps_down {
            State::Backup
        } else {
            State::Active
        };
        assert_eq!(r.state(), expected, "peer {peer}");
    }
}

fn ns_replies(seg: &mut Segment<Ipv6Addr>, frame: Vec<u8>) -> Vec<(usize, Frame)> {
    let before = seg.wire.len();
    seg.inject(frame);
    seg.wire[before..]
        .iter()
        .map(|s| (s.node, decode(&s.frame)))
        .filter(|(_, f)| *f != Frame::Other)
        .collect()
}

#[test]
fn ipv6_only_the_active_answers_neighbor_solicitations_with_the_virtual_mac() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    assert!(ns_replies(&mut seg, neighbor_solicit(VIP, None)).is_empty());
    seg.run_until(at(DOWN_200 + 1000));
    let solicited = |target| Frame::Na {
        src_mac: VMAC,
        dst: CLIENT,
        hop_limit: 255,
        flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
        target,
        lladdr: Some(RawHardwareAddress::from(VMAC)),
    };
    for target in [VIP, LL_VIP] {
        let replies = ns_replies(&mut seg, neighbor_solicit(target, None));
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].0, 0, "only the Active answers");
        // smoltcp may or may not set the Router flag on a solicited NA; the rest is fixed.
        match &replies[0].1 {
            Frame::Na { flags, .. } => {
                let mut expected = solicited(target);
                if let Frame::Na { flags: f, .. } = &mut expected {
                    *f = *flags;
                }
                assert_eq!(replies[0].1, expected);
                assert!(flags.contains(NdiscNeighborFlags::SOLICITED));
            }
            other => panic!("expected an NA, got {other:?}"),
        }
    }
    // Failover: the new Active answers, the old one is gone.
    seg.nodes[0].up = false;
    seg.run_for(Duration::from_secs(5));
    let replies = ns_replies(&mut seg, neighbor_solicit(VIP, None));
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].0, 1);
}

#[test]
fn ipv6_accept_mode_off_refuses_traffic_but_never_neighbor_discovery() {
    for accept in [true, false] {
        let mut c = config(100, 12);
        c.accept_mode = accept;
        let mut seg = Segment::new(vec![c]);
        seg.start_all();
        seg.run_until(at(DOWN_100 + 1));
        // A unicast NS to the VIP itself (a reachability probe) is answered either way.
        let probe = ns_replies(&mut seg, neighbor_solicit(VIP, Some(VMAC)));
        assert!(
            matches!(probe[..], [(0, Frame::Na { target: VIP, .. })]),
            "accept={accept}: {probe:?}"
        );
        let before = seg.wire.len();
        seg.inject(echo_request(VMAC, VIP));
        let replies = seg.wire.len() - before;
        let refused = seg.nodes[0]
            .events
            .iter()
            .filter(|(_, e)| *e == Event::NotAccepted)
            .count();
        if accept {
            assert_eq!((replies, refused), (1, 0), "accept on answers the echo");
        } else {
            assert_eq!((replies, refused), (0, 1), "accept off refuses the echo");
        }
    }
}

#[test]
fn ipv6_adverts_need_a_link_local_source_and_hop_limit_255() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.inject(advert(CLIENT, 255, 200));
    seg.inject(advert(ll(0x50), 64, 200));
    let stats = *seg.nodes[0].stack.router().stats();
    assert_eq!(stats.drops(DropReason::Source), 1);
    assert_eq!(stats.drops(DropReason::Ttl), 1);
    assert_eq!(stats.adverts_received, 0);
    // Neither reset the down timer: the router takes over on time.
    seg.run_until(at(DOWN_100));
    assert_eq!(seg.state(0), State::Active);

    // A valid advert with a higher priority makes it step down.
    seg.inject(advert(ll(0x50), 255, 200));
    assert_eq!(seg.state(0), State::Backup);
    assert_eq!(seg.nodes[0].stack.router().stats().adverts_received, 1);
}

/// The state machine alone, as a firmware without the binding would drive it.
#[test]
fn ipv6_router_sans_io_reports_mismatch_with_the_ipv6_source() {
    let mut r = VirtualRouter::new(config(100, 12)).unwrap();
    r.startup(at(0));
    while r.poll_action().is_some() {}
    let other = [LL_VIP];
    let repr = wire::Repr {
        version: Version::V3,
        vrid: 10,
        priority: 150,
        max_adver_int: 100,
        addresses: Addresses::V6(&other),
        auth: wire::Auth::None,
    };
    r.handle_advert(at(10), ll(0x50), 255, &repr).unwrap();
    assert_eq!(
        r.poll_action(),
        Some(vrrp_core::Action::AddressMismatch { source: ll(0x50) })
    );
    assert_eq!(r.stats().address_mismatches, 1);
}

/// The advert's way past smoltcp keeps smoltcp's rules for IPv6 too: a multicast source is no
/// sender at all (never counted), a well-formed advert at another group MAC still arrives.
#[test]
fn ipv6_adverts_from_a_multicast_source_are_ignored_uncounted() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100));
    assert_eq!(seg.state(0), State::Active);
    seg.inject(advert("ff02::1".parse().unwrap(), 255, 200));
    let stats = *seg.nodes[0].stack.router().stats();
    assert_eq!(
        (stats.adverts_received, stats.drops(DropReason::Source)),
        (0, 0)
    );
    assert_eq!(seg.state(0), State::Active);
    let mut frame = advert(ll(0x50), 255, 200);
    frame[..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 0x13]);
    seg.inject(frame);
    assert_eq!(seg.state(0), State::Backup);
}
