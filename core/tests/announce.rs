//! The announcement schedule on becoming Active (gratuitous ARP for IPv4; the IPv6 twin is in
//! `ipv6.rs`), in exact virtual time, through the smoltcp binding.
//!
//! Priority 100 at 1 s: Active_Down_Interval = 3_609_375 us.

mod common;

use common::*;
use smoltcp::wire::EthernetAddress;
use vrrp_core::net::virtual_mac;
use vrrp_core::{ConfigError, Duration, Garp, Instant, State};

const DOWN_100: u64 = 3_609_375;
const VMAC: EthernetAddress = virtual_mac(10);

fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// When `node` sent gratuitous ARPs, each checked to announce the VIP at the virtual MAC.
fn garps(seg: &Segment, node: usize) -> Vec<Instant> {
    seg.sent_by(node)
        .into_iter()
        .filter_map(|(t, d)| match d {
            Decoded::Garp { src_mac, vip } => {
                assert_eq!((src_mac, vip), (VMAC, VIP));
                Some(t)
            }
            _ => None,
        })
        .collect()
}

fn offsets_ms(times: &[Instant], from: u64) -> Vec<u64> {
    times
        .iter()
        .map(|t| {
            let us = t.as_micros() - from;
            assert_eq!(us % 1000, 0, "{us} us is not on a millisecond");
            us / 1000
        })
        .collect()
}

#[test]
fn default_schedule_is_takeover_then_10_30_100_300_1000_ms() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 10_000_000));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(
        offsets_ms(&garps(&seg, 0), DOWN_100),
        [0, 10, 30, 100, 300, 1000]
    );
}

#[test]
fn burst_and_repeats_follow_the_config() {
    let mut c = config(100, 12);
    c.garp = Garp::new(3, &[ms(50), ms(2000)]).unwrap();
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 10_000_000));
    assert_eq!(
        offsets_ms(&garps(&seg, 0), DOWN_100),
        [0, 0, 0, 50, 50, 50, 2000, 2000, 2000]
    );

    // The older shape: `repeats` bursts, `delay` apart.
    let mut c = config(100, 12);
    c.garp = Garp::evenly(1, 2, Duration::from_secs(2)).unwrap();
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 10_000_000));
    assert_eq!(offsets_ms(&garps(&seg, 0), DOWN_100), [0, 2000, 4000]);
}

#[test]
fn schedule_must_increase_and_fit() {
    assert_eq!(Garp::new(0, &[]), Err(ConfigError::GarpBurst));
    assert_eq!(Garp::new(1, &[ms(0)]), Err(ConfigError::GarpSchedule));
    assert_eq!(
        Garp::new(1, &[ms(30), ms(30)]),
        Err(ConfigError::GarpSchedule)
    );
    assert_eq!(
        Garp::new(1, &[ms(30), ms(10)]),
        Err(ConfigError::GarpSchedule)
    );
    assert_eq!(Garp::new(1, &[ms(15)]), Err(ConfigError::GarpSchedule));
    assert_eq!(
        Garp::new(1, &[Duration::from_millis(655_360)]),
        Err(ConfigError::GarpSchedule)
    );
    let nine: Vec<Duration> = (1..=9).map(|k| ms(10 * k)).collect();
    assert_eq!(Garp::new(1, &nine), Err(ConfigError::GarpRepeats));
    let eight = Garp::new(1, &nine[..8]).unwrap();
    assert!(eight.repeat_at().eq(nine[..8].iter().copied()));
    assert!(
        Garp::default()
            .repeat_at()
            .eq([10, 30, 100, 300, 1000].map(ms))
    );
    assert_eq!(
        Garp::evenly(1, 9, Duration::from_secs(1)),
        Err(ConfigError::GarpRepeats)
    );
}

#[test]
fn leaving_active_stops_the_schedule() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 50_000));
    seg.inject(
        AdvertSpec {
            priority: 200,
            ..AdvertSpec::default()
        }
        .frame(),
    );
    assert_eq!(seg.state(0), State::Backup);
    seg.run_until(at(DOWN_100 + 2_000_000));
    assert_eq!(offsets_ms(&garps(&seg, 0), DOWN_100), [0, 10, 30]);
}

/// A freeze in the middle of the schedule: the bursts it slept through go out once at the
/// thaw, the rest on time; the schedule does not start again (the router never left Active).
#[test]
fn thaw_mid_schedule_sends_the_overdue_bursts_once() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 20_000));
    seg.nodes[0].frozen = true;
    seg.run_until(at(DOWN_100 + 500_000));
    seg.nodes[0].frozen = false;
    seg.run_until(at(DOWN_100 + 5_000_000));
    assert_eq!(
        offsets_ms(&garps(&seg, 0), DOWN_100),
        [0, 10, 500, 1000],
        "30, 100 and 300 ms coalesce at the thaw"
    );
}

