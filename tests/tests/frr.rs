//! FRR vrrpd in router seats: FRR against FRR, and FRR against keepalived (interop).

use std::time::Duration;

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::{Router, Speaker, State, VrrpParams};
use vrrp_tests::scenario::{Failover, pause_resume, sigterm_takeover};
use vrrp_tests::wait_until;

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

#[test]
fn frr_elects_the_higher_priority() {
    if !require(&[Need::Frr]) {
        return;
    }
    let lab = Lab::new("frr_elects_the_higher_priority", 2);
    let p = VrrpParams::v3(10, 100, Duration::from_millis(100));
    let r1 = Router::start(&lab, "r1", Speaker::Frr, &p.with_priority(200));
    let r2 = Router::start(&lab, "r2", Speaker::Frr, &p);
    wait_until(Duration::from_secs(15), || {
        r1.state(&lab) == State::Active && r2.state(&lab) == State::Backup
    })
    .unwrap_or_else(|e| panic!("r1 {:?} r2 {:?}: {e}", r1.state(&lab), r2.state(&lab)));
}

fn run(name: &str, seat1: Speaker, seat2: Speaker, version: u8, interval: Duration) {
    if !require(&[Need::Frr, Need::Keepalived]) {
        return;
    }
    let lab = Lab::new(name, 2);
    let spec = Failover::pair(seat1, seat2, version, interval);
    pause_resume(&lab, PROBER, &spec);
}

#[test]
fn frr_v3_100ms_pause_resume() {
    run(
        "frr_v3_100ms_pause_resume",
        Speaker::Frr,
        Speaker::Frr,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn keepalived_frr_v3_100ms_pause_resume() {
    run(
        "keepalived_frr_v3_100ms_pause_resume",
        Speaker::Keepalived,
        Speaker::Frr,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn frr_keepalived_v3_100ms_pause_resume() {
    run(
        "frr_keepalived_v3_100ms_pause_resume",
        Speaker::Frr,
        Speaker::Keepalived,
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn frr_v3_100ms_sigterm() {
    if !require(&[Need::Frr]) {
        return;
    }
    let lab = Lab::new("frr_v3_100ms_sigterm", 2);
    let spec = Failover::new(Speaker::Frr, 3, Duration::from_millis(100));
    sigterm_takeover(&lab, PROBER, &spec);
}

#[test]
fn frr_v3_10ms_pause_resume() {
    // FRR computes Skew_Time in whole centiseconds: 0 at 10 ms, so it takes over after 3I.
    run(
        "frr_v3_10ms_pause_resume",
        Speaker::Frr,
        Speaker::Frr,
        3,
        Duration::from_millis(10),
    );
}
