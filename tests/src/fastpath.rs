//! vrrpd's kernel fast path seen from outside: its nftables table and `alive` set in a router's
//! namespace, the `datapath` counters of its status, a frame to inject at a virtual MAC, and the
//! fence measured from the client's probes against the router's last advert.
//!
//! The daemon's side is `host/src/datapath/fastpath/`: while a router is Active, table
//! `netdev vrrpd-vbr-<uplink>` diverts frames for its virtual MAC to the kernel as long as the
//! MAC's element in set `alive` has not timed out, and each advert renews the element for one
//! Active_Down_Interval (RFC 9568 §6.1).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::craft::checksum;
use crate::lab::{Lab, mac_string, parse_mac};
use crate::probe::Probes;
use crate::router::VRRPD_STATUS;
pub use crate::router::{status, try_status};

/// The fast path's table for uplink `eth0` (bridge `vbr-eth0`).
pub const TABLE: &str = "vrrpd-vbr-eth0";
/// The nftables family of the fast path's table (it hooks the uplink device).
pub const FAMILY: &str = "netdev";

/// The set of virtual MACs whose frames go to the kernel.
pub const SET: &str = "alive";

/// The IPv4 virtual MAC of `vrid`, 00:00:5e:00:01:VRID (RFC 9568 §7.3).
pub fn virtual_mac(vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
}

/// The `datapath` object of vrrpd's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datapath {
    /// `kernel` or `relay`.
    pub mode: String,
    /// Frames read from the TAP.
    pub tap_rx_frames: u64,
    /// Frames written into the TAP.
    pub tap_tx_frames: u64,
    /// Multicast adverts sent on the uplink directly.
    pub uplink_tx_frames: u64,
    /// VIP frames relayed through user space.
    pub relayed_frames: u64,
    /// VIP frames dropped after a freeze instead of relayed.
    pub stale_frames: u64,
    /// Failed updates of the fast path.
    pub fastpath_errors: u64,
}

impl Datapath {
    /// The `datapath` object of a status; panics if it is missing.
    pub fn of(status: &serde_json::Value) -> Datapath {
        let d = &status["datapath"];
        let n = |key: &str| {
            d[key]
                .as_u64()
                .unwrap_or_else(|| panic!("status has no datapath.{key}: {status}"))
        };
        Datapath {
            mode: d["mode"]
                .as_str()
                .unwrap_or_else(|| panic!("status has no datapath.mode: {status}"))
                .to_owned(),
            tap_rx_frames: n("tap_rx_frames"),
            tap_tx_frames: n("tap_tx_frames"),
            uplink_tx_frames: n("uplink_tx_frames"),
            relayed_frames: n("relayed_frames"),
            stale_frames: n("stale_frames"),
            fastpath_errors: n("fastpath_errors"),
        }
    }
}

/// The data path counters of the daemon in `node`.
pub fn datapath(lab: &Lab, node: &str) -> Datapath {
    Datapath::of(&status(lab, node))
}

/// Path of curl, to read the metrics endpoint from inside a namespace.
pub const CURL: &str = "/usr/bin/curl";

/// vrrpd's Prometheus metrics (`GET /metrics` on its status address) in `node`.
pub fn metrics(lab: &Lab, node: &str) -> String {
    let url = format!("http://{VRRPD_STATUS}/metrics");
    lab.exec_ok(node, CURL, &["-sf", "--max-time", "2", &url])
}

/// The value of the sample `series` (name and labels as exposed, e.g.
/// `vrrpd_datapath_mode{mode="kernel"}`) in a metrics text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Every state transition the status counts, over all routers and reasons.
pub fn transitions(status: &serde_json::Value) -> u64 {
    status["routers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["transitions"].as_object().into_iter().flatten())
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

/// One nftables table of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `bridge`, `ip`, `inet`...
    pub family: String,
    pub name: String,
    /// The kernel's handle: a table deleted and added again gets a new one.
    pub handle: u64,
}

/// The nftables tables in the namespace of `node` (`nft -j list tables`).
pub fn tables(lab: &Lab, node: &str) -> Vec<Table> {
    parse_tables(&lab.exec_ok(node, "nft", &["-j", "list", "tables"]))
}

/// The tables in `nft -j list tables` output.
pub fn parse_tables(json: &str) -> Vec<Table> {
    let v: serde_json::Value = serde_json::from_str(json).expect("nft JSON");
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let t = o.get("table")?;
            Some(Table {
                family: t["family"].as_str()?.to_owned(),
                name: t["name"].as_str()?.to_owned(),
                handle: t["handle"].as_u64()?,
            })
        })
        .collect()
}

/// The fast path's table in `node`, if it is there.
pub fn fastpath_table(lab: &Lab, node: &str) -> Option<Table> {
    tables(lab, node)
        .into_iter()
        .find(|t| t.family == FAMILY && t.name == TABLE)
}

