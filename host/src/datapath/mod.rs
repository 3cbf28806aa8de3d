//! The data path: everything between the wire and the routers' smoltcp stacks.
//!
//! ```text
//!   uplink ── bridge ── TAP ── [tap] ── [classify] ──┬── Stack  → the routers (Routers::frame)
//!              │                                     ├── Relay  → rewritten, back into the TAP
//!              │                                     └── Drop
//!              └── kernel: VIPs on lo, nginx; unicast adverts → [unicast] → Routers::unicast*
//! ```
//!
//! [`DataPath::start`] makes the kernel settings ([`sysctl`]), opens the TAP ([`tap`]), bridges
//! it with the uplink ([`layout`]) and puts the VIPs on `lo`; [`DataPath::shutdown`] undoes all
//! of it. The event loop waits on [`DataPath::sources`], reads with [`DataPath::read_ready`], then hands what was read to the routers
//! with [`DataPath::ingest`]; on a router's state changes it calls [`DataPath::serve`] /
//! [`DataPath::stop`]; routers transmit through [`DataPath::transmitter`] and
//! [`DataPath::transmit_unicast`]. Nothing outside this module touches a socket or netlink for
//! frames.

pub mod classify;
pub mod fastpath;
pub mod layout;
pub mod relay;
pub mod sysctl;
pub mod tap;
pub mod unicast;
pub mod uplink;

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::Duration;

use smoltcp::wire::Ipv6Packet;
use tracing::{debug, info, warn};

use crate::config::DatapathMode;
use classify::Target;
use fastpath::{Family, FastPath, Lease};
use layout::{Addr, Layout, LayoutError, LayoutSpec};
use relay::Relay;
use tap::{FrameDevice, Tap, TxDevice};
use unicast::{Received6, Unicast6Socket, UnicastSocket};

