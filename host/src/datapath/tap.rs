//! Our own TAP device: a non-blocking `/dev/net/tun` descriptor under tokio's [`AsyncFd`], read in
//! batches into a ring allocated once, and a [`smoltcp::phy::Device`] over the frames already read.
//!
//! smoltcp's `TunTapInterface` allocates a buffer per received frame and panics on any I/O error
//! other than `EWOULDBLOCK`; a daemon that must survive its uplink flapping cannot use it.
//!
//! The order of one turn of the event loop is:
//! 1. [`Tap::recv_batch`] waits for readiness and reads every queued frame (up to the ring size);
//! 2. [`Tap::drain_with`] shows each new frame to a classifier that sends it to the stack, relays
//!    it (rewritten in place and written back into the TAP) or drops it;
//! 3. [`Tap::for_each_stack_frame`] hands the frames left for the stack to the routers' smoltcp
//!    interfaces; between reads, routers transmit through [`Tap::transmitter`], which receives
//!    nothing, so no router's poll takes a frame that belongs to all of them. A multicast advert
//!    it is handed may leave on the uplink instead of the TAP ([`Tap::set_uplink`]).
//!
//! Nothing here panics on an I/O error: failures are counted in [`TapCounters`] and logged.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::classify::Verdict;
use super::uplink::UplinkTx;
use crate::ratelimit::Kind;

/// Frames read per batch unless the caller asks otherwise.
pub const DEFAULT_BATCH: usize = 64;
/// Ethernet header plus one 802.1Q tag: the kernel may hand us a tagged frame of a full MTU.
const L2_OVERHEAD: usize = 14 + 4;

// <linux/if_tun.h>
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as TUNSETIFF reads it: the name, the flags, and the rest of the 40-byte union.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

// TUNSETIFF is declared `_IOW('T', 202, int)` but takes a `struct ifreq` and writes the chosen
// name back into it, so the request code says int and the function passes the ifreq mutably.
const TUNSETIFF: nix::sys::ioctl::ioctl_num_type =
    nix::request_code_write!(b'T', 202, std::mem::size_of::<libc::c_int>());
nix::ioctl_readwrite_bad!(tun_set_iff, TUNSETIFF, IfReq);

/// Totals since the device was opened. Plain counters: the event loop is single-threaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapCounters {
    /// Frames read from the TAP.
    pub rx_frames: u64,
    /// Reads that failed for a reason other than "nothing queued" (the frame is lost).
    pub rx_errors: u64,
    /// Frames written by smoltcp or [`Tap::send`].
    pub tx_frames: u64,
    /// Multicast adverts sent on the uplink directly, past the TAP ([`super::uplink`]).
    pub uplink_tx_frames: u64,
    /// Adverts that could not leave on the uplink and went through the TAP instead.
    pub uplink_tx_errors: u64,
    /// Writes that failed (the frame is lost).
    pub tx_errors: u64,
    /// Writes refused with `EAGAIN` (the frame is dropped, not retried).
    pub tx_dropped: u64,
    /// Frames written back into the TAP by the relay.
    pub relayed: u64,
    /// Frames the classifier dropped.
    pub filtered: u64,
    /// VIP frames dropped because they waited through a freeze (see [`Verdict::Stale`]).
    pub stale: u64,
}

/// Frames read but not yet consumed, oldest first. The buffers are allocated once in [`Tap::open`].
struct Ring {
    bufs: Box<[Box<[u8]>]>,
    lens: Box<[usize]>,
    head: usize,
    len: usize,
    /// The first `classified` pending frames have been through [`Tap::drain_with`].
    classified: usize,
}

impl Ring {
    fn new(slots: usize, frame_cap: usize) -> Ring {
        Ring {
            bufs: (0..slots)
                .map(|_| vec![0u8; frame_cap].into_boxed_slice())
                .collect(),
            lens: vec![0; slots].into_boxed_slice(),
            head: 0,
            len: 0,
            classified: 0,
        }
    }

    fn slot(&self, i: usize) -> usize {
        (self.head + i) % self.bufs.len()
    }

    fn is_full(&self) -> bool {
        self.len == self.bufs.len()
    }

    /// Removes the oldest frame; its buffer stays valid until the next read.
    fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let slot = self.head;
        self.head = (self.head + 1) % self.bufs.len();
        self.len -= 1;
        self.classified = self.classified.saturating_sub(1);
        Some(slot)
    }
}

