//! Kernel process events (the proc connector: `NETLINK_CONNECTOR`, `CN_IDX_PROC`), which wake
//! process checks the moment a process execs, renames itself or exits.
//!
//! An event never decides a verdict: it only makes a check probe again at once, and the probe
//! (a `/proc` scan or the pidfile) decides, exactly as at a poll. A misparsed or forged event can
//! cost a probe, never a wrong state, and the checks keep polling at their interval throughout.
//!
//! The kernel serves these events only to a listener in the initial network, user and PID
//! namespaces, and before Linux 6.6 only to one with `CAP_NET_ADMIN`. Elsewhere (a container)
//! the subscription fails: [`listen`] then reports [`Mode::Polling`] with the reason, once.
//! A subscription counts only once the kernel acknowledges it: in a user or PID namespace the
//! kernel drops the request silently, although another listener's events may still arrive.
//!
//! Wire format, all integers in host byte order: `nlmsghdr` (16 bytes), `cn_msg` (20 bytes:
//! `cb_id` idx/val, seq, ack, len, flags), then `proc_event` (linux/cn_proc.h: what, cpu,
//! timestamp, then the per-event union at offset 16). [`Packet`] and [`ProcEvent`] follow
//! smoltcp's split between a checked view and a parsed representation.

use std::fmt;
use std::io;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_CONNECTOR};
use nix::errno::Errno;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

/// The proc connector's id (`cb_id`), and the multicast group its events are sent to.
pub const CN_IDX_PROC: u32 = 1;
pub const CN_VAL_PROC: u32 = 1;

const NLMSG_DONE: u16 = 3;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;

/// How long the kernel has to acknowledge the subscription. It answers from within the send
/// itself; this bound is only reached where it never answers.
const ACK_WITHIN: Duration = Duration::from_secs(1);

/// One `proc_event` is 76 bytes on the wire; a datagram carries one message.
const RECV_BUFFER: usize = 8192;

/// A burst of exits queues here instead of being lost; past it, the socket reports an overrun,
/// which wakes every check anyway.
const SOCKET_RCVBUF: usize = 1 << 20;

mod field {
    use std::ops::Range;

    pub const NL_LEN: Range<usize> = 0..4;
    pub const NL_TYPE: Range<usize> = 4..6;
    pub const NL_FLAGS: Range<usize> = 6..8;
    pub const NL_SEQ: Range<usize> = 8..12;
    pub const NL_PID: Range<usize> = 12..16;
    pub const CN_IDX: Range<usize> = 16..20;
    pub const CN_VAL: Range<usize> = 20..24;
    pub const CN_SEQ: Range<usize> = 24..28;
    pub const CN_ACK: Range<usize> = 28..32;
    pub const CN_LEN: Range<usize> = 32..34;
    pub const CN_FLAGS: Range<usize> = 34..36;
    pub const CN_DATA: usize = 36;

    // proc_event, relative to CN_DATA.
    pub const WHAT: Range<usize> = 0..4;
    /// The per-event union, after `what`, `cpu` and the 8-byte timestamp.
    pub const EVENT: usize = 16;
}

/// `proc_event.what` (enum proc_cn_event): a bit each, so that a set of them is a filter mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// An acknowledgement of a subscription request.
    None,
    Fork,
    Exec,
    Comm,
    Exit,
    Unknown(u32),
}

impl From<u32> for What {
    fn from(v: u32) -> What {
        match v {
            0 => What::None,
            0x1 => What::Fork,
            0x2 => What::Exec,
            0x200 => What::Comm,
            0x8000_0000 => What::Exit,
            other => What::Unknown(other),
        }
    }
}

impl From<What> for u32 {
    fn from(w: What) -> u32 {
        match w {
            What::None => 0,
            What::Fork => 0x1,
            What::Exec => 0x2,
            What::Comm => 0x200,
            What::Exit => 0x8000_0000,
            What::Unknown(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its headers, or than the lengths they claim.
    Truncated,
    /// A netlink message that is not a proc connector message.
    Foreign,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated proc connector message",
            Error::Foreign => "not a proc connector message",
        })
    }
}

fn u16_at(b: &[u8], r: std::ops::Range<usize>) -> u16 {
    let mut a = [0; 2];
    a.copy_from_slice(&b[r]);
    u16::from_ne_bytes(a)
}

