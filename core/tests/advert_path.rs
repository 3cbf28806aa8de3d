//! The way a received advert takes to the router. The common multicast advert skips smoltcp's
//! ingress (`NetAddress::multicast_advert`); everything else takes it. Both ways must apply
//! the same rules, so each case here names a rule of smoltcp's that the short way has to keep,
//! or a frame that must still take the long way and be treated as before.

mod common;

use common::*;
use smoltcp::wire::{EthernetAddress, Ipv4Packet};
use vrrp_core::net::Event;
use vrrp_core::wire::DropReason;
use vrrp_core::{Instant, State};

/// A lone router of priority 100 that has become Active (its VIP 192.0.2.1/24 is claimed).
fn active() -> Segment {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(Instant::from_micros(5_000_000));
    assert_eq!(seg.state(0), State::Active);
    seg
}

/// An advert that would make the Active step down, were it heard.
fn higher(source: u8) -> Vec<u8> {
    AdvertSpec {
        priority: 254,
        source: addr(source),
        ..AdvertSpec::default()
    }
    .frame()
}

/// Rewrites the IPv4 header of `frame` with `f`, then fixes its checksum.
fn edit_ip(mut frame: Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    f(&mut frame);
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip.fill_checksum();
    frame
}

/// What injecting `frame` into a fresh lone Active does: adverts received, advert events
/// (received or dropped), and the state after.
fn outcome(frame: Vec<u8>) -> (u32, usize, State) {
    let mut seg = active();
    let before = seg.nodes[0].events.len();
    seg.inject(frame);
    let heard = seg.nodes[0].stack.router().stats().adverts_received;
    let events = seg.nodes[0].events[before..]
        .iter()
        .filter(|(_, e)| matches!(e, Event::AdvertReceived { .. } | Event::Dropped { .. }))
        .count();
    (heard, events, seg.state(0))
}

/// Heard: the Active steps down for the higher priority.
const HEARD: (u32, usize, State) = (1, 1, State::Backup);
/// Never reached the router: not counted, no event, still Active.
const UNHEARD: (u32, usize, State) = (0, 0, State::Active);

#[test]
fn a_well_formed_multicast_advert_reaches_the_router() {
    assert_eq!(outcome(higher(50)), HEARD);
}

#[test]
fn a_bad_ip_header_checksum_is_dropped_before_the_router_and_not_counted() {
    let mut frame = higher(50);
    frame[14 + 10] ^= 0xff;
    assert_eq!(outcome(frame), UNHEARD);
}

#[test]
fn a_fragment_is_dropped_before_the_router() {
    // More fragments follow.
    let frame = edit_ip(higher(50), |f| f[14 + 6] |= 0x20);
    assert_eq!(outcome(frame), UNHEARD);
}

#[test]
fn ip_options_are_skipped_and_the_message_read_after_them() {
    let frame = edit_ip(higher(50), |f| {
        // Four NOP options: the header grows to 24 bytes, the message follows them.
        f.splice(14 + 20..14 + 20, [1u8; 4]);
        f[14] = 0x46;
        let total = u16::from_be_bytes([f[16], f[17]]) + 4;
        f[16..18].copy_from_slice(&total.to_be_bytes());
    });
    assert_eq!(outcome(frame), HEARD);
}

#[test]
fn padding_after_the_ip_length_is_not_part_of_the_message() {
    // Ethernet pads short frames; the VRRP checksum covers the IP payload alone.
    let mut frame = higher(50);
    frame.extend_from_slice(&[0; 8]);
    assert_eq!(outcome(frame), HEARD);
}

#[test]
fn a_source_that_is_the_broadcast_of_a_claimed_subnet_is_ignored() {
    // 192.0.2.255 is the broadcast address of the VIP's /24, which the Active holds.
    assert_eq!(outcome(higher(255)), UNHEARD);
}

#[test]
fn a_multicast_source_is_ignored() {
    let frame = edit_ip(higher(50), |f| {
        f[14 + 12..14 + 16].copy_from_slice(&[224, 0, 0, 5])
    });
    assert_eq!(outcome(frame), UNHEARD);
}

#[test]
fn an_advert_at_another_group_mac_is_still_heard() {
    // smoltcp takes any multicast MAC; the advert then takes its way, with the same outcome.
    let mut frame = higher(50);
    frame[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0, 0, 0x13]);
    assert_eq!(outcome(frame), HEARD);
}

#[test]
fn an_advert_to_another_nodes_mac_is_not_ours() {
    let mut frame = higher(50);
    frame[..6].copy_from_slice(&EthernetAddress([0x02, 0, 0, 0, 0, 0x99]).0);
    assert_eq!(outcome(frame), UNHEARD);
}

#[test]
fn a_corrupt_message_is_counted_whichever_way_it_came() {
    let frame = AdvertSpec {
        priority: 254,
        corrupt_checksum: true,
        ..AdvertSpec::default()
    }
    .frame();
    assert_eq!(outcome(frame.clone()), (0, 1, State::Active));
    let mut seg = active();
    seg.inject(frame);
    let drops = seg.nodes[0]
        .stack
        .router()
        .stats()
        .drops(DropReason::Checksum);
    assert_eq!(drops, 1);
}