/// The MACs in set `alive` of `node` (elements that have not timed out), or None when there is
/// no such set (no table).
pub fn alive(lab: &Lab, node: &str) -> Option<Vec<[u8; 6]>> {
    let out = lab.exec(node, "nft", &["-j", "list", "set", FAMILY, TABLE, SET]);
    if !out.status.success() {
        return None;
    }
    parse_alive(&String::from_utf8_lossy(&out.stdout))
}

/// The elements of the set in `nft -j list set` output: plain values, or objects
/// `{"elem": {"val": ..., "timeout": ..., "expires": ...}}` for elements with a timeout.
pub fn parse_alive(json: &str) -> Option<Vec<[u8; 6]>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let set = v["nftables"]
        .as_array()?
        .iter()
        .find_map(|o| o.get("set"))?;
    let elems = set["elem"].as_array().cloned().unwrap_or_default();
    Some(
        elems
            .iter()
            .filter_map(|e| {
                let val = e["elem"]["val"].as_str().or_else(|| e.as_str())?;
                parse_mac(val)
            })
            .collect(),
    )
}

/// The timeout the kernel holds for `mac` in set `alive` of `node` (`nft list set`, in
/// milliseconds as the kernel reports its jiffies), None if the element is not there.
pub fn alive_timeout(lab: &Lab, node: &str, mac: [u8; 6]) -> Option<Duration> {
    let out = lab.exec(node, "nft", &["list", "set", FAMILY, TABLE, SET]);
    parse_element_timeout(&String::from_utf8_lossy(&out.stdout), mac)
}

/// The `timeout` of element `mac` in an `nft list set` listing
/// (`elements = { 00:00:5e:00:01:0a timeout 320ms expires 304ms }`).
pub fn parse_element_timeout(listing: &str, mac: [u8; 6]) -> Option<Duration> {
    let mut words = listing
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .filter(|w| !w.is_empty())
        .skip_while(|w| *w != mac_string(&mac));
    words.next()?;
    let mut words = words.take_while(|w| parse_mac(w).is_none());
    words.find(|w| *w == "timeout")?;
    parse_nft_duration(words.next()?)
}

/// An nftables time: `320ms`, `1s20ms`, `2m`, `1d2h` (units d, h, m, s, ms).
pub fn parse_nft_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return None,
        };
        total += unit * u32::try_from(n).ok()?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// An ICMP echo request from `src` to `dst` as an Ethernet frame (16 bytes of payload, TTL 64),
/// for the `inject` binary.
pub fn icmp_echo(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    seq: u16,
) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"vrrp-tests-echo!");
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = u16::try_from(20 + icmp.len()).expect("short packet");
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    // Identification 0, don't fragment, TTL 64, ICMP.
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = Vec::with_capacity(14 + ip.len() + icmp.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&icmp);
    f
}

/// A unicast ARP request from `src_mac` / `sender` to `dst_mac` asking for `target`, as an
/// Ethernet frame (the probe a client's neighbour cache sends to confirm an entry), for the
/// `inject` binary.
pub fn arp_request(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    sender: Ipv4Addr,
    target: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x06]);
    // Ethernet, IPv4, 6 + 4 byte addresses, request.
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// When the VIP stopped answering after its Active stopped advertising, from the client's
/// probes (start times) and the router's advert times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fence {
    /// The router's last advert (Unix seconds).
    pub last_advert: f64,
    /// Start of the last probe that was answered.
    pub last_ok: f64,
    /// Start of the first probe that failed after it, if any.
    pub first_fail: Option<f64>,
    /// Probes that failed after the last answered one.
    pub fails_after: usize,
}

impl Fence {
    /// From `adverts` (times; the last one is the last advert) and the probes that ended before
    /// `until` (the resume, or the end of the observation). None without an advert or without
    /// an answered probe.
    pub fn measure(adverts: &[f64], probes: &Probes, until: f64) -> Option<Fence> {
        let last_advert = adverts.iter().copied().reduce(f64::max)?;
        let seen: Vec<_> = probes.0.iter().filter(|p| p.end < until).collect();
        let last_ok = seen
            .iter()
            .filter(|p| p.result.is_ok())
            .map(|p| p.start)
            .reduce(f64::max)?;
        let fails: Vec<f64> = seen
            .iter()
            .filter(|p| p.result.is_err() && p.start > last_ok)
            .map(|p| p.start)
            .collect();
        Some(Fence {
            last_advert,
            last_ok,
            first_fail: fails.iter().copied().reduce(f64::min),
            fails_after: fails.len(),
        })
    }

    /// From the last advert to the start of the last answered probe, in milliseconds.
    pub fn last_ok_ms(&self) -> f64 {
        (self.last_ok - self.last_advert) * 1e3
    }