fn u32_at(b: &[u8], r: std::ops::Range<usize>) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[r]);
    u32::from_ne_bytes(a)
}

/// One netlink message carrying a connector message: `nlmsghdr`, `cn_msg` and its payload.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// [`new_unchecked`](Packet::new_unchecked) followed by [`check_len`](Packet::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Both headers fit, and the lengths they claim fit in the buffer and in each other, so
    /// that no getter can panic.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < field::CN_DATA {
            return Err(Error::Truncated);
        }
        let nl_len = self.nlmsg_len() as usize;
        if nl_len < field::CN_DATA || nl_len > b.len() {
            return Err(Error::Truncated);
        }
        if field::CN_DATA + usize::from(self.cn_len()) > nl_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn nlmsg_len(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::NL_LEN)
    }

    pub fn nlmsg_type(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::NL_TYPE)
    }

    pub fn cn_idx(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::CN_IDX)
    }

    pub fn cn_val(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::CN_VAL)
    }

    /// Set by the kernel on an acknowledgement to the request's `ack` plus one.
    pub fn cn_ack(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::CN_ACK)
    }

    pub fn cn_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::CN_LEN)
    }

    /// The connector payload (a `proc_event` from the kernel). Needs a checked packet.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::CN_DATA..field::CN_DATA + usize::from(self.cn_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put_u16(&mut self, r: std::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_ne_bytes());
    }

    fn put_u32(&mut self, r: std::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_ne_bytes());
    }

    pub fn set_nlmsg_len(&mut self, v: u32) {
        self.put_u32(field::NL_LEN, v);
    }

    pub fn set_nlmsg_type(&mut self, v: u16) {
        self.put_u16(field::NL_TYPE, v);
    }

    pub fn set_nlmsg_flags(&mut self, v: u16) {
        self.put_u16(field::NL_FLAGS, v);
    }

    pub fn set_nlmsg_seq(&mut self, v: u32) {
        self.put_u32(field::NL_SEQ, v);
    }

    pub fn set_nlmsg_pid(&mut self, v: u32) {
        self.put_u32(field::NL_PID, v);
    }

    pub fn set_cn_id(&mut self, idx: u32, val: u32) {
        self.put_u32(field::CN_IDX, idx);
        self.put_u32(field::CN_VAL, val);
    }

    pub fn set_cn_seq(&mut self, v: u32) {
        self.put_u32(field::CN_SEQ, v);
    }

    pub fn set_cn_ack(&mut self, v: u32) {
        self.put_u32(field::CN_ACK, v);
    }

    pub fn set_cn_len(&mut self, v: u16) {
        self.put_u16(field::CN_LEN, v);
    }

    pub fn set_cn_flags(&mut self, v: u16) {
        self.put_u16(field::CN_FLAGS, v);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.cn_len());
        &mut self.buffer.as_mut()[field::CN_DATA..field::CN_DATA + len]
    }
}

/// A parsed process event. Pids are the kernel's (initial PID namespace) and `tgid` is what
/// user space calls the process id; `pid` is the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcEvent {
    /// The answer to a subscription request: `ack` is the request's plus one, `err` an errno.
    Ack {
        ack: u32,
        err: u32,
    },
    Fork {
        parent_tgid: i32,
        child_pid: i32,
        child_tgid: i32,
    },
    Exec {
        pid: i32,
        tgid: i32,
    },
    /// A thread's `comm` changed (prctl `PR_SET_NAME`, a write to `/proc/PID/comm`).
    Comm {
        pid: i32,
        tgid: i32,
        comm: [u8; 16],
    },
    Exit {
        pid: i32,
        tgid: i32,
        exit_code: u32,
        exit_signal: u32,
    },
    Other(What),
}

