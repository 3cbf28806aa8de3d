//! keepalived in both router seats: the harness proven on a real speaker, and the baseline that
//! vrrpd is compared with (the failover scenario, BENCHMARKS.md P1-P3).

use std::time::Duration;

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;
use vrrp_tests::scenario::{Failover, pause_resume, sigterm_takeover};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

fn run(name: &str, version: u8, interval: Duration) {
    if !require(&[Need::Keepalived]) {
        return;
    }
    let lab = Lab::new(name, 2);
    let mut spec = Failover::new(Speaker::Keepalived, version, interval);
    // At 10 ms keepalived's own adverts come up to 60 ms apart on this loaded 2-core machine, so
    // the Backup sometimes takes over again after the resume: a figure (flaps=), not a failure.
    spec.strict_convergence = interval >= Duration::from_millis(100);
    pause_resume(&lab, PROBER, &spec);
}

#[test]
fn keepalived_v3_100ms_pause_resume() {
    run(
        "keepalived_v3_100ms_pause_resume",
        3,
        Duration::from_millis(100),
    );
}

#[test]
fn keepalived_v3_10ms_pause_resume() {
    run(
        "keepalived_v3_10ms_pause_resume",
        3,
        Duration::from_millis(10),
    );
}

#[test]
fn keepalived_v3_1s_pause_resume() {
    run("keepalived_v3_1s_pause_resume", 3, Duration::from_secs(1));
}

#[test]
fn keepalived_v2_1s_pause_resume() {
    run("keepalived_v2_1s_pause_resume", 2, Duration::from_secs(1));
}

#[test]
fn keepalived_v3_100ms_sigterm() {
    if !require(&[Need::Keepalived]) {
        return;
    }
    let lab = Lab::new("keepalived_v3_100ms_sigterm", 2);
    let spec = Failover::new(Speaker::Keepalived, 3, Duration::from_millis(100));
    sigterm_takeover(&lab, PROBER, &spec);
}
