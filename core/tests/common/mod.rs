//! A shared Ethernet segment of in-memory devices for driving [`Stack`]s in virtual time.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;
use vrrp_core::net::{Buffers, Event, NetAddress, Resources, Stack};
use vrrp_core::{Config, Duration, Instant};

#[derive(Default)]
pub struct MemDevice {
    pub rx: VecDeque<Vec<u8>>,
    pub tx: Vec<Vec<u8>>,
}

pub struct Rx(Vec<u8>);
pub struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for MemDevice {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

pub fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

/// A link-local VIP, and the nodes' link-local addresses, for IPv6 segments.
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

pub fn addr6(last: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(last))
}

pub fn config(priority: u8, last: u8) -> Config<4> {
    let mut c = Config::new(10, priority, addr(last)).with_vip(VIP).unwrap();
    c.vip_prefix_len = 24;
    c
}

/// A frame on the wire, as a test sees it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub node: usize,
    pub frame: Vec<u8>,
}

pub struct Node<A: NetAddress = Ipv4Addr> {
    pub stack: Stack<'static, 4, A>,
    pub dev: MemDevice,
    pub events: Vec<(Instant, Event<A>)>,
    /// While frozen the node runs nothing; frames addressed to it queue in `dev.rx`.
    pub frozen: bool,
    pub up: bool,
    /// Drives the stack as the Linux daemon does: its frames through `poll_ingress`, then
    /// `poll` only when `wants_poll` says it has work.
    pub lazy: bool,
    /// Turns of a started router whose `poll` the lazy mode skipped.
    pub skipped: usize,
}

impl<A: NetAddress> Node<A> {
    pub fn new(config: Config<4, A>, now: Instant) -> Node<A> {
        let mut dev = MemDevice::default();
        let resources = Box::leak(Box::new(Resources::new()));
        let buffers = Box::leak(Box::new(Buffers::new()));
        let stack = Stack::new(config, &mut dev, resources, buffers, now).unwrap();
        Node {
            stack,
            dev,
            events: Vec::new(),
            frozen: false,
            up: true,
            lazy: false,
            skipped: 0,
        }
    }

    /// As on a firmware: the node owns its primary address (it answers ARP for it and sends its
    /// reports from it) and sends from its own MAC, 02:00:00:00:00:`last`, instead of the
    /// virtual one.
    pub fn as_firmware(&mut self, last: u8) {
        self.stack.set_own_primary(true);
        self.stack
            .set_node_mac(smoltcp::wire::EthernetAddress([0x02, 0, 0, 0, 0, last]))
            .unwrap();
    }

    /// [`Stack::shutdown`] at `now`, its events kept with the others.
    pub fn shutdown(&mut self, now: Instant) {
        let events = &mut self.events;
        self.stack
            .shutdown(now, &mut self.dev, &mut |e| events.push((now, e)));
    }

    pub fn poll(&mut self, now: Instant) {
        let events = &mut self.events;
        let on_event = &mut |e| events.push((now, e));
        if self.lazy {
            self.stack.poll_ingress(now, &mut self.dev, on_event);
            if !self.stack.wants_poll(now) {
                if self.stack.router().state() != vrrp_core::State::Initialize {
                    self.skipped += 1;
                }
                return;
            }
        }
        self.stack.poll(now, &mut self.dev, on_event);
    }
}

/// All nodes on one segment; frames are delivered at the instant they are sent.
pub struct Segment<A: NetAddress = Ipv4Addr> {
    pub now: Instant,
    pub nodes: Vec<Node<A>>,
    pub wire: Vec<Sent>,
}

impl<A: NetAddress> Segment<A> {
    pub fn new(configs: Vec<Config<4, A>>) -> Segment<A> {
        let now = Instant::from_secs(0);
        let nodes = configs.into_iter().map(|c| Node::new(c, now)).collect();
        Segment {
            now,
            nodes,
            wire: Vec::new(),
        }
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.stack.startup(self.now);
        }
        self.settle();
    }

    /// Injects a frame from outside into every node's receive queue.
    pub fn inject(&mut self, frame: Vec<u8>) {
        for n in &mut self.nodes {
            if n.up {
                n.dev.rx.push_back(frame.clone());
            }
        }
        self.settle();
    }

    /// Polls every running node at `now` and moves frames until nothing more happens.
    pub fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                if self.nodes[i].frozen || !self.nodes[i].up {
                    continue;
                }
                self.nodes[i].poll(self.now);
                let out: Vec<_> = self.nodes[i].dev.tx.drain(..).collect();
                for frame in out {
                    moved = true;
                    self.wire.push(Sent {
                        at: self.now,
                        node: i,
                        frame: frame.clone(),
                    });
                    for (j, n) in self.nodes.iter_mut().enumerate() {
                        if j != i && n.up {
                            n.dev.rx.push_back(frame.clone());
                        }
                    }
                }
            }
            let pending = self
                .nodes
                .iter()
                .any(|n| n.up && !n.frozen && !n.dev.rx.is_empty());
            if !moved && !pending {
                break;
            }
        }
    }

    /// Advances virtual time from deadline to deadline up to `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next = self
                .nodes
                .iter_mut()
                .filter(|n| n.up && !n.frozen)
                .filter_map(|n| n.stack.poll_at(self.now))
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = t.max(self.now);
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn state(&self, i: usize) -> vrrp_core::State {
        self.nodes[i].stack.router().state()
    }
}

