//! The interface layout vrrpd needs, made and undone over rtnetlink (never by running `ip`).
//!
//! ```text
//!   before:  eth0 (192.0.2.1/24, 2001:db8::1/64, fe80::1/64; default via 192.0.2.254, fe80::fe)
//!   after:   bridge (the same addresses and routes, eth0's MAC)
//!              ├── eth0     (port, no address)
//!              └── tap      (port, IPv6 off; smoltcp with the virtual MAC sits behind it)
//!            lo: + every VIP/32 or VIP/128, for the daemon's whole life (see `DataPath::start`)
//! ```
//!
//! The bridge takes the uplink's MAC so that neighbours' ARP and ND caches for the node's own
//! addresses stay valid.
//!
//! IPv6 addresses move like IPv4 ones, link-local included. They are added with `nodad`, so that
//! the node keeps using them without a second of DAD. The bridge generates no link-local of its
//! own (`addr_gen_mode` none): the uplink's moved one stays the node's, and is the default source
//! of IPv6 adverts ([`Layout::link_local`]). Only configured state moves: addresses from SLAAC and
//! routes from Router Advertisements are the kernel's, and the bridge learns its own from the
//! answer to the Router Solicitation its new link-local sends. Where IPv6 is off on the uplink,
//! nothing IPv6 is touched.
//!
//! The original layout is written to a state file (`<state_dir>/<uplink>.json`) before
//! anything changes, so that a later start can undo exactly what a `kill -9` left behind. The TAP
//! is not persistent: it disappears with the process, so only the bridge, the moved addresses and
//! routes, and the VIPs on `lo` can be left over.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, BridgeStpState, In6AddrGenMode, InfoBridge, InfoKind, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use nix::errno::Errno;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, RouteMessageBuilder};
use serde::{Deserialize, Serialize};

use super::sysctl;

/// Where the state files live unless the daemon says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/run/vrrpd";
/// How long to wait for the bridge to forward after it is brought up.
const UP_TIMEOUT: Duration = Duration::from_secs(5);
/// The kernel maintains the `local` table itself.
const TABLE_LOCAL: u32 = 255;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("interface {0} does not exist")]
    NoSuchLink(String),
    #[error(
        "interface {name} exists but is not a bridge left by vrrpd for {uplink}; \
         remove it or configure another bridge name"
    )]
    Foreign { name: String, uplink: String },
    #[error("{uplink} is already a port of {controller}; vrrpd needs to own the uplink's layout")]
    UplinkEnslaved { uplink: String, controller: String },
    #[error("netlink: {what}: {source}")]
    Netlink {
        what: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("state file {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("netlink socket: {0}")]
    Socket(#[source] io::Error),
    #[error("bridge {0} did not come up within {1:?}")]
    NotUp(String, Duration),
    #[error("IPv6 on {dev}: {source}")]
    Sysctl {
        dev: String,
        #[source]
        source: sysctl::Unsettable,
    },
}

type Result<T, E = LayoutError> = std::result::Result<T, E>;

fn nl_err(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> LayoutError {
    let what = what.into();
    move |source| LayoutError::Netlink { what, source }
}

/// The errno of a netlink error answer, if that is what `e` is.
fn errno(e: &rtnetlink::Error) -> Option<Errno> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(Errno::from_raw(-m.raw_code())),
        _ => None,
    }
}

/// Treats "already there" (on add) and "not there" (on delete) as success: restoring must be
/// idempotent, it may run twice after crashes at any point.
fn tolerate(r: Result<(), rtnetlink::Error>, ok: &[Errno]) -> Result<(), rtnetlink::Error> {
    match r {
        Err(e) if errno(&e).is_some_and(|n| ok.contains(&n)) => Ok(()),
        r => r,
    }
}

/// An address as configured on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addr {
    pub addr: IpAddr,
    pub prefix: u8,
    /// IPv4 only.
    #[serde(default)]
    pub broadcast: Option<Ipv4Addr>,
    /// The part of the label after the interface name (`eth0:web` -> `:web`). IPv4 only.
    #[serde(default)]
    pub label_suffix: Option<String>,
    #[serde(default)]
    pub noprefixroute: bool,
    #[serde(default)]
    pub metric: Option<u32>,
}

/// A route through the uplink that the kernel does not recreate by itself when the addresses
/// move (it does recreate the `proto kernel` prefix routes, and the `proto ra` ones come from the
/// next Router Advertisement).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub table: u32,
    pub dst: IpAddr,
    pub prefix: u8,
    /// Of the route's family, or IPv6 for an IPv4 route (RFC 8950's `via inet6`).
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    #[serde(default)]
    pub pref_src: Option<IpAddr>,
    #[serde(default)]
    pub metric: Option<u32>,
    pub protocol: u8,
    pub scope: u8,
    pub tos: u8,
    #[serde(default)]
    pub onlink: bool,
}

/// The uplink as it was before vrrpd touched it, and what vrrpd added since. This is the state
/// file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub uplink: String,
    pub bridge: String,
    pub tap: String,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub addresses: Vec<Addr>,
    pub routes: Vec<Route>,
    /// VIPs vrrpd added to `lo` and has not removed yet.
    #[serde(default)]
    pub vips: Vec<IpAddr>,
}

