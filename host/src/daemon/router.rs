//! One virtual router as the daemon runs it: the core's [`vrrp_core::net::AnyStack`] at this
//! build's capacity, its configuration, and the addresses it starts from; and the router table
//! the data path hands frames and unicast adverts to.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_core::net::{Buffers, Event as CoreEvent, Resources};
use vrrp_core::wire::DropReason;
use vrrp_core::{ConfigError, Instant};

use super::RunError;
use crate::config::{CoreConfig, MAX_ADDRS, RouterConfig};
use crate::datapath::classify::Target;
use crate::datapath::layout::Addr;
use crate::datapath::tap::{FrameDevice, TxDevice};
use crate::datapath::unicast::Received6;
use crate::datapath::{self, DataPath};
use crate::status::StatusHandle;

/// The core's events with the addresses widened to [`IpAddr`], whatever the router's family.
pub type Event = CoreEvent<IpAddr>;

pub type AnyStack = vrrp_core::net::AnyStack<'static, MAX_ADDRS>;

/// A stack for `core`. It borrows its socket storage for its whole life; a router lives as long
/// as the daemon (a reload that changes its protocol leaks one set, a few KB).
fn new_stack<D: smoltcp::phy::Device + ?Sized>(
    core: CoreConfig,
    device: &mut D,
    now: Instant,
) -> Result<AnyStack, ConfigError> {
    let resources = Box::leak(Box::new(Resources::new()));
    let buffers = Box::leak(Box::new(Buffers::new()));
    AnyStack::new(core, device, resources, buffers, now)
}

pub(super) struct Router {
    pub cfg: RouterConfig,
    pub stack: AnyStack,
    pub vips: Vec<IpAddr>,
    /// Left Initialize. A router waits for its tracked checks' first verdicts (see
    /// `Daemon::start_routers`).
    pub started: bool,
    /// The status shows a new primary address (set by a reload that rebuilt the router).
    pub primary_changed: bool,
    /// The index of its uplink in the daemon's list.
    pub uplink: usize,
}

impl Router {
    /// A router for `cfg` sending from `primary` on `dp`, the daemon's uplink number `uplink`.
    pub fn new(
        cfg: RouterConfig,
        primary: IpAddr,
        dp: &mut DataPath,
        uplink: usize,
        now: Instant,
    ) -> Result<Router, RunError> {
        let core = cfg.to_core(primary)?;
        let vips = core.vips().collect();
        let node_mac = dp.node_mac();
        let mut stack = new_stack(core, &mut dp.transmitter(), now)
            .map_err(|e| RunError::Setup(format!("vrid {}: {e}", cfg.vrid())))?;
        // Unicast adverts leave through the kernel (see `DataPath::transmit_unicast`), multicast
        // ones through the TAP.
        stack.set_unicast_delegate(true);
        // A Backup's membership reports must not move a switch's entry for the virtual MAC.
        stack
            .set_node_mac(smoltcp::wire::EthernetAddress(node_mac))
            .map_err(|_| {
                RunError::Setup(format!("the bridge's MAC {node_mac:02x?} is not unicast"))
            })?;
        Ok(Router {
            cfg,
            stack,
            vips,
            started: false,
            primary_changed: true,
            uplink,
        })
    }

    /// Builds the router for `rc` on the node's addresses on its uplink `dp` (the daemon's
    /// uplink number `uplink`), checking that its peers are reachable.
    pub fn start(
        rc: &RouterConfig,
        dp: &mut DataPath,
        uplink: usize,
        now: Instant,
    ) -> Result<Router, RunError> {
        check_peers(dp.addresses(), rc)?;
        let primary = primary_address(dp, rc)?;
        Router::new(rc.clone(), primary, dp, uplink, now)
    }

    pub fn vrid(&self) -> u8 {
        self.cfg.vrid()
    }
}

/// The routers of one uplink as its data path sees them: frames go to every router on the
/// uplink, unicast adverts to the router of their VRID. Events are collected, tagged with their
/// VRID, for the event loop.
pub(super) struct Table<'a> {
    /// The uplink whose data path this is; the routers on others are not there for it.
    pub uplink: usize,
    pub routers: &'a mut [Router],
    pub events: &'a mut Vec<(u8, Event)>,
    pub status: &'a StatusHandle,
    pub now: Instant,
}

impl Table<'_> {
    /// The index of the router a unicast advert of `vrid` and family `v6` is for; an advert
    /// for none is counted as unmatched (see [`unmatched`]).
    fn router(&self, vrid: Option<u8>, v6: bool) -> Option<usize> {
        let uplink = self.uplink;
        let i = vrid.and_then(|vrid| {
            self.routers
                .iter()
                .position(|r| r.uplink == uplink && r.vrid() == vrid && r.cfg.core.is_v6() == v6)
        });
        if i.is_none() {
            self.status
                .update(|s| s.count_unmatched_drop(unmatched(vrid)));
        }
        i
    }
}

/// Why an advert no router took counts as unmatched: too short to name a VRID, or a VRID (of
/// its family) this daemon does not run. A router's own `drops` only count its own adverts.
fn unmatched(vrid: Option<u8>) -> DropReason {
    match vrid {
        None => DropReason::Length,
        Some(_) => DropReason::Vrid,
    }
}

