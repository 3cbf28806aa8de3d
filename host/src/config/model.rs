//! The core's per-router configuration of either family, and what a check does to it.

use vrrp_core::net::AnyConfig;

use super::MAX_ADDRS;

/// The core's per-router configuration ([`AnyConfig`]) at this build's capacity.
pub type CoreConfig = AnyConfig<MAX_ADDRS>;

pub use vrrp_core::track::Effect;
