//! The interface layout on real namespaces: apply moves the uplink's addresses and routes (IPv4
//! and IPv6) to the bridge without breaking connectivity, restore puts back exactly what was
//! there, and a start after a crash (state file or not) recovers first.

mod datapath_common;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use datapath_common::*;
use vrrp_host::datapath::layout::{Layout, LayoutError, LayoutSpec};
use vrrp_host::datapath::tap::Tap;

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const VIP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100));
/// The IPv6 greeting's port: a listener on `[::]` would also take IPv4's 7000.
const PORT6: u16 = 7006;

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
/// stay, the TAP vanishes. The next apply must undo all of it first. With `v6`, the uplink has
/// IPv6 addresses and routes too, and an IPv6 VIP is on `lo`.
fn crash_then_recover(tag: &str, lose_state_file: bool, v6: bool) {
    let lab = std::sync::Arc::new(Lab::new(tag));
    let link_local = v6.then(|| add_ipv6(&lab));
    let before = (lab.uplink_view(), ipv6_view(&lab, UPLINK));
    serve_greeting(&lab.router.name, 7000, "hi");
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let spec = spec(&lab);
            let vips: &[IpAddr] = if v6 { &[VIP, VIP6] } else { &[VIP] };
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec).await.unwrap();
            for vip in vips {
                layout.add_vip(*vip).await.unwrap();
            }
            // The process dies: nothing is restored, the TAP goes with its descriptor.
            std::mem::forget(layout);
            drop(tap);
            if lose_state_file {
                std::fs::remove_file(spec.state_path()).unwrap();
            }
            assert!(lab.link_exists(BRIDGE));
            let lo = ip(lab.r(), "-o addr show dev lo");
            assert!(lo.contains("192.0.2.100/32"), "{lo}");
            assert_eq!(v6, lo.contains("2001:db8::100/128"), "{lo}");

            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec).await.expect("apply after a crash");
            assert_applied(&lab);
            if let Some(ll) = link_local {
                assert_applied_v6(&lab, ll);
                assert_eq!(layout.link_local(), Some(ll));
            }
            if lose_state_file {
                // Without the record, the daemon clears the VIPs it is configured with.
                assert_eq!(layout.remove_stale_vips(vips).await.unwrap(), vips);
            }
            let lo = ip(lab.r(), "-o addr show dev lo");
            assert!(
                !lo.contains("192.0.2.100") && !lo.contains("2001:db8::100"),
                "{lo}"
            );
            assert!(reaches(&lab.peer.name, "192.0.2.1", 7000, "hi"));
            drop(tap);
            layout.restore().await.unwrap();
        })
    });
    assert_eq!((lab.uplink_view(), ipv6_view(&lab, UPLINK)), before);
    assert!(!lab.link_exists(BRIDGE));
}

#[test]
fn a_crash_is_recovered_from_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("crash", false, false);
}

#[test]
fn a_crash_is_recovered_without_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("nostate", true, false);
}

#[test]
fn a_crash_with_ipv6_is_recovered_from_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("crash6", false, true);
}

#[test]
fn a_crash_with_ipv6_is_recovered_without_the_state_file() {
    skip_unless_capable!();
    crash_then_recover("nostate6", true, true);
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

/// Gives the lab IPv6: the uplink's own link-local (returned), 2001:db8::11/64, a default route
/// via fe80::1 and 2001:db8:5::/64 via the peer (2001:db8::2/64), and a listener on `[::]`.
fn add_ipv6(lab: &Lab) -> Ipv6Addr {
    let (r, p) = (lab.r(), lab.p());
    // No DAD in the lab's own setup: only the moves are under test.
    ip(
        r,
        &format!("-6 addr add 2001:db8::11/64 dev {UPLINK} nodad"),
    );
    ip(p, "-6 addr add 2001:db8::2/64 dev peer0 nodad");
    ip(r, &format!("-6 route add default via fe80::1 dev {UPLINK}"));
    ip(r, "-6 route add 2001:db8:5::/64 via 2001:db8::2 metric 50");
    serve_greeting_v6(&lab.router.name, PORT6, "hi6");
    // The kernel gives the uplink its link-local once the veth has carrier, which the link
    // watcher reports asynchronously.
    let mut link_local = None;
    assert!(
        wait_for(Duration::from_secs(5), || {
            link_local = link_locals(lab, UPLINK).first().copied();
            link_local.is_some()
        }),
        "the uplink never got a link-local address"
    );
    link_local.unwrap()
}

fn link_locals(lab: &Lab, dev: &str) -> Vec<Ipv6Addr> {
    ip(lab.r(), &format!("-6 -o addr show dev {dev} scope link"))
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3)?.split('/').next()?.parse().ok())
        .collect()
}

