//! vrrp-core: a `no_std`, no-alloc VRRP implementation (RFC 9568, interoperable with RFC 3768).
//!
//! - [`wire`]: the advertisement format, checked view plus `Repr`, smoltcp style.
//! - [`router`]: the sans-IO state machine of one virtual router.
//! - [`net`]: the binding that runs a router on a `smoltcp` interface over any
//!   `smoltcp::phy::Device`. It is the only module that names smoltcp types.
//! - [`track`]: the priority a router runs with, given the checks it tracks.
#![no_std]
#![deny(unsafe_code)]

pub mod config;
mod log;
pub mod net;
pub mod router;
pub mod track;
pub mod wire;

pub use config::{Config, ConfigError, GARP_REPEATS, Garp};
pub use embassy_time::{Duration, Instant};
pub use router::{Action, DownWait, Heard, Reason, State, Stats, Takeover, VirtualRouter};
