//! Crafted VRRP advertisements (valid, or with one fault) and their injection from a namespace
//! with the `inject` binary of this crate (the malformed and hostile adverts of
//! `tests/hostile.rs`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::VIP;
use crate::lab::Lab;

/// One advertisement to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertSpec {
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// IPv4 source.
    pub src: Ipv4Addr,
    /// IPv4 destination (224.0.0.18 for multicast).
    pub dst: Ipv4Addr,
    /// IP TTL (255 is the only valid value).
    pub ttl: u8,
    /// 2 or 3.
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Interval: centiseconds for v3, the v2 field is `interval_cs / 100` seconds.
    pub interval_cs: u16,
    /// Addresses carried.
    pub addrs: Vec<Ipv4Addr>,
}

/// What to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A valid advert.
    None,
    /// TTL other than 255 (the spec's `ttl` is used as given).
    Ttl(u8),
    /// The VRRP checksum off by one.
    BadChecksum,
    /// Only this many bytes of the VRRP message, in a well-formed IP packet (IP total length and
    /// header checksum match the short payload, so that the kernel and the bridge pass it).
    Truncate(usize),
}

impl AdvertSpec {
    /// A valid VRRPv3 advert for VIP 192.0.2.1 from `node`.
    pub fn v3(src_mac: [u8; 6], src: Ipv4Addr, vrid: u8, priority: u8, interval_cs: u16) -> Self {
        AdvertSpec {
            src_mac,
            src,
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            version: 3,
            vrid,
            priority,
            interval_cs,
            addrs: vec![VIP],
        }
    }

    /// The Ethernet frame, with `fault` applied.
    pub fn frame(&self, fault: Fault) -> Vec<u8> {
        let mut vrrp = vec![(self.version << 4) | 1, self.vrid, self.priority];
        vrrp.push(u8::try_from(self.addrs.len()).expect("at most 255 addresses"));
        if self.version == 3 {
            vrrp.extend_from_slice(&(self.interval_cs & 0x0fff).to_be_bytes());
        } else {
            // auth type 0, interval in seconds
            vrrp.push(0);
            vrrp.push(u8::try_from(self.interval_cs / 100).unwrap_or(u8::MAX));
        }
        vrrp.extend_from_slice(&[0, 0]);
        for a in &self.addrs {
            vrrp.extend_from_slice(&a.octets());
        }
        if self.version == 2 {
            vrrp.extend_from_slice(&[0; 8]); // authentication data
        }
        let csum = if self.version == 3 {
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&self.src.octets());
            pseudo.extend_from_slice(&self.dst.octets());
            pseudo.extend_from_slice(&[0, 112]);
            pseudo.extend_from_slice(&u16::try_from(vrrp.len()).unwrap().to_be_bytes());
            pseudo.extend_from_slice(&vrrp);
            checksum(&pseudo)
        } else {
            checksum(&vrrp)
        };
        let csum = if fault == Fault::BadChecksum {
            csum.wrapping_add(1)
        } else {
            csum
        };
        vrrp[6..8].copy_from_slice(&csum.to_be_bytes());

        let ttl = match fault {
            Fault::Ttl(t) => t,
            _ => self.ttl,
        };
        if let Fault::Truncate(n) = fault {
            vrrp.truncate(n);
        }
        let total = u16::try_from(20 + vrrp.len()).unwrap();
        let mut ip = vec![0x45, 0xc0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0, 0, ttl, 112, 0, 0]);
        ip.extend_from_slice(&self.src.octets());
        ip.extend_from_slice(&self.dst.octets());
        let hc = checksum(&ip);
        ip[10..12].copy_from_slice(&hc.to_be_bytes());

        let dst_mac = if self.dst.is_multicast() {
            let o = self.dst.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        } else {
            [0xff; 6]
        };
        let mut f = Vec::new();
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&vrrp);
        // Ethernet minimum frame (without FCS), as a NIC would pad it.
        f.resize(f.len().max(60), 0);
        f
    }
}

