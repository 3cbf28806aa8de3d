//! What the protocol needs to know of an address family, so that one state machine runs a
//! virtual router of either family (RFC 9568 §5.1.1 / §5.1.2) without storing the larger of
//! the two address types for both.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::{AddressFamily, Addresses, IpContext, MULTICAST_V4, MULTICAST_V6};

mod sealed {
    pub trait Sealed {}
    impl Sealed for core::net::Ipv4Addr {}
    impl Sealed for core::net::Ipv6Addr {}
}

#[cfg(feature = "defmt")]
pub trait MaybeFormat: defmt::Format {}
#[cfg(feature = "defmt")]
impl<T: defmt::Format> MaybeFormat for T {}
#[cfg(not(feature = "defmt"))]
pub trait MaybeFormat {}
#[cfg(not(feature = "defmt"))]
impl<T> MaybeFormat for T {}

/// [`Ipv4Addr`] or [`Ipv6Addr`]. `Ord` is the numeric order RFC 9568 §6.4.3 breaks priority
/// ties with (the larger primary address wins).
pub trait Address:
    sealed::Sealed + Copy + Eq + Ord + fmt::Debug + fmt::Display + MaybeFormat + 'static
{
    const FAMILY: AddressFamily;
    /// The group adverts are sent to.
    const MULTICAST: Self;
    /// The fifth octet of the virtual MAC 00:00:5e:00:0X:VRID (RFC 9568 §7.3).
    const MAC_OCTET: u8;

    /// A configuration slice as an advert's address list.
    fn addresses(list: &[Self]) -> Addresses<'_>;
    /// The addresses of this family in `list` (none if `list` is of the other family).
    fn iter<'a>(list: &Addresses<'a>) -> impl Iterator<Item = Self> + 'a;
    fn context(src: Self, dst: Self) -> IpContext;
    /// RFC 9568 §5.1.2.1: IPv6 adverts come from a link-local address; IPv4 has no such rule.
    fn is_valid_source(&self) -> bool;
    /// Whether this is a link-local address (always true for the first IPv6 VIP).
    fn is_link_local(&self) -> bool;
}

impl Address for Ipv4Addr {
    const FAMILY: AddressFamily = AddressFamily::Ipv4;
    const MULTICAST: Self = MULTICAST_V4;
    const MAC_OCTET: u8 = 1;

    fn addresses(list: &[Self]) -> Addresses<'_> {
        Addresses::V4(list)
    }

    fn iter<'a>(list: &Addresses<'a>) -> impl Iterator<Item = Self> + 'a {
        list.iter_v4()
    }

    fn context(src: Self, dst: Self) -> IpContext {
        IpContext::V4 { src, dst }
    }

    fn is_valid_source(&self) -> bool {
        true
    }

    fn is_link_local(&self) -> bool {
        Ipv4Addr::is_link_local(self)
    }
}

impl Address for Ipv6Addr {
    const FAMILY: AddressFamily = AddressFamily::Ipv6;
    const MULTICAST: Self = MULTICAST_V6;
    const MAC_OCTET: u8 = 2;

    fn addresses(list: &[Self]) -> Addresses<'_> {
        Addresses::V6(list)
    }

    fn iter<'a>(list: &Addresses<'a>) -> impl Iterator<Item = Self> + 'a {
        list.iter_v6()
    }

    fn context(src: Self, dst: Self) -> IpContext {
        IpContext::V6 { src, dst }
    }

    fn is_valid_source(&self) -> bool {
        Address::is_link_local(self)
    }

    fn is_link_local(&self) -> bool {
        Ipv6Addr::is_unicast_link_local(self)
    }
}

/// The virtual router MAC address of a VRID in family `A`: 00:00:5e:00:01:VRID for IPv4,
/// 00:00:5e:00:02:VRID for IPv6 (RFC 9568 §7.3).
pub const fn virtual_mac_octets<A: Address>(vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, A::MAC_OCTET, vrid]
}
