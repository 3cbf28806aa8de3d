//! What the binding knows of each unicast peer: its MAC, learned from the peer's own ARP or
//! Neighbor Discovery frames, and when it last asked for it.
//!
//! Each peer is resolved on its own, so that one that never answers holds nobody else's adverts.
//! smoltcp cannot do that for a raw socket: its transmit queue is FIFO, and its neighbour cache
//! goes silent for a second after any unanswered request, whichever neighbour comes next. Nor
//! does a takeover forget the peers: smoltcp flushes its cache whenever the interface's
//! addresses change (the VIPs, claimed or released), but a peer's MAC does not depend on them.
//!
//! Peers are resolved ahead of need, so that a takeover's first advert leaves at once: a router
//! asks for every peer when it starts, and learns the peers that start later from their own
//! requests (broadcast, naming their sender). An advert due to a peer still unknown is not sent
//! (nor held: it would leave late, next to the following one); it asks again.

use smoltcp::wire::EthernetAddress;

use crate::{Duration, Instant};

/// How long an unanswered request for a peer stands before an advert due to it asks again:
/// what smoltcp and Linux wait before they retransmit one, or three Advertisement_Intervals if
/// that is shorter. A Backup that hears nothing takes over after little more than three
/// intervals, so a request lost to a fault that has healed since must be repeated within about
/// as long, or two Actives that do not know each other stay so for a second.
/// Two events end it sooner, because an answer is likely then: an advert from the peer itself
/// ([`Peer::heard`]), and a new Active period ([`Peer::retry_now`]).
pub(crate) fn retry(adver_interval_cs: u16) -> Duration {
    Duration::from_micros(u64::from(adver_interval_cs) * 30_000).min(Duration::from_secs(1))
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub mac: Option<EthernetAddress>,
    /// When the last ARP request or Neighbor Solicitation for the peer left; `None`: ask at
    /// the end of the next poll.
    asked: Option<Instant>,
}

impl Peer {
    pub const UNKNOWN: Peer = Peer {
        mac: None,
        asked: None,
    };

    /// Whether to ask for the peer at `now`: it is unknown and no request is standing (with
    /// `retry`, an advert is due to it and the last request is that old; without, it has not
    /// been asked for at all).
    pub fn ask(&mut self, now: Instant, retry: Option<Duration>) -> bool {
        let ask = self.mac.is_none()
            && match (self.asked, retry) {
                (None, _) => true,
                (Some(t), Some(retry)) => now >= t + retry,
                (Some(_), None) => false,
            };
        if ask {
            self.asked = Some(now);
        }
        ask
    }

    /// Whether [`ask`](Self::ask) without a retry would ask at once (the peer is unknown and
    /// was never asked for, or must be asked again).
    pub fn unasked(&self) -> bool {
        self.mac.is_none() && self.asked.is_none()
    }

    /// The peer spoke from `mac`.
    pub fn learn(&mut self, mac: EthernetAddress) {
        self.mac = Some(mac);
    }

    /// An advert from the peer arrived: it is up and reaches us, so an unknown one is asked for
    /// at once rather than a second after a request that a fault may have lost.
    pub fn heard(&mut self) {
        self.retry_now();
    }

    /// Asks for an unknown peer at the next chance (the router has just become Active).
    pub fn retry_now(&mut self) {
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
    fn an_unknown_peer_is_asked_once_then_again_while_adverts_are_due() {
        let mut p = Peer::UNKNOWN;
        assert!(p.ask(at(0), None));
        assert!(!p.ask(at(5000), None), "no background retries");
        let second = Some(retry(100));
        let mut p = Peer::UNKNOWN;
        assert!(p.ask(at(0), second));
        assert!(!p.ask(at(100), second));
        assert!(!p.ask(at(999), second));
        assert!(p.ask(at(1000), second));
        p.learn(MAC);
        assert!(!p.ask(at(3000), second));
        assert_eq!(p.mac, Some(MAC));
    }

    #[test]
    fn the_retry_is_a_second_or_three_intervals() {
        assert_eq!(retry(100), Duration::from_secs(1));
        assert_eq!(retry(1000), Duration::from_secs(1));
        assert_eq!(retry(2), Duration::from_millis(60));
        assert_eq!(retry(10), Duration::from_millis(300));
    }

    #[test]
    fn hearing_an_unknown_peer_or_becoming_active_asks_again_at_once() {
        let mut p = Peer::UNKNOWN;
        let second = Some(retry(100));
        assert!(p.ask(at(0), second));
        p.heard();
        assert!(p.ask(at(10), None));
        assert!(!p.ask(at(20), second));
        p.retry_now();
        assert!(p.ask(at(30), second));
        p.learn(MAC);
        p.heard();
        assert!(!p.ask(at(40), None), "a known peer is never asked for");
    }
}
