//! Periodic adverts straight onto the uplink, past the TAP and the bridge.
//!
//! A frame that smoltcp writes into the TAP enters the bridge as if it came from a port: inside
//! vrrpd's write the kernel runs the TAP's receive path, the bridge's input, its forwarding and
//! the uplink's transmit. A multicast advert has nowhere to go but the uplink, so it is sent
//! there directly, from a packet socket bound to the uplink: the uplink's transmit only. It
//! still leaves through the uplink's egress hook, where the fast path renews the router's lease
//! ([`super::fastpath`]).
//!
//! What the bridge no longer sees, it no longer learns: an advert through the TAP taught the
//! bridge that the virtual MAC lives behind the TAP, and a frame from that MAC arriving on the
//! uplink (the last advert of the Active this router took over from) moves the bridge's entry
//! to the uplink. With the adverts gone from the bridge, the entry would stay there, and frames
//! from the LAN for the virtual MAC that the fast path leaves to the bridge (unicast ARP and
//! neighbour probes, VIP traffic in relay mode) would be dropped as "already on their port".
//! So before the first advert of a virtual MAC leaves this way, the bridge gets a static,
//! sticky forwarding entry for it on the TAP (`bridge fdb add <MAC> dev <TAP> master static
//! sticky`, over rtnetlink): no frame can move it, and it goes with the TAP when vrrpd exits.
//! A MAC whose entry could not be made keeps its adverts in the TAP.
//!
//! Every other frame keeps the TAP: ARP and neighbour answers, gratuitous ARPs and unsolicited
//! neighbour advertisements, membership reports. The socket is opened with protocol 0: it
//! receives nothing, so it costs nothing on the way in.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

/// The kernel answers before `send` returns; this only bounds a kernel that does not.
const ACK_WAIT: Duration = Duration::from_secs(1);

/// What became of a virtual MAC's forwarding entry on the TAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pin {
    Made,
    /// The kernel refused it: this MAC's adverts keep going through the TAP.
    Refused,
}

/// The uplink's packet socket, and the virtual MACs pinned to the TAP in the bridge.
#[derive(Debug)]
pub struct UplinkTx {
    fd: OwnedFd,
    route: Socket,
    seq: u32,
    tap_index: u32,
    pins: Vec<([u8; 6], Pin)>,
}

impl UplinkTx {
    /// Opens the packet socket on interface `uplink` (needs `CAP_NET_RAW`) and the rtnetlink
    /// socket that pins virtual MACs to the TAP `tap` (`CAP_NET_ADMIN`).
    pub fn open(uplink: &str, tap: &str) -> io::Result<UplinkTx> {
        let index = nix::net::if_::if_nametoindex(uplink)?;
        let tap_index = nix::net::if_::if_nametoindex(tap)?;
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
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
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
        let mut route = Socket::new(NETLINK_ROUTE)?;
        route.bind_auto()?;
        route.connect(&SocketAddr::new(0, 0))?;
        let wait = TimeVal::new(ACK_WAIT.as_secs() as _, 0);
        setsockopt(&route, sockopt::ReceiveTimeout, &wait)?;
        Ok(UplinkTx {
            fd,
            route,
            seq: 0,
            tap_index,
            pins: Vec::new(),
        })
    }

    /// Whether `frame` leaves on the uplink directly: a multicast advert whose source (the
    /// virtual MAC) is pinned to the TAP, pinning it first if it is new. Otherwise the caller
    /// writes it into the TAP. `Err` (once per MAC): the kernel refused the pin.
    pub fn takes(&mut self, frame: &[u8]) -> io::Result<bool> {
        if !vrrp_core::net::is_group_advert(frame) {
            return Ok(false);
        }
        let Some(src) = frame.get(6..12).and_then(|s| <[u8; 6]>::try_from(s).ok()) else {
            return Ok(false);
        };
        if let Some((_, pin)) = self.pins.iter().find(|(mac, _)| *mac == src) {
            return Ok(*pin == Pin::Made);
        }
        let r = self.pin(src);
        let pin = if r.is_ok() { Pin::Made } else { Pin::Refused };
        self.pins.push((src, pin));
        r.map(|()| true)
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

    /// `bridge fdb add <mac> dev <TAP> master static sticky`, replacing any entry the bridge
    /// learned for `mac`.
    fn pin(&mut self, mac: [u8; 6]) -> io::Result<()> {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Bridge;
        m.header.ifindex = self.tap_index;
        // Static: NUD_PERMANENT would make it the bridge's own address, delivered to the host.
        m.header.state = NeighbourState::Noarp;
        m.header.flags = NeighbourFlags::Controller | NeighbourFlags::Sticky;
        m.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        self.seq = self.seq.wrapping_add(1);
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(m));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        req.header.sequence_number = self.seq;
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.route.send(&buf, 0)?;
        let mut rx = vec![0u8; 4096];
        loop {
            let n = self.route.recv(&mut &mut rx[..], 0)?;
            let mut at = 0;
            while at < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[at..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if msg.header.sequence_number == self.seq
                    && let NetlinkPayload::Error(e) = msg.payload
                {
                    return match e.code {
                        None => Ok(()),
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                    };
                }
                if len == 0 {
                    break;
                }
                at += len;
            }
        }
    }
}
