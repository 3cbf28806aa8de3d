//! The unicast advert sockets against a real kernel, in a namespace of their own: what one socket
//! sends to the node's own address comes back to it with the header fields the core checks.

mod datapath_common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use datapath_common::*;
use vrrp_host::datapath::unicast::{Received6, Unicast6Socket, UnicastSocket, vrid_of};

const VRID: u8 = 42;
/// A VRRPv3 advert's first bytes: version and type, VRID, priority, address count.
const ADVERT: [u8; 8] = [0x31, VRID, 100, 1, 0, 100, 0, 0];
const WAIT: Duration = Duration::from_secs(2);

#[test]
fn an_ipv4_advert_comes_back_with_the_header_we_wrote() {
    skip_unless_capable!();
    let ns = Netns::new(format!("vh2-uc4-{}", std::process::id()));
    let got = ns.run(|| {
        runtime().block_on(async {
            let mut socket = UnicastSocket::open("lo").expect("open");
            // Version 4, 20-byte header, TTL 255, protocol 112; the kernel fills in the length,
            // ID and checksum.
            let mut packet = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0];
            packet.extend_from_slice(&Ipv4Addr::LOCALHOST.octets());
            packet.extend_from_slice(&Ipv4Addr::LOCALHOST.octets());
            packet.extend_from_slice(&ADVERT);
            socket.send_to(&packet, Ipv4Addr::LOCALHOST).expect("send");
            let mut got = Vec::new();
            tokio::time::timeout(WAIT, socket.recv_with(|p| got.push(p.to_vec())))
                .await
                .expect("nothing received")
                .expect("recv");
            got
        })
    });
    assert_eq!(got.len(), 1, "{got:?}");
    let p = &got[0];
    assert_eq!(vrid_of(p), Some(VRID));
    assert_eq!((p[8], p[9]), (255, 112), "TTL and protocol");
    assert_eq!(&p[20..], &ADVERT);
}

#[test]
fn an_ipv6_advert_comes_back_with_its_source_destination_and_hop_limit() {
    skip_unless_capable!();
    let ns = Netns::new(format!("vh2-uc6-{}", std::process::id()));
    let got = ns.run(|| {
        runtime().block_on(async {
            let mut socket = Unicast6Socket::open("lo").expect("open");
            socket
                .send_to(&ADVERT, Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST)
                .expect("send");
            let mut got = Vec::new();
            tokio::time::timeout(WAIT, socket.recv_with(|r| got.push(r)))
                .await
                .expect("nothing received")
                .expect("recv");
            got
        })
    });
    assert_eq!(
        got,
        [Received6 {
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
            hop_limit: 255,
            message: ADVERT.to_vec(),
        }]
    );
}
