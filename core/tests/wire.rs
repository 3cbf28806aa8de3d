//! The advertisement wire format on literal bytes: round trips, every reason the parser drops a
//! message for, the two VRRPv3-over-IPv4 checksum forms, Ethernet padding, and the real
//! keepalived 2.2.7 advertisements in `../shared/traces`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv4Repr};
use vrrp_core::net::parse_ipv4_advert;
use vrrp_core::wire::{
    AddressFamily, Addresses, Auth, ChecksumMode, DropReason, Error, IpContext, Packet, Repr,
    Version, vrrp::HEADER_LEN,
};

const R1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
const R2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 12);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

const CTX_R1: IpContext = IpContext::V4 {
    src: R1,
    dst: GROUP_V4,
};
const CTX_V6: IpContext = IpContext::V6 {
    src: LINK_LOCAL,
    dst: GROUP_V6,
};

/// keepalived 2.2.7, VRRPv3, VRID 10, priority 200, 1 s, [192.0.2.1], sent by 192.0.2.11 to
/// 224.0.0.18: the VRRP part of the first advert in `keepalived-v3-1s-pause.pcap`. The checksum
/// 0xa1f3 includes the IPv4 pseudo-header.
const KEEPALIVED_V3: [u8; 12] = [
    0x31, 0x0a, 0xc8, 0x01, 0x00, 0x64, 0xa1, 0xf3, 0xc0, 0x00, 0x02, 0x01,
];

/// The same message with the RFC 9568 message-only checksum (computed independently).
const MESSAGE_ONLY_V3: [u8; 12] = [
    0x31, 0x0a, 0xc8, 0x01, 0x00, 0x64, 0x44, 0x8e, 0xc0, 0x00, 0x02, 0x01,
];

/// The whole Ethernet frame of the first advert from 192.0.2.12 in
/// `keepalived-v3-50ms-pause.pcap` (priority 100, 50 ms), as captured: 46 bytes, unpadded.
const KEEPALIVED_FRAME_R2: [u8; 46] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0xaa, 0xea, 0x26, 0x8a, 0xa6, 0xae, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x8e, 0xc0, 0x00, 0x02, 0x0c, 0xe0, 0x00,
    0x00, 0x12, 0x31, 0x0a, 0x64, 0x01, 0x00, 0x05, 0x06, 0x52, 0xc0, 0x00, 0x02, 0x01,
];
const ETH_HEADER_LEN: usize = 14;

/// VRRPv3 over IPv6 from fe80::1 to ff02::12: VRID 1, priority 100, 1 s,
/// [2001:db8::1, 2001:db8::2].
const V3_IPV6: [u8; 40] = [
    0x31, 0x01, 0x64, 0x02, 0x00, 0x64, 0x10, 0xf4, // header
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // 2001:db8::2
];

/// VRRPv2, VRID 10, priority 200, no authentication, 1 s, [192.0.2.1].
const V2_AUTH_NONE: [u8; 20] = [
    0x21, 0x0a, 0xc8, 0x01, 0x00, 0x01, 0x54, 0xf1, // header
    0xc0, 0x00, 0x02, 0x01, // 192.0.2.1
    0, 0, 0, 0, 0, 0, 0, 0, // authentication data
];

/// VRRPv2, VRID 10, priority 100, simple text "secret", 3 s, [192.0.2.1, 192.0.2.2].
const V2_AUTH_SIMPLE: [u8; 24] = [
    0x21, 0x0a, 0x64, 0x02, 0x01, 0x03, 0xb9, 0x9f, // header
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, // 192.0.2.1, 192.0.2.2
    b's', b'e', b'c', b'r', b'e', b't', 0, 0, // authentication data
];
const SECRET: [u8; 8] = *b"secret\0\0";

fn parse<'a>(bytes: &'a [u8], ctx: &IpContext, mode: ChecksumMode) -> Result<Repr<'a>, DropReason> {
    Repr::parse(&Packet::new_unchecked(bytes), ctx, mode).map_err(|Error(reason)| reason)
}

fn emit(repr: &Repr, ctx: &IpContext, mode: ChecksumMode) -> Vec<u8> {
    let mut buf = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), ctx, mode);
    buf
}

/// Recomputes the checksum after a deliberate edit, so that only the edit is wrong.
fn refill(mut bytes: Vec<u8>, ctx: &IpContext, mode: ChecksumMode) -> Vec<u8> {
    Packet::new_unchecked(&mut bytes[..]).fill_checksum(ctx, mode);
    bytes
}

fn v4_list(repr: &Repr) -> Vec<Ipv4Addr> {
    repr.addresses.iter_v4().collect()
}

fn v6_list(repr: &Repr) -> Vec<Ipv6Addr> {
    repr.addresses.iter_v6().collect()
}

