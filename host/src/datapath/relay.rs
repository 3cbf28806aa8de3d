//! The user-space relay of VIP traffic into the kernel: the fallback where the kernel fast path
//! cannot be installed, and the backstop for frames that reach the TAP while it lapses.
//!
//! While a virtual router is Active, its VIPs are local addresses on `lo` and smoltcp answers ARP
//! for them with the virtual MAC, so clients send VIP traffic to the virtual MAC. A frame the
//! bridge forwards to the TAP is turned around by [`Relay::verdict`]: destination MAC = the
//! bridge's own, source MAC = the virtual MAC. Written back into the TAP, the bridge then delivers
//! it to the local IP stack, where nginx (bound to 0.0.0.0) answers and the reply leaves through
//! the kernel without crossing user space again.
//!
//! IPv6 works the same way with the IPv6 virtual MAC 00:00:5e:00:02:VRID, Neighbor Discovery in
//! place of ARP. A link-local VIP is not relayed: the kernel scopes link-local addresses to an
//! interface and would not take one of `lo`'s from the bridge, so smoltcp answers for it alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_core::wire::virtual_mac_octets;

use super::classify::{Verdict, classify};

/// The virtual MAC of `vrid` for a VIP of `vip`'s family (RFC 9568 §7.3).
pub fn virtual_mac_for(vrid: u8, vip: IpAddr) -> [u8; 6] {
    match vip {
        IpAddr::V4(_) => virtual_mac_octets::<Ipv4Addr>(vrid),
        IpAddr::V6(_) => virtual_mac_octets::<Ipv6Addr>(vrid),
    }
}

/// Turns a frame that arrived for a virtual MAC around towards the bridge: the destination becomes
/// `bridge_mac`, the source the virtual MAC it was sent to, so the bridge keeps learning the
/// virtual MAC on the TAP port. Frames shorter than an Ethernet header are left alone.
pub fn rewrite_for_kernel(frame: &mut [u8], bridge_mac: [u8; 6]) {
    if frame.len() < 14 {
        return;
    }
    frame.copy_within(0..6, 6);
    frame[0..6].copy_from_slice(&bridge_mac);
}

/// The relay table: which (virtual MAC, VIP) pairs are served right now, and the bridge's MAC.
#[derive(Clone, Debug)]
pub struct Relay {
    bridge_mac: [u8; 6],
    /// (VRID, VIP) of every Active router. A handful of entries: a linear scan beats hashing.
    served: Vec<(u8, IpAddr)>,
}

impl Relay {
    pub fn new(bridge_mac: [u8; 6]) -> Relay {
        Relay {
            bridge_mac,
            served: Vec::new(),
        }
    }

    /// Starts relaying `vips` of router `vrid` (call on entering Active, after adding them to `lo`).
    pub fn serve(&mut self, vrid: u8, vips: &[IpAddr]) {
        self.stop(vrid);
        self.served
            .extend(vips.iter().filter(|v| on_lo(**v)).map(|&v| (vrid, v)));
    }

    /// Stops relaying for router `vrid` (call on leaving Active).
    pub fn stop(&mut self, vrid: u8) {
        self.served.retain(|&(r, _)| r != vrid);
    }

    /// Whether unicast to `ip` sent to `mac` is ours to relay.
    pub fn serves(&self, mac: [u8; 6], ip: IpAddr) -> bool {
        self.router_for(mac, ip).is_some()
    }

    /// The router whose VIP `ip` at `mac` is, while it is served.
    fn router_for(&self, mac: [u8; 6], ip: IpAddr) -> Option<u8> {
        self.served
            .iter()
            .find(|&&(vrid, vip)| vip == ip && virtual_mac_for(vrid, vip) == mac)
            .map(|&(vrid, _)| vrid)
    }

    /// Classifies `frame` and, when it is to be relayed, rewrites it in place.
    pub fn verdict(&self, frame: &mut [u8]) -> Verdict {
        self.verdict_unless(frame, |_| false)
    }

    /// As [`Relay::verdict`], but VIP traffic of a router for which `stale(vrid)` holds is
    /// dropped instead of relayed (see `DataPath::discard_stale`).
    pub fn verdict_unless(&self, frame: &mut [u8], stale: impl Fn(u8) -> bool) -> Verdict {
        let mut vrid = None;
        let v = classify(frame, |mac, ip| {
            vrid = self.router_for(mac, ip);
            vrid.is_some()
        });
        match (v, vrid) {
            (Verdict::Relay, Some(vrid)) if stale(vrid) => Verdict::Stale,
            (Verdict::Relay, _) => {
                rewrite_for_kernel(frame, self.bridge_mac);
                Verdict::Relay
            }
            (v, _) => v,
        }
    }
}

