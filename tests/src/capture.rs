//! Packet capture with tcpdump in the switch namespace, and pcap analysis (pcap-file v2).
//!
//! A [`Capture`] records `bridge.pcap` (everything on the bridge, the file `vrrp-sim replay` and
//! tshark read) and one `from-<node>.pcap` per router (`tcpdump -Q in` on that router's switch
//! port: exactly the frames that router sent, whatever source MAC it used).
//!
//! The decoder understands VRRP over IPv4 (protocol 112 to 224.0.0.18) and over IPv6 (next
//! header 112 to ff02::12, RFC 9568 §5.1.2), ARP, and IPv6 neighbour discovery: an unsolicited
//! Neighbor Advertisement (RFC 4861 §7.2.6) is the IPv6 counterpart of a gratuitous ARP.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcap::PcapReader;

use crate::lab::{Lab, ProcId, mac_string};
use crate::wait_until;

/// Path of the tcpdump binary.
pub const TCPDUMP: &str = "/usr/bin/tcpdump";

/// A running capture (bridge + one per router port).
pub struct Capture {
    /// `<artifacts>/bridge.pcap`.
    pub bridge: PathBuf,
    /// `(node, <artifacts>/from-<node>.pcap)` per router.
    pub ports: Vec<(String, PathBuf)>,
    procs: Vec<ProcId>,
}

impl Capture {
    /// Starts tcpdump on the bridge and on every router's port; waits until each listens.
    pub fn start(lab: &Lab) -> Capture {
        let bridge = lab.artifacts.join("bridge.pcap");
        let mut procs = vec![start_tcpdump(
            lab,
            Lab::BRIDGE,
            &bridge,
            "tcpdump-bridge",
            false,
        )];
        let mut ports = Vec::new();
        for node in lab.routers() {
            let path = lab.artifacts.join(format!("from-{}.pcap", node.name));
            let label = format!("tcpdump-from-{}", node.name);
            procs.push(start_tcpdump(lab, &node.port, &path, &label, true));
            ports.push((node.name.clone(), path));
        }
        wait_listening(lab, &procs);
        Capture {
            bridge,
            ports,
            procs,
        }
    }

    /// Reads what the bridge capture holds so far (tcpdump writes packet-buffered, `-U`).
    pub fn bridge_now(&self) -> Pcap {
        Pcap::read_partial(&self.bridge)
    }

    /// Reads what the capture of frames sent by `node` holds so far.
    pub fn from_node_now(&self, node: &str) -> Pcap {
        Pcap::read_partial(self.port_path(node))
    }

    fn port_path(&self, node: &str) -> &Path {
        &self
            .ports
            .iter()
            .find(|(n, _)| n == node)
            .unwrap_or_else(|| panic!("no capture for {node}"))
            .1
    }

    /// Stops every tcpdump (SIGINT, so the files are complete). Wait for what must be in the
    /// capture before stopping it (e.g. with [`Capture::bridge_now`]).
    pub fn stop(&self, lab: &Lab) {
        for &id in &self.procs {
            lab.stop_with(id, libc::SIGINT, Duration::from_secs(3));
        }
    }

    /// Stops the capture and reads everything: (bridge, per-router).
    pub fn finish(&self, lab: &Lab) -> (Pcap, BTreeMap<String, Pcap>) {
        self.stop(lab);
        let bridge = Pcap::read(&self.bridge);
        let ports = self
            .ports
            .iter()
            .map(|(n, p)| (n.clone(), Pcap::read(p)))
            .collect();
        (bridge, ports)
    }
}

/// Waits until each of the tcpdumps `procs` listens.
pub fn wait_listening(lab: &Lab, procs: &[ProcId]) {
    for &id in procs {
        wait_until(Duration::from_secs(10), || {
            assert!(lab.is_running(id), "tcpdump exited: {}", lab.log(id));
            lab.log(id).contains("listening on")
        })
        .expect("tcpdump listening");
    }
}