/// An IPv4 packet carrying `payload` as protocol 112, header checksum filled.
fn ipv4(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: GROUP_V4,
        next_header: IpProtocol::Unknown(112),
        payload_len: payload.len(),
        hop_limit: ttl,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet, &ChecksumCapabilities::default());
    packet.payload_mut().copy_from_slice(payload);
    buf
}

// ---------------------------------------------------------------------------------------------
// Field access and round trips on literal bytes

#[test]
fn packet_getters_on_keepalived_bytes() {
    let packet = Packet::new_checked(&KEEPALIVED_V3[..]).unwrap();
    assert_eq!(packet.version(), 3);
    assert_eq!(packet.msg_type(), 1);
    assert_eq!(packet.vrid(), 10);
    assert_eq!(packet.priority(), 200);
    assert_eq!(packet.addr_count(), 1);
    assert_eq!(packet.reserved(), 0);
    assert_eq!(packet.max_adver_int(), 100);
    assert_eq!(packet.checksum(), 0xa1f3);
    assert_eq!(packet.total_len(AddressFamily::Ipv4), 12);
    assert_eq!(packet.total_len(AddressFamily::Ipv6), 24);
    assert_eq!(packet.addresses(AddressFamily::Ipv4), &[192, 0, 2, 1]);
    // Truncated relative to an IPv6 list: the getter returns what is there, without panicking.
    assert_eq!(packet.addresses(AddressFamily::Ipv6), &[192, 0, 2, 1]);
    assert!(packet.verify_checksum(&CTX_R1, ChecksumMode::PseudoHeader));
    assert!(!packet.verify_checksum(&CTX_R1, ChecksumMode::MessageOnly));
}

#[test]
fn packet_getters_on_v2_bytes() {
    let packet = Packet::new_checked(&V2_AUTH_SIMPLE[..]).unwrap();
    assert_eq!(packet.version(), 2);
    assert_eq!(packet.auth_type(), 1);
    assert_eq!(packet.adver_int(), 3);
    assert_eq!(packet.addr_count(), 2);
    assert_eq!(packet.total_len(AddressFamily::Ipv4), 24);
    assert_eq!(packet.auth_data(AddressFamily::Ipv4), Some(&SECRET[..]));
    assert_eq!(packet.auth_data(AddressFamily::Ipv6), None);
}

#[test]
fn v3_ipv4_round_trip() {
    let repr = parse(&KEEPALIVED_V3, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(repr.version, Version::V3);
    assert_eq!(repr.vrid, 10);
    assert_eq!(repr.priority, 200);
    assert_eq!(repr.max_adver_int, 100);
    assert_eq!(repr.auth, Auth::None);
    assert_eq!(repr.addresses.family(), AddressFamily::Ipv4);
    assert_eq!(v4_list(&repr), [VIP]);
    assert_eq!(repr.buffer_len(), 12);
    assert_eq!(
        emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader),
        KEEPALIVED_V3
    );

    // The same advert built from configuration rather than from the wire.
    let from_config = Repr {
        version: Version::V3,
        vrid: 10,
        priority: 200,
        max_adver_int: 100,
        addresses: Addresses::V4(&[VIP]),
        auth: Auth::None,
    };
    assert_eq!(
        emit(&from_config, &CTX_R1, ChecksumMode::PseudoHeader),
        KEEPALIVED_V3
    );
    assert_eq!(
        emit(&from_config, &CTX_R1, ChecksumMode::MessageOnly),
        MESSAGE_ONLY_V3
    );
}

#[test]
fn v3_ipv4_round_trip_many_addresses_and_longest_interval() {
    let vips: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let repr = Repr {
        version: Version::V3,
        vrid: 255,
        priority: 255,
        max_adver_int: 4095,
        addresses: Addresses::V4(&vips),
        auth: Auth::None,
    };
    let bytes = emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader);
    assert_eq!(bytes.len(), 8 + 20 * 4);
    assert_eq!(&bytes[..6], &[0x31, 255, 255, 20, 0x0f, 0xff]);
    let parsed = parse(&bytes, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(parsed.max_adver_int, 4095);
    assert_eq!(v4_list(&parsed), vips);
}

