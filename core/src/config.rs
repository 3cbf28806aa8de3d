//! The per-virtual-router configuration (RFC 9568 §6.1 parameters).

use core::fmt;
use core::net::Ipv4Addr;

use embassy_time::Duration;
use heapless::Vec;

use crate::wire::{Address, AddressFamily, Auth, ChecksumMode, Version};

/// Most repeats a [`Garp`] schedule holds.
pub const GARP_REPEATS: usize = 8;
// The message of `ConfigError::GarpRepeats` names the figure.
const _: () = assert!(GARP_REPEATS == 8);

/// Gratuitous ARP (IPv4) or unsolicited Neighbor Advertisements (IPv6) on becoming Active: a
/// burst at once, then one more burst at each offset of [`repeat_at`](Garp::repeat_at), measured
/// from the takeover.
///
/// The default is one frame per VIP at 0, 10, 30, 100, 300 and 1000 ms. The first repeat is
/// what wins a race: an old Active that does not use the virtual MAC (keepalived's default) may
/// still announce the VIPs at its own MAC just after we took over (a burst back to back, a few
/// milliseconds long), and a neighbour keeps the last announcement it heard. 10 ms comes after
/// such a burst and bounds the outage it causes to about that. Each later gap is about three
/// times the one before, so announcements spread out over time (a rival that spaces its own, a
/// lost frame) cost frames in proportion to the log of the time covered: six per VIP in the
/// first second, where keepalived sends ten over five seconds. The schedule ends at 1 s: by then
/// the Backups have heard our adverts (at the default interval) and a VRRP rival has stepped
/// down. RFC 4861 §7.2.6 allows a node three unsolicited NAs, a second apart, for a change of
/// its own link-layer address; this answers a race with another node's announcements instead,
/// as keepalived's bursts of five do, and the schedule can be shortened for a strict link.
///
/// Only a takeover starts the schedule; an Active that stays Active (thawed after a freeze)
/// never restarts it. Offsets are kept in centiseconds, the unit of Advertisement_Interval, so
/// that the schedule costs 18 bytes of a router's state.
///
/// After the schedule, an Active can go on announcing every [`refresh`](Garp::refresh)
/// (keepalived's `garp_master_refresh`; off by default): a burst at every whole multiple of the
/// period after the takeover that falls after the last repeat, so that a neighbour whose entry
/// expired, or a switch that forgot the port, learns the virtual MAC again without asking. A
/// refresh slept through in a freeze goes out once at the thaw, and the period keeps its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Garp {
    /// Frames per VIP in each burst (at least 1).
    pub burst: u8,
    repeats: u8,
    repeat_at: [u16; GARP_REPEATS],
    /// The refresh period in whole seconds; 0 = off.
    refresh_s: u16,
}

impl Garp {
    /// The default repeat offsets, in milliseconds.
    pub const DEFAULT_REPEAT_AT_MS: [u64; 5] = [10, 30, 100, 300, 1000];

    /// `burst` frames per VIP at once, then again at each offset of `repeat_at`: strictly
    /// increasing, multiples of 10 ms in 10 ms..=655.35 s, at most [`GARP_REPEATS`].
    pub fn new(burst: u8, repeat_at: &[Duration]) -> Result<Garp, ConfigError> {
        if burst == 0 {
            return Err(ConfigError::GarpBurst);
        }
        if repeat_at.len() > GARP_REPEATS {
            return Err(ConfigError::GarpRepeats);
        }
        let mut g = Garp {
            burst,
            repeats: repeat_at.len() as u8,
            repeat_at: [0; GARP_REPEATS],
            refresh_s: 0,
        };
        let mut after = 0;
        for (slot, t) in g.repeat_at.iter_mut().zip(repeat_at) {
            let us = t.as_micros();
            let cs = us / 10_000;
            if us % 10_000 != 0 || cs <= after || cs > u64::from(u16::MAX) {
                return Err(ConfigError::GarpSchedule);
            }
            *slot = cs as u16;
            after = cs;
        }
        Ok(g)
    }

    /// The older shape of the schedule: `repeats` bursts after the first, `delay` apart.
    pub fn evenly(burst: u8, repeats: u8, delay: Duration) -> Result<Garp, ConfigError> {
        if usize::from(repeats) > GARP_REPEATS {
            return Err(ConfigError::GarpRepeats);
        }
        let mut at = [Duration::from_ticks(0); GARP_REPEATS];
        for (k, t) in at.iter_mut().enumerate().take(repeats.into()) {
            *t = delay * (k as u32 + 1);
        }
        Garp::new(burst, &at[..repeats.into()])
    }

    /// Offsets from the takeover of the bursts after the first, ascending.
    pub fn repeat_at(&self) -> impl ExactSizeIterator<Item = Duration> + Clone + '_ {
        self.repeat_at[..usize::from(self.repeats)]
            .iter()
            .map(|&cs| Duration::from_micros(u64::from(cs) * 10_000))
    }

    /// This schedule, then a burst every `every` while Active: whole seconds, 1 s..=65535 s,
    /// or zero for none.
    pub fn with_refresh(mut self, every: Duration) -> Result<Garp, ConfigError> {
        let us = every.as_micros();
        if !us.is_multiple_of(1_000_000) || us / 1_000_000 > u64::from(u16::MAX) {
            return Err(ConfigError::GarpRefresh);
        }
        self.refresh_s = (us / 1_000_000) as u16;
        Ok(self)
    }

    /// The period of the bursts after the schedule, if any.
    pub fn refresh(&self) -> Option<Duration> {
        (self.refresh_s != 0).then(|| Duration::from_secs(self.refresh_s.into()))
    }

    /// The `k`-th offset of [`repeat_at`](Self::repeat_at).
    pub(crate) fn repeat(&self, k: u8) -> Option<Duration> {
        self.repeat_at().nth(k.into())
    }
}

