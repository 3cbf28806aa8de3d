//! The kernel fast path for VIP traffic, fenced by vrrpd's liveness.
//!
//! While vrrpd is Active, frames from the LAN to the virtual MAC (00:00:5e:00:01:VRID for IPv4,
//! 00:00:5e:00:02:VRID for IPv6) should reach the kernel, which serves the VIPs (they are local
//! addresses on `lo`), without a detour through the TAP and user space. [`FastPath`] installs
//! one nftables table of family `netdev` on the uplink (the bridge port that faces the LAN):
//!
//! ```text
//! table netdev vrrpd-<bridge> {
//!     flags owner
//!     set alive { type ether_addr; flags dynamic,timeout; }
//!     map leases4 { typeof @th,8,8 : verdict; }        # VRID -> jump v4-<VRID>
//!     map leases6 { typeof @th,8,8 : verdict; }        # VRID -> jump v6-<VRID>
//!     chain pre {
//!         type filter hook ingress device <uplink> priority -300; policy accept;
//!         ether type arp accept
//!         ether type ip6 meta l4proto ipv6-icmp icmpv6 type 135-136 accept
//!         ether daddr @alive ether daddr set <bridge MAC>
//!     }
//!     chain lease {
//!         type filter hook egress device <uplink> priority 0; policy accept;
//!         ip protocol vrrp @th,8,8 vmap @leases4
//!         ip6 nexthdr vrrp @th,8,8 vmap @leases6
//!     }
//!     chain v4-<VRID> {                                # one per served router
//!         update @alive { <virtual MAC> timeout <Active_Down_Interval> }
//!     }
//! }
//! ```
//!
//! A frame from the LAN to a MAC in `@alive` is rewritten to the bridge's own MAC before the
//! bridge sees it, so the bridge hands it to its host stack; every other frame is bridged as
//! before (to the TAP, where smoltcp is the virtual router). ARP and neighbour
//! solicitations/advertisements stay with smoltcp even when unicast to the virtual MAC: a
//! client's unicast ARP or NUD probe must be answered by the virtual router. The kernel leaves
//! them unanswered (the VIP is not on the bridge), the client's entry fails, and it loses the VIP
//! until it resolves it again. Hooking the uplink device, not the bridge, keeps the table to its
//! own LAN (one VRID's MAC may be in use on two), and its egress hook sees every advert that
//! leaves, whichever way it was sent: from a packet socket on the uplink (multicast, see
//! [`super::uplink`]), from the TAP through the bridge, or from the host's raw socket
//! (unicast).
//!
//! # Older kernels
//! The `netdev` egress hook came with Linux 5.16. Where the kernel refuses it (or the `netdev`
//! family), [`FastPath::install`] installs the same table in the `bridge` family instead: `pre`
//! on the bridge's `prerouting` hook, matching `iifname <uplink>` and also setting `meta pkttype
//! host` (inside the bridge the frame is already classified), and `lease` on its `postrouting`
//! hook, matching `oifname <uplink>`. Its leases are renewed by adverts crossing the bridge, so
//! with it multicast adverts keep going through the TAP.
//!
//! # The fence
//! An element of `@alive` expires by itself, Active_Down_Interval (RFC 9568 §6.1) after it was
//! last renewed, and what renews it is the router's own advert leaving on the uplink: the
//! `lease` chain sends each advert through the verdict map of its family to its router's
//! chain, whose `update` restarts the timeout, in the kernel, on the advert's way out. When vrrpd is frozen (`SIGSTOP`,
//! `docker pause`), its adverts stop and the kernel stops answering for the VIPs on the same
//! deadline the Backups take over on, with no process left to clean up. The table is owned by
//! the netlink socket (`NFT_TABLE_F_OWNER`): when vrrpd dies, the kernel deletes it at once.
//! [`FastPath::serve`] starts a lease (the first element, with its timeout, and the router's
//! chain) and [`FastPath::withdraw`] ends it, each one transaction on a state change; nothing is
//! sent to the kernel per advert. (Renewing from user space costs a netlink transaction every
//! second advert, about 10-14 µs of kernel time each: a sixth of an Active's CPU at 10 ms.)
//!
//! That is why this is nftables rather than a plain `tc` pedit rule or a BPF program attached
//! to the bridge: those stay in the kernel, unchanged, after the daemon that installed them is
//! frozen or killed, so a dead node would keep answering for the VIPs next to the new Active.
//! A set element with a timeout is a kernel timer that only the daemon's adverts push forward.
//! The `update` must name its timeout: without one the kernel restarts the element with the
//! set's timeout (none: the element would never expire), not the element's own.
//!
//! # The protocol
//! vrrpd does not run `nft`: it speaks nf_tables netlink (`NETLINK_NETFILTER`) itself, one
//! socket kept open, each change one batch (one transaction: all or nothing). Re-adding an
//! element that is there does not restart its timeout (kernel 6.18 does only when the timeout
//! value changes), so starting a lease is add (a no-op if present), delete, add, in one batch.
//!
//! The messages are written by hand in `wire` (a few hundred lines, checked against the bytes
//! `nft --debug=mnl` sends). rustables (GPL-3.0, bindgen) and nftnl (C libnftnl) do not fit a
//! static musl build, and the `nftables` crate runs `nft`. netlink-packet-netfilter (MIT, from
//! the rust-netlink family vrrpd already uses) has typed nf_tables messages since 0.4; this
//! encoder stays because it covers exactly the dozen message kinds used here and its bytes are
//! tested against nft's.

