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
                // SAFETY: reads into our own buffer of the given length.
                let r = unsafe {
                    libc::recv(
                        guard.get_inner().as_raw_fd(),
                        self.buf.as_mut_ptr().cast(),
                        self.buf.len(),
                        0,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => {
                            guard.clear_ready();
                            break;
                        }
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(e),
                    }
                }
                f(&self.buf[..r as usize]);
                n += 1;
            }
            if n > 0 {
                return Ok(n);
            }
        }
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
