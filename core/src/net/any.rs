//! A virtual router of either family behind one type, for a driver that runs IPv4 and IPv6
//! routers side by side (the Linux daemon, the simulator): [`Config`] and [`Stack`] are generic
//! over the address type, [`AnyConfig`] and [`AnyStack`] pick it at run time and report
//! addresses and events with [`IpAddr`]s.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::phy::Device;
use smoltcp::wire::EthernetAddress;

use super::{Event, NotUnicast, RawBuffers, SocketResources, Stack};
use crate::wire::{Auth, ChecksumMode, DropReason, Version, virtual_mac_octets};
use crate::{Config, ConfigError, Duration, Garp, Instant, State, Stats, Takeover, VirtualRouter};

/// The configuration of one virtual router of either family. `N` bounds its VIP and peer lists.
// The variants differ by the address lists' size only; a driver holds a handful of them.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyConfig<const N: usize> {
    V4(Config<N, Ipv4Addr>),
    V6(Config<N, Ipv6Addr>),
}

/// One [`Stack`] of either family. `N` bounds its VIP and peer lists.
// The variants differ by the address lists' size only; a driver holds a handful of them.
#[allow(clippy::large_enum_variant)]
pub enum AnyStack<'a, const N: usize> {
    V4(Stack<'a, N, Ipv4Addr>),
    V6(Stack<'a, N, Ipv6Addr>),
}

/// Evaluates `$e` with `$s` bound to the family-specific value of `Self` (an [`AnyConfig`] or an
/// [`AnyStack`]).
macro_rules! either {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Self::V4($s) => $e,
            Self::V6($s) => $e,
        }
    };
}

/// An address list of either family, widened to [`IpAddr`]s (one of the two is empty).
fn addrs<'s>(v4: &'s [Ipv4Addr], v6: &'s [Ipv6Addr]) -> impl Iterator<Item = IpAddr> + Clone + 's {
    v4.iter()
        .map(|&a| IpAddr::V4(a))
        .chain(v6.iter().map(|&a| IpAddr::V6(a)))
}

impl<const N: usize> From<Config<N, Ipv4Addr>> for AnyConfig<N> {
    fn from(c: Config<N, Ipv4Addr>) -> Self {
        AnyConfig::V4(c)
    }
}

impl<const N: usize> From<Config<N, Ipv6Addr>> for AnyConfig<N> {
    fn from(c: Config<N, Ipv6Addr>) -> Self {
        AnyConfig::V6(c)
    }
}

impl<const N: usize> AnyConfig<N> {
    pub fn is_v6(&self) -> bool {
        matches!(self, AnyConfig::V6(_))
    }

    /// The IPv4 configuration, if this is an IPv4 router.
    pub fn v4(&self) -> Option<&Config<N, Ipv4Addr>> {
        match self {
            AnyConfig::V4(c) => Some(c),
            AnyConfig::V6(_) => None,
        }
    }

    /// The IPv6 configuration, if this is an IPv6 router.
    pub fn v6(&self) -> Option<&Config<N, Ipv6Addr>> {
        match self {
            AnyConfig::V4(_) => None,
            AnyConfig::V6(c) => Some(c),
        }
    }

    pub fn vrid(&self) -> u8 {
        either!(self, c => c.vrid)
    }

    /// The virtual MAC of this router (RFC 9568 §7.3): 00:00:5e:00:01:VRID or 00:00:5e:00:02:VRID.
    pub fn virtual_mac(&self) -> [u8; 6] {
        match self {
            AnyConfig::V4(c) => virtual_mac_octets::<Ipv4Addr>(c.vrid),
            AnyConfig::V6(c) => virtual_mac_octets::<Ipv6Addr>(c.vrid),
        }
    }

    pub fn version(&self) -> Version {
        either!(self, c => c.version)
    }

    pub fn priority(&self) -> u8 {
        either!(self, c => c.priority)
    }

    /// Advertisement_Interval in centiseconds.
    pub fn adver_interval(&self) -> u16 {
        either!(self, c => c.adver_interval)
    }

    pub fn preempt(&self) -> bool {
        either!(self, c => c.preempt)
    }