/// Routers `(last, priority)` of `routers` with 100 ms adverts and the peer list `peers`,
/// each owning its primary address and sending from its own MAC, as a firmware does.
pub fn firmware_segment<A: NetAddress>(
    addr: fn(u8) -> A,
    vip: A,
    prefix: u8,
    routers: &[(u8, u8)],
    peers: &[u8],
) -> Segment<A> {
    let configs = routers
        .iter()
        .map(|&(last, priority)| {
            let mut c: Config<4, A> = Config::new(10, priority, addr(last)).with_vip(vip).unwrap();
            c.vip_prefix_len = prefix;
            c.adver_interval = 10;
            for &p in peers {
                c.peers.push(addr(p)).unwrap();
            }
            c
        })
        .collect();
    let mut seg = Segment::new(configs);
    for (n, &(last, _)) in seg.nodes.iter_mut().zip(routers) {
        n.as_firmware(last);
    }
    seg
}

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, IgmpPacket, IgmpRepr, IgmpVersion, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr,
};
use vrrp_core::wire::{self, Addresses, Auth, ChecksumMode, IpContext, Version};

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x42]);

/// What an injected advert looks like; `Default` is a well-formed VRRPv3 advert for VRID 10.
#[derive(Clone)]
pub struct AdvertSpec {
    pub source: Ipv4Addr,
    pub ttl: u8,
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub interval: u16,
    pub vips: Vec<Ipv4Addr>,
    pub auth: Auth,
    /// Overwrites the type nibble after emit (checksum refreshed).
    pub msg_type: Option<u8>,
    /// Overwrites the version nibble after emit (checksum refreshed).
    pub raw_version: Option<u8>,
    /// Overwrites the v2 auth type after emit (checksum refreshed).
    pub auth_type: Option<u8>,
    pub corrupt_checksum: bool,
    /// Cuts the VRRP message to this many bytes.
    pub truncate: Option<usize>,
}

impl Default for AdvertSpec {
    fn default() -> Self {
        AdvertSpec {
            source: addr(50),
            ttl: 255,
            version: Version::V3,
            vrid: 10,
            priority: 100,
            interval: 100,
            vips: vec![VIP],
            auth: Auth::None,
            msg_type: None,
            raw_version: None,
            auth_type: None,
            corrupt_checksum: false,
            truncate: None,
        }
    }
}

impl AdvertSpec {
    pub fn frame(&self) -> Vec<u8> {
        let repr = wire::Repr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            max_adver_int: self.interval,
            addresses: Addresses::V4(&self.vips),
            auth: self.auth,
        };
        let ctx = IpContext::V4 {
            src: self.source,
            dst: wire::MULTICAST_V4,
        };
        let mut vrrp = vec![0u8; repr.buffer_len()];
        {
            let mut p = wire::Packet::new_unchecked(&mut vrrp[..]);
            repr.emit(&mut p, &ctx, ChecksumMode::PseudoHeader);
            let refresh =
                self.msg_type.is_some() || self.raw_version.is_some() || self.auth_type.is_some();
            if let Some(t) = self.msg_type {
                let v = p.version();
                p.set_version_type(v, t);
            }
            if let Some(v) = self.raw_version {
                let t = p.msg_type();
                p.set_version_type(v, t);
            }
            if let Some(a) = self.auth_type {
                p.set_auth_type(a);
            }
            if refresh {
                p.fill_checksum(&ctx, ChecksumMode::PseudoHeader);
            }
            if self.corrupt_checksum {
                let c = p.checksum();
                p.set_checksum(c ^ 0x0101);
            }
        }
        if let Some(n) = self.truncate {
            vrrp.truncate(n);
        }
        ipv4_frame(
            PEER_MAC,
            EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 0x12]),
            self.source,
            wire::MULTICAST_V4,
            self.ttl,
            IpProtocol::Unknown(112),
            &vrrp,
        )
    }
}