/// Names and paths for one layout.
#[derive(Clone, Debug)]
pub struct LayoutSpec {
    pub uplink: String,
    pub bridge: String,
    pub tap: String,
    pub state_dir: PathBuf,
}

impl LayoutSpec {
    pub fn new(uplink: &str, bridge: &str, tap: &str) -> LayoutSpec {
        LayoutSpec {
            uplink: uplink.into(),
            bridge: bridge.into(),
            tap: tap.into(),
            state_dir: DEFAULT_STATE_DIR.into(),
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.state_dir.join(format!("{}.json", self.uplink))
    }
}

/// An applied layout. Call [`Layout::restore`] on the way out; dropping it leaves the layout in
/// place (the next start recovers it from the state file).
pub struct Layout {
    nl: Netlink,
    snapshot: Snapshot,
    state_path: PathBuf,
    bridge_index: u32,
}

/// An rtnetlink connection whose driver task ends with it.
struct Netlink {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace. Needs a tokio runtime.
    fn open() -> Result<Netlink> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(LayoutError::Socket)?;
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    async fn link(&self, name: &str) -> Result<Option<LinkMessage>> {
        let r = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_next()
            .await;
        match r {
            Ok(m) => Ok(m),
            Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(None),
            Err(e) => Err(nl_err(format!("look up {name}"))(e)),
        }
    }

    async fn link_by_index(&self, index: u32) -> Result<Option<LinkMessage>> {
        let r = self
            .handle
            .link()
            .get()
            .match_index(index)
            .execute()
            .try_next()
            .await;
        match r {
            Ok(m) => Ok(m),
            Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(None),
            Err(e) => Err(nl_err(format!("look up link {index}"))(e)),
        }
    }

    async fn need_link(&self, name: &str) -> Result<LinkMessage> {
        self.link(name)
            .await?
            .ok_or_else(|| LayoutError::NoSuchLink(name.into()))
    }

    /// The IPv4 and IPv6 addresses of interface `index`.
    async fn addresses(&self, index: u32) -> Result<Vec<AddressMessage>> {
        self.handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_filter(|m| {
                futures::future::ready(matches!(
                    m.header.family,
                    AddressFamily::Inet | AddressFamily::Inet6
                ))
            })
            .try_collect()
            .await
            .map_err(nl_err("list addresses"))
    }

    /// The IPv4 routes of every table, and the IPv6 ones too when `v6`.
    async fn routes(&self, v6: bool) -> Result<Vec<RouteMessage>> {
        let mut queries = vec![RouteMessageBuilder::<Ipv4Addr>::new().build()];
        if v6 {
            queries.push(RouteMessageBuilder::<Ipv6Addr>::new().build());
        }
        let mut out = Vec::new();
        for q in queries {
            let mut routes: Vec<RouteMessage> = self
                .handle
                .route()
                .get(q)
                .execute()
                .try_collect()
                .await
                .map_err(nl_err("list routes"))?;
            out.append(&mut routes);
        }
        Ok(out)
    }

    async fn set(&self, what: &str, msg: LinkMessage) -> Result<()> {
        self.handle
            .link()
            .change(msg)
            .execute()
            .await
            .map_err(nl_err(what))
    }

    async fn add_addr(&self, index: u32, ifname: &str, a: &Addr) -> Result<()> {
        let mut req = self.handle.address().add(index, a.addr, a.prefix);
        let msg = req.message_mut();
        msg.attributes
            .retain(|at| !matches!(at, AddressAttribute::Broadcast(_)));
        if let Some(b) = a.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let (Some(s), IpAddr::V4(_)) = (&a.label_suffix, a.addr) {
            msg.attributes
                .push(AddressAttribute::Label(format!("{ifname}{s}")));
        }
        let mut flags = AddressFlags::empty();
        if a.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        if a.addr.is_ipv6() {
            // The address was in use a moment ago on the other interface of the same link: DAD
            // would only keep the node from using it for a second.
            flags |= AddressFlags::Nodad;
        }
        if !flags.is_empty() {
            msg.attributes.push(AddressAttribute::Flags(flags));
        }
        if let Some(m) = a.metric {
            msg.attributes.push(AddressAttribute::RoutePriority(m));
        }
        tolerate(req.execute().await, &[Errno::EEXIST])
            .map_err(nl_err(format!("add {}/{} to {ifname}", a.addr, a.prefix)))
    }

    async fn del_addr(&self, index: u32, addr: IpAddr, prefix: u8, ifname: &str) -> Result<()> {
        let msg = match addr {
            IpAddr::V4(a) => rtnetlink::AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(a, prefix)
                .build(),
            IpAddr::V6(a) => rtnetlink::AddressMessageBuilder::<Ipv6Addr>::new()
                .index(index)
                .address(a, prefix)
                .build(),
        };
        let r = self.handle.address().del(msg).execute().await;
        tolerate(r, &[Errno::EADDRNOTAVAIL, Errno::ENODEV, Errno::ENOENT])
            .map_err(nl_err(format!("remove {addr}/{prefix} from {ifname}")))
    }

