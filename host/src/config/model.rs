//! The core's per-router configuration of either family, and what a check does to it.

use std::net::IpAddr;

use vrrp_core::net::AnyConfig;

use super::MAX_ADDRS;

/// The core's per-router configuration ([`AnyConfig`]), at this build's capacity, of either
/// family, with its address lists as `Vec`s for the callers that keep or index them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig(pub AnyConfig<MAX_ADDRS>);

impl std::ops::Deref for CoreConfig {
    type Target = AnyConfig<MAX_ADDRS>;
    fn deref(&self) -> &AnyConfig<MAX_ADDRS> {
        &self.0
    }
}

impl CoreConfig {
    pub fn vips(&self) -> Vec<IpAddr> {
        self.0.vips().collect()
    }
    pub fn peers(&self) -> Vec<IpAddr> {
        self.0.peers().collect()
    }
}

pub use vrrp_core::track::Effect;