#[test]
fn v3_ipv6_round_trip() {
    let repr = parse(&V3_IPV6, &CTX_V6, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(repr.version, Version::V3);
    assert_eq!(repr.vrid, 1);
    assert_eq!(repr.priority, 100);
    assert_eq!(repr.max_adver_int, 100);
    assert_eq!(repr.addresses.family(), AddressFamily::Ipv6);
    let expected: [Ipv6Addr; 2] = [
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    assert_eq!(v6_list(&repr), expected);
    assert!(v4_list(&repr).is_empty());
    assert_eq!(repr.buffer_len(), 40);
    assert_eq!(emit(&repr, &CTX_V6, ChecksumMode::PseudoHeader), V3_IPV6);

    let from_config = Repr {
        addresses: Addresses::V6(&expected),
        ..repr
    };
    assert_eq!(
        emit(&from_config, &CTX_V6, ChecksumMode::PseudoHeader),
        V3_IPV6
    );
}

#[test]
fn v3_ipv6_always_sums_the_pseudo_header() {
    let repr = parse(&V3_IPV6, &CTX_V6, ChecksumMode::MessageOnly).unwrap();
    assert_eq!(emit(&repr, &CTX_V6, ChecksumMode::MessageOnly), V3_IPV6);
    // A different source address changes the pseudo-header, hence the checksum.
    let other = IpContext::V6 {
        src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2),
        dst: GROUP_V6,
    };
    assert_eq!(
        parse(&V3_IPV6, &other, ChecksumMode::PseudoHeader),
        Err(DropReason::Checksum)
    );
}

#[test]
fn v2_auth_none_round_trip() {
    let repr = parse(&V2_AUTH_NONE, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(repr.version, Version::V2);
    assert_eq!(repr.vrid, 10);
    assert_eq!(repr.priority, 200);
    // Whole seconds on the wire, centiseconds in the Repr.
    assert_eq!(repr.max_adver_int, 100);
    assert_eq!(repr.auth, Auth::None);
    assert_eq!(v4_list(&repr), [VIP]);
    assert_eq!(repr.buffer_len(), 20);
    assert_eq!(
        emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader),
        V2_AUTH_NONE
    );
}

#[test]
fn v2_simple_text_round_trip() {
    let repr = parse(&V2_AUTH_SIMPLE, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(repr.version, Version::V2);
    assert_eq!(repr.priority, 100);
    assert_eq!(repr.max_adver_int, 300);
    assert_eq!(repr.auth, Auth::Simple(SECRET));
    assert_eq!(v4_list(&repr), [VIP, Ipv4Addr::new(192, 0, 2, 2)]);
    assert_eq!(repr.buffer_len(), 24);
    assert_eq!(
        emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader),
        V2_AUTH_SIMPLE
    );
}

#[test]
fn v2_ignores_the_checksum_mode_and_the_ip_addresses() {
    for mode in [ChecksumMode::PseudoHeader, ChecksumMode::MessageOnly] {
        for src in [R1, R2] {
            let ctx = IpContext::V4 { src, dst: GROUP_V4 };
            let repr = parse(&V2_AUTH_SIMPLE, &ctx, mode).unwrap();
            assert_eq!(emit(&repr, &ctx, mode), V2_AUTH_SIMPLE);
        }
    }
}

#[test]
fn v2_auth_type_zero_ignores_the_authentication_data() {
    let mut bytes = V2_AUTH_NONE.to_vec();
    bytes[12..].copy_from_slice(b"ignored!");
    let bytes = refill(bytes, &CTX_R1, ChecksumMode::MessageOnly);
    let repr = parse(&bytes, &CTX_R1, ChecksumMode::MessageOnly).unwrap();
    assert_eq!(repr.auth, Auth::None);
    assert_eq!(
        emit(&repr, &CTX_R1, ChecksumMode::MessageOnly),
        V2_AUTH_NONE
    );
}

#[test]
fn v3_reserved_bits_are_ignored_and_sent_as_zero() {
    let mut bytes = KEEPALIVED_V3.to_vec();
    bytes[4] |= 0xf0;
    let bytes = refill(bytes, &CTX_R1, ChecksumMode::PseudoHeader);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.reserved(), 0xf);
    assert_eq!(packet.max_adver_int(), 100);
    let repr = parse(&bytes, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(repr.max_adver_int, 100);
    assert_eq!(
        emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader),
        KEEPALIVED_V3
    );
}

// ---------------------------------------------------------------------------------------------
// Every reason the parser drops an advertisement for

#[test]
fn length_shorter_than_the_header() {
    for len in 0..HEADER_LEN {
        let bytes = &KEEPALIVED_V3[..len];
        assert_eq!(
            Packet::new_checked(bytes).map(|_| ()),
            Err(Error(DropReason::Length)),
            "{len} bytes"
        );
        assert_eq!(
            parse(bytes, &CTX_R1, ChecksumMode::PseudoHeader),
            Err(DropReason::Length),
            "{len} bytes"
        );
        assert_eq!(
            parse(bytes, &CTX_V6, ChecksumMode::PseudoHeader),
            Err(DropReason::Length),
            "{len} bytes"
        );
    }
}

