//! Properties of the advertisement wire format over random inputs: emit then parse is the
//! identity, the parsers never panic, and no single-bit error goes unnoticed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};
use vrrp_core::net::parse_ipv4_advert;
use vrrp_core::wire::{
    AddressFamily, Addresses, Auth, ChecksumMode, IpContext, MULTICAST_V4, MULTICAST_V6, Packet,
    Repr, Version,
};

/// An advertisement that owns its addresses, so that a strategy can produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Advert {
    version: Version,
    vrid: u8,
    priority: u8,
    max_adver_int: u16,
    addresses: Addrs,
    auth: Auth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Addrs {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl Advert {
    fn repr(&self) -> Repr<'_> {
        Repr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            max_adver_int: self.max_adver_int,
            addresses: match &self.addresses {
                Addrs::V4(a) => Addresses::V4(a),
                Addrs::V6(a) => Addresses::V6(a),
            },
            auth: self.auth,
        }
    }

    fn from_repr(repr: &Repr) -> Advert {
        Advert {
            version: repr.version,
            vrid: repr.vrid,
            priority: repr.priority,
            max_adver_int: repr.max_adver_int,
            addresses: match repr.addresses.family() {
                AddressFamily::Ipv4 => Addrs::V4(repr.addresses.iter_v4().collect()),
                AddressFamily::Ipv6 => Addrs::V6(repr.addresses.iter_v6().collect()),
            },
            auth: repr.auth,
        }
    }
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::PseudoHeader),
        Just(ChecksumMode::MessageOnly)
    ]
}

fn v4_addrs() -> impl Strategy<Value = Vec<Ipv4Addr>> {
    prop::collection::vec(any::<[u8; 4]>().prop_map(Ipv4Addr::from), 1..=20)
}

fn v6_addrs() -> impl Strategy<Value = Vec<Ipv6Addr>> {
    prop::collection::vec(any::<[u8; 16]>().prop_map(Ipv6Addr::from), 1..=20)
}

/// VRRPv3 over IPv4: any Max Adver Int the 12 bits carry, except 0.
fn v3_ipv4() -> impl Strategy<Value = Advert> {
    (any::<u8>(), any::<u8>(), 1..=0x0fffu16, v4_addrs()).prop_map(|(vrid, priority, int, a)| {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            max_adver_int: int,
            addresses: Addrs::V4(a),
            auth: Auth::None,
        }
    })
}

fn v3_ipv6() -> impl Strategy<Value = Advert> {
    (any::<u8>(), any::<u8>(), 1..=0x0fffu16, v6_addrs()).prop_map(|(vrid, priority, int, a)| {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            max_adver_int: int,
            addresses: Addrs::V6(a),
            auth: Auth::None,
        }
    })
}

/// VRRPv2: whole seconds 1..=255, no authentication or a simple text password.
fn v2() -> impl Strategy<Value = Advert> {
    let auth = prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::Simple)];
    (any::<u8>(), any::<u8>(), 1..=255u16, v4_addrs(), auth).prop_map(
        |(vrid, priority, secs, a, auth)| Advert {
            version: Version::V2,
            vrid,
            priority,
            max_adver_int: secs * 100,
            addresses: Addrs::V4(a),
            auth,
        },
    )
}

fn ctx_v4() -> impl Strategy<Value = IpContext> {
    (any::<[u8; 4]>(), prop::bool::ANY).prop_map(|(src, multicast)| IpContext::V4 {
        src: src.into(),
        // Unicast adverts (configured peers) have an arbitrary destination.
        dst: if multicast {
            MULTICAST_V4
        } else {
            Ipv4Addr::from(src).to_bits().wrapping_add(1).into()
        },
    })
}

fn ctx_v6() -> impl Strategy<Value = IpContext> {
    any::<[u8; 16]>().prop_map(|src| IpContext::V6 {
        src: src.into(),
        dst: MULTICAST_V6,
    })
}

/// A valid advertisement together with the IP context it is carried in.
fn advert_in_context() -> impl Strategy<Value = (Advert, IpContext)> {
    prop_oneof![
        (v3_ipv4(), ctx_v4()),
        (v3_ipv6(), ctx_v6()),
        (v2(), ctx_v4()),
    ]
}

fn emit(advert: &Advert, ctx: &IpContext, mode: ChecksumMode) -> Vec<u8> {
    let repr = advert.repr();
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), ctx, mode);
    buf
}

fn parse(bytes: &[u8], ctx: &IpContext, mode: ChecksumMode) -> Option<Advert> {
    Repr::parse(&Packet::new_unchecked(bytes), ctx, mode)
        .ok()
        .map(|r| Advert::from_repr(&r))
}

fn ip_source(ctx: &IpContext) -> IpAddr {
    match ctx {
        IpContext::V4 { src, .. } => (*src).into(),
        IpContext::V6 { src, .. } => (*src).into(),
    }
}