impl ProcEvent {
    /// Parses one checked message. Anything but a proc connector message is [`Error::Foreign`];
    /// a `proc_event` shorter than its kind needs is [`Error::Truncated`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<ProcEvent, Error> {
        packet.check_len()?;
        if packet.nlmsg_type() != NLMSG_DONE
            || packet.cn_idx() != CN_IDX_PROC
            || packet.cn_val() != CN_VAL_PROC
        {
            return Err(Error::Foreign);
        }
        let ev = packet.payload();
        if ev.len() < field::EVENT {
            return Err(Error::Truncated);
        }
        let what = What::from(u32_at(ev, field::WHAT));
        let data = &ev[field::EVENT..];
        let need = match what {
            What::None => 4,
            What::Fork | What::Exit => 16,
            What::Exec => 8,
            What::Comm => 24,
            What::Unknown(_) => 0,
        };
        if data.len() < need {
            return Err(Error::Truncated);
        }
        let word = |i: usize| u32_at(data, i * 4..i * 4 + 4);
        let pid = |i: usize| word(i) as i32;
        Ok(match what {
            What::None => ProcEvent::Ack {
                ack: packet.cn_ack(),
                err: word(0),
            },
            What::Fork => ProcEvent::Fork {
                parent_tgid: pid(1),
                child_pid: pid(2),
                child_tgid: pid(3),
            },
            What::Exec => ProcEvent::Exec {
                pid: pid(0),
                tgid: pid(1),
            },
            What::Comm => {
                let mut comm = [0; 16];
                comm.copy_from_slice(&data[8..24]);
                ProcEvent::Comm {
                    pid: pid(0),
                    tgid: pid(1),
                    comm,
                }
            }
            What::Exit => {
                // Kernels before 4.x stop after exit_signal; the parent fields are not needed.
                ProcEvent::Exit {
                    pid: pid(0),
                    tgid: pid(1),
                    exit_code: word(2),
                    exit_signal: word(3),
                }
            }
            What::Unknown(_) => ProcEvent::Other(what),
        })
    }

    /// The new name of a [`ProcEvent::Comm`], without the NUL padding.
    pub fn comm_bytes(comm: &[u8; 16]) -> &[u8] {
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        &comm[..end]
    }
}

impl fmt::Display for ProcEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcEvent::Ack { ack, err } => write!(f, "ack {ack} err {err}"),
            ProcEvent::Fork {
                parent_tgid,
                child_tgid,
                ..
            } => write!(f, "fork {parent_tgid} -> {child_tgid}"),
            ProcEvent::Exec { tgid, .. } => write!(f, "exec {tgid}"),
            ProcEvent::Comm { pid, tgid, comm } => write!(
                f,
                "comm {tgid}/{pid} {:?}",
                String::from_utf8_lossy(ProcEvent::comm_bytes(comm))
            ),
            ProcEvent::Exit {
                tgid, exit_code, ..
            } => write!(f, "exit {tgid} status {exit_code:#x}"),
            ProcEvent::Other(w) => write!(f, "event {:#x}", u32::from(*w)),
        }
    }
}

/// The messages of one datagram, in order. A length that would run past the datagram ends the
/// walk with one [`Error::Truncated`].
pub fn messages(datagram: &[u8]) -> impl Iterator<Item = Result<ProcEvent, Error>> + '_ {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.len() < field::NL_LEN.end {
            return None;
        }
        let len = u32_at(rest, field::NL_LEN) as usize;
        if len < field::NL_PID.end || len > rest.len() {
            rest = &[];
            return Some(Err(Error::Truncated));
        }
        let (msg, tail) = rest.split_at(len);
        // NLMSG_ALIGN: the next header starts on a 4-byte boundary.
        rest = tail.get(len.next_multiple_of(4) - len..).unwrap_or(&[]);
        Some(Packet::new_checked(msg).and_then(|p| ProcEvent::parse(&p)))
    })
}

/// A `PROC_CN_MCAST_*` request. With `events`, the request carries a `proc_input` filter mask
/// (Linux 6.6+; older kernels ignore a request of that length without answering).
pub fn mcast_request(op: u32, events: Option<u32>, port: u32, ack: u32) -> Vec<u8> {
    let payload = if events.is_some() { 8 } else { 4 };
    let len = field::CN_DATA + payload;
    let mut p = Packet::new_unchecked(vec![0u8; len]);
    p.set_nlmsg_len(len as u32);
    p.set_nlmsg_type(NLMSG_DONE);
    p.set_nlmsg_flags(0);
    p.set_nlmsg_seq(0);
    p.set_nlmsg_pid(port);
    p.set_cn_id(CN_IDX_PROC, CN_VAL_PROC);
    p.set_cn_seq(0);
    p.set_cn_ack(ack);
    p.set_cn_len(payload as u16);
    p.set_cn_flags(0);
    let data = p.payload_mut();
    data[..4].copy_from_slice(&op.to_ne_bytes());
    if let Some(mask) = events {
        data[4..8].copy_from_slice(&mask.to_ne_bytes());
    }
    p.buffer
}

