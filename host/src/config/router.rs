//! `[[vrrp]]`: one virtual router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use vrrp_core::net::AnyConfig;
use vrrp_core::wire::{Auth, ChecksumMode, Version};

use super::duration::{Dur, embassy};
use super::raw::*;
use super::validate::Validator;
use super::{CheckConfig, ConfigError, CoreConfig, Location, MAX_ADDRS, format_duration};

const DEFAULT_PREFIX_LEN: u8 = 24;
const DEFAULT_PREFIX_LEN_V6: u8 = 64;

/// One `[[vrrp]]` table.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// The core configuration with `primary` set to the configured address, or to a
    /// placeholder (`0.0.0.0`, `fe80::`) when it is to be taken from the interface: use
    /// [`to_core`](Self::to_core).
    pub core: CoreConfig,
    /// The configured `primary`, if any (of the VIPs' family).
    pub primary: Option<IpAddr>,
    /// Names of the checks this router tracks, each one present in [`Config::checks`](super::Config::checks).
    pub track: Vec<String>,
    /// The uplink it runs on: its own `interface`, else the file's.
    pub interface: String,
    at: RouterLocations,
}

#[derive(Debug, Clone)]
struct RouterLocations {
    table: Location,
    priority: Location,
    primary: Option<Location>,
}

impl RouterConfig {
    pub fn vrid(&self) -> u8 {
        self.core.vrid()
    }

    /// True when `other` runs the same protocol (every core parameter and the primary
    /// address): a SIGHUP reload keeps such a router running, with its state, instead of
    /// restarting it. Tracked checks may differ; they only change the effective priority.
    pub fn same_protocol(&self, other: &RouterConfig) -> bool {
        self.core == other.core && self.primary == other.primary
    }

    /// The advertisement interval.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.core.adver_interval()) * 10)
    }

    /// The core configuration for a router whose address on the uplink is `interface_addr`
    /// (used when `primary` is not configured; of the router's family: the IPv4 address, or
    /// the IPv6 link-local one). Core validation errors name the key.
    pub fn to_core(&self, interface_addr: IpAddr) -> Result<CoreConfig, ConfigError> {
        let mut core = self.core.clone();
        let primary = self.primary.unwrap_or(interface_addr);
        match (&mut core, primary) {
            (AnyConfig::V4(c), IpAddr::V4(p)) => c.primary = p,
            (AnyConfig::V6(c), IpAddr::V6(p)) => c.primary = p,
            _ => {
                return Err(self.at.table.error(format!(
                    "the interface address {primary} is not of the VIPs' family"
                )));
            }
        }
        match core.validate() {
            Ok(()) => Ok(core),
            Err(
                e @ (vrrp_core::ConfigError::OwnerWithoutAddress
                | vrrp_core::ConfigError::PrimaryNotLinkLocal),
            ) => {
                let at = self.at.primary.as_ref().unwrap_or(&self.at.priority);
                Err(at.error(format!("{e} (primary is {primary})")))
            }
            Err(e) => Err(self.at.table.error(e.to_string())),
        }
    }
}