/// Starts tcpdump in the switch's namespace on `iface`, writing to `out` (only what the
/// interface receives when `inbound`); see [`wait_listening`].
pub fn start_tcpdump(lab: &Lab, iface: &str, out: &Path, label: &str, inbound: bool) -> ProcId {
    let out = out.display().to_string();
    // --immediate-mode: without it libpcap hands packets over in blocks (up to 1 s late), so the
    // file lags behind the wire and stopping tcpdump loses the last block.
    let mut args = vec![
        "-i",
        iface,
        "-n",
        "--immediate-mode",
        "-U",
        "-Z",
        "root",
        "-w",
        &out,
    ];
    if inbound {
        args.extend_from_slice(&["-Q", "in"]);
    }
    lab.spawn_opts("sw", label, TCPDUMP, &args, true)
}

/// A VRRP advertisement as seen on the wire, over IPv4 or IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// IP source address (for IPv6 the sender's link-local, RFC 9568 §5.1.2.1).
    pub src: IpAddr,
    /// IP destination (224.0.0.18, ff02::12, or a unicast peer).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit (must be 255).
    pub ttl: u8,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0 = the Active is leaving).
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2's seconds are converted).
    pub interval_cs: u16,
    /// The addresses carried (IPv4 or IPv6, as the IP header).
    pub addrs: Vec<IpAddr>,
}

impl Advert {
    /// Whether the IP header is what RFC 9568 §5.1.2 asks of a multicast IPv6 advert: source
    /// link-local (fe80::/10), destination ff02::12, hop limit 255, version 3.
    pub fn is_rfc_ipv6(&self) -> bool {
        let IpAddr::V6(src) = self.src else {
            return false;
        };
        src.segments()[0] & 0xffc0 == 0xfe80
            && self.dst == IpAddr::V6(VRRP_GROUP6)
            && self.ttl == 255
            && self.version == 3
    }
}

impl Advert {
    /// [`is_rfc_ipv6`](Self::is_rfc_ipv6) for a unicast advert: the destination is one of
    /// `peers` instead of ff02::12 (the source is still link-local).
    pub fn is_rfc_ipv6_unicast(&self, peers: &[IpAddr]) -> bool {
        let IpAddr::V6(src) = self.src else {
            return false;
        };
        src.segments()[0] & 0xffc0 == 0xfe80
            && peers.contains(&self.dst)
            && self.ttl == 255
            && self.version == 3
    }
}

/// The IPv6 multicast group of VRRP, ff02::12 (RFC 9568 §5.1.2.2).
pub const VRRP_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// An ARP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arp {
    /// 1 = request, 2 = reply.
    pub op: u16,
    /// Sender hardware address.
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: [u8; 6],
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// A gratuitous ARP (request or reply announcing the sender's own address).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// The kind of an IPv6 neighbour discovery message (ICMPv6 types 133 to 137, RFC 4861 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdKind {
    /// 133.
    RouterSolicitation,
    /// 134 (FRR's Master sends them from its macvlan).
    RouterAdvertisement,
    /// 135.
    NeighborSolicitation,
    /// 136.
    NeighborAdvertisement,
    /// 137.
    Redirect,
}

/// An IPv6 neighbour discovery message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nd {
    /// Which message.
    pub kind: NdKind,
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination (ff02::1 for an unsolicited NA).
    pub dst: Ipv6Addr,
    /// Hop limit (255, RFC 4861 §7.1).
    pub hop_limit: u8,
    /// Target address of an NS, NA or redirect.
    pub target: Option<Ipv6Addr>,
    /// NA router flag (R).
    pub router: bool,
    /// NA solicited flag (S): clear in an unsolicited NA.
    pub solicited: bool,
    /// NA override flag (O).
    pub override_flag: bool,
    /// The link-layer address option: target's (NA, redirect) or source's (RS, RA, NS).
    pub lladdr: Option<[u8; 6]>,
}

impl Nd {
    /// An unsolicited Neighbor Advertisement (RFC 4861 §7.2.6: S clear), the IPv6 counterpart of
    /// a gratuitous ARP.
    pub fn is_unsolicited_na(&self) -> bool {
        self.kind == NdKind::NeighborAdvertisement && !self.solicited
    }

    /// Neighbor Solicitation or Advertisement: address resolution, as ARP is for IPv4.
    pub fn is_address_resolution(&self) -> bool {
        matches!(
            self.kind,
            NdKind::NeighborSolicitation | NdKind::NeighborAdvertisement
        )
    }
}