/// How process checks learn that a process came or went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The subscription is not answered yet; the checks poll meanwhile.
    Starting,
    /// Kernel process events wake the checks; they still poll at their interval.
    Events,
    /// Polling only, and why.
    Polling(String),
}

impl Mode {
    /// `events` or `polling`, for the status.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Events => "events",
            Mode::Starting | Mode::Polling(_) => "polling",
        }
    }
}

/// What the listener passes on to the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Event(ProcEvent),
    /// The socket overflowed and events were lost: anything may have changed.
    Overrun,
}

/// A subscribed proc connector socket.
pub struct Connector {
    fd: AsyncFd<Socket>,
    port: u32,
    buf: Vec<u8>,
}

impl Connector {
    /// Opens the socket, subscribes, and waits for the kernel's acknowledgement. `Err` says
    /// why events are unavailable here.
    pub async fn subscribe() -> Result<Connector, String> {
        let mut socket = Socket::new(NETLINK_CONNECTOR)
            .map_err(|e| format!("no proc connector socket ({e})"))?;
        socket
            .set_non_blocking(true)
            .map_err(|e| format!("proc connector socket: {e}"))?;
        socket
            .bind(&SocketAddr::new(0, CN_IDX_PROC))
            .map_err(|e| match e.raw_os_error().map(Errno::from_raw) {
                Some(Errno::EPERM) => format!(
                    "joining the proc connector group was refused ({e}): it needs CAP_NET_ADMIN in the initial user namespace"
                ),
                _ => format!("joining the proc connector group: {e}"),
            })?;
        let mut addr = SocketAddr::new(0, 0);
        socket
            .get_address(&mut addr)
            .map_err(|e| format!("proc connector socket: {e}"))?;
        let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
        let port = addr.port_number();
        // Sends never wait (they go to the kernel), so only readability is watched.
        // SAFETY: the socket's descriptor is open and owned by the `AsyncFd` from here on, and
        // `Socket` always reports the same descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| format!("proc connector socket: {}", e.into_parts().1))?;
        let mut conn = Connector {
            fd,
            port,
            buf: Vec::with_capacity(RECV_BUFFER),
        };
        // The port is unique among this protocol's sockets, so the acknowledgement carrying it
        // (plus one) is ours and not another listener's.
        conn.send(&mcast_request(PROC_CN_MCAST_LISTEN, None, port, port))
            .map_err(|e| match e.raw_os_error().map(Errno::from_raw) {
                Some(Errno::ECONNREFUSED) => format!(
                    "the kernel's proc connector is not reachable from this network namespace ({e}): it serves the initial one only"
                ),
                _ => format!("subscribing to process events: {e}"),
            })?;
        let acked = tokio::time::timeout(ACK_WITHIN, conn.ack(port.wrapping_add(1))).await;
        match acked {
            Ok(Ok(0)) => {}
            Ok(Ok(errno)) => {
                let e = io::Error::from_raw_os_error(errno as i32);
                return Err(format!(
                    "the kernel refused the subscription ({e}): before Linux 6.6 it needs CAP_NET_ADMIN"
                ));
            }
            Ok(Err(e)) => return Err(format!("proc connector: {e}")),
            Err(_) => {
                return Err(format!(
                    "the kernel did not acknowledge the subscription within {}: it answers only in the initial user and PID namespaces (or lacks CONFIG_PROC_EVENTS)",
                    crate::config::format_duration(ACK_WITHIN)
                ));
            }
        }
        // Linux 6.6+ then sends only these kinds, sparing us every fork. Acknowledgements are
        // filtered out too, so this one is not awaited; older kernels ignore it and keep
        // sending everything, which `listen` then sorts out.
        let mask = [What::Exec, What::Comm, What::Exit]
            .into_iter()
            .fold(0u32, |m, w| m | u32::from(w));
        let _ = conn.send(&mcast_request(
            PROC_CN_MCAST_LISTEN,
            Some(mask),
            port,
            port.wrapping_add(2),
        ));
        Ok(conn)
    }

