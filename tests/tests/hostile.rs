//! Malformed adverts injected from a third namespace must be dropped, shown on
//! keepalived; the same scenario takes vrrpd once it exists.

use std::time::Duration;

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::Speaker;
use vrrp_tests::scenario::{Failover, hostile_adverts};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const INJECT: &str = env!("CARGO_BIN_EXE_inject");

#[test]
fn keepalived_drops_malformed_adverts() {
    if !require(&[Need::Keepalived]) {
        return;
    }
    let lab = Lab::new("keepalived_drops_malformed_adverts", 3);
    let spec = Failover::new(Speaker::Keepalived, 3, Duration::from_millis(100));
    // Reported, not asserted: keepalived 2.2.7 drops them ("invalid TTL/HL") but, as Active, stops
    // advertising while they arrive at its own interval, so r2 takes over (see the report).
    let outcomes = hostile_adverts(&lab, PROBER, INJECT, &spec, false);
    assert_eq!(outcomes.len(), 3);
}

#[test]
fn frr_drops_malformed_adverts() {
    if !require(&[Need::Frr]) {
        return;
    }
    let lab = Lab::new("frr_drops_malformed_adverts", 3);
    let spec = Failover::new(Speaker::Frr, 3, Duration::from_millis(100));
    hostile_adverts(&lab, PROBER, INJECT, &spec, true);
}

#[test]
fn injector_refuses_the_initial_namespace() {
    // No root needed: the guard fires before any socket is opened.
    let frame = "01005e000012020c0c0002d0d08004500";
    let out = std::process::Command::new(INJECT)
        .arg(frame)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
