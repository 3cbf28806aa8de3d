//! What the binding knows of each unicast peer: its MAC, learned from the peer's own ARP or
//! Neighbor Discovery frames, and the advert waiting for it while it is unknown.
//!
//! Each peer is resolved on its own, so that one that never answers holds nobody else's adverts.
//! smoltcp cannot do that for a raw socket: its transmit queue is FIFO, and its neighbour cache
//! goes silent for a second after any unanswered request, whichever neighbour comes next. Nor
//! does a takeover forget the peers: smoltcp flushes its cache whenever the interface's
//! addresses change (the VIPs, claimed or released), but a peer's MAC does not depend on them.

use smoltcp::wire::EthernetAddress;

use crate::{Duration, Instant};

/// How long an unanswered request for a peer stands before the next advert asks again: what
/// smoltcp and Linux wait before they retransmit one. Two events end it sooner, because an
/// answer is likely then: an advert from the peer itself ([`Peer::heard`]), and a new Active
/// period ([`Peer::stand_down`]).
pub(crate) const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    mac: Option<EthernetAddress>,
    /// The priority of the latest advert due while the MAC was unknown: it leaves as soon as
    /// the answer comes (as a kernel queues a packet behind ARP), and a newer one replaces it.
    held: Option<u8>,
    /// When the last ARP request or Neighbor Solicitation for the peer left.
    asked: Option<Instant>,
}

/// What to do for an advert to one peer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Send(EthernetAddress),
    /// Held; ask who has the peer's address.
    Solicit,
    /// Held; the last request is still standing.
    Wait,
}

impl Peer {
    pub const UNKNOWN: Peer = Peer {
        mac: None,
        held: None,
        asked: None,
    };

    /// An advert with `priority` is due at `now`.
    pub fn advert(&mut self, now: Instant, priority: u8) -> Next {
        if let Some(mac) = self.mac {
            return Next::Send(mac);
        }
        self.held = Some(priority);
        if self.asked.is_some_and(|t| now < t + RETRY) {
            return Next::Wait;
        }
        self.asked = Some(now);
        Next::Solicit
    }

    /// The peer spoke from `mac`: the priority of the advert held for it, to send now.
    pub fn learn(&mut self, mac: EthernetAddress) -> Option<u8> {
        self.mac = Some(mac);
        self.held.take()
    }

    /// An advert from the peer arrived: it is up and reaches us, so an unknown one is asked
    /// again at the next advert (say, the reply to this one) instead of a second after a
    /// request that a fault may have lost.
    pub fn heard(&mut self) {
        if self.mac.is_none() {
            self.asked = None;
        }
    }

    /// The router left Active: an advert still held would claim a mastership it no longer has,
    /// and the next Active period asks for an unknown peer at once.
    pub fn stand_down(&mut self) {
        self.held = None;
        self.asked = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x12]);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn an_unknown_peer_is_asked_once_a_second_and_gets_the_latest_advert() {
        let mut p = Peer::UNKNOWN;
        assert_eq!(p.advert(at(0), 100), Next::Solicit);
        assert_eq!(p.advert(at(100), 100), Next::Wait);
        assert_eq!(p.advert(at(999), 90), Next::Wait);
        assert_eq!(p.advert(at(1000), 80), Next::Solicit);
        assert_eq!(p.learn(MAC), Some(80));
        assert_eq!(p.advert(at(1100), 80), Next::Send(MAC));
        assert_eq!(p.learn(MAC), None, "nothing held once the MAC is known");
    }

    #[test]
    fn hearing_an_unknown_peer_asks_again_at_once() {
        let mut p = Peer::UNKNOWN;
        assert_eq!(p.advert(at(0), 100), Next::Solicit);
        p.heard();
        assert_eq!(p.advert(at(10), 100), Next::Solicit);
        assert_eq!(p.advert(at(20), 100), Next::Wait);
        p.learn(MAC);
        p.heard();
        assert_eq!(p.advert(at(30), 100), Next::Send(MAC));
    }

    #[test]
    fn leaving_active_drops_the_held_advert_and_the_standing_request() {
        let mut p = Peer::UNKNOWN;
        assert_eq!(p.advert(at(0), 100), Next::Solicit);
        p.stand_down();
        assert_eq!(p.advert(at(10), 100), Next::Solicit);
        p.stand_down();
        assert_eq!(p.learn(MAC), None);
    }
}
