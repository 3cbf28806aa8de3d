//! Packet capture with tcpdump in the switch namespace, and pcap analysis (pcap-file v2).
//!
//! A [`Capture`] records `bridge.pcap` (everything on the bridge, the file `vrrp-sim replay` and
//! tshark read) and one `from-<node>.pcap` per router (`tcpdump -Q in` on that router's switch
//! port: exactly the frames that router sent, whatever source MAC it used).

use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
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
        for &id in &procs {
            wait_until(Duration::from_secs(10), || {
                assert!(lab.is_running(id), "tcpdump exited: {}", lab.log(id));
                lab.log(id).contains("listening on")
            })
            .expect("tcpdump listening");
        }
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

fn start_tcpdump(lab: &Lab, iface: &str, out: &Path, label: &str, inbound: bool) -> ProcId {
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

/// A VRRP advertisement as seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// IPv4 source address.
    pub src: Ipv4Addr,
    /// IPv4 destination (224.0.0.18 or a unicast peer).
    pub dst: Ipv4Addr,
    /// IP TTL (must be 255).
    pub ttl: u8,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0 = the Active is leaving).
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2's seconds are converted).
    pub interval_cs: u16,
    /// The addresses carried.
    pub addrs: Vec<Ipv4Addr>,
}

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

/// What a frame carries, as far as the tests care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A VRRP advertisement (IP protocol 112).
    Vrrp(Advert),
    /// ARP.
    Arp(Arp),
    /// Other IPv4 (the prober's HTTP), with source and destination.
    Ipv4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
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

    /// Times of adverts from `src` (IPv4 source) in `[from, to)`.
    pub fn advert_times(&self, src: Ipv4Addr, from: f64, to: f64) -> Vec<f64> {
        self.adverts()
            .filter(|(t, _, a)| a.src == src && *t >= from && *t < to)
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

    /// The takeover after `after` (e.g. the pause time): the first advert from `new` after
    /// `after`, and the last advert from `old` before it.
    pub fn takeover_silence(&self, old: Ipv4Addr, new: Ipv4Addr, after: f64) -> Option<Silence> {
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
}

/// Counts of a set of frames by kind: (all, VRRP, ARP).
pub fn count_kinds<'a>(frames: impl Iterator<Item = &'a Frame>) -> (usize, usize, usize) {
    let (mut all, mut vrrp, mut arp) = (0, 0, 0);
    for f in frames {
        all += 1;
        match f.payload {
            Payload::Vrrp(_) => vrrp += 1,
            Payload::Arp(_) => arp += 1,
            _ => {}
        }
    }
    (all, vrrp, arp)
}

fn ip4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
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
    let v = &b[ihl..total];
    let version = v[0] >> 4;
    let count = usize::from(v[3]);
    let interval_cs = match version {
        3 => u16::from_be_bytes([v[4], v[5]]) & 0x0fff,
        2 => u16::from(v[5]) * 100,
        _ => return Payload::Other,
    };
    let addrs = v[8..]
        .chunks_exact(4)
        .take(count)
        .map(ip4)
        .collect::<Vec<_>>();
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
                src: Ipv4Addr::new(192, 0, 2, 11),
                dst: Ipv4Addr::new(224, 0, 0, 18),
                ttl: 255,
                version: 3,
                vrid: 10,
                priority: 200,
                interval_cs: 5,
                addrs: vec![Ipv4Addr::new(192, 0, 2, 1)],
            }
        );
        // Truncated: still a frame, not a panic.
        for n in 0..f.len() {
            let _ = decode(0.0, &f[..n]);
        }
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
