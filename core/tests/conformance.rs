//! RFC 9568 conformance, one named test per behaviour, in exact virtual time.
//!
//! Timing figures used below (interval I = 1 s):
//! - priority 200: Skew_Time = 56/256 s = 218_750 us, Active_Down_Interval = 3_218_750 us;
//! - priority 100: Skew_Time = 156/256 s = 609_375 us, Active_Down_Interval = 3_609_375 us.

mod common;

use common::*;
use smoltcp::wire::EthernetAddress;
use vrrp_core::net::{Event, virtual_mac};
use vrrp_core::wire::{Auth, DropReason, Version};
use vrrp_core::{Action, Config, Duration, Garp, Instant, Reason, State, VirtualRouter};

const VMAC: EthernetAddress = virtual_mac(10);
const DOWN_200: u64 = 3_218_750;
const DOWN_100: u64 = 3_609_375;
const SKEW_100: u64 = 609_375;

fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn router(priority: u8, last: u8) -> VirtualRouter<4> {
    VirtualRouter::new(config(priority, last)).unwrap()
}

fn drain(r: &mut VirtualRouter<4>) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

/// A router alone on its link that has become Active at [`DOWN_200`], with no announcement
/// repeats: only its Adver_Timer runs.
fn lone_active(priority: u8) -> VirtualRouter<4> {
    let mut c = config(priority, 20);
    c.garp = Garp::new(1, &[]).unwrap();
    let mut r = VirtualRouter::new(c).unwrap();
    r.startup(at(0));
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    drain(&mut r);
    assert_eq!(r.state(), State::Active);
    r
}

fn advert(priority: u8, source: u8) -> AdvertSpec {
    AdvertSpec {
        priority,
        source: addr(source),
        ..AdvertSpec::default()
    }
}

fn inject_advert(
    r: &mut VirtualRouter<4>,
    now: Instant,
    spec: &AdvertSpec,
) -> Result<(), DropReason> {
    let frame = spec.frame();
    let (src, ttl, repr) = vrrp_core::net::parse_ipv4_advert(&frame[14..], spec_mode())?;
    r.handle_advert(now, src, ttl, &repr)
}

fn spec_mode() -> vrrp_core::wire::ChecksumMode {
    vrrp_core::wire::ChecksumMode::PseudoHeader
}

/// Frame kinds in order, without IGMP: smoltcp reports its membership of 224.0.0.18 once, at
/// its first egress after it has an address (as Linux does), which is no VRRP behaviour.
fn kinds(frames: &[(Instant, Decoded)]) -> Vec<&'static str> {
    frames
        .iter()
        .filter(|(_, d)| *d != Decoded::Igmp)
        .map(|(_, d)| match d {
            Decoded::Advert { .. } => "advert",
            Decoded::Garp { .. } => "garp",
            Decoded::ArpReply { .. } => "arp-reply",
            Decoded::EchoReply { .. } => "echo-reply",
            Decoded::Igmp => "igmp",
            Decoded::Other(_) => "other",
        })
        .collect()
}

#[test]
fn c01_owner_becomes_active_at_once_with_advert_and_garp() {
    let mut c = config(255, 1);
    c.primary = VIP;
    let mut seg = Segment::new(vec![c]);
    seg.start_all();
    assert_eq!(seg.state(0), State::Active);
    let sent = seg.sent_by(0);
    assert_eq!(kinds(&sent), ["advert", "garp"]);
    assert!(sent.iter().all(|(t, _)| *t == at(0)));
    let sent: Vec<_> = sent
        .into_iter()
        .filter(|(_, d)| *d != Decoded::Igmp)
        .collect();
    assert!(matches!(sent[0].1, Decoded::Advert { priority: 255, .. }));
    assert!(seg.nodes[0].events.iter().any(|(_, e)| matches!(
        e,
        Event::StateChange {
            from: State::Initialize,
            to: State::Active,
            reason: Reason::AddressOwner
        }
    )));
}

#[test]
fn c02_below_255_starts_as_backup_and_stays_silent() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    assert_eq!(seg.state(0), State::Backup);
    seg.run_until(at(DOWN_100 - 1));
    assert_eq!(seg.state(0), State::Backup);
    assert!(seg.wire.is_empty(), "a Backup sent {:?}", seg.sent_by(0));
}

