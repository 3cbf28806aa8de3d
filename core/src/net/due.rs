//! When smoltcp's own egress has work, so that a poll that has none skips it.
//!
//! A Backup's turn is one advert, which takes the short way past smoltcp (see
//! `NetAddress::multicast_advert`); smoltcp's egress (its sockets, its membership reports) and
//! its `poll_at` (a pass over the socket set) would run at every such turn for nothing, and on a
//! host each costs cache misses after the sleep between adverts. smoltcp's state changes only
//! through a frame on its ingress, an address change or the firmware's sockets, and otherwise
//! tells in `poll_at` when it next has work, with one exception: a membership query (IGMP, MLD)
//! sets a report timer that `poll_at` does not show. After one, egress runs at every poll for
//! as long as such a timer can last.

#[cfg(feature = "ipv6")]
use smoltcp::wire::Ipv6Packet;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet};

use crate::{Duration, Instant};

/// The longest report delay a query can ask for: MLD's maximum response code as smoltcp reads
/// it (up to 65 535 ms; IGMPv2's is at most 25.5 s), with a margin.
const REPORT_WINDOW: Duration = Duration::from_secs(66);

/// IGMP type of a membership query, every version (RFC 2236 §2.1, RFC 3376 §4.1).
const IGMP_QUERY: u8 = 0x11;

/// ICMPv6 type of an MLD query (RFC 2710 §3.6).
#[cfg(feature = "ipv6")]
const MLD_QUERY: u8 = 130;

#[derive(Debug)]
pub(super) struct Due {
    /// smoltcp's state changed since its egress last ran.
    dirty: bool,
    /// What smoltcp's `poll_at` said after its egress last ran, while not `dirty`.
    at: Option<Instant>,
    /// Until then a membership report may be pending (see the module docs).
    reports_until: Option<Instant>,
}

impl Due {
    /// A new interface has its group joins to report.
    pub fn new() -> Due {
        Due {
            dirty: true,
            at: None,
            reports_until: None,
        }
    }

    /// smoltcp's state changed outside its ingress (addresses, sockets).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// `frame` went through smoltcp's ingress at `now`.
    pub fn ingress(&mut self, frame: &[u8], now: Instant) {
        self.dirty = true;
        if is_membership_query(frame) {
            self.reports_until = Some(now + REPORT_WINDOW);
        }
    }

    /// Whether egress has work at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.dirty || self.reporting(now) || self.at.is_some_and(|at| at <= now)
    }

    /// Egress ran; smoltcp's `poll_at` is now `at`.
    pub fn done(&mut self, at: Option<Instant>) {
        self.dirty = false;
        self.at = at;
    }

    /// smoltcp's `poll_at` if it is known without asking smoltcp.
    pub fn known(&self, now: Instant) -> Option<Option<Instant>> {
        (!self.dirty && !self.reporting(now)).then_some(self.at)
    }

    fn reporting(&self, now: Instant) -> bool {
        self.reports_until.is_some_and(|until| now <= until)
    }
}

