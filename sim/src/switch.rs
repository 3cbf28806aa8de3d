//! The learning switch the segment's nodes hang off (IEEE 802.1D §8.7): it learns each
//! frame's source MAC at the port the frame came in on, sends a frame to a learned unicast
//! address out of that port alone, and floods broadcast, multicast and unknown destinations.
//! An entry ages out after [`AGEING`] without a frame from its address. A frame whose
//! destination was learned at its own ingress port is filtered (it goes nowhere).
//!
//! This is what makes the source MAC of every frame matter: a Backup that sends one frame from
//! the virtual MAC moves the virtual MAC to its own port, and the VIP's traffic follows.

use std::collections::HashMap;

use smoltcp::wire::{EthernetAddress, EthernetFrame};

use crate::time::Micros;

/// 802.1D's default ageing time (and Linux bridges'): 300 s.
pub const AGEING: Micros = 300_000_000;

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Out of every port but the one it came in on.
    Flood,
    /// Out of this port only.
    Port(usize),
}

#[derive(Debug, Clone)]
pub struct Switch {
    /// MAC -> (port, when last heard from).
    table: HashMap<EthernetAddress, (usize, Micros)>,
    ageing: Micros,
}

impl Switch {
    pub fn new(ageing: Micros) -> Switch {
        Switch {
            table: HashMap::new(),
            ageing,
        }
    }

    /// Learns the source of `frame`, which came in on `port` at `now`, and says where the frame
    /// goes. A frame too short to be Ethernet is flooded unlearned, as a hub would.
    pub fn forward(&mut self, now: Micros, port: usize, frame: &[u8]) -> Forward {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Forward::Flood;
        };
        let src = eth.src_addr();
        if src.is_unicast() {
            self.table.insert(src, (port, now));
        }
        self.lookup(now, eth.dst_addr())
    }

    /// Where a frame to `dst` would go at `now`.
    pub fn lookup(&self, now: Micros, dst: EthernetAddress) -> Forward {
        if !dst.is_unicast() {
            return Forward::Flood;
        }
        match self.table.get(&dst) {
            Some(&(port, seen)) if now.saturating_sub(seen) < self.ageing => Forward::Port(port),
            _ => Forward::Flood,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x06]);
        f.resize(60, 0);
        f
    }

    const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
    const VMAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 10];
    const BROADCAST: [u8; 6] = [0xff; 6];

    #[test]
    fn learns_forwards_and_floods_the_unknown() {
        let mut s = Switch::new(AGEING);
        assert_eq!(s.forward(0, 1, &frame(B, A)), Forward::Flood);
        assert_eq!(s.forward(1, 2, &frame(A, B)), Forward::Port(1));
        assert_eq!(s.forward(2, 1, &frame(B, A)), Forward::Port(2));
        assert_eq!(s.forward(3, 1, &frame(BROADCAST, A)), Forward::Flood);
        // Learned at the frame's own ingress port: the segment delivers it to no one.
        assert_eq!(s.forward(4, 1, &frame(A, VMAC)), Forward::Port(1));
        // The group address of a frame's source is never learned.
        assert_eq!(s.forward(5, 3, &frame(A, BROADCAST)), Forward::Port(1));
        assert_eq!(s.lookup(5, EthernetAddress(BROADCAST)), Forward::Flood);
    }

    #[test]
    fn the_last_sender_owns_a_mac() {
        let mut s = Switch::new(AGEING);
        s.forward(0, 1, &frame(BROADCAST, VMAC));
        assert_eq!(s.lookup(0, EthernetAddress(VMAC)), Forward::Port(1));
        s.forward(10, 2, &frame(BROADCAST, VMAC));
        assert_eq!(s.lookup(10, EthernetAddress(VMAC)), Forward::Port(2));
    }

    #[test]
    fn entries_age_out() {
        let mut s = Switch::new(1_000);
        s.forward(0, 1, &frame(BROADCAST, A));
        assert_eq!(s.lookup(999, EthernetAddress(A)), Forward::Port(1));
        assert_eq!(s.lookup(1_000, EthernetAddress(A)), Forward::Flood);
        // Each frame from the address renews it.
        s.forward(900, 1, &frame(BROADCAST, A));
        assert_eq!(s.lookup(1_899, EthernetAddress(A)), Forward::Port(1));
    }
}
