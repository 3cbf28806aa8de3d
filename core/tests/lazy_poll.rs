//! A driver that hands the stack its frames itself may call `poll` only when `wants_poll` says
//! it has work (the Linux daemon does: a Backup's turn that only heard an advert then costs no
//! poll). Whatever happens on the segment, such a driver must see exactly what one that polls
//! at every turn sees: the same frames at the same instants, the same events.

mod common;

use common::*;
use smoltcp::wire::EthernetAddress;
use vrrp_core::net::{Event, NetAddress};
use vrrp_core::{Duration, Instant};

/// What one run leaves: every frame on the wire, every node's events, and how many polls the
/// lazy nodes skipped.
type Trace<A> = (
    Vec<(Instant, usize, Vec<u8>)>,
    Vec<Vec<(Instant, Event<A>)>>,
    usize,
);

fn trace<A: NetAddress>(seg: &Segment<A>) -> Trace<A> {
    (
        seg.wire
            .iter()
            .map(|s| (s.at, s.node, s.frame.clone()))
            .collect(),
        seg.nodes.iter().map(|n| n.events.clone()).collect(),
        seg.nodes.iter().map(|n| n.skipped).sum(),
    )
}

/// Runs `scenario` on the segment `build` makes, once polling at every turn and once lazily,
/// and checks that the two are the same and that the lazy run skipped polls.
fn same_either_way<A: NetAddress + PartialEq + core::fmt::Debug>(
    build: impl Fn() -> Segment<A>,
    scenario: impl Fn(&mut Segment<A>),
) where
    Event<A>: PartialEq + core::fmt::Debug,
{
    let run = |lazy: bool| {
        let mut seg = build();
        for n in &mut seg.nodes {
            n.lazy = lazy;
        }
        scenario(&mut seg);
        trace(&seg)
    };
    let (eager_wire, eager_events, _) = run(false);
    let (lazy_wire, lazy_events, skipped) = run(true);
    let events: usize = eager_events.iter().map(Vec::len).sum();
    assert!(
        eager_wire.len() + events > 40,
        "the scenario made {} frames and {events} events",
        eager_wire.len()
    );
    for (i, (e, l)) in eager_wire.iter().zip(&lazy_wire).enumerate() {
        assert_eq!(e, l, "frame {i} differs (eager, lazy)");
    }
    assert_eq!(eager_wire.len(), lazy_wire.len(), "frames on the wire");
    assert_eq!(eager_events, lazy_events, "events");
    assert!(skipped > 10, "the lazy run skipped {skipped} polls");
}

/// A start after a while in Initialize, election, a freeze of the Active and its return, a
/// Backup whose priority rises above the Active's (it preempts) and falls back, an Active
/// drained (priority 0: it steps down at once) and restored, ARP and ping for the VIP, a
/// membership query, a shutdown: each queues work that only `poll` does.
fn life<A: NetAddress>(seg: &mut Segment<A>, extra: &[Vec<u8>]) {
    // Polled before it starts, as a daemon's router waiting for its health checks is: the
    // start's actions then find nothing else due.
    seg.settle();
    seg.run_for(Duration::from_secs(1));
    seg.start_all();
    seg.run_for(Duration::from_secs(5));
    seg.nodes[0].frozen = true;
    seg.run_for(Duration::from_millis(4500));
    seg.nodes[0].frozen = false;
    seg.run_for(Duration::from_secs(3));
    // The Backup preempts and falls back; the Active is drained and restored.
    for (node, priority, then) in [(1, 250, 3), (1, 100, 5), (0, 0, 2), (0, 200, 5)] {
        let now = seg.now;
        seg.nodes[node].stack.set_priority(now, priority);
        seg.settle();
        seg.run_for(Duration::from_secs(then));
    }
    for frame in extra {
        between_turns(seg);
        seg.inject(frame.clone());
        seg.run_for(Duration::from_millis(1500));
    }
    seg.run_for(Duration::from_secs(10));
    let now = seg.now;
    seg.nodes[0].shutdown(now);
    seg.settle();
    seg.run_for(Duration::from_secs(5));
}

/// Runs to halfway between now and the next deadline of any node, so that nothing but a frame
/// injected then makes the turn a poll.
fn between_turns<A: NetAddress>(seg: &mut Segment<A>) {
    let now = seg.now;
    let next = seg
        .nodes
        .iter_mut()
        .filter_map(|n| n.stack.poll_at(now))
        .min()
        .expect("a deadline");
    seg.run_until(now + Duration::from_micros((next - now).as_micros() / 2));
}

#[test]
fn ipv4_multicast_routers_poll_lazily_with_the_same_result() {
    same_either_way(
        || {
            let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
            for (n, last) in seg.nodes.iter_mut().zip([11, 12]) {
                n.as_firmware(last);
            }
            seg
        },
        |seg| {
            life(
                seg,
                &[
                    arp_request(VIP),
                    echo_request(vrrp_core::net::virtual_mac(10), VIP),
                    general_query(Duration::from_secs(4)),
                ],
            )
        },
    );
}

/// A Linux host's way: the kernel owns the primary address and sends unicast adverts
/// (delegated), smoltcp keeps the VIPs.
#[test]
fn ipv4_delegated_unicast_routers_poll_lazily_with_the_same_result() {
    same_either_way(
        || {
            let mut seg = firmware_segment(addr, VIP, 24, &[(11, 200), (12, 100)], &[11, 12]);
            for (n, last) in seg.nodes.iter_mut().zip([11, 12]) {
                n.stack.set_own_primary(false);
                n.stack.set_unicast_delegate(true);
                n.stack
                    .set_node_mac(EthernetAddress([0x02, 0, 0, 0, 1, last]))
                    .unwrap();
            }
            seg
        },
        |seg| life(seg, &[arp_request(VIP)]),
    );
}

/// Peers resolved by the stack itself, one of which never answers: its requests are repeated
/// while adverts are due to it, and at once when it is heard (here by a multicast advert for
/// another VRID, which takes the short way past smoltcp and which no router answers).
#[test]
fn ipv4_unicast_peers_resolved_by_the_stack_poll_lazily_with_the_same_result() {
    let heard = AdvertSpec {
        source: addr(13),
        vrid: 11,
        interval: 10,
        ..Default::default()
    };
    same_either_way(
        || firmware_segment(addr, VIP, 24, &[(11, 200), (12, 100)], &[11, 12, 13]),
        |seg| life(seg, &[arp_request(VIP), heard.frame()]),
    );
}

#[cfg(feature = "ipv6")]
#[test]
fn ipv6_unicast_peers_resolved_by_the_stack_poll_lazily_with_the_same_result() {
    same_either_way(
        || firmware_segment(addr6, VIP6, 64, &[(11, 200), (12, 100)], &[11, 12, 13]),
        |seg| life(seg, &[]),
    );
}
