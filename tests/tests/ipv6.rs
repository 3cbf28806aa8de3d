//! VRRPv3 over IPv6 (RFC 9568) on a [`Family::Ipv6`] lab: keepalived and FRR against each other
//! and against themselves, the baseline for vrrpd's IPv6 seats.
//!
//! Each test is [`Failover::ipv6`] through [`pause_resume`]: both speakers start, r1 (priority
//! 200) becomes Active and r2 (100) Backup by their own account, with r2 silent on the wire and
//! the client getting "Primary" from `http://[2001:db8::1]/`; SIGSTOP of every process of r1
//! moves the VIP to r2 within 1.5 x (3I + skew) + 50 ms of silence, and r2 announces it with an
//! unsolicited Neighbor Advertisement; SIGCONT brings it back to r1 (preempt). Every advert must
//! come from a link-local address to ff02::12 with hop limit 255.
//!
//! A new pair (e.g. vrrpd in a seat) is one `ipv6_pair!` line.

use std::time::Duration;

use vrrp_tests::capture::Pcap;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;
use vrrp_tests::scenario::{Failover, pause_resume};
use vrrp_tests::{Family, Lab};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

/// Advertisement interval: 3I + skew stays well under a second, and FRR accepts it.
const INTERVAL: Duration = Duration::from_millis(100);

/// The IPv6 pause / resume scenario with `seat1` in r1 and `seat2` in r2.
fn pause_resume_ipv6(name: &str, seat1: Speaker, seat2: Speaker) {
    if !require(&[Need::speaker(seat1), Need::speaker(seat2)]) {
        return;
    }
    let lab = Lab::with_family(name, 2, Family::Ipv6);
    pause_resume(&lab, PROBER, &spec(seat1, seat2));
}

/// [`Failover::ipv6`]; with vrrpd in r1, the takeback must not black-hole the VIP: the resumed
/// Active re-announces it (measured 7-111 ms of client outage; 712 ms before it did, when the
/// Backup's step-down had drawn the virtual MAC to its own port).
fn spec(seat1: Speaker, seat2: Speaker) -> Failover {
    let mut spec = Failover::ipv6(seat1, seat2, INTERVAL);
    if seat1 == Speaker::Vrrpd {
        spec.max_takeback_outage = Some(Duration::from_millis(400));
    }
    spec
}

/// `ipv6_pair!(test_name, Seat1, Seat2)`: a test of [`pause_resume_ipv6`] with `Speaker::Seat1`
/// in r1 and `Speaker::Seat2` in r2.
macro_rules! ipv6_pair {
    ($name:ident, $seat1:ident, $seat2:ident) => {
        #[test]
        fn $name() {
            pause_resume_ipv6(stringify!($name), Speaker::$seat1, Speaker::$seat2);
        }
    };
}

ipv6_pair!(keepalived_frr_ipv6_100ms_pause_resume, Keepalived, Frr);
ipv6_pair!(frr_keepalived_ipv6_100ms_pause_resume, Frr, Keepalived);
ipv6_pair!(keepalived_ipv6_100ms_pause_resume, Keepalived, Keepalived);
ipv6_pair!(frr_ipv6_100ms_pause_resume, Frr, Frr);
ipv6_pair!(vrrpd_keepalived_ipv6_100ms_pause_resume, Vrrpd, Keepalived);
ipv6_pair!(keepalived_vrrpd_ipv6_100ms_pause_resume, Keepalived, Vrrpd);
ipv6_pair!(vrrpd_frr_ipv6_100ms_pause_resume, Vrrpd, Frr);
ipv6_pair!(frr_vrrpd_ipv6_100ms_pause_resume, Frr, Vrrpd);
ipv6_pair!(vrrpd_ipv6_100ms_pause_resume, Vrrpd, Vrrpd);

/// Unicast peers over IPv6 (keepalived `unicast_peer`, vrrpd `peers`), both seats listing both
/// nodes' link-local addresses (each ignores its own): the same failover and takeback, every
/// advert from a link-local source to a peer, none to ff02::12 from anyone.
fn unicast_ipv6(name: &str, seat1: Speaker, seat2: Speaker) {
    if !require(&[Need::speaker(seat1), Need::speaker(seat2)]) {
        return;
    }
    let lab = Lab::with_family(name, 2, Family::Ipv6);
    let mut spec = spec(seat1, seat2);
    spec.params.unicast_peers = vec![
        lab.node("r1").link_local.into(),
        lab.node("r2").link_local.into(),
    ];
    pause_resume(&lab, PROBER, &spec);
    let pcap = Pcap::read(lab.artifacts.join("bridge.pcap"));
    let multicast: Vec<_> = pcap
        .adverts()
        .filter(|(_, _, a)| a.dst.is_multicast())
        .collect();
    assert!(
        multicast.is_empty(),
        "adverts went out by multicast: {multicast:?}"
    );
}

#[test]
fn vrrpd_keepalived_ipv6_unicast() {
    unicast_ipv6(
        "vrrpd_keepalived_ipv6_unicast",
        Speaker::Vrrpd,
        Speaker::Keepalived,
    );
}

#[test]
fn keepalived_vrrpd_ipv6_unicast() {
    unicast_ipv6(
        "keepalived_vrrpd_ipv6_unicast",
        Speaker::Keepalived,
        Speaker::Vrrpd,
    );
}

#[test]
fn vrrpd_ipv6_unicast() {
    unicast_ipv6("vrrpd_ipv6_unicast", Speaker::Vrrpd, Speaker::Vrrpd);
}