/// The advert in an IPv4 packet as the raw socket delivers it, with `padding` after it.
fn ipv4_packet(vrrp: &[u8], ctx: &IpContext, ttl: u8, padding: &[u8]) -> Vec<u8> {
    let IpContext::V4 { src, dst } = *ctx else {
        unreachable!("IPv4 only");
    };
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Unknown(112),
        payload_len: vrrp.len(),
        hop_limit: ttl,
    };
    let mut buf = vec![0; repr.buffer_len() + vrrp.len()];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet, &ChecksumCapabilities::default());
    packet.payload_mut().copy_from_slice(vrrp);
    buf.extend_from_slice(padding);
    buf
}

/// Runs every parser over `bytes` in every mode and family. A panic fails the property; whatever
/// parses must re-emit to something that parses the same.
fn parse_everything(bytes: &[u8]) {
    let contexts = [
        IpContext::V4 {
            src: Ipv4Addr::new(192, 0, 2, 11),
            dst: MULTICAST_V4,
        },
        IpContext::V6 {
            src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
            dst: MULTICAST_V6,
        },
    ];
    for mode in [ChecksumMode::PseudoHeader, ChecksumMode::MessageOnly] {
        let _ = parse_ipv4_advert(bytes, mode);
        let _ = Packet::new_checked(bytes);
        for ctx in &contexts {
            if let Some(advert) = parse(bytes, ctx, mode) {
                let again = emit(&advert, ctx, mode);
                assert_eq!(parse(&again, ctx, mode).as_ref(), Some(&advert));
            }
        }
    }
}

/// A change to a valid IP-carried advert: overwrite a byte, flip a bit, cut or extend.
#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    Flip(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        4 => (any::<prop::sample::Index>(), 0..8u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match mutation {
        Mutation::Set(i, v) => {
            let i = i.index(bytes.len());
            bytes[i] = *v;
        }
        Mutation::Flip(i, bit) => {
            let i = i.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        Mutation::Truncate(i) => {
            let len = i.index(bytes.len());
            bytes.truncate(len);
        }
        Mutation::Extend(tail) => bytes.extend_from_slice(tail),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emit_then_parse_is_the_identity(
        (advert, ctx) in advert_in_context(),
        mode in mode(),
        padding in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let bytes = emit(&advert, &ctx, mode);
        let family_len = match advert.addresses {
            Addrs::V4(ref a) => 4 * a.len(),
            Addrs::V6(ref a) => 16 * a.len(),
        };
        let trailer = if advert.version == Version::V2 { 8 } else { 0 };
        prop_assert_eq!(bytes.len(), 8 + family_len + trailer);
        prop_assert_eq!(bytes[0], (advert.version.number() << 4) | 1);

        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum(&ctx, mode));
        prop_assert_eq!(parse(&bytes, &ctx, mode), Some(advert.clone()));

        // Padding after the message (Ethernet minimum frame) changes nothing.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&padding);
        prop_assert_eq!(parse(&padded, &ctx, mode), Some(advert.clone()));

        // Emit is a function of the Repr: parsing then emitting gives the same bytes.
        let parsed_packet = Packet::new_unchecked(&padded[..]);
        let reparsed = Repr::parse(&parsed_packet, &ctx, mode).unwrap();
        let mut again = vec![0u8; reparsed.buffer_len()];
        reparsed.emit(&mut Packet::new_unchecked(&mut again[..]), &ctx, mode);
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn parse_ipv4_advert_round_trip(
        advert in prop_oneof![v3_ipv4(), v2()],
        ctx in ctx_v4(),
        mode in mode(),
        ttl in any::<u8>(),
        padding in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let vrrp = emit(&advert, &ctx, mode);
        let ip = ipv4_packet(&vrrp, &ctx, ttl, &padding);
        let (source, got_ttl, repr) = parse_ipv4_advert(&ip, mode).unwrap();
        prop_assert_eq!(IpAddr::from(source), ip_source(&ctx));
        prop_assert_eq!(got_ttl, ttl);
        prop_assert_eq!(Advert::from_repr(&repr), advert);
    }

    #[test]
    fn every_single_bit_flip_is_noticed((advert, ctx) in advert_in_context(), mode in mode()) {
        let original = emit(&advert, &ctx, mode);
        for bit in 0..original.len() * 8 {
            let mut bytes = original.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            if let Some(parsed) = parse(&bytes, &ctx, mode) {
                prop_assert_ne!(parsed, advert.clone(), "bit {} of {:02x?}", bit, original);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes);
    }

    #[test]
    fn arbitrary_vrrp_after_a_valid_ip_header_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..400),
        ctx in ctx_v4(),
        ttl in any::<u8>(),
    ) {
        let ip = ipv4_packet(&body, &ctx, ttl, &[]);
        parse_everything(&ip);
        parse_everything(&body);
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        (advert, ctx) in advert_in_context(),
        mode in mode(),
        ttl in any::<u8>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let vrrp = emit(&advert, &ctx, mode);
        let mut mutated_vrrp = vrrp.clone();
        for m in &mutations {
            apply(&mut mutated_vrrp, m);
        }
        parse_everything(&mutated_vrrp);
        if matches!(ctx, IpContext::V4 { .. }) {
            let mut ip = ipv4_packet(&vrrp, &ctx, ttl, &[]);
            for m in &mutations {
                apply(&mut ip, m);
            }
            parse_everything(&ip);
        }
    }
}
