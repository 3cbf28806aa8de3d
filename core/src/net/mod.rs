//! The smoltcp binding: one [`VirtualRouter`] on one `smoltcp::iface::Interface` over any
//! `smoltcp::phy::Device`.
//!
//! Adverts arrive through a raw socket for IP protocol 112; the binding writes the frames of
//! its own adverts itself and hands them to the device: to the VRRP group, or to each unicast
//! peer at the MAC it learned from that peer's ARP or Neighbor Discovery (see `peers`). The VIPs
//! are interface addresses only while the router is Active, so smoltcp itself answers ARP or
//! Neighbor Solicitations for them exactly then. The virtual MAC (00:00:5e:00:01:VRID for IPv4,
//! 00:00:5e:00:02:VRID for IPv6) is the source of the adverts and of those answers; once the
//! driver names the node's own MAC ([`Stack::set_node_mac`]) every other frame leaves with that
//! one (see `mac`).
//! This is the only module that names smoltcp types: the state machine stays on `core::net`
//! addresses so that an adapter for another smoltcp version (embassy-net) remains possible.

mod announce;
#[cfg(feature = "ipv6")]
mod any;
mod due;
mod family;
mod mac;
mod peers;

use core::net::Ipv4Addr;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{Device, RxToken, TxToken};
use smoltcp::socket::raw;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetRepr, HardwareAddress, IpCidr, IpProtocol,
};

use crate::Instant;
use crate::config::{Config, ConfigError};
use crate::router::{Action, Reason, State, Takeover, VirtualRouter};
use crate::wire::{self, Address, DropReason};

use due::Due;
use family::{Received, Verdict};
use mac::{Macs, OneFrame};
use peers::Peer;

pub use announce::gratuitous_arp;
#[cfg(feature = "ipv6")]
pub use announce::unsolicited_na;
#[cfg(feature = "ipv6")]
pub use any::{AnyConfig, AnyStack};
pub use family::{NetAddress, is_group_advert};

/// Largest IPv4 advertisement packet: 20 (IPv4) + 8 + 4 x 255 + 8 (v2 auth). An IPv6 router
/// with as many addresses needs bigger buffers (see [`RawBuffers`]).
const MAX_PACKET: usize = 20 + 8 + 4 * 255 + 8;
/// Raw socket receive queue depth. Ingress is drained after every frame, so two suffice.
const QUEUE: usize = 4;

/// Default payload bytes: four received IPv4 adverts of the largest size (255 addresses), or
/// IPv6 ones with up to 62 addresses.
pub const DEFAULT_PAYLOAD: usize = QUEUE * MAX_PACKET;

/// Receive buffers of the raw socket (no allocation). Pair them with [`SocketResources`]. The
/// socket sends nothing: the binding writes its adverts to the device itself.
///
/// `PAYLOAD` is the bytes of adverts the socket holds. The default fits four adverts of any
/// size; a router with `n` IPv4 VIPs needs `4 * (28 + 4 * n)` (e.g. `RawBuffers<128>` for one
/// VIP), one with `n` IPv6 VIPs `4 * (48 + 16 * n)`, which is what a RAM-tight board should use.
pub struct RawBuffers<const PAYLOAD: usize> {
    rx_meta: [raw::PacketMetadata; QUEUE],
    rx_payload: [u8; PAYLOAD],
}

/// [`RawBuffers`] of the default size.
pub type Buffers = RawBuffers<DEFAULT_PAYLOAD>;

impl<const PAYLOAD: usize> RawBuffers<PAYLOAD> {
    pub const fn new() -> Self {
        RawBuffers {
            rx_meta: [raw::PacketMetadata::EMPTY; QUEUE],
            rx_payload: [0; PAYLOAD],
        }
    }
}

impl<const PAYLOAD: usize> Default for RawBuffers<PAYLOAD> {
    fn default() -> Self {
        Self::new()
    }
}

