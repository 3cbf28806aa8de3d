//! The simulator's speed: simulated time over wall time.

use std::time::Instant as WallClock;

use bumpalo::Bump;

use crate::scenario::Scenario;
use crate::swarm;
use crate::time::{Micros, SECOND};
use crate::world::{Options, Sim};

/// Three routers, one VRID, 10 ms adverts: the densest steady state VRRPv3 allows.
pub const STEADY: &str = "
    duration 3600s
    router r1 192.0.2.11
    router r2 192.0.2.12
    router r3 192.0.2.13
    vrid 10 vip 192.0.2.1 interval 10ms
    vrrp r1 10 priority 200
    vrrp r2 10 priority 150
    vrrp r3 10 priority 100
";

pub struct Steady {
    pub simulated: Micros,
    pub wall: f64,
    pub frames: u64,
}

/// Runs [`STEADY`] for `simulated` with the timeline of adverts on or off (pcap off).
pub fn steady(simulated: Micros, log_adverts: bool) -> Steady {
    let scenario = Scenario::parse(STEADY).expect("the bench scenario parses");
    let arena = Bump::new();
    let mut sim = Sim::new(
        &arena,
        scenario.nodes,
        1,
        Options {
            pcap: false,
            quiet_adverts: !log_adverts,
            ..Options::default()
        },
    );
    let started = WallClock::now();
    sim.run_until(simulated);
    Steady {
        simulated,
        wall: started.elapsed().as_secs_f64(),
        frames: sim.frames,
    }
}

pub struct SwarmBench {
    pub seeds: u64,
    pub failed: usize,
    pub simulated: Micros,
    pub wall: f64,
}

pub fn swarm(seeds: u64) -> SwarmBench {
    let started = WallClock::now();
    let s = swarm::run_range(0, seeds);
    SwarmBench {
        seeds,
        failed: s.failed.len(),
        simulated: s.simulated,
        wall: started.elapsed().as_secs_f64(),
    }
}

pub fn ratio(simulated: Micros, wall: f64) -> f64 {
    simulated as f64 / SECOND as f64 / wall.max(1e-9)
}
