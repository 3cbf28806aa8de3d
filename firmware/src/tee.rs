//! One NIC, two smoltcp interfaces: the core's VRRP interface and the service interface.
//!
//! `vrrp_core::net::Stack` owns its interface and socket set and has room for its raw socket
//! only, so the HTTP responder lives on a second interface with the same (virtual) MAC. Each
//! received frame goes to the one that must see it:
//!
//! - TCP and UDP addressed to a VIP: the service interface only (the core's interface holds the
//!   VIPs while Active and would answer a SYN to port 80 with a reset);
//! - ARP replies to us: both, since either may have asked;
//! - everything else (VRRP, ARP requests, ICMP): the core only, so that ARP for the VIPs is
//!   answered once, by the interface whose addresses follow the state machine.

use core::net::Ipv4Addr;

use heapless::Deque;
use smoltcp::phy::{Device, DeviceCapabilities, RxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet,
};

use crate::lan9118::{Lan9118, Lan9118Rx, Lan9118Tx, MTU};

/// Frames waiting for the service interface, which is polled right after the core.
const SIDE_QUEUE: usize = 4;

pub struct Frame {
    len: usize,
    data: [u8; MTU],
}

pub type SideQueue = Deque<Frame, SIDE_QUEUE>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Core,
    Service,
    Both,
}

fn route(frame: &[u8], vips: &[Ipv4Addr]) -> Route {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Route::Core;
    };
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
            Ok(ip)
                if vips.contains(&ip.dst_addr())
                    && matches!(ip.next_header(), IpProtocol::Tcp | IpProtocol::Udp) =>
            {
                Route::Service
            }
            _ => Route::Core,
        },
        EthernetProtocol::Arp => match ArpPacket::new_checked(eth.payload()) {
            Ok(arp) if arp.operation() == ArpOperation::Reply && !eth.dst_addr().is_broadcast() => {
                Route::Both
            }
            _ => Route::Core,
        },
        _ => Route::Core,
    }
}

fn push(side: &mut SideQueue, frame: &[u8]) -> bool {
    let mut f = Frame {
        len: frame.len(),
        data: [0; MTU],
    };
    f.data[..frame.len()].copy_from_slice(frame);
    side.push_back(f).is_ok()
}

/// The device the core's stack polls: the NIC, minus what belongs to the service interface.
pub struct CoreDevice<'a> {
    pub nic: &'a mut Lan9118,
    pub side: &'a mut SideQueue,
    pub vips: &'a [Ipv4Addr],
    /// Service frames dropped because the side queue was full.
    pub overflow: &'a mut u32,
}

impl Device for CoreDevice<'_> {
    type RxToken<'t>
        = Lan9118Rx<'t>
    where
        Self: 't;
    type TxToken<'t>
        = Lan9118Tx<'t>
    where
        Self: 't;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        loop {
            // Back-pressure instead of loss: with the side queue full, the rest waits in the
            // NIC's FIFO until the service interface has drained it (the loop does not sleep
            // while a frame is pending).
            if self.side.is_full() {
                return None;
            }
            self.nic.read_frame()?;
            let frame = self.nic.frame();
            let r = route(frame, self.vips);
            if r != Route::Core && !push(self.side, frame) {
                *self.overflow += 1;
            }
            if r != Route::Service {
                break;
            }
        }
        let (rx, tx) = self.nic.rx_and_tx();
        Some((Lan9118Rx(rx), tx))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        self.nic.tx_token()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        Lan9118::capabilities()
    }
}

/// The device the service interface polls: frames from the side queue in, the NIC out.
pub struct ServiceDevice<'a> {
    pub nic: &'a mut Lan9118,
    pub side: &'a mut SideQueue,
}

pub struct SideRx(Frame);

impl RxToken for SideRx {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.0.data[..self.0.len])
    }
}

impl Device for ServiceDevice<'_> {
    type RxToken<'t>
        = SideRx
    where
        Self: 't;
    type TxToken<'t>
        = Lan9118Tx<'t>
    where
        Self: 't;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.side.is_empty() {
            return None;
        }
        let tx = self.nic.tx_token()?;
        let frame = self.side.pop_front()?;
        Some((SideRx(frame), tx))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        self.nic.tx_token()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        Lan9118::capabilities()
    }
}
