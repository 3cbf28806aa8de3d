//! vrrp-sim: a deterministic simulator for vrrp-core.
//!
//! Simulated nodes run the real state machine and the real smoltcp binding over in-memory
//! devices on one Ethernet segment, in virtual time that jumps from event to event. One seed
//! gives one run, byte for byte. See `sim/README.md` for the scenario format and the commands.
#![forbid(unsafe_code)]

pub mod bench;
pub mod device;
pub mod expect;
pub mod link;
pub mod neighbor;
pub mod pcap;
pub mod plot;
pub mod replay;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod swarm;
pub mod switch;
pub mod time;
pub mod timeline;
pub mod world;