/// What the data path hands to the virtual routers. The event loop implements it over its router
/// table: the data path knows frames and sockets, not routers.
pub trait Routers {
    /// A frame for the routers' smoltcp interfaces (ARP, ND, multicast adverts): every router
    /// that `target` names polls `dev` in turn, rewinding it in between.
    fn frame(&mut self, target: Target, dev: &mut FrameDevice<'_>);
    /// An IPv4 unicast advert (IP header included) for router `vrid`; `None` when the packet
    /// is too short to name one.
    fn unicast4(&mut self, vrid: Option<u8>, packet: &[u8], tx: &mut TxDevice<'_>);
    /// An IPv6 unicast advert message (the kernel took the IP header) for router `vrid`.
    fn unicast6(&mut self, vrid: Option<u8>, m: &Received6, tx: &mut TxDevice<'_>);
}

#[derive(Debug, thiserror::Error)]
pub enum DataPathError {
    /// The kernel settings cannot be made.
    #[error(transparent)]
    Sysctl(#[from] sysctl::SysctlError),
    #[error("TAP {name} (/dev/net/tun): {source}")]
    Tap {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("uplink {uplink}: {source}")]
    Uplink {
        uplink: String,
        #[source]
        source: LayoutError,
    },
    #[error("interface layout: {0}")]
    Layout(#[source] LayoutError),
    #[error("{0}")]
    StateDir(#[source] io::Error),
    #[error("removing stale VIPs from lo: {0}")]
    StaleVips(#[source] LayoutError),
    #[error("adding VIP {vip} to lo: {source}")]
    Vip {
        vip: IpAddr,
        #[source]
        source: LayoutError,
    },
    #[error("raw socket for unicast adverts (peers): {0}")]
    Unicast(#[source] io::Error),
}

/// Which unicast advert sockets to open: one per family that has routers with peers.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnicastFamilies {
    pub v4: bool,
    pub v6: bool,
}

/// The largest advert packet the core writes: an IPv6 header and 255 IPv6 addresses (an IPv4
/// advert with options, 255 addresses and v2 authentication is shorter).
const ADVERT_CAPACITY: usize = 40 + 8 + 16 * 255;

pub struct DataPath {
    /// The kernel fast path; `None` in relay mode.
    fastpath: Option<FastPath>,
    fastpath_errors: u64,
    tap: Tap,
    relay: Relay,
    layout: Layout,
    /// The VIPs this data path put on `lo`.
    vips: Vec<IpAddr>,
    unicast: Option<UnicastSocket>,
    unicast6: Option<Unicast6Socket>,
    /// Unicast advert packets read but not yet handed to their router.
    inbox: Vec<Vec<u8>>,
    /// The same for IPv6: the messages with the IP header's fields.
    inbox6: Vec<Received6>,
    unicast_errors: u64,
    /// The routers whose VIPs are served, with their leases.
    served: Vec<Served>,
    /// Leases whose timeout changed, waiting for [`DataPath::flush_renewals`].
    renewals: Vec<Lease>,
    /// Routers whose VIP traffic in the TAP is stale until the end of the next ingest.
    stale: Vec<u8>,
    /// The stale frame count when [`DataPath::discard_stale`] was called.
    stale_before: u64,
    /// Where the core writes a unicast advert packet.
    advert: Box<[u8]>,
}

/// A router whose VIP traffic goes to the kernel: its virtual MAC, and how long its last advert
/// keeps it so.
type Served = Lease;

/// How VIP traffic reaches the kernel while a router is Active, as installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The kernel fast path ([`fastpath`]).
    Kernel,
    /// Every VIP frame through user space ([`relay`]): the fallback, and a baseline to measure.
    Relay,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Kernel => "kernel",
            Mode::Relay => "relay",
        }
    }
}

/// What [`DataPath::read_ready`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Tap,
    Unicast4,
    Unicast6,
}

/// Interface names for the uplink's bridge and TAP (at most 15 bytes each).
pub fn names(uplink: &str) -> (String, String) {
    let short: String = uplink.chars().take(11).collect();
    (format!("vbr-{short}"), format!("vtap-{short}"))
}

/// Where the layout's state file lives: one directory per network namespace, since `eth0` in one
/// namespace is not `eth0` in another and `/run` may be shared between them (several nodes on one
/// host, as in the tests; containers usually have their own `/run`).
pub fn state_dir() -> io::Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/net")
        .map_err(|e| io::Error::new(e.kind(), format!("/proc/self/ns/net: {e}")))?;
    Ok(std::path::Path::new(layout::DEFAULT_STATE_DIR).join(format!("netns-{}", ns.ino())))
}

impl DataPath {
    /// Makes the kernel settings (before touching any interface, so a read-only /proc/sys
    /// changes nothing), opens the TAP sized for the uplink's MTU, bridges it with the uplink
    /// (undoing what a crashed run left first), and puts `vips` on `lo` (removing any other VIP
    /// an earlier run left there). On failure nothing stays changed but the sysctls.
    pub async fn start(
        uplink: &str,
        vips: &[IpAddr],
        unicast: UnicastFamilies,
        mode: DatapathMode,
    ) -> Result<DataPath, DataPathError> {
        let (bridge, tap_name) = names(uplink);
        for c in sysctl::ensure_vip_sysctls(&bridge)? {
            info!("sysctl {c}");
        }
        let mut spec = LayoutSpec::new(uplink, &bridge, &tap_name);
        spec.state_dir = state_dir().map_err(DataPathError::StateDir)?;
        let uplink_err = |source| DataPathError::Uplink {
            uplink: uplink.to_owned(),
            source,
        };
        let mtu = layout::uplink_mtu(uplink).await.map_err(uplink_err)?;
        let tap = Tap::open(&tap_name, mtu as usize, tap::DEFAULT_BATCH).map_err(|source| {
            DataPathError::Tap {
                name: tap_name.clone(),
                source,
            }
        })?;
        let layout = Layout::apply(&spec).await.map_err(DataPathError::Layout)?;
        info!(%uplink, %bridge, tap = %tap.name(), "bridged the uplink with the TAP");
        let fastpath = match mode {
            DatapathMode::Relay => {
                info!("data path: VIP traffic through the user-space relay (configured)");
                None
            }
            DatapathMode::Auto => match FastPath::install(&bridge, uplink, layout.bridge_mac()) {
                Ok(fp) => {
                    info!(
                        table = fp.table(),
                        family = fp.family().as_str(),
                        "data path: VIP traffic through the kernel fast path (nftables)"
                    );
                    Some(fp)
                }
                Err(e) => {
                    warn!(
                        "data path: the kernel fast path cannot be installed ({e}); VIP traffic goes through the user-space relay"
                    );
                    None
                }
            },
        };
        let mut tap = tap;
        // A bridge table renews leases from adverts crossing the bridge: they must keep to it.
        if fastpath
            .as_ref()
            .is_some_and(|f| f.family() == Family::Bridge)
        {
            info!(
                "data path: adverts go through the TAP and the bridge, where they renew the fast path's leases"
            );
        } else {
            match uplink::UplinkTx::open(uplink, tap.name()) {
                Ok(u) => tap.set_uplink(u),
                Err(e) => warn!(
                    "data path: adverts go through the TAP: no packet socket on {uplink} ({e})"
                ),
            }
        }
        let mut dp = DataPath {
            fastpath,
            fastpath_errors: 0,
            relay: Relay::new(layout.bridge_mac()),
            tap,
            layout,
            vips: Vec::new(),
            unicast: None,
            unicast6: None,
            inbox: Vec::new(),
            inbox6: Vec::new(),
            unicast_errors: 0,
            served: Vec::new(),
            renewals: Vec::new(),
            stale: Vec::new(),
            stale_before: 0,
            advert: vec![0; ADVERT_CAPACITY].into_boxed_slice(),
        };
        // From here on a failure must put the uplink back as it was.
        match dp.finish_start(&bridge, vips, unicast).await {
            Ok(()) => Ok(dp),
            Err(e) => {
                dp.shutdown().await;
                Err(e)
            }
        }
    }

    async fn finish_start(
        &mut self,
        bridge: &str,
        vips: &[IpAddr],
        unicast: UnicastFamilies,
    ) -> Result<(), DataPathError> {
        let on_lo: Vec<IpAddr> = vips.iter().copied().filter(|v| relay::on_lo(*v)).collect();
        let stale = self
            .layout
            .remove_stale_vips(&on_lo)
            .await
            .map_err(DataPathError::StaleVips)?;
        if !stale.is_empty() {
            warn!(?stale, "removed VIPs an earlier run left on lo");
        }
        // The VIPs stay on `lo` for the daemon's whole life, not only while Active: the kernel
        // never answers ARP for them (`arp_ignore`), nothing reaches them unless the data path
        // serves them, and a takeover then costs no netlink round trip on the failover path.
        for &vip in &on_lo {
            self.layout
                .add_vip(vip)
                .await
                .map_err(|source| DataPathError::Vip { vip, source })?;
            self.vips.push(vip);
        }
        if unicast.v4 {
            self.unicast = Some(UnicastSocket::open(bridge).map_err(DataPathError::Unicast)?);
        }
        if unicast.v6 {
            self.unicast6 = Some(Unicast6Socket::open(bridge).map_err(DataPathError::Unicast)?);
        }
        Ok(())
    }

    /// The node's own addresses (on the bridge), to choose advert sources and check peers.
    pub fn addresses(&self) -> &[Addr] {
        self.layout.addresses()
    }

    /// The node's IPv6 link-local address, the default source of IPv6 adverts.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.layout.link_local()
    }

    /// The TAP's frame counters since start.
    pub fn tap_counters(&self) -> tap::TapCounters {
        self.tap.counters()
    }

    /// The node's own MAC (the bridge's, which the uplink's address moved to): the source of
    /// every frame a router sends but its adverts and its answers for the VIPs.
    pub fn node_mac(&self) -> [u8; 6] {
        self.layout.bridge_mac()
    }

    /// The device routers transmit through outside [`DataPath::ingest`].
    pub fn transmitter(&mut self) -> TxDevice<'_> {
        self.tap.transmitter()
    }

