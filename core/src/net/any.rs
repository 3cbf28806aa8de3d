//! A virtual router of either family behind one type, for a driver that runs IPv4 and IPv6
//! routers side by side (the Linux daemon, the simulator): [`Stack`] is generic over the address
//! type, this enum picks it at run time and reports events with [`IpAddr`]s.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smoltcp::phy::Device;

use super::{Event, Stack};
use crate::wire::DropReason;
use crate::{Duration, Instant, State, Stats};

/// One [`Stack`] of either family. `N` bounds its VIP and peer lists.
// The variants differ by the address lists' size only; a driver holds a handful of them.
#[allow(clippy::large_enum_variant)]
pub enum AnyStack<'a, const N: usize> {
    V4(Stack<'a, N, Ipv4Addr>),
    V6(Stack<'a, N, Ipv6Addr>),
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

/// `on_event` for the family-specific stack: the same event with its address widened.
macro_rules! widen {
    ($on_event:expr) => {
        &mut |e: Event<_>| $on_event(e.map_addr(Into::into))
    };
}

impl<const N: usize> AnyStack<'_, N> {
    pub fn set_unicast_delegate(&mut self, delegate: bool) {
        either!(self, s => s.set_unicast_delegate(delegate))
    }

    pub fn set_own_primary(&mut self, own: bool) {
        either!(self, s => s.set_own_primary(own))
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

    pub fn primary(&self) -> IpAddr {
        either!(self, s => s.router().config().primary.into())
    }

    /// Active_Down_Interval as this router computes it now (RFC 9568 §6.1).
    pub fn active_down_interval(&self) -> Duration {
        either!(self, s => s.router().active_down_interval())
    }

    /// The configured VIPs, in order.
    pub fn vips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (v4, v6) = match self {
            AnyStack::V4(s) => (&s.router().config().vips[..], &[][..]),
            AnyStack::V6(s) => (&[][..], &s.router().config().vips[..]),
        };
        v4.iter()
            .map(|&a| IpAddr::V4(a))
            .chain(v6.iter().map(|&a| IpAddr::V6(a)))
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