impl Validator<'_> {
    pub(super) fn router(
        &self,
        raw: &Spanned<RawRouter>,
        checks: &[CheckConfig],
        uplink: &str,
    ) -> Result<RouterConfig, ConfigError> {
        let table_span = raw.span();
        let raw = raw.get_ref();
        let vrid: u8 = self.int(&raw.vrid, 1..256, "vrid")?;
        let interface = match &raw.interface {
            None => uplink.to_owned(),
            Some(i) => self.interface_name(i)?,
        };
        let version = self.version(raw)?;
        let priority: u8 = self.int(
            &raw.priority,
            1..256,
            "priority (0 is reserved for shutdown)",
        )?;
        let adver_interval = match &raw.interval {
            None => 100,
            Some(i) => self.interval(i, version)?,
        };
        let (vips, prefix_len) = self.vips(raw, vrid, version)?;
        let v6 = vips[0].is_ipv6();
        let preempt_delay = raw
            .preempt_delay
            .as_ref()
            .map_or(Duration::ZERO, |d| d.get_ref().0);
        let checksum = self.checksum(raw, version, v6)?;
        let auth = self.auth(raw, version)?;
        let garp = self.garp(raw)?;
        let peers = self.peers(raw, v6)?;
        let primary = self.primary(raw, v6)?;
        if priority == 255 && primary.is_none() {
            return self.err(
                raw.priority.span(),
                "priority 255 makes this router the address owner: set `primary` to the VIP this host owns",
            );
        }
        let track = self.track(raw, checks)?;

        let core = Parts {
            vrid,
            priority,
            version,
            adver_interval,
            preempt: raw.preempt.unwrap_or(true),
            preempt_delay,
            accept: raw.accept.unwrap_or(true),
            checksum,
            vips,
            prefix_len,
            auth,
            garp,
            peers,
            primary,
        }
        .core();
        let at = RouterLocations {
            table: self.at(table_span.clone()),
            priority: self.at(raw.priority.span()),
            primary: raw.primary.as_ref().map(|p| self.at(p.span())),
        };
        let router = RouterConfig {
            core,
            primary,
            track,
            interface,
            at,
        };
        // The core has the last word on what the protocol can run; a mismatch between its rules
        // and ours must still surface here, at load time, not when the daemon starts the router.
        if let Err(e) = router.core.validate() {
            return self.err(core_error_span(&e, raw, table_span), e.to_string());
        }
        Ok(router)
    }

    fn version(&self, raw: &RawRouter) -> Result<Version, ConfigError> {
        match raw.version.as_ref() {
            None => Ok(Version::V3),
            Some(v) => match *v.get_ref() {
                3 => Ok(Version::V3),
                2 => Ok(Version::V2),
                n => self.err(v.span(), format!("version {n} does not exist: use 3 or 2")),
            },
        }
    }

    /// The VIPs, all of one family and one prefix length, with that length.
    fn vips(
        &self,
        raw: &RawRouter,
        vrid: u8,
        version: Version,
    ) -> Result<(Vec<IpAddr>, u8), ConfigError> {
        let mut vips: Vec<IpAddr> = Vec::new();
        let mut prefix: Option<(u8, Range<usize>)> = None;
        if raw.vips.get_ref().is_empty() {
            return self.err(raw.vips.span(), "at least one virtual address is required");
        }
        for v in raw.vips.get_ref() {
            let (addr, len) = self.cidr(v)?;
            if vips.contains(&addr) {
                return self.err(v.span(), format!("{addr} is listed twice"));
            }
            if let Some(first) = vips.first()
                && first.is_ipv4() != addr.is_ipv4()
            {
                return self.err(
                    v.span(),
                    format!(
                        "{addr} is not of the family of {first}: an IPv4 and an IPv6 virtual \
                         router are separate (RFC 9568 §4); put them in two [[vrrp]] tables \
                         with different VRIDs"
                    ),
                );
            }
            if let Some((first, _)) = &prefix {
                if *first != len {
                    return self.err(
                        v.span(),
                        format!(
                            "prefix length /{len} differs from /{first} of the first VIP: \
                             all VIPs of one virtual router are installed with one prefix length"
                        ),
                    );
                }
            } else {
                prefix = Some((len, v.span()));
            }
            vips.push(addr);
        }
        if vips.len() > MAX_ADDRS {
            return self.err(
                raw.vips.span(),
                format!(
                    "{} VIPs, at most {MAX_ADDRS} per virtual router",
                    vips.len()
                ),
            );
        }
        if vips[0].is_ipv6() {
            self.ipv6_vips(raw, &vips, vrid, version)?;
        }
        Ok((
            vips,
            prefix.as_ref().map_or(DEFAULT_PREFIX_LEN, |(l, _)| *l),
        ))
    }

    /// What an IPv6 virtual router needs beyond an IPv4 one: a link-local first VIP, version 3.
    fn ipv6_vips(
        &self,
        raw: &RawRouter,
        vips: &[IpAddr],
        vrid: u8,
        version: Version,
    ) -> Result<(), ConfigError> {
        if let IpAddr::V6(first) = vips[0]
            && !first.is_unicast_link_local()
        {
            return self.err(
                raw.vips.get_ref()[0].span(),
                format!(
                    "the first address of an IPv6 virtual router is its link-local one \
                     (RFC 9568 §5.2.9), e.g. \"fe80::{vrid:x}/64\" before {first}"
                ),
            );
        }
        if version == Version::V2 {
            let span = raw.version.as_ref().map_or(raw.vips.span(), |v| v.span());
            return self.err(
                span,
                "VRRPv2 has no IPv6: IPv6 virtual routers run version 3",
            );
        }
        Ok(())
    }

    fn checksum(
        &self,
        raw: &RawRouter,
        version: Version,
        v6: bool,
    ) -> Result<ChecksumMode, ConfigError> {
        match &raw.checksum {
            None => Ok(ChecksumMode::PseudoHeader),
            Some(c) if version == Version::V2 => self.err(
                c.span(),
                "VRRPv2 always checksums the message alone: remove `checksum` or use version 3",
            ),
            Some(c) => match c.get_ref().as_str() {
                "pseudo-header" => Ok(ChecksumMode::PseudoHeader),
                "message-only" if v6 => self.err(
                    c.span(),
                    "IPv6 adverts always include the pseudo-header in their checksum \
                     (RFC 9568 §5.2.8): remove `checksum`",
                ),
                "message-only" => Ok(ChecksumMode::MessageOnly),
                other => self.err(
                    c.span(),
                    format!(
                        "unknown checksum mode {other:?}: expected \"pseudo-header\" or \"message-only\""
                    ),
                ),
            },
        }
    }

    fn auth(&self, raw: &RawRouter, version: Version) -> Result<Auth, ConfigError> {
        match &raw.auth_pass {
            None => Ok(Auth::None),
            Some(p) if version == Version::V3 => self.err(
                p.span(),
                "authentication exists only in VRRPv2 (RFC 9568 removed it): remove `auth_pass` or set version = 2",
            ),
            Some(p) => {
                let bytes = p.get_ref().as_bytes();
                if bytes.is_empty() || bytes.len() > 8 {
                    return self.err(
                        p.span(),
                        format!(
                            "the VRRPv2 password is 1..=8 bytes, this one has {}",
                            bytes.len()
                        ),
                    );
                }
                let mut pw = [0u8; 8];
                pw[..bytes.len()].copy_from_slice(bytes);
                Ok(Auth::Simple(pw))
            }
        }
    }

    fn garp(&self, raw: &RawRouter) -> Result<vrrp_core::Garp, ConfigError> {
        let Some(g) = &raw.garp else {
            return Ok(vrrp_core::Garp::default());
        };
        let schedule = self.garp_schedule(g.get_ref())?;
        let Some(every) = &g.get_ref().refresh else {
            return Ok(schedule);
        };
        schedule
            .with_refresh(embassy(every.get_ref().0))
            .or_else(|e| {
                self.err(
                    every.span(),
                    format!("{}: {e}", format_duration(every.get_ref().0)),
                )
            })
    }

    /// The takeover's announcements: `burst`, `repeat_at` or its older form.
    fn garp_schedule(&self, g: &RawGarp) -> Result<vrrp_core::Garp, ConfigError> {
        let mut schedule = vrrp_core::Garp::default();
        if let Some(b) = &g.burst {
            schedule.burst = self.int(b, 1..256, "garp.burst")?;
        }
        let burst = schedule.burst;
        let older = g.repeats.as_ref().map(|r| r.span());
        let older = older.or_else(|| g.repeat_delay.as_ref().map(|d| d.span()));
        if let Some(at) = &g.repeat_at {
            if let Some(span) = older {
                return self.err(
                    span,
                    "`repeats` and `repeat_delay` are the older form of `repeat_at`: give one or the other",
                );
            }
            let mut offsets = Vec::new();
            for d in at.get_ref() {
                let shown = format_duration(d.get_ref().0);
                let t = embassy(d.get_ref().0);
                if vrrp_core::Garp::new(1, &[t]).is_err() {
                    return self.err(
                        d.span(),
                        format!("{shown}: an offset is a multiple of 10ms, 10ms..=655.35s"),
                    );
                }
                if offsets.last().is_some_and(|&last| t <= last) {
                    return self.err(
                        d.span(),
                        format!(
                            "{shown}: the offsets are measured from the takeover and must increase"
                        ),
                    );
                }
                offsets.push(t);
            }
            return vrrp_core::Garp::new(burst, &offsets)
                .or_else(|e| self.err(at.span(), e.to_string()));
        }
        if older.is_none() {
            return Ok(schedule);
        }
        // The older form, kept so that existing files load: `repeats` bursts `repeat_delay`
        // apart (then defaults 1 and 2s).
        let repeats = match &g.repeats {
            Some(r) => self.int(r, 0..vrrp_core::GARP_REPEATS as i64 + 1, "garp.repeats")?,
            None => 1,
        };
        let delay = g
            .repeat_delay
            .as_ref()
            .map_or(Duration::from_secs(2), |d| d.get_ref().0);
        vrrp_core::Garp::evenly(burst, repeats, embassy(delay)).or_else(|_| {
            let span = g.repeat_delay.as_ref().map(|d| d.span());
            self.err(
                span.or(older).unwrap_or_default(),
                format!(
                    "{}: the repeats fall at multiples of it, each a multiple of 10ms up to 655.35s",
                    format_duration(delay)
                ),
            )
        })
    }

    fn peers(&self, raw: &RawRouter, v6: bool) -> Result<Vec<IpAddr>, ConfigError> {
        let mut peers: Vec<IpAddr> = Vec::new();
        for p in &raw.peers {
            let addr = self.ip(p)?;
            if addr.is_ipv6() != v6 {
                return self.err(p.span(), format!("{addr} is not of the VIPs' family"));
            }
            if let IpAddr::V6(a) = addr
                && !a.is_unicast_link_local()
            {
                return self.err(
                    p.span(),
                    format!(
                        "{addr}: list the peer's link-local address (fe80::/10): IPv6 adverts \
                         come from it (RFC 9568 §5.1.2.1) and `peers` also lists the sources \
                         accepted"
                    ),
                );
            }
            if peers.contains(&addr) {
                return self.err(p.span(), format!("{addr} is listed twice"));
            }
            peers.push(addr);
        }
        if peers.len() > MAX_ADDRS {
            return self.err(
                raw.peers[MAX_ADDRS].span(),
                format!(
                    "{} peers, at most {MAX_ADDRS} per virtual router",
                    peers.len()
                ),
            );
        }
        Ok(peers)
    }

    fn primary(&self, raw: &RawRouter, v6: bool) -> Result<Option<IpAddr>, ConfigError> {
        let Some(p) = &raw.primary else {
            return Ok(None);
        };
        let addr = self.ip(p)?;
        match addr {
            IpAddr::V4(_) if v6 => self.err(p.span(), format!("{addr} is not of the VIPs' family")),
            IpAddr::V6(_) if !v6 => {
                self.err(p.span(), format!("{addr} is not of the VIPs' family"))
            }
            IpAddr::V6(a) if !a.is_unicast_link_local() => self.err(
                p.span(),
                format!(
                    "{addr}: an IPv6 virtual router's primary address is link-local \
                     (fe80::/10; RFC 9568 §5.1.2.1)"
                ),
            ),
            _ => Ok(Some(addr)),
        }
    }

    /// The checks the router tracks, each defined and named once.
    fn track(&self, raw: &RawRouter, checks: &[CheckConfig]) -> Result<Vec<String>, ConfigError> {
        let mut track = Vec::new();
        for t in &raw.track {
            let name = t.get_ref();
            if !checks.iter().any(|c| &c.name == name) {
                let known: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
                return self.err(
                    t.span(),
                    format!("no [check.{name}] is defined (defined checks: {known:?})"),
                );
            }
            if track.contains(name) {
                return self.err(t.span(), format!("check {name:?} is tracked twice"));
            }
            track.push(name.clone());
        }
        Ok(track)
    }

    pub(super) fn interval(&self, i: &Spanned<Dur>, version: Version) -> Result<u16, ConfigError> {
        let us = i.get_ref().0.as_micros();
        let shown = format_duration(i.get_ref().0);
        match version {
            Version::V2 => {
                if !us.is_multiple_of(1_000_000) || !(1..=255).contains(&(us / 1_000_000)) {
                    return self.err(
                        i.span(),
                        format!("{shown}: a VRRPv2 advert interval is whole seconds, 1s..=255s"),
                    );
                }
                Ok((us / 10_000) as u16)
            }
            _ => {
                if !us.is_multiple_of(10_000) {
                    return self.err(
                        i.span(),
                        format!(
                            "{shown}: a VRRPv3 advert interval is a multiple of 10ms (centiseconds on the wire)"
                        ),
                    );
                }
                let centis = us / 10_000;
                if !(1..=u128::from(vrrp_core::wire::vrrp::MAX_ADVER_INT_V3)).contains(&centis) {
                    return self.err(
                        i.span(),
                        format!("{shown}: a VRRPv3 advert interval is 10ms..=40.95s"),
                    );
                }
                Ok(centis as u16)
            }
        }
    }

    fn ip(&self, s: &Spanned<String>) -> Result<IpAddr, ConfigError> {
        let addr: IpAddr = s.get_ref().parse().or_else(|_| {
            self.err(
                s.span(),
                format!("{:?} is not an IPv4 or IPv6 address", s.get_ref()),
            )
        })?;
        let unusable = match addr {
            IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
        };
        if unusable {
            return self.err(s.span(), format!("{addr} cannot be a router address"));
        }
        Ok(addr)
    }

    /// `ADDR[/LEN]`; the default length is /24 for IPv4 and /64 for IPv6.
    fn cidr(&self, s: &Spanned<String>) -> Result<(IpAddr, u8), ConfigError> {
        let (addr, len) = match s.get_ref().split_once('/') {
            None => (s.get_ref().as_str(), None),
            Some((a, l)) => (a, Some(l)),
        };
        let ip = self.ip(&Spanned::new(s.span(), addr.to_owned()))?;
        let (default, max) = match ip {
            IpAddr::V4(_) => (DEFAULT_PREFIX_LEN, 32),
            IpAddr::V6(_) => (DEFAULT_PREFIX_LEN_V6, 128),
        };
        let len = match len {
            None => default,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return self.err(
                        s.span(),
                        format!("{:?}: the prefix length must be 1..={max}", s.get_ref()),
                    );
                }
            },
        };
        Ok((ip, len))
    }
}