    pub fn preempt_delay(&self) -> Duration {
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

    pub fn garp(&self) -> Garp {
        either!(self, c => c.garp)
    }

    pub fn primary(&self) -> IpAddr {
        either!(self, c => c.primary.into())
    }

    /// The VIPs, in order.
    pub fn vips(&self) -> impl Iterator<Item = IpAddr> + Clone + '_ {
        match self {
            AnyConfig::V4(c) => addrs(&c.vips, &[]),
            AnyConfig::V6(c) => addrs(&[], &c.vips),
        }
    }

    /// The unicast peers, in order (none: multicast).
    pub fn peers(&self) -> impl Iterator<Item = IpAddr> + Clone + '_ {
        match self {
            AnyConfig::V4(c) => addrs(&c.peers, &[]),
            AnyConfig::V6(c) => addrs(&[], &c.peers),
        }
    }

    /// [`Config::validate`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        either!(self, c => c.validate())
    }

    /// Skew_Time and Active_Down_Interval (RFC 9568 §6.1) at the configured priority and
    /// interval.
    pub fn timers(&self) -> Result<(Duration, Duration), ConfigError> {
        either!(self, c => VirtualRouter::new(c.clone())
            .map(|r| (r.skew_time(), r.active_down_interval())))
    }
}

/// `on_event` for the family-specific stack: the same event with its address widened.
macro_rules! widen {
    ($on_event:expr) => {
        &mut |e: Event<_>| $on_event(e.map_addr(Into::into))
    };
}

impl<'a, const N: usize> AnyStack<'a, N> {
    /// [`Stack::new`] for a router of either family.
    pub fn new<D: Device + ?Sized, const SOCKETS: usize, const PAYLOAD: usize>(
        config: AnyConfig<N>,
        device: &mut D,
        resources: &'a mut SocketResources<'a, SOCKETS>,
        buffers: &'a mut RawBuffers<PAYLOAD>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        Ok(match config {
            AnyConfig::V4(c) => AnyStack::V4(Stack::new(c, device, resources, buffers, now)?),
            AnyConfig::V6(c) => AnyStack::V6(Stack::new(c, device, resources, buffers, now)?),
        })
    }
}