#[test]
fn c03_backup_takes_over_at_exactly_3i_plus_skew_advert_before_garp() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 10));
    assert_eq!(seg.state(0), State::Active);
    let sent = seg.sent_by(0);
    assert_eq!(kinds(&sent), ["advert", "garp"]);
    assert!(sent.iter().all(|(t, _)| *t == at(DOWN_100)));
}

#[test]
fn c04_two_backups_higher_priority_wins_by_skew() {
    let mut seg = Segment::new(vec![config(100, 12), config(200, 11)]);
    seg.start_all();
    seg.run_until(at(DOWN_200 - 1));
    assert!(seg.wire.is_empty());
    seg.run_until(at(DOWN_200));
    assert_eq!(seg.state(1), State::Active);
    seg.run_for(Duration::from_secs(10));
    assert_eq!(seg.state(0), State::Backup);
    assert!(seg.sent_by(0).is_empty(), "the lower priority never spoke");
}

#[test]
fn c05_backup_hearing_priority_0_sets_its_timer_to_skew() {
    let mut r = router(100, 12);
    r.startup(at(0));
    inject_advert(&mut r, at(1_000_000), &advert(200, 11)).unwrap();
    assert_eq!(r.poll_timeout(), Some(at(1_000_000 + DOWN_100)));
    inject_advert(&mut r, at(1_500_000), &advert(0, 11)).unwrap();
    assert_eq!(r.poll_timeout(), Some(at(1_500_000 + SKEW_100)));
    r.handle_timeout(at(1_500_000 + SKEW_100));
    assert_eq!(r.state(), State::Active);
}

#[test]
fn c06_active_hearing_priority_0_sends_an_advert_at_once() {
    let mut r = lone_active(200);
    let now = at(DOWN_200 + 300_000);
    inject_advert(&mut r, now, &advert(0, 12)).unwrap();
    assert_eq!(drain(&mut r), [Action::SendAdvert { priority: 200 }]);
    assert_eq!(r.poll_timeout(), Some(now + Duration::from_secs(1)));
    assert_eq!(r.state(), State::Active);
}

#[test]
fn c07_shutdown_sends_priority_0() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    seg.run_until(at(5_000_000));
    assert_eq!(seg.state(0), State::Active);
    let now = seg.now;
    seg.nodes[0].shutdown(now);
    seg.settle();
    let last = seg.sent_by(0).pop().unwrap();
    assert!(matches!(last, (t, Decoded::Advert { priority: 0, .. }) if t == now));
    assert_eq!(seg.state(0), State::Initialize);
    assert!(
        seg.nodes[0].stack.interface().ip_addrs().is_empty(),
        "VIPs released"
    );
    // Criterion 5 of the same story: the Backup takes over after Skew_Time, not 3I + skew.
    seg.run_until(now + Duration::from_micros(SKEW_100 - 1));
    assert_eq!(seg.state(1), State::Backup);
    seg.run_until(now + Duration::from_micros(SKEW_100));
    assert_eq!(seg.state(1), State::Active);
}

#[test]
fn c08_preempt_higher_backup_takes_over_from_lower_active() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(5_000_000));
    assert_eq!(seg.state(0), State::Active);
    seg.nodes.push(Node::new(config(200, 11), seg.now));
    let start = seg.now;
    seg.nodes[1].stack.startup(start);
    seg.settle();
    seg.run_until(start + Duration::from_micros(DOWN_200 - 1));
    assert_eq!(seg.state(1), State::Backup);
    seg.run_until(start + Duration::from_micros(DOWN_200));
    assert_eq!(seg.state(1), State::Active);
    assert_eq!(
        seg.state(0),
        State::Backup,
        "the advert made the lower Active step down at once"
    );
}

#[test]
fn c09_no_preempt_never_takes_over() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(5_000_000));
    let mut high = config(200, 11);
    high.preempt = false;
    seg.nodes.push(Node::new(high, seg.now));
    let now = seg.now;
    seg.nodes[1].stack.startup(now);
    seg.run_for(Duration::from_secs(60));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup);
    assert!(seg.sent_by(1).is_empty());
}