    fn send(&self, request: &[u8]) -> io::Result<()> {
        self.fd
            .get_ref()
            .send_to(request, &SocketAddr::new(0, 0), 0)
            .map(drop)
    }

    /// Reads until the acknowledgement carrying `ack`; returns its errno (0 = subscribed).
    async fn ack(&mut self, ack: u32) -> io::Result<u32> {
        loop {
            self.recv().await?;
            for m in messages(&self.buf) {
                if let Ok(ProcEvent::Ack { ack: a, err }) = m
                    && a == ack
                {
                    return Ok(err);
                }
            }
        }
    }

    /// Waits for the next datagram from the kernel and returns its messages. Datagrams from
    /// anyone else (only a `CAP_NET_ADMIN` process can send to the group) are skipped.
    pub async fn next(&mut self) -> io::Result<impl Iterator<Item = Result<ProcEvent, Error>>> {
        self.recv().await?;
        Ok(messages(&self.buf))
    }

    async fn recv(&mut self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            self.buf.clear();
            let buf = &mut self.buf;
            match guard.try_io(|s| s.get_ref().recv_from(buf, 0)) {
                Ok(Ok((_, from))) if from.port_number() == 0 => return Ok(()),
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        // Kernels before 6.6 count listeners by requests, not sockets: without this, closing
        // would leave them generating events for nobody.
        let _ = self.send(&mcast_request(
            PROC_CN_MCAST_IGNORE,
            None,
            self.port,
            self.port.wrapping_add(3),
        ));
    }
}

/// Subscribes and forwards exec, comm and exit events to `notices` until dropped. Publishes the
/// outcome on `mode`, logging it once; on failure (now or later) drops `notices`, which tells
/// the checks to rely on polling, and waits forever so that `mode` keeps its last word.
pub async fn listen(notices: broadcast::Sender<Notice>, mode: watch::Sender<Mode>) {
    let mut conn = match Connector::subscribe().await {
        Ok(c) => c,
        Err(why) => {
            info!(reason = %why, "process checks: polling only (no kernel process events)");
            drop(notices);
            mode.send_replace(Mode::Polling(why));
            return std::future::pending().await;
        }
    };
    info!("process checks: woken by kernel process events, and polled as before");
    mode.send_replace(Mode::Events);
    let why = loop {
        match conn.next().await {
            Ok(msgs) => {
                for ev in msgs.flatten() {
                    if matches!(
                        ev,
                        ProcEvent::Exec { .. } | ProcEvent::Comm { .. } | ProcEvent::Exit { .. }
                    ) {
                        // No receiver (no check subscribed yet or any more) is not an error.
                        let _ = notices.send(Notice::Event(ev));
                    }
                }
            }
            Err(e) if e.raw_os_error() == Some(Errno::ENOBUFS as i32) => {
                let _ = notices.send(Notice::Overrun);
            }
            Err(e) => break format!("proc connector: {e}"),
        }
    };
    warn!(reason = %why, "process checks: kernel process events stopped, polling only");
    drop(notices);
    drop(conn);
    mode.send_replace(Mode::Polling(why));
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Captured from Linux 6.18 (x86-64, little-endian): the acknowledgement of a subscription
    // sent with ack 41, then a child's fork, exec, prctl(PR_SET_NAME, "renamed") and SIGKILL.
    // One line each: nlmsghdr | cn_msg | proc_event what, cpu, timestamp | event data.
    const ACK: &str = "4c000000030000009100000000000000\
                       0100000001000000910000002a00000028000000\
                       00000000010000002ea88447b0000000\
                       000000000000000000000000000000000000000000000000";
    const FORK: &str = "4c000000030000009200000000000000\
                        0100000001000000920000000000000028000000\
                        0100000001000000598f8947b0000000\
                        c9330000c9330000f2330000f23300000000000000000000";
    const EXEC: &str = "4c000000030000009300000000000000\
                        0100000001000000930000000000000028000000\
                        02000000010000006fd21948b0000000\
                        f2330000f233000000000000000000000000000000000000";
    const COMM: &str = "4c000000030000009400000000000000\
                        0100000001000000940000000000000028000000\
                        00020000010000009f4dfa49b0000000\
                        f2330000f233000072656e616d6564000000000000000000";
    const EXIT: &str = "4c000000030000009600000000000000\
                        0100000001000000960000000000000028000000\
                        000000800100000062ac8a59b0000000\
                        f2330000f23300000900000011000000c9330000c9330000";

    fn capture(s: &str) -> Vec<u8> {
        let v = hex(s);
        assert_eq!(v.len(), 76);
        v
    }

    fn one(bytes: &[u8]) -> Result<ProcEvent, Error> {
        let mut all: Vec<_> = messages(bytes).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_captured_events() {
        assert_eq!(one(&capture(ACK)), Ok(ProcEvent::Ack { ack: 42, err: 0 }));
        assert_eq!(
            one(&capture(FORK)),
            Ok(ProcEvent::Fork {
                parent_tgid: 13257,
                child_pid: 13298,
                child_tgid: 13298
            })
        );
        assert_eq!(
            one(&capture(EXEC)),
            Ok(ProcEvent::Exec {
                pid: 13298,
                tgid: 13298
            })
        );
        let Ok(ProcEvent::Comm { pid, tgid, comm }) = one(&capture(COMM)) else {
            panic!("not a comm event");
        };
        assert_eq!((pid, tgid), (13298, 13298));
        assert_eq!(ProcEvent::comm_bytes(&comm), b"renamed");
        assert_eq!(
            one(&capture(EXIT)),
            Ok(ProcEvent::Exit {
                pid: 13298,
                tgid: 13298,
                exit_code: 9,
                exit_signal: 17
            })
        );
        assert_eq!(
            one(&capture(EXIT)).unwrap().to_string(),
            "exit 13298 status 0x9"
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn two_messages_in_one_datagram() {
        let mut d = capture(EXEC);
        d.extend(capture(EXIT));
        let all: Vec<_> = messages(&d).collect();
        assert!(matches!(all[0], Ok(ProcEvent::Exec { .. })));
        assert!(matches!(all[1], Ok(ProcEvent::Exit { .. })));
        assert_eq!(all.len(), 2);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn truncated_and_garbage_input_is_rejected_without_panic() {
        let exit = capture(EXIT);
        // Every prefix: too short for the headers, for the claimed lengths, or for the event.
        for n in 0..exit.len() {
            assert!(
                messages(&exit[..n]).all(|m| m.is_err()),
                "a {n}-byte prefix parsed"
            );
        }
        // A cn_msg length beyond the netlink message.
        let mut long = exit.clone();
        long[32] = 200;
        assert_eq!(one(&long), Err(Error::Truncated));
        // A netlink length shorter than a header: one error, then the walk stops.
        let mut short = exit.clone();
        short[0] = 3;
        assert_eq!(one(&short), Err(Error::Truncated));
        // An exit event whose cn_msg is too short for an exit.
        let mut thin = exit.clone();
        thin[32] = 24;
        assert_eq!(one(&thin), Err(Error::Truncated));
        // Another connector (idx 2) or another netlink type.
        let mut other = exit.clone();
        other[16] = 2;
        assert_eq!(one(&other), Err(Error::Foreign));
        let mut noop = exit.clone();
        noop[4] = 1;
        assert_eq!(one(&noop), Err(Error::Foreign));
        // An unknown kind parses as such.
        let mut odd = exit.clone();
        odd[36..40].copy_from_slice(&0x40u32.to_ne_bytes());
        assert_eq!(one(&odd), Ok(ProcEvent::Other(What::Unknown(0x40))));
        // Pseudo-random garbage of every length never panics.
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            for m in messages(&junk) {
                let _ = m;
            }
        }
    }

    #[test]
    fn listen_request_layout() {
        let r = mcast_request(PROC_CN_MCAST_LISTEN, None, 7, 41);
        assert_eq!(r.len(), 40);
        let p = Packet::new_checked(&r[..]).unwrap();
        assert_eq!(p.nlmsg_len(), 40);
        assert_eq!(p.nlmsg_type(), NLMSG_DONE);
        assert_eq!((p.cn_idx(), p.cn_val(), p.cn_ack()), (1, 1, 41));
        assert_eq!(p.payload(), 1u32.to_ne_bytes());
        let f = mcast_request(PROC_CN_MCAST_LISTEN, Some(0x8000_0202), 7, 41);
        assert_eq!(f.len(), 44);
        assert_eq!(&f[40..], 0x8000_0202u32.to_ne_bytes());
    }
}