/// The transmit half: the descriptor, a scratch frame and the counters.
struct Writer {
    fd: AsyncFd<OwnedFd>,
    scratch: Box<[u8]>,
    counters: TapCounters,
    name: String,
    /// Where multicast adverts leave, if not through the TAP (see [`Tap::set_uplink`]).
    uplink: Option<UplinkTx>,
}

impl Writer {
    /// Writes one frame. Errors are counted and logged; the frame is never retried.
    fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        let r = write_fd(self.fd.get_ref(), frame);
        match &r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.counters.tx_dropped += 1;
                crate::warn_limited!(Kind::TxQueueFull, 0, tap = %self.name,
                    dropped = self.counters.tx_dropped, "TAP transmit queue full, frame dropped");
            }
            Err(e) => {
                self.counters.tx_errors += 1;
                crate::warn_limited!(Kind::TapWriteFailed, 0, tap = %self.name,
                    errors = self.counters.tx_errors, error = %e, "TAP write failed, frame dropped");
            }
        }
        r
    }

    /// Sends the first `len` bytes of the scratch buffer on the uplink if they are a multicast
    /// advert that may leave that way ([`super::uplink`]); false: the caller writes them into
    /// the TAP.
    fn send_on_uplink(&mut self, len: usize) -> bool {
        let Some(up) = &mut self.uplink else {
            return false;
        };
        let frame = &self.scratch[..len];
        let sent = match up.takes(frame) {
            Ok(false) => return false,
            Ok(true) => up.send(frame),
            Err(e) => {
                tracing::warn!(tap = %self.name, error = %e,
                    "the bridge refused a forwarding entry for a virtual MAC on the TAP: its adverts keep going through the TAP");
                return false;
            }
        };
        match sent {
            Ok(()) => {
                self.counters.uplink_tx_frames += 1;
                true
            }
            Err(e) => {
                self.counters.uplink_tx_errors += 1;
                crate::warn_limited!(Kind::UplinkSend, 0, tap = %self.name,
                    errors = self.counters.uplink_tx_errors, error = %e,
                    "advert not sent on the uplink, sent through the TAP");
                false
            }
        }
    }
}