#[test]
fn c10_active_hearing_higher_priority_becomes_backup_and_releases() {
    let mut r = lone_active(100);
    let now = at(DOWN_200 + 500_000);
    inject_advert(&mut r, now, &advert(200, 11)).unwrap();
    assert_eq!(
        drain(&mut r),
        [
            Action::ReleaseVips,
            Action::StateChange {
                from: State::Active,
                to: State::Backup,
                reason: Reason::HigherPriority
            }
        ]
    );
    assert_eq!(
        r.poll_timeout(),
        Some(now + Duration::from_micros(DOWN_100))
    );

    // Through the binding: the interface stops owning the VIP.
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100));
    assert_eq!(seg.nodes[0].stack.interface().ip_addrs().len(), 1);
    seg.inject(advert(200, 11).frame());
    assert_eq!(seg.state(0), State::Backup);
    assert!(seg.nodes[0].stack.interface().ip_addrs().is_empty());
}

#[test]
fn c11_equal_priority_higher_primary_address_wins() {
    // .12 is Active alone; an advert at the same priority from a lower address does not move
    // it, one from a higher address does.
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100));
    seg.inject(advert(100, 11).frame());
    assert_eq!(seg.state(0), State::Active);
    seg.inject(advert(100, 13).frame());
    assert_eq!(seg.state(0), State::Backup);
    // The same rule at the state machine level.
    let mut r = lone_active(100);
    inject_advert(&mut r, at(DOWN_200 + 1), &advert(100, 10)).unwrap();
    assert_eq!(
        r.state(),
        State::Active,
        "a lower address at equal priority loses"
    );
    inject_advert(&mut r, at(DOWN_200 + 2), &advert(100, 200)).unwrap();
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn c12_active_hearing_lower_priority_stays_and_adverts_at_once() {
    let mut r = lone_active(200);
    let now = at(DOWN_200 + 100_000);
    inject_advert(&mut r, now, &advert(100, 12)).unwrap();
    // The advert, and one announcement: whoever sent the lower advert acted as Active and may
    // have moved switches and neighbours to itself.
    assert_eq!(
        drain(&mut r),
        [
            Action::SendAdvert { priority: 200 },
            Action::Announce { count: 1 }
        ]
    );
    assert_eq!(r.state(), State::Active);
    // One reply per interval: a stream of lower adverts does not make a stream of replies.
    inject_advert(&mut r, now + Duration::from_millis(1), &advert(100, 12)).unwrap();
    assert_eq!(drain(&mut r), []);
    r.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(drain(&mut r), [Action::SendAdvert { priority: 200 }]);
}

/// A thawed Active whose overdue advert left before the rival's advert arrived (the rival, Active
/// during the freeze, sent it before it heard ours) sends no second advert, whatever the phase
/// of the rival's adverts; the announcement still goes out, once. Half an interval later the
/// rival's advert is no crossing, and after a punctual advert there is none: both get a reply
/// (a router that became Active without hearing ours must hear one at once).
#[test]
fn c12c_thawed_active_sends_one_advert_whatever_the_phase() {
    for gap_ms in [0, 1, 49, 499] {
        let mut r = lone_active(200);
        // Frozen from DOWN_200 + 0.5 s to DOWN_200 + 6 s: the Adver_Timer (DOWN_200 + 1 s) is
        // overdue, nothing was queued, so it fires first, then the rival's advert arrives.
        let thaw = at(DOWN_200 + 6_000_000);
        r.handle_timeout(thaw);
        assert_eq!(drain(&mut r), [Action::SendAdvert { priority: 200 }]);
        let heard = thaw + Duration::from_millis(gap_ms);
        inject_advert(&mut r, heard, &advert(100, 12)).unwrap();
        assert_eq!(
            drain(&mut r),
            [Action::Announce { count: 1 }],
            "rival advert {gap_ms} ms after the overdue advert"
        );
        assert_eq!(r.poll_timeout(), Some(thaw + Duration::from_secs(1)));
        assert_eq!(
            r.stats().adverts_sent,
            2,
            "the takeover advert and one at the thaw"
        );
    }
    let mut r = lone_active(200);
    let thaw = at(DOWN_200 + 6_000_000);
    r.handle_timeout(thaw);
    drain(&mut r);
    let late = thaw + Duration::from_millis(500);
    inject_advert(&mut r, late, &advert(100, 12)).unwrap();
    assert_eq!(
        drain(&mut r),
        [
            Action::SendAdvert { priority: 200 },
            Action::Announce { count: 1 }
        ]
    );
    assert_eq!(r.poll_timeout(), Some(late + Duration::from_secs(1)));

    let mut r = lone_active(200);
    let punctual = at(DOWN_200 + 1_000_000);
    r.handle_timeout(punctual);
    drain(&mut r);
    inject_advert(
        &mut r,
        punctual + Duration::from_millis(1),
        &advert(100, 12),
    )
    .unwrap();
    assert_eq!(
        drain(&mut r),
        [
            Action::SendAdvert { priority: 200 },
            Action::Announce { count: 1 }
        ]
    );
}

