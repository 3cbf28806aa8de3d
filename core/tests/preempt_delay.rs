//! `preempt_delay` (keepalived's rule): a Backup takes over from a lower-priority Active only
//! once it has outranked it for the whole delay, counted from startup and from the first advert
//! it outranks after one it did not. In exact virtual time, interval I = 1 s:
//! - priority 200: Active_Down_Interval = 3 s + 56/256 s = 3_218_750 us;
//! - priority 100: Active_Down_Interval = 3 s + 156/256 s = 3_609_375 us.

mod common;

use common::*;
use vrrp_core::{Config, Duration, Instant, State};

const DOWN_200: u64 = 3_218_750;
const DOWN_100: u64 = 3_609_375;
const DELAY: Duration = Duration::from_secs(5);

fn delayed(priority: u8, last: u8) -> Config<4> {
    let mut c = config(priority, last);
    c.preempt_delay = DELAY;
    c
}

/// A segment whose node 0 (priority 100, address .12) has been Active alone for a while; node 1
/// (`joining`, address .11) is added, not started.
fn active_then(joining: Config<4>) -> Segment {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(Instant::from_secs(5));
    assert_eq!(seg.state(0), State::Active);
    seg.nodes.push(Node::new(joining, seg.now));
    seg
}

/// Adverts with a non-zero priority that `node` sent in `[from, to]`.
fn adverts(seg: &Segment, node: usize, from: Instant, to: Instant) -> Vec<Instant> {
    seg.sent_by(node)
        .into_iter()
        .filter(|(at, d)| {
            *at >= from
                && *at <= to
                && matches!(d, Decoded::Advert { priority, .. } if *priority > 0)
        })
        .map(|(at, _)| at)
        .collect()
}

/// The instant node 1 became Active, from its state-change events.
fn became_active(seg: &Segment) -> Vec<Instant> {
    seg.nodes[1]
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                vrrp_core::net::Event::StateChange {
                    to: State::Active,
                    ..
                }
            )
        })
        .map(|(at, _)| *at)
        .collect()
}

#[test]
fn a_starting_router_waits_the_delay_then_preempts_once() {
    let mut seg = active_then(delayed(200, 11));
    let start = seg.now;
    seg.nodes[1].stack.startup(start);
    seg.settle();
    seg.run_until(start + DELAY + Duration::from_secs(10));
    // The last advert of node 0 that node 1 still heeded is the last one before the delay ran
    // out; node 1 takes over Active_Down_Interval after it.
    let heeded = *adverts(&seg, 0, start, start + DELAY - Duration::from_micros(1))
        .last()
        .expect("node 0 advertised during the delay");
    assert_eq!(
        became_active(&seg),
        [heeded + Duration::from_micros(DOWN_200)]
    );
    assert_eq!(seg.state(0), State::Backup);
    assert_eq!(
        seg.nodes[0].stack.router().stats().transitions,
        3,
        "node 0: startup, Active, then Backup once"
    );
}

#[test]
fn a_dip_of_the_joining_router_starts_the_delay_again() {
    let mut seg = active_then(delayed(200, 11));
    let start = seg.now;
    seg.nodes[1].stack.startup(start);
    seg.settle();
    // 3 s in, its check falls (200 -> 50, below the Active) for 1.5 s, then rises again.
    seg.run_until(start + Duration::from_secs(3));
    seg.nodes[1].stack.set_priority(seg.now, 50);
    seg.run_for(Duration::from_millis(1500));
    let risen = seg.now;
    seg.nodes[1].stack.set_priority(risen, 200);
    seg.run_until(risen + DELAY + Duration::from_secs(10));
    // The delay starts at the first advert after the rise and runs in full.
    let adv = adverts(&seg, 0, risen, risen + DELAY + Duration::from_secs(10));
    let started = adv[0];
    let heeded = *adv.iter().rfind(|t| **t < started + DELAY).unwrap();
    assert_eq!(
        became_active(&seg),
        [heeded + Duration::from_micros(DOWN_200)]
    );
    assert!(
        heeded + Duration::from_micros(DOWN_200) > start + DELAY + Duration::from_micros(DOWN_200),
        "later than without the dip"
    );
}

