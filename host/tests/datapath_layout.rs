//! The interface layout on real namespaces: apply moves the uplink's addresses and routes to the
//! bridge without breaking connectivity, restore puts back exactly what was there, and a start
//! after a crash (state file or not) recovers first.

mod datapath_common;
#[allow(dead_code)]
#[path = "../src/layout.rs"]
mod layout;
#[allow(dead_code)]
#[path = "../src/sysctl.rs"]
mod sysctl;
#[allow(dead_code)]
#[path = "../src/tap.rs"]
mod tap;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use datapath_common::*;
use layout::{Layout, LayoutError, LayoutSpec};
use tap::Tap;

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn spec(lab: &Lab) -> LayoutSpec {
    LayoutSpec {
        uplink: UPLINK.into(),
        bridge: BRIDGE.into(),
        tap: TAP.into(),
        state_dir: lab.state_dir.clone(),
    }
}

fn reaches(ns: &str, addr: &str, port: u16, greeting: &str) -> bool {
    let addr: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    wait_for(Duration::from_secs(5), || {
        tcp_fetch(ns, addr).is_ok_and(|s| s == greeting)
    })
}

/// The layout while applied: everything of the uplink's now on the bridge.
fn assert_applied(lab: &Lab) {
    let r = lab.r();
    assert_eq!(
        ip(r, &format!("-4 -o addr show dev {UPLINK}")),
        "",
        "uplink kept an address"
    );
    let br = ip(r, &format!("-4 -o addr show dev {BRIDGE}"));
    assert_eq!(br.lines().count(), 2, "{br}");
    assert!(
        br.contains("inet 192.0.2.1/24 scope global br-vrrp\\"),
        "{br}"
    );
    assert!(
        br.contains("inet 192.0.2.11/24 scope global secondary br-vrrp:sec"),
        "{br}"
    );
    let default = ip(r, "-4 route show default");
    assert_eq!(default.trim(), "default via 192.0.2.254 dev br-vrrp");
    let extra = ip(r, "-4 route show 198.51.100.0/24");
    assert_eq!(
        extra.trim(),
        "198.51.100.0/24 via 192.0.2.2 dev br-vrrp metric 50"
    );
    let mac_of = |dev: &str| {
        ip(r, &format!("-br link show dev {dev}"))
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        mac_of(BRIDGE),
        mac_of(UPLINK),
        "the bridge must carry the uplink's MAC"
    );
    for port in [UPLINK, TAP] {
        let l = ip(r, &format!("link show dev {port}"));
        assert!(l.contains(&format!("master {BRIDGE}")), "{l}");
    }
    let br = ip(r, &format!("-d link show dev {BRIDGE}"));
    assert!(
        br.contains("forward_delay 0") && br.contains("stp_state 0"),
        "{br}"
    );
}

#[test]
fn apply_keeps_the_node_reachable_and_restore_puts_everything_back() {
    skip_unless_capable!();
    let lab = Lab::new("apply");
    let before = lab.uplink_view();
    serve_greeting(&lab.router.name, 7000, "hi");
    assert!(
        reaches(&lab.peer.name, "192.0.2.1", 7000, "hi"),
        "baseline connectivity"
    );
    let spec = spec(&lab);
    let state = spec.state_path();
    let peer = lab.peer.name.clone();
    let lab = std::sync::Arc::new(lab);
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let tap = Tap::open(TAP, 1500, 8).expect("open TAP");
            let layout = Layout::apply(&spec).await.expect("apply");
            assert_applied(&lab);
            assert!(state.exists(), "state file written");
            assert_eq!(layout.bridge_mac().len(), 6);
            // Both addresses answer across the bridge.
            assert!(
                reaches(&peer, "192.0.2.1", 7000, "hi"),
                "primary via bridge"
            );
            assert!(
                reaches(&peer, "192.0.2.11", 7000, "hi"),
                "secondary via bridge"
            );
            drop(tap);
            layout.restore().await.expect("restore");
        })
    });
    assert_eq!(lab.uplink_view(), before);
    assert!(!lab.link_exists(BRIDGE) && !lab.link_exists(TAP));
    assert!(!spec_state(&lab).exists(), "state file removed");
    assert!(
        reaches(&lab.peer.name, "192.0.2.1", 7000, "hi"),
        "after restore"
    );
}

fn spec_state(lab: &Lab) -> std::path::PathBuf {
    spec(lab).state_path()
}

