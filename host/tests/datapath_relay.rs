//! The VIP relay end to end on real namespaces: a client in the peer namespace connects to the
//! VIP; smoltcp on the TAP answers ARP with the virtual MAC; the relay turns the client's frames
//! around into the bridge; a listener on 0.0.0.0 in the router namespace (nginx's seat) answers,
//! and the replies go out through the kernel without ever reaching the TAP.

mod datapath_common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use datapath_common::*;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use vrrp_core::wire::virtual_mac_octets;
use vrrp_host::datapath::classify::{Target, Verdict};
use vrrp_host::datapath::tap::{FrameDevice, Tap, TxDevice};
use vrrp_host::datapath::unicast::Received6;
use vrrp_host::datapath::{self, DataPath, Routers, UnicastFamilies};

const VRID: u8 = 7;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const PORT: u16 = 8080;
const GREETING: &str = "served by the kernel";

/// A stand-in for the daemon's routers: one smoltcp interface that answers ARP for the VIP
/// while it holds it, as the core's binding does while Active.
struct ArpAnswerer<'i, 's> {
    iface: &'i mut Interface,
    sockets: &'i mut SocketSet<'s>,
    now: smoltcp::time::Instant,
}

impl Routers for ArpAnswerer<'_, '_> {
    fn frame(&mut self, _: Target, dev: &mut FrameDevice<'_>) {
        self.iface.poll(self.now, dev, self.sockets);
    }
    fn unicast4(&mut self, _: Option<u8>, _: &[u8], _: &mut TxDevice<'_>) {}
    fn unicast6(&mut self, _: Option<u8>, _: &Received6, _: &mut TxDevice<'_>) {}
}

/// Runs the daemon's data path as its event loop does (wait on [`DataPath::sources`], read with
/// [`DataPath::read_ready`], then ingest) until `client` finishes. Returns the client's result.
async fn pump_while<T: Send + 'static>(
    dp: &mut DataPath,
    iface: &mut Interface,
    client: impl FnOnce() -> T + Send + 'static,
) -> T {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::BorrowedFd;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client());
    });
    let start = std::time::Instant::now();
    let mut sockets_storage: [SocketStorage; 1] = Default::default();
    let mut sockets = SocketSet::new(&mut sockets_storage[..]);
    let deadline = start + Duration::from_secs(20);
    loop {
        if let Ok(r) = rx.try_recv() {
            return r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "client did not finish"
        );
        let sources = dp.sources();
        // SAFETY: the data path owns these descriptors and outlives this poll.
        let mut fds: Vec<PollFd<'_>> = sources
            .iter()
            .map(|&(_, fd)| PollFd::new(unsafe { BorrowedFd::borrow_raw(fd) }, PollFlags::POLLIN))
            .collect();
        // A short wait, so that the client's end is seen soon after it comes.
        poll(&mut fds, PollTimeout::from(20u8)).expect("poll");
        let ready: Vec<_> = sources
            .iter()
            .zip(&fds)
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&(source, _), _)| source)
            .collect();
        drop(fds);
        for source in ready {
            dp.read_ready(source, false).expect("data path read");
        }
        let now = smoltcp::time::Instant::from_millis(start.elapsed().as_millis() as i64);
        dp.ingest(&mut ArpAnswerer {
            iface,
            sockets: &mut sockets,
            now,
        });
    }
}

