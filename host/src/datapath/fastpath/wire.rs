//! The nf_tables netlink messages the fast path sends, and the acknowledgements it reads.
//!
//! Layouts follow `linux/netlink.h`, `linux/netfilter/nfnetlink.h` and
//! `linux/netfilter/nf_tables.h`: a netlink header, a `nfgenmsg`, then attributes. Attribute
//! headers are in host order; nf_tables puts every number inside an attribute in network order.
//! Everything is written into a caller's `Vec<u8>`, so a batch reuses the vector's capacity.

/// `NETLINK_NETFILTER` (`linux/netlink.h`).
pub const NETLINK_NETFILTER: isize = 12;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
/// In an ack: the request was not echoed back (`NETLINK_CAP_ACK`).
const NLM_F_CAPPED: u16 = 0x100;
/// In an ack: extended-ack attributes follow (`NETLINK_EXT_ACK`).
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const AF_UNSPEC: u8 = 0;
/// `NFPROTO_NETDEV`: a table whose chains hook one device (the uplink) on its way in and out.
pub const NFPROTO_NETDEV: u8 = 5;
/// `NFPROTO_BRIDGE`: a table whose chains see every frame crossing the namespace's bridges.
pub const NFPROTO_BRIDGE: u8 = 7;

// enum nf_tables_msg_types
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_DELCHAIN: u16 = 5;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_DELRULE: u16 = 8;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

const NFTA_LIST_ELEM: u16 = 1;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
/// The table belongs to the netlink socket that created it: the kernel deletes it when that
/// socket closes (the process exits or is killed), and no other socket may change it.
const NFT_TABLE_F_OWNER: u32 = 0x2;

const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_HOOK_DEV: u16 = 3;

const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;

const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_ID: u16 = 10;
const NFT_SET_MAP: u32 = 0x8;
const NFT_SET_TIMEOUT: u32 = 0x10;
/// Updated from the packet path (`dynset`).
const NFT_SET_EVAL: u32 = 0x20;
/// nft's `TYPE_ETHERADDR` (`include/datatype.h` in nftables): only `nft list` reads it.
const TYPE_INTEGER: u32 = 4;
const TYPE_ETHERADDR: u32 = 9;
/// The data type of a verdict map (`NFT_DATA_VERDICT`).
const NFT_DATA_VERDICT: u32 = 0xffff_ff00;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;

const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
/// `NFT_JUMP` (-3) as the kernel reads it.
const NFT_JUMP: u32 = -3i32 as u32;
const NF_ACCEPT: u32 = 1;

const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;

const NFT_REG_VERDICT: u32 = 0;
/// The first 16-byte data register.
pub const NFT_REG_1: u32 = 1;

const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;

const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;

const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_DREG: u16 = 3;
const NFTA_LOOKUP_SET_ID: u16 = 4;

const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_PAYLOAD_SREG: u16 = 5;

const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_META_SREG: u16 = 3;

const NFTA_DYNSET_SET_NAME: u16 = 1;
const NFTA_DYNSET_OP: u16 = 3;
const NFTA_DYNSET_SREG_KEY: u16 = 4;
const NFTA_DYNSET_TIMEOUT: u16 = 6;
/// `NFT_DYNSET_OP_UPDATE`: add the key, or restart its timeout if it is there.
const NFT_DYNSET_OP_UPDATE: u32 = 1;

/// `enum nft_cmp_ops`.
#[derive(Clone, Copy)]
pub enum CmpOp {
    Eq = 0,
    Lte = 3,
    Gte = 5,
}

/// `enum nft_payload_bases`.
#[derive(Clone, Copy)]
pub enum Base {
    Link = 0,
    Network = 1,
    Transport = 2,
}

/// `enum nft_meta_keys`.
#[derive(Clone, Copy)]
pub enum MetaKey {
    /// The EtherType (`skb->protocol`, two bytes, network order).
    Protocol = 1,
    /// The receiving device's hardware type (`dev->type`, two bytes, host order).
    IifType = 8,
    /// The bridge port a frame came in on (`dev->name`, 16 bytes).
    IifName = 6,
    /// The bridge port a frame leaves on (16 bytes).
    OifName = 7,
    /// `skb->pkt_type`.
    PktType = 19,
    /// The layer-4 protocol number (one byte).
    L4Proto = 16,
}