#[test]
fn a_dip_of_the_active_shorter_than_the_delay_moves_nothing() {
    // Node 0 Active at 200, node 1 Backup at 100, both with the delay.
    let mut seg = Segment::new(vec![delayed(200, 12), delayed(100, 11)]);
    seg.start_all();
    seg.run_until(Instant::from_secs(10));
    assert_eq!((seg.state(0), seg.state(1)), (State::Active, State::Backup));
    let before = seg.nodes[1].stack.router().stats().transitions;

    // The Active's check falls (200 -> 50) for 4 s, shorter than the delay: nothing moves.
    seg.nodes[0].stack.set_priority(seg.now, 50);
    seg.run_for(Duration::from_secs(4));
    seg.nodes[0].stack.set_priority(seg.now, 200);
    seg.run_for(Duration::from_secs(20));
    assert_eq!((seg.state(0), seg.state(1)), (State::Active, State::Backup));
    assert_eq!(seg.nodes[1].stack.router().stats().transitions, before);

    // A fall that lasts: node 1 takes over once the delay has run since the first low advert.
    let fell = seg.now;
    seg.nodes[0].stack.set_priority(fell, 50);
    seg.run_for(Duration::from_secs(20));
    let adv = adverts(&seg, 0, fell, seg.now);
    let heeded = *adv.iter().rfind(|t| **t < adv[0] + DELAY).unwrap();
    assert_eq!(
        became_active(&seg),
        [heeded + Duration::from_micros(DOWN_100)]
    );
    assert_eq!(seg.state(0), State::Backup);
    assert_eq!(seg.nodes[1].stack.router().stats().transitions, before + 1);
}

#[test]
fn a_silent_active_is_replaced_without_waiting() {
    // Node 1 (priority 100, delay 5 s) starts next to a higher Active that dies 1 s later: taking
    // over from a silent Active is no preemption, it does not wait for the delay.
    let mut seg = Segment::new(vec![config(200, 12)]);
    seg.start_all();
    seg.run_until(Instant::from_secs(5));
    seg.nodes.push(Node::new(delayed(100, 11), seg.now));
    let start = seg.now;
    seg.nodes[1].stack.startup(start);
    seg.settle();
    seg.run_for(Duration::from_secs(1));
    let last = *adverts(&seg, 0, start, seg.now).last().unwrap();
    seg.nodes[0].up = false;
    seg.run_for(Duration::from_secs(10));
    assert_eq!(
        became_active(&seg),
        [last + Duration::from_micros(DOWN_100)]
    );
    assert!(last + Duration::from_micros(DOWN_100) < start + DELAY);
}

#[test]
fn a_return_from_fault_waits_the_delay_again() {
    let mut seg = Segment::new(vec![delayed(200, 12), delayed(100, 11)]);
    seg.start_all();
    seg.run_until(Instant::from_secs(10));
    // The Active faults (priority 0): node 1 takes over after Skew_Time.
    seg.nodes[0].stack.set_priority(seg.now, 0);
    seg.run_for(Duration::from_secs(5));
    assert_eq!((seg.state(0), seg.state(1)), (State::Backup, State::Active));
    // Back from the fault: node 0 outranks node 1 again, and waits the delay.
    let back = seg.now;
    seg.nodes[0].stack.set_priority(back, 200);
    seg.run_until(back + DELAY - Duration::from_millis(1));
    assert_eq!((seg.state(0), seg.state(1)), (State::Backup, State::Active));
    seg.run_until(back + DELAY + Duration::from_secs(5));
    assert_eq!((seg.state(0), seg.state(1)), (State::Active, State::Backup));
}

#[test]
fn without_a_delay_preemption_is_immediate() {
    let mut seg = active_then(config(200, 11));
    let start = seg.now;
    seg.nodes[1].stack.startup(start);
    seg.settle();
    seg.run_for(Duration::from_secs(10));
    // Every advert of node 0 is outranked: node 1 never re-arms, Active_Down_Interval from start.
    assert_eq!(
        became_active(&seg),
        [start + Duration::from_micros(DOWN_200)]
    );
}