fn write_fd(fd: impl AsFd, frame: &[u8]) -> io::Result<()> {
    loop {
        match nix::unistd::write(&fd, frame) {
            // A TAP write is one frame: the kernel takes all of it or fails.
            Ok(n) if n == frame.len() => return Ok(()),
            Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short TAP write")),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A TAP interface (IFF_TAP | IFF_NO_PI) owned by this process. The interface disappears when the
/// `Tap` is dropped (it is not persistent), which is what a `kill -9` should leave behind.
pub struct Tap {
    ring: Ring,
    writer: Writer,
    mtu: usize,
    /// The last read ended on `EAGAIN`: the kernel had nothing more queued. Whatever comes
    /// after is a new edge for the reactor, so reading again at once would be a wasted call.
    drained: bool,
}

impl Tap {
    /// Creates (or attaches to) TAP `name` with room for `batch` frames of an IP MTU of `mtu`.
    /// Must be called inside a tokio runtime with I/O enabled.
    pub fn open(name: &str, mtu: usize, batch: usize) -> io::Result<Tap> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name {name:?}"),
            ));
        }
        let fd = nix::fcntl::open(
            "/dev/net/tun",
            OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TAP | IFF_NO_PI,
            _pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: `fd` is open, and `req` is a live, exclusively borrowed `IfReq`, which lays out
        // the `struct ifreq` TUNSETIFF reads and writes exactly.
        unsafe { tun_set_iff(fd.as_raw_fd(), &mut req) }?;
        let actual = CStr::from_bytes_until_nul(&req.name)
            .map_err(|_| io::Error::other("TUNSETIFF returned an unterminated name"))?
            .to_string_lossy()
            .into_owned();
        let frame_cap = mtu + L2_OVERHEAD;
        // `register` panics outside a runtime; a daemon wants an error it can report.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("Tap::open needs a tokio runtime"));
        }
        // Writes never wait (a full queue drops the frame), so only readability is watched.
        // SAFETY: `fd` is an open descriptor owned by the `AsyncFd` from here on, and `OwnedFd`
        // always reports the same descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Tap {
            // One spare byte per slot tells a frame of exactly `frame_cap` from a longer one.
            ring: Ring::new(batch.max(1), frame_cap + 1),
            writer: Writer {
                fd,
                scratch: vec![0; frame_cap].into_boxed_slice(),
                counters: TapCounters::default(),
                name: actual,
                uplink: None,
            },
            mtu,
            drained: false,
        })
    }

    /// Multicast adverts that smoltcp sends leave on the uplink directly from now on (see
    /// [`super::uplink`]).
    pub fn set_uplink(&mut self, uplink: UplinkTx) {
        self.writer.uplink = Some(uplink);
    }

    /// The interface name the kernel gave the TAP.
    pub fn name(&self) -> &str {
        &self.writer.name
    }

    pub fn counters(&self) -> TapCounters {
        self.writer.counters
    }

    /// Frames read and not yet consumed by the stack.
    pub fn pending(&self) -> usize {
        self.ring.len
    }

    /// Waits until the TAP is readable, then reads every queued frame until the kernel has none
    /// left or the ring is full. Returns how many frames were added.
    ///
    /// Cancel-safe: frames are only read in the same poll that returns them, so dropping the
    /// future inside `select!` loses nothing. If the ring is already full this returns `Ok(0)` at
    /// once; consume the pending frames first.
    ///
    /// An `Err` means the descriptor itself failed (e.g. the interface was deleted).
    pub async fn recv_batch(&mut self) -> io::Result<usize> {
        if self.ring.is_full() {
            return Ok(0);
        }
        loop {
            // A TAP whose interface was deleted polls as EPOLLERR only; waiting for readability
            // alone would never wake, so errors wake us too and the read reports them.
            let mut guard = self
                .writer
                .fd
                .ready(Interest::READABLE | Interest::ERROR)
                .await?;
            let (n, drained) = read_batch(
                guard.get_inner(),
                &mut self.ring,
                &mut self.writer.counters,
                &self.writer.name,
                usize::MAX,
            )?;
            self.drained = drained;
            if drained {
                guard.clear_ready();
            }
            if n > 0 || !drained {
                return Ok(n);
            }
        }
    }

    /// Reads whatever is queued without waiting (e.g. the burst that queued during a freeze).
    pub fn try_recv_batch(&mut self) -> io::Result<usize> {
        let (n, drained) = read_batch(
            self.writer.fd.get_ref(),
            &mut self.ring,
            &mut self.writer.counters,
            &self.writer.name,
            usize::MAX,
        )?;
        self.drained = drained;
        Ok(n)
    }

    /// Reads at most `limit` queued frames without waiting, and counts the queue as drained
    /// even if frames are left: for a caller whose wait is level-triggered, which wakes again
    /// at once for what is left. A daemon that hears one advert per interval then reads it
    /// with one system call instead of two (the second would only find the queue empty).
    pub fn try_recv_upto(&mut self, limit: usize) -> io::Result<usize> {
        let (n, _) = read_batch(
            self.writer.fd.get_ref(),
            &mut self.ring,
            &mut self.writer.counters,
            &self.writer.name,
            limit,
        )?;
        self.drained = true;
        Ok(n)
    }

    /// The TAP's descriptor, for a caller's own readiness wait.
    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.writer.fd.get_ref().as_raw_fd()
    }

    /// Whether the kernel may hold frames the last read left (it stopped on a full ring or an
    /// error rather than on `EAGAIN`).
    pub fn may_have_more(&self) -> bool {
        !self.drained
    }

    /// Shows every frame read since the last call to `classify`, oldest first. A frame judged
    /// [`Verdict::Relay`] (which `classify` may have rewritten in place) is written back into the
    /// TAP at once, one judged [`Verdict::Drop`] is discarded, and the rest stay queued, in order,
    /// for the smoltcp interface.
    pub fn drain_with<F>(&mut self, mut classify: F) -> DrainStats
    where
        F: FnMut(&mut [u8]) -> Verdict,
    {
        let ring = &mut self.ring;
        let mut stats = DrainStats::default();
        let mut kept = ring.classified;
        for i in ring.classified..ring.len {
            let slot = ring.slot(i);
            let len = ring.lens[slot];
            match classify(&mut ring.bufs[slot][..len]) {
                Verdict::Stack => {
                    // Compact by swapping boxes, not bytes: frames for the stack stay in order.
                    let dst = ring.slot(kept);
                    ring.bufs.swap(slot, dst);
                    ring.lens.swap(slot, dst);
                    kept += 1;
                    stats.stack += 1;
                }
                Verdict::Relay => {
                    if self.writer.write(&ring.bufs[slot][..len]).is_ok() {
                        self.writer.counters.relayed += 1;
                        stats.relayed += 1;
                    }
                }
                Verdict::Drop => {
                    self.writer.counters.filtered += 1;
                    stats.dropped += 1;
                }
                Verdict::Stale => {
                    self.writer.counters.stale += 1;
                    stats.stale += 1;
                }
            }
        }
        ring.len = kept;
        ring.classified = kept;
        stats
    }

    /// Writes one frame into the TAP. Failures are counted and logged, and returned so a caller
    /// that cares can tell. (The core transmits through [`Tap::transmitter`] instead.)
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let r = self.writer.write(frame);
        if r.is_ok() {
            self.writer.counters.tx_frames += 1;
        }
        r
    }
}