#[test]
fn length_shorter_than_the_address_list() {
    // One address short.
    assert_eq!(
        parse(&KEEPALIVED_V3[..11], &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
    assert_eq!(
        parse(&KEEPALIVED_V3[..8], &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
    // A count of 2 with one address present.
    let mut bytes = KEEPALIVED_V3.to_vec();
    bytes[3] = 2;
    assert_eq!(
        parse(&bytes, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
    // An IPv4-sized list in an IPv6 packet.
    assert_eq!(
        parse(&KEEPALIVED_V3, &CTX_V6, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
    assert_eq!(
        parse(&V3_IPV6[..39], &CTX_V6, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
}

#[test]
fn length_v2_without_its_authentication_trailer() {
    for len in [12, 13, 19] {
        assert_eq!(
            parse(&V2_AUTH_NONE[..len], &CTX_R1, ChecksumMode::MessageOnly),
            Err(DropReason::Length),
            "{len} bytes"
        );
    }
    assert_eq!(
        parse(&V2_AUTH_SIMPLE[..16], &CTX_R1, ChecksumMode::MessageOnly),
        Err(DropReason::Length)
    );
}

#[test]
fn version_other_than_2_or_3() {
    for version in [0u8, 1, 4, 15] {
        let mut bytes = KEEPALIVED_V3.to_vec();
        bytes[0] = (version << 4) | 1;
        assert_eq!(
            parse(&bytes, &CTX_R1, ChecksumMode::PseudoHeader),
            Err(DropReason::Version),
            "version {version}"
        );
        let mut bytes = V3_IPV6.to_vec();
        bytes[0] = (version << 4) | 1;
        assert_eq!(
            parse(&bytes, &CTX_V6, ChecksumMode::PseudoHeader),
            Err(DropReason::Version),
            "version {version} over IPv6"
        );
    }
}

#[test]
fn version_2_over_ipv6() {
    let repr = Repr {
        version: Version::V2,
        vrid: 1,
        priority: 100,
        max_adver_int: 100,
        addresses: Addresses::V6(&[LINK_LOCAL]),
        auth: Auth::None,
    };
    let bytes = emit(&repr, &CTX_V6, ChecksumMode::PseudoHeader);
    assert_eq!(bytes.len(), 8 + 16 + 8);
    assert_eq!(bytes[0], 0x21);
    assert_eq!(
        parse(&bytes, &CTX_V6, ChecksumMode::PseudoHeader),
        Err(DropReason::Version)
    );
    // The v2 IPv4 bytes are long enough to be read as an IPv6 list; still refused.
    let mut long = V2_AUTH_NONE.to_vec();
    long.resize(64, 0);
    assert_eq!(
        parse(&long, &CTX_V6, ChecksumMode::MessageOnly),
        Err(DropReason::Version)
    );
}

#[test]
fn type_other_than_advertisement() {
    for msg_type in [0u8, 2, 3, 15] {
        for (base, ctx) in [
            (&KEEPALIVED_V3[..], CTX_R1),
            (&V2_AUTH_NONE[..], CTX_R1),
            (&V3_IPV6[..], CTX_V6),
        ] {
            let mut bytes = base.to_vec();
            bytes[0] = (bytes[0] & 0xf0) | msg_type;
            // A correct checksum, so that only the type is wrong.
            let bytes = refill(bytes, &ctx, ChecksumMode::PseudoHeader);
            assert_eq!(
                parse(&bytes, &ctx, ChecksumMode::PseudoHeader),
                Err(DropReason::Type),
                "type {msg_type}, version {}",
                bytes[0] >> 4
            );
        }
    }
}

#[test]
fn checksum_with_a_flipped_bit() {
    for (base, ctx) in [
        (&KEEPALIVED_V3[..], CTX_R1),
        (&V2_AUTH_SIMPLE[..], CTX_R1),
        (&V3_IPV6[..], CTX_V6),
    ] {
        // Every bit after the version/type byte and outside the address count.
        for byte in (1..base.len()).filter(|&i| i != 3) {
            for bit in 0..8 {
                let mut bytes = base.to_vec();
                bytes[byte] ^= 1 << bit;
                assert_eq!(
                    parse(&bytes, &ctx, ChecksumMode::PseudoHeader),
                    Err(DropReason::Checksum),
                    "byte {byte} bit {bit} of {base:02x?}"
                );
            }
        }
    }
}

#[test]
fn checksum_depends_on_the_ipv4_addresses_in_pseudo_header_mode() {
    let other_source = IpContext::V4 {
        src: R2,
        dst: GROUP_V4,
    };
    assert_eq!(
        parse(&KEEPALIVED_V3, &other_source, ChecksumMode::PseudoHeader),
        Err(DropReason::Checksum)
    );
    // ...and not in message-only mode.
    assert!(parse(&MESSAGE_ONLY_V3, &other_source, ChecksumMode::MessageOnly).is_ok());
}

#[test]
fn address_count_zero() {
    for (base, ctx, len) in [
        (&KEEPALIVED_V3[..], CTX_R1, 8),
        (&V3_IPV6[..], CTX_V6, 8),
        (&V2_AUTH_NONE[..], CTX_R1, 8),
    ] {
        let mut bytes = base[..len].to_vec();
        bytes[3] = 0;
        if bytes[0] >> 4 == 2 {
            bytes.extend_from_slice(&[0; 8]);
        }
        let bytes = refill(bytes, &ctx, ChecksumMode::PseudoHeader);
        assert_eq!(
            parse(&bytes, &ctx, ChecksumMode::PseudoHeader),
            Err(DropReason::AddressCount),
            "{bytes:02x?}"
        );
    }
}

#[test]
fn interval_zero() {
    let mut v3 = KEEPALIVED_V3.to_vec();
    v3[4..6].copy_from_slice(&[0, 0]);
    let v3 = refill(v3, &CTX_R1, ChecksumMode::PseudoHeader);
    assert_eq!(
        parse(&v3, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Interval)
    );
    // Only the reserved bits set: the 12-bit interval is still zero.
    let mut v3 = KEEPALIVED_V3.to_vec();
    v3[4..6].copy_from_slice(&[0xf0, 0]);
    let v3 = refill(v3, &CTX_R1, ChecksumMode::PseudoHeader);
    assert_eq!(
        parse(&v3, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Interval)
    );

    let mut v2 = V2_AUTH_SIMPLE.to_vec();
    v2[5] = 0;
    let v2 = refill(v2, &CTX_R1, ChecksumMode::MessageOnly);
    assert_eq!(
        parse(&v2, &CTX_R1, ChecksumMode::MessageOnly),
        Err(DropReason::Interval)
    );
}

#[test]
fn auth_type_2_and_unknown_types() {
    for auth_type in [2u8, 3, 0x7f, 0xff] {
        let mut bytes = V2_AUTH_SIMPLE.to_vec();
        bytes[4] = auth_type;
        let bytes = refill(bytes, &CTX_R1, ChecksumMode::MessageOnly);
        assert_eq!(
            parse(&bytes, &CTX_R1, ChecksumMode::MessageOnly),
            Err(DropReason::Auth),
            "auth type {auth_type}"
        );
    }
}

#[test]
fn checks_run_in_rfc_order() {
    // Version before type before length before checksum: a message wrong in every way is
    // dropped for its version.
    let garbage = [0x40u8, 0, 0, 9, 0, 0, 0, 0];
    assert_eq!(
        parse(&garbage, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Version)
    );
    let garbage = [0x30u8, 0, 0, 9, 0, 0, 0, 0];
    assert_eq!(
        parse(&garbage, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Type)
    );
    let garbage = [0x31u8, 0, 0, 9, 0, 0, 0, 0];
    assert_eq!(
        parse(&garbage, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Length)
    );
    // Count 0 and interval 0 with a bad checksum: the checksum is what fails.
    let garbage = [0x31u8, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        parse(&garbage, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Checksum)
    );
}

// ---------------------------------------------------------------------------------------------
// Checksum modes

#[test]
fn v3_ipv4_checksum_modes_do_not_cross_verify() {
    let repr = parse(&KEEPALIVED_V3, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    let pseudo = emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader);
    let message_only = emit(&repr, &CTX_R1, ChecksumMode::MessageOnly);
    assert_eq!(pseudo, KEEPALIVED_V3);
    assert_eq!(message_only, MESSAGE_ONLY_V3);

    assert!(parse(&pseudo, &CTX_R1, ChecksumMode::PseudoHeader).is_ok());
    assert_eq!(
        parse(&pseudo, &CTX_R1, ChecksumMode::MessageOnly),
        Err(DropReason::Checksum)
    );
    assert!(parse(&message_only, &CTX_R1, ChecksumMode::MessageOnly).is_ok());
    assert_eq!(
        parse(&message_only, &CTX_R1, ChecksumMode::PseudoHeader),
        Err(DropReason::Checksum)
    );
}

#[test]
fn default_checksum_mode_is_the_pseudo_header() {
    assert_eq!(ChecksumMode::default(), ChecksumMode::PseudoHeader);
}

// ---------------------------------------------------------------------------------------------
// Padding after the message

#[test]
fn trailing_padding_after_the_message_is_accepted() {
    for (base, ctx) in [
        (&KEEPALIVED_V3[..], CTX_R1),
        (&V2_AUTH_SIMPLE[..], CTX_R1),
        (&V3_IPV6[..], CTX_V6),
    ] {
        let expected = parse(base, &ctx, ChecksumMode::PseudoHeader).unwrap();
        for pad in [1usize, 2, 3, 34] {
            for fill in [0x00u8, 0xff, 0x5a] {
                let mut bytes = base.to_vec();
                bytes.resize(base.len() + pad, fill);
                let repr = parse(&bytes, &ctx, ChecksumMode::PseudoHeader)
                    .unwrap_or_else(|e| panic!("{pad} x {fill:#x} padding: {e}"));
                assert_eq!(repr, expected);
                // The padding is not part of the address list.
                assert_eq!(repr.addresses.len(), expected.addresses.len());
                assert_eq!(repr.buffer_len(), base.len());
            }
        }
    }
}

#[test]
fn parse_ipv4_advert_keepalived_frame() {
    let ip = &KEEPALIVED_FRAME_R2[ETH_HEADER_LEN..];
    let (source, ttl, repr) = parse_ipv4_advert(ip, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(source, R2);
    assert_eq!(ttl, 255);
    assert_eq!(repr.version, Version::V3);
    assert_eq!(repr.vrid, 10);
    assert_eq!(repr.priority, 100);
    assert_eq!(repr.max_adver_int, 5);
    assert_eq!(v4_list(&repr), [VIP]);
    assert_eq!(
        parse_ipv4_advert(ip, ChecksumMode::MessageOnly).map(|_| ()),
        Err(DropReason::Checksum)
    );
}

/// A packet of another protocol or IP version is refused before its payload is read as VRRP
/// (the kernel's raw socket filters these, a firmware's device may not).
#[test]
fn parse_ipv4_advert_refuses_other_protocols_and_versions() {
    let mut ip = KEEPALIVED_FRAME_R2[ETH_HEADER_LEN..].to_vec();
    ip[9] = 17; // UDP
    // The header checksum must stay valid so that only the protocol is wrong.
    let mut header = smoltcp::wire::Ipv4Packet::new_unchecked(&mut ip[..]);
    header.fill_checksum();
    assert_eq!(
        parse_ipv4_advert(&ip, ChecksumMode::PseudoHeader).map(|_| ()),
        Err(DropReason::Protocol)
    );
    let mut v6 = KEEPALIVED_FRAME_R2[ETH_HEADER_LEN..].to_vec();
    v6[0] = 0x65;
    assert!(parse_ipv4_advert(&v6, ChecksumMode::PseudoHeader).is_err());
}

#[test]
fn parse_ipv4_advert_with_ethernet_minimum_frame_padding() {
    // A 60-byte minimum frame carries 46 bytes of IP: the 32-byte packet plus 14 of padding,
    // which total_len excludes. The padding must not reach the VRRP checksum.
    let mut frame = KEEPALIVED_FRAME_R2.to_vec();
    frame.resize(60, 0);
    let ip = &frame[ETH_HEADER_LEN..];
    assert_eq!(ip.len(), 46);
    assert_eq!(Ipv4Packet::new_checked(ip).unwrap().total_len(), 32);
    let (source, ttl, repr) = parse_ipv4_advert(ip, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!((source, ttl), (R2, 255));
    assert_eq!(repr.priority, 100);
    assert_eq!(v4_list(&repr), [VIP]);

    // Non-zero padding too (some NICs do not zero it).
    let mut frame = KEEPALIVED_FRAME_R2.to_vec();
    frame.resize(60, 0xee);
    let (_, _, padded) =
        parse_ipv4_advert(&frame[ETH_HEADER_LEN..], ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(padded, repr);
}

#[test]
fn parse_ipv4_advert_v2_with_padding() {
    let mut ip = ipv4(R1, 255, &V2_AUTH_NONE);
    ip.extend_from_slice(&[0xab; 6]);
    for mode in [ChecksumMode::PseudoHeader, ChecksumMode::MessageOnly] {
        let (source, ttl, repr) = parse_ipv4_advert(&ip, mode).unwrap();
        assert_eq!((source, ttl), (R1, 255));
        assert_eq!(repr.version, Version::V2);
        assert_eq!(v4_list(&repr), [VIP]);
    }
}

#[test]
fn parse_ipv4_advert_reports_the_ttl() {
    let ip = ipv4(R1, 64, &KEEPALIVED_V3);
    let (source, ttl, repr) = parse_ipv4_advert(&ip, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!((source, ttl), (R1, 64));
    assert_eq!(repr.priority, 200);
}

#[test]
fn parse_ipv4_advert_skips_ip_options() {
    // IHL 6: one 4-byte option (four NOPs) before the VRRP message.
    let mut ip = ipv4(R1, 255, &KEEPALIVED_V3);
    ip.splice(20..20, [1u8, 1, 1, 1]);
    let mut packet = Ipv4Packet::new_unchecked(&mut ip[..]);
    packet.set_header_len(24);
    packet.set_total_len(36);
    packet.fill_checksum();
    let (source, _, repr) = parse_ipv4_advert(&ip, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(source, R1);
    assert_eq!(v4_list(&repr), [VIP]);
}

#[test]
fn parse_ipv4_advert_malformed_ip() {
    let good = ipv4(R1, 255, &KEEPALIVED_V3);
    assert_eq!(good.len(), 32);
    let check = |bytes: &[u8], reason: DropReason, what: &str| {
        assert_eq!(
            parse_ipv4_advert(bytes, ChecksumMode::PseudoHeader).map(|_| ()),
            Err(reason),
            "{what}"
        );
    };
    check(&[], DropReason::Length, "empty");
    check(
        &good[..19],
        DropReason::Length,
        "shorter than an IPv4 header",
    );
    check(
        &good[..31],
        DropReason::Length,
        "total_len beyond the buffer",
    );
    check(
        &good[..20],
        DropReason::Length,
        "truncated to the IP header",
    );
    let mut empty = good[..20].to_vec();
    Ipv4Packet::new_unchecked(&mut empty[..]).set_total_len(20);
    check(&empty, DropReason::Length, "no VRRP payload");

    // total_len cuts the VRRP message: its own length check fails.
    let mut short = good.clone();
    Ipv4Packet::new_unchecked(&mut short[..]).set_total_len(31);
    check(
        &short,
        DropReason::Length,
        "total_len inside the address list",
    );
    Ipv4Packet::new_unchecked(&mut short[..]).set_total_len(24);
    check(
        &short,
        DropReason::Length,
        "total_len inside the VRRP header",
    );

    // IHL below 5, or beyond total_len.
    let mut bad_ihl = good.clone();
    bad_ihl[0] = 0x44;
    check(&bad_ihl, DropReason::Length, "IHL 4");
    let mut bad_ihl = good.clone();
    bad_ihl[0] = 0x4f;
    check(&bad_ihl, DropReason::Length, "IHL 15 > total_len");

    // VRRP errors pass through.
    let mut bad_sum = good.clone();
    bad_sum[20 + 7] ^= 0x01;
    check(&bad_sum, DropReason::Checksum, "VRRP checksum");
    let mut bad_version = good;
    bad_version[20] = 0x11;
    check(&bad_version, DropReason::Version, "VRRP version 1");
}

// ---------------------------------------------------------------------------------------------
// Display and the reason table

#[test]
fn display() {
    let v3 = parse(&KEEPALIVED_V3, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(
        v3.to_string(),
        "VRRPv3 vrid=10 prio=200 int=100cs addrs=[192.0.2.1]"
    );
    let v2 = parse(&V2_AUTH_SIMPLE, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(
        v2.to_string(),
        "VRRPv2 vrid=10 prio=100 int=300cs addrs=[192.0.2.1,192.0.2.2]"
    );
    let v6 = parse(&V3_IPV6, &CTX_V6, ChecksumMode::PseudoHeader).unwrap();
    assert_eq!(
        v6.to_string(),
        "VRRPv3 vrid=1 prio=100 int=100cs addrs=[2001:db8::1,2001:db8::2]"
    );
    assert_eq!(DropReason::AddressCount.to_string(), "address_count");
    assert_eq!(
        Error(DropReason::Checksum).to_string(),
        "invalid VRRP advertisement: checksum"
    );
}

#[test]
fn drop_reason_table() {
    let names: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "ttl",
            "version",
            "type",
            "vrid",
            "length",
            "checksum",
            "address_count",
            "interval",
            "auth",
            "peer",
            "version_mismatch",
            "source",
            "protocol"
        ]
    );
    for (i, reason) in DropReason::ALL.iter().enumerate() {
        assert_eq!(reason.index(), i, "{reason}");
    }
}

// ---------------------------------------------------------------------------------------------
// The real keepalived 2.2.7 advertisements

fn traces_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing and CI is set",
        dir.display()
    );
    println!("skipped: {} is missing", dir.display());
    None
}

#[derive(Debug, Default, PartialEq, Eq)]
struct TraceCounts {
    /// Adverts per source address.
    adverts: BTreeMap<Ipv4Addr, usize>,
    /// Every frame in the file, VRRP or not.
    frames: usize,
}

/// Parses every VRRP frame (Ethernet, IPv4, protocol 112) of `file` and checks what every one
/// of them must satisfy; returns the advert count per source.
fn check_trace(file: &str, interval_cs: u16) -> Option<TraceCounts> {
    let path = traces_dir()?.join(file);
    let reader = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pcap = pcap_file::pcap::PcapReader::new(reader).unwrap();
    let mut counts = TraceCounts::default();
    while let Some(record) = pcap.next_packet() {
        let record = record.unwrap();
        counts.frames += 1;
        let n = counts.frames;
        let frame = EthernetFrame::new_checked(&record.data[..]).unwrap();
        if frame.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(frame.payload()).unwrap();
        if ip.next_header() != IpProtocol::Unknown(112) {
            continue;
        }
        assert!(ip.verify_checksum(), "frame {n}: IPv4 header checksum");
        assert_eq!(ip.dst_addr(), GROUP_V4, "frame {n}");

        let (source, ttl, repr) = parse_ipv4_advert(frame.payload(), ChecksumMode::PseudoHeader)
            .unwrap_or_else(|e| panic!("frame {n} of {file}: {e}"));
        assert_eq!(
            parse_ipv4_advert(frame.payload(), ChecksumMode::MessageOnly).map(|_| ()),
            Err(DropReason::Checksum),
            "frame {n}: keepalived sums the pseudo-header"
        );
        assert_eq!(ttl, 255, "frame {n}");
        assert_eq!(repr.version, Version::V3, "frame {n}");
        assert_eq!(repr.vrid, 10, "frame {n}");
        let expected_priority = match source {
            R1 => 200,
            R2 => 100,
            other => panic!("frame {n}: advert from {other}"),
        };
        assert_eq!(repr.priority, expected_priority, "frame {n}");
        assert_eq!(repr.max_adver_int, interval_cs, "frame {n}");
        assert_eq!(repr.auth, Auth::None, "frame {n}");
        assert_eq!(v4_list(&repr), [VIP], "frame {n}");
        // Re-emitting gives keepalived's bytes exactly.
        let ctx = IpContext::V4 {
            src: source,
            dst: GROUP_V4,
        };
        assert_eq!(
            emit(&repr, &ctx, ChecksumMode::PseudoHeader),
            ip.payload(),
            "frame {n}"
        );
        *counts.adverts.entry(source).or_default() += 1;
    }
    Some(counts)
}

// Counts from `tshark -r FILE -Y vrrp -T fields -e ip.src | sort | uniq -c`.

#[test]
fn keepalived_trace_1s() {
    let Some(counts) = check_trace("keepalived-v3-1s-pause.pcap", 100) else {
        return;
    };
    assert_eq!(counts.adverts, BTreeMap::from([(R1, 15), (R2, 4)]));
}

#[test]
fn keepalived_trace_50ms() {
    let Some(counts) = check_trace("keepalived-v3-50ms-pause.pcap", 5) else {
        return;
    };
    assert_eq!(counts.adverts, BTreeMap::from([(R1, 393), (R2, 117)]));
}

// ---------------------------------------------------------------------------------------------
// Values a version cannot carry, and the address-set comparison

#[test]
fn v3_interval_beyond_12_bits_is_clamped_not_wrapped() {
    for (asked, sent) in [
        (4095u16, 4095u16),
        (4096, 4095),
        (4196, 4095),
        (u16::MAX, 4095),
    ] {
        let repr = Repr {
            version: Version::V3,
            vrid: 10,
            priority: 200,
            max_adver_int: asked,
            addresses: Addresses::V4(&[VIP]),
            auth: Auth::None,
        };
        let bytes = emit(&repr, &CTX_R1, ChecksumMode::PseudoHeader);
        assert_eq!(bytes[4] >> 4, 0, "reserved bits stay zero");
        let parsed = parse(&bytes, &CTX_R1, ChecksumMode::PseudoHeader).unwrap();
        assert_eq!(parsed.max_adver_int, sent, "asked for {asked} cs");
    }
}

#[test]
fn same_set_v4_compares_sets() {
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let b = Ipv4Addr::new(192, 0, 2, 2);
    assert!(Addresses::V4(&[a, b]).same_set_v4(&[b, a]));
    assert!(
        Addresses::Wire(AddressFamily::Ipv4, &[192, 0, 2, 2, 192, 0, 2, 1]).same_set_v4(&[a, b])
    );
    assert!(!Addresses::V4(&[a]).same_set_v4(&[b]));
    assert!(!Addresses::V4(&[a]).same_set_v4(&[a, b]));
    // Same length, but {a} is not {a, b}.
    assert!(!Addresses::V4(&[a, a]).same_set_v4(&[a, b]));
    assert!(!Addresses::V4(&[a, b]).same_set_v4(&[a, a]));
    // An IPv6 list is never the same as an IPv4 one.
    assert!(!Addresses::V6(&[LINK_LOCAL]).same_set_v4(&[a]));
    assert!(!Addresses::Wire(AddressFamily::Ipv6, &V3_IPV6[8..24]).same_set_v4(&[a]));
}
