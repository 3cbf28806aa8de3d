//! smoltcp's egress runs only when it has work (see `net::due`): at a turn that only heard an
//! advert it is skipped. What it still has to send must leave all the same: the membership
//! report that answers a query, after a delay that smoltcp's `poll_at` does not show.

mod common;

use common::*;
use vrrp_core::{Duration, Instant, State};

#[test]
fn a_query_is_answered_after_its_delay_while_only_adverts_arrive() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    // Each owns its primary address, the source of its reports (a Backup without an address
    // has none to send).
    for (n, last) in seg.nodes.iter_mut().zip([11, 12]) {
        n.as_firmware(last);
    }
    seg.start_all();
    seg.run_until(Instant::from_secs(10));
    assert_eq!((seg.state(0), seg.state(1)), (State::Active, State::Backup));
    let asked = seg.now;
    let before = seg.wire.len();
    // One group each (224.0.0.18): smoltcp reports it after half the maximum response time.
    seg.inject(general_query(Duration::from_secs(4)));
    seg.run_for(Duration::from_secs(8));
    for node in [0, 1] {
        let reports: Vec<Instant> = seg.wire[before..]
            .iter()
            .filter(|s| s.node == node && matches!(decode(&s.frame), Decoded::Igmp))
            .map(|s| s.at)
            .collect();
        assert_eq!(reports.len(), 1, "node {node}: reports at {reports:?}");
        // Sent at the first poll after the delay: an advert interval (1 s) later at most.
        let delay = reports[0] - asked;
        assert!(
            delay >= Duration::from_secs(2) && delay <= Duration::from_secs(3),
            "node {node}: report {} ms after the query",
            delay.as_millis()
        );
    }
}
