//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 sums with the message.

use core::net::{Ipv4Addr, Ipv6Addr};

/// VRRP's IP protocol number.
const PROTOCOL: u32 = 112;

/// One's complement sum of `data` as big-endian 16-bit words, not yet folded.
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds the carries and complements: the value to store, or zero when verifying a good sum.
pub fn finish(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// RFC 791 style pseudo-header: source, destination, zero, protocol, length.
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> u32 {
    sum(&src.octets()) + sum(&dst.octets()) + PROTOCOL + (len as u32 & 0xffff)
}

/// RFC 8200 §8.1 pseudo-header.
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> u32 {
    sum(&src.octets()) + sum(&dst.octets()) + PROTOCOL + (len as u32 & 0xffff)
}