/// What restore must bring back on `dev`: its IPv6 addresses (not their flags: a restored one
/// carries `nodad`) and its IPv6 routes outside the `local` table (whose entries for an address
/// appear only once DAD is done).
fn ipv6_view(lab: &Lab, dev: &str) -> String {
    let addrs: Vec<String> = ip(lab.r(), &format!("-6 -o addr show dev {dev}"))
        .lines()
        .map(|l| {
            l.split_whitespace()
                .skip(2)
                .take(4)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut routes: Vec<String> = ip(lab.r(), &format!("-6 route show table all dev {dev}"))
        .lines()
        .filter(|l| !l.contains("table local"))
        .map(|l| l.trim().to_string())
        .collect();
    routes.sort();
    format!(
        "addrs:\n{}\nroutes:\n{}\n",
        addrs.join("\n"),
        routes.join("\n")
    )
}

/// The IPv6 layout while applied: the uplink's addresses and routes on the bridge, usable at
/// once, and no IPv6 address on either port.
fn assert_applied_v6(lab: &Lab, link_local: Ipv6Addr) {
    let r = lab.r();
    let br = ip(r, &format!("-6 -o addr show dev {BRIDGE}"));
    assert_eq!(br.lines().count(), 2, "{br}");
    assert!(br.contains("inet6 2001:db8::11/64 scope global"), "{br}");
    assert!(
        br.contains(&format!("inet6 {link_local}/64 scope link")),
        "{br}"
    );
    // Flags are printed after the scope; DAD would hold a moved address back as tentative.
    assert!(!br.contains("tentative"), "{br}");
    for port in [UPLINK, TAP] {
        let a = ip(r, &format!("-6 -o addr show dev {port}"));
        assert_eq!(a, "", "{port} kept or got an IPv6 address");
        let routes = ip(r, &format!("-6 route show dev {port}"));
        assert_eq!(routes, "", "{port} kept an IPv6 route");
    }
    let default = ip(r, "-6 route show default");
    assert_eq!(
        default.trim(),
        format!("default via fe80::1 dev {BRIDGE} metric 1024 pref medium")
    );
    let extra = ip(r, "-6 route show 2001:db8:5::/64");
    assert_eq!(
        extra.trim(),
        format!("2001:db8:5::/64 via 2001:db8::2 dev {BRIDGE} metric 50 pref medium")
    );
    let link = ip(r, &format!("-d link show dev {BRIDGE}"));
    assert!(link.contains("addrgenmode none"), "{link}");
}

/// The index of `dev` in namespace `ns`, the scope of a link-local address there.
fn ifindex(ns: &str, dev: &str) -> u32 {
    let l = ip(Some(ns), &format!("-o link show dev {dev}"));
    l.split(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn ipv6_moves_to_the_bridge_and_back() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("v6"));
    let link_local = add_ipv6(&lab);
    let before = (lab.uplink_view(), ipv6_view(&lab, UPLINK));
    assert!(
        before.1.contains(&format!("inet6 {link_local}/64"))
            && before.1.contains("default via fe80::1 metric 1024"),
        "{}",
        before.1
    );
    let peer = lab.peer.name.clone();
    let peer0 = ifindex(&peer, "peer0");
    assert!(
        reaches(&peer, "[2001:db8::11]", PORT6, "hi6"),
        "baseline connectivity"
    );
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let tap = Tap::open(TAP, 1500, 8).expect("open TAP");
            let layout = Layout::apply(&spec(&lab)).await.expect("apply");
            assert_applied(&lab);
            assert_applied_v6(&lab, link_local);
            assert_eq!(layout.link_local(), Some(link_local));
            let tap_v6 =
                std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{TAP}/disable_ipv6"))
                    .unwrap();
            assert_eq!(tap_v6.trim(), "1");
            assert!(
                reaches(&peer, "[2001:db8::11]", PORT6, "hi6"),
                "global address via bridge"
            );
            assert!(
                reaches(&peer, &format!("[{link_local}%{peer0}]"), PORT6, "hi6"),
                "link-local via bridge"
            );
            drop(tap);
            layout.restore().await.expect("restore");
        })
    });
    assert_eq!((lab.uplink_view(), ipv6_view(&lab, UPLINK)), before);
    assert_eq!(link_locals(&lab, UPLINK), [link_local]);
    assert!(!lab.link_exists(BRIDGE) && !lab.link_exists(TAP));
    assert!(
        reaches(&lab.peer.name, "[2001:db8::11]", PORT6, "hi6"),
        "after restore"
    );
}