mod wire;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

use wire::{
    Base, Batch, CmpOp, MetaKey, NF_BR_POST_ROUTING, NF_BR_PRE_ROUTING, NF_NETDEV_EGRESS,
    NF_NETDEV_INGRESS, NFT_REG_1, Sent,
};

/// The set of virtual MACs whose frames go to the kernel.
const SET: &str = "alive";
/// Names the set inside the install batch, before it has a handle.
const SET_ID: u32 = 1;
const CHAIN: &str = "pre";
/// The chain that sees every frame leaving on the uplink, where adverts renew leases.
const LEASE_CHAIN: &str = "lease";
/// Verdict maps from VRID to the lease chain of that router, one per address family: name,
/// batch ID, EtherType, and where the IP header names the next protocol.
const LEASES: [(&str, u32, [u8; 2], u32); 2] = [
    ("leases4", 2, [0x08, 0x00], 9),
    ("leases6", 3, [0x86, 0xdd], 6),
];
/// The IP protocol number of VRRP.
const VRRP: u8 = 112;
/// Early on the uplink's way in: before any filtering a firewall may do there.
const PRIORITY: i32 = -300;
/// `ARPHRD_ETHER` as `meta iiftype` holds it (host order). nft writes this test before every
/// `ether` match in a `netdev` table, and reads the rule back as `ether ...` only with it.
const IIFTYPE_ETHER: [u8; 2] = 1u16.to_ne_bytes();
/// `PACKET_HOST` (`linux/if_packet.h`).
const PACKET_HOST: u8 = 0;
/// Interface names are at most 15 bytes plus a NUL (`IFNAMSIZ`).
const IFNAMSIZ: usize = 16;
/// The kernel answers a batch before `send` returns; this only bounds a kernel that does not.
const ACK_WAIT: Duration = Duration::from_secs(1);
/// Room for any ack (requests are not echoed back: `NETLINK_CAP_ACK`).
const RX_LEN: usize = 8192;

/// The nftables fast path of one bridge (see the module documentation).
///
/// Dropping it without [`FastPath::remove`] closes its socket, and the kernel deletes the table
/// exactly as it does when vrrpd is killed.
pub struct FastPath {
    sock: Socket,
    family: Family,
    table: String,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl fmt::Debug for FastPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastPath")
            .field("family", &self.family)
            .field("table", &self.table)
            .finish()
    }
}