/// What a frame carries, as far as the tests care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A VRRP advertisement (IP protocol / next header 112).
    Vrrp(Advert),
    /// ARP.
    Arp(Arp),
    /// IPv6 neighbour discovery.
    Nd(Nd),
    /// Other IPv4 (the prober's HTTP), with source and destination.
    Ipv4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// Other IPv6 (HTTP, MLD), with source and destination.
    Ipv6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
    /// Anything else, or malformed.
    Other,
}

/// One captured Ethernet frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Capture time, Unix seconds.
    pub ts: f64,
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// Decoded payload.
    pub payload: Payload,
}

/// A parsed capture.
#[derive(Debug, Clone, Default)]
pub struct Pcap {
    /// Every frame, in capture order.
    pub frames: Vec<Frame>,
}

/// Takeover silence: last advert of the old Active to the first advert of the new one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Silence {
    /// Time of the old Active's last advert.
    pub last_old: f64,
    /// Time of the new Active's first advert.
    pub first_new: f64,
}

impl Silence {
    /// The silence in milliseconds.
    pub fn ms(&self) -> f64 {
        (self.first_new - self.last_old) * 1000.0
    }

    /// The takeover after `after` from the captures of what each router sent (`from-<node>.pcap`,
    /// whatever source address it used: FRR's IPv6 source is a random link-local): the first
    /// advert with a non-zero priority in `new` after `after`, and the last advert in `old`
    /// before it.
    pub fn between(old: &Pcap, new: &Pcap, after: f64) -> Option<Silence> {
        let first_new = new
            .adverts()
            .find(|(t, _, a)| *t >= after && a.priority > 0)?
            .0;
        let last_old = old
            .adverts()
            .filter(|(t, _, _)| *t < first_new)
            .map(|(t, _, _)| t)
            .last()?;
        Some(Silence {
            last_old,
            first_new,
        })
    }
}

impl Pcap {
    /// Reads a complete pcap file; panics on a malformed one.
    pub fn read(path: impl AsRef<Path>) -> Pcap {
        let path = path.as_ref();
        let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut reader =
            PcapReader::new(file).unwrap_or_else(|e| panic!("pcap {}: {e}", path.display()));
        let mut frames = Vec::new();
        while let Some(pkt) = reader.next_packet() {
            let pkt = pkt.unwrap_or_else(|e| panic!("pcap {}: {e}", path.display()));
            if let Some(f) = decode(pkt.timestamp.as_secs_f64(), &pkt.data) {
                frames.push(f);
            }
        }
        Pcap { frames }
    }

    /// Reads what a file being written holds so far (a truncated last record is ignored; an
    /// empty or missing file is an empty capture).
    pub fn read_partial(path: impl AsRef<Path>) -> Pcap {
        let Ok(file) = File::open(path.as_ref()) else {
            return Pcap::default();
        };
        let Ok(mut reader) = PcapReader::new(file) else {
            return Pcap::default();
        };
        let mut frames = Vec::new();
        while let Some(Ok(pkt)) = reader.next_packet() {
            if let Some(f) = decode(pkt.timestamp.as_secs_f64(), &pkt.data) {
                frames.push(f);
            }
        }
        Pcap { frames }
    }

    /// `(time, source MAC, advert)` for every VRRP advertisement.
    pub fn adverts(&self) -> impl Iterator<Item = (f64, [u8; 6], &Advert)> {
        self.frames.iter().filter_map(|f| match &f.payload {
            Payload::Vrrp(a) => Some((f.ts, f.src_mac, a)),
            _ => None,
        })
    }

    /// Times of adverts from `src` (IP source) in `[from, to)`.
    pub fn advert_times(&self, src: impl Into<IpAddr>, from: f64, to: f64) -> Vec<f64> {
        let src = src.into();
        self.adverts()
            .filter(|(t, _, a)| a.src == src && *t >= from && *t < to)
            .map(|(t, _, _)| t)
            .collect()
    }