/// The socket table; it refers to the [`Buffers`], hence the two parts (as in embassy-net).
///
/// `SOCKETS` slots: one is the VRRP raw socket; a firmware can add its own sockets (a service on
/// the VIP) to the same interface through [`Stack::sockets_mut`].
pub struct SocketResources<'a, const SOCKETS: usize> {
    sockets: [SocketStorage<'a>; SOCKETS],
}

/// [`SocketResources`] with the VRRP socket only.
pub type Resources<'a> = SocketResources<'a, 1>;

impl<const SOCKETS: usize> SocketResources<'_, SOCKETS> {
    pub const fn new() -> Self {
        SocketResources {
            sockets: [SocketStorage::EMPTY; SOCKETS],
        }
    }
}

impl<const SOCKETS: usize> Default for SocketResources<'_, SOCKETS> {
    fn default() -> Self {
        Self::new()
    }
}

/// What happened during a [`Stack::poll`], for logs, metrics and the simulator's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<A = Ipv4Addr> {
    StateChange {
        from: State,
        to: State,
        reason: Reason,
    },
    /// An advert left, one per destination. None for a unicast peer whose MAC is not known yet:
    /// the binding asks for it instead.
    AdvertSent {
        priority: u8,
    },
    AdvertReceived {
        source: A,
        priority: u8,
    },
    Dropped {
        reason: DropReason,
    },
    /// Gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) written for the VIPs (`frames` in all).
    Announced {
        frames: u16,
    },
    AddressMismatch {
        source: A,
    },
    /// A frame addressed to a VIP that this router may not accept (Accept_Mode off).
    NotAccepted,
    /// The device had no transmit buffer for a frame the router wanted to send.
    TxDropped,
    /// With [`Stack::set_unicast_delegate`]: send this advert to `dst` yourself
    /// ([`Stack::write_advert`] builds it).
    UnicastAdvert {
        priority: u8,
        dst: A,
    },
}

impl<A> Event<A> {
    /// The same event with its address (if any) mapped: a driver that runs routers of both
    /// families reports them as `Event<core::net::IpAddr>` with `map_addr(Into::into)`.
    pub fn map_addr<B>(self, f: impl FnOnce(A) -> B) -> Event<B> {
        match self {
            Event::StateChange { from, to, reason } => Event::StateChange { from, to, reason },
            Event::AdvertSent { priority } => Event::AdvertSent { priority },
            Event::AdvertReceived { source, priority } => Event::AdvertReceived {
                source: f(source),
                priority,
            },
            Event::Dropped { reason } => Event::Dropped { reason },
            Event::Announced { frames } => Event::Announced { frames },
            Event::AddressMismatch { source } => Event::AddressMismatch { source: f(source) },
            Event::NotAccepted => Event::NotAccepted,
            Event::TxDropped => Event::TxDropped,
            Event::UnicastAdvert { priority, dst } => Event::UnicastAdvert {
                priority,
                dst: f(dst),
            },
        }
    }
}

/// The virtual MAC of an IPv4 virtual router (RFC 9568 §7.3).
pub const fn virtual_mac(vrid: u8) -> EthernetAddress {
    virtual_mac_of::<Ipv4Addr>(vrid)
}

/// The virtual MAC of a virtual router of family `A` (RFC 9568 §7.3).
pub const fn virtual_mac_of<A: Address>(vrid: u8) -> EthernetAddress {
    EthernetAddress(wire::virtual_mac_octets::<A>(vrid))
}

pub(crate) fn smol_instant(now: Instant) -> SmolInstant {
    SmolInstant::from_micros(now.as_micros() as i64)
}

