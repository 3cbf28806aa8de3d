//! The in-memory network device under each simulated virtual router: a bounded receive queue
//! (what a TAP device holds for a process that does not read it) and a transmit list.

use std::collections::VecDeque;
use std::rc::Rc;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;

/// Frames a TAP device queues for a reader that has stopped reading: the kernel's default
/// `txqueuelen` for tun/tap (TUN_READQ_SIZE = 500). Beyond it the kernel drops, and so do we.
pub const DEFAULT_QUEUE: usize = 500;

/// A frame on the simulated wire. Shared, since one frame reaches every other port.
pub type Frame = Rc<[u8]>;

#[derive(Debug)]
pub struct Port {
    rx: VecDeque<Frame>,
    capacity: usize,
    /// Frames dropped because the receive queue was full (the `docker pause` overflow).
    pub rx_dropped: u64,
    pub tx: Vec<Vec<u8>>,
}

impl Port {
    pub fn new(capacity: usize) -> Port {
        Port {
            rx: VecDeque::new(),
            capacity,
            rx_dropped: 0,
            tx: Vec::new(),
        }
    }

    /// Queues a frame for the process; false when the queue is full and the frame was dropped.
    /// The bound only bites while the process is stopped (`bounded`): a running one drains its
    /// queue as frames arrive, so frames that arrive in the same virtual instant never overflow.
    pub fn enqueue(&mut self, frame: Frame, bounded: bool) -> bool {
        if bounded && self.rx.len() >= self.capacity {
            self.rx_dropped += 1;
            return false;
        }
        self.rx.push_back(frame);
        true
    }

    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    /// A killed process's queue goes with it.
    pub fn clear(&mut self) {
        self.rx.clear();
        self.tx.clear();
    }
}

pub struct Rx(Frame);
pub struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Port {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_queue_counts_drops() {
        let mut p = Port::new(2);
        let f: Frame = Rc::from(&[1u8, 2, 3][..]);
        assert!(p.enqueue(f.clone(), true));
        assert!(p.enqueue(f.clone(), true));
        assert!(!p.enqueue(f.clone(), true));
        assert_eq!((p.queued(), p.rx_dropped), (2, 1));
        assert!(p.enqueue(f, false));
        assert_eq!((p.queued(), p.rx_dropped), (3, 1));
    }
}
