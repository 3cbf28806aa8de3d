//! Running a scenario: build the world, apply its timed events, check its expectations.

use bumpalo::Bump;

use crate::expect;
use crate::scenario::Scenario;
use crate::time::fmt;
use crate::world::{Entry, Kind, Options, Sim};

/// The outcome of one scenario run.
pub struct Outcome {
    pub log: Vec<Entry>,
    pub names: Vec<String>,
    /// One line per expectation: `Ok` met, `Err` failed (with what happened).
    pub checks: Vec<Result<String, String>>,
    pub pcap: Vec<u8>,
    pub frames: u64,
    /// Receive-queue overflow drops per node.
    pub queue_drops: Vec<u64>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Result::is_ok)
    }
}

pub fn run(scenario: &Scenario, seed: u64, pcap: bool) -> Outcome {
    let arena = Bump::new();
    let mut sim = Sim::new(
        &arena,
        scenario.nodes.clone(),
        seed,
        Options {
            pcap,
            ..Options::default()
        },
    );
    for (at, a) in &scenario.actions {
        sim.schedule(*at, a.clone());
    }
    sim.run_until(scenario.duration);
    let names: Vec<String> = scenario.nodes.iter().map(|n| n.name.clone()).collect();
    let mut checks: Vec<Result<String, String>> = scenario
        .expects
        .iter()
        .map(|e| expect::check(e, &sim.log, &names, scenario.duration))
        .collect();
    // Implied in every scenario: the switch keeps the virtual MAC at the only Active's port.
    for e in &sim.log {
        if let Kind::Misdirected { vrid, port } = e.kind {
            checks.push(Err(format!(
                "vrid {vrid}: at {} the switch sends frames for the virtual MAC to {}'s port while {} is the only Active",
                fmt(e.at),
                names.get(port).map_or("the outside hosts", String::as_str),
                names[e.node]
            )));
        }
    }
    Outcome {
        queue_drops: (0..sim.node_count()).map(|n| sim.queue_drops(n)).collect(),
        frames: sim.frames,
        pcap: sim.take_pcap(),
        log: std::mem::take(&mut sim.log),
        names,
        checks,
    }
}
