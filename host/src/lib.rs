//! vrrp-host: the Linux VRRP daemon `vrrpd` as a library, so that its tests drive the code the
//! binary runs.
//!
//! The layers, top to bottom (a module imports only from the layers below it):
//! - [`cli`]: the command line (`vrrpd run | check | status | import-keepalived`);
//! - [`daemon`]: the event loop over the routers, signals, health changes, reload;
//! - [`datapath`] (TAP, frame classification, relay, unicast sockets, interface layout),
//!   [`health`] (checks), [`status`] (status and metrics), [`hooks`] (notify commands);
//! - [`config`] (the TOML file) and [`import`] (keepalived.conf into that file);
//! - `vrrp-core`, the protocol.

pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod datapath;
pub mod fdtable;
pub mod health;
pub mod hooks;
pub mod import;
pub mod logging;
pub mod proc_events;
pub mod process;
pub mod ratelimit;
pub mod status;
