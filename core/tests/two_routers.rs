//! Two routers on an in-memory link through the smoltcp binding: election, failover, failback.

mod common;

use common::*;
use vrrp_core::{Duration, Instant, State};

#[test]
fn election_failover_failback() {
    let mut seg = Segment::new(vec![config(200, 11), config(100, 12)]);
    seg.start_all();
    assert_eq!(seg.state(0), State::Backup);
    assert_eq!(seg.state(1), State::Backup);
    // r1 (200) has the shorter Active_Down_Interval: 3 s + 56/256 s.
    seg.run_until(Instant::from_micros(3_218_750));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup);
    seg.run_for(Duration::from_secs(5));
    assert_eq!(seg.state(1), State::Backup);

    // r1 dies: r2 takes over 3 s + 156/256 s after r1's last advert.
    let last = seg
        .wire
        .iter()
        .filter(|s| s.node == 0)
        .map(|s| s.at)
        .max()
        .unwrap();
    seg.nodes[0].up = false;
    seg.run_for(Duration::from_secs(5));
    assert_eq!(seg.state(1), State::Active);
    let first = seg
        .wire
        .iter()
        .find(|s| s.node == 1 && s.at > last)
        .map(|s| s.at)
        .unwrap();
    assert_eq!((first - last).as_micros(), 3_609_375);

    // r1 comes back, restarts, preempts.
    let cfg = config(200, 11);
    seg.nodes[0] = Node::new(cfg, seg.now);
    seg.nodes[0].stack.startup(seg.now);
    seg.settle();
    seg.run_for(Duration::from_secs(5));
    assert_eq!(seg.state(0), State::Active);
    assert_eq!(seg.state(1), State::Backup);
}

/// The RAM budget of a small board: the state of one virtual router (4 VIPs) fits in 272 bytes.
/// It was 256 until the router kept the last advert it accepted (to explain a takeover) and the
/// announcement schedule (offsets and a position) at the same time: 16 bytes a router.
#[test]
fn router_state_fits_its_budget() {
    let size = std::mem::size_of::<vrrp_core::VirtualRouter<4>>();
    println!("size_of::<VirtualRouter<4>>() = {size}");
    assert!(size <= 272, "VirtualRouter<4> is {size} bytes");
}

/// A RAM-tight build: buffers sized for one VIP, and a spare socket slot for a service.
#[test]
fn small_buffers_and_an_extra_socket() {
    use smoltcp::socket::raw;
    use smoltcp::wire::{IpProtocol, IpVersion};
    use vrrp_core::net::{RawBuffers, SocketResources, Stack};
    let mut dev = MemDevice::default();
    let resources = Box::leak(Box::new(SocketResources::<2>::new()));
    let buffers = Box::leak(Box::new(RawBuffers::<160>::new()));
    let now = Instant::from_secs(0);
    let mut stack = Stack::new(config(100, 12), &mut dev, resources, buffers, now).unwrap();
    // Without smoltcp's `alloc` feature the buffers are borrowed slices.
    let meta = |n| Box::leak(vec![raw::PacketMetadata::EMPTY; n].into_boxed_slice());
    let bytes = |n| Box::leak(vec![0u8; n].into_boxed_slice());
    let rx = raw::PacketBuffer::new(&mut meta(2)[..], &mut bytes(64)[..]);
    let tx = raw::PacketBuffer::new(&mut meta(2)[..], &mut bytes(64)[..]);
    let service = raw::Socket::new(Some(IpVersion::Ipv4), Some(IpProtocol::Icmp), rx, tx);
    stack.sockets_mut().add(service);
    stack.startup(now);
    let t = Instant::from_micros(3_609_375);
    stack.poll(t, &mut dev, &mut |_| {});
    assert_eq!(stack.router().state(), vrrp_core::State::Active);
    let adverts = dev.tx.iter().filter(|f| f.len() == 14 + 20 + 12).count();
    assert_eq!(adverts, 1, "the advert fits the small buffers");
}
