//! Harness for end-to-end tests on network namespaces.
//!
//! A [`Lab`] is one isolated Ethernet segment: a "switch" namespace holding a Linux bridge, router
//! namespaces `r1`, `r2` (optionally `r3`) and a `client` namespace, all on 192.0.2.0/24, and in
//! an IPv6 lab ([`lab::Family::Ipv6`]) on 2001:db8::/64 as well. A lab may have a second segment
//! (bridge `br1`, `eth1` in every node, 198.51.100.0/24: [`Lab::with_segments`]). Every process the lab spawns is
//! tracked and killed, and every namespace deleted, when the lab is dropped (also when the test
//! panics).
//!
//! Building blocks:
//! - [`Lab`]: topology, processes in namespaces, `pause` / `resume` (SIGSTOP / SIGCONT of every
//!   process of a namespace, like `docker pause`), the events file.
//! - [`nginx`]: nginx serving a fixed body on 0.0.0.0:80 in a router namespace.
//! - [`router`]: a VRRP speaker in a router seat ([`router::Speaker`]: keepalived, FRR, vrrpd).
//! - [`capture`]: tcpdump on the bridge and on each router's port, pcap analysis.
//! - [`craft`]: crafted (valid or malformed) VRRP adverts, injected with the `inject` binary.
//! - [`fastpath`]: vrrpd's kernel fast path from outside (nftables table and set, status counters).
//! - [`probe`]: the HTTP prober in the client namespace and its analysis.
//! - [`scenario`]: the pause / resume failover scenario and its measurements.
//! - [`prereq`]: skip / fail logic for missing prerequisites.
//! - [`uplinks`]: one speaker on both segments of a two-segment lab ([`Lab::with_segments`]),
//!   its two virtual routers in a sync group.

pub mod bench;
pub mod bench_pause;
pub mod bench_scale;
pub mod capture;
pub mod craft;
pub mod fastpath;
pub mod frr;
pub mod keepalived;
pub mod lab;
pub mod nginx;
pub mod prereq;
pub mod probe;
pub mod router;
pub mod scenario;
pub mod uplinks;

pub use lab::{Family, Lab, Node};

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The virtual IP every test uses.
pub const VIP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 0, 2, 1);

/// The virtual IPv6 address of the IPv6 tests: 2001:db8::1, the counterpart of [`VIP`] as the
/// nodes' `2001:db8::11` ... are of `192.0.2.11` ...
pub const VIP6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// Error returned by [`wait_until`] when the condition did not become true in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "condition still false after {:?}", self.0)
    }
}

impl std::error::Error for Timeout {}

/// Polls `cond` every 5 ms until it returns true or `timeout` has passed.
///
/// Returns how long it took. Never use a sleep in place of a condition: wait for the thing itself.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<Duration, Timeout> {
    let start = Instant::now();
    loop {
        if cond() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return Err(Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Like [`wait_until`], but the condition yields a value.
pub fn wait_for<T>(timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> Result<T, Timeout> {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Seconds since the Unix epoch, as f64 (microsecond resolution is what the traces use).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs_f64()
}
