//! Receiving unicast adverts. With `peers` configured, peers send their adverts to this node's
//! own address, which the kernel owns (it is on the bridge), so they never reach smoltcp on the
//! TAP. A raw IPv4 socket for protocol 112 hands them over, IP header included (the TTL check
//! needs it). The kernel delivers multicast to it only for groups the host joined, and it joins
//! none, so multicast adverts keep arriving once, through the TAP.

use std::io;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Largest advert packet: IPv4 header with options, 8-byte header, 255 addresses, v2 auth.
const MAX_PACKET: usize = 60 + 8 + 4 * 255 + 8;

pub struct UnicastSocket {
    fd: AsyncFd<OwnedFd>,
    buf: Box<[u8]>,
}

impl UnicastSocket {
    pub fn open() -> io::Result<UnicastSocket> {
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(vrrp_core::wire::IP_PROTOCOL),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // We write the IP header (TTL 255, the router's primary as source); the kernel fills in
        // the length, ID and header checksum.
        let one: libc::c_int = 1;
        // SAFETY: setsockopt with a pointer to an int of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_HDRINCL,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
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
    pub fn send_to(&self, packet: &[u8], dst: std::net::Ipv4Addr) -> io::Result<()> {
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(dst).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: sendto with our buffer and a sockaddr_in of the size given.
        let r = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                libc::MSG_DONTWAIT,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
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

fn recv(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: reads into a buffer we own, of the given length.
    let r = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
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
    control: Box<[u8]>,
}

/// Room for the two control messages we ask for (packet info, hop limit), generously aligned.
const CONTROL_LEN: usize = 128;

impl Unicast6Socket {
    /// Opens the socket on `bridge` (where the node's addresses live).
    pub fn open(bridge: &str) -> io::Result<Unicast6Socket> {
        let name = std::ffi::CString::new(bridge).map_err(io::Error::other)?;
        // SAFETY: if_nametoindex reads a NUL-terminated string we own.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET6,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(vrrp_core::wire::IP_PROTOCOL),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let set = |level, name, value: libc::c_int| {
            // SAFETY: setsockopt with a pointer to an int of the size given.
            let r = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    level,
                    name,
                    (&value as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        set(libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 255)?;
        set(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255)?;
        set(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        set(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
        // SAFETY: setsockopt with the interface name's bytes and their length.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                bridge.as_ptr().cast(),
                bridge.len() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as in `UnicastSocket::open`.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Unicast6Socket {
            fd,
            ifindex,
            buf: vec![0; MAX_PACKET].into_boxed_slice(),
            control: vec![0; CONTROL_LEN].into_boxed_slice(),
        })
    }

    /// Sends one VRRP message from `src` (the router's primary, one of the bridge's addresses)
    /// to `dst`, a peer's link-local address on the bridge's link.
    pub fn send_to(&self, message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> io::Result<()> {
        let mut addr: libc::sockaddr_in6 = zeroed_sockaddr_in6();
        addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        addr.sin6_addr.s6_addr = dst.octets();
        addr.sin6_scope_id = self.ifindex;
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        // u64 words keep the buffer aligned for cmsghdr.
        let mut control = [0u64; 8];
        let space = cmsg_space(std::mem::size_of::<libc::in6_pktinfo>());
        let mut iov = libc::iovec {
            iov_base: message.as_ptr() as *mut libc::c_void,
            iov_len: message.len(),
        };
        // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths); fields set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut addr as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer holds `space` bytes (64 >= CMSG_SPACE(20)); CMSG_FIRSTHDR
        // and CMSG_DATA point into it, and we write one in6_pktinfo there, unaligned-safe.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
            (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::in6_pktinfo>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
        }
        // SAFETY: sendmsg with the msghdr built above, whose buffers outlive the call.
        let r = unsafe { libc::sendmsg(self.fd.get_ref().as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
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

    /// Hands every message queued right now to `f`, without waiting.
    pub fn try_recv_with(&mut self, mut f: impl FnMut(Received6)) -> io::Result<usize> {
        let fd = self.fd.get_ref().as_raw_fd();
        drain6(fd, &mut self.buf, &mut self.control, &mut f)
    }
}

fn zeroed_sockaddr_in6() -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is plain data; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

fn cmsg_space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    unsafe { libc::CMSG_SPACE(len as u32) as usize }
}

/// Reads until the socket would block; returns how many messages went to `f`. Messages without
/// the packet info or hop limit (which we asked for) are skipped.
fn drain6(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
    control: &mut [u8],
    f: &mut impl FnMut(Received6),
) -> io::Result<usize> {
    let mut n = 0;
    loop {
        let mut src = zeroed_sockaddr_in6();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid; fields set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut src as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len() as _;
        // SAFETY: recvmsg into buffers we own, of the lengths given.
        let r = unsafe { libc::recvmsg(fd, &mut msg, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(n),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
        let len = (msg.msg_controllen as usize).min(control.len());
        let (dst, hop_limit) = parse_control(&control[..len]);
        if let (Some(dst), Some(hop_limit)) = (dst, hop_limit)
            && msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) == 0
        {
            f(Received6 {
                src: Ipv6Addr::from(src.sin6_addr.s6_addr),
                dst,
                hop_limit,
                message: buf[..r as usize].to_vec(),
            });
            n += 1;
        }
    }
}

/// The destination address (`IPV6_PKTINFO`) and hop limit (`IPV6_HOPLIMIT`) in the control
/// messages of one received datagram, read from the bytes as the kernel lays them out (a
/// `cmsghdr`, then the data, each padded to the alignment of `size_t`). Anything malformed ends
/// the walk with what was found so far.
fn parse_control(control: &[u8]) -> (Option<Ipv6Addr>, Option<u8>) {
    const WORD: usize = std::mem::size_of::<usize>();
    const HDR: usize = std::mem::size_of::<libc::cmsghdr>();
    let align = |n: usize| n.checked_add(WORD - 1).map(|n| n & !(WORD - 1));
    let int = |b: &[u8]| -> Option<i32> { Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?)) };
    let (mut dst, mut hop) = (None, None);
    let mut at = 0;
    while let Some(hdr) = control.get(at..).and_then(|c| c.get(..HDR)) {
        let Ok(len) = hdr[..WORD].try_into().map(usize::from_ne_bytes) else {
            break;
        };
        let (Some(level), Some(kind)) = (int(&hdr[WORD..]), int(&hdr[WORD + 4..])) else {
            break;
        };
        let Some(data) = len
            .checked_sub(HDR)
            .and_then(|dlen| control.get(at + HDR..)?.get(..dlen))
        else {
            break;
        };
        match (level, kind) {
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                if let Some(a) = data.get(..16).and_then(|a| <[u8; 16]>::try_from(a).ok()) {
                    dst = Some(Ipv6Addr::from(a));
                }
            }
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                hop = int(data).and_then(|h| u8::try_from(h).ok());
            }
            _ => {}
        }
        match align(len).and_then(|l| at.checked_add(l.max(HDR))) {
            Some(next) => at = next,
            None => break,
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

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        const WORD: usize = std::mem::size_of::<usize>();
        let hdr = std::mem::size_of::<libc::cmsghdr>();
        let mut v = (hdr + data.len()).to_ne_bytes()[..WORD].to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.resize(hdr, 0);
        v.extend_from_slice(data);
        while !v.len().is_multiple_of(WORD) {
            v.push(0);
        }
        v
    }

    fn pktinfo(a: Ipv6Addr) -> Vec<u8> {
        let mut d = a.octets().to_vec();
        d.extend_from_slice(&7i32.to_ne_bytes());
        cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &d)
    }

    fn hoplimit(h: i32) -> Vec<u8> {
        cmsg(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &h.to_ne_bytes())
    }

    #[test]
    fn destination_and_hop_limit_in_either_order() {
        let a: Ipv6Addr = "fe80::11".parse().unwrap();
        let c = [pktinfo(a), hoplimit(255)].concat();
        assert_eq!(parse_control(&c), (Some(a), Some(255)));
        let c = [
            hoplimit(64),
            cmsg(libc::SOL_SOCKET, 1, &[1, 2, 3]),
            pktinfo(a),
        ]
        .concat();
        assert_eq!(parse_control(&c), (Some(a), Some(64)));
    }

    #[test]
    fn malformed_control_messages_end_the_walk() {
        let a: Ipv6Addr = "fe80::11".parse().unwrap();
        let good = [pktinfo(a), hoplimit(255)].concat();
        // Every truncation: no panic, and never a value that was not there.
        for n in 0..good.len() {
            let (d, h) = parse_control(&good[..n]);
            assert!(d.is_none() || d == Some(a));
            assert!(h.is_none() || h == Some(255));
        }
        // A length shorter than the header, a huge one, zero: no panic, no loop.
        for len in [0usize, 1, 15, usize::MAX, usize::MAX - 3] {
            let mut c = pktinfo(a);
            c[..std::mem::size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(parse_control(&c), (None, None));
        }
        // A hop limit out of range, a packet info too short.
        assert_eq!(parse_control(&hoplimit(256)), (None, None));
        assert_eq!(parse_control(&hoplimit(-1)), (None, None));
        let short = cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &[0xfe, 0x80]);
        assert_eq!(parse_control(&short), (None, None));
        assert_eq!(parse_control(&[]), (None, None));
    }

    #[test]
    fn vrid_is_the_second_byte() {
        assert_eq!(vrid_of_message(&[0x31, 10, 100, 1]), Some(10));
        assert_eq!(vrid_of_message(&[0x31]), None);
    }
}