/// A `[[vrrp]]` table's values, validated one by one, before the core judges them together.
struct Parts {
    vrid: u8,
    priority: u8,
    version: Version,
    adver_interval: u16,
    preempt: bool,
    preempt_delay: Duration,
    accept: bool,
    checksum: ChecksumMode,
    vips: Vec<IpAddr>,
    prefix_len: u8,
    auth: Auth,
    garp: vrrp_core::Garp,
    peers: Vec<IpAddr>,
    primary: Option<IpAddr>,
}

impl Parts {
    fn core(&self) -> CoreConfig {
        macro_rules! build {
            ($variant:ident, $placeholder:expr) => {{
                let unwrap = |a: &IpAddr| match a {
                    IpAddr::$variant(a) => Some(*a),
                    _ => None,
                };
                let mut c = vrrp_core::Config::new(
                    self.vrid,
                    self.priority,
                    self.primary
                        .as_ref()
                        .and_then(unwrap)
                        .unwrap_or($placeholder),
                );
                c.version = self.version;
                c.adver_interval = self.adver_interval;
                c.preempt = self.preempt;
                c.preempt_delay = embassy(self.preempt_delay);
                c.accept_mode = self.accept;
                c.checksum = self.checksum;
                c.vips = self.vips.iter().filter_map(unwrap).collect();
                c.vip_prefix_len = self.prefix_len;
                c.auth = self.auth;
                c.garp = self.garp;
                c.peers = self.peers.iter().filter_map(unwrap).collect();
                AnyConfig::$variant(c)
            }};
        }
        // The placeholders stand in for the interface's address until run time (to_core); the
        // IPv6 one is link-local so that load-time validation judges the rest.
        if self.vips[0].is_ipv6() {
            build!(V6, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0))
        } else {
            build!(V4, Ipv4Addr::UNSPECIFIED)
        }
    }
}

