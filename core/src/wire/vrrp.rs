//! The VRRP advertisement: RFC 9568 §5.1 (version 3) and RFC 3768 §5.1 (version 2).
//!
//! Laid out like `smoltcp::wire`: a checked zero-copy [`Packet`] view over a byte buffer and a
//! plain [`Repr`] with `parse` / `emit`. No input makes anything here panic: a malformed
//! advertisement is an [`Error`] carrying the [`DropReason`] that a daemon counts.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{DropReason, Error, Result};

/// `Type` field value of an advertisement (the only type either version defines).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed header shared by both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data trailer.
pub const V2_AUTH_LEN: usize = 8;
/// Largest Max Adver Int a VRRPv3 advertisement can carry, in centiseconds (12 bits).
pub const MAX_ADVER_INT_V3: u16 = 0x0fff;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// RFC 3768.
    V2,
    /// RFC 9568.
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// The address family of the IP packet that carries the advertisement. It decides the size of
/// each address in the list and the pseudo-header of the checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddressFamily {
    Ipv4,
    Ipv6,
}

impl AddressFamily {
    pub const fn addr_len(self) -> usize {
        match self {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 16,
        }
    }
}

/// How the VRRPv3 checksum over an IPv4 packet is computed.
///
/// keepalived 2.2 and FRR include the IPv4 pseudo-header (as RFC 9568 requires for IPv6 and
/// RFC 5798's text reads for both); some older stacks sum the message alone. VRRPv2 always sums
/// the message alone and IPv6 always includes its pseudo-header, so the option only matters for
/// VRRPv3 over IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChecksumMode {
    #[default]
    PseudoHeader,
    MessageOnly,
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). Type 2 (IP Authentication Header) was removed by
/// RFC 3768 and is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Auth {
    #[default]
    None,
    /// Simple text password, zero padded to 8 octets. Interoperability only: it protects nothing.
    Simple([u8; 8]),
}

impl Auth {
    const fn type_code(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Simple(_) => 1,
        }
    }
}

/// The IP header fields the checksum and the validity checks depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IpContext {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl IpContext {
    pub const fn family(&self) -> AddressFamily {
        match self {
            IpContext::V4 { .. } => AddressFamily::Ipv4,
            IpContext::V6 { .. } => AddressFamily::Ipv6,
        }
    }
}

mod field {
    use core::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v3: 4 reserved bits and a 12-bit Max Adver Int; v2: Auth Type then Adver Int.
    pub const INTERVAL: Range<usize> = 4..6;
    pub const V2_AUTH_TYPE: usize = 4;
    pub const V2_ADVER_INT: usize = 5;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// A read/write wrapper around a VRRP advertisement buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensures the fixed header is present, so that no getter panics. Whether the address list
    /// and the v2 trailer fit depends on the address family: [`total_len`](Self::total_len).
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error(DropReason::Length))
        } else {
            Ok(())
        }
    }

    /// The length the header claims, given the family and the version in the buffer.
    pub fn total_len(&self, family: AddressFamily) -> usize {
        let trailer = if self.version() == 2 { V2_AUTH_LEN } else { 0 };
        HEADER_LEN + usize::from(self.addr_count()) * family.addr_len() + trailer
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// VRRPv3 Max Adver Int, in centiseconds.
    pub fn max_adver_int(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::INTERVAL];
        u16::from_be_bytes([b[0], b[1]]) & MAX_ADVER_INT_V3
    }

    /// VRRPv3 reserved bits (must be sent as zero, ignored on receive).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::INTERVAL.start] >> 4
    }

    /// VRRPv2 Auth Type.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::V2_AUTH_TYPE]
    }

    /// VRRPv2 Adver Int, in seconds.
    pub fn adver_int(&self) -> u8 {
        self.buffer.as_ref()[field::V2_ADVER_INT]
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The raw address list; shorter than the header claims if the buffer is truncated.
    pub fn addresses(&self, family: AddressFamily) -> &[u8] {
        let data = self.buffer.as_ref();
        let end =
            (field::ADDRESSES + usize::from(self.addr_count()) * family.addr_len()).min(data.len());
        &data[field::ADDRESSES.min(end)..end]
    }

    /// VRRPv2 authentication data, if the buffer holds it.
    pub fn auth_data(&self, family: AddressFamily) -> Option<&[u8]> {
        let start = HEADER_LEN + usize::from(self.addr_count()) * family.addr_len();
        self.buffer.as_ref().get(start..start + V2_AUTH_LEN)
    }

    /// Verifies the checksum over the message (bytes beyond the claimed length are padding).
    pub fn verify_checksum(&self, ctx: &IpContext, mode: ChecksumMode) -> bool {
        let len = self.total_len(ctx.family()).min(self.buffer.as_ref().len());
        let data = &self.buffer.as_ref()[..len];
        checksum::finish(sum_for(self.version(), data, ctx, mode)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_addr_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// Sets the VRRPv3 Max Adver Int (centiseconds) with the reserved bits zero.
    pub fn set_max_adver_int(&mut self, centis: u16) {
        self.buffer.as_mut()[field::INTERVAL]
            .copy_from_slice(&(centis & MAX_ADVER_INT_V3).to_be_bytes());
    }

    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::V2_AUTH_TYPE] = auth_type;
    }

    pub fn set_adver_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::V2_ADVER_INT] = secs;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    pub fn addresses_mut(&mut self, family: AddressFamily) -> &mut [u8] {
        let end = field::ADDRESSES + usize::from(self.addr_count()) * family.addr_len();
        &mut self.buffer.as_mut()[field::ADDRESSES..end]
    }

    pub fn auth_data_mut(&mut self, family: AddressFamily) -> &mut [u8] {
        let start = HEADER_LEN + usize::from(self.addr_count()) * family.addr_len();
        &mut self.buffer.as_mut()[start..start + V2_AUTH_LEN]
    }

    /// Computes and stores the checksum. The buffer must hold the whole message.
    pub fn fill_checksum(&mut self, ctx: &IpContext, mode: ChecksumMode) {
        self.set_checksum(0);
        let len = self.total_len(ctx.family());
        let sum = sum_for(self.version(), &self.buffer.as_ref()[..len], ctx, mode);
        self.set_checksum(checksum::finish(sum));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

fn sum_for(version: u8, data: &[u8], ctx: &IpContext, mode: ChecksumMode) -> u32 {
    let message = checksum::sum(data);
    let pseudo = match (version, ctx, mode) {
        (3, IpContext::V4 { src, dst }, ChecksumMode::PseudoHeader) => {
            checksum::pseudo_v4(*src, *dst, data.len())
        }
        (3, IpContext::V6 { src, dst }, _) => checksum::pseudo_v6(*src, *dst, data.len()),
        _ => 0,
    };
    message + pseudo
}

const fn trailer_len(version: Version) -> usize {
    match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    }
}

