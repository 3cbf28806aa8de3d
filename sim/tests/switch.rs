//! The segment is a learning switch, so the source MAC of every frame decides where the VIP's
//! traffic goes. A Backup that (re)starts sends its membership report, and any ARP, from its
//! node's own MAC: the switch keeps sending frames for the virtual MAC to the Active.

use std::borrow::Cow;

use bumpalo::Bump;
use pcap_file::pcap::PcapReader;
use smoltcp::wire::{
    ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet,
};
use vrrp_sim::scenario::Scenario;
use vrrp_sim::world::{Kind, Options, Sim, node_mac};

const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 10];

/// r1 Active throughout; r2, the Backup, is killed and restarted twice.
const RESTARTS: &str = "
    name backup-restarts
    duration 30s
    router r1 192.0.2.11
    router r2 192.0.2.12
    vrid 10 vip 192.0.2.1 interval 1s
    vrrp r1 10 priority 200
    vrrp r2 10 priority 100
    at 10s kill r2
    at 12.5s restart r2
    at 20s kill r2
    at 21.25s restart r2
    expect r1 Active during 5s..30s
";

fn frames(pcap: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = PcapReader::new(pcap).unwrap();
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet() {
        let data: Cow<[u8]> = p.unwrap().data;
        out.push(data.into_owned());
    }
    out
}

enum Seen {
    Advert,
    Igmp,
    Arp { sender: std::net::Ipv4Addr },
    Other,
}

fn seen(frame: &[u8]) -> Seen {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload())
            .unwrap()
            .next_header()
        {
            IpProtocol::Unknown(112) => Seen::Advert,
            IpProtocol::Igmp => Seen::Igmp,
            _ => Seen::Other,
        },
        EthernetProtocol::Arp => {
            match ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap() {
                ArpRepr::EthernetIpv4 {
                    source_protocol_addr,
                    ..
                } => Seen::Arp {
                    sender: source_protocol_addr,
                },
                _ => Seen::Other,
            }
        }
        _ => Seen::Other,
    }
}

#[test]
fn a_backup_sends_from_its_own_mac_and_the_vip_stays_with_the_active() {
    let s = Scenario::parse(RESTARTS).unwrap();
    let arena = Bump::new();
    let opts = Options {
        pcap: true,
        ..Options::default()
    };
    let mut sim = Sim::new(&arena, s.nodes.clone(), s.seed, opts);
    for (at, a) in &s.actions {
        sim.schedule(*at, a.clone());
    }
    sim.run_until(s.duration);
    let misdirected: Vec<_> = sim
        .log
        .iter()
        .filter(|e| matches!(e.kind, Kind::Misdirected { .. }))
        .collect();
    assert!(misdirected.is_empty(), "{misdirected:?}");
    assert_eq!(
        sim.port_of(VMAC),
        Some(0),
        "the virtual MAC is at r1's port"
    );
    assert_eq!(
        sim.port_of(node_mac(1)),
        Some(1),
        "r2 sent from its own MAC"
    );

    let frames = frames(&sim.take_pcap());
    let src = |f: &[u8]| EthernetFrame::new_checked(f).unwrap().src_addr();
    // r2 joined 224.0.0.18 three times (start and two restarts), each time from its own MAC.
    let reports = frames
        .iter()
        .filter(|f| src(f) == EthernetAddress(node_mac(1)) && matches!(seen(f), Seen::Igmp))
        .count();
    assert_eq!(reports, 3);
    // From the virtual MAC: the Active's adverts and its announcements of the VIP, nothing else.
    for f in frames.iter().filter(|f| src(f) == EthernetAddress(VMAC)) {
        match seen(f) {
            Seen::Advert => {}
            Seen::Arp { sender } if sender == std::net::Ipv4Addr::new(192, 0, 2, 1) => {}
            _ => panic!("from the virtual MAC: {f:02x?}"),
        }
    }
}