#[test]
fn a_client_reaches_a_kernel_listener_through_the_vip_relay() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("relay"));
    serve_greeting(&lab.router.name, PORT, GREETING);
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let peer = lab.peer.name.clone();
            // Strict reverse-path filtering must not get in the way of relayed packets.
            for dev in ["all", "default"] {
                std::fs::write(format!("/proc/sys/net/ipv4/conf/{dev}/rp_filter"), "1").unwrap();
            }
            let mut dp = DataPath::start(
                UPLINK,
                &[VIP.into()],
                UnicastFamilies::default(),
                vrrp_host::config::DatapathMode::Relay,
            )
            .await
            .expect("start");
            let (bridge, tap) = datapath::names(UPLINK);
            let sysctl = |k: &str| {
                let path = format!("/proc/sys/net/ipv4/conf/{k}");
                String::from_utf8(exec(&lab.router.name, &["cat", &path]).stdout).unwrap()
            };
            // Written in the router's namespace, by the thread that entered it.
            assert_eq!(sysctl("all/arp_ignore").trim(), "1");
            assert_eq!(sysctl("all/arp_announce").trim(), "2");
            assert_eq!(sysctl(&format!("{bridge}/rp_filter")).trim(), "1");
            // arp_ignore=1 still lets the kernel answer for the node's own address on the bridge.
            ip(Some(&peer), "neigh flush all");
            let own: SocketAddr = (Ipv4Addr::new(192, 0, 2, 1), PORT).into();
            assert_eq!(tcp_fetch(&peer, own).expect("own address"), GREETING);

            let vmac = virtual_mac_octets::<Ipv4Addr>(VRID);
            let mut iface = Interface::new(
                Config::new(HardwareAddress::Ethernet(EthernetAddress(vmac))),
                &mut dp.transmitter(),
                smoltcp::time::Instant::ZERO,
            );
            let vip_addr: SocketAddr = (VIP, PORT).into();

            // The VIP is local on lo from the start, but smoltcp does not claim it yet: nobody
            // may answer ARP.
            let lo = ip(lab.r(), "-4 -o addr show dev lo");
            assert!(lo.contains("192.0.2.100/32"), "{lo}");
            let p = peer.clone();
            let r = pump_while(&mut dp, &mut iface, move || tcp_fetch(&p, vip_addr)).await;
            assert!(
                r.is_err(),
                "reached the VIP with nobody answering ARP: {r:?}"
            );
            let neigh = ip(Some(&peer), &format!("neigh show {VIP}"));
            assert!(
                !neigh.contains("lladdr"),
                "the kernel answered ARP for the VIP: {neigh}"
            );

            // Active: smoltcp answers ARP with the virtual MAC, the relay carries the traffic.
            dp.serve(VRID, &[VIP.into()], Duration::from_secs(3));
            iface.update_ip_addrs(|a| {
                a.push(IpCidr::new(IpAddress::Ipv4(VIP), 24)).unwrap();
            });
            let p = peer.clone();
            let before = dp.tap_counters();
            let r = pump_while(&mut dp, &mut iface, move || {
                let mut last = None;
                // The peer's failed neighbour entry from the phase before is re-probed on demand.
                for _ in 0..5 {
                    match tcp_fetch(&p, vip_addr) {
                        Ok(s) => return Ok(s),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap())
            })
            .await;
            assert_eq!(r.expect("fetch through the VIP"), GREETING);
            let after = dp.tap_counters();
            assert!(after.relayed > before.relayed, "{after:?}");
            assert!(
                after.tx_frames > before.tx_frames,
                "smoltcp answered ARP: {after:?}"
            );
            assert_eq!(
                after.tx_errors + after.rx_errors + after.tx_dropped,
                0,
                "{after:?}"
            );
            // The replies leave through the kernel: none of them reaches the TAP (where, sent to
            // the client's MAC, the classifier would drop it).
            assert_eq!(
                after.filtered, before.filtered,
                "replies must leave through the kernel, not the TAP: {after:?}"
            );
            let neigh = ip(Some(&peer), &format!("neigh show {VIP}"));
            assert!(neigh.contains("lladdr 00:00:5e:00:01:07"), "{neigh}");

            // Back to Backup: the relay stops at once, even with the peer's ARP cache warm.
            dp.stop(VRID);
            let p = peer.clone();
            let r = pump_while(&mut dp, &mut iface, move || tcp_fetch(&p, vip_addr)).await;
            assert!(r.is_err(), "reached the VIP after the relay stopped: {r:?}");
            assert!(dp.tap_counters().filtered > after.filtered);

            dp.shutdown().await;
            assert!(!ip(lab.r(), "-4 -o addr show dev lo").contains("192.0.2.100"));
            assert!(!lab.link_exists(&bridge) && !lab.link_exists(&tap));
        })
    });
}