    async fn add_route(&self, oif: u32, r: &Route) -> Result<()> {
        let res = self
            .handle
            .route()
            .add(route_message(oif, r))
            .execute()
            .await;
        tolerate(res, &[Errno::EEXIST]).map_err(nl_err(format!(
            "add route {}/{} via {:?} table {}",
            r.dst, r.prefix, r.gateway, r.table
        )))
    }

    async fn del_route(&self, oif: u32, r: &Route) -> Result<()> {
        let res = self
            .handle
            .route()
            .del(route_message(oif, r))
            .execute()
            .await;
        tolerate(res, &[Errno::ESRCH, Errno::ENODEV]).map_err(nl_err(format!(
            "remove route {}/{} via {:?} table {}",
            r.dst, r.prefix, r.gateway, r.table
        )))
    }

    /// Keeps the kernel from generating an IPv6 link-local address on interface `index` when it
    /// comes up. Over netlink rather than /proc/sys, which a container may mount read-only.
    async fn no_ipv6_addr_gen(&self, index: u32, name: &str) -> Result<()> {
        let spec = AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)]);
        self.set(
            &format!("set addr_gen_mode none on {name}"),
            LinkUnspec::new_with_index(index)
                .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![spec]))
                .build(),
        )
        .await
    }

    async fn del_link(&self, index: u32, name: &str) -> Result<()> {
        let r = self.handle.link().del(index).execute().await;
        tolerate(r, &[Errno::ENODEV]).map_err(nl_err(format!("delete {name}")))
    }
}

/// The message that adds or deletes route `r` through interface `oif`.
fn route_message(oif: u32, r: &Route) -> RouteMessage {
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .output_interface(oif)
        .table_id(r.table)
        .protocol(RouteProtocol::from(r.protocol))
        .scope(RouteScope::from(r.scope))
        .kind(RouteType::Unicast)
        .tos(r.tos);
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    if r.onlink {
        b = b.onlink();
    }
    let mut m = b.build();
    m.header.address_family = match r.dst {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = r.prefix;
    m.attributes.push(RouteAttribute::Destination(r.dst.into()));
    match (r.dst, r.gateway) {
        (IpAddr::V4(_), Some(IpAddr::V6(g))) => {
            m.attributes.push(RouteAttribute::Via(RouteVia::Inet6(g)))
        }
        (_, Some(g)) => m.attributes.push(RouteAttribute::Gateway(g.into())),
        (_, None) => {}
    }
    if let Some(s) = r.pref_src {
        m.attributes.push(RouteAttribute::PrefSource(s.into()));
    }
    m
}

fn link_mac(m: &LinkMessage) -> Option<[u8; 6]> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(v) => v.as_slice().try_into().ok(),
        _ => None,
    })
}

fn link_mtu(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(v) => Some(*v),
        _ => None,
    })
}

fn link_controller(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(v) => Some(*v),
        _ => None,
    })
}

fn link_is_bridge(m: &LinkMessage) -> bool {
    m.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

fn link_oper_up(m: &LinkMessage) -> bool {
    m.attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::OperState(State::Up)))
}