/// A freeze with a rival's lower-priority advert queued (it took over meanwhile): the reply's
/// announcement does the overdue burst's work, so the thaw sends one advert and one
/// announcement.
#[test]
fn thaw_with_a_queued_rival_announces_once() {
    let mut c = config(100, 12);
    c.garp = Garp::new(1, &[ms(10), ms(3000)]).unwrap();
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 20_000));
    seg.nodes[0].frozen = true;
    seg.run_until(at(DOWN_100 + 3_400_000));
    seg.nodes[0].dev.rx.push_back(
        AdvertSpec {
            priority: 50,
            ..AdvertSpec::default()
        }
        .frame(),
    );
    let thaw = DOWN_100 + 3_500_000;
    seg.run_until(at(thaw));
    seg.nodes[0].frozen = false;
    seg.run_until(at(DOWN_100 + 8_000_000));
    assert_eq!(offsets_ms(&garps(&seg, 0), DOWN_100), [0, 10, 3500]);
    let at_thaw: Vec<_> = seg
        .sent_by(0)
        .into_iter()
        .filter(|(t, d)| *t == at(thaw) && *d != Decoded::Igmp)
        .map(|(_, d)| d)
        .collect();
    assert!(
        matches!(at_thaw[..], [Decoded::Advert { .. }, Decoded::Garp { .. }]),
        "{at_thaw:?}"
    );
}

/// `refresh`: after the schedule, a burst at every multiple of the period after the takeover
/// (keepalived's `garp_master_refresh`); none at a multiple the schedule still covers.
#[test]
fn refresh_announces_every_period_after_the_schedule() {
    let mut c = config(100, 12);
    c.garp = Garp::default()
        .with_refresh(Duration::from_secs(1))
        .unwrap();
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 4_500_000));
    assert_eq!(
        offsets_ms(&garps(&seg, 0), DOWN_100),
        [0, 10, 30, 100, 300, 1000, 2000, 3000, 4000],
        "the 1 s repeat stands for the first refresh"
    );

    let mut c = config(100, 12);
    c.garp = Garp::new(2, &[ms(50)])
        .unwrap()
        .with_refresh(Duration::from_secs(3))
        .unwrap();
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 9_000_000));
    assert_eq!(
        offsets_ms(&garps(&seg, 0), DOWN_100),
        [0, 0, 50, 50, 3000, 3000, 6000, 6000, 9000, 9000],
        "each refresh is a whole burst"
    );
}

/// The router itself reports the refresh as its next deadline (sans-IO: the caller sleeps
/// until `poll_timeout`) and queues the announcement when it is handled; a freeze coalesces
/// the refreshes it slept through into one, and the period keeps its grid; leaving Active ends
/// them.
#[test]
fn refresh_deadlines_are_exact_and_survive_a_freeze() {
    use vrrp_core::{Action, VirtualRouter};
    // The primary is the VIP: an address owner, Active at startup.
    let mut c = config(255, 1);
    c.adver_interval = 4000; // 40 s: the refresh deadline comes first.
    c.garp = Garp::new(1, &[])
        .unwrap()
        .with_refresh(Duration::from_secs(5))
        .unwrap();
    let mut r = VirtualRouter::<4>::new(c).unwrap();
    let announces = |r: &mut VirtualRouter<4>| {
        let mut n = 0;
        while let Some(a) = r.poll_action() {
            n += usize::from(matches!(a, Action::Announce { count: 1 }));
        }
        n
    };
    r.startup(at(1_000));
    assert_eq!(r.state(), State::Active, "the address owner starts Active");
    assert_eq!(announces(&mut r), 1);
    assert_eq!(r.poll_timeout(), Some(at(5_001_000)));
    r.handle_timeout(at(5_000_999));
    assert_eq!(announces(&mut r), 0, "not before the deadline");
    r.handle_timeout(at(5_001_000));
    assert_eq!(announces(&mut r), 1);
    assert_eq!(r.poll_timeout(), Some(at(10_001_000)));
    // Frozen from 10 s to 27.5 s: one refresh at the thaw, the next back on the grid.
    r.handle_timeout(at(27_500_000));
    assert_eq!(announces(&mut r), 1);
    assert_eq!(r.poll_timeout(), Some(at(30_001_000)));
    r.set_priority(at(28_000_000), 0);
    let _ = announces(&mut r);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), None, "no refresh outside Active");
}

#[test]
fn refresh_is_whole_seconds() {
    let g = Garp::default();
    assert_eq!(g.refresh(), None);
    assert_eq!(
        g.with_refresh(Duration::from_secs(0)).unwrap().refresh(),
        None
    );
    assert_eq!(
        g.with_refresh(Duration::from_secs(65_535))
            .unwrap()
            .refresh(),
        Some(Duration::from_secs(65_535))
    );
    assert_eq!(
        g.with_refresh(Duration::from_millis(1500)),
        Err(ConfigError::GarpRefresh)
    );
    assert_eq!(
        g.with_refresh(Duration::from_secs(65_536)),
        Err(ConfigError::GarpRefresh)
    );
}