/// The value the core's complaint is about.
fn core_error_span(
    e: &vrrp_core::ConfigError,
    raw: &RawRouter,
    table_span: Range<usize>,
) -> Range<usize> {
    match e {
        vrrp_core::ConfigError::Vrid => raw.vrid.span(),
        vrrp_core::ConfigError::Priority => raw.priority.span(),
        vrrp_core::ConfigError::Interval | vrrp_core::ConfigError::IntervalV2 => {
            raw.interval.as_ref().map_or(table_span, |i| i.span())
        }
        vrrp_core::ConfigError::AuthV3 => raw.auth_pass.as_ref().map_or(table_span, |a| a.span()),
        vrrp_core::ConfigError::NoVips
        | vrrp_core::ConfigError::TooManyVips
        | vrrp_core::ConfigError::PrefixLen => raw.vips.span(),
        vrrp_core::ConfigError::GarpBurst
        | vrrp_core::ConfigError::GarpRepeats
        | vrrp_core::ConfigError::GarpSchedule
        | vrrp_core::ConfigError::GarpRefresh => raw.garp.as_ref().map_or(table_span, |g| g.span()),
        vrrp_core::ConfigError::OwnerWithoutAddress
        | vrrp_core::ConfigError::PrimaryNotLinkLocal => raw
            .primary
            .as_ref()
            .map_or(raw.priority.span(), |p| p.span()),
        vrrp_core::ConfigError::V2OverIpv6 => raw.version.as_ref().map_or(table_span, |v| v.span()),
        vrrp_core::ConfigError::FirstVipNotLinkLocal => raw.vips.span(),
    }
}