/// One virtual router running on a smoltcp interface.
pub struct Stack<'a, const N: usize, A: NetAddress = Ipv4Addr> {
    router: VirtualRouter<N, A>,
    iface: Interface,
    sockets: SocketSet<'a>,
    raw: SocketHandle,
    /// The addresses smoltcp answers for are the VIPs exactly while this is true.
    claimed: bool,
    /// smoltcp also owns the primary address (see [`Stack::set_own_primary`]).
    own_primary: bool,
    /// Unicast adverts go to the driver (see [`Stack::set_unicast_delegate`]).
    unicast_delegate: bool,
    /// Why the router last took over on its own (see [`Stack::last_takeover`]).
    takeover: Option<Takeover<A>>,
    /// Set by [`Stack::set_node_mac`]; until then the interface has the virtual MAC alone.
    macs: Option<Macs>,
    /// What the binding knows of each of `config.peers`, by index.
    peers: [Peer; N],
    /// Whether smoltcp's egress has work (see `due`).
    due: Due,
}

/// [`Stack::set_node_mac`] refused a MAC that is not unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotUnicast;

/// Addresses a smoltcp interface holds in this build (`iface-max-addr-count-8`).
pub const MAX_INTERFACE_ADDRS: usize = 8;

impl<'a, const N: usize, A: NetAddress> Stack<'a, N, A> {
    /// Builds the interface with the virtual MAC, joins 224.0.0.18 (or ff02::12) and opens the
    /// raw socket.
    /// The router stays in Initialize until [`startup`](Self::startup).
    pub fn new<D: Device + ?Sized, const SOCKETS: usize, const PAYLOAD: usize>(
        config: Config<N, A>,
        device: &mut D,
        resources: &'a mut SocketResources<'a, SOCKETS>,
        buffers: &'a mut RawBuffers<PAYLOAD>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        let vrid = config.vrid;
        // One interface slot may go to the primary address (set_own_primary).
        if config.vips.len() >= MAX_INTERFACE_ADDRS {
            return Err(ConfigError::TooManyVips);
        }
        let router = VirtualRouter::new(config)?;
        let mut iface_config =
            IfaceConfig::new(HardwareAddress::Ethernet(virtual_mac_of::<A>(vrid)));
        iface_config.random_seed = u64::from(vrid);
        let mut iface = Interface::new(iface_config, device, smol_instant(now));
        // The group table has room for four; joining one group on a fresh interface cannot fail.
        let _ = iface.join_multicast_group(A::MULTICAST);
        let RawBuffers {
            rx_meta,
            rx_payload,
        } = buffers;
        let socket = raw::Socket::new(
            Some(A::IP_VERSION),
            Some(IpProtocol::Unknown(wire::IP_PROTOCOL)),
            raw::PacketBuffer::new(&mut rx_meta[..], &mut rx_payload[..]),
            raw::PacketBuffer::new(&mut [][..], &mut [][..]),
        );
        let mut sockets = SocketSet::new(&mut resources.sockets[..]);
        let raw = sockets.add(socket);
        Ok(Stack {
            router,
            iface,
            sockets,
            raw,
            claimed: false,
            own_primary: false,
            unicast_delegate: false,
            takeover: None,
            macs: None,
            peers: [Peer::UNKNOWN; N],
            due: Due::new(),
        })
    }

    /// Makes smoltcp own the primary address as well, with the VIPs' prefix: it then answers
    /// ARP for it (with the virtual MAC) and accepts unicast adverts sent to it. For a node whose
    /// only stack is this one (firmware, the simulator). A Linux host, whose kernel owns that
    /// address, leaves it off and hands unicast adverts to [`handle_ipv4`](Self::handle_ipv4).
    pub fn set_own_primary(&mut self, own: bool) {
        self.own_primary = own;
        self.refresh_addrs();
    }

    /// The node's own MAC (its NIC's), the source of every frame but the Active's adverts and
    /// its answers and announcements for the VIPs, which keep the virtual MAC (RFC 9568 §7.3).
    /// The stack then receives frames sent to either MAC.
    ///
    /// Call it before [`startup`](Self::startup) on any segment with a learning switch. Until
    /// it is called every frame leaves with the virtual MAC, a Backup's ARP and membership
    /// reports included, and each of those moves the switch's entry for the virtual MAC to the
    /// Backup's port: the VIP's traffic goes there and is dropped while the Active is healthy.
    pub fn set_node_mac(&mut self, mac: EthernetAddress) -> Result<(), NotUnicast> {
        if !mac.is_unicast() {
            return Err(NotUnicast);
        }
        self.macs = Some(Macs {
            node: mac,
            virtual_mac: virtual_mac_of::<A>(self.router.config().vrid),
        });
        self.iface.set_hardware_addr(HardwareAddress::Ethernet(mac));
        self.due.touch();
        Ok(())
    }