impl Default for Garp {
    fn default() -> Self {
        let mut repeat_at = [0; GARP_REPEATS];
        for (cs, ms) in repeat_at.iter_mut().zip(Garp::DEFAULT_REPEAT_AT_MS) {
            *cs = (ms / 10) as u16;
        }
        Garp {
            burst: 1,
            repeats: Garp::DEFAULT_REPEAT_AT_MS.len() as u8,
            repeat_at,
            refresh_s: 0,
        }
    }
}

/// Configuration of one virtual router. `N` bounds the VIP list and the peer list; `A` is the
/// address family ([`Ipv4Addr`] or [`core::net::Ipv6Addr`]): a virtual router is of one family
/// (RFC 9568 §4: an IPv4 and an IPv6 virtual router may share a VRID but are separate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config<const N: usize, A: Address = Ipv4Addr> {
    pub vrid: u8,
    pub version: Version,
    /// 1..=255; 255 means this router owns the addresses.
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (VRRPv2: a multiple of 100).
    pub adver_interval: u16,
    pub preempt: bool,
    /// How long a Backup must have outranked the Active before it preempts (keepalived's
    /// `preempt_delay`): counted from startup, from a return from fault, and from the first
    /// advert it outranks after one it did not; an advert at or above its priority starts the
    /// count again. Taking over from a silent Active (Active_Down_Interval) never waits.
    pub preempt_delay: Duration,
    /// Accept packets addressed to the VIPs while Active (RFC 9568 §6.1 Accept_Mode).
    pub accept_mode: bool,
    pub checksum: ChecksumMode,
    /// This router's own address on the link: the source of its adverts and the tie-breaker.
    /// For IPv6, its link-local address (RFC 9568 §5.1.2.1).
    pub primary: A,
    /// For IPv6 the first one is link-local (RFC 9568 §5.2.9, erratum 8300).
    pub vips: Vec<A, N, u8>,
    /// Prefix length the VIPs are installed with (so that ARP from the subnet is answered).
    pub vip_prefix_len: u8,
    /// VRRPv2 only.
    pub auth: Auth,
    pub garp: Garp,
    /// When non-empty, adverts from any other source are dropped ([`DropReason::Peer`]).
    ///
    /// [`DropReason::Peer`]: crate::wire::DropReason::Peer
    pub peers: Vec<A, N, u8>,
}

impl<const N: usize, A: Address> Config<N, A> {
    /// A VRRPv3 config with RFC 9568 defaults: interval 1 s, preempt on, accept mode off.
    pub fn new(vrid: u8, priority: u8, primary: A) -> Self {
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
    pub fn with_vip(mut self, vip: A) -> Result<Self, ConfigError> {
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
        let max_prefix = match A::FAMILY {
            AddressFamily::Ipv4 => 32,
            AddressFamily::Ipv6 => 128,
        };
        if self.vip_prefix_len == 0 || self.vip_prefix_len > max_prefix {
            return Err(ConfigError::PrefixLen);
        }
        if A::FAMILY == AddressFamily::Ipv6 {
            if self.version == Version::V2 {
                return Err(ConfigError::V2OverIpv6);
            }
            if !self.primary.is_valid_source() {
                return Err(ConfigError::PrimaryNotLinkLocal);
            }
            if !self.vips[0].is_link_local() {
                return Err(ConfigError::FirstVipNotLinkLocal);
            }
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
    GarpRepeats,
    GarpSchedule,
    GarpRefresh,
    OwnerWithoutAddress,
    V2OverIpv6,
    PrimaryNotLinkLocal,
    FirstVipNotLinkLocal,
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
            ConfigError::PrefixLen => "VIP prefix length must be 1..=32 (IPv4) or 1..=128 (IPv6)",
            ConfigError::GarpBurst => "gratuitous ARP / NA burst must be at least 1",
            ConfigError::GarpRepeats => "at most 8 gratuitous ARP / NA repeats after the first burst",
            ConfigError::GarpSchedule => {
                "gratuitous ARP / NA repeat offsets must be strictly increasing multiples of 10 ms, \
                 10 ms..=655.35 s"
            }
            ConfigError::GarpRefresh => {
                "the gratuitous ARP / NA refresh is whole seconds, 0..=65535 s"
            }
            ConfigError::V2OverIpv6 => "VRRPv2 has no IPv6: IPv6 virtual routers run version 3",
            ConfigError::PrimaryNotLinkLocal => {
                "an IPv6 virtual router's primary address must be link-local (fe80::/10)"
            }
            ConfigError::FirstVipNotLinkLocal => {
                "an IPv6 virtual router's first virtual address must be link-local (RFC 9568 5.2.9)"
            }
            ConfigError::OwnerWithoutAddress => {
                "priority 255 means address owner: the primary address must be one of the VIPs"
            }
        })
    }
}

impl core::error::Error for ConfigError {}