/// `NF_BR_PRE_ROUTING`: every frame entering a bridge, before its forwarding decision.
pub const NF_BR_PRE_ROUTING: u32 = 0;
/// `NF_BR_POST_ROUTING`: every frame leaving on a bridge port, forwarded or the host's own.
pub const NF_BR_POST_ROUTING: u32 = 4;

/// `NF_NETDEV_INGRESS`: every frame the device receives, before the bridge sees it.
pub const NF_NETDEV_INGRESS: u32 = 0;
/// `NF_NETDEV_EGRESS`: every frame the device sends: forwarded by the bridge, the host's own,
/// or written to a packet socket bound to it.
pub const NF_NETDEV_EGRESS: u32 = 1;

/// A netlink attribute header plus `data`, padded to 4 bytes.
fn put_attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    // Every attribute the fast path writes is far below 64 KiB (names are checked at install).
    let len = (4 + data.len()) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    pad(buf);
}

fn pad(buf: &mut Vec<u8>) {
    let padded = buf.len().next_multiple_of(4);
    buf.resize(padded, 0);
}

fn put_u32(buf: &mut Vec<u8>, ty: u16, v: u32) {
    put_attr(buf, ty, &v.to_be_bytes());
}

/// A NUL-terminated string, as nf_tables wants its names.
fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let len = (4 + s.len() + 1) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
    pad(buf);
}

fn nest(buf: &mut Vec<u8>, ty: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    body(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    buf[start + 2..start + 4].copy_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
}

/// `NFTA_DATA_VALUE` inside the nest `ty`.
fn put_value(buf: &mut Vec<u8>, ty: u16, value: &[u8]) {
    nest(buf, ty, |b| put_attr(b, NFTA_DATA_VALUE, value));
}

/// The expressions of one rule, in evaluation order (`NFTA_RULE_EXPRESSIONS`).
pub struct Exprs<'a> {
    buf: &'a mut Vec<u8>,
}