/// Where IPv6 is off on the uplink, vrrpd does what it did before it knew IPv6.
#[test]
fn with_ipv6_off_on_the_uplink_nothing_ipv6_is_touched() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("v6off"));
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let knob = format!("/proc/sys/net/ipv6/conf/{UPLINK}/disable_ipv6");
            std::fs::write(&knob, "1\n").unwrap();
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let layout = Layout::apply(&spec(&lab)).await.unwrap();
            assert_applied(&lab);
            assert_eq!(layout.link_local(), None);
            let tap_v6 =
                std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{TAP}/disable_ipv6"))
                    .unwrap();
            assert_eq!(
                tap_v6.trim(),
                "0",
                "the TAP's IPv6 is not vrrpd's business here"
            );
            let link = ip(lab.r(), &format!("-d link show dev {BRIDGE}"));
            assert!(!link.contains("addrgenmode none"), "{link}");
            assert!(layout.snapshot().addresses.iter().all(|a| a.addr.is_ipv4()));
            drop(tap);
            layout.restore().await.unwrap();
        })
    });
}

#[test]
fn ipv6_vips_go_on_lo_as_slash_128_and_come_off_again() {
    skip_unless_capable!();
    let lab = std::sync::Arc::new(Lab::new("vip6"));
    add_ipv6(&lab);
    // A VIP an earlier run left behind without recording it.
    ip(lab.r(), "-6 addr add 2001:db8::100/128 dev lo");
    let l2 = lab.clone();
    lab.router.run(move || {
        runtime().block_on(async {
            let lab = l2;
            let lo = || ip(lab.r(), "-6 -o addr show dev lo");
            let tap = Tap::open(TAP, 1500, 8).unwrap();
            let mut layout = Layout::apply(&spec(&lab)).await.unwrap();
            assert_eq!(
                layout.remove_stale_vips(&[VIP, VIP6]).await.unwrap(),
                [VIP6]
            );
            assert!(!lo().contains("2001:db8::100"), "{}", lo());
            layout.add_vip(VIP6).await.unwrap();
            layout.add_vip(VIP6).await.unwrap();
            let l = lo();
            assert!(l.contains("inet6 2001:db8::100/128 scope global"), "{l}");
            assert!(!l.contains("tentative"), "{l}");
            assert_eq!(layout.snapshot().vips, [VIP6]);
            // The kernel takes traffic for it: a local route, not one through the link.
            let route = ip(lab.r(), "-6 route get 2001:db8::100");
            assert!(
                route.starts_with("local 2001:db8::100 ") && route.contains(" dev lo "),
                "{route}"
            );
            layout.remove_vip(VIP6).await.unwrap();
            layout.remove_vip(VIP6).await.unwrap();
            assert!(!lo().contains("2001:db8::100"), "{}", lo());
            assert!(layout.snapshot().vips.is_empty());
            layout.add_vip(VIP6).await.unwrap();
            drop(tap);
            // Restore takes the VIPs off too.
            layout.restore().await.unwrap();
            assert!(!lo().contains("2001:db8::100"), "{}", lo());
        })
    });
}

/// Serves `greeting` on `[::]`:`port` inside namespace `ns`, like `serve_greeting` does on
/// 0.0.0.0.
fn serve_greeting_v6(ns: &str, port: u16, greeting: &'static str) {
    use std::io::Write;
    let name = ns.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        enter_netns(&name);
        let l = std::net::TcpListener::bind(("::", port)).expect("bind [::]");
        ready_tx.send(()).unwrap();
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(greeting.as_bytes());
        }
    });
    ready_rx.recv().expect("listener thread");
}