    /// Hands unicast adverts (to configured peers) to the driver as [`Event::UnicastAdvert`]
    /// instead of sending them through smoltcp. A Linux host sends them through the kernel:
    /// they are addressed to the peers' own addresses, which the kernel resolves with the node's
    /// real MAC and primary address, where smoltcp could only ARP from a VIP (a source the peers'
    /// kernels refuse as martian while they hold the VIP themselves).
    pub fn set_unicast_delegate(&mut self, delegate: bool) {
        self.unicast_delegate = delegate;
    }

    /// The socket set, for sockets of the firmware's own next to the VRRP one (room comes from
    /// [`SocketResources`]' `SOCKETS`). [`poll`](Self::poll) services them all.
    pub fn sockets_mut(&mut self) -> &mut SocketSet<'a> {
        self.due.touch();
        &mut self.sockets
    }

    pub fn router(&self) -> &VirtualRouter<N, A> {
        &self.router
    }

    pub fn interface(&self) -> &Interface {
        &self.iface
    }

    /// Why the router last became Active for [`Reason::ActiveDown`]: read it when its
    /// [`Event::StateChange`] arrives.
    pub fn last_takeover(&self) -> Option<&Takeover<A>> {
        self.takeover.as_ref()
    }

    /// Leaves Initialize; the resulting actions run at the next [`poll`](Self::poll).
    pub fn startup(&mut self, now: Instant) {
        self.router.startup(now);
    }

    /// Health tracking: see [`VirtualRouter::set_priority`].
    pub fn set_priority(&mut self, now: Instant, priority: u8) {
        self.router.set_priority(now, priority);
    }

    /// Sends the priority-0 advert (if Active), releases the VIPs and returns to Initialize,
    /// flushing the advert to the device before returning.
    pub fn shutdown<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        self.router.shutdown(now);
        self.apply_actions(now, device, on_event);
        self.egress(now, device);
    }

    /// When [`poll`](Self::poll) next has work, if nothing arrives before.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let smol = match self.due.known(now) {
            Some(at) => at,
            None => self.smol_poll_at(now),
        };
        match (self.router.poll_timeout(), smol) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether [`poll`](Self::poll) has work at `now` besides the frames the device holds: a
    /// timer due, an action queued (by [`startup`](Self::startup),
    /// [`set_priority`](Self::set_priority)), smoltcp's egress due, a peer to ask for. A driver
    /// that hands the stack its frames itself ([`poll_ingress`](Self::poll_ingress)) calls `poll`
    /// only when this is true: a Backup's turn that only heard an advert then costs no poll.
    /// Unlike [`poll_at`](Self::poll_at) it is true for as long as a membership report may be
    /// pending, which `poll_at` does not show (see `due`).
    pub fn wants_poll(&self, now: Instant) -> bool {
        self.router.has_actions()
            || self.router.poll_timeout().is_some_and(|t| t <= now)
            || self.due.is_due(now)
            || self.peers_unasked()
    }

    /// Whether [`resolve_peers`](Self::resolve_peers) would ask for a peer.
    fn peers_unasked(&self) -> bool {
        let config = self.router.config();
        !self.unicast_delegate
            && self.router.state() != State::Initialize
            && config
                .peers
                .iter()
                .zip(&self.peers)
                .any(|(&addr, p)| addr != config.primary && p.unasked())
    }

    fn smol_poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(smol_instant(now), &self.sockets)
            .map(|t| Instant::from_micros(t.total_micros().max(0) as u64))
    }

    /// Processes every frame the device has queued, one at a time so that each advert reaches
    /// the router before the next frame is read; then fires the router's due timers once; then
    /// transmits. This order is what makes a thawed router act on what it missed rather than on
    /// its overdue timers.
    pub fn poll<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        self.poll_ingress(now, device, on_event);
        if self.router.poll_timeout().is_some_and(|t| t <= now)
            && let Some(t) = self.router.handle_timeout(now)
        {
            self.takeover = Some(t);
        }
        self.apply_actions(now, device, on_event);
        self.resolve_peers(now, device);
        if self.due.is_due(now) {
            self.egress(now, device);
        }
    }

    /// Only the ingress half of [`poll`](Self::poll): every queued frame, no timers. A driver
    /// whose device holds fewer frames than the kernel has queued (a thawed daemon reading a
    /// TAP in batches) calls this per batch, then `poll` once the queue is empty.
    pub fn poll_ingress<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        let ts = smol_instant(now);
        let caps = device.capabilities();
        // The binding reads each frame itself, so that it can set the interface's address for
        // that frame before smoltcp processes it (see `mac`).
        loop {
            let Some((rx, tx)) = device.receive(ts) else {
                break;
            };
            let refuse = self.router.state() == State::Active && !self.router.accepts_any();
            let (router, peers) = (&mut self.router, &mut self.peers);
            let (iface, sockets, macs) = (&mut self.iface, &mut self.sockets, self.macs);
            let due = &mut self.due;
            let meta = rx.meta();
            let (verdict, heard) = rx.consume(|frame| {
                // The periodic multicast advert, the frame a Backup reads every interval, goes
                // to the router without smoltcp (see `NetAddress::multicast_advert`).
                if let Some(advert) = A::multicast_advert(frame, &caps.checksum)
                    && !A::is_directed_broadcast(iface.ip_addrs(), advert.src)
                {
                    take_advert(router, peers, now, Ok(advert), on_event);
                    return (Verdict::Ignore, None);
                }
                let config = router.config();
                let (vips, unicast) = (&config.vips, !config.peers.is_empty());
                let heard = if unicast { A::neighbor(frame) } else { None };
                let verdict = A::inspect(frame, vips, refuse);
                if verdict == Verdict::Pass {
                    // The interface keeps the node's MAC; the virtual one is lent only for the
                    // frames that need it, so most frames cost no address change.
                    let lent = macs.filter(|m| m.for_frame(frame, vips) == m.virtual_mac);
                    if let Some(m) = lent {
                        iface.set_hardware_addr(HardwareAddress::Ethernet(m.virtual_mac));
                    }
                    due.ingress(frame, now);
                    iface.poll_maintenance(ts);
                    let mut one = OneFrame::new(frame, meta, tx, caps.clone());
                    iface.poll_ingress_single(ts, &mut one, sockets);
                    if let Some(m) = lent {
                        iface.set_hardware_addr(HardwareAddress::Ethernet(m.node));
                    }
                }
                (verdict, heard)
            });
            if verdict == Verdict::Refuse {
                on_event(Event::NotAccepted);
            }
            if let Some((addr, mac)) = heard {
                self.learn(addr, mac);
            }
            // Only smoltcp's ingress fills the raw socket.
            if verdict == Verdict::Pass {
                self.receive_adverts(now, on_event);
            }
            self.apply_actions(now, device, on_event);
        }
    }

    fn egress<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D) {
        let ts = smol_instant(now);
        while self.iface.poll_egress(ts, device, &mut self.sockets)
            != smoltcp::iface::PollResult::None
        {}
        let at = self.smol_poll_at(now);
        self.due.done(at);
    }

    fn receive_adverts(&mut self, now: Instant, on_event: &mut impl FnMut(Event<A>)) {
        let own = self.own_primary.then_some(self.router.config().primary);
        let socket = self.sockets.get_mut::<raw::Socket>(self.raw);
        while let Ok(packet) = socket.recv() {
            let received = A::parse(packet);
            // smoltcp hands the raw socket every packet that reached the interface's MAC,
            // whatever its destination, and every router of a VRID has the same virtual MAC:
            // a unicast advert to another member of the VRID is not ours to hear.
            if let Ok(r) = &received
                && r.dst != A::MULTICAST
                && Some(r.dst) != own
            {
                continue;
            }
            take_advert(&mut self.router, &mut self.peers, now, received, on_event);
        }
    }

    fn apply_actions<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        while let Some(action) = self.router.poll_action() {
            match action {
                Action::StateChange { from, to, reason } => {
                    if to == State::Active {
                        self.peers.iter_mut().for_each(Peer::retry_now);
                    }
                    on_event(Event::StateChange { from, to, reason })
                }
                Action::SendAdvert { priority } => {
                    // Multicast, or unicast to every configured peer (never a silent fallback
                    // to multicast when peers are configured).
                    let config = self.router.config();
                    if config.peers.is_empty() {
                        let sent =
                            self.send_advert(now, device, priority, A::MULTICAST, A::MULTICAST_MAC);
                        on_event(advert_event(sent, priority));
                        continue;
                    }
                    let retry = Some(peers::retry(config.adver_interval));
                    for i in 0..config.peers.len() {
                        let dst = self.router.config().peers[i];
                        // A peer list shared by all nodes names this one too: skip it.
                        if dst == self.router.config().primary {
                            continue;
                        }
                        if self.unicast_delegate {
                            on_event(Event::UnicastAdvert { priority, dst });
                            continue;
                        }
                        if let Some(mac) = self.peers[i].mac {
                            let sent = self.send_advert(now, device, priority, dst, mac);
                            on_event(advert_event(sent, priority));
                        } else if self.peers[i].ask(now, retry) {
                            self.solicit(now, device, dst);
                        }
                    }
                }
                Action::ClaimVips => self.set_claimed(true),
                Action::ReleaseVips => self.set_claimed(false),
                Action::Announce { count } => {
                    let frames = self.announce(now, device, count);
                    on_event(Event::Announced { frames });
                }
                Action::AddressMismatch { source } => on_event(Event::AddressMismatch { source }),
            }
        }
    }

    fn set_claimed(&mut self, claim: bool) {
        if self.claimed != claim {
            self.claimed = claim;
            self.refresh_addrs();
        }
    }

    fn refresh_addrs(&mut self) {
        let config = self.router.config();
        let prefix = config.vip_prefix_len;
        let own = self.own_primary.then_some(config.primary);
        let vips = if self.claimed { &config.vips[..] } else { &[] };
        self.due.touch();
        self.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            // `new` refused more VIPs than leave room for the primary, so nothing is lost here.
            for a in own.iter().chain(vips) {
                let _ = addrs.push(IpCidr::new((*a).into(), prefix));
            }
        });
    }

    /// Writes the frame of an advert to `dst` at `mac`, from the virtual MAC (RFC 9568 §7.3);
    /// false if the device had no transmit buffer.
    fn send_advert<D: Device + ?Sized>(
        &self,
        now: Instant,
        device: &mut D,
        priority: u8,
        dst: A,
        mac: EthernetAddress,
    ) -> bool {
        let Some(token) = device.transmit(smol_instant(now)) else {
            return false;
        };
        let eth = EthernetRepr {
            src_addr: virtual_mac_of::<A>(self.router.config().vrid),
            dst_addr: mac,
            ethertype: A::ETHERTYPE,
        };
        let router = &self.router;
        token.consume(eth.buffer_len() + advert_len(router), |buf| {
            let mut frame = EthernetFrame::new_unchecked(buf);
            eth.emit(&mut frame);
            write_advert(router, priority, dst, frame.payload_mut());
        });
        true
    }

    /// Asks who has the peer `target`, from the node's MAC: the answer must come to this node,
    /// not to whichever router holds the virtual MAC.
    fn solicit<D: Device + ?Sized>(&self, now: Instant, device: &mut D, target: A) {
        let vrid = self.router.config().vrid;
        let mac = self.macs.map_or(virtual_mac_of::<A>(vrid), |m| m.node);
        if let Some(token) = device.transmit(smol_instant(now)) {
            let src = self.router.config().primary;
            token.consume(A::SOLICIT_LEN, |buf| A::solicit(buf, mac, src, target));
        }
    }

    /// A frame told us where `addr` is: remember it if it is a peer.
    fn learn(&mut self, addr: A, mac: EthernetAddress) {
        let peers = &self.router.config().peers;
        if let Some(i) = peers.iter().position(|p| *p == addr)
            && mac.is_unicast()
        {
            self.peers[i].learn(mac);
        }
    }

    /// Asks for the peers not asked for yet: all of them once the router has started, one
    /// that has just been heard again. (The driver's own kernel does it for a delegate.)
    fn resolve_peers<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D) {
        let config = self.router.config();
        if self.unicast_delegate || self.router.state() == State::Initialize {
            return;
        }
        for (i, &peer) in config.peers.iter().enumerate() {
            if peer != config.primary && self.peers[i].ask(now, None) {
                self.solicit(now, device, peer);
            }
        }
    }

    /// Writes the IP packet of an advert with `priority` to `dst` into `buf` and returns its
    /// length, or `None` if `buf` is too short: for a driver that sends
    /// [`Event::UnicastAdvert`]s itself.
    pub fn write_advert(&self, priority: u8, dst: A, buf: &mut [u8]) -> Option<usize> {
        let len = advert_len(&self.router);
        let buf = buf.get_mut(..len)?;
        write_advert(&self.router, priority, dst, buf);
        Some(len)
    }

    /// Hands the router an IP packet carrying an advert that arrived outside smoltcp: on a
    /// Linux host, unicast adverts to the node's own address reach the kernel, which passes them
    /// on through a raw socket. Then acts on the outcome as [`poll`](Self::poll) would.
    pub fn handle_packet<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        packet: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        receive_advert(&mut self.router, now, packet, on_event);
        self.apply_actions(now, device, on_event);
    }

    /// [`handle_packet`](Self::handle_packet) for a VRRP message whose IP header the caller
    /// has already taken apart: Linux raw IPv6 sockets hand over the payload alone, with the hop
    /// limit in a control message.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_message<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        src: A,
        dst: A,
        hop_limit: u8,
        message: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event<A>),
    ) {
        let received = Received {
            src,
            dst,
            hop_limit,
            body: message,
        };
        handle_received(&mut self.router, now, Ok(received), on_event);
        self.apply_actions(now, device, on_event);
    }

    fn announce<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D, count: u8) -> u16 {
        let mac = virtual_mac_of::<A>(self.router.config().vrid);
        let mut frames = 0;
        for _ in 0..count {
            for vip in &self.router.config().vips {
                let Some(token) = device.transmit(smol_instant(now)) else {
                    return frames;
                };
                token.consume(A::ANNOUNCE_LEN, |buf| A::announce(buf, mac, *vip));
                frames += 1;
            }
        }
        frames
    }
}