pub fn ipv4_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: IpProtocol,
    payload: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: proto,
        payload_len: payload.len(),
        hop_limit: ttl,
    };
    let mut buf = vec![0u8; 14 + ip.buffer_len() + payload.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet, &smoltcp::phy::ChecksumCapabilities::default());
    packet.payload_mut()[..payload.len()].copy_from_slice(payload);
    buf
}

pub fn arp_request(target: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; 42];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: CLIENT_MAC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: CLIENT_MAC,
        source_protocol_addr: CLIENT,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    }
    .emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    buf
}

pub fn echo_request(dst_mac: EthernetAddress, dst: Ipv4Addr) -> Vec<u8> {
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"ping",
    };
    let mut payload = vec![0u8; icmp.buffer_len()];
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut payload[..]),
        &smoltcp::phy::ChecksumCapabilities::default(),
    );
    ipv4_frame(
        CLIENT_MAC,
        dst_mac,
        CLIENT,
        dst,
        64,
        IpProtocol::Icmp,
        &payload,
    )
}

/// A frame decoded enough for assertions.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Advert {
        src_mac: EthernetAddress,
        dst_mac: EthernetAddress,
        source: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        priority: u8,
    },
    Garp {
        src_mac: EthernetAddress,
        vip: Ipv4Addr,
    },
    ArpReply {
        src_mac: EthernetAddress,
        sender_mac: EthernetAddress,
        sender: Ipv4Addr,
    },
    EchoReply {
        src_mac: EthernetAddress,
        src: Ipv4Addr,
    },
    Igmp,
    Other(Vec<u8>),
}

pub fn decode(frame: &[u8]) -> Decoded {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
            match arp {
                ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Request,
                    source_hardware_addr,
                    source_protocol_addr,
                    target_protocol_addr,
                    ..
                } if source_protocol_addr == target_protocol_addr => Decoded::Garp {
                    src_mac: source_hardware_addr,
                    vip: target_protocol_addr,
                },
                ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Reply,
                    source_hardware_addr,
                    source_protocol_addr,
                    ..
                } => Decoded::ArpReply {
                    src_mac: eth.src_addr(),
                    sender_mac: source_hardware_addr,
                    sender: source_protocol_addr,
                },
                _ => Decoded::Other(frame.to_vec()),
            }
        }
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
            match ip.next_header() {
                IpProtocol::Unknown(112) => {
                    let (source, ttl, repr) = vrrp_core::net::parse_ipv4_advert(
                        eth.payload(),
                        ChecksumMode::PseudoHeader,
                    )
                    .unwrap();
                    Decoded::Advert {
                        src_mac: eth.src_addr(),
                        dst_mac: eth.dst_addr(),
                        source,
                        dst: ip.dst_addr(),
                        ttl,
                        priority: repr.priority,
                    }
                }
                IpProtocol::Igmp => Decoded::Igmp,
                IpProtocol::Icmp => Decoded::EchoReply {
                    src_mac: eth.src_addr(),
                    src: ip.src_addr(),
                },
                _ => Decoded::Other(frame.to_vec()),
            }
        }
        _ => Decoded::Other(frame.to_vec()),
    }
}

impl Segment {
    /// Decoded frames sent by `node`, with their times.
    pub fn sent_by(&self, node: usize) -> Vec<(Instant, Decoded)> {
        self.wire
            .iter()
            .filter(|s| s.node == node)
            .map(|s| (s.at, decode(&s.frame)))
            .collect()
    }
}

pub const QUERIER: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);

/// An IGMPv2 general query asking for reports within `max_resp`.
pub fn general_query(max_resp: Duration) -> Vec<u8> {
    let repr = IgmpRepr::MembershipQuery {
        max_resp_time: smoltcp::time::Duration::from_millis(max_resp.as_millis()),
        group_addr: Ipv4Address::UNSPECIFIED,
        version: IgmpVersion::Version2,
    };
    let mut igmp = vec![0u8; repr.buffer_len()];
    repr.emit(&mut IgmpPacket::new_unchecked(&mut igmp[..]));
    ipv4_frame(
        QUERIER,
        EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]),
        addr(254),
        Ipv4Address::new(224, 0, 0, 1),
        1,
        IpProtocol::Igmp,
        &igmp,
    )
}