    /// Times of every advert in `[from, to)`: in a `from-<node>.pcap`, that router's.
    pub fn advert_times_any(&self, from: f64, to: f64) -> Vec<f64> {
        self.adverts()
            .filter(|(t, _, _)| *t >= from && *t < to)
            .map(|(t, _, _)| t)
            .collect()
    }

    /// `(time, source MAC, arp)` for every ARP frame.
    pub fn arps(&self) -> impl Iterator<Item = (f64, [u8; 6], &Arp)> {
        self.frames.iter().filter_map(|f| match &f.payload {
            Payload::Arp(a) => Some((f.ts, f.src_mac, a)),
            _ => None,
        })
    }

    /// `(time, source MAC, message)` for every IPv6 neighbour discovery message.
    pub fn nds(&self) -> impl Iterator<Item = (f64, [u8; 6], &Nd)> {
        self.frames.iter().filter_map(|f| match &f.payload {
            Payload::Nd(n) => Some((f.ts, f.src_mac, n)),
            _ => None,
        })
    }

    /// The takeover after `after` (e.g. the pause time): the first advert from `new` after
    /// `after`, and the last advert from `old` before it (by IP source; see [`Silence::between`]
    /// when the source is not known in advance).
    pub fn takeover_silence(
        &self,
        old: impl Into<IpAddr>,
        new: impl Into<IpAddr>,
        after: f64,
    ) -> Option<Silence> {
        let (old, new) = (old.into(), new.into());
        let first_new = self
            .adverts()
            .find(|(t, _, a)| *t >= after && a.src == new && a.priority > 0)?
            .0;
        let last_old = self
            .adverts()
            .filter(|(t, _, a)| *t < first_new && a.src == old)
            .map(|(t, _, _)| t)
            .last()?;
        Some(Silence {
            last_old,
            first_new,
        })
    }

    /// Frames in `[from, from + window)`.
    pub fn frames_in(&self, from: f64, window: Duration) -> impl Iterator<Item = &Frame> {
        let to = from + window.as_secs_f64();
        self.frames
            .iter()
            .filter(move |f| f.ts >= from && f.ts < to)
    }

    /// ARP frames for `vip` that claim it (replies with sender `vip`, and gratuitous ARPs), counted
    /// by sender MAC: `(replies, gratuitous)`.
    pub fn arp_claims(&self, vip: Ipv4Addr) -> BTreeMap<String, (usize, usize)> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (_, _, a) in self.arps() {
            if a.sender_ip != vip {
                continue;
            }
            let e = m.entry(mac_string(&a.sender_mac)).or_default();
            if a.is_gratuitous() {
                e.1 += 1;
            } else if a.op == 2 {
                e.0 += 1;
            }
        }
        m
    }

    /// Neighbor Advertisements for `vip` (target `vip`), counted by the MAC they advertise (the
    /// target link-layer option, else the Ethernet source): `(solicited, unsolicited)`, as
    /// [`Pcap::arp_claims`] counts replies and gratuitous ARPs.
    pub fn na_claims(&self, vip: Ipv6Addr) -> BTreeMap<String, (usize, usize)> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (_, src_mac, n) in self.nds() {
            if n.kind != NdKind::NeighborAdvertisement || n.target != Some(vip) {
                continue;
            }
            let e = m
                .entry(mac_string(&n.lladdr.unwrap_or(src_mac)))
                .or_default();
            if n.solicited {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        m
    }

    /// [`Pcap::arp_claims`] for an IPv4 VIP, [`Pcap::na_claims`] for an IPv6 one.
    pub fn claims(&self, vip: IpAddr) -> BTreeMap<String, (usize, usize)> {
        match vip {
            IpAddr::V4(v) => self.arp_claims(v),
            IpAddr::V6(v) => self.na_claims(v),
        }
    }

    /// The announcements of `vip`: gratuitous ARPs (IPv4) or unsolicited Neighbor
    /// Advertisements (IPv6) for it, as `(time, advertised MAC)`.
    pub fn announcements(&self, vip: IpAddr) -> Vec<(f64, [u8; 6])> {
        match vip {
            IpAddr::V4(v) => self
                .arps()
                .filter(|(_, _, a)| a.is_gratuitous() && a.sender_ip == v)
                .map(|(t, _, a)| (t, a.sender_mac))
                .collect(),
            IpAddr::V6(v) => self
                .nds()
                .filter(|(_, _, n)| n.is_unsolicited_na() && n.target == Some(v))
                .map(|(t, mac, n)| (t, n.lladdr.unwrap_or(mac)))
                .collect(),
        }
    }
}