/// The UDP sequence number of a frame the batch test sent, if it is one.
fn test_seq(frame: &[u8]) -> Option<u8> {
    let udp_to_us = frame.len() >= 43
        && frame[12..14] == [8, 0]
        && frame[23] == 17
        && frame[36..38] == 9999u16.to_be_bytes();
    udp_to_us.then(|| frame[42])
}

#[test]
fn batches_are_bounded_and_keep_order_through_the_filter() {
    use smoltcp::phy::{Device, RxToken};
    skip_unless_capable!();
    let ns = Netns::new(format!("vh2-batch-{}", std::process::id()));
    let r = ns.name.clone();
    ns.run(move || {
        runtime().block_on(async {
            let mut tap = Tap::open("tapb", 1500, 4).expect("open TAP");
            // Fewer unrelated frames (router solicitations, MLD) in the way.
            let _ = std::fs::write("/proc/sys/net/ipv6/conf/tapb/disable_ipv6", "1");
            ip(Some(&r), "addr add 192.0.2.1/24 dev tapb");
            ip(Some(&r), "link set tapb up");
            // Static neighbours: the kernel sends the datagrams at once, no ARP in between.
            ip(
                Some(&r),
                "neigh add 192.0.2.50 lladdr 02:00:00:00:00:50 dev tapb nud permanent",
            );
            let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            for seq in 0u8..6 {
                sock.send_to(&[seq], "192.0.2.50:9999").unwrap();
            }
            let mut seen = Vec::new();
            let mut stacked = Vec::new();
            let mut full_batches = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while seen.len() < 6 {
                let n = tokio::time::timeout_at(deadline, tap.recv_batch())
                    .await
                    .expect("frames arrive")
                    .expect("TAP read");
                assert!(n <= 4, "a batch larger than the ring: {n}");
                full_batches += usize::from(n == 4);
                let stats = tap.drain_with(|f| match test_seq(f) {
                    Some(seq) => {
                        seen.push(seq);
                        if seq % 2 == 0 {
                            Verdict::Stack
                        } else {
                            Verdict::Drop
                        }
                    }
                    None => Verdict::Drop,
                });
                assert_eq!(stats.stack + stats.dropped, n);
                assert_eq!(tap.pending(), stats.stack);
                tap.for_each_stack_frame(|dev| {
                    while let Some((rx, _tx)) = dev.receive(smoltcp::time::Instant::ZERO) {
                        rx.consume(|f| stacked.push(test_seq(f).expect("only ours were kept")));
                    }
                });
                assert_eq!(tap.pending(), 0);
            }
            assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
            assert_eq!(stacked, [0, 2, 4]);
            assert!(
                full_batches >= 1,
                "six queued frames must fill a four-frame ring"
            );
            let c = tap.counters();
            assert!(
                c.rx_frames >= 6 && c.filtered >= 3 && c.rx_errors == 0,
                "{c:?}"
            );
        })
    });
}

#[test]
fn tap_errors_are_counted_and_returned_not_panicked() {
    skip_unless_capable!();
    let ns = Netns::new(format!("vh2-errors-{}", std::process::id()));
    let r = ns.name.clone();
    ns.run(move || {
        runtime().block_on(async {
            let mut tap = Tap::open("tape", 1500, 4).expect("open TAP");
            // Even when the kernel accepts a frame while the TAP is down, it must not panic.
            let _ = tap.send(&[0xff; 60]);
            // An empty frame is refused by the kernel.
            assert!(tap.send(&[]).is_err());
            let c = tap.counters();
            assert_eq!(c.tx_frames + c.tx_errors + c.tx_dropped, 2, "{c:?}");
            assert!(c.tx_errors >= 1, "{c:?}");

            // The interface deleted from under us: reads report it instead of spinning or
            // panicking, and keep reporting it.
            ip(Some(&r), "link set tape up");
            ip(Some(&r), "link del tape");
            let first = tokio::time::timeout(Duration::from_secs(5), tap.recv_batch())
                .await
                .expect("a read error, not a hang");
            assert!(first.is_err(), "{first:?}");
            assert!(tap.try_recv_batch().is_err());
            assert!(tap.counters().rx_errors >= 2);
        })
    });
}