impl<const N: usize> AnyStack<'_, N> {
    pub fn set_unicast_delegate(&mut self, delegate: bool) {
        either!(self, s => s.set_unicast_delegate(delegate))
    }

    pub fn set_own_primary(&mut self, own: bool) {
        either!(self, s => s.set_own_primary(own))
    }

    /// [`Stack::set_node_mac`].
    pub fn set_node_mac(&mut self, mac: EthernetAddress) -> Result<(), NotUnicast> {
        either!(self, s => s.set_node_mac(mac))
    }

    pub fn startup(&mut self, now: Instant) {
        either!(self, s => s.startup(now))
    }

    pub fn set_priority(&mut self, now: Instant, priority: u8) {
        either!(self, s => s.set_priority(now, priority))
    }

    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        either!(self, s => s.poll_at(now))
    }

    /// [`Stack::wants_poll`].
    pub fn wants_poll(&self, now: Instant) -> bool {
        either!(self, s => s.wants_poll(now))
    }

    pub fn poll<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<IpAddr>),
    ) {
        either!(self, s => s.poll(now, device, widen!(on_event)))
    }

    pub fn poll_ingress<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<IpAddr>),
    ) {
        either!(self, s => s.poll_ingress(now, device, widen!(on_event)))
    }

    pub fn shutdown<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<IpAddr>),
    ) {
        either!(self, s => s.shutdown(now, device, widen!(on_event)))
    }

    /// [`Stack::handle_packet`] for an IPv4 packet; an IPv6 router reports it as a drop of the
    /// wrong protocol.
    pub fn handle_ipv4<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        packet: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event<IpAddr>),
    ) {
        match self {
            AnyStack::V4(s) => s.handle_packet(now, packet, device, widen!(on_event)),
            AnyStack::V6(_) => on_event(Event::Dropped {
                reason: DropReason::Protocol,
            }),
        }
    }

    /// [`Stack::handle_message`]; addresses of the other family are reported as a drop of the
    /// wrong protocol.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_message<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        hop_limit: u8,
        message: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event<IpAddr>),
    ) {
        match (self, src, dst) {
            (AnyStack::V4(s), IpAddr::V4(src), IpAddr::V4(dst)) => {
                s.handle_message(now, src, dst, hop_limit, message, device, widen!(on_event))
            }
            (AnyStack::V6(s), IpAddr::V6(src), IpAddr::V6(dst)) => {
                s.handle_message(now, src, dst, hop_limit, message, device, widen!(on_event))
            }
            _ => on_event(Event::Dropped {
                reason: DropReason::Protocol,
            }),
        }
    }

    /// [`Stack::write_advert`]: `None` if `buf` is too short or `dst` is of the other family.
    pub fn write_advert(&self, priority: u8, dst: IpAddr, buf: &mut [u8]) -> Option<usize> {
        match (self, dst) {
            (AnyStack::V4(s), IpAddr::V4(d)) => s.write_advert(priority, d, buf),
            (AnyStack::V6(s), IpAddr::V6(d)) => s.write_advert(priority, d, buf),
            _ => None,
        }
    }

    pub fn state(&self) -> State {
        either!(self, s => s.router().state())
    }

    pub fn priority(&self) -> u8 {
        either!(self, s => s.router().priority())
    }

    pub fn stats(&self) -> &Stats {
        either!(self, s => s.router().stats())
    }

    /// [`Stack::last_takeover`].
    pub fn last_takeover(&self) -> Option<Takeover<IpAddr>> {
        either!(self, s => s.last_takeover().copied().map(|t| t.map_addr(Into::into)))
    }

    pub fn primary(&self) -> IpAddr {
        either!(self, s => s.router().config().primary.into())
    }

    /// The source of the last advert heard from another router: on a Backup, the Active.
    pub fn last_advert_source(&self) -> Option<IpAddr> {
        either!(self, s => s.router().last_advert().map(|h| h.source.into()))
    }

    /// Active_Down_Interval as this router computes it now (RFC 9568 §6.1).
    pub fn active_down_interval(&self) -> Duration {
        either!(self, s => s.router().active_down_interval())
    }

    /// The configured VIPs, in order.
    pub fn vips(&self) -> impl Iterator<Item = IpAddr> + Clone + '_ {
        match self {
            AnyStack::V4(s) => addrs(&s.router().config().vips, &[]),
            AnyStack::V6(s) => addrs(&[], &s.router().config().vips),
        }
    }

    /// Whether the router takes traffic to `addr` now (Active, and owner or Accept_Mode).
    pub fn accepts(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (AnyStack::V4(s), IpAddr::V4(a)) => s.router().accepts(a),
            (AnyStack::V6(s), IpAddr::V6(a)) => s.router().accepts(a),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reports_either_family_with_ip_addrs() {
        let mut c4: Config<2> = Config::new(10, 150, Ipv4Addr::new(192, 0, 2, 11));
        c4.vips.push(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        c4.peers.push(Ipv4Addr::new(192, 0, 2, 12)).unwrap();
        let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x11);
        let vip6 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let mut c6: Config<2, Ipv6Addr> = Config::new(10, 100, ll);
        c6.vips.push(vip6).unwrap();
        c6.vips
            .push(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
            .unwrap();
        let (a4, a6) = (AnyConfig::from(c4.clone()), AnyConfig::from(c6.clone()));

        assert!(!a4.is_v6() && a6.is_v6());
        assert_eq!((a4.v4(), a4.v6()), (Some(&c4), None));
        assert_eq!((a6.v4(), a6.v6()), (None, Some(&c6)));
        assert_eq!((a4.vrid(), a4.priority(), a6.priority()), (10, 150, 100));
        assert_eq!(a6.primary(), IpAddr::V6(ll));
        assert!(a4.vips().eq([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]));
        assert!(a4.peers().eq([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12))]));
        assert_eq!(a6.vips().next(), Some(IpAddr::V6(vip6)));
        assert_eq!(a6.vips().count(), 2);
        assert_eq!(a6.peers().next(), None);
    }

    #[test]
    fn config_timers_are_the_routers() {
        let mut c: Config<1> = Config::new(1, 200, Ipv4Addr::new(192, 0, 2, 11));
        c.vips.push(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        let r = VirtualRouter::new(c.clone()).unwrap();
        assert_eq!(
            AnyConfig::from(c).timers(),
            Ok((r.skew_time(), r.active_down_interval()))
        );
        let zero: AnyConfig<1> = Config::new(1, 0, Ipv4Addr::new(192, 0, 2, 11)).into();
        assert_eq!(zero.validate(), Err(ConfigError::Priority));
        assert_eq!(zero.timers(), Err(ConfigError::Priority));
    }
}
