//! Receiving unicast adverts. With `peers` configured, peers send their adverts to this node's
//! own address, which the kernel owns (it is on the bridge), so they never reach smoltcp on the
//! TAP. A raw IPv4 socket for protocol 112 hands them over, IP header included (the TTL check
//! needs it). The kernel delivers multicast to it only for groups the host joined, and it joins
//! none, so multicast adverts keep arriving once, through the TAP.

use std::ffi::OsString;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, recvmsg,
    sendmsg, sendto, setsockopt, sockopt,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Largest advert packet: IPv4 header with options, 8-byte header, 255 addresses, v2 auth.
const MAX_PACKET: usize = 60 + 8 + 4 * 255 + 8;

pub struct UnicastSocket {
    fd: AsyncFd<OwnedFd>,
    buf: Box<[u8]>,
}

impl UnicastSocket {
    /// Opens the socket on `bridge` (where the node's addresses live): with several uplinks,
    /// each uplink's socket hears only the adverts that came in on its own link.
    pub fn open(bridge: &str) -> io::Result<UnicastSocket> {
        let fd = raw_socket(AddressFamily::Inet)?;
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(bridge))?;
        // We write the IP header (TTL 255, the router's primary as source); the kernel fills in
        // the length, ID and header checksum.
        let one: libc::c_int = 1;
        // SAFETY: `fd` is open, and the option value is an int of the size given. (nix has no
        // IP_HDRINCL option.)
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_HDRINCL,
                (&raw const one).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Errno::result(r)?;
        // SAFETY: `fd` is an open descriptor owned by the `AsyncFd` from here on, and `OwnedFd`
        // always reports the same descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(UnicastSocket {
            fd,
            buf: vec![0; MAX_PACKET].into_boxed_slice(),
        })
    }

    /// Waits for packets, then hands each queued one to `f` (header included).
    pub async fn recv_with(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let mut n = 0;
        loop {
            let mut guard = self.fd.readable().await?;
            loop {
                let r = match recv(guard.get_inner().as_raw_fd(), &mut self.buf) {
                    Ok(len) => len,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                f(&self.buf[..r]);
                n += 1;
            }
            if n > 0 {
                return Ok(n);
            }
        }
    }

    /// Sends one advert packet (IP header included) to `dst` through the kernel, which resolves
    /// the peer with the node's own MAC and address.
    pub fn send_to(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let addr = SockaddrIn::from(SocketAddrV4::new(dst, 0));
        sendto(
            self.fd.get_ref().as_raw_fd(),
            packet,
            &addr,
            MsgFlags::MSG_DONTWAIT,
        )?;
        Ok(())
    }

    /// The socket's descriptor, for a caller's own readiness wait.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Hands every packet queued right now to `f`, without waiting.
    pub fn try_recv_with(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let fd = self.fd.get_ref().as_raw_fd();
        let mut n = 0;
        loop {
            match recv(fd, &mut self.buf) {
                Ok(len) => {
                    f(&self.buf[..len]);
                    n += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(nix::sys::socket::recv(fd, buf, MsgFlags::empty())?)
}

/// A non-blocking raw socket of `family` for VRRP's protocol number.
fn raw_socket(family: AddressFamily) -> io::Result<OwnedFd> {
    // nix's `SockProtocol` names no protocol 112, so the socket comes from libc.
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let raw = unsafe {
        libc::socket(
            family as libc::c_int,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(vrrp_core::wire::IP_PROTOCOL),
        )
    };
    let raw = Errno::result(raw)?;
    // SAFETY: `raw` is a descriptor socket(2) just returned, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The VRID of an IPv4 packet carrying an advert, if it is long enough to say.
pub fn vrid_of(packet: &[u8]) -> Option<u8> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    packet.get(ihl + 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrid_behind_the_ip_header() {
        let mut p = vec![0x45u8; 20];
        p.extend_from_slice(&[0x31, 10, 100, 1]);
        assert_eq!(vrid_of(&p), Some(10));
        p[0] = 0x46; // one option word: the VRID moves 4 bytes on
        assert_eq!(vrid_of(&p), None);
        p.extend_from_slice(&[0x31, 42]);
        assert_eq!(vrid_of(&p), Some(42));
        assert_eq!(vrid_of(&[0x45; 10]), None);
        assert_eq!(vrid_of(&[]), None);
    }
}

/// A unicast advert an IPv6 raw socket received: Linux hands over the VRRP message alone, the
/// IP header's fields come from the source address and the control messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub message: Vec<u8>,
}

/// Unicast adverts of IPv6 virtual routers: a raw IPv6 socket for protocol 112, bound to the
/// bridge. The kernel writes the IP header (no `IPV6_HDRINCL`, Linux 4.5+): hop limit 255
/// (`IPV6_UNICAST_HOPS`) and, per message, the router's primary as the source (`IPV6_PKTINFO`,
/// which the kernel refuses unless the address is the node's own on the bridge, so the source
/// can never silently differ). The core computed the VRRP checksum over that source and the peer, so no
/// `IPV6_CHECKSUM`: the kernel leaves the message as written. The kernel joins no ff02::12, so
/// multicast adverts keep arriving once, through the TAP.
pub struct Unicast6Socket {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
    buf: Box<[u8]>,
    /// Room for the two control messages we ask for: packet info and hop limit.
    control: Vec<u8>,
}

impl Unicast6Socket {
    /// Opens the socket on `bridge` (where the node's addresses live).
    pub fn open(bridge: &str) -> io::Result<Unicast6Socket> {
        let ifindex = nix::net::if_::if_nametoindex(bridge)?;
        let fd = raw_socket(AddressFamily::Inet6)?;
        setsockopt(&fd, sockopt::Ipv6Ttl, &255)?;
        setsockopt(&fd, sockopt::Ipv6MulticastHops, &255)?;
        setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)?;
        setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)?;
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(bridge))?;
        // SAFETY: as in `UnicastSocket::open`.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Unicast6Socket {
            fd,
            ifindex,
            buf: vec![0; MAX_PACKET].into_boxed_slice(),
            control: nix::cmsg_space!(libc::in6_pktinfo, libc::c_int),
        })
    }

    /// Sends one VRRP message from `src` (the router's primary, one of the bridge's addresses)
    /// to `dst`, a peer's link-local address on the bridge's link.
    pub fn send_to(&self, message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> io::Result<()> {
        let addr = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        sendmsg(
            self.fd.get_ref().as_raw_fd(),
            &[IoSlice::new(message)],
            &[ControlMessage::Ipv6PacketInfo(&info)],
            MsgFlags::MSG_DONTWAIT,
            Some(&addr),
        )?;
        Ok(())
    }

    /// Waits for messages, then hands each queued one to `f`.
    pub async fn recv_with(&mut self, mut f: impl FnMut(Received6)) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let fd = guard.get_inner().as_raw_fd();
            let n = drain6(fd, &mut self.buf, &mut self.control, &mut f)?;
            if n == 0 {
                guard.clear_ready();
            } else {
                return Ok(n);
            }
        }
    }

    /// The socket's descriptor, for a caller's own readiness wait.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Hands every message queued right now to `f`, without waiting.
    pub fn try_recv_with(&mut self, mut f: impl FnMut(Received6)) -> io::Result<usize> {
        let fd = self.fd.get_ref().as_raw_fd();
        drain6(fd, &mut self.buf, &mut self.control, &mut f)
    }
}