impl FastPath {
    /// Installs the table of `bridge` (named `vrrpd-<bridge>`), diverting frames that come in on
    /// the bridge port `uplink` for a virtual MAC in the set to `bridge_mac`, and renewing a
    /// served router's lease from its adverts leaving on `uplink`. A table of that
    /// name that an earlier run left is replaced, in the same transaction; one that a live
    /// process owns is not (`PermissionDenied`). The set starts empty: nothing is diverted
    /// until [`FastPath::serve`].
    pub fn install(bridge: &str, uplink: &str, bridge_mac: [u8; 6]) -> io::Result<FastPath> {
        match FastPath::install_as(Family::Netdev, bridge, uplink, bridge_mac) {
            Err(e) if kernel_lacks(&e) => {
                FastPath::install_as(Family::Bridge, bridge, uplink, bridge_mac)
                    .map_err(|b| io::Error::new(b.kind(), format!("{b}; as a netdev table: {e}")))
            }
            r => r,
        }
    }

    /// [`FastPath::install`] as a table of `family`, with no fallback.
    pub(crate) fn install_as(
        family: Family,
        bridge: &str,
        uplink: &str,
        bridge_mac: [u8; 6],
    ) -> io::Result<FastPath> {
        let uplink_name = ifname(uplink)?;
        let mut fp = FastPath::open(bridge, family)?;
        // A netdev chain hooks the uplink itself; a bridge chain sees every bridge of the
        // namespace, so its rules name the uplink (one VRID's MAC may be in use on two LANs).
        // `meta ibrname` would say that directly, but needs `nft_meta_bridge`, which some
        // kernels lack.
        let (device, pre_hook, lease_hook) = match family {
            Family::Netdev => (Some(uplink), NF_NETDEV_INGRESS, NF_NETDEV_EGRESS),
            Family::Bridge => (None, NF_BR_PRE_ROUTING, NF_BR_POST_ROUTING),
        };
        // nft writes `meta iiftype ether` before every `ether` match in a netdev table, and
        // reads such a rule back as `ether ...` only with it.
        let ether = |e: &mut wire::Exprs<'_>| {
            if family == Family::Netdev {
                e.meta_load(MetaKey::IifType, NFT_REG_1)
                    .cmp(CmpOp::Eq, NFT_REG_1, &IIFTYPE_ETHER);
            }
        };
        fp.transact(|b, table| {
            b.add_table(table, false, false);
            b.del_table(table);
            b.add_table(table, true, true);
            b.add_mac_set(table, SET, SET_ID);
            for (map, id, _, _) in LEASES {
                b.add_byte_vmap(table, map, id);
            }
            b.add_base_chain(table, CHAIN, pre_hook, device, PRIORITY);
            b.add_rule("add rule (ARP)", table, CHAIN, |e| {
                ether(e);
                e.payload_load(Base::Link, 12, 2, NFT_REG_1)
                    .cmp(CmpOp::Eq, NFT_REG_1, &[0x08, 0x06])
                    .accept();
            });
            b.add_rule("add rule (neighbour discovery)", table, CHAIN, |e| {
                ether(e);
                e.payload_load(Base::Link, 12, 2, NFT_REG_1)
                    .cmp(CmpOp::Eq, NFT_REG_1, &[0x86, 0xdd])
                    .meta_load(MetaKey::L4Proto, NFT_REG_1)
                    .cmp(CmpOp::Eq, NFT_REG_1, &[58])
                    .payload_load(Base::Transport, 0, 1, NFT_REG_1)
                    .cmp(CmpOp::Gte, NFT_REG_1, &[135])
                    .cmp(CmpOp::Lte, NFT_REG_1, &[136])
                    .accept();
            });
            b.add_rule("add rule (virtual MAC)", table, CHAIN, |e| {
                ether(e);
                if family == Family::Bridge {
                    e.meta_load(MetaKey::IifName, NFT_REG_1).cmp(
                        CmpOp::Eq,
                        NFT_REG_1,
                        &uplink_name,
                    );
                }
                e.payload_load(Base::Link, 0, 6, NFT_REG_1)
                    .lookup(SET, SET_ID, NFT_REG_1)
                    .immediate(NFT_REG_1, &bridge_mac)
                    .payload_write(Base::Link, 0, 6, NFT_REG_1);
                // Before the bridge, the bridge itself marks a frame for its own MAC
                // PACKET_HOST and hands it to the host's stack; inside it, that is ours to do.
                if family == Family::Bridge {
                    e.immediate(NFT_REG_1, &[PACKET_HOST])
                        .meta_set(MetaKey::PktType, NFT_REG_1);
                }
            });
            b.add_base_chain(table, LEASE_CHAIN, lease_hook, device, 0);
            for (map, id, ethertype, protocol_at) in LEASES {
                b.add_rule(
                    "add rule (advert renews its lease)",
                    table,
                    LEASE_CHAIN,
                    |e| {
                        if family == Family::Bridge {
                            e.meta_load(MetaKey::OifName, NFT_REG_1).cmp(
                                CmpOp::Eq,
                                NFT_REG_1,
                                &uplink_name,
                            );
                        }
                        // `meta protocol` and the IP header's protocol field, as nft writes
                        // `ip protocol vrrp`: nft 1.0.6 aborts listing a rule with
                        // `meta l4proto` and `@th`, and `nft -j list tables` aborts on an
                        // EtherType loaded from the link header before a lookup (anyone's
                        // firewall tooling would). Adverts carry no IPv6 extension headers.
                        e.meta_load(MetaKey::Protocol, NFT_REG_1)
                            .cmp(CmpOp::Eq, NFT_REG_1, &ethertype)
                            .payload_load(Base::Network, protocol_at, 1, NFT_REG_1)
                            .cmp(CmpOp::Eq, NFT_REG_1, &[VRRP])
                            // The VRID: the second byte of the advert, in VRRPv2 as in v3.
                            .payload_load(Base::Transport, 1, 1, NFT_REG_1)
                            .lookup_verdict(map, id, NFT_REG_1);
                    },
                );
            }
        })?;
        Ok(fp)
    }

    /// Serves `lease` from now on: frames for its MAC go to the kernel for `lease.timeout`, and
    /// every advert of its router that leaves on the uplink restarts that timeout, in the
    /// kernel. Must not be serving it already (see [`FastPath::withdraw`]).
    pub fn serve(&mut self, lease: &Lease) -> io::Result<()> {
        let ms = timeout_ms(lease.timeout)?;
        let chain = lease.chain();
        self.transact(|b, table| {
            b.add_chain(table, &chain);
            add_lease_rule(b, table, &chain, lease.mac, ms);
            b.add_jump(table, lease.map(), &[lease.vrid], &chain);
            b.add_elem(table, SET, &lease.mac, Some(ms));
            b.del_elem(table, SET, &lease.mac);
            b.add_elem(table, SET, &lease.mac, Some(ms));
        })
    }

    /// A served lease's timeout changed (a new priority changes Skew_Time): the next adverts
    /// renew it for `lease.timeout`.
    pub fn renew_for(&mut self, lease: &Lease) -> io::Result<()> {
        let ms = timeout_ms(lease.timeout)?;
        let chain = lease.chain();
        self.transact(|b, table| {
            b.flush_chain(table, &chain);
            add_lease_rule(b, table, &chain, lease.mac, ms);
        })
    }

    /// Stops serving `lease` now (Backup, shutdown): its frames and its adverts no longer
    /// reach the table. It must be served.
    pub fn withdraw(&mut self, lease: &Lease) -> io::Result<()> {
        let chain = lease.chain();
        self.transact(|b, table| {
            b.del_elems(table, lease.map(), [&[lease.vrid][..]]);
            b.flush_chain(table, &chain);
            b.del_chain(table, &chain);
            // Adding first makes the delete succeed whether or not the element had expired.
            b.add_elem(table, SET, &lease.mac, Some(1));
            b.del_elem(table, SET, &lease.mac);
        })
    }

    /// Lets frames for `mac` through to the kernel until `timeout` from now, whether or not they
    /// were already, with no router's adverts renewing it (a test's stand-in for
    /// [`FastPath::serve`]).
    #[cfg(test)]
    fn refresh(&mut self, mac: [u8; 6], timeout: Duration) -> io::Result<()> {
        let ms = timeout_ms(timeout)?;
        self.transact(|b, table| {
            b.add_elem(table, SET, &mac, Some(ms));
            b.del_elem(table, SET, &mac);
            b.add_elem(table, SET, &mac, Some(ms));
        })
    }

    /// Deletes the table (clean stop); fine if it is already gone.
    pub fn remove(mut self) -> io::Result<()> {
        match self.transact(|b, table| b.del_table(table)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// Deletes the table of `bridge` that an earlier run left, if any; true if there was one.
    /// A table owned by a live process (a frozen vrrpd) is `PermissionDenied`.
    pub fn remove_leftover(bridge: &str) -> io::Result<bool> {
        let mut found = false;
        for family in [Family::Netdev, Family::Bridge] {
            let mut fp = FastPath::open(bridge, family)?;
            match fp.transact(|b, table| b.del_table(table)) {
                Ok(()) => found = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound || kernel_lacks(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Which kind of table it is.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The table's name, `vrrpd-<bridge>`.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn open(bridge: &str, family: Family) -> io::Result<FastPath> {
        ifname(bridge)?;
        let mut sock = Socket::new(wire::NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_cap_ack(true)?;
        sock.set_ext_ack(true)?;
        let wait = TimeVal::new(ACK_WAIT.as_secs() as _, 0);
        setsockopt(&sock, sockopt::ReceiveTimeout, &wait)?;
        Ok(FastPath {
            sock,
            family,
            table: format!("vrrpd-{bridge}"),
            seq: 1,
            tx: Vec::with_capacity(1024),
            rx: vec![0; RX_LEN],
        })
    }

    /// Sends one batch that `build` fills, and waits for the kernel's verdict on it.
    fn transact(&mut self, build: impl FnOnce(&mut Batch<'_>, &str)) -> io::Result<()> {
        let mut batch = Batch::new(&mut self.tx, self.seq, self.family.nfproto());
        build(&mut batch, &self.table);
        let sent = batch.finish();
        self.seq = sent.end.wrapping_add(1);
        let n = self.sock.send(&self.tx, 0)?;
        if n != self.tx.len() {
            return Err(io::Error::other(format!(
                "nf_tables: sent {n} of {} bytes",
                self.tx.len()
            )));
        }
        self.await_verdict(&sent)
    }

    /// Reads the kernel's answers to `sent` up to the one that ends it; the first error wins.
    fn await_verdict(&mut self, sent: &Sent) -> io::Result<()> {
        let mut failure: Option<NftError> = None;
        loop {
            let mut buf = &mut self.rx[..];
            let n = match self.sock.recv(&mut buf, 0) {
                Ok(n) => n.min(self.rx.len()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(match failure {
                        Some(f) => f.into(),
                        None => io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("nf_tables: no answer to a batch on table {}", self.table),
                        ),
                    });
                }
                Err(e) => return Err(e),
            };
            let mut done = false;
            for ack in wire::acks(&self.rx[..n]) {
                if !sent.contains(ack.seq) {
                    continue;
                }
                if ack.errno != 0 && failure.is_none() {
                    failure = Some(NftError {
                        family: self.family,
                        op: sent.op(ack.seq),
                        table: self.table.clone(),
                        errno: ack.errno,
                        detail: ack.msg.map(str::to_owned),
                    });
                }
                // An error on a batch marker means the kernel dropped the whole batch.
                done |= Some(ack.seq) == sent.acked || ack.seq == sent.first || ack.seq == sent.end;
            }
            if done {
                return match failure {
                    Some(f) => Err(f.into()),
                    None => Ok(()),
                };
            }
        }
    }
}

/// The kind of table: on the uplink device (`netdev`, Linux 5.16 and later, for the egress
/// hook), or on the bridge (`bridge`, older kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Netdev,
    Bridge,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Netdev => "netdev",
            Family::Bridge => "bridge",
        }
    }

    fn nfproto(self) -> u8 {
        match self {
            Family::Netdev => wire::NFPROTO_NETDEV,
            Family::Bridge => wire::NFPROTO_BRIDGE,
        }
    }
}

/// Whether `e` says that the kernel lacks a table family or its hooks (as opposed to a table
/// that a live process owns, or a missing privilege, which the other family would meet as
/// well).
fn kernel_lacks(e: &io::Error) -> bool {
    let lacks = |errno| {
        matches!(
            errno,
            libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::ENOENT | libc::EINVAL
        )
    };
    e.raw_os_error().is_some_and(lacks)
        || e.get_ref()
            .and_then(|i| i.downcast_ref::<NftError>())
            .is_some_and(|n| lacks(n.errno))
}

/// A router whose VIP traffic the fast path serves: its virtual MAC, for how long after each of
/// its adverts (its Active_Down_Interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub vrid: u8,
    pub v6: bool,
    pub mac: [u8; 6],
    pub timeout: Duration,
}

impl Lease {
    fn chain(&self) -> String {
        format!("v{}-{}", if self.v6 { 6 } else { 4 }, self.vrid)
    }

    fn map(&self) -> &'static str {
        LEASES[usize::from(self.v6)].0
    }
}

