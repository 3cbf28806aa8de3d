//! One virtual router of either family on the TAP: the core's [`Stack`] is generic over the
//! address type, the daemon holds IPv4 and IPv6 routers side by side.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::phy::Device;
use vrrp_core::net::{Buffers, Event as CoreEvent, Resources, Stack};
use vrrp_core::wire::DropReason;
use vrrp_core::{ConfigError, Instant, State, Stats};

use crate::config::{CoreConfig, MAX_ADDRS};
use crate::unicast::Received6;

/// The core's events with the addresses widened to [`IpAddr`], whatever the router's family.
pub type Event = CoreEvent<IpAddr>;

// One per virtual router, for the daemon's lifetime: boxing the larger IPv6 variant would
// save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub enum AnyStack {
    V4(Stack<'static, MAX_ADDRS, Ipv4Addr>),
    V6(Stack<'static, MAX_ADDRS, Ipv6Addr>),
}

/// Evaluates `$e` with `$s` bound to the family-specific stack.
macro_rules! either {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyStack::V4($s) => $e,
            AnyStack::V6($s) => $e,
        }
    };
}

impl AnyStack {
    /// The stack borrows its socket storage for its whole life; a router lives as long as the
    /// daemon (a reload that changes its protocol leaks one set, a few KB).
    pub fn new<D: Device + ?Sized>(
        core: CoreConfig,
        device: &mut D,
        now: Instant,
    ) -> Result<AnyStack, ConfigError> {
        let resources = Box::leak(Box::new(Resources::new()));
        let buffers = Box::leak(Box::new(Buffers::new()));
        Ok(match core {
            CoreConfig::V4(c) => AnyStack::V4(Stack::new(c, device, resources, buffers, now)?),
            CoreConfig::V6(c) => AnyStack::V6(Stack::new(c, device, resources, buffers, now)?),
        })
    }

    pub fn set_unicast_delegate(&mut self, delegate: bool) {
        either!(self, s => s.set_unicast_delegate(delegate))
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

    pub fn poll<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        either!(self, s => s.poll(now, device, &mut |e| on_event(e.map_addr(Into::into))))
    }

    pub fn poll_ingress<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        either!(self, s => s.poll_ingress(now, device, &mut |e| on_event(e.map_addr(Into::into))))
    }

    pub fn shutdown<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        either!(self, s => s.shutdown(now, device, &mut |e| on_event(e.map_addr(Into::into))))
    }

    /// An IPv4 advert the kernel received (unicast); an IPv6 router counts it as a drop of
    /// the wrong protocol, which the VRID routing in front of it never lets happen.
    pub fn handle_ipv4<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        packet: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        match self {
            AnyStack::V4(s) => s.handle_ipv4(now, packet, device, &mut |e| {
                on_event(e.map_addr(Into::into))
            }),
            AnyStack::V6(_) => on_event(Event::Dropped {
                reason: DropReason::Protocol,
            }),
        }
    }

    /// A VRRP message the kernel received for an IPv6 router (a raw IPv6 socket hands over the
    /// payload alone); an IPv4 router counts it as a drop of the wrong protocol, which the VRID
    /// routing in front of it never lets happen.
    pub fn handle_ipv6_message<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        m: &Received6,
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        match self {
            AnyStack::V6(s) => {
                let on_event = &mut |e: CoreEvent<Ipv6Addr>| on_event(e.map_addr(Into::into));
                s.handle_message(now, m.src, m.dst, m.hop_limit, &m.message, device, on_event)
            }
            AnyStack::V4(_) => on_event(Event::Dropped {
                reason: DropReason::Protocol,
            }),
        }
    }

    /// The advert packet to `dst` for a [`Event::UnicastAdvert`]: `None` if `buf` is too short
    /// or `dst` is of the other family.
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

    pub fn primary(&self) -> IpAddr {
        either!(self, s => s.router().config().primary.into())
    }

    pub fn vips(&self) -> Vec<IpAddr> {
        either!(self, s => s.router().config().vips.iter().map(|&a| a.into()).collect())
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