impl Tap {
    /// Consumes the frames left for the stack, oldest first, handing each to `f` as a
    /// [`FrameDevice`]: with several virtual routers on one TAP (one smoltcp interface each),
    /// every interface must see every frame, so `f` polls each of them with the same device,
    /// calling [`FrameDevice::rewind`] in between. Returns how many frames were handed over.
    pub fn for_each_stack_frame(&mut self, mut f: impl FnMut(&mut FrameDevice<'_>)) -> usize {
        let burst = self.ring.bufs.len();
        let mut n = 0;
        while let Some(slot) = self.ring.pop() {
            let frame = &self.ring.bufs[slot][..self.ring.lens[slot]];
            let mut dev = FrameDevice {
                frame,
                unread: true,
                writer: &mut self.writer,
                mtu: self.mtu,
                burst,
            };
            f(&mut dev);
            n += 1;
        }
        n
    }
}

/// A [`phy::Device`] that receives one frame read from the TAP (once per [`rewind`]) and
/// transmits into the TAP.
///
/// [`rewind`]: FrameDevice::rewind
pub struct FrameDevice<'a> {
    frame: &'a [u8],
    unread: bool,
    writer: &'a mut Writer,
    mtu: usize,
    burst: usize,
}

impl FrameDevice<'_> {
    /// The frame this device receives.
    pub fn frame(&self) -> &[u8] {
        self.frame
    }

    /// Makes the frame receivable again, for the next interface.
    pub fn rewind(&mut self) {
        self.unread = true;
    }
}

impl phy::Device for FrameDevice<'_> {
    type RxToken<'b>
        = TapRxToken<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TapTxToken<'b>
    where
        Self: 'b;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if !std::mem::take(&mut self.unread) {
            return None;
        }
        Some((
            TapRxToken { frame: self.frame },
            TapTxToken {
                writer: self.writer,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        Some(TapTxToken {
            writer: self.writer,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        capabilities(self.mtu, self.burst)
    }
}

fn capabilities(mtu: usize, burst: usize) -> DeviceCapabilities {
    let mut caps = DeviceCapabilities::default();
    caps.medium = Medium::Ethernet;
    // smoltcp's Ethernet MTU includes the 14-byte header.
    caps.max_transmission_unit = mtu + 14;
    caps.max_burst_size = Some(burst);
    caps
}

/// What one [`Tap::drain_with`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainStats {
    pub stack: usize,
    pub relayed: usize,
    pub dropped: usize,
    pub stale: usize,
}

/// Reads frames into the ring until `EAGAIN` or the ring is full. Returns the frames added and
/// whether the kernel queue was seen empty.
fn read_batch(
    fd: &OwnedFd,
    ring: &mut Ring,
    counters: &mut TapCounters,
    name: &str,
    limit: usize,
) -> io::Result<(usize, bool)> {
    let mut added = 0;
    // Bounds the loop even if every read fails without emptying the queue.
    let mut attempts = ring.bufs.len();
    while !ring.is_full() && attempts > 0 && added < limit {
        attempts -= 1;
        let slot = ring.slot(ring.len);
        let buf = &mut ring.bufs[slot];
        let e = match nix::unistd::read(fd, buf) {
            Ok(n) if n == buf.len() => {
                // Filled the spare byte: longer than the MTU we sized for, so possibly truncated.
                counters.rx_errors += 1;
                tracing::debug!(tap = name, "oversized frame dropped");
                continue;
            }
            Ok(n) => {
                ring.lens[slot] = n;
                ring.len += 1;
                counters.rx_frames += 1;
                added += 1;
                continue;
            }
            Err(e) => e,
        };
        match e {
            Errno::EAGAIN => return Ok((added, true)),
            Errno::EINTR => attempts += 1,
            // The frame was consumed and lost; the descriptor is fine.
            Errno::EINVAL | Errno::EFAULT | Errno::EMSGSIZE => {
                counters.rx_errors += 1;
                tracing::debug!(tap = name, error = %e, "TAP read failed, frame lost");
            }
            _ => {
                counters.rx_errors += 1;
                crate::warn_limited!(Kind::TapReadFailed, 0, tap = name, error = %e, "TAP read failed");
                // Report a failing descriptor only when there is nothing else to hand over;
                // the frames already read are processed first and the error comes back next time.
                return if added == 0 {
                    Err(e.into())
                } else {
                    Ok((added, false))
                };
            }
        }
    }
    Ok((added, false))
}

pub struct TapRxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for TapRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

pub struct TapTxToken<'a> {
    writer: &'a mut Writer,
}

impl phy::TxToken for TapTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let w = self.writer;
        if len <= w.scratch.len() {
            let r = f(&mut w.scratch[..len]);
            if w.send_on_uplink(len) {
                return r;
            }
            // Same accounting as `Writer::write`, without borrowing the scratch twice.
            match write_fd(w.fd.get_ref(), &w.scratch[..len]) {
                Ok(()) => w.counters.tx_frames += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => w.counters.tx_dropped += 1,
                Err(e) => {
                    w.counters.tx_errors += 1;
                    crate::warn_limited!(Kind::TapWriteFailed, 0, tap = %w.name,
                        errors = w.counters.tx_errors, error = %e, "TAP write failed, frame dropped");
                }
            }
            r
        } else {
            // smoltcp never exceeds the MTU we report; if it did, the frame could not be sent
            // whole anyway. Count it and let `f` fill a throwaway buffer.
            w.counters.tx_errors += 1;
            crate::warn_limited!(Kind::TapOversized, 0, tap = %w.name, len, "frame longer than the TAP MTU not sent");
            f(&mut vec![0; len])
        }
    }
}