impl<'a, const N: usize> Stack<'a, N, Ipv4Addr> {
    /// [`handle_packet`](Self::handle_packet) for an IPv4 packet.
    pub fn handle_ipv4<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        packet: &[u8],
        device: &mut D,
        on_event: &mut impl FnMut(Event),
    ) {
        self.handle_packet(now, packet, device, on_event);
    }

    /// [`write_advert`](Self::write_advert) for IPv4.
    pub fn write_ipv4_advert(&self, priority: u8, dst: Ipv4Addr, buf: &mut [u8]) -> Option<usize> {
        self.write_advert(priority, dst, buf)
    }
}

impl<const N: usize, A: Address> VirtualRouter<N, A> {
    fn accepts_any(&self) -> bool {
        self.config().priority == 255 || self.config().accept_mode
    }
}

fn advert_event<A>(sent: bool, priority: u8) -> Event<A> {
    if sent {
        Event::AdvertSent { priority }
    } else {
        Event::TxDropped
    }
}

fn advert_len<const N: usize, A: NetAddress>(router: &VirtualRouter<N, A>) -> usize {
    A::HEADER_LEN + router.advert(0).buffer_len()
}

/// `buf` is exactly [`advert_len`] long.
fn write_advert<const N: usize, A: NetAddress>(
    router: &VirtualRouter<N, A>,
    priority: u8,
    dst: A,
    buf: &mut [u8],
) {
    let config = router.config();
    let repr = router.advert(priority);
    let (header, body) = buf.split_at_mut(A::HEADER_LEN);
    A::emit_header(config.primary, dst, body.len(), header);
    repr.emit(
        &mut wire::Packet::new_unchecked(body),
        &A::context(config.primary, dst),
        config.checksum,
    );
}

