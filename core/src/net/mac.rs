//! Which MAC a frame carries (RFC 9568 §7.3): the virtual MAC is the source of the Active's
//! adverts and of its answers for the VIPs only; everything else (a Backup's ARP, every
//! membership report) leaves with the node's own MAC. A learning switch moves the virtual MAC
//! to the port of whichever node sent from it last, so a Backup that sent from it would
//! black-hole the VIP while the Active is healthy.
//!
//! smoltcp gives an interface one hardware address, which is both the source of everything it
//! sends and the only unicast destination it accepts. The binding keeps it at the node's MAC
//! and lends it the virtual MAC for one received frame at a time: a frame sent to the virtual
//! MAC, or an ARP request / Neighbor Solicitation for a VIP, so that smoltcp's answer names the
//! virtual MAC. The binding writes the adverts and announcements itself, from the virtual MAC
//! (see `peers`), so nothing smoltcp sends needs rewriting.

use smoltcp::phy::{Device, DeviceCapabilities, PacketMeta, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, EthernetFrame};

use super::NetAddress;

/// The node's own MAC and the virtual router's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Macs {
    pub node: EthernetAddress,
    pub virtual_mac: EthernetAddress,
}

impl Macs {
    /// The interface's address while smoltcp processes `frame`: the virtual MAC for a frame
    /// sent to it or asking for one of `vips`, the node's MAC for the rest. A frame sent to the
    /// node's MAC keeps it even if it asks for a VIP: smoltcp accepts a unicast frame only at
    /// the interface's address.
    pub fn for_frame<A: NetAddress>(&self, frame: &[u8], vips: &[A]) -> EthernetAddress {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return self.node;
        };
        let dst = eth.dst_addr();
        if dst == self.virtual_mac || (dst != self.node && A::asks_for(frame, vips)) {
            self.virtual_mac
        } else {
            self.node
        }
    }
}

/// A device holding one frame the binding has already read, with the transmit token the
/// frame came with (smoltcp answers through it): what lets the binding look at a frame, set
/// the interface's address for it, then hand it to smoltcp.
pub(crate) struct OneFrame<'f, T> {
    rx: Option<(&'f [u8], PacketMeta)>,
    tx: Option<T>,
    caps: DeviceCapabilities,
}

impl<'f, T: TxToken> OneFrame<'f, T> {
    pub fn new(frame: &'f [u8], meta: PacketMeta, tx: T, caps: DeviceCapabilities) -> Self {
        OneFrame {
            rx: Some((frame, meta)),
            tx: Some(tx),
            caps,
        }
    }
}

pub(crate) struct SliceRx<'f> {
    frame: &'f [u8],
    meta: PacketMeta,
}

impl RxToken for SliceRx<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }

    fn meta(&self) -> PacketMeta {
        self.meta
    }
}

impl<'f, T: TxToken> Device for OneFrame<'f, T> {
    type RxToken<'a>
        = SliceRx<'f>
    where
        Self: 'a;
    type TxToken<'a>
        = T
    where
        Self: 'a;

    fn receive(&mut self, _: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (frame, meta) = self.rx.take()?;
        let tx = self.tx.take()?;
        Some((SliceRx { frame, meta }, tx))
    }

    /// Processing one frame sends at most its answer, through the token it came with.
    fn transmit(&mut self, _: SmolInstant) -> Option<Self::TxToken<'_>> {
        None
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}