impl Exprs<'_> {
    fn expr(&mut self, name: &str, data: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        nest(self.buf, NFTA_LIST_ELEM, |b| {
            put_str(b, NFTA_EXPR_NAME, name);
            nest(b, NFTA_EXPR_DATA, data);
        });
        self
    }

    /// `payload load`: `len` bytes at `offset` from `base` into `dreg`.
    pub fn payload_load(&mut self, base: Base, offset: u32, len: u32, dreg: u32) -> &mut Self {
        self.expr("payload", |b| {
            put_u32(b, NFTA_PAYLOAD_DREG, dreg);
            put_u32(b, NFTA_PAYLOAD_BASE, base as u32);
            put_u32(b, NFTA_PAYLOAD_OFFSET, offset);
            put_u32(b, NFTA_PAYLOAD_LEN, len);
        })
    }

    /// `payload write`: `len` bytes of `sreg` at `offset` from `base`, no checksum update
    /// (the link-layer header has none).
    pub fn payload_write(&mut self, base: Base, offset: u32, len: u32, sreg: u32) -> &mut Self {
        self.expr("payload", |b| {
            put_u32(b, NFTA_PAYLOAD_SREG, sreg);
            put_u32(b, NFTA_PAYLOAD_BASE, base as u32);
            put_u32(b, NFTA_PAYLOAD_OFFSET, offset);
            put_u32(b, NFTA_PAYLOAD_LEN, len);
        })
    }

    /// `cmp`: the rule stops unless `sreg op data`.
    pub fn cmp(&mut self, op: CmpOp, sreg: u32, data: &[u8]) -> &mut Self {
        self.expr("cmp", |b| {
            put_u32(b, NFTA_CMP_SREG, sreg);
            put_u32(b, NFTA_CMP_OP, op as u32);
            put_value(b, NFTA_CMP_DATA, data);
        })
    }

    /// `lookup`: the rule stops unless `sreg` is an element of `set` (created in this batch
    /// with `set_id`).
    pub fn lookup(&mut self, set: &str, set_id: u32, sreg: u32) -> &mut Self {
        self.lookup_into(set, set_id, sreg, None)
    }

    /// `lookup` in the verdict map `set` (created in this batch with `set_id`): the verdict
    /// of `sreg`'s element (a jump), or nothing if it has none.
    pub fn lookup_verdict(&mut self, set: &str, set_id: u32, sreg: u32) -> &mut Self {
        self.lookup_into(set, set_id, sreg, Some(NFT_REG_VERDICT))
    }

    /// `lookup` of `sreg` in `set`, the element's data into `dreg` for a map.
    fn lookup_into(&mut self, set: &str, set_id: u32, sreg: u32, dreg: Option<u32>) -> &mut Self {
        self.expr("lookup", |b| {
            put_u32(b, NFTA_LOOKUP_SREG, sreg);
            put_str(b, NFTA_LOOKUP_SET, set);
            put_u32(b, NFTA_LOOKUP_SET_ID, set_id);
            if let Some(dreg) = dreg {
                put_u32(b, NFTA_LOOKUP_DREG, dreg);
            }
        })
    }

    /// `dynset update`: adds `sreg` to `set`, or restarts its timeout, expiring `timeout_ms`
    /// from now. The timeout must be given: without one the kernel takes the set's (none, so
    /// the element would never expire), not the element's own.
    pub fn dynset_update(&mut self, set: &str, sreg: u32, timeout_ms: u64) -> &mut Self {
        self.expr("dynset", |b| {
            put_str(b, NFTA_DYNSET_SET_NAME, set);
            put_u32(b, NFTA_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
            put_u32(b, NFTA_DYNSET_SREG_KEY, sreg);
            put_attr(b, NFTA_DYNSET_TIMEOUT, &timeout_ms.to_be_bytes());
        })
    }

    /// `immediate`: loads `data` into `dreg`.
    pub fn immediate(&mut self, dreg: u32, data: &[u8]) -> &mut Self {
        self.expr("immediate", |b| {
            put_u32(b, NFTA_IMMEDIATE_DREG, dreg);
            put_value(b, NFTA_IMMEDIATE_DATA, data);
        })
    }

    /// The verdict `accept`: this chain is done with the frame, which goes on unchanged.
    pub fn accept(&mut self) -> &mut Self {
        self.expr("immediate", |b| {
            put_u32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
            nest(b, NFTA_IMMEDIATE_DATA, |b| {
                nest(b, NFTA_DATA_VERDICT, |b| {
                    put_u32(b, NFTA_VERDICT_CODE, NF_ACCEPT)
                });
            });
        })
    }

    /// `meta load`: the packet's `key` into `dreg`.
    /// `meta set`: the packet's `key` from `sreg`.
    pub fn meta_set(&mut self, key: MetaKey, sreg: u32) -> &mut Self {
        self.expr("meta", |b| {
            put_u32(b, NFTA_META_KEY, key as u32);
            put_u32(b, NFTA_META_SREG, sreg);
        })
    }

    pub fn meta_load(&mut self, key: MetaKey, dreg: u32) -> &mut Self {
        self.expr("meta", |b| {
            put_u32(b, NFTA_META_DREG, dreg);
            put_u32(b, NFTA_META_KEY, key as u32);
        })
    }
}

/// How many messages one batch can hold, between its begin and end markers.
pub const MAX_OPS: usize = 16;

/// One nfnetlink batch (one transaction: the kernel applies all of it or none of it).
///
/// Only the last message asks for an ack: the kernel reports an error for any message that
/// fails anyway, and all reports of a batch are queued before `send` returns, ending with the
/// last message's ack.
pub struct Batch<'a> {
    buf: &'a mut Vec<u8>,
    seq: u32,
    first: u32,
    ops: [&'static str; MAX_OPS],
    n: usize,
    last_start: Option<usize>,
    /// The `NFPROTO_*` of every message's table.
    family: u8,
}