#[test]
fn c13_only_the_active_answers_arp_for_the_vip_with_the_virtual_mac() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    seg.inject(arp_request(VIP));
    assert!(seg.wire.is_empty(), "no one answers before the election");
    seg.run_until(at(DOWN_200 + 1000));
    let before = seg.wire.len();
    seg.inject(arp_request(VIP));
    let replies: Vec<_> = seg.wire[before..]
        .iter()
        .map(|s| (s.node, decode(&s.frame)))
        .collect();
    assert_eq!(
        replies,
        [(
            0,
            Decoded::ArpReply {
                src_mac: VMAC,
                sender_mac: VMAC,
                sender: VIP
            }
        )]
    );
    // Failover: the new Active answers, the old one no longer does.
    seg.nodes[0].up = false;
    seg.run_for(Duration::from_secs(5));
    let before = seg.wire.len();
    seg.inject(arp_request(VIP));
    let replies: Vec<_> = seg.wire[before..]
        .iter()
        .map(|s| (s.node, decode(&s.frame)))
        .collect();
    assert_eq!(
        replies,
        [(
            1,
            Decoded::ArpReply {
                src_mac: VMAC,
                sender_mac: VMAC,
                sender: VIP
            }
        )]
    );
}

#[test]
fn c14_accept_mode_on_and_off() {
    for accept in [true, false] {
        let mut c = config(100, 12);
        c.accept_mode = accept;
        let mut seg = Segment::new(vec![c]);
        seg.start_all();
        seg.run_until(at(DOWN_100 + 1));
        // The client resolves the VIP first, so the reply needs no ARP of its own.
        seg.inject(arp_request(VIP));
        let before = seg.wire.len();
        seg.inject(echo_request(VMAC, VIP));
        let replies: Vec<_> = seg.wire[before..]
            .iter()
            .map(|s| decode(&s.frame))
            .collect();
        let refused = seg.nodes[0]
            .events
            .iter()
            .filter(|(_, e)| *e == Event::NotAccepted)
            .count();
        if accept {
            assert_eq!(
                replies,
                [Decoded::EchoReply {
                    src_mac: VMAC,
                    src: VIP
                }]
            );
            assert_eq!(refused, 0);
        } else {
            assert!(
                replies.is_empty(),
                "accept off must not answer: {replies:?}"
            );
            assert_eq!(refused, 1);
        }
    }
}

#[test]
fn c15_advert_format_and_period() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100 + 3_000_000));
    let adverts: Vec<_> = seg
        .sent_by(0)
        .into_iter()
        .filter(|(_, d)| matches!(d, Decoded::Advert { .. }))
        .collect();
    assert_eq!(adverts.len(), 4);
    let igmp = seg
        .sent_by(0)
        .iter()
        .filter(|(_, d)| *d == Decoded::Igmp)
        .count();
    assert!(igmp <= 1, "membership reported {igmp} times");
    for (i, (t, d)) in adverts.iter().enumerate() {
        assert_eq!(
            *t,
            at(DOWN_100 + i as u64 * 1_000_000),
            "sent every interval"
        );
        assert_eq!(
            *d,
            Decoded::Advert {
                src_mac: VMAC,
                dst_mac: EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]),
                source: addr(12),
                dst: vrrp_core::wire::MULTICAST_V4,
                ttl: 255,
                priority: 100,
            }
        );
    }
}

#[test]
fn c16_ttl_other_than_255_is_dropped() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100));
    seg.inject(
        AdvertSpec {
            ttl: 64,
            priority: 254,
            ..advert(254, 50)
        }
        .frame(),
    );
    assert_eq!(seg.state(0), State::Active, "the VIP does not move");
    assert_eq!(
        seg.nodes[0].stack.router().stats().drops(DropReason::Ttl),
        1
    );
}

