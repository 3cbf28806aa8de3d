//! Wire formats, in the style of `smoltcp::wire`.

pub mod address;
pub mod checksum;
pub mod vrrp;

use core::fmt;

pub use address::{Address, virtual_mac_octets};
pub use vrrp::{AddressFamily, Addresses, Auth, ChecksumMode, IpContext, Packet, Repr, Version};

/// TTL / hop limit every advertisement is sent with and must arrive with (RFC 9568 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// IP protocol number of VRRP.
pub const IP_PROTOCOL: u8 = 112;
/// The IPv4 multicast group adverts are sent to (RFC 9568 §5.1.1.2).
pub const MULTICAST_V4: core::net::Ipv4Addr = core::net::Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group adverts are sent to (RFC 9568 §5.1.2.2).
pub const MULTICAST_V6: core::net::Ipv6Addr =
    core::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Why a received advertisement was dropped. Each reason is a counter in the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DropReason {
    /// IP TTL / hop limit is not 255.
    Ttl,
    /// Version is neither 2 nor 3 (or 2 over IPv6).
    Version,
    /// Type is not Advertisement.
    Type,
    /// No virtual router is configured with this VRID.
    Vrid,
    /// Shorter than the header, or than the address list it announces.
    Length,
    /// Checksum does not verify.
    Checksum,
    /// Address count is zero.
    AddressCount,
    /// Advertisement interval is zero (or, for VRRPv2, differs from ours).
    Interval,
    /// VRRPv2 authentication type or data does not match the configuration.
    Auth,
    /// The source is not in the configured peer list.
    Peer,
    /// The advertisement claims a different VRRP version than the router runs.
    VersionMismatch,
    /// An IPv6 advertisement from a source that is not link-local (RFC 9568 §5.1.2.1).
    Source,
    /// Not an IP packet of protocol 112 without extension headers.
    Protocol,
}

impl DropReason {
    pub const ALL: [DropReason; 13] = [
        DropReason::Ttl,
        DropReason::Version,
        DropReason::Type,
        DropReason::Vrid,
        DropReason::Length,
        DropReason::Checksum,
        DropReason::AddressCount,
        DropReason::Interval,
        DropReason::Auth,
        DropReason::Peer,
        DropReason::VersionMismatch,
        DropReason::Source,
        DropReason::Protocol,
    ];

    /// Stable snake_case name, for metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Ttl => "ttl",
            DropReason::Version => "version",
            DropReason::Type => "type",
            DropReason::Vrid => "vrid",
            DropReason::Length => "length",
            DropReason::Checksum => "checksum",
            DropReason::AddressCount => "address_count",
            DropReason::Interval => "interval",
            DropReason::Auth => "auth",
            DropReason::Peer => "peer",
            DropReason::VersionMismatch => "version_mismatch",
            DropReason::Source => "source",
            DropReason::Protocol => "protocol",
        }
    }

    /// Index into a counter array of [`DropReason::ALL`]'s length.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A malformed or unacceptable advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error(pub DropReason);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "invalid VRRP advertisement: {}", self.0)
    }
}

impl core::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;