/// An advert received on the link, from smoltcp's raw socket or straight from its frame, to
/// the router; a configured peer it came from has been heard.
fn take_advert<const N: usize, A: NetAddress>(
    router: &mut VirtualRouter<N, A>,
    peers: &mut [Peer; N],
    now: Instant,
    received: Result<Received<'_, A>, DropReason>,
    on_event: &mut impl FnMut(Event<A>),
) {
    let src = received.as_ref().ok().map(|r| r.src);
    handle_received(router, now, received, on_event);
    let configured = &router.config().peers;
    if let Some(i) = src.and_then(|s| configured.iter().position(|p| *p == s)) {
        peers[i].heard();
    }
}

fn receive_advert<const N: usize, A: NetAddress>(
    router: &mut VirtualRouter<N, A>,
    now: Instant,
    packet: &[u8],
    on_event: &mut impl FnMut(Event<A>),
) {
    handle_received(router, now, A::parse(packet), on_event);
}

fn handle_received<const N: usize, A: NetAddress>(
    router: &mut VirtualRouter<N, A>,
    now: Instant,
    received: Result<Received<'_, A>, DropReason>,
    on_event: &mut impl FnMut(Event<A>),
) {
    let checksum = router.config().checksum;
    match received.and_then(|r| parse_received(r, checksum)) {
        Ok((source, ttl, repr)) => match router.handle_advert(now, source, ttl, &repr) {
            Ok(()) => on_event(Event::AdvertReceived {
                source,
                priority: repr.priority,
            }),
            Err(reason) => on_event(Event::Dropped { reason }),
        },
        Err(reason) => {
            router.count_drop(reason);
            on_event(Event::Dropped { reason });
        }
    }
}

fn parse_received<A: NetAddress>(
    received: Received<'_, A>,
    mode: wire::ChecksumMode,
) -> Result<(A, u8, wire::Repr<'_>), DropReason> {
    let Received {
        src,
        dst,
        hop_limit,
        body,
    } = received;
    let vrrp = wire::Packet::new_checked(body).map_err(|e| e.0)?;
    let repr = wire::Repr::parse(&vrrp, &A::context(src, dst), mode).map_err(|e| e.0)?;
    Ok((src, hop_limit, repr))
}

/// Parses an IP packet of family `A` (header included, as raw sockets hand them over) into
/// the advert's source, TTL / hop limit and body.
pub fn parse_advert<A: NetAddress>(
    packet: &[u8],
    mode: wire::ChecksumMode,
) -> Result<(A, u8, wire::Repr<'_>), DropReason> {
    parse_received(A::parse(packet)?, mode)
}

/// [`parse_advert`] for IPv4.
pub fn parse_ipv4_advert(
    packet: &[u8],
    mode: wire::ChecksumMode,
) -> Result<(Ipv4Addr, u8, wire::Repr<'_>), DropReason> {
    parse_advert(packet, mode)
}