/// The addresses of one interface as [`Addr`]s, in the order to re-add them in: IPv4 primaries,
/// IPv4 secondaries, then IPv6. IPv6 addresses the kernel manages (SLAAC and privacy addresses,
/// anything not `permanent`) and duplicates (`dadfailed`) are left out.
fn addrs_of(msgs: &[AddressMessage], ifname: &str) -> Vec<Addr> {
    let mut v4: Vec<(bool, Addr)> = Vec::new();
    let mut v6 = Vec::new();
    for m in msgs {
        let (mut local, mut address) = (None, None);
        let mut flags = AddressFlags::from_bits_retain(u32::from(m.header.flags.bits()));
        let mut a = Addr {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix: m.header.prefix_len,
            broadcast: None,
            label_suffix: None,
            noprefixroute: false,
            metric: None,
        };
        for at in &m.attributes {
            match at {
                AddressAttribute::Local(v) => local = Some(*v),
                AddressAttribute::Address(v) => address = Some(*v),
                AddressAttribute::Broadcast(b) => a.broadcast = Some(*b),
                AddressAttribute::Label(l) => {
                    a.label_suffix = l
                        .strip_prefix(ifname)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                }
                AddressAttribute::Flags(f) => flags = *f,
                AddressAttribute::RoutePriority(p) => a.metric = Some(*p),
                _ => {}
            }
        }
        // On a point-to-point address IFA_ADDRESS is the peer's; IFA_LOCAL is always ours.
        let Some(addr) = local.or(address) else {
            continue;
        };
        a.addr = addr;
        a.noprefixroute = flags.contains(AddressFlags::Noprefixroute);
        match addr {
            IpAddr::V4(_) => v4.push((flags.contains(AddressFlags::Secondary), a)),
            IpAddr::V6(_) if !flags.contains(AddressFlags::Permanent) => {}
            IpAddr::V6(_) if flags.contains(AddressFlags::Dadfailed) => {
                tracing::warn!(%addr, %ifname, "an IPv6 address that failed DAD is not moved");
            }
            IpAddr::V6(_) => v6.push(a),
        }
    }
    // Stable: primaries keep their order, then secondaries keep theirs.
    v4.sort_by_key(|(secondary, _)| *secondary);
    // The kernel lists the IPv6 addresses of one scope newest first and puts each new one in
    // front of its scope, so adding them oldest first recreates the order (the last tie-breaker
    // of source address selection).
    v6.reverse();
    v4.into_iter().map(|(_, a)| a).chain(v6).collect()
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// The routes through interface `oif` that must be moved by hand.
fn routes_of(msgs: &[RouteMessage], oif: u32) -> Vec<Route> {
    let mut out = Vec::new();
    for m in msgs {
        let h = &m.header;
        let dst = match h.address_family {
            AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => continue,
        };
        // The kernel recreates its own routes from the moved addresses, and the bridge learns the
        // RA routes from the next Router Advertisement.
        if h.kind != RouteType::Unicast
            || h.protocol == RouteProtocol::Kernel
            || h.protocol == RouteProtocol::Ra
        {
            continue;
        }
        let mut r = Route {
            table: u32::from(h.table),
            dst,
            prefix: h.destination_prefix_length,
            gateway: None,
            pref_src: None,
            metric: None,
            protocol: h.protocol.into(),
            scope: h.scope.into(),
            tos: h.tos,
            onlink: h.flags.contains(RouteFlags::Onlink),
        };
        let mut through = false;
        for at in &m.attributes {
            match at {
                RouteAttribute::Oif(i) => through = *i == oif,
                RouteAttribute::Table(t) => r.table = *t,
                RouteAttribute::Destination(d) => r.dst = route_ip(d).unwrap_or(r.dst),
                RouteAttribute::Gateway(g) => r.gateway = route_ip(g),
                RouteAttribute::Via(RouteVia::Inet6(g)) => r.gateway = Some(IpAddr::V6(*g)),
                RouteAttribute::PrefSource(s) => r.pref_src = route_ip(s),
                RouteAttribute::Priority(p) => r.metric = Some(*p),
                RouteAttribute::MultiPath(_) => {
                    tracing::warn!(dst = %r.dst, prefix = r.prefix,
                        "multipath route not moved to the bridge");
                }
                _ => {}
            }
        }
        if through && r.table != TABLE_LOCAL && !r.dst.is_multicast() {
            out.push(r);
        }
    }
    out
}

fn read_state(path: &Path) -> Result<Option<Snapshot>> {
    let err = |source| LayoutError::State {
        path: path.to_path_buf(),
        source,
    };
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| err(io::Error::new(io::ErrorKind::InvalidData, e))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Writes the state file so that it is either the old or the new content, never half of one.
fn write_state(path: &Path, s: &Snapshot) -> Result<()> {
    let err = |source| LayoutError::State {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(s).map_err(|e| err(io::Error::other(e)))?;
    fs::write(&tmp, bytes).map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

fn remove_state(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LayoutError::State {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The MTU of `uplink`, to size the TAP's buffers before [`Layout::apply`].
pub async fn uplink_mtu(uplink: &str) -> Result<u32> {
    let nl = Netlink::open()?;
    let link = nl.need_link(uplink).await?;
    Ok(link_mtu(&link).unwrap_or(1500))
}

/// Undoes whatever an earlier vrrpd left for `spec` (a `kill -9`, a crash, a power cut of the
/// container runtime). Returns whether there was anything to undo. [`Layout::apply`] runs it first.
async fn recover_with(nl: &Netlink, spec: &LayoutSpec) -> Result<bool> {
    let path = spec.state_path();
    let mut state = read_state(&path)?;
    if state.is_some() && !our_bridge_is_here(nl, spec).await? {
        // A state file whose bridge is not in this namespace describes another layout: a
        // namespace that reused a dead one's inode, or a bridge removed by hand. Restoring it
        // would put someone else's addresses on this uplink.
        tracing::warn!(path = %path.display(), bridge = %spec.bridge,
            "ignoring a state file whose bridge does not exist here");
        remove_state(&path)?;
        state = None;
    }
    let snapshot = match state {
        Some(s) => Some(s),
        None => snapshot_from_leftover_bridge(nl, spec).await?,
    };
    let Some(snapshot) = snapshot else {
        return Ok(false);
    };
    tracing::warn!(uplink = %snapshot.uplink, bridge = %snapshot.bridge,
        "restoring the interface layout left by an earlier vrrpd");
    // The TAP is not deleted here: it vanished with its process, and a TAP of that name that
    // exists now is our own, opened before this call.
    undo(nl, &snapshot, false).await?;
    remove_state(&path)?;
    Ok(true)
}

/// Whether a bridge named `spec.bridge` exists here and holds the uplink.
async fn our_bridge_is_here(nl: &Netlink, spec: &LayoutSpec) -> Result<bool> {
    let (Some(bridge), Some(uplink)) = (nl.link(&spec.bridge).await?, nl.link(&spec.uplink).await?)
    else {
        return Ok(false);
    };
    Ok(link_is_bridge(&bridge) && link_controller(&uplink) == Some(bridge.header.index))
}

/// Without a state file, a bridge with our name that holds the uplink is still recognisably ours:
/// its addresses and routes are the uplink's.
async fn snapshot_from_leftover_bridge(
    nl: &Netlink,
    spec: &LayoutSpec,
) -> Result<Option<Snapshot>> {
    let Some(bridge) = nl.link(&spec.bridge).await? else {
        return Ok(None);
    };
    let uplink = nl.need_link(&spec.uplink).await?;
    if !link_is_bridge(&bridge) || link_controller(&uplink) != Some(bridge.header.index) {
        return Err(LayoutError::Foreign {
            name: spec.bridge.clone(),
            uplink: spec.uplink.clone(),
        });
    }
    let v6 = sysctl::ipv6_enabled(&spec.uplink);
    let addrs = nl.addresses(bridge.header.index).await?;
    let routes = nl.routes(v6).await?;
    Ok(Some(Snapshot {
        uplink: spec.uplink.clone(),
        bridge: spec.bridge.clone(),
        tap: spec.tap.clone(),
        mac: link_mac(&uplink).unwrap_or_default(),
        mtu: link_mtu(&uplink).unwrap_or(1500),
        addresses: addrs_of(&addrs, &spec.bridge)
            .into_iter()
            .filter(|a| v6 || a.addr.is_ipv4())
            .collect(),
        routes: routes_of(&routes, bridge.header.index),
        // Unknown without the state file: the daemon removes its configured VIPs from `lo`
        // with `remove_stale_vips`.
        vips: Vec::new(),
    }))
}

/// Puts `s.addresses` and `s.routes` back on the uplink, deletes the bridge (and the TAP when
/// `delete_tap`), and removes `s.vips` from `lo`. Every step tolerates having been done already.
async fn undo(nl: &Netlink, s: &Snapshot, delete_tap: bool) -> Result<()> {
    if let Some(br) = nl.link(&s.bridge).await? {
        // Deleting the bridge drops its addresses and routes and releases its ports.
        nl.del_link(br.header.index, &s.bridge).await?;
    }
    if delete_tap && let Some(tap) = nl.link(&s.tap).await? {
        nl.del_link(tap.header.index, &s.tap).await?;
    }
    let up = nl.need_link(&s.uplink).await?;
    let index = up.header.index;
    if link_controller(&up).is_some() {
        nl.set(
            "release the uplink",
            LinkUnspec::new_with_index(index).nocontroller().build(),
        )
        .await?;
    }
    nl.set(
        &format!("bring {} up", s.uplink),
        LinkUnspec::new_with_index(index).up().build(),
    )
    .await?;
    for a in &s.addresses {
        nl.add_addr(index, &s.uplink, a).await?;
    }
    for r in &s.routes {
        nl.add_route(index, r).await?;
    }
    if let Some(lo) = nl.link("lo").await? {
        for vip in &s.vips {
            nl.del_addr(lo.header.index, *vip, host_prefix(*vip), "lo")
                .await?;
        }
    }
    Ok(())
}

impl Layout {
    /// Recovers any leftover layout for `spec`, then moves the uplink's addresses and routes onto a
    /// new bridge holding the uplink and the TAP (which must exist: open it with
    /// `Tap::open(&spec.tap, ..)` first). Returns once the bridge forwards.
    pub async fn apply(spec: &LayoutSpec) -> Result<Layout> {
        let nl = Netlink::open()?;
        recover_with(&nl, spec).await?;

        let uplink = nl.need_link(&spec.uplink).await?;
        if let Some(c) = link_controller(&uplink) {
            let controller = match nl.link_by_index(c).await? {
                Some(l) => link_name(&l).unwrap_or_default(),
                None => c.to_string(),
            };
            return Err(LayoutError::UplinkEnslaved {
                uplink: spec.uplink.clone(),
                controller,
            });
        }
        let tap = nl.need_link(&spec.tap).await?;
        let up_index = uplink.header.index;
        let mac = link_mac(&uplink).ok_or_else(|| LayoutError::Foreign {
            name: spec.uplink.clone(),
            uplink: "an Ethernet uplink (it has no MAC address)".into(),
        })?;
        let mtu = link_mtu(&uplink).unwrap_or(1500);
        // Where IPv6 is off on the uplink, the layout is what it was before vrrpd knew IPv6.
        let v6 = sysctl::ipv6_enabled(&spec.uplink);
        let addr_msgs = nl.addresses(up_index).await?;
        let route_msgs = nl.routes(v6).await?;
        let snapshot = Snapshot {
            uplink: spec.uplink.clone(),
            bridge: spec.bridge.clone(),
            tap: spec.tap.clone(),
            mac,
            mtu,
            addresses: addrs_of(&addr_msgs, &spec.uplink)
                .into_iter()
                .filter(|a| v6 || a.addr.is_ipv4())
                .collect(),
            routes: routes_of(&route_msgs, up_index),
            vips: Vec::new(),
        };
        let state_path = spec.state_path();
        // Written before the first change, so that a crash at any later point is recoverable.
        write_state(&state_path, &snapshot)?;

        // STP off and no forward delay: the ports forward at once, and a bridge inside one
        // host cannot make a loop. No bridge netfilter: where br_netfilter is loaded (Docker
        // loads it), every frame crossing the bridge would run the iptables hooks, and every
        // frame vrrpd writes into the TAP (adverts, relayed VIP traffic) runs that path inside
        // vrrpd; traffic delivered to the host still meets iptables at the IP layer.
        let bridge = LinkBridge::new(&spec.bridge)
            .down()
            .address(mac.to_vec())
            .mtu(mtu)
            .stp_state(BridgeStpState::Disabled)
            .forward_delay(0)
            .append_info_data(InfoBridge::NfCallIpTables(false))
            .append_info_data(InfoBridge::NfCallIp6Tables(false))
            .append_info_data(InfoBridge::NfCallArpTables(false))
            .build();
        nl.handle
            .link()
            .add(bridge)
            .execute()
            .await
            .map_err(nl_err(format!("create bridge {}", spec.bridge)))?;
        let br = nl.need_link(&spec.bridge).await?;
        let br_index = br.header.index;
        let mut layout = Layout {
            nl,
            snapshot,
            state_path,
            bridge_index: br_index,
        };
        if let Err(e) = layout.build(up_index, tap.header.index, mtu, v6).await {
            // Half a layout is worse than none: put the uplink back before reporting.
            if let Err(e2) = undo(&layout.nl, &layout.snapshot, false).await {
                tracing::error!(error = %e2, "could not undo a partly applied layout");
            } else {
                let _ = remove_state(&layout.state_path);
            }
            return Err(e);
        }
        Ok(layout)
    }

    async fn build(&mut self, up_index: u32, tap_index: u32, mtu: u32, v6: bool) -> Result<()> {
        let s = &self.snapshot;
        let nl = &self.nl;
        let br = self.bridge_index;
        if v6 {
            // Both while still down: the kernel configures IPv6 on an interface as it comes up.
            // A port needs no address, and the TAP's own link-local would only send DAD and
            // Router Solicitations into smoltcp.
            if let Err(e) = sysctl::set_ipv6(&s.tap, "disable_ipv6", 1) {
                tracing::warn!(error = %e, "the TAP keeps IPv6; it gets no address at least");
                nl.no_ipv6_addr_gen(tap_index, &s.tap).await?;
            }
            // The uplink's link-local moves to the bridge and must be its only one.
            nl.no_ipv6_addr_gen(br, &s.bridge).await?;
            // A bridge is created with `conf/default`, which may say off where the uplink is on.
            sysctl::set_ipv6(&s.bridge, "disable_ipv6", 0).map_err(|source| {
                LayoutError::Sysctl {
                    dev: s.bridge.clone(),
                    source,
                }
            })?;
        }
        nl.set(
            "attach the TAP to the bridge",
            LinkUnspec::new_with_index(tap_index)
                .mtu(mtu)
                .controller(br)
                .up()
                .build(),
        )
        .await?;
        nl.set(
            "attach the uplink to the bridge",
            LinkUnspec::new_with_index(up_index)
                .controller(br)
                .up()
                .build(),
        )
        .await?;
        // Unlike IPv4 ones, IPv6 routes outlive the addresses they go through.
        for r in s.routes.iter().filter(|r| r.dst.is_ipv6()) {
            nl.del_route(up_index, r).await?;
        }
        // Secondaries first: removing a primary would take its secondaries with it.
        for a in s.addresses.iter().rev() {
            nl.del_addr(up_index, a.addr, a.prefix, &s.uplink).await?;
        }
        nl.set(
            "bring the bridge up",
            LinkUnspec::new_with_index(br).up().build(),
        )
        .await?;
        for a in &s.addresses {
            nl.add_addr(br, &s.bridge, a).await?;
        }
        for r in &s.routes {
            nl.add_route(br, r).await?;
        }
        self.wait_up().await
    }

    /// Waits until the bridge is operationally up (a port forwards), polling netlink.
    async fn wait_up(&self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + UP_TIMEOUT;
        loop {
            if let Some(l) = self.nl.link_by_index(self.bridge_index).await?
                && link_oper_up(&l)
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LayoutError::NotUp(self.snapshot.bridge.clone(), UP_TIMEOUT));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Puts the uplink back as it was, deletes the bridge and the TAP, removes the VIPs this
    /// layout added to `lo`, and deletes the state file. Drop the `Tap` first.
    pub async fn restore(self) -> Result<()> {
        undo(&self.nl, &self.snapshot, true).await?;
        remove_state(&self.state_path)
    }

    /// The layout as recorded before anything changed.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The bridge's MAC (the uplink's), the destination of relayed frames.
    pub fn bridge_mac(&self) -> [u8; 6] {
        self.snapshot.mac
    }

    /// The node's own addresses (now on the bridge): IPv4 primaries first (the first one in the
    /// VIPs' subnet is the VRRP source address), then IPv6.
    pub fn addresses(&self) -> &[Addr] {
        &self.snapshot.addresses
    }

    /// The bridge's IPv6 link-local address (the uplink's, moved), the default primary address
    /// of IPv6 virtual routers (RFC 9568 §5.1.2.1: IPv6 adverts come from a link-local address).
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.snapshot.addresses.iter().find_map(|a| match a.addr {
            IpAddr::V6(v) if v.is_unicast_link_local() => Some(v),
            _ => None,
        })
    }

    /// Makes `vip` a local address (`/32` or `/128` on `lo`) so the kernel accepts relayed
    /// traffic for it. Recorded in the state file first, so a crash cannot leave it behind
    /// unnoticed.
    pub async fn add_vip(&mut self, vip: IpAddr) -> Result<()> {
        if !self.snapshot.vips.contains(&vip) {
            self.snapshot.vips.push(vip);
            write_state(&self.state_path, &self.snapshot)?;
        }
        let lo = self.nl.need_link("lo").await?;
        // A fresh network namespace has `lo` down, and a VIP on a down `lo` is not local.
        if !lo.header.flags.contains(LinkFlags::Up) {
            self.nl
                .set(
                    "bring lo up",
                    LinkUnspec::new_with_index(lo.header.index).up().build(),
                )
                .await?;
        }
        let a = Addr {
            addr: vip,
            prefix: host_prefix(vip),
            broadcast: None,
            label_suffix: None,
            noprefixroute: false,
            metric: None,
        };
        self.nl.add_addr(lo.header.index, "lo", &a).await
    }

    /// Removes `vip` (`/32` or `/128`) from `lo`; removing one that is not there is not an error.
    pub async fn remove_vip(&mut self, vip: IpAddr) -> Result<()> {
        if let Some(lo) = self.nl.link("lo").await? {
            self.nl
                .del_addr(lo.header.index, vip, host_prefix(vip), "lo")
                .await?;
        }
        if let Some(i) = self.snapshot.vips.iter().position(|v| *v == vip) {
            self.snapshot.vips.remove(i);
            write_state(&self.state_path, &self.snapshot)?;
        }
        Ok(())
    }

    /// Removes any of `vips` found as `/32` or `/128` on `lo`: left by an earlier run that could
    /// not record them, or by hand. Returns the ones removed. Call at start, before anything goes
    /// Active.
    pub async fn remove_stale_vips(&mut self, vips: &[IpAddr]) -> Result<Vec<IpAddr>> {
        let Some(lo) = self.nl.link("lo").await? else {
            return Ok(Vec::new());
        };
        let present = addrs_of(&self.nl.addresses(lo.header.index).await?, "lo");
        let mut removed = Vec::new();
        for a in present
            .iter()
            .filter(|a| a.prefix == host_prefix(a.addr) && vips.contains(&a.addr))
        {
            self.remove_vip(a.addr).await?;
            removed.push(a.addr);
        }
        Ok(removed)
    }
}

/// The prefix length of a single-address subnet, as a VIP sits on `lo`.
fn host_prefix(a: IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn link_name(m: &LinkMessage) -> Option<String> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::AddressHeaderFlags;

    fn v4_default_route() -> Route {
        Route {
            table: 254,
            dst: Ipv4Addr::UNSPECIFIED.into(),
            prefix: 0,
            gateway: Some(Ipv4Addr::new(192, 0, 2, 254).into()),
            pref_src: None,
            metric: Some(100),
            protocol: 4,
            scope: 0,
            tos: 0,
            onlink: false,
        }
    }

    fn v6_addr(addr: &str) -> Addr {
        Addr {
            addr: addr.parse().unwrap(),
            prefix: 64,
            broadcast: None,
            label_suffix: None,
            noprefixroute: false,
            metric: None,
        }
    }

    #[test]
    fn state_file_round_trips() {
        let s = Snapshot {
            uplink: "eth0".into(),
            bridge: "vrrpbr0".into(),
            tap: "vrrptap0".into(),
            mac: [2, 0x42, 0xc0, 0, 2, 1],
            mtu: 1500,
            addresses: vec![
                Addr {
                    addr: Ipv4Addr::new(192, 0, 2, 1).into(),
                    prefix: 24,
                    broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
                    label_suffix: Some(":web".into()),
                    noprefixroute: false,
                    metric: None,
                },
                v6_addr("fe80::42:c0ff:fe00:201"),
                v6_addr("2001:db8::1"),
            ],
            routes: vec![
                v4_default_route(),
                Route {
                    dst: Ipv6Addr::UNSPECIFIED.into(),
                    gateway: Some("fe80::1".parse().unwrap()),
                    metric: Some(1024),
                    protocol: 3,
                    ..v4_default_route()
                },
            ],
            vips: vec![
                Ipv4Addr::new(192, 0, 2, 100).into(),
                "2001:db8::100".parse().unwrap(),
            ],
        };
        let dir = std::env::temp_dir().join(format!("vrrpd-layout-unit-{}", std::process::id()));
        let path = dir.join("eth0.json");
        write_state(&path, &s).unwrap();
        assert_eq!(read_state(&path).unwrap(), Some(s));
        remove_state(&path).unwrap();
        assert_eq!(read_state(&path).unwrap(), None);
        // Removing twice is fine: restore may run after a crash half-way through the last one.
        remove_state(&path).unwrap();
        let _ = fs::remove_dir_all(dir);
    }

    /// A state file as the IPv4-only vrrpd wrote it, left by a `kill -9` before an upgrade.
    #[test]
    fn a_state_file_of_the_ipv4_only_version_loads() {
        let old = r#"{
  "uplink": "eth0",
  "bridge": "vrrpbr0",
  "tap": "vrrptap0",
  "mac": [2, 66, 192, 0, 2, 1],
  "mtu": 1500,
  "addresses": [
    {
      "addr": "192.0.2.1",
      "prefix": 24,
      "broadcast": "192.0.2.255",
      "label_suffix": ":web",
      "noprefixroute": false,
      "metric": null
    }
  ],
  "routes": [
    {
      "table": 254,
      "dst": "0.0.0.0",
      "prefix": 0,
      "gateway": "192.0.2.254",
      "pref_src": null,
      "metric": 100,
      "protocol": 4,
      "scope": 0,
      "tos": 0,
      "onlink": false
    }
  ],
  "vips": ["192.0.2.100"]
}"#;
        let s: Snapshot = serde_json::from_str(old).unwrap();
        assert_eq!(
            s.addresses,
            [Addr {
                addr: Ipv4Addr::new(192, 0, 2, 1).into(),
                prefix: 24,
                broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
                label_suffix: Some(":web".into()),
                noprefixroute: false,
                metric: None,
            }]
        );
        assert_eq!(s.routes, [v4_default_route()]);
        assert_eq!(s.vips, [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
        assert_eq!(s.mac, [2, 0x42, 0xc0, 0, 2, 1]);
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("vrrpd-layout-corrupt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("eth0.json");
        fs::write(&path, b"{not json").unwrap();
        let e = read_state(&path).unwrap_err().to_string();
        assert!(e.contains("eth0.json"), "{e}");
        let _ = fs::remove_dir_all(dir);
    }

    fn addr_msg(addr: &str, prefix: u8, flags: AddressFlags) -> AddressMessage {
        let addr: IpAddr = addr.parse().unwrap();
        let mut m = AddressMessage::default();
        m.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.prefix_len = prefix;
        m.header.flags = AddressHeaderFlags::from_bits_truncate(flags.bits() as u8);
        m.attributes.push(AddressAttribute::Address(addr));
        m.attributes.push(AddressAttribute::Flags(flags));
        m
    }

    /// The dump order of `ip -6 addr` on a kernel: globals before link-locals, newest first.
    #[test]
    fn addresses_come_in_re_add_order_and_only_configured_ipv6_ones() {
        let perm = AddressFlags::Permanent;
        let msgs = [
            addr_msg("2001:db8::99", 64, AddressFlags::Dadfailed | perm),
            addr_msg("2001:db8::2", 64, perm | AddressFlags::Nodad),
            addr_msg(
                "2001:db8::5054:ff:fe12:3456",
                64,
                AddressFlags::Managetempaddr,
            ),
            addr_msg("2001:db8::1", 64, perm | AddressFlags::Noprefixroute),
            addr_msg("192.0.2.11", 24, AddressFlags::Secondary | perm),
            addr_msg("fe80::1", 64, perm | AddressFlags::Tentative),
            addr_msg("192.0.2.1", 24, perm),
        ];
        let got: Vec<(String, bool)> = addrs_of(&msgs, "eth0")
            .iter()
            .map(|a| (format!("{}/{}", a.addr, a.prefix), a.noprefixroute))
            .collect();
        let want = [
            ("192.0.2.1/24", false),
            ("192.0.2.11/24", false),
            ("fe80::1/64", false),
            ("2001:db8::1/64", true),
            ("2001:db8::2/64", false),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(a, n)| (a.to_string(), *n)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn routes_survive_the_trip_through_a_netlink_message() {
        let routes = [
            v4_default_route(),
            Route {
                table: 1000,
                dst: "2001:db8:5::".parse().unwrap(),
                prefix: 48,
                gateway: Some("2001:db8::1".parse().unwrap()),
                pref_src: Some("2001:db8::11".parse().unwrap()),
                metric: Some(50),
                protocol: 3,
                scope: 0,
                tos: 0,
                onlink: false,
            },
            // RFC 8950: an IPv4 route through an IPv6 next hop.
            Route {
                dst: Ipv4Addr::new(198, 51, 100, 0).into(),
                prefix: 24,
                gateway: Some("fe80::1".parse().unwrap()),
                ..v4_default_route()
            },
        ];
        let msgs: Vec<RouteMessage> = routes.iter().map(|r| route_message(7, r)).collect();
        assert_eq!(routes_of(&msgs, 7), routes);
        assert!(routes_of(&msgs, 8).is_empty());
    }

    #[test]
    fn routes_the_kernel_or_an_ra_makes_are_not_moved() {
        let ra = Route {
            dst: Ipv6Addr::UNSPECIFIED.into(),
            gateway: Some("fe80::1".parse().unwrap()),
            protocol: u8::from(RouteProtocol::Ra),
            ..v4_default_route()
        };
        let prefix = Route {
            dst: "fe80::".parse().unwrap(),
            prefix: 64,
            gateway: None,
            protocol: u8::from(RouteProtocol::Kernel),
            ..v4_default_route()
        };
        let multicast = Route {
            dst: "ff00::".parse().unwrap(),
            prefix: 8,
            gateway: None,
            ..v4_default_route()
        };
        let local = Route {
            table: TABLE_LOCAL,
            dst: "2001:db8::11".parse().unwrap(),
            prefix: 128,
            gateway: None,
            ..v4_default_route()
        };
        let msgs: Vec<RouteMessage> = [ra, prefix, multicast, local]
            .iter()
            .map(|r| route_message(7, r))
            .collect();
        assert_eq!(routes_of(&msgs, 7), []);
    }
}
