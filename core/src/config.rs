//! The per-virtual-router configuration (RFC 9568 §6.1 parameters).

use core::fmt;
use core::net::Ipv4Addr;

use embassy_time::Duration;
use heapless::Vec;

use crate::wire::{Auth, ChecksumMode, Version};

/// Gratuitous ARP on becoming Active: one burst right away, then `repeats` more bursts spaced by
/// `repeat_delay`. keepalived sends 5 per VIP at once and 5 more after 5 s; a quiet network
/// needs one, a lossy one a repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Garp {
    /// Frames per VIP in each burst (at least 1).
    pub burst: u8,
    /// Bursts after the first one.
    pub repeats: u8,
    pub repeat_delay: Duration,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            burst: 1,
            repeats: 1,
            repeat_delay: Duration::from_secs(2),
        }
    }
}

/// Configuration of one virtual router. `N` bounds the VIP list and the peer list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config<const N: usize> {
    pub vrid: u8,
    pub version: Version,
    /// 1..=255; 255 means this router owns the addresses.
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (VRRPv2: a multiple of 100).
    pub adver_interval: u16,
    pub preempt: bool,
    /// A Backup does not preempt until this long after startup.
    pub preempt_delay: Duration,
    /// Accept packets addressed to the VIPs while Active (RFC 9568 §6.1 Accept_Mode).
    pub accept_mode: bool,
    pub checksum: ChecksumMode,
    /// This router's own address on the link: the source of its adverts and the tie-breaker.
    pub primary: Ipv4Addr,
    pub vips: Vec<Ipv4Addr, N, u8>,
    /// Prefix length the VIPs are installed with (so that ARP from the subnet is answered).
    pub vip_prefix_len: u8,
    /// VRRPv2 only.
    pub auth: Auth,
    pub garp: Garp,
    /// When non-empty, adverts from any other source are dropped ([`DropReason::Peer`]).
    ///
    /// [`DropReason::Peer`]: crate::wire::DropReason::Peer
    pub peers: Vec<Ipv4Addr, N, u8>,
}

impl<const N: usize> Config<N> {
    /// A VRRPv3 config with RFC 9568 defaults: interval 1 s, preempt on, accept mode off.
    pub fn new(vrid: u8, priority: u8, primary: Ipv4Addr) -> Self {
        Config {
            vrid,
            version: Version::V3,
            priority,
            adver_interval: 100,
            preempt: true,
            preempt_delay: Duration::from_ticks(0),
            accept_mode: false,
            checksum: ChecksumMode::PseudoHeader,
            primary,
            vips: Vec::new(),
            vip_prefix_len: 32,
            auth: Auth::None,
            garp: Garp::default(),
            peers: Vec::new(),
        }
    }

    /// Adds a VIP; builder style for tests and examples.
    pub fn with_vip(mut self, vip: Ipv4Addr) -> Result<Self, ConfigError> {
        self.vips.push(vip).map_err(|_| ConfigError::TooManyVips)?;
        Ok(self)
    }

    /// Checks every value the protocol constrains.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        match self.version {
            Version::V3 if self.adver_interval == 0 || self.adver_interval > 0x0fff => {
                return Err(ConfigError::Interval);
            }
            Version::V2
                if self.adver_interval == 0
                    || !self.adver_interval.is_multiple_of(100)
                    || self.adver_interval / 100 > 255 =>
            {
                return Err(ConfigError::IntervalV2);
            }
            Version::V3 if self.auth != Auth::None => return Err(ConfigError::AuthV3),
            _ => {}
        }
        if self.vips.is_empty() {
            return Err(ConfigError::NoVips);
        }
        if self.vip_prefix_len == 0 || self.vip_prefix_len > 32 {
            return Err(ConfigError::PrefixLen);
        }
        if self.garp.burst == 0 {
            return Err(ConfigError::GarpBurst);
        }
        if self.priority == 255 && !self.vips.contains(&self.primary) {
            return Err(ConfigError::OwnerWithoutAddress);
        }
        Ok(())
    }
}

/// A configuration the protocol cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    Vrid,
    Priority,
    Interval,
    IntervalV2,
    AuthV3,
    NoVips,
    TooManyVips,
    PrefixLen,
    GarpBurst,
    OwnerWithoutAddress,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            ConfigError::Vrid => "VRID must be 1..=255",
            ConfigError::Priority => "priority must be 1..=255 (0 is reserved for shutdown)",
            ConfigError::Interval => "VRRPv3 advert interval must be 10 ms..=40.95 s",
            ConfigError::IntervalV2 => "VRRPv2 advert interval must be whole seconds, 1..=255",
            ConfigError::AuthV3 => "authentication exists only in VRRPv2",
            ConfigError::NoVips => "at least one virtual address is required",
            ConfigError::TooManyVips => "too many virtual addresses for this build",
            ConfigError::PrefixLen => "VIP prefix length must be 1..=32",
            ConfigError::GarpBurst => "gratuitous ARP burst must be at least 1",
            ConfigError::OwnerWithoutAddress => {
                "priority 255 means address owner: the primary address must be one of the VIPs"
            }
        })
    }
}

impl core::error::Error for ConfigError {}