/// A valid VRRPv3 advert over IPv6 (hop limit 255) from `src` to `dst` (ff02::12 or a
/// peer's address, whose MAC is `dst_mac`), listing `addrs`.
#[allow(clippy::too_many_arguments)]
pub fn advert6_frame(
    src_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    dst_mac: [u8; 6],
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    addrs: &[Ipv6Addr],
) -> Vec<u8> {
    let mut vrrp = vec![0x31, vrid, priority, u8::try_from(addrs.len()).unwrap()];
    vrrp.extend_from_slice(&(interval_cs & 0x0fff).to_be_bytes());
    vrrp.extend_from_slice(&[0, 0]);
    for a in addrs {
        vrrp.extend_from_slice(&a.octets());
    }
    let len = u16::try_from(vrrp.len()).unwrap();
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::from(len).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 112]);
    pseudo.extend_from_slice(&vrrp);
    let csum = checksum(&pseudo);
    vrrp[6..8].copy_from_slice(&csum.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[112, 255]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&vrrp);
    f
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends `frames` out of `eth0` of `node`, `count` rounds `interval` apart, with the `inject`
/// binary (`env!("CARGO_BIN_EXE_inject")`). Returns how many frames were sent.
pub fn inject(
    lab: &Lab,
    injector: &str,
    node: &str,
    frames: &[Vec<u8>],
    count: usize,
    interval: Duration,
) -> usize {
    let (c, i) = (count.to_string(), interval.as_millis().to_string());
    let hex: Vec<String> = frames
        .iter()
        .map(|f| f.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut args = vec!["--iface", "eth0", "--count", &c, "--interval-ms", &i];
    args.extend(hex.iter().map(String::as_str));
    let out = lab.exec_ok(node, injector, &args);
    out.trim()
        .strip_prefix("sent ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("inject: unexpected output {out:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Payload, decode};

    #[test]
    fn crafted_advert_decodes_and_checksums() {
        let spec = AdvertSpec::v3(
            [2, 0, 0xc0, 0, 2, 13],
            Ipv4Addr::new(192, 0, 2, 13),
            10,
            254,
            10,
        );
        let f = spec.frame(Fault::None);
        // RFC 1071: the checksum over data including its checksum is 0.
        assert_eq!(checksum(&f[14..34]), 0, "IP header checksum");
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&[192, 0, 2, 13, 224, 0, 0, 18, 0, 112, 0, 12]);
        pseudo.extend_from_slice(&f[34..]);
        assert_eq!(checksum(&pseudo), 0, "VRRPv3 checksum");
        let Payload::Vrrp(a) = decode(0.0, &f).unwrap().payload else {
            panic!("not VRRP")
        };
        assert_eq!(
            (a.vrid, a.priority, a.ttl, a.interval_cs),
            (10, 254, 255, 10)
        );
        assert_eq!(&f[0..6], &[0x01, 0x00, 0x5e, 0, 0, 18]);

        let bad = spec.frame(Fault::BadChecksum);
        pseudo.truncate(12);
        pseudo.extend_from_slice(&bad[34..]);
        assert_ne!(checksum(&pseudo), 0);
        assert_eq!(spec.frame(Fault::Ttl(64))[22], 64);
        let short = spec.frame(Fault::Truncate(6));
        assert_eq!(short.len(), 60, "padded");
        assert_eq!(
            u16::from_be_bytes([short[16], short[17]]),
            26,
            "IP total length"
        );
        assert_eq!(checksum(&short[14..34]), 0);
    }

    #[test]
    fn ipv6_advert_checksums_over_its_pseudo_header() {
        let src: Ipv6Addr = "fe80::100".parse().unwrap();
        let dst: Ipv6Addr = "ff02::12".parse().unwrap();
        let vip: Ipv6Addr = "fe80::63".parse().unwrap();
        let mac = [0x33, 0x33, 0, 0, 0, 0x12];
        let f = advert6_frame([2, 0, 0, 0, 0, 1], src, dst, mac, 99, 100, 10, &[vip]);
        assert_eq!(f.len(), 14 + 40 + 8 + 16);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!((f[20], f[21]), (112, 255), "next header, hop limit");
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 24, "payload length");
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&f[22..54]);
        pseudo.extend_from_slice(&[0, 0, 0, 24, 0, 0, 0, 112]);
        pseudo.extend_from_slice(&f[54..]);
        assert_eq!(checksum(&pseudo), 0, "VRRPv3 checksum");
        assert_eq!((f[55], f[56], f[57]), (99, 100, 1), "vrid, priority, count");
    }

    #[test]
    fn v2_checksum_has_no_pseudo_header() {
        let mut spec = AdvertSpec::v3(
            [2, 0, 0xc0, 0, 2, 13],
            Ipv4Addr::new(192, 0, 2, 13),
            10,
            254,
            100,
        );
        spec.version = 2;
        let f = spec.frame(Fault::None);
        assert_eq!(checksum(&f[34..]), 0);
        assert_eq!(f[34 + 5], 1, "1 s");
    }
}