/// Whether `vip` goes on `lo` (and its traffic to the kernel): all but IPv6 link-local ones.
pub fn on_lo(vip: IpAddr) -> bool {
    !matches!(vip, IpAddr::V6(v) if v.is_unicast_link_local())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virtual_mac(vrid: u8) -> [u8; 6] {
        virtual_mac_octets::<Ipv4Addr>(vrid)
    }

    const BRIDGE: [u8; 6] = [0x02, 0x42, 0xc0, 0x00, 0x02, 0x01];
    const CLIENT: [u8; 6] = [0x02, 0x42, 0xc0, 0x00, 0x02, 0x32];

    /// A TCP SYN from 192.0.2.50:40000 to 192.0.2.100:80, as a client sends it to VRID 7's MAC.
    fn syn_to_vip() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&virtual_mac(7));
        f.extend_from_slice(&CLIENT);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, // proto 6
            192, 0, 2, 50, // src
            192, 0, 2, 100, // dst
        ]);
        f.extend_from_slice(&[
            0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f
    }

    fn relay() -> Relay {
        let mut r = Relay::new(BRIDGE);
        r.serve(7, &[Ipv4Addr::new(192, 0, 2, 100).into()]);
        r
    }

    #[test]
    fn vip_traffic_is_relayed_and_rewritten() {
        let mut f = syn_to_vip();
        let ip_before = f[14..].to_vec();
        assert_eq!(relay().verdict(&mut f), Verdict::Relay);
        assert_eq!(f[0..6], BRIDGE);
        assert_eq!(f[6..12], virtual_mac(7));
        assert_eq!(f[12..14], [0x08, 0x00]);
        // The IP packet is untouched: the kernel sees exactly what the client sent.
        assert_eq!(f[14..], ip_before[..]);
    }

    #[test]
    fn stale_vip_traffic_is_dropped_not_rewritten() {
        let mut f = syn_to_vip();
        let before = f.clone();
        assert_eq!(
            relay().verdict_unless(&mut f, |vrid| vrid == 7),
            Verdict::Stale
        );
        assert_eq!(f, before, "a stale frame is not rewritten");
        // Another router's staleness does not touch this one's traffic.
        assert_eq!(
            relay().verdict_unless(&mut f, |vrid| vrid == 9),
            Verdict::Relay
        );
        // Nor does staleness make the stack's frames disappear.
        let mut vrrp = syn_to_vip();
        vrrp[14 + 9] = 112;
        assert_eq!(relay().verdict_unless(&mut vrrp, |_| true), Verdict::Stack);
    }

    #[test]
    fn vrrp_to_vip_goes_to_the_stack() {
        let mut f = syn_to_vip();
        f[14 + 9] = 112;
        assert_eq!(relay().verdict(&mut f), Verdict::Stack);
    }

    #[test]
    fn arp_goes_to_the_stack() {
        // Who has 192.0.2.100? Tell 192.0.2.50.
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&CLIENT);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&CLIENT);
        f.extend_from_slice(&[192, 0, 2, 50, 0, 0, 0, 0, 0, 0, 192, 0, 2, 100]);
        assert_eq!(relay().verdict(&mut f), Verdict::Stack);
    }

    #[test]
    fn multicast_and_broadcast_go_to_the_stack() {
        let mut f = syn_to_vip();
        f[14 + 16..14 + 20].copy_from_slice(&[224, 0, 0, 18]);
        assert_eq!(relay().verdict(&mut f), Verdict::Stack);
        let mut f = syn_to_vip();
        f[0..6].copy_from_slice(&[0xff; 6]);
        assert_eq!(relay().verdict(&mut f), Verdict::Stack);
    }

    #[test]
    fn unserved_unicast_is_dropped() {
        // While Backup: the VIP is not served.
        let mut f = syn_to_vip();
        let mut r = relay();
        r.stop(7);
        assert_eq!(r.verdict(&mut f), Verdict::Drop);
        // The right VIP at another router's MAC (a stale ARP cache) is not ours either.
        let mut f = syn_to_vip();
        f[5] = 8;
        assert_eq!(relay().verdict(&mut f), Verdict::Drop);
        // Flooded unicast for someone else.
        let mut f = syn_to_vip();
        f[14 + 19] = 51;
        assert_eq!(relay().verdict(&mut f), Verdict::Drop);
    }

    #[test]
    fn malformed_frames_are_dropped_without_panicking() {
        let f = syn_to_vip();
        for len in 0..34 {
            let mut short = f[..len].to_vec();
            let v = relay().verdict(&mut short);
            assert!(len >= 14 || v == Verdict::Drop, "len {len}: {v:?}");
            assert_ne!(v, Verdict::Relay, "len {len}");
        }
        let mut bad_version = syn_to_vip();
        bad_version[14] = 0x65;
        assert_eq!(relay().verdict(&mut bad_version), Verdict::Drop);
        let mut bad_ihl = syn_to_vip();
        bad_ihl[14] = 0x44;
        assert_eq!(relay().verdict(&mut bad_ihl), Verdict::Drop);
        let mut vlan = syn_to_vip();
        vlan[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(relay().verdict(&mut vlan), Verdict::Drop);
    }

    #[test]
    fn serve_replaces_a_routers_vips() {
        let mut r = relay();
        r.serve(7, &[Ipv4Addr::new(192, 0, 2, 101).into()]);
        r.serve(9, &[Ipv4Addr::new(192, 0, 2, 100).into()]);
        assert!(!r.serves(virtual_mac(7), Ipv4Addr::new(192, 0, 2, 100).into()));
        assert!(r.serves(virtual_mac(7), Ipv4Addr::new(192, 0, 2, 101).into()));
        assert!(r.serves(virtual_mac(9), Ipv4Addr::new(192, 0, 2, 100).into()));
    }

    const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
    const LL_VIP6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 7);

    /// IPv6 from 2001:db8::50 to `dst` at `dst_mac`, next header `nh`, first payload byte `b`.
    fn v6_frame(dst_mac: [u8; 6], dst: Ipv6Addr, nh: u8, b: u8) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&CLIENT);
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, nh, 64]);
        f.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50).octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&[b, 0, 0, 0, 0, 0, 0, 0]);
        f
    }

    fn relay6() -> Relay {
        let mut r = Relay::new(BRIDGE);
        r.serve(7, &[LL_VIP6.into(), VIP6.into()]);
        r
    }

    #[test]
    fn ipv6_vip_traffic_is_relayed_at_the_ipv6_virtual_mac_only() {
        let vmac6 = virtual_mac_for(7, VIP6.into());
        assert_eq!(vmac6, [0, 0, 0x5e, 0, 2, 7]);
        let mut tcp = v6_frame(vmac6, VIP6, 6, 0);
        assert_eq!(relay6().verdict(&mut tcp), Verdict::Relay);
        assert_eq!(tcp[0..6], BRIDGE);
        assert_eq!(tcp[6..12], vmac6);
        // The IPv4 virtual MAC of the same VRID is another router's address.
        let mut wrong_mac = v6_frame(virtual_mac(7), VIP6, 6, 0);
        assert_eq!(relay6().verdict(&mut wrong_mac), Verdict::Drop);
        let mut r = relay6();
        r.stop(7);
        let mut backup = v6_frame(vmac6, VIP6, 6, 0);
        assert_eq!(r.verdict(&mut backup), Verdict::Drop);
    }

    #[test]
    fn ipv6_neighbor_discovery_vrrp_multicast_and_link_local_go_to_the_stack() {
        let vmac6 = virtual_mac_for(7, VIP6.into());
        // A unicast NS probing the VIP (RFC 4861 §7.3.3), while Backup too.
        let mut r = relay6();
        r.stop(7);
        for t in 133..=137 {
            let mut ns = v6_frame(vmac6, VIP6, 58, t);
            assert_eq!(r.verdict(&mut ns), Verdict::Stack, "ICMPv6 type {t}");
        }
        // An echo request is VIP traffic, not ND.
        let mut echo = v6_frame(vmac6, VIP6, 58, 128);
        assert_eq!(relay6().verdict(&mut echo), Verdict::Relay);
        let mut advert = v6_frame(
            [0x33, 0x33, 0, 0, 0, 0x12],
            "ff02::12".parse().unwrap(),
            112,
            0x31,
        );
        assert_eq!(relay6().verdict(&mut advert), Verdict::Stack);
        let mut ll = v6_frame(vmac6, LL_VIP6, 58, 128);
        assert_eq!(relay6().verdict(&mut ll), Verdict::Stack);
        assert!(
            !relay6().serves(vmac6, LL_VIP6.into()),
            "link-local VIPs stay off lo"
        );
    }

    /// An MLDv2 report for ff02::12 as smoltcp sends it: Hop-by-Hop with a Router Alert, then
    /// ICMPv6 type 143.
    #[test]
    fn malformed_ipv6_is_dropped_without_panicking() {
        let f = v6_frame(virtual_mac_for(7, VIP6.into()), VIP6, 6, 0);
        for len in 0..54 {
            let mut short = f[..len].to_vec();
            assert_ne!(relay6().verdict(&mut short), Verdict::Relay, "len {len}");
        }
        let mut v4_nibble = f.clone();
        v4_nibble[14] = 0x45;
        assert_eq!(relay6().verdict(&mut v4_nibble), Verdict::Drop);
    }
}
