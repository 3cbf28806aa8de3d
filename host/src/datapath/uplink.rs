//! Periodic adverts straight onto the uplink, past the bridge.
//!
//! A frame that smoltcp writes into the TAP enters the bridge as if it came from a port: the
//! kernel runs the TAP's receive path, the bridge's input and forwarding, then the uplink's
//! transmit, all inside vrrpd's write (about a third of an Active's CPU at I = 10 ms). A
//! multicast advert has nowhere to go but the uplink, so it is written there directly with a
//! packet socket bound to the uplink: the uplink's transmit only. It still leaves through the
//! uplink's egress hook, where the fast path renews the router's lease ([`super::fastpath`]).
//!
//! Every other frame keeps the TAP: ARP and neighbour replies for the VIPs and gratuitous ARPs
//! must teach the bridge that the virtual MAC lives behind the TAP (frames for it from the LAN
//! must reach smoltcp), and membership reports are rewritten on the way ([`super::tap`]). So
//! that a frame from the virtual MAC arriving on the uplink (the last advert of the Active we
//! took over from) cannot leave the bridge believing the MAC is out there for long, one advert
//! per router every [`TAP_EVERY`] still goes through the TAP.
//!
//! The socket is opened with protocol 0: it receives nothing, so it costs nothing on the way in.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

/// How often a router's advert still goes through the TAP, to keep the bridge's forwarding
/// entry for its virtual MAC on the TAP.
pub const TAP_EVERY: Duration = Duration::from_secs(1);

/// An advert to the VRRP multicast group, as a frame: IPv4 to 224.0.0.18 or IPv6 to ff02::12,
/// protocol / next header 112 (RFC 9568 §5.1). Unicast adverts go through the kernel's raw
/// sockets, not through smoltcp's device.
pub fn is_multicast_advert(frame: &[u8]) -> bool {
    const V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
    const V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
    match (frame.get(..6), frame.get(12..14)) {
        (Some(dst), Some([0x08, 0x00])) if dst == V4 => frame.get(23) == Some(&112),
        (Some(dst), Some([0x86, 0xdd])) if dst == V6 => frame.get(20) == Some(&112),
        _ => false,
    }
}

/// The uplink's packet socket, and when each virtual MAC's advert last went through the TAP.
#[derive(Debug)]
pub struct Uplink {
    fd: OwnedFd,
    via_tap: Vec<([u8; 6], Instant)>,
}

impl Uplink {
    /// Opens the socket on interface `name` (needs `CAP_NET_RAW`).
    pub fn open(name: &str) -> io::Result<Uplink> {
        let index = nix::net::if_::if_nametoindex(name)?;
        // SAFETY: plain socket(2); the descriptor is owned from here on. nix's `socket` would do,
        // but binding needs a `sockaddr_ll`, which nix cannot build.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_ifindex = index as libc::c_int;
        // SAFETY: `addr` is a valid sockaddr_ll of the length given.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Uplink {
            fd,
            via_tap: Vec::new(),
        })
    }

    /// Whether `frame` should leave on the uplink directly, at `now`: a multicast advert whose
    /// source MAC had an advert through the TAP less than [`TAP_EVERY`] ago. Otherwise the
    /// caller writes it into the TAP (and this notes when, for an advert).
    pub fn takes(&mut self, frame: &[u8], now: Instant) -> bool {
        if !is_multicast_advert(frame) {
            return false;
        }
        let Some(src) = frame.get(6..12).and_then(|s| <[u8; 6]>::try_from(s).ok()) else {
            return false;
        };
        match self.via_tap.iter_mut().find(|(mac, _)| *mac == src) {
            Some((_, last)) if now.duration_since(*last) < TAP_EVERY => true,
            Some((_, last)) => {
                *last = now;
                false
            }
            None => {
                self.via_tap.push((src, now));
                false
            }
        }
    }

    /// Sends `frame` (destination MAC first) as it is.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            match nix::sys::socket::send(
                self.fd.as_raw_fd(),
                frame,
                nix::sys::socket::MsgFlags::empty(),
            ) {
                Ok(n) if n == frame.len() => return Ok(()),
                Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short send")),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
    const V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];

    fn frame(dst: [u8; 6], ethertype: [u8; 2], len: usize, at: usize, proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&[0x00, 0x00, 0x5e, 0x00, 0x01, 0x07]);
        f[12..14].copy_from_slice(&ethertype);
        f[at] = proto;
        f
    }

    #[test]
    fn only_multicast_adverts_leave_on_the_uplink() {
        assert!(is_multicast_advert(&frame(V4, [0x08, 0x00], 54, 23, 112)));
        assert!(is_multicast_advert(&frame(V6, [0x86, 0xdd], 74, 20, 112)));
        // IGMP to the same group (a membership report), an ARP, a unicast frame.
        assert!(!is_multicast_advert(&frame(V4, [0x08, 0x00], 54, 23, 2)));
        assert!(!is_multicast_advert(&frame(V4, [0x08, 0x06], 54, 23, 112)));
        let unicast = [0x02, 0, 0, 0, 0, 1];
        assert!(!is_multicast_advert(&frame(
            unicast,
            [0x08, 0x00],
            54,
            23,
            112
        )));
        // The IPv4 group's MAC with an IPv6 EtherType, and frames too short to tell.
        assert!(!is_multicast_advert(&frame(V4, [0x86, 0xdd], 74, 20, 112)));
        assert!(!is_multicast_advert(&V4));
        assert!(!is_multicast_advert(&frame(V4, [0x08, 0x00], 23, 22, 112)));
    }

    /// Needs no privilege: the schedule alone, on a socket that is never used.
    #[test]
    fn one_advert_per_router_and_second_goes_through_the_tap() {
        let Ok(mut up) = Uplink::open("lo") else {
            println!("skipped: no packet socket here (CAP_NET_RAW)");
            return;
        };
        let advert = frame(V4, [0x08, 0x00], 54, 23, 112);
        let mut other = advert.clone();
        other[11] = 0x08;
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // The first advert of each router goes through the TAP, the next ones do not...
        assert!(!up.takes(&advert, at(0)));
        assert!(!up.takes(&other, at(5)));
        assert!(up.takes(&advert, at(10)));
        assert!(up.takes(&advert, at(999)));
        assert!(up.takes(&other, at(1004)));
        // ...until a second has passed, router by router.
        assert!(!up.takes(&advert, at(1000)));
        assert!(up.takes(&advert, at(1010)));
        assert!(!up.takes(&other, at(1005)));
        // Anything but a multicast advert always goes through the TAP.
        let igmp = frame(V4, [0x08, 0x00], 54, 23, 2);
        assert!(!up.takes(&igmp, at(1020)));
    }
}