#[test]
fn c17_bad_version_length_or_checksum_is_dropped_and_counted() {
    let mut seg = Segment::new(vec![config(100, 12)]);
    seg.start_all();
    seg.run_until(at(DOWN_100));
    let hostile = advert(254, 50);
    seg.inject(
        AdvertSpec {
            raw_version: Some(4),
            ..hostile.clone()
        }
        .frame(),
    );
    seg.inject(
        AdvertSpec {
            truncate: Some(10),
            ..hostile.clone()
        }
        .frame(),
    );
    seg.inject(
        AdvertSpec {
            corrupt_checksum: true,
            ..hostile.clone()
        }
        .frame(),
    );
    let stats = *seg.nodes[0].stack.router().stats();
    assert_eq!(stats.drops(DropReason::Version), 1);
    assert_eq!(stats.drops(DropReason::Length), 1);
    assert_eq!(stats.drops(DropReason::Checksum), 1);
    assert_eq!(stats.adverts_received, 0);
    assert_eq!(seg.state(0), State::Active);
    let dropped = seg.nodes[0]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Dropped { .. }))
        .count();
    assert_eq!(dropped, 3);
}

#[test]
fn c18_unknown_vrid_is_dropped() {
    let mut r = lone_active(100);
    let spec = AdvertSpec {
        vrid: 11,
        ..advert(254, 50)
    };
    assert_eq!(
        inject_advert(&mut r, at(DOWN_200 + 1), &spec),
        Err(DropReason::Vrid)
    );
    assert_eq!(r.state(), State::Active);
    assert_eq!(r.stats().drops(DropReason::Vrid), 1);
}

#[test]
fn c19_interval_mismatch_v2_reports_v3_learns() {
    // VRRPv3: a Backup adopts the Active's interval, so its down interval follows it.
    let mut r = router(100, 12);
    r.startup(at(0));
    inject_advert(
        &mut r,
        at(1_000_000),
        &AdvertSpec {
            interval: 10,
            ..advert(200, 11)
        },
    )
    .unwrap();
    assert_eq!(r.active_adver_interval(), 10);
    // 3 x 100 ms + 156/256 x 100 ms.
    assert_eq!(r.poll_timeout(), Some(at(1_000_000 + 360_937)));

    // VRRPv2: the advert is dropped as an interval mismatch and the timer is untouched.
    let mut c: Config<4> = config(100, 12);
    c.version = Version::V2;
    let mut r = VirtualRouter::new(c).unwrap();
    r.startup(at(0));
    let spec = AdvertSpec {
        version: Version::V2,
        interval: 200,
        ..advert(200, 11)
    };
    assert_eq!(
        inject_advert(&mut r, at(1_000_000), &spec),
        Err(DropReason::Interval)
    );
    assert_eq!(r.stats().drops(DropReason::Interval), 1);
    assert_eq!(r.poll_timeout(), Some(at(DOWN_100)));
    let ok = AdvertSpec {
        version: Version::V2,
        interval: 100,
        ..advert(200, 11)
    };
    inject_advert(&mut r, at(1_000_000), &ok).unwrap();
    assert_eq!(r.poll_timeout(), Some(at(1_000_000 + DOWN_100)));
}

#[test]
fn c20_unknown_type_or_auth_dropped_address_mismatch_reported() {
    let mut r = router(100, 12);
    r.startup(at(0));
    let spec = AdvertSpec {
        msg_type: Some(2),
        ..advert(200, 11)
    };
    assert_eq!(inject_advert(&mut r, at(1), &spec), Err(DropReason::Type));

    let mut c: Config<4> = config(100, 12);
    c.version = Version::V2;
    c.auth = Auth::Simple(*b"secret\0\0");
    let mut v2 = VirtualRouter::new(c).unwrap();
    v2.startup(at(0));
    let base = AdvertSpec {
        version: Version::V2,
        auth: Auth::Simple(*b"secret\0\0"),
        ..advert(200, 11)
    };
    let wrong = AdvertSpec {
        auth: Auth::Simple(*b"guess\0\0\0"),
        ..base.clone()
    };
    assert_eq!(inject_advert(&mut v2, at(1), &wrong), Err(DropReason::Auth));
    let unknown = AdvertSpec {
        auth_type: Some(2),
        ..base.clone()
    };
    assert_eq!(
        inject_advert(&mut v2, at(1), &unknown),
        Err(DropReason::Auth)
    );
    inject_advert(&mut v2, at(1), &base).unwrap();

    let other = AdvertSpec {
        vips: vec![addr(2)],
        ..advert(200, 11)
    };
    inject_advert(&mut r, at(2), &other).unwrap();
    assert_eq!(
        drain(&mut r).last(),
        Some(&Action::AddressMismatch { source: addr(11) })
    );
    assert_eq!(r.stats().address_mismatches, 1);
    assert_eq!(
        r.poll_timeout(),
        Some(at(2 + DOWN_100)),
        "processed all the same"
    );
}

