//! The node's own MAC (`Stack::set_node_mac`): the virtual MAC is the source of the Active's
//! adverts, gratuitous ARPs and ARP replies for the VIP only (RFC 9568 §7.3); every other frame
//! leaves with the node's MAC, and frames sent to either MAC are received.

mod common;

use common::*;
use smoltcp::wire::{EthernetAddress, EthernetFrame};
use vrrp_core::net::{NotUnicast, virtual_mac};
use vrrp_core::{Instant, State};

const VMAC: EthernetAddress = virtual_mac(10);

fn node_mac(i: usize) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0x0a, i as u8 + 1])
}

fn segment() -> Segment {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    for (i, n) in seg.nodes.iter_mut().enumerate() {
        n.stack.set_own_primary(true);
        n.stack.set_node_mac(node_mac(i)).unwrap();
    }
    seg.start_all();
    seg.run_until(Instant::from_micros(5_000_000));
    assert_eq!((seg.state(0), seg.state(1)), (State::Active, State::Backup));
    seg
}

fn src_mac(frame: &[u8]) -> EthernetAddress {
    EthernetFrame::new_checked(frame).unwrap().src_addr()
}

#[test]
fn a_backup_sends_nothing_from_the_virtual_mac() {
    let mut seg = segment();
    // Someone asks for the Backup's own address, then pings it at the MAC it was told.
    seg.inject(arp_request(addr(12)));
    seg.inject(echo_request(node_mac(1), addr(12)));
    let sent = seg.sent_by(1);
    assert!(sent.iter().any(|(_, d)| *d == Decoded::Igmp));
    assert!(sent.contains(&(
        seg.now,
        Decoded::ArpReply {
            src_mac: node_mac(1),
            sender_mac: node_mac(1),
            sender: addr(12),
        }
    )));
    assert!(sent.contains(&(
        seg.now,
        Decoded::EchoReply {
            src_mac: node_mac(1),
            src: addr(12),
        }
    )));
    for s in seg.wire.iter().filter(|s| s.node == 1) {
        assert_eq!(src_mac(&s.frame), node_mac(1), "{:?}", decode(&s.frame));
    }
}

#[test]
fn the_active_uses_the_virtual_mac_for_adverts_and_the_vip_only() {
    let mut seg = segment();
    seg.inject(arp_request(VIP));
    seg.inject(arp_request(addr(11)));
    let mut adverts = 0;
    for s in seg.wire.iter().filter(|s| s.node == 0) {
        let want = match decode(&s.frame) {
            Decoded::Advert { .. } => {
                adverts += 1;
                VMAC
            }
            Decoded::Garp { src_mac, .. } => {
                assert_eq!(src_mac, VMAC);
                VMAC
            }
            Decoded::ArpReply {
                sender_mac, sender, ..
            } => {
                let want = if sender == VIP { VMAC } else { node_mac(0) };
                assert_eq!(sender_mac, want, "ARP reply for {sender}");
                want
            }
            _ => node_mac(0),
        };
        assert_eq!(src_mac(&s.frame), want, "{:?}", decode(&s.frame));
    }
    assert!(adverts > 0);
}

#[test]
fn the_active_receives_at_the_virtual_mac() {
    let mut seg = segment();
    let mut c = config(200, 11);
    c.accept_mode = true;
    // Accept_Mode, so that the Active answers a ping to the VIP sent to the virtual MAC.
    seg.nodes[0] = Node::new(c, seg.now);
    seg.nodes[0].stack.set_node_mac(node_mac(0)).unwrap();
    seg.nodes[0].stack.startup(seg.now);
    seg.run_until(Instant::from_micros(10_000_000));
    assert_eq!(seg.state(0), State::Active);
    seg.inject(arp_request(VIP));
    let before = seg.wire.len();
    seg.inject(echo_request(VMAC, VIP));
    let replies: Vec<_> = seg.wire[before..]
        .iter()
        .filter(|s| matches!(decode(&s.frame), Decoded::EchoReply { src, .. } if src == VIP))
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].node, 0);
}

#[test]
fn a_multicast_mac_is_refused() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    let group = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 0x12]);
    assert_eq!(seg.nodes[0].stack.set_node_mac(group), Err(NotUnicast));
    seg.start_all();
    for s in &seg.wire {
        assert_eq!(src_mac(&s.frame), VMAC);
    }
}
