//! A shared Ethernet segment of in-memory devices for driving [`Stack`]s in virtual time.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant as SmolInstant;
use vrrp_core::net::{Buffers, Event, Resources, Stack};
use vrrp_core::{Config, Duration, Instant};

#[derive(Default)]
pub struct MemDevice {
    pub rx: VecDeque<Vec<u8>>,
    pub tx: Vec<Vec<u8>>,
}

pub struct Rx(Vec<u8>);
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

impl Device for MemDevice {
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

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

pub fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

pub fn config(priority: u8, last: u8) -> Config<4> {
    let mut c = Config::new(10, priority, addr(last)).with_vip(VIP).unwrap();
    c.vip_prefix_len = 24;
    c
}

/// A frame on the wire, as a test sees it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub node: usize,
    pub frame: Vec<u8>,
}

pub struct Node {
    pub stack: Stack<'static, 4>,
    pub dev: MemDevice,
    pub events: Vec<(Instant, Event)>,
    /// While frozen the node runs nothing; frames addressed to it queue in `dev.rx`.
    pub frozen: bool,
    pub up: bool,
}

impl Node {
    pub fn new(config: Config<4>, now: Instant) -> Node {
        let mut dev = MemDevice::default();
        let resources = Box::leak(Box::new(Resources::new()));
        let buffers = Box::leak(Box::new(Buffers::new()));
        let stack = Stack::new(config, &mut dev, resources, buffers, now).unwrap();
        Node {
            stack,
            dev,
            events: Vec::new(),
            frozen: false,
            up: true,
        }
    }

    pub fn poll(&mut self, now: Instant) {
        let events = &mut self.events;
        self.stack
            .poll(now, &mut self.dev, &mut |e| events.push((now, e)));
    }
}

/// All nodes on one segment; frames are delivered at the instant they are sent.
pub struct Segment {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub wire: Vec<Sent>,
}

impl Segment {
    pub fn new(configs: Vec<Config<4>>) -> Segment {
        let now = Instant::from_secs(0);
        let nodes = configs.into_iter().map(|c| Node::new(c, now)).collect();
        Segment {
            now,
            nodes,
            wire: Vec::new(),
        }
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.stack.startup(self.now);
        }
        self.settle();
    }

    /// Injects a frame from outside into every node's receive queue.
    pub fn inject(&mut self, frame: Vec<u8>) {
        for n in &mut self.nodes {
            if n.up {
                n.dev.rx.push_back(frame.clone());
            }
        }
        self.settle();
    }

    /// Polls every running node at `now` and moves frames until nothing more happens.
    pub fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                if self.nodes[i].frozen || !self.nodes[i].up {
                    continue;
                }
                self.nodes[i].poll(self.now);
                let out: Vec<_> = self.nodes[i].dev.tx.drain(..).collect();
                for frame in out {
                    moved = true;
                    self.wire.push(Sent {
                        at: self.now,
                        node: i,
                        frame: frame.clone(),
                    });
                    for (j, n) in self.nodes.iter_mut().enumerate() {
                        if j != i && n.up {
                            n.dev.rx.push_back(frame.clone());
                        }
                    }
                }
            }
            let pending = self
                .nodes
                .iter()
                .any(|n| n.up && !n.frozen && !n.dev.rx.is_empty());
            if !moved && !pending {
                break;
            }
        }
    }

    /// Advances virtual time from deadline to deadline up to `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next = self
                .nodes
                .iter_mut()
                .filter(|n| n.up && !n.frozen)
                .filter_map(|n| n.stack.poll_at(self.now))
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = t.max(self.now);
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn state(&self, i: usize) -> vrrp_core::State {
        self.nodes[i].stack.router().state()
    }
}