    /// Router `vrid` became Active with Accept_Mode on: its VIP traffic goes to the kernel for
    /// `lease` (its Active_Down_Interval) after each of its adverts.
    ///
    /// With the fast path, the kernel takes the router's frames itself, and each of its adverts
    /// leaving on the uplink renews the lease in the kernel (see [`fastpath`]), so a frozen or
    /// killed daemon stops answering for the VIPs when a Backup takes over; the relay stays
    /// armed for whatever reaches the TAP meanwhile (a lease that lapsed while the daemon was
    /// merely slow).
    pub fn serve(&mut self, vrid: u8, vips: &[IpAddr], lease: Duration) {
        self.relay.serve(vrid, vips);
        self.stop_lease(vrid);
        if let Some(&vip) = vips.iter().find(|v| relay::on_lo(**v)) {
            let served = Lease {
                vrid,
                v6: vip.is_ipv6(),
                mac: relay::virtual_mac_for(vrid, vip),
                timeout: lease,
            };
            self.served.push(served);
            if let Some(fp) = &mut self.fastpath {
                let r = fp.serve(&served);
                self.note_fastpath(r);
            }
        }
    }

    /// Router `vrid` sent an advert while serving, with `lease` as its Active_Down_Interval.
    /// The kernel renews the lease from the advert itself; only a changed lease (a new priority
    /// changes Skew_Time) is sent to it, at [`DataPath::flush_renewals`].
    pub fn renew(&mut self, vrid: u8, lease: Duration) {
        let Some(s) = self.served.iter_mut().find(|s| s.vrid == vrid) else {
            return;
        };
        if s.timeout != lease {
            s.timeout = lease;
            self.renewals.push(*s);
        }
    }