impl datapath::Routers for Table<'_> {
    fn frame(&mut self, target: Target, dev: &mut FrameDevice<'_>) {
        let mut handled = false;
        let uplink = self.uplink;
        for r in self.routers.iter_mut().filter(|r| r.uplink == uplink) {
            let ours = match target {
                Target::Advert { v6, vrid } => r.vrid() == vrid && r.cfg.core.is_v6() == v6,
                Target::Owner(ip) => r.vips.contains(&ip),
                Target::Short => false,
                Target::All => true,
            };
            if !ours {
                continue;
            }
            handled = true;
            dev.rewind();
            let vrid = r.vrid();
            let events = &mut *self.events;
            r.stack
                .poll_ingress(self.now, dev, &mut |e| events.push((vrid, e)));
        }
        let unmatched = match target {
            Target::Advert { vrid, .. } if !handled => Some(unmatched(Some(vrid))),
            Target::Short => Some(unmatched(None)),
            _ => None,
        };
        if let Some(reason) = unmatched {
            self.status.update(|s| s.count_unmatched_drop(reason));
        }
    }

    fn unicast4(&mut self, vrid: Option<u8>, packet: &[u8], tx: &mut TxDevice<'_>) {
        let now = self.now;
        let Some(i) = self.router(vrid, false) else {
            return;
        };
        let r = &mut self.routers[i];
        let vrid = r.vrid();
        let stack = &mut r.stack;
        let events = &mut *self.events;
        stack.handle_ipv4(now, packet, tx, &mut |e| events.push((vrid, e)));
    }

    fn unicast6(&mut self, vrid: Option<u8>, m: &Received6, tx: &mut TxDevice<'_>) {
        let now = self.now;
        let Some(i) = self.router(vrid, true) else {
            return;
        };
        let r = &mut self.routers[i];
        let vrid = r.vrid();
        let stack = &mut r.stack;
        let events = &mut *self.events;
        stack.handle_message(
            now,
            m.src.into(),
            m.dst.into(),
            m.hop_limit,
            &m.message,
            tx,
            &mut |e| events.push((vrid, e)),
        );
    }
}

fn on_link(a: &Addr, ip: Ipv4Addr) -> bool {
    let IpAddr::V4(addr) = a.addr else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - u32::from(a.prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(addr) & mask
}

/// Unicast adverts go out on the link, never through a router: a peer list in which no address
/// is on the uplink's subnets can never be reached, which is a configuration error, not
/// something to discover by a silent split brain.
fn check_peers(addresses: &[Addr], rc: &RouterConfig) -> Result<(), RunError> {
    // IPv6 peers are link-local (the config sees to it), on the bridge's link by definition.
    let peers: Vec<Ipv4Addr> = rc
        .core
        .peers()
        .filter_map(|p| match p {
            IpAddr::V4(p) => Some(p),
            IpAddr::V6(_) => None,
        })
        .collect();
    if peers.is_empty() {
        return Ok(());
    }
    let (near, far): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) = peers
        .iter()
        .partition(|p| addresses.iter().any(|a| on_link(a, **p)));
    if near.is_empty() {
        let nets: Vec<String> = addresses
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix))
            .collect();
        return Err(RunError::Setup(format!(
            "vrid {}: no peer is reachable: none of {far:?} is on the uplink's subnets {nets:?} \
             (unicast adverts are sent on the link, not routed)",
            rc.vrid()
        )));
    }
    if !far.is_empty() {
        tracing::warn!(vrid = rc.vrid(), unreachable = ?far, "peers off the uplink's subnets get no adverts");
    }
    Ok(())
}

/// The router's source address: configured, or the node's own address in the VIPs' subnet.
fn primary_address(dp: &DataPath, rc: &RouterConfig) -> Result<IpAddr, RunError> {
    if let Some(p) = rc.primary {
        return Ok(p);
    }
    if rc.core.is_v6() {
        return dp.link_local().map(IpAddr::V6).ok_or_else(|| {
            RunError::Setup(format!(
                "vrid {}: the uplink has no IPv6 link-local address to send adverts from; \
                 enable IPv6 on it or set vrrp.primary",
                rc.vrid()
            ))
        });
    }
    let vip = match rc.core.vips().next() {
        Some(IpAddr::V4(v)) => Some(v),
        _ => None,
    };
    let prefix = rc.core.vip_prefix_len();
    let same_subnet = |(a, p): &(Ipv4Addr, u8)| {
        vip.is_some_and(|v| {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(*p)))
                .unwrap_or(0);
            u32::from(v) & mask == u32::from(*a) & mask
        })
    };
    let addrs: Vec<(Ipv4Addr, u8)> = dp
        .addresses()
        .iter()
        .filter_map(|a| match a.addr {
            IpAddr::V4(v) => Some((v, a.prefix)),
            IpAddr::V6(_) => None,
        })
        .collect();
    addrs
        .iter()
        .find(|a| same_subnet(a))
        .or(addrs.first())
        .map(|a| IpAddr::V4(a.0))
        .ok_or_else(|| {
            RunError::Setup(format!(
                "vrid {}: the uplink has no IPv4 address to send adverts from; set vrrp.primary",
                rc.vrid()
            ))
        })
}