/// What `Batch::finish` tells about the batch it closed, to match the kernel's answers.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    /// The sequence number of the begin marker; messages follow at `first + 1 ..`.
    pub first: u32,
    /// The sequence number of the end marker.
    pub end: u32,
    /// The message that asked for the ack (the last one), or `None` for an empty batch.
    pub acked: Option<u32>,
    ops: [&'static str; MAX_OPS],
}

impl Sent {
    /// What the message with sequence number `seq` was doing, for error messages.
    pub fn op(&self, seq: u32) -> &'static str {
        if seq == self.first {
            return "batch begin";
        }
        if seq == self.end {
            return "batch end";
        }
        let i = seq.wrapping_sub(self.first).wrapping_sub(1) as usize;
        self.ops.get(i).copied().unwrap_or("unknown message")
    }

    /// Whether `seq` belongs to this batch (the kernel may still hold answers to an earlier one
    /// that timed out).
    pub fn contains(&self, seq: u32) -> bool {
        seq.wrapping_sub(self.first) <= self.end.wrapping_sub(self.first)
    }
}

impl<'a> Batch<'a> {
    /// Clears `buf` and starts a batch whose begin marker has sequence number `seq`, on tables
    /// of `family` (`NFPROTO_NETDEV` or `NFPROTO_BRIDGE`).
    pub fn new(buf: &'a mut Vec<u8>, seq: u32, family: u8) -> Self {
        buf.clear();
        let mut batch = Batch {
            buf,
            seq,
            first: seq,
            ops: [""; MAX_OPS],
            n: 0,
            last_start: None,
            family,
        };
        let start = batch.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, AF_UNSPEC);
        batch.finish_msg(start);
        batch
    }

    /// Writes a netlink header and a `nfgenmsg`; returns where the message starts.
    fn header(&mut self, ty: u16, flags: u16, family: u8) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.push(family);
        self.buf.push(0); // NFNETLINK_V0
        // The batch markers name the subsystem they wrap; the messages inside leave it 0.
        let res_id = if family == AF_UNSPEC {
            NFNL_SUBSYS_NFTABLES
        } else {
            0
        };
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        start
    }

    fn finish_msg(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// Adds one nf_tables message; `body` writes its attributes.
    ///
    /// # Panics
    /// If the batch already holds `MAX_OPS` messages (a bug in this module, never input).
    fn op(&mut self, what: &'static str, msg: u16, flags: u16, body: impl FnOnce(&mut Vec<u8>)) {
        assert!(self.n < MAX_OPS, "nf_tables batch over {MAX_OPS} messages");
        self.ops[self.n] = what;
        self.n += 1;
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | msg;
        let start = self.header(ty, NLM_F_REQUEST | flags, self.family);
        body(self.buf);
        self.finish_msg(start);
        self.last_start = Some(start);
    }

    /// Closes the batch: asks for an ack on its last message and appends the end marker.
    pub fn finish(mut self) -> Sent {
        let acked = self.last_start.map(|start| {
            let flags_at = start + 6;
            let flags = u16::from_ne_bytes([self.buf[flags_at], self.buf[flags_at + 1]]);
            self.buf[flags_at..flags_at + 2].copy_from_slice(&(flags | NLM_F_ACK).to_ne_bytes());
            self.seq.wrapping_sub(1)
        });
        let end = self.seq;
        let start = self.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, AF_UNSPEC);
        self.finish_msg(start);
        Sent {
            first: self.first,
            end,
            acked,
            ops: self.ops,
        }
    }

    /// Creates table `name`; an existing one is kept (and left as it is) unless `exclusive`.
    /// With `owned`, the table lives only as long as this netlink socket.
    pub fn add_table(&mut self, name: &str, exclusive: bool, owned: bool) {
        let flags = NLM_F_CREATE | if exclusive { NLM_F_EXCL } else { 0 };
        self.op("create table", NFT_MSG_NEWTABLE, flags, |b| {
            put_str(b, NFTA_TABLE_NAME, name);
            // Without the attribute, an existing table keeps its flags rather than failing
            // on a change of owner.
            if owned {
                put_u32(b, NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);
            }
        });
    }

    /// Deletes table `name` with everything in it.
    pub fn del_table(&mut self, name: &str) {
        self.op("delete table", NFT_MSG_DELTABLE, 0, |b| {
            put_str(b, NFTA_TABLE_NAME, name);
        });
    }

    /// Creates a set of Ethernet addresses whose elements carry a timeout, which rules may
    /// update (`dynset`).
    pub fn add_mac_set(&mut self, table: &str, set: &str, set_id: u32) {
        self.op(
            "create set",
            NFT_MSG_NEWSET,
            NLM_F_CREATE | NLM_F_EXCL,
            |b| {
                put_str(b, NFTA_SET_TABLE, table);
                put_str(b, NFTA_SET_NAME, set);
                put_u32(b, NFTA_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
                put_u32(b, NFTA_SET_KEY_TYPE, TYPE_ETHERADDR);
                put_u32(b, NFTA_SET_KEY_LEN, 6);
                put_u32(b, NFTA_SET_ID, set_id);
            },
        );
    }

    /// Creates a verdict map keyed by one byte (`typeof @th,8,8 : verdict`).
    pub fn add_byte_vmap(&mut self, table: &str, set: &str, set_id: u32) {
        self.op(
            "create map",
            NFT_MSG_NEWSET,
            NLM_F_CREATE | NLM_F_EXCL,
            |b| {
                put_str(b, NFTA_SET_TABLE, table);
                put_str(b, NFTA_SET_NAME, set);
                put_u32(b, NFTA_SET_FLAGS, NFT_SET_MAP);
                put_u32(b, NFTA_SET_KEY_TYPE, TYPE_INTEGER);
                put_u32(b, NFTA_SET_KEY_LEN, 1);
                put_u32(b, NFTA_SET_DATA_TYPE, NFT_DATA_VERDICT);
                put_u32(b, NFTA_SET_DATA_LEN, 0);
                put_u32(b, NFTA_SET_ID, set_id);
            },
        );
    }

    /// Creates a regular chain (no hook: reached by a jump).
    pub fn add_chain(&mut self, table: &str, chain: &str) {
        self.op(
            "create chain",
            NFT_MSG_NEWCHAIN,
            NLM_F_CREATE | NLM_F_EXCL,
            |b| {
                put_str(b, NFTA_CHAIN_TABLE, table);
                put_str(b, NFTA_CHAIN_NAME, chain);
            },
        );
    }

    /// Deletes `chain`, which must be empty and unreferenced by then.
    pub fn del_chain(&mut self, table: &str, chain: &str) {
        self.op("delete chain", NFT_MSG_DELCHAIN, 0, |b| {
            put_str(b, NFTA_CHAIN_TABLE, table);
            put_str(b, NFTA_CHAIN_NAME, chain);
        });
    }

    /// Deletes every rule of `chain`.
    pub fn flush_chain(&mut self, table: &str, chain: &str) {
        self.op("flush chain", NFT_MSG_DELRULE, 0, |b| {
            put_str(b, NFTA_RULE_TABLE, table);
            put_str(b, NFTA_RULE_CHAIN, chain);
        });
    }

    /// Maps `key` to a jump to `chain` in the verdict map `set`.
    pub fn add_jump(&mut self, table: &str, set: &str, key: &[u8], chain: &str) {
        self.op("add map element", NFT_MSG_NEWSETELEM, NLM_F_CREATE, |b| {
            put_str(b, NFTA_SET_ELEM_LIST_TABLE, table);
            put_str(b, NFTA_SET_ELEM_LIST_SET, set);
            nest(b, NFTA_SET_ELEM_LIST_ELEMENTS, |b| {
                nest(b, NFTA_LIST_ELEM, |b| {
                    put_value(b, NFTA_SET_ELEM_KEY, key);
                    nest(b, NFTA_SET_ELEM_DATA, |b| {
                        nest(b, NFTA_DATA_VERDICT, |b| {
                            put_u32(b, NFTA_VERDICT_CODE, NFT_JUMP);
                            put_str(b, NFTA_VERDICT_CHAIN, chain);
                        });
                    });
                });
            });
        });
    }

    /// Creates a base chain of type `filter` on `hook` (of `device`, in a `netdev` table) at
    /// `priority`, policy accept.
    pub fn add_base_chain(
        &mut self,
        table: &str,
        chain: &str,
        hook: u32,
        device: Option<&str>,
        priority: i32,
    ) {
        self.op(
            "create chain",
            NFT_MSG_NEWCHAIN,
            NLM_F_CREATE | NLM_F_EXCL,
            |b| {
                put_str(b, NFTA_CHAIN_TABLE, table);
                put_str(b, NFTA_CHAIN_NAME, chain);
                nest(b, NFTA_CHAIN_HOOK, |b| {
                    put_u32(b, NFTA_HOOK_HOOKNUM, hook);
                    put_u32(b, NFTA_HOOK_PRIORITY, priority as u32);
                    if let Some(device) = device {
                        put_str(b, NFTA_HOOK_DEV, device);
                    }
                });
                put_str(b, NFTA_CHAIN_TYPE, "filter");
            },
        );
    }

    /// Appends a rule to `chain`; `exprs` writes its expressions. `what` names the rule in
    /// error messages.
    pub fn add_rule(
        &mut self,
        what: &'static str,
        table: &str,
        chain: &str,
        exprs: impl FnOnce(&mut Exprs<'_>),
    ) {
        self.op(what, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, |b| {
            put_str(b, NFTA_RULE_TABLE, table);
            put_str(b, NFTA_RULE_CHAIN, chain);
            nest(b, NFTA_RULE_EXPRESSIONS, |b| exprs(&mut Exprs { buf: b }));
        });
    }

    /// Adds `key` to `set`, expiring `timeout_ms` after this batch commits, or never. An element
    /// already there stays, but what happens to its expiry depends on the kernel: 6.18 keeps it
    /// for the same timeout, restarts it for another one, and drops it for none.
    pub fn add_elem(&mut self, table: &str, set: &str, key: &[u8], timeout_ms: Option<u64>) {
        self.add_elems(table, set, [(key, timeout_ms)]);
    }

    /// [`Batch::add_elem`] of every (key, timeout) of `elems`, in one message.
    pub fn add_elems<'k>(
        &mut self,
        table: &str,
        set: &str,
        elems: impl IntoIterator<Item = (&'k [u8], Option<u64>)>,
    ) {
        self.op("add element", NFT_MSG_NEWSETELEM, NLM_F_CREATE, |b| {
            elem_list(b, table, set, elems);
        });
    }

    /// Deletes `key` from `set`; fails the whole batch with `ENOENT` if it is not there.
    pub fn del_elem(&mut self, table: &str, set: &str, key: &[u8]) {
        self.del_elems(table, set, [key]);
    }

    /// [`Batch::del_elem`] of every key of `keys`, in one message.
    pub fn del_elems<'k>(
        &mut self,
        table: &str,
        set: &str,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) {
        self.op("delete element", NFT_MSG_DELSETELEM, 0, |b| {
            elem_list(b, table, set, keys.into_iter().map(|k| (k, None)));
        });
    }
}