/// An IGMP membership query (any version), or an MLD query, alone or behind the hop-by-hop
/// header that carries MLD's Router Alert. Reports are not queries: every host's join sends
/// some, and each would keep egress due for the whole window.
fn is_membership_query(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => Ipv4Packet::new_checked(eth.payload()).is_ok_and(|ip| {
            ip.next_header() == IpProtocol::Igmp && ip.payload().first() == Some(&IGMP_QUERY)
        }),
        #[cfg(feature = "ipv6")]
        EthernetProtocol::Ipv6 => Ipv6Packet::new_checked(eth.payload()).is_ok_and(|ip| {
            let payload = ip.payload();
            match ip.next_header() {
                IpProtocol::Icmpv6 => payload.first() == Some(&MLD_QUERY),
                // RFC 8200 §4.3: the next header, then the length in 8-octet units past the
                // first 8.
                IpProtocol::HopByHop => match payload {
                    [next, len, ..] if IpProtocol::from(*next) == IpProtocol::Icmpv6 => {
                        payload.get((usize::from(*len) + 1) * 8) == Some(&MLD_QUERY)
                    }
                    _ => false,
                },
                _ => false,
            }
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// An Ethernet frame of `ethertype` whose IP header says `next` (IPv4: protocol, IPv6: next
    /// header) and whose payload starts with `first`.
    fn frame(ethertype: [u8; 2], next: u8, first: u8) -> [u8; 80] {
        let mut f = [0u8; 80];
        f[12..14].copy_from_slice(&ethertype);
        if ethertype == [0x08, 0x00] {
            f[14] = 0x45;
            f[16..18].copy_from_slice(&66u16.to_be_bytes());
            f[23] = next;
            f[34] = first;
        } else {
            f[14] = 0x60;
            f[18..20].copy_from_slice(&26u16.to_be_bytes());
            f[20] = next;
            f[54] = first;
        }
        f
    }

    #[test]
    fn igmp_and_mld_queries_are_told_from_other_frames() {
        const V4: [u8; 2] = [0x08, 0x00];
        assert!(is_membership_query(&frame(V4, 2, 0x11)));
        // Reports: IGMPv1, v2, v3; a leave.
        for report in [0x12, 0x16, 0x22, 0x17] {
            assert!(
                !is_membership_query(&frame(V4, 2, report)),
                "type {report:#x}"
            );
        }
        assert!(!is_membership_query(&frame(V4, 112, 0x31)));
        assert!(!is_membership_query(&frame(V4, 1, 8)));
        assert!(!is_membership_query(&frame([0x08, 0x06], 2, 0x11)));
        assert!(!is_membership_query(&frame(V4, 2, 0x11)[..30]));
        #[cfg(feature = "ipv6")]
        {
            const V6: [u8; 2] = [0x86, 0xdd];
            assert!(is_membership_query(&frame(V6, 58, MLD_QUERY)));
            // Behind a hop-by-hop header of 8 octets: a query, a report (MLDv1, 131).
            let mut hop = frame(V6, 0, 58);
            hop[62] = MLD_QUERY;
            assert!(is_membership_query(&hop));
            hop[62] = 131;
            assert!(!is_membership_query(&hop));
            // Of 16 octets.
            hop[55] = 1;
            hop[70] = MLD_QUERY;
            assert!(is_membership_query(&hop));
            // A payload that ends before the type.
            hop[18..20].copy_from_slice(&16u16.to_be_bytes());
            assert!(!is_membership_query(&hop));
            // A Neighbor Solicitation, a VRRP advert.
            assert!(!is_membership_query(&frame(V6, 58, 135)));
            assert!(!is_membership_query(&frame(V6, 112, 0x31)));
        }
    }

    #[test]
    fn egress_is_due_after_a_change_or_at_smoltcps_own_deadline_only() {
        let mut due = Due::new();
        assert!(due.is_due(at(0)), "a new interface reports its joins");
        assert_eq!(due.known(at(0)), None);
        due.done(None);
        assert!(!due.is_due(at(0)) && !due.is_due(at(3_600_000)));
        assert_eq!(due.known(at(0)), Some(None));
        due.touch();
        assert!(due.is_due(at(1)));
        due.done(Some(at(500)));
        assert!(!due.is_due(at(499)));
        assert!(due.is_due(at(500)));
        assert_eq!(due.known(at(10)), Some(Some(at(500))));
        // A frame through smoltcp's ingress: one pass, then quiet again.
        due.ingress(&frame([0x08, 0x06], 0, 0), at(20));
        assert!(due.is_due(at(20)));
        due.done(None);
        assert!(!due.is_due(at(21)));
    }

    #[test]
    fn a_membership_query_keeps_egress_due_while_its_report_may_be_pending() {
        let mut due = Due::new();
        due.ingress(&frame([0x08, 0x00], 2, 0x11), at(1_000));
        due.done(None);
        for t in [1_001, 30_000, 1_000 + 66_000] {
            assert!(due.is_due(at(t)), "at {t} ms");
            assert_eq!(due.known(at(t)), None, "at {t} ms");
        }
        assert!(!due.is_due(at(1_000 + 66_001)));
        assert_eq!(due.known(at(1_000 + 66_001)), Some(None));
    }
}
