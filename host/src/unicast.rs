//! Receiving unicast adverts. With `peers` configured, peers send their adverts to this node's
//! own address, which the kernel owns (it is on the bridge), so they never reach smoltcp on the
//! TAP. A raw IPv4 socket for protocol 112 hands them over, IP header included (the TTL check
//! needs it). The kernel delivers multicast to it only for groups the host joined, and it joins
//! none, so multicast adverts keep arriving once, through the TAP.

use std::io;
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