/// The lease chain's one rule: restart `mac`'s timeout.
fn add_lease_rule(b: &mut Batch<'_>, table: &str, chain: &str, mac: [u8; 6], ms: u64) {
    b.add_rule("add rule (renew the lease)", table, chain, |e| {
        e.immediate(NFT_REG_1, &mac)
            .dynset_update(SET, NFT_REG_1, ms);
    });
}

/// A timeout in whole milliseconds, rounded up; the kernel truncates it to whole jiffies (4 ms at
/// 250 Hz), so an element runs out up to a jiffy early, never late: the fence holds before a
/// Backup's takeover. Zero is `InvalidInput`.
fn timeout_ms(timeout: Duration) -> io::Result<u64> {
    match timeout.as_nanos().div_ceil(1_000_000) {
        0 => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "fast path: a lease needs a timeout above zero",
        )),
        t => Ok(u64::try_from(t).unwrap_or(u64::MAX)),
    }
}

/// `name` as a 16-byte, NUL-padded interface name, or `InvalidInput`.
fn ifname(name: &str) -> io::Result<[u8; IFNAMSIZ]> {
    let mut out = [0; IFNAMSIZ];
    if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(['\0', '/']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fast path: {name:?} is not an interface name (1 to 15 bytes)"),
        ));
    }
    out[..name.len()].copy_from_slice(name.as_bytes());
    Ok(out)
}

/// The kernel refused a message of a batch (and with it the whole batch).
#[derive(Debug)]
struct NftError {
    family: Family,
    op: &'static str,
    table: String,
    errno: i32,
    detail: Option<String>,
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(
            f,
            "nf_tables, table {} {}: {}: {os}",
            self.family.as_str(),
            self.table,
            self.op
        )?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if self.errno == libc::EPERM {
            // Without CAP_NET_ADMIN, the first batch of the socket fails the same way.
            f.write_str(" (another live process owns the table, or vrrpd lacks CAP_NET_ADMIN)")?;
        }
        Ok(())
    }
}

impl std::error::Error for NftError {}

impl From<NftError> for io::Error {
    fn from(e: NftError) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(e.errno).kind(), e)
    }
}