/// Reads until the socket would block; returns how many messages went to `f`. Messages without
/// the packet info or hop limit (which we asked for), or cut short, are skipped.
fn drain6(
    fd: RawFd,
    buf: &mut [u8],
    control: &mut [u8],
    f: &mut impl FnMut(Received6),
) -> io::Result<usize> {
    let mut n = 0;
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match recvmsg::<SockaddrIn6>(fd, &mut iov, Some(control), MsgFlags::empty()) {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let (len, src) = (msg.bytes, msg.address.map(|a| a.ip()));
        // `cmsgs` refuses control messages cut short (MSG_CTRUNC).
        let found = msg.cmsgs().ok().map(destination_and_hop_limit);
        if let (Some(src), Some((Some(dst), Some(hop_limit)))) = (src, found)
            && !msg.flags.contains(MsgFlags::MSG_TRUNC)
        {
            f(Received6 {
                src,
                dst,
                hop_limit,
                message: buf[..len].to_vec(),
            });
            n += 1;
        }
    }
}

/// The destination address (`IPV6_PKTINFO`) and hop limit (`IPV6_HOPLIMIT`) among the control
/// messages of one received datagram. A hop limit outside 0..=255 is not one.
fn destination_and_hop_limit(
    cmsgs: impl IntoIterator<Item = ControlMessageOwned>,
) -> (Option<Ipv6Addr>, Option<u8>) {
    let (mut dst, mut hop) = (None, None);
    for c in cmsgs {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            ControlMessageOwned::Ipv6HopLimit(h) => hop = u8::try_from(h).ok(),
            _ => {}
        }
    }
    (dst, hop)
}

/// The VRID of a VRRP message (no IP header: what a raw IPv6 socket hands over).
pub fn vrid_of_message(message: &[u8]) -> Option<u8> {
    message.get(1).copied()
}

#[cfg(test)]
mod tests6 {
    use super::*;

    fn pktinfo(a: Ipv6Addr) -> ControlMessageOwned {
        ControlMessageOwned::Ipv6PacketInfo(libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: a.octets(),
            },
            ipi6_ifindex: 7,
        })
    }

    #[test]
    fn destination_and_hop_limit_in_either_order() {
        let a: Ipv6Addr = "fe80::11".parse().unwrap();
        let c = [pktinfo(a), ControlMessageOwned::Ipv6HopLimit(255)];
        assert_eq!(destination_and_hop_limit(c), (Some(a), Some(255)));
        let c = [
            ControlMessageOwned::Ipv6HopLimit(64),
            ControlMessageOwned::ScmRights(vec![]),
            pktinfo(a),
        ];
        assert_eq!(destination_and_hop_limit(c), (Some(a), Some(64)));
    }

    #[test]
    fn a_missing_or_impossible_control_message_is_not_found() {
        let a: Ipv6Addr = "fe80::11".parse().unwrap();
        assert_eq!(destination_and_hop_limit([]), (None, None));
        assert_eq!(destination_and_hop_limit([pktinfo(a)]), (Some(a), None));
        for h in [256, -1] {
            let c = [ControlMessageOwned::Ipv6HopLimit(h)];
            assert_eq!(destination_and_hop_limit(c), (None, None));
        }
    }

    #[test]
    fn vrid_is_the_second_byte() {
        assert_eq!(vrid_of_message(&[0x31, 10, 100, 1]), Some(10));
        assert_eq!(vrid_of_message(&[0x31]), None);
    }
}
