//! Feeds arbitrary bytes to every advertisement parser, as they are and with the VRRP checksum
//! made right. Nothing may panic, and whatever parses must re-emit to bytes that parse to the
//! same advertisement.
#![no_main]

use core::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vrrp_core::net::parse_ipv4_advert;
use vrrp_core::wire::{ChecksumMode, IpContext, MULTICAST_V4, MULTICAST_V6, Packet, Repr};

const CONTEXTS: [IpContext; 2] = [
    IpContext::V4 {
        src: Ipv4Addr::new(192, 0, 2, 11),
        dst: MULTICAST_V4,
    },
    IpContext::V6 {
        src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        dst: MULTICAST_V6,
    },
];

fuzz_target!(|data: &[u8]| {
    for mode in [ChecksumMode::PseudoHeader, ChecksumMode::MessageOnly] {
        // As the raw socket delivers it: an IPv4 packet, header included.
        if let Ok((source, _ttl, repr)) = parse_ipv4_advert(data, mode) {
            // It parsed, so the 20-byte IPv4 header is there; the pseudo-header needs its
            // destination.
            let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
            round_trip(&repr, &IpContext::V4 { src: source, dst }, mode);
        }
        // The VRRP message alone, for either family.
        for ctx in &CONTEXTS {
            if let Ok(repr) = Repr::parse(&Packet::new_unchecked(data), ctx, mode) {
                round_trip(&repr, ctx, mode);
            }
            // Again with the checksum made right: nearly every mutant fails the checksum, which
            // hides what the parser checks after it (a 30-minute run without this never reached
            // the VRRPv2 authentication fields).
            let mut buf = [0u8; 4096];
            if let Some(fixed) = with_checksum(data, ctx, mode, &mut buf)
                && let Ok(repr) = Repr::parse(&Packet::new_unchecked(&*fixed), ctx, mode)
            {
                round_trip(&repr, ctx, mode);
            }
        }
    }
});

/// `data` copied into `buf` with its checksum filled in for `ctx`, if it is long enough to hold
/// the message its header describes.
fn with_checksum<'b>(
    data: &[u8],
    ctx: &IpContext,
    mode: ChecksumMode,
    buf: &'b mut [u8; 4096],
) -> Option<&'b [u8]> {
    let fixed = buf.get_mut(..data.len())?;
    fixed.copy_from_slice(data);
    let mut packet = Packet::new_unchecked(&mut *fixed);
    packet.check_len().ok()?;
    if data.len() < packet.total_len(ctx.family()) {
        return None;
    }
    packet.fill_checksum(ctx, mode);
    Some(fixed)
}

fn round_trip(repr: &Repr, ctx: &IpContext, mode: ChecksumMode) {
    let mut buf = [0u8; 4096];
    let out = &mut buf[..repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut *out), ctx, mode);
    let again = Repr::parse(&Packet::new_unchecked(&*out), ctx, mode)
        .expect("an emitted advertisement parses");
    assert_eq!(again.version, repr.version);
    assert_eq!(again.vrid, repr.vrid);
    assert_eq!(again.priority, repr.priority);
    assert_eq!(again.max_adver_int, repr.max_adver_int);
    assert_eq!(again.auth, repr.auth);
    assert!(again.addresses.iter_v4().eq(repr.addresses.iter_v4()));
    assert!(again.addresses.iter_v6().eq(repr.addresses.iter_v6()));
}