/// `kill -9` after apply and after a VIP was added: the bridge, the moved addresses and the VIP
/// stay, the TAP vanishes. The next apply must undo all of it first.
fn crash_then_recover(tag: &str, lose_state_file: bool) {
    let lab = std::sync::Arc::new(Lab::new(tag));
    let before = lab.uplink_view();
    serve_greeting(&lab.router.name, 7000, "hi");
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let spec = spec(&lab);
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec).await.unwrap();
            layout.add_vip(VIP).await.unwrap();
            // The process dies: nothing is restored, the TAP goes with its descriptor.
            std::mem::forget(layout);
            drop(tap);
            if lose_state_file {
                std::fs::remove_file(spec.state_path()).unwrap();
            }
            assert!(lab.link_exists(BRIDGE));
            assert!(ip(lab.r(), "-4 -o addr show dev lo").contains("192.0.2.100/32"));

            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec).await.expect("apply after a crash");
            assert_applied(&lab);
            if lose_state_file {
                // Without the record, the daemon clears the VIPs it is configured with.
                assert_eq!(layout.remove_stale_vips(&[VIP]).await.unwrap(), [VIP]);
            }
            assert!(!ip(lab.r(), "-4 -o addr show dev lo").contains("192.0.2.100"));
            assert!(reaches(&lab.peer.name, "192.0.2.1", 7000, "hi"));
            drop(tap);
            layout.restore().await.unwrap();
        })
    });
    assert_eq!(lab.uplink_view(), before);
    assert!(!lab.link_exists(BRIDGE));
}

#[test]
fn a_crash_is_recovered_from_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("crash", false);
}

#[test]
fn a_crash_is_recovered_without_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("nostate", true);
}

#[test]
fn a_foreign_interface_with_our_name_is_left_alone() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("foreign"));
    // Someone else's bridge that happens to have our name and does not hold the uplink.
    ip(lab.r(), &format!("link add {BRIDGE} type bridge"));
    let before = lab.uplink_view();
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let _tap = Tap::open(TAP, 1500, 8).unwrap();
            match Layout::apply(&spec(&l2)).await {
                Err(LayoutError::Foreign { name, .. }) => assert_eq!(name, BRIDGE),
                Err(e) => panic!("unexpected error: {e}"),
                Ok(_) => panic!("applied over a foreign interface"),
            }
        })
    });
    assert_eq!(lab.uplink_view(), before);
    assert!(lab.link_exists(BRIDGE), "not ours to delete");
}

#[test]
fn vips_go_on_lo_as_host_routes_and_come_off_again() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("vip"));
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec(&lab)).await.unwrap();
            layout.add_vip(VIP).await.unwrap();
            // Adding twice is harmless (a re-entered Active).
            layout.add_vip(VIP).await.unwrap();
            let lo = ip(lab.r(), "-4 -o addr show dev lo");
            assert!(lo.contains("inet 192.0.2.100/32 scope global lo"), "{lo}");
            assert_eq!(layout.snapshot().vips, [VIP]);
            layout.remove_vip(VIP).await.unwrap();
            layout.remove_vip(VIP).await.unwrap();
            assert!(!ip(lab.r(), "-4 -o addr show dev lo").contains("192.0.2.100"));
            layout.add_vip(VIP).await.unwrap();
            drop(tap);
            // Restore takes the VIPs off too.
            layout.restore().await.unwrap();
            assert!(!ip(lab.r(), "-4 -o addr show dev lo").contains("192.0.2.100"));
        })
    });
}

/// A state file left by another namespace (a dead one whose inode this one reuses) names a
/// bridge that is not here: it is discarded, never restored onto this uplink.
#[test]
fn a_state_file_without_its_bridge_is_not_restored() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("stale"));
    let before = lab.uplink_view();
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let spec = spec(&lab);
            // Take a real state file, then undo everything it describes except the file.
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let layout = Layout::apply(&spec).await.unwrap();
            let file = std::fs::read(spec.state_path()).unwrap();
            drop(tap);
            layout.restore().await.unwrap();
            // Another node's address in it: restoring it would be visible on the uplink.
            let text = String::from_utf8(file)
                .unwrap()
                .replace("192.0.2.1\"", "192.0.2.77\"");
            assert!(text.contains("192.0.2.77"), "{text}");
            std::fs::write(spec.state_path(), text).unwrap();

            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let layout = Layout::apply(&spec)
                .await
                .expect("apply over a stale state file");
            assert!(!ip(lab.r(), "-4 -o addr show").contains("192.0.2.77"));
            drop(tap);
            layout.restore().await.unwrap();
        })
    });
    assert_eq!(lab.uplink_view(), before);
}