/// Counts of a set of frames by kind: (all, VRRP, address resolution: ARP, or IPv6 Neighbor
/// Solicitations and Advertisements).
pub fn count_kinds<'a>(frames: impl Iterator<Item = &'a Frame>) -> (usize, usize, usize) {
    let (mut all, mut vrrp, mut arp) = (0, 0, 0);
    for f in frames {
        all += 1;
        match &f.payload {
            Payload::Vrrp(_) => vrrp += 1,
            Payload::Arp(_) => arp += 1,
            Payload::Nd(n) if n.is_address_resolution() => arp += 1,
            _ => {}
        }
    }
    (all, vrrp, arp)
}

fn ip4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

fn ip6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

fn mac6(b: &[u8]) -> [u8; 6] {
    let mut m = [0; 6];
    m.copy_from_slice(&b[..6]);
    m
}

/// Decodes an Ethernet frame (no VLAN tags on this segment). None only if shorter than a header.
pub fn decode(ts: f64, data: &[u8]) -> Option<Frame> {
    if data.len() < 14 {
        return None;
    }
    let dst_mac = mac6(&data[0..6]);
    let src_mac = mac6(&data[6..12]);
    let ethertype = u16::from_be_bytes([data[12], data[13]]);
    let body = &data[14..];
    let payload = match ethertype {
        0x0806 => decode_arp(body).map_or(Payload::Other, Payload::Arp),
        0x0800 => decode_ipv4(body),
        0x86dd => decode_ipv6(body),
        _ => Payload::Other,
    };
    Some(Frame {
        ts,
        src_mac,
        dst_mac,
        payload,
    })
}

fn decode_arp(b: &[u8]) -> Option<Arp> {
    if b.len() < 28 || b[0..2] != [0, 1] || b[2..4] != [8, 0] || b[4] != 6 || b[5] != 4 {
        return None;
    }
    Some(Arp {
        op: u16::from_be_bytes([b[6], b[7]]),
        sender_mac: mac6(&b[8..14]),
        sender_ip: ip4(&b[14..18]),
        target_mac: mac6(&b[18..24]),
        target_ip: ip4(&b[24..28]),
    })
}

fn decode_ipv4(b: &[u8]) -> Payload {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return Payload::Other;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[2], b[3]])).min(b.len());
    let (ttl, proto) = (b[8], b[9]);
    let (src, dst) = (ip4(&b[12..16]), ip4(&b[16..20]));
    if proto != 112 || ihl < 20 || total < ihl + 8 {
        return Payload::Ipv4 { src, dst };
    }
    decode_vrrp(&b[ihl..total], src.into(), dst.into(), ttl)
}

/// The VRRP packet `v` (at least 8 bytes) carried from `src` to `dst`; addresses of the IP
/// header's family.
fn decode_vrrp(v: &[u8], src: IpAddr, dst: IpAddr, ttl: u8) -> Payload {
    let version = v[0] >> 4;
    let count = usize::from(v[3]);
    let interval_cs = match version {
        3 => u16::from_be_bytes([v[4], v[5]]) & 0x0fff,
        2 => u16::from(v[5]) * 100,
        _ => return Payload::Other,
    };
    let addrs = match src {
        IpAddr::V4(_) => v[8..]
            .chunks_exact(4)
            .take(count)
            .map(|c| ip4(c).into())
            .collect(),
        IpAddr::V6(_) => v[8..]
            .chunks_exact(16)
            .take(count)
            .map(|c| ip6(c).into())
            .collect(),
    };
    Payload::Vrrp(Advert {
        src,
        dst,
        ttl,
        version,
        vrid: v[1],
        priority: v[2],
        interval_cs,
        addrs,
    })
}