    /// From the last advert to the start of the first failed probe after it, in milliseconds.
    pub fn first_fail_ms(&self) -> Option<f64> {
        self.first_fail.map(|t| (t - self.last_advert) * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Payload, decode};

    #[test]
    fn nft_durations() {
        assert_eq!(
            parse_nft_duration("320ms"),
            Some(Duration::from_millis(320))
        );
        assert_eq!(
            parse_nft_duration("1s20ms"),
            Some(Duration::from_millis(1020))
        );
        assert_eq!(
            parse_nft_duration("1d2h3m"),
            Some(Duration::from_secs(93_780))
        );
        assert_eq!(parse_nft_duration(""), None);
        assert_eq!(parse_nft_duration("ms"), None);
        assert_eq!(parse_nft_duration("5x"), None);
    }

    #[test]
    fn element_timeout_from_a_listing() {
        // `nft list set` on kernel 6.18 (HZ=250) after `timeout 322ms`: whole jiffies.
        let listing = "table netdev vrrpd-vbr-eth0 {\n\tset alive {\n\t\ttype ether_addr\n\
                       \t\tflags timeout\n\t\telements = { 00:00:5e:00:01:0a timeout 320ms \
                       expires 304ms, 00:00:5e:00:01:14 timeout 1s expires 988ms }\n\t}\n}\n";
        assert_eq!(
            parse_element_timeout(listing, virtual_mac(10)),
            Some(Duration::from_millis(320))
        );
        assert_eq!(
            parse_element_timeout(listing, virtual_mac(20)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse_element_timeout(listing, virtual_mac(30)), None);
    }

    #[test]
    fn set_and_tables_from_nft_json() {
        // nft 1.0.6 `-j list set` with one element, and without.
        let one = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
            {"set": {"family": "netdev", "name": "alive", "table": "vrrpd-vbr-eth0",
            "type": "ether_addr", "handle": 1, "flags": ["timeout"],
            "elem": [{"elem": {"val": "00:00:5e:00:01:0a", "timeout": 0, "expires": 0}}]}}]}"#;
        assert_eq!(parse_alive(one), Some(vec![virtual_mac(10)]));
        let none = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family":
            "netdev", "name": "alive", "table": "vrrpd-vbr-eth0", "type": "ether_addr"}}]}"#;
        assert_eq!(parse_alive(none), Some(vec![]));
        assert_eq!(parse_alive("{}"), None);
        let tables = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "netdev", "name": "vrrpd-vbr-eth0", "handle": 7}}]}"#;
        assert_eq!(
            parse_tables(tables),
            vec![Table {
                family: "netdev".into(),
                name: TABLE.into(),
                handle: 7
            }]
        );
    }

    #[test]
    fn metric_samples() {
        let text = "# HELP vrrpd_datapath_mode How VIP traffic reaches the kernel.\n\
                    # TYPE vrrpd_datapath_mode gauge\n\
                    vrrpd_datapath_mode{mode=\"kernel\"} 1\n\
                    vrrpd_datapath_mode{mode=\"relay\"} 0\n\
                    vrrpd_relayed_frames_total 12\n";
        assert_eq!(
            metric(text, r#"vrrpd_datapath_mode{mode="kernel"}"#),
            Some(1.0)
        );
        assert_eq!(
            metric(text, r#"vrrpd_datapath_mode{mode="relay"}"#),
            Some(0.0)
        );
        assert_eq!(metric(text, "vrrpd_relayed_frames_total"), Some(12.0));
        assert_eq!(metric(text, "vrrpd_relayed_frames"), None);
    }

    #[test]
    fn transitions_sum_every_router_and_reason() {
        let s = serde_json::json!({"routers": [
            {"transitions": {"active_down": 1, "priority": 0}},
            {"transitions": {"startup": 2}}
        ]});
        assert_eq!(transitions(&s), 3);
    }

    #[test]
    fn echo_frame_checksums_and_decodes() {
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 100), crate::VIP);
        let f = icmp_echo([2, 0, 0xc0, 0, 2, 100], virtual_mac(10), src, dst, 7, 1);
        assert_eq!(f.len(), 14 + 20 + 8 + 16);
        assert_eq!(checksum(&f[14..34]), 0, "IP header checksum");
        assert_eq!(checksum(&f[34..]), 0, "ICMP checksum");
        assert_eq!(&f[0..6], &virtual_mac(10));
        let frame = decode(0.0, &f).expect("frame");
        assert_eq!(frame.payload, Payload::Ipv4 { src, dst });
    }

    #[test]
    fn fence_from_probes_and_adverts() {
        let probes = Probes::parse(
            "10.000 10.001 ok Primary\n\
             10.300 10.301 ok Primary\n\
             10.310 10.360 err timeout\n\
             10.305 10.306 ok Primary\n\
             10.320 10.370 err timeout\n\
             10.900 10.901 ok Primary\n",
        );
        let f = Fence::measure(&[9.9, 10.0], &probes, 10.8).expect("fence");
        assert!((f.last_ok_ms() - 305.0).abs() < 1e-6, "{f:?}");
        assert!((f.first_fail_ms().unwrap() - 310.0).abs() < 1e-6, "{f:?}");
        assert_eq!(f.fails_after, 2);
        assert!(Fence::measure(&[], &probes, 10.8).is_none());
    }
}
