//! The core's per-router configuration of either family, and what a check does to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_core::wire::{Auth, ChecksumMode, Version};

use super::MAX_ADDRS;

/// The core's per-router configuration, at this build's capacity, of either family.
// One per virtual router, for the daemon's lifetime: boxing the larger IPv6 variant would
// save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreConfig {
    V4(vrrp_core::Config<MAX_ADDRS, Ipv4Addr>),
    V6(vrrp_core::Config<MAX_ADDRS, Ipv6Addr>),
}

/// Evaluates `$e` with `$c` bound to the family-specific core configuration.
macro_rules! either {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            CoreConfig::V4($c) => $e,
            CoreConfig::V6($c) => $e,
        }
    };
}

impl CoreConfig {
    pub fn is_v6(&self) -> bool {
        matches!(self, CoreConfig::V6(_))
    }
    pub fn vrid(&self) -> u8 {
        either!(self, c => c.vrid)
    }
    pub fn version(&self) -> Version {
        either!(self, c => c.version)
    }
    pub fn priority(&self) -> u8 {
        either!(self, c => c.priority)
    }
    pub fn adver_interval(&self) -> u16 {
        either!(self, c => c.adver_interval)
    }
    pub fn preempt(&self) -> bool {
        either!(self, c => c.preempt)
    }
    pub fn preempt_delay(&self) -> vrrp_core::Duration {
        either!(self, c => c.preempt_delay)
    }
    pub fn accept_mode(&self) -> bool {
        either!(self, c => c.accept_mode)
    }
    pub fn checksum(&self) -> ChecksumMode {
        either!(self, c => c.checksum)
    }
    pub fn vip_prefix_len(&self) -> u8 {
        either!(self, c => c.vip_prefix_len)
    }
    pub fn auth(&self) -> Auth {
        either!(self, c => c.auth)
    }
    pub fn garp(&self) -> vrrp_core::Garp {
        either!(self, c => c.garp)
    }
    #[cfg(test)]
    pub fn primary(&self) -> IpAddr {
        either!(self, c => c.primary.into())
    }
    pub fn vips(&self) -> Vec<IpAddr> {
        either!(self, c => c.vips.iter().map(|&a| a.into()).collect())
    }
    pub fn peers(&self) -> Vec<IpAddr> {
        either!(self, c => c.peers.iter().map(|&a| a.into()).collect())
    }
    pub fn validate(&self) -> Result<(), vrrp_core::ConfigError> {
        either!(self, c => c.validate())
    }
    /// Skew_Time and Active_Down_Interval at the configured priority and interval.
    pub fn timers(
        &self,
    ) -> Result<(vrrp_core::Duration, vrrp_core::Duration), vrrp_core::ConfigError> {
        either!(self, c => vrrp_core::VirtualRouter::new(c.clone())
            .map(|r| (r.skew_time(), r.active_down_interval())))
    }
}

/// What a failing check does to the routers that track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Added to the priority: a positive weight while the check is up, a negative one while it
    /// is down (keepalived's convention, so either polarity can be expressed).
    Weight(i16),
    /// While down, the priority is 0: an Active steps down, a Backup never takes over.
    Fault,
}