    /// Sends the leases that changed in this turn of the event loop to the kernel.
    pub fn flush_renewals(&mut self) {
        if self.renewals.is_empty() {
            return;
        }
        // Taken and given back: the vector keeps its capacity, no allocation per advert.
        let mut renewals = std::mem::take(&mut self.renewals);
        for lease in renewals.drain(..) {
            if let Some(fp) = &mut self.fastpath {
                let r = fp.renew_for(&lease);
                self.note_fastpath(r);
            }
        }
        self.renewals = renewals;
    }

    /// Router `vrid` left Active (or does not accept VIP traffic): its VIP traffic stops.
    pub fn stop(&mut self, vrid: u8) {
        self.relay.stop(vrid);
        self.stop_lease(vrid);
    }

    fn stop_lease(&mut self, vrid: u8) {
        let Some(i) = self.served.iter().position(|s| s.vrid == vrid) else {
            return;
        };
        let lease = self.served.swap_remove(i);
        // A change queued earlier in this turn must not touch a chain that is gone.
        self.renewals.retain(|l| l.vrid != vrid);
        if let Some(fp) = &mut self.fastpath {
            let r = fp.withdraw(&lease);
            self.note_fastpath(r);
        }
    }

    /// A failed fast-path update leaves the relay to carry the traffic; it is logged (the first,
    /// then every hundredth: each advert would repeat it) and counted.
    fn note_fastpath(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            self.fastpath_errors += 1;
            if self.fastpath_errors % 100 == 1 {
                warn!(
                    errors = self.fastpath_errors,
                    "kernel fast path: {e}; the relay carries the VIP traffic"
                );
            }
        }
    }

    /// How VIP traffic reaches the kernel: [`Mode::Kernel`] or [`Mode::Relay`].
    pub fn mode(&self) -> Mode {
        if self.fastpath.is_some() {
            Mode::Kernel
        } else {
            Mode::Relay
        }
    }

    /// Failed fast-path updates since start.
    pub fn fastpath_errors(&self) -> u64 {
        self.fastpath_errors
    }

    /// The daemon did not run for `frozen_for`: VIP traffic of a router whose lease is shorter
    /// that waited in the TAP meanwhile is dropped and counted at the next
    /// [`DataPath::ingest`], never relayed. Its clients have moved to the Active that took
    /// over, and the kernel could only answer such a frame with a reset or a stray SYN-ACK.
    /// Frames queued in the last `lease` of the freeze cannot be told from older ones; they
    /// are dropped too (a retransmission away from the new Active).
    pub fn discard_stale(&mut self, frozen_for: Duration) {
        self.stale_before = self.tap.counters().stale;
        self.stale = self
            .served
            .iter()
            .filter(|s| s.timeout < frozen_for)
            .map(|s| s.vrid)
            .collect();
    }

    /// The descriptors the event loop waits on (readability, level-triggered), each with the
    /// [`Source`] to pass to [`DataPath::read_ready`] when it is readable.
    pub fn sources(&self) -> Vec<(Source, RawFd)> {
        let mut v = vec![(Source::Tap, self.tap.as_raw_fd())];
        if let Some(u) = &self.unicast {
            v.push((Source::Unicast4, u.as_raw_fd()));
        }
        if let Some(u) = &self.unicast6 {
            v.push((Source::Unicast6, u.as_raw_fd()));
        }
        v
    }

    /// Reads what `source` has queued without waiting, for the next [`DataPath::ingest`]. With
    /// `sparse`, at most one TAP frame: a level-triggered wait wakes again at once for the rest,
    /// and a node that hears one advert per interval saves the read that would find the queue
    /// empty. An `Err` means the descriptor failed (e.g. the TAP's interface was deleted).
    pub fn read_ready(&mut self, source: Source, sparse: bool) -> io::Result<()> {
        match source {
            Source::Tap => {
                let r = if sparse {
                    self.tap.try_recv_upto(1)
                } else {
                    self.tap.try_recv_batch()
                };
                r.map(drop)
                    .map_err(|e| io::Error::new(e.kind(), format!("TAP {}: {e}", self.tap.name())))
            }
            Source::Unicast4 => match &mut self.unicast {
                Some(u) => {
                    let inbox = &mut self.inbox;
                    u.try_recv_with(|p| inbox.push(p.to_vec()))
                        .map(drop)
                        .map_err(|e| {
                            io::Error::new(e.kind(), format!("unicast advert socket: {e}"))
                        })
                }
                None => Ok(()),
            },
            Source::Unicast6 => match &mut self.unicast6 {
                Some(u) => {
                    let inbox = &mut self.inbox6;
                    u.try_recv_with(|m| inbox.push(m)).map(drop).map_err(|e| {
                        io::Error::new(e.kind(), format!("IPv6 unicast advert socket: {e}"))
                    })
                }
                None => Ok(()),
            },
        }
    }

    /// Reads whatever is queued right now without waiting: after a freeze, what the others said
    /// while we slept must reach the routers before their overdue timers fire.
    pub fn recv_now(&mut self) {
        if let Err(e) = self.tap.try_recv_batch() {
            warn!("TAP {}: {e}", self.tap.name());
        }
        if let Some(u) = &mut self.unicast {
            let inbox = &mut self.inbox;
            if let Err(e) = u.try_recv_with(|p| inbox.push(p.to_vec())) {
                crate::warn_limited!(
                    crate::ratelimit::Kind::UnicastRecv,
                    0,
                    "unicast advert socket: {e}"
                );
            }
        }
        if let Some(u) = &mut self.unicast6 {
            let inbox = &mut self.inbox6;
            if let Err(e) = u.try_recv_with(|m| inbox.push(m)) {
                crate::warn_limited!(
                    crate::ratelimit::Kind::UnicastRecv,
                    0,
                    "IPv6 unicast advert socket: {e}"
                );
            }
        }
    }

    /// Hands everything read so far to the routers: TAP frames batch by batch (VIP traffic
    /// relayed to the kernel, the rest to every router's stack, reading on until the TAP is
    /// empty), then the unicast adverts, each to its router.
    pub fn ingest(&mut self, routers: &mut impl Routers) {
        loop {
            let (relay, stale) = (&self.relay, &self.stale);
            let drained = self
                .tap
                .drain_with(|frame| relay.verdict_unless(frame, |vrid| stale.contains(&vrid)));
            debug!(
                stack = drained.stack,
                relayed = drained.relayed,
                dropped = drained.dropped,
                stale = drained.stale,
                "frames read from the TAP"
            );
            self.tap
                .for_each_stack_frame(|dev| routers.frame(classify::target(dev.frame()), dev));
            if !self.tap.may_have_more() {
                break;
            }
            match self.tap.try_recv_batch() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    warn!("TAP {}: {e}", self.tap.name());
                    break;
                }
            }
        }
        if !self.stale.is_empty() {
            let dropped = self.tap.counters().stale - self.stale_before;
            if dropped > 0 {
                info!(
                    dropped,
                    "VIP frames that waited through the freeze dropped as stale"
                );
            }
            self.stale.clear();
        }
        for packet in std::mem::take(&mut self.inbox) {
            routers.unicast4(
                unicast::vrid_of(&packet),
                &packet,
                &mut self.tap.transmitter(),
            );
        }
        for m in std::mem::take(&mut self.inbox6) {
            // Multicast adverts are the TAP's: the kernel joins no ff02::12, but should anything
            // on the host join it, they must still be handled once.
            if m.dst.is_multicast() {
                continue;
            }
            routers.unicast6(
                unicast::vrid_of_message(&m.message),
                &m,
                &mut self.tap.transmitter(),
            );
        }
    }

    /// Sends one unicast advert through the kernel, which resolves the peer with the node's own
    /// MAC and address. `write` fills the buffer with the IP packet the core builds (as
    /// `Stack::write_advert` does) and returns its length. A failure is counted and logged
    /// through [`crate::ratelimit`] (each interval would repeat it).
    pub fn transmit_unicast(
        &mut self,
        vrid: u8,
        dst: IpAddr,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) {
        let sent = match write(&mut self.advert) {
            None => Err(io::Error::other("advert not written")),
            Some(len) => {
                let packet = &self.advert[..len.min(self.advert.len())];
                match dst {
                    IpAddr::V4(dst) => match &self.unicast {
                        Some(u) => u.send_to(packet, dst),
                        None => Err(io::Error::other("no unicast socket")),
                    },
                    // The kernel writes the IPv6 header: send the message behind the core's.
                    IpAddr::V6(dst) => match (&self.unicast6, Ipv6Packet::new_checked(packet)) {
                        (Some(u), Ok(ip)) => u.send_to(ip.payload(), ip.src_addr(), dst),
                        (None, _) => Err(io::Error::other("no IPv6 unicast socket")),
                        (_, Err(_)) => Err(io::Error::other("advert not an IPv6 packet")),
                    },
                }
            }
        };
        match sent {
            Ok(()) => debug!(vrid, %dst, "unicast advert sent"),
            Err(e) => {
                self.unicast_errors += 1;
                crate::warn_limited!(crate::ratelimit::Kind::UnicastSend, vrid, vrid, %dst, errors = self.unicast_errors, "unicast advert not sent: {e}");
            }
        }
    }

    /// Closes the TAP, takes the VIPs off `lo` and puts the uplink back as it was. Errors are
    /// logged: at shutdown there is nobody left to hand them to.
    pub async fn shutdown(self) {
        let DataPath {
            fastpath,
            tap,
            mut layout,
            vips,
            ..
        } = self;
        // The kernel stops answering for the VIPs first, then the frames' way out goes.
        if let Some(Err(e)) = fastpath.map(FastPath::remove) {
            tracing::error!("removing the kernel fast path: {e}");
        }
        drop(tap);
        for vip in vips {
            if let Err(e) = layout.remove_vip(vip).await {
                tracing::error!("removing VIP {vip} from lo: {e}");
            }
        }
        if let Err(e) = layout.restore().await {
            tracing::error!("restoring the interface layout: {e}");
        }
    }
}