#[test]
fn c21_priority_lowered_and_restored_moves_the_vip_and_brings_it_back() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    seg.run_until(at(5_000_000));
    assert_eq!(seg.state(0), State::Active);
    let lowered = seg.now;
    seg.nodes[0].stack.set_priority(lowered, 50);
    // r2 ignores r1's priority-50 adverts (preempt) and times out on the last one it accepted.
    let last_accepted = at(DOWN_200 + 1_000_000);
    seg.run_until(last_accepted + Duration::from_micros(DOWN_100 - 1));
    assert_eq!(seg.state(1), State::Backup);
    seg.run_until(last_accepted + Duration::from_micros(DOWN_100));
    assert_eq!(seg.state(1), State::Active);
    assert_eq!(seg.state(0), State::Backup);

    let restored = seg.now + Duration::from_secs(2);
    seg.run_until(restored);
    seg.nodes[0].stack.set_priority(restored, 200);
    seg.run_for(Duration::from_secs(5));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup);
}

#[test]
fn c22_frozen_active_resumes_with_stale_adverts_once_no_storm() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    // Past r1's gratuitous ARP repeat (2 s after its takeover), so only adverts are due.
    seg.run_until(at(8_000_000));
    assert_eq!(seg.state(0), State::Active);
    seg.nodes[0].frozen = true;
    seg.run_for(Duration::from_secs(6));
    assert_eq!(
        seg.state(1),
        State::Active,
        "r2 took over during the freeze"
    );
    assert!(
        seg.nodes[0].dev.rx.len() >= 2,
        "r2's adverts queued for the frozen r1"
    );

    let resumed = seg.now;
    let before = seg.wire.iter().filter(|s| s.node == 0).count();
    seg.nodes[0].frozen = false;
    seg.settle();
    let burst: Vec<_> = seg.sent_by(0).into_iter().skip(before).collect();
    assert_eq!(
        kinds(&burst),
        ["advert", "garp"],
        "one advert and one announcement on resume, not one per missed interval"
    );
    assert_eq!(burst[0].0, resumed);
    assert_eq!(seg.state(1), State::Backup);

    // At most one Active from here on, and r1 sends one advert per interval.
    for _ in 0..50 {
        seg.run_for(Duration::from_millis(100));
        let active = (0..2).filter(|&i| seg.state(i) == State::Active).count();
        assert_eq!(active, 1);
    }
    let after: Vec<_> = seg.sent_by(0).into_iter().skip(before).collect();
    assert_eq!(
        after.len(),
        7,
        "resume advert and GARP + 5 periodic: {:?}",
        kinds(&after)
    );
}

#[test]
fn c22b_frozen_backup_resumes_and_stays_backup() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    seg.run_until(at(5_000_000));
    seg.nodes[1].frozen = true;
    seg.run_for(Duration::from_secs(6));
    seg.nodes[1].frozen = false;
    seg.settle();
    assert_eq!(
        seg.state(1),
        State::Backup,
        "queued adverts are heard before the overdue timer"
    );
    assert!(seg.sent_by(1).is_empty());
}

#[test]
fn c12b_reply_budget_starts_fresh_in_each_active_period() {
    let mut r = lone_active(200);
    let t0 = at(DOWN_200 + 100_000);
    inject_advert(&mut r, t0, &advert(100, 12)).unwrap();
    assert_eq!(drain(&mut r)[0], Action::SendAdvert { priority: 200 });
    // Pushed to Backup before the Adver_Timer fired, then Active again on the down timer.
    inject_advert(&mut r, t0 + Duration::from_millis(1), &advert(250, 30)).unwrap();
    let t1 = r.poll_timeout().unwrap();
    r.handle_timeout(t1);
    assert_eq!(r.state(), State::Active);
    drain(&mut r);
    inject_advert(&mut r, t1 + Duration::from_millis(1), &advert(100, 12)).unwrap();
    assert_eq!(drain(&mut r)[0], Action::SendAdvert { priority: 200 });
}