/// A [`phy::Device`] that transmits into the TAP and receives nothing: what a router's stack
/// polls with outside [`Tap::for_each_stack_frame`]. Frames read from the TAP belong to every
/// router on it, so no single router's poll may take one.
pub struct TxDevice<'a> {
    writer: &'a mut Writer,
    mtu: usize,
    burst: usize,
}

impl Tap {
    /// The device a router's stack transmits through (timers, announcements, shutdown).
    pub fn transmitter(&mut self) -> TxDevice<'_> {
        TxDevice {
            writer: &mut self.writer,
            mtu: self.mtu,
            burst: self.ring.bufs.len(),
        }
    }
}

impl phy::Device for TxDevice<'_> {
    type RxToken<'a>
        = TapRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TapTxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        None
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        Some(TapTxToken {
            writer: self.writer,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        capabilities(self.mtu, self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(frames: &[&[u8]]) -> Ring {
        let mut ring = Ring::new(4, 16);
        for f in frames {
            let slot = ring.slot(ring.len);
            ring.bufs[slot][..f.len()].copy_from_slice(f);
            ring.lens[slot] = f.len();
            ring.len += 1;
        }
        ring
    }

    #[test]
    fn ring_pops_in_order_and_wraps() {
        let mut ring = ring_with(&[b"a", b"bb", b"ccc"]);
        assert_eq!(ring.pop(), Some(0));
        assert_eq!(ring.pop(), Some(1));
        // Two more fit after wrapping around.
        for f in [&b"dd"[..], b"e", b"f"] {
            let slot = ring.slot(ring.len);
            ring.bufs[slot][..f.len()].copy_from_slice(f);
            ring.lens[slot] = f.len();
            ring.len += 1;
        }
        assert!(ring.is_full());
        let mut got = Vec::new();
        while let Some(s) = ring.pop() {
            got.push(ring.bufs[s][..ring.lens[s]].to_vec());
        }
        assert_eq!(got, [&b"ccc"[..], b"dd", b"e", b"f"]);
        assert_eq!(ring.pop(), None);
    }

    #[test]
    fn ifreq_is_the_kernel_size() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
    }

    // MIPS, PowerPC and SPARC encode an ioctl's direction in other bits.
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    ))]
    #[test]
    fn tunsetiff_is_the_kernel_request_code() {
        assert_eq!(TUNSETIFF, 0x4004_54ca);
    }
}