fn elem_list<'k>(
    b: &mut Vec<u8>,
    table: &str,
    set: &str,
    elems: impl IntoIterator<Item = (&'k [u8], Option<u64>)>,
) {
    put_str(b, NFTA_SET_ELEM_LIST_TABLE, table);
    put_str(b, NFTA_SET_ELEM_LIST_SET, set);
    nest(b, NFTA_SET_ELEM_LIST_ELEMENTS, |b| {
        for (key, timeout_ms) in elems {
            nest(b, NFTA_LIST_ELEM, |b| {
                if let Some(ms) = timeout_ms {
                    put_attr(b, NFTA_SET_ELEM_TIMEOUT, &ms.to_be_bytes());
                }
                put_value(b, NFTA_SET_ELEM_KEY, key);
            });
        }
    });
}

/// One answer of the kernel to a message of a batch (`NLMSG_ERROR`).
#[derive(Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The sequence number of the message it answers.
    pub seq: u32,
    /// 0 for success, else an errno (positive).
    pub errno: i32,
    /// The kernel's own words on the error (`NLMSGERR_ATTR_MSG`), if it gave any.
    pub msg: Option<&'a str>,
}

/// The acks in one datagram from the kernel; anything else (or anything malformed) is skipped.
pub fn acks(datagram: &[u8]) -> impl Iterator<Item = Ack<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        loop {
            let hdr = rest.get(..NLMSG_HDRLEN)?;
            let len = u32::from_ne_bytes(hdr[0..4].try_into().ok()?) as usize;
            if len < NLMSG_HDRLEN || len > rest.len() {
                return None;
            }
            let msg = &rest[..len];
            rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
            let ty = u16::from_ne_bytes([hdr[4], hdr[5]]);
            let flags = u16::from_ne_bytes([hdr[6], hdr[7]]);
            let seq = u32::from_ne_bytes(hdr[8..12].try_into().ok()?);
            if ty != NLMSG_ERROR {
                continue;
            }
            if let Some(ack) = parse_error(&msg[NLMSG_HDRLEN..], flags, seq) {
                return Some(ack);
            }
        }
    })
}