#[test]
fn c23_unicast_peers_get_unicast_adverts_and_strangers_are_dropped() {
    let mut c1 = config(200, 11);
    c1.peers.push(addr(12)).unwrap();
    let mut c2 = config(100, 12);
    c2.peers.push(addr(11)).unwrap();
    let mut seg = Segment::new(vec![c1, c2]);
    for n in &mut seg.nodes {
        n.stack.set_own_primary(true);
    }
    seg.start_all();
    seg.run_until(at(10_000_000));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup, "r1's unicast adverts reach r2");
    let adverts: Vec<_> = seg
        .sent_by(0)
        .into_iter()
        .filter_map(|(_, d)| match d {
            Decoded::Advert { dst, .. } => Some(dst),
            _ => None,
        })
        .collect();
    assert!(adverts.len() >= 6);
    assert!(
        adverts.iter().all(|d| *d == addr(12)),
        "never multicast: {adverts:?}"
    );

    // A stranger with a higher priority is not a peer: dropped and counted, the VIP stays.
    seg.inject(advert(254, 50).frame());
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(
        seg.nodes[0].stack.router().stats().drops(DropReason::Peer),
        1
    );

    // The Active leaves: its priority-0 advert still goes out by unicast, and r2 takes over
    // after Skew_Time.
    let now = seg.now;
    seg.nodes[0].shutdown(now);
    seg.settle();
    let last = seg.sent_by(0).pop().unwrap();
    assert!(matches!(last.1, Decoded::Advert { priority: 0, dst, .. } if dst == addr(12)));
    seg.run_until(now + Duration::from_micros(SKEW_100));
    assert_eq!(seg.state(1), State::Active);
}

/// A takeover explains itself: the deadline that expired (Active_Down_Interval from the last
/// advert), how late its timer was handled, and the last advert heard.
#[test]
fn c24_takeover_names_its_deadline_lateness_and_last_advert() {
    use vrrp_core::{DownWait, Heard, Takeover};
    let mut r = router(100, 12);
    r.startup(at(0));
    assert_eq!(r.last_advert(), None);
    inject_advert(&mut r, at(1_000_000), &advert(200, 11)).unwrap();
    inject_advert(&mut r, at(2_000_000), &advert(200, 11)).unwrap();
    let deadline = at(2_000_000 + DOWN_100);
    assert_eq!(r.poll_timeout(), Some(deadline));
    assert_eq!(r.handle_timeout(deadline - Duration::from_micros(1)), None);
    // The timer is handled 1.5 ms late (a busy host).
    let t = r.handle_timeout(deadline + Duration::from_micros(1_500));
    assert_eq!(r.state(), State::Active);
    let t = t.expect("explained");
    assert_eq!(
        t,
        Takeover {
            wait: DownWait::ActiveDownInterval,
            deadline,
            fired: deadline + Duration::from_micros(1_500),
            last_advert: Some(Heard {
                source: addr(11),
                priority: 200,
                at: at(2_000_000),
            }),
        }
    );
    assert_eq!(t.late(), Duration::from_micros(1_500));
    // An Active's timers explain nothing.
    assert_eq!(r.handle_timeout(deadline + Duration::from_secs(1)), None);
}

/// After a priority-0 advert the deadline is Skew_Time; a router that never heard anyone says
/// so (no last advert).
#[test]
fn c25_takeover_after_priority_0_and_after_silence() {
    use vrrp_core::DownWait;
    let mut r = router(100, 12);
    r.startup(at(0));
    inject_advert(&mut r, at(1_000_000), &advert(200, 11)).unwrap();
    inject_advert(&mut r, at(1_500_000), &advert(0, 11)).unwrap();
    let t = r.handle_timeout(at(1_500_000 + SKEW_100)).unwrap();
    assert_eq!(t.wait, DownWait::SkewTime);
    assert_eq!(t.deadline, at(1_500_000 + SKEW_100));
    assert_eq!(t.late(), Duration::from_micros(0));
    assert_eq!(
        t.last_advert.map(|h| (h.priority, h.at)),
        Some((0, at(1_500_000)))
    );

    let mut quiet = router(100, 12);
    quiet.startup(at(0));
    let t = quiet.handle_timeout(at(DOWN_100 + 7)).unwrap();
    assert_eq!(t.wait, DownWait::ActiveDownInterval);
    assert_eq!(t.deadline, at(DOWN_100));
    assert_eq!(t.late(), Duration::from_micros(7));
    assert_eq!(t.last_advert, None);
}