/// The virtual addresses of an advertisement, either straight from the wire or from a
/// configuration slice, so that neither parse nor emit copies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses<'a> {
    /// Packed big-endian addresses of the given family, as on the wire.
    Wire(AddressFamily, &'a [u8]),
    V4(&'a [Ipv4Addr]),
    V6(&'a [Ipv6Addr]),
}

impl<'a> Addresses<'a> {
    pub fn family(&self) -> AddressFamily {
        match self {
            Addresses::Wire(family, _) => *family,
            Addresses::V4(_) => AddressFamily::Ipv4,
            Addresses::V6(_) => AddressFamily::Ipv6,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Addresses::Wire(family, bytes) => bytes.len() / family.addr_len(),
            Addresses::V4(a) => a.len(),
            Addresses::V6(a) => a.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The IPv4 addresses; empty for an IPv6 list.
    pub fn iter_v4(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        let (wire, slice): (&'a [u8], &'a [Ipv4Addr]) = match *self {
            Addresses::Wire(AddressFamily::Ipv4, b) => (b, &[]),
            Addresses::V4(a) => (&[], a),
            _ => (&[], &[]),
        };
        wire.chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            .chain(slice.iter().copied())
    }

    /// The IPv6 addresses; empty for an IPv4 list.
    pub fn iter_v6(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        let (wire, slice): (&'a [u8], &'a [Ipv6Addr]) = match *self {
            Addresses::Wire(AddressFamily::Ipv6, b) => (b, &[]),
            Addresses::V6(a) => (&[], a),
            _ => (&[], &[]),
        };
        wire.chunks_exact(16)
            .map(|c| {
                let mut o = [0u8; 16];
                o.copy_from_slice(c);
                Ipv6Addr::from(o)
            })
            .chain(slice.iter().copied())
    }

    /// Same addresses in any order (RFC 9568 §7.1 compares sets). An IPv6 list is never the
    /// same as an IPv4 one.
    pub fn same_set<A: super::Address>(&self, other: &[A]) -> bool {
        self.family() == A::FAMILY
            && self.len() == other.len()
            && A::iter(self).all(|a| other.contains(&a))
            && other.iter().all(|a| A::iter(self).any(|b| b == *a))
    }

    /// [`same_set`](Self::same_set) for IPv4.
    pub fn same_set_v4(&self, other: &[Ipv4Addr]) -> bool {
        self.same_set(other)
    }

    fn write(&self, out: &mut [u8]) {
        match self {
            Addresses::Wire(_, bytes) => out.copy_from_slice(bytes),
            Addresses::V4(a) => {
                for (chunk, addr) in out.chunks_exact_mut(4).zip(a.iter()) {
                    chunk.copy_from_slice(&addr.octets());
                }
            }
            Addresses::V6(a) => {
                for (chunk, addr) in out.chunks_exact_mut(16).zip(a.iter()) {
                    chunk.copy_from_slice(&addr.octets());
                }
            }
        }
    }
}

/// A parsed advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds. VRRPv2 carries whole seconds; they are converted.
    pub max_adver_int: u16,
    pub addresses: Addresses<'a>,
    /// Always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
}

impl<'a> Repr<'a> {
    /// Parses and validates an advertisement carried in an IP packet described by `ctx`
    /// (RFC 9568 §7.1 checks that need no configuration: version, type, length, checksum,
    /// address count, interval, auth type).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        ctx: &IpContext,
        mode: ChecksumMode,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        // Borrow the bytes for 'a rather than for the borrow of `packet`.
        let bytes: &'a [u8] = T::as_ref(packet.buffer);
        let version = match packet.version() {
            2 if ctx.family() == AddressFamily::Ipv4 => Version::V2,
            3 => Version::V3,
            _ => return Err(Error(DropReason::Version)),
        };
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(Error(DropReason::Type));
        }
        let family = ctx.family();
        if packet.as_ref().len() < packet.total_len(family) {
            return Err(Error(DropReason::Length));
        }
        if !packet.verify_checksum(ctx, mode) {
            return Err(Error(DropReason::Checksum));
        }
        // RFC 9568 erratum: an advertisement listing no address is ignored.
        if packet.addr_count() == 0 {
            return Err(Error(DropReason::AddressCount));
        }
        let (max_adver_int, auth) = match version {
            Version::V3 => (packet.max_adver_int(), Auth::None),
            Version::V2 => {
                let auth = match packet.auth_type() {
                    0 => Auth::None,
                    1 => {
                        let mut pw = [0u8; 8];
                        // Length was checked above, so the trailer is present.
                        pw.copy_from_slice(packet.auth_data(family).unwrap_or(&[0; 8]));
                        Auth::Simple(pw)
                    }
                    _ => return Err(Error(DropReason::Auth)),
                };
                (u16::from(packet.adver_int()) * 100, auth)
            }
        };
        // RFC 9568 erratum: a zero interval would make every timer fire at once.
        if max_adver_int == 0 {
            return Err(Error(DropReason::Interval));
        }
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            max_adver_int,
            addresses: Addresses::Wire(
                family,
                &bytes[field::ADDRESSES..packet.total_len(family) - trailer_len(version)],
            ),
            auth,
        })
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self.addresses.len() * self.addresses.family().addr_len()
            + trailer_len(self.version)
    }

    /// Writes the advertisement with its checksum into `packet`, which must be at least
    /// [`buffer_len`](Self::buffer_len) long. Values a version cannot carry (a v2 interval that
    /// is not whole seconds, more than 255 addresses) are the caller's to refuse at
    /// configuration time; here they are clamped.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        ctx: &IpContext,
        mode: ChecksumMode,
    ) {
        let family = self.addresses.family();
        packet.set_version_type(self.version.number(), TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_addr_count(self.addresses.len().min(255) as u8);
        match self.version {
            Version::V3 => packet.set_max_adver_int(self.max_adver_int.min(MAX_ADVER_INT_V3)),
            Version::V2 => {
                packet.set_auth_type(self.auth.type_code());
                packet.set_adver_int((self.max_adver_int / 100).min(255) as u8);
            }
        }
        self.addresses.write(packet.addresses_mut(family));
        if self.version == Version::V2 {
            let pw = match self.auth {
                Auth::Simple(pw) => pw,
                Auth::None => [0; 8],
            };
            packet.auth_data_mut(family).copy_from_slice(&pw);
        }
        packet.fill_checksum(ctx, mode);
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "VRRPv{} vrid={} prio={} int={}cs addrs=[",
            self.version.number(),
            self.vrid,
            self.priority,
            self.max_adver_int
        )?;
        let mut first = true;
        for a in self.addresses.iter_v4() {
            write!(f, "{}{}", if first { "" } else { "," }, a)?;
            first = false;
        }
        for a in self.addresses.iter_v6() {
            write!(f, "{}{}", if first { "" } else { "," }, a)?;
            first = false;
        }
        f.write_str("]")
    }
}