/// IPv6: VRRP (next header 112) and neighbour discovery (ICMPv6 133-137), after any hop-by-hop
/// or destination options headers.
fn decode_ipv6(b: &[u8]) -> Payload {
    if b.len() < 40 || b[0] >> 4 != 6 {
        return Payload::Other;
    }
    let payload_len = usize::from(u16::from_be_bytes([b[4], b[5]]));
    let end = (40 + payload_len).min(b.len());
    let (mut next, hop_limit) = (b[6], b[7]);
    let (src, dst) = (ip6(&b[8..24]), ip6(&b[24..40]));
    let mut off = 40;
    // Hop-by-hop options (MLD's router alert) and destination options: skip them.
    while matches!(next, 0 | 60) && off + 8 <= end {
        next = b[off];
        off += (usize::from(b[off + 1]) + 1) * 8;
    }
    if off > end {
        return Payload::Ipv6 { src, dst };
    }
    let rest = &b[off..end];
    match next {
        112 if rest.len() >= 8 => decode_vrrp(rest, src.into(), dst.into(), hop_limit),
        58 => decode_nd(rest, src, dst, hop_limit).map_or(Payload::Ipv6 { src, dst }, Payload::Nd),
        _ => Payload::Ipv6 { src, dst },
    }
}

/// An ICMPv6 neighbour discovery message (RFC 4861 §4); None for other ICMPv6 or truncated.
fn decode_nd(m: &[u8], src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> Option<Nd> {
    // The fixed part after the 4-byte ICMPv6 header, and whether a target address starts it.
    let (kind, fixed, has_target) = match *m.first()? {
        133 => (NdKind::RouterSolicitation, 4, false),
        134 => (NdKind::RouterAdvertisement, 12, false),
        135 => (NdKind::NeighborSolicitation, 20, true),
        136 => (NdKind::NeighborAdvertisement, 20, true),
        137 => (NdKind::Redirect, 36, true),
        _ => return None,
    };
    if m.len() < 4 + fixed {
        return None;
    }
    let target = has_target.then(|| ip6(&m[8..24]));
    let flags = if kind == NdKind::NeighborAdvertisement {
        m[4]
    } else {
        0
    };
    // Options: type, length in units of 8 bytes, data. 1 = source, 2 = target link-layer address.
    let want = if matches!(kind, NdKind::NeighborAdvertisement | NdKind::Redirect) {
        2
    } else {
        1
    };
    let mut lladdr = None;
    let mut opts = &m[4 + fixed..];
    while opts.len() >= 8 {
        let len = usize::from(opts[1]) * 8;
        if len == 0 || len > opts.len() {
            break;
        }
        if opts[0] == want {
            lladdr = Some(mac6(&opts[2..8]));
        }
        opts = &opts[len..];
    }
    Some(Nd {
        kind,
        src,
        dst,
        hop_limit,
        target,
        router: flags & 0x80 != 0,
        solicited: flags & 0x40 != 0,
        override_flag: flags & 0x20 != 0,
        lladdr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keepalived traces of ../shared/traces (not in the repository: skipped without them).
    fn trace(name: &str) -> Option<PathBuf> {
        let dir = std::env::var_os("VRRP_TRACES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces"));
        let p = dir.join(name);
        if p.exists() {
            Some(p)
        } else {
            println!("skipped: trace {} not found", p.display());
            None
        }
    }

    #[test]
    fn decodes_a_v3_advert() {
        // Ethernet + IPv4 (TTL 255, proto 112) + VRRPv3 VRID 10 prio 200 interval 5 cs, 1 address.
        let mut f = vec![
            0x01, 0x00, 0x5e, 0, 0, 0x12, 2, 0, 0xc0, 0, 2, 11, 0x08, 0x00,
        ];
        f.extend_from_slice(&[
            0x45, 0, 0, 32, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 11, 224, 0, 0, 18,
        ]);
        f.extend_from_slice(&[0x31, 10, 200, 1, 0x00, 0x05, 0, 0, 192, 0, 2, 1]);
        let fr = decode(1.5, &f).unwrap();
        let Payload::Vrrp(a) = fr.payload else {
            panic!("not vrrp: {fr:?}")
        };
        assert_eq!(
            a,
            Advert {
                src: Ipv4Addr::new(192, 0, 2, 11).into(),
                dst: Ipv4Addr::new(224, 0, 0, 18).into(),
                ttl: 255,
                version: 3,
                vrid: 10,
                priority: 200,
                interval_cs: 5,
                addrs: vec![Ipv4Addr::new(192, 0, 2, 1).into()],
            }
        );
        assert!(!a.is_rfc_ipv6());
        // Truncated: still a frame, not a panic.
        for n in 0..f.len() {
            let _ = decode(0.0, &f[..n]);
        }
    }

    /// Hex dump (as `tshark -x` prints it, offsets and ASCII removed) to bytes.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    // Frames captured on the bridge of a Family::Ipv6 lab: keepalived 2.2.7 in r1, FRR 8.4 in r2,
    // VRID 10, VIP 2001:db8::1, 100 ms.

    /// keepalived's advert: from eth0's MAC and EUI-64 link-local, traffic class 0xc0.
    const KEEPALIVED_ADVERT6: &str = "33 33 00 00 00 12 02 00 c0 00 02 0b 86 dd 6c 06
        db eb 00 18 70 ff fe 80 00 00 00 00 00 00 00 00 c0 ff fe 00 02 0b ff 02 00 00 00 00
        00 00 00 00 00 00 00 00 00 12 31 0a c8 01 00 0a 1a 06 20 01 0d b8 00 00 00 00 00 00
        00 00 00 00 00 01";
    /// FRR's advert: from the virtual MAC and the macvlan's random link-local.
    const FRR_ADVERT6: &str = "33 33 00 00 00 12 00 00 5e 00 02 0a 86 dd 6c 00 17 c1 00 18
        70 ff fe 80 00 00 00 00 00 00 40 78 ee 15 b4 81 87 04 ff 02 00 00 00 00 00 00 00 00
        00 00 00 00 00 12 31 0a 64 01 00 0a d4 fd 20 01 0d b8 00 00 00 00 00 00 00 00 00 00
        00 01";
    /// FRR's unsolicited NA on becoming Master: router and override flags.
    const FRR_NA: &str = "33 33 00 00 00 01 00 00 5e 00 02 0a 86 dd 60 00 00 00 00 20 3a ff
        20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 ff 02 00 00 00 00 00 00 00 00 00 00
        00 00 00 01 88 00 1b 21 a0 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
        02 01 00 00 5e 00 02 0a";
    /// keepalived's unsolicited NA: override flag only.
    const KEEPALIVED_NA: &str = "33 33 00 00 00 01 02 00 c0 00 02 0b 86 dd 60 00 00 00 00 20
        3a ff 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 ff 02 00 00 00 00 00 00 00 00
        00 00 00 00 00 01 88 00 37 20 20 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00
        00 01 02 01 02 00 c0 00 02 0b";
    /// An MLDv2 report behind a hop-by-hop header (router alert).
    const MLD_REPORT: &str = "33 33 00 00 00 16 02 00 c0 00 02 0b 86 dd 60 00 00 00 00 24 00
        01 fe 80 00 00 00 00 00 00 00 00 c0 ff fe 00 02 0b ff 02 00 00 00 00 00 00 00 00 00
        00 00 00 00 16 3a 00 05 02 00 00 01 00 8f 00 ae ed 00 00 00 01 04 00 00 00 ff 02 00
        00 00 00 00 00 00 00 00 00 00 00 00 12";

    #[test]
    fn decodes_ipv6_adverts() {
        let vip: IpAddr = "2001:db8::1".parse().unwrap();
        for (frame, src, priority) in [
            (KEEPALIVED_ADVERT6, "fe80::c0ff:fe00:20b", 200),
            (FRR_ADVERT6, "fe80::4078:ee15:b481:8704", 100),
        ] {
            let f = hex(frame);
            let fr = decode(0.0, &f).unwrap();
            let Payload::Vrrp(a) = fr.payload else {
                panic!("not vrrp: {fr:?}")
            };
            assert_eq!(
                a,
                Advert {
                    src: src.parse().unwrap(),
                    dst: IpAddr::V6(VRRP_GROUP6),
                    ttl: 255,
                    version: 3,
                    vrid: 10,
                    priority,
                    interval_cs: 10,
                    addrs: vec![vip],
                }
            );
            assert!(a.is_rfc_ipv6());
            for n in 0..f.len() {
                let _ = decode(0.0, &f[..n]);
            }
        }
    }

    #[test]
    fn decodes_unsolicited_nas() {
        let vip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut pcap = Pcap::default();
        for (i, (frame, mac, router)) in [
            (FRR_NA, [0, 0, 0x5e, 0, 2, 10], true),
            (KEEPALIVED_NA, [2, 0, 0xc0, 0, 2, 11], false),
        ]
        .into_iter()
        .enumerate()
        {
            let f = hex(frame);
            let fr = decode(i as f64, &f).unwrap();
            let Payload::Nd(n) = &fr.payload else {
                panic!("not ND: {fr:?}")
            };
            assert_eq!(
                *n,
                Nd {
                    kind: NdKind::NeighborAdvertisement,
                    src: vip,
                    dst: "ff02::1".parse().unwrap(),
                    hop_limit: 255,
                    target: Some(vip),
                    router,
                    solicited: false,
                    override_flag: true,
                    lladdr: Some(mac),
                }
            );
            assert!(n.is_unsolicited_na());
            for n in 0..f.len() {
                let _ = decode(0.0, &f[..n]);
            }
            pcap.frames.push(fr);
        }
        let claims = pcap.claims(vip.into());
        assert_eq!(claims["00:00:5e:00:02:0a"], (0, 1));
        assert_eq!(claims["02:00:c0:00:02:0b"], (0, 1));
        assert_eq!(
            pcap.announcements(vip.into()),
            vec![(0.0, [0, 0, 0x5e, 0, 2, 10]), (1.0, [2, 0, 0xc0, 0, 2, 11])]
        );
        assert_eq!(count_kinds(pcap.frames.iter()), (2, 0, 2));
    }

    #[test]
    fn mld_is_other_ipv6() {
        let fr = decode(0.0, &hex(MLD_REPORT)).unwrap();
        assert!(
            matches!(fr.payload, Payload::Ipv6 { dst, .. } if dst == "ff02::16".parse::<Ipv6Addr>().unwrap()),
            "{fr:?}"
        );
        assert_eq!(count_kinds([fr].iter()), (1, 0, 0));
    }

    #[test]
    fn silence_between_port_captures() {
        let mut old = Pcap::default();
        let mut new = Pcap::default();
        for t in [1.0, 1.1, 1.2] {
            old.frames
                .push(decode(t, &hex(KEEPALIVED_ADVERT6)).unwrap());
        }
        for t in [1.56, 1.66] {
            new.frames.push(decode(t, &hex(FRR_ADVERT6)).unwrap());
        }
        let s = Silence::between(&old, &new, 1.25).unwrap();
        assert_eq!((s.last_old, s.first_new), (1.2, 1.56));
        assert!(Silence::between(&old, &new, 2.0).is_none());
    }

    #[test]
    fn keepalived_50ms_trace_figures() {
        let Some(p) = trace("keepalived-v3-50ms-pause.pcap") else {
            return;
        };
        let pcap = Pcap::read(p);
        let r1 = Ipv4Addr::new(192, 0, 2, 11);
        let r2 = Ipv4Addr::new(192, 0, 2, 12);
        // pause r1 1795603582.159274, resume r1 1795603588.166644 (the events file).
        let s = pcap.takeover_silence(r1, r2, 1795603582.159274).unwrap();
        assert!((s.ms() - 181.443).abs() < 0.01, "silence {}", s.ms());
        let r1_mac = [0x7e, 0xd8, 0x9f, 0x78, 0x05, 0xc8];
        let resumed = pcap
            .frames_in(1795603588.166644, Duration::from_millis(50))
            .filter(|f| f.src_mac == r1_mac);
        assert_eq!(count_kinds(resumed), (43, 7, 33));
        let claims = pcap.arp_claims(Ipv4Addr::new(192, 0, 2, 1));
        assert!(claims.get("7e:d8:9f:78:05:c8").unwrap().1 > 0);
    }
}