/// The body of a `NLMSG_ERROR`: `int error`, the request's header (and its body unless
/// capped), then extended-ack attributes if `NLM_F_ACK_TLVS`.
fn parse_error(body: &[u8], flags: u16, seq: u32) -> Option<Ack<'_>> {
    let error = i32::from_ne_bytes(body.get(0..4)?.try_into().ok()?);
    let mut ack = Ack {
        seq,
        errno: error.checked_abs().unwrap_or(i32::MAX),
        msg: None,
    };
    if flags & NLM_F_ACK_TLVS == 0 {
        return Some(ack);
    }
    let request = body.get(4..)?;
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let len = u32::from_ne_bytes(request.get(0..4)?.try_into().ok()?) as usize;
        len.next_multiple_of(4)
    };
    let mut tlvs = request.get(echoed..).unwrap_or(&[]);
    while let Some(h) = tlvs.get(..4) {
        let len = u16::from_ne_bytes([h[0], h[1]]) as usize;
        let ty = u16::from_ne_bytes([h[2], h[3]]) & NLA_TYPE_MASK;
        let Some(value) = tlvs.get(4..len.max(4)) else {
            break;
        };
        if ty == NLMSGERR_ATTR_MSG {
            let text = value.split(|&c| c == 0).next().unwrap_or(&[]);
            ack.msg = std::str::from_utf8(text).ok();
        }
        tlvs = tlvs.get(len.max(4).next_multiple_of(4)..).unwrap_or(&[]);
    }
    Some(ack)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nft add element netdev vrrpd alive { 00:00:5e:00:01:33 timeout 300ms }` as
    /// `nft --debug=mnl` shows it (nftables 1.0.6), less the `NFTA_SET_ELEM_LIST_SET_ID` nft
    /// adds out of habit. The literal netlink headers are little-endian.
    #[test]
    #[cfg(target_endian = "little")]
    fn fastpath_set_element_bytes() {
        let mut buf = Vec::new();
        let mut batch = Batch::new(&mut buf, 100, NFPROTO_NETDEV);
        batch.add_elem("vrrpd", "alive", &[0, 0, 0x5e, 0, 1, 0x33], Some(300));
        let sent = batch.finish();
        assert_eq!((sent.first, sent.acked, sent.end), (100, Some(101), 102));
        assert_eq!(sent.op(101), "add element");
        #[rustfmt::skip]
        let begin: &[u8] = &[
            20, 0, 0, 0, 0x10, 0, 0x01, 0, 100, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 10,
        ];
        #[rustfmt::skip]
        let elem: &[u8] = &[
            80, 0, 0, 0, 12, 10, 0x05, 0x04, 101, 0, 0, 0, 0, 0, 0, 0, // CREATE|ACK|REQUEST
            5, 0, 0, 0, // NFPROTO_NETDEV, v0, res_id 0
            10, 0, 1, 0, b'v', b'r', b'r', b'p', b'd', 0, 0, 0,
            10, 0, 2, 0, b'a', b'l', b'i', b'v', b'e', 0, 0, 0,
            36, 0, 3, 0x80, // NFTA_SET_ELEM_LIST_ELEMENTS
            32, 0, 1, 0x80, // NFTA_LIST_ELEM
            12, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x2c, // NFTA_SET_ELEM_TIMEOUT 300 ms
            16, 0, 1, 0x80, // NFTA_SET_ELEM_KEY
            10, 0, 1, 0, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0, 0, // NFTA_DATA_VALUE
        ];
        #[rustfmt::skip]
        let end: &[u8] = &[
            20, 0, 0, 0, 0x11, 0, 0x01, 0, 102, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 10,
        ];
        assert_eq!(buf, [begin, elem, end].concat());
    }

    #[test]
    fn fastpath_only_the_last_message_asks_for_an_ack() {
        let mut buf = Vec::new();
        let mut batch = Batch::new(&mut buf, u32::MAX, NFPROTO_NETDEV);
        batch.add_elem("t", "s", &[1; 6], None);
        batch.del_elem("t", "s", &[1; 6]);
        let sent = batch.finish();
        assert_eq!((sent.first, sent.acked, sent.end), (u32::MAX, Some(1), 2));
        assert_eq!(sent.op(0), "add element");
        assert_eq!(sent.op(1), "delete element");
        assert!(sent.contains(0) && sent.contains(2) && sent.contains(u32::MAX));
        assert!(!sent.contains(3) && !sent.contains(u32::MAX - 1));
        let mut flags = Vec::new();
        let mut rest = &buf[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
            flags.push(u16::from_ne_bytes([rest[6], rest[7]]) & NLM_F_ACK);
            rest = &rest[len..];
        }
        assert_eq!(flags, [0, 0, NLM_F_ACK, 0]);
    }

    fn error_msg(seq: u32, error: i32, flags: u16, tail: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        let len = (16 + 4 + 16 + tail.len()) as u32;
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&error.to_ne_bytes());
        m.extend_from_slice(&[0; 16]); // the request's header, capped
        m.extend_from_slice(tail);
        m
    }

    #[test]
    fn fastpath_acks_parse_with_and_without_extended_ack() {
        let mut tlv = Vec::new();
        put_str(&mut tlv, NLMSGERR_ATTR_MSG, "no such set");
        let mut d = error_msg(7, 0, NLM_F_CAPPED, &[]);
        d.extend(error_msg(8, -2, NLM_F_CAPPED | NLM_F_ACK_TLVS, &tlv));
        let got: Vec<_> = acks(&d).collect();
        assert_eq!(
            got,
            [
                Ack {
                    seq: 7,
                    errno: 0,
                    msg: None
                },
                Ack {
                    seq: 8,
                    errno: 2,
                    msg: Some("no such set")
                },
            ]
        );
    }

    #[test]
    fn fastpath_acks_never_panic_on_garbage() {
        let mut tlv = Vec::new();
        put_str(&mut tlv, NLMSGERR_ATTR_MSG, "x");
        let good = error_msg(9, i32::MIN, NLM_F_ACK_TLVS, &tlv);
        // Every truncation, and every byte set to every interesting value.
        for cut in 0..=good.len() {
            let _ = acks(&good[..cut]).count();
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                for ack in acks(&bad) {
                    assert!(ack.errno >= 0);
                }
            }
        }
        assert_eq!(acks(&good).next().map(|a| a.errno), Some(i32::MAX));
    }
}
