//! `[[vrrp]]` tables.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp_core::wire::{Auth, Version};

use super::*;

#[test]
fn full_router_table() {
    let c = parse(&format!(
        "{HEAD}[status]\nlisten = \"0.0.0.0:9200\"\n[log]\nformat = \"json\"\n\
             [[vrrp]]\nvrid = 7\nversion = 2\npriority = 254\ninterval = \"3s\"\n\
             vips = [\"198.51.100.1/28\", \"198.51.100.2/28\"]\npreempt = false\n\
             preempt_delay = \"1.5s\"\naccept = false\nauth_pass = \"12345678\"\n\
             garp = {{ burst = 3, repeat_at = [\"20ms\", \"2s\"] }}\n\
             peers = [\"198.51.100.9\"]\nprimary = \"198.51.100.3\"\ntrack = [\"up\"]\n\
             [check.up]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\ninterval = \"200ms\"\n\
             timeout = \"150ms\"\nrise = 3\nfall = 2\nweight = -60\n\
             [[notify]]\ncommand = [\"/bin/true\", \"x\"]\ntimeout = \"1s\"\n"
    ))
    .unwrap();
    assert_eq!(c.status_listen, "0.0.0.0:9200".parse().unwrap());
    assert_eq!(c.log.format, LogFormat::Json);
    let r = c.routers.iter().find(|r| r.vrid() == 7).unwrap();
    assert_eq!(r.core.version(), Version::V2);
    assert_eq!(r.core.adver_interval(), 300);
    assert_eq!(r.core.vip_prefix_len(), 28);
    assert_eq!(r.core.vips().count(), 2);
    assert!(!r.core.preempt() && !r.core.accept_mode());
    assert_eq!(
        r.core.preempt_delay(),
        vrrp_core::Duration::from_millis(1500)
    );
    assert_eq!(r.core.auth(), Auth::Simple(*b"12345678"));
    assert_eq!(r.core.garp().burst, 3);
    assert!(
        r.core
            .garp()
            .repeat_at()
            .eq([20, 2000].map(vrrp_core::Duration::from_millis))
    );
    assert_eq!(
        r.core.peers().collect::<Vec<_>>(),
        &["198.51.100.9".parse::<Ipv4Addr>().unwrap()]
    );
    assert_eq!(r.primary, Some("198.51.100.3".parse().unwrap()));
    let check = c.check("up").unwrap();
    assert_eq!(check.effect, Effect::Weight(-60));
    assert_eq!((check.rise, check.fall), (3, 2));
    assert_eq!(check.timeout, Duration::from_millis(150));
    assert_eq!(c.notify[0].command, ["/bin/true", "x"]);
}

#[test]
fn intervals() {
    let v3 = |i: &str| parse(&router_with(&format!("interval = \"{i}\"\n")));
    assert_eq!(v3("10ms").unwrap().routers[0].core.adver_interval(), 1);
    assert_eq!(v3("1.5s").unwrap().routers[0].core.adver_interval(), 150);
    assert_eq!(v3("40.95s").unwrap().routers[0].core.adver_interval(), 4095);
    for bad in ["15ms", "0ms", "40.96s", "5ms", "1m"] {
        refused(
            &router_with(&format!("interval = \"{bad}\"\n")),
            6,
            "vrrp[0].interval",
            "VRRPv3 advert interval",
        );
    }
    let v2 = |i: &str| router_with(&format!("version = 2\ninterval = \"{i}\"\n"));
    assert_eq!(
        parse(&v2("255s")).unwrap().routers[0].core.adver_interval(),
        25500
    );
    for bad in ["1.5s", "100ms", "256s", "0s"] {
        refused(
            &v2(bad),
            7,
            "vrrp[0].interval",
            "VRRPv2 advert interval is whole seconds",
        );
    }
}

/// The announcement schedule: `repeat_at`, and the older `repeats` / `repeat_delay` pair, which
/// existing files use, as evenly spaced offsets.
#[test]
fn garp_schedules() {
    let garp = |extra: &str| {
        parse(&router_with(&format!("garp = {{ {extra} }}\n")))
            .unwrap()
            .routers[0]
            .core
            .garp()
    };
    let ms = vrrp_core::Duration::from_millis;
    let g = garp("burst = 2");
    assert_eq!(g.burst, 2);
    assert!(g.repeat_at().eq(vrrp_core::Garp::default().repeat_at()));
    assert_eq!(garp("repeat_at = []").repeat_at().len(), 0);
    // The old defaults written out, as the shipped examples did.
    let g = garp("burst = 1, repeats = 1, repeat_delay = \"2s\"");
    assert!(g.repeat_at().eq([ms(2000)]));
    assert!(garp("repeats = 2").repeat_at().eq([ms(2000), ms(4000)]));
    assert!(
        garp("repeats = 3, repeat_delay = \"500ms\"")
            .repeat_at()
            .eq([ms(500), ms(1000), ms(1500)])
    );
    assert!(garp("repeat_delay = \"5s\"").repeat_at().eq([ms(5000)]));
    assert_eq!(garp("repeats = 0").repeat_at().len(), 0);
    // keepalived's garp_master_refresh: off by default, whole seconds, with either form.
    assert_eq!(garp("burst = 2").refresh(), None);
    assert_eq!(garp("refresh = \"0s\"").refresh(), None);
    let g = garp("refresh = \"60s\"");
    assert_eq!(g.refresh(), Some(vrrp_core::Duration::from_secs(60)));
    assert!(g.repeat_at().eq(vrrp_core::Garp::default().repeat_at()));
    let g = garp("repeats = 2, refresh = \"1m\"");
    assert!(g.repeat_at().eq([ms(2000), ms(4000)]));
    assert_eq!(g.refresh(), Some(vrrp_core::Duration::from_secs(60)));
    refused(
        &router_with("garp = { refresh = \"1500ms\" }\n"),
        6,
        "vrrp[0].garp.refresh",
        "1.5s: the gratuitous ARP / NA refresh is whole seconds",
    );
}

#[test]
fn bad_router_values() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "vrid = 0",
            "vrrp[0].vrid",
            "0 is out of range: vrid must be 1..=255",
        ),
        ("vrid = 256", "vrrp[0].vrid", "vrid must be 1..=255"),
        ("vrid = \"1\"", "vrrp[0].vrid", "invalid type"),
        ("priority = 0", "vrrp[0].priority", "0 is reserved"),
        ("priority = 300", "vrrp[0].priority", "out of range"),
        ("priority = 255", "vrrp[0].priority", "set `primary`"),
        ("version = 4", "vrrp[0].version", "version 4 does not exist"),
        (
            "interval = 1",
            "vrrp[0].interval",
            "expected a duration string",
        ),
        ("interval = \"1 s\"", "vrrp[0].interval", "invalid duration"),
        ("vips = []", "vrrp[0].vips", "at least one virtual address"),
        (
            "vips = [\"192.0.2.300\"]",
            "vrrp[0].vips[0]",
            "not an IPv4 or IPv6 address",
        ),
        (
            "vips = [\"192.0.2.1/33\"]",
            "vrrp[0].vips[0]",
            "prefix length must be 1..=32",
        ),
        (
            "vips = [\"192.0.2.1/x\"]",
            "vrrp[0].vips[0]",
            "prefix length",
        ),
        (
            "vips = [\"2001:db8::1\"]",
            "vrrp[0].vips[0]",
            "is its link-local one",
        ),
        (
            "vips = [\"224.0.0.18\"]",
            "vrrp[0].vips[0]",
            "cannot be a router address",
        ),
        (
            "vips = [\"192.0.2.1\", \"192.0.2.1\"]",
            "vrrp[0].vips[1]",
            "listed twice",
        ),
        (
            "vips = [\"192.0.2.1/24\", \"192.0.2.2/25\"]",
            "vrrp[0].vips[1]",
            "differs from /24",
        ),
        ("vips = \"192.0.2.1\"", "vrrp[0].vips", "invalid type"),
        ("preempt = \"yes\"", "vrrp[0].preempt", "invalid type"),
        (
            "preempt_delay = \"soon\"",
            "vrrp[0].preempt_delay",
            "invalid duration",
        ),
        (
            "checksum = \"none\"",
            "vrrp[0].checksum",
            "unknown checksum mode \"none\"",
        ),
        ("auth_pass = \"x\"", "vrrp[0].auth_pass", "only in VRRPv2"),
        (
            "garp = { burst = 0 }",
            "vrrp[0].garp.burst",
            "garp.burst must be 1..=255",
        ),
        (
            "garp = { repeats = -1 }",
            "vrrp[0].garp.repeats",
            "out of range",
        ),
        (
            "garp = { repeat_delay = 2 }",
            "vrrp[0].garp.repeat_delay",
            "duration string",
        ),
        (
            "garp = { repeats = 9 }",
            "vrrp[0].garp.repeats",
            "garp.repeats must be 0..=8",
        ),
        (
            "garp = { repeat_delay = \"15ms\" }",
            "vrrp[0].garp.repeat_delay",
            "multiple of 10ms",
        ),
        (
            "garp = { repeat_at = [\"10ms\", \"10ms\"] }",
            "vrrp[0].garp.repeat_at[1]",
            "must increase",
        ),
        (
            "garp = { repeat_at = [\"0ms\"] }",
            "vrrp[0].garp.repeat_at[0]",
            "multiple of 10ms",
        ),
        (
            "garp = { repeat_at = [\"1s\", \"2s\", \"3s\", \"4s\", \"5s\", \"6s\", \"7s\", \"8s\", \"9s\"] }",
            "vrrp[0].garp.repeat_at",
            "at most 8",
        ),
        (
            "garp = { repeat_at = [\"1s\"], repeats = 1 }",
            "vrrp[0].garp.repeats",
            "older form of `repeat_at`",
        ),
        (
            "garp = { bursts = 2 }",
            "vrrp[0].garp.bursts",
            "unknown field `bursts`",
        ),
        (
            "peers = [\"192.0.2.9\", \"nope\"]",
            "vrrp[0].peers[1]",
            "not an IPv4 or IPv6 address",
        ),
        (
            "peers = [\"192.0.2.9\", \"192.0.2.9\"]",
            "vrrp[0].peers[1]",
            "listed twice",
        ),
        (
            "primary = \"0.0.0.0\"",
            "vrrp[0].primary",
            "cannot be a router address",
        ),
        (
            "track = [\"nginx\"]",
            "vrrp[0].track[0]",
            "no [check.nginx] is defined",
        ),
        (
            "intervl = \"1s\"",
            "vrrp[0].intervl",
            "unknown field `intervl`",
        ),
    ];
    for (line, key, why) in cases {
        // Later keys override nothing in TOML (duplicates are errors), so the bad key goes in
        // a router that lacks it.
        let base = ROUTER
            .lines()
            .filter(|l| l.split(' ').next() != line.split(' ').next())
            .collect::<Vec<_>>()
            .join("\n");
        let text = format!("{HEAD}{base}\n{line}\n");
        let line_no = text.lines().position(|l| l == *line).unwrap() + 1;
        refused(&text, line_no, key, why);
    }
}

#[test]
fn bad_router_combinations() {
    refused(
        &router_with("version = 2\nchecksum = \"message-only\"\n"),
        7,
        "vrrp[0].checksum",
        "VRRPv2 always checksums the message alone",
    );
    refused(
        &router_with("version = 2\nauth_pass = \"123456789\"\n"),
        7,
        "vrrp[0].auth_pass",
        "1..=8 bytes",
    );
    refused(
        &router_with("version = 2\nauth_pass = \"\"\n"),
        7,
        "vrrp[0].auth_pass",
        "1..=8 bytes",
    );
    refused(
        &router_with("priority = 255\n").replace("priority = 100\n", ""),
        5,
        "vrrp[0].priority",
        "address owner",
    );
    refused(
        &format!("{HEAD}{ROUTER}[[vrrp]]\nvrid = 51\npriority = 90\nvips = [\"192.0.2.5\"]\n"),
        7,
        "vrrp[1].vrid",
        "VRID 51 is configured twice",
    );
    refused(
        &format!("{HEAD}{ROUTER}[[vrrp]]\nvrid = 52\nvips = [\"192.0.2.5\"]\n"),
        6,
        "vrrp[1]",
        "missing field `priority`",
    );
    let nine: Vec<String> = (1..=9).map(|i| format!("\"192.0.2.{i}\"")).collect();
    refused(
        &router_with(&format!("peers = [{}]\n", nine.join(", "))),
        6,
        "vrrp[0].peers[8]",
        "at most 8",
    );
    let text = format!(
        "{HEAD}[[vrrp]]\nvrid = 1\npriority = 100\nvips = [{}]\n",
        nine.join(", ")
    );
    refused(&text, 5, "vrrp[0].vips", "9 VIPs, at most 8");
    refused(
        &router_with(
            "track = [\"a\", \"a\"]\n[check.a]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n",
        ),
        6,
        "vrrp[0].track[1]",
        "tracked twice",
    );
}

#[test]
fn owner_needs_its_address() {
    refused(
        &router_with("primary = \"192.0.2.7\"\n").replace("priority = 100", "priority = 255"),
        6,
        "vrrp[0].primary",
        "address owner",
    );
    let c = parse(
        &router_with("primary = \"192.0.2.100\"\n").replace("priority = 100", "priority = 255"),
    )
    .unwrap();
    assert_eq!(
        c.routers[0]
            .to_core(Ipv4Addr::new(192, 0, 2, 1).into())
            .unwrap()
            .primary(),
        Ipv4Addr::new(192, 0, 2, 100)
    );
}

#[test]
fn reload_comparison_ignores_layout_and_tracking() {
    let a = parse(&router_with("")).unwrap();
    let moved = format!(
        "# a comment\n{HEAD}\n{ROUTER}track = [\"t\"]\n[check.t]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n"
    );
    let b = parse(&moved).unwrap();
    assert!(a.routers[0].same_protocol(&b.routers[0]));
    let c = parse(&router_with("preempt = false\n")).unwrap();
    assert!(!a.routers[0].same_protocol(&c.routers[0]));
    let d = parse(&router_with("primary = \"192.0.2.9\"\n")).unwrap();
    assert!(!a.routers[0].same_protocol(&d.routers[0]));
}

#[test]
fn to_core_uses_interface_address_when_primary_is_absent() {
    let c = parse(&router_with("")).unwrap();
    let core = c.routers[0]
        .to_core(Ipv4Addr::new(192, 0, 2, 11).into())
        .unwrap();
    assert_eq!(core.primary(), Ipv4Addr::new(192, 0, 2, 11));
    assert!(core.timers().is_ok());
}

const V6_ROUTER: &str =
    "[[vrrp]]\nvrid = 52\npriority = 100\nvips = [\"fe80::52/64\", \"2001:db8::100/64\"]\n";

#[test]
fn ipv6_router_takes_the_link_local_primary_at_run_time() {
    let c = parse(&format!("{HEAD}{V6_ROUTER}")).unwrap();
    let r = &c.routers[0];
    assert!(r.core.is_v6());
    assert_eq!(r.core.vip_prefix_len(), 64);
    let vips: Vec<String> = r.core.vips().map(|v| v.to_string()).collect();
    assert_eq!(vips, ["fe80::52", "2001:db8::100"]);
    let ll: IpAddr = "fe80::11".parse().unwrap();
    let core = r.to_core(ll).unwrap();
    assert_eq!(core.primary(), ll);
    // An IPv4 interface address cannot be an IPv6 router's source.
    assert!(r.to_core(Ipv4Addr::new(192, 0, 2, 11).into()).is_err());
    // Default prefix /64, and a configured link-local primary.
    let c = parse(&format!(
            "{HEAD}[[vrrp]]\nvrid = 52\npriority = 255\nvips = [\"fe80::52\", \"2001:db8::100\"]\nprimary = \"fe80::52\"\n"
        ))
        .unwrap();
    assert_eq!(c.routers[0].core.vip_prefix_len(), 64);
    assert_eq!(c.routers[0].primary, Some("fe80::52".parse().unwrap()));
}

#[test]
fn ipv6_router_takes_link_local_peers() {
    let c = parse(&format!(
        "{HEAD}{V6_ROUTER}peers = [\"fe80::12\", \"fe80::13\"]\n"
    ))
    .unwrap();
    let peers: Vec<String> = c.routers[0].core.peers().map(|p| p.to_string()).collect();
    assert_eq!(peers, ["fe80::12", "fe80::13"]);
}

#[test]
fn ipv6_mistakes_are_refused_with_their_line() {
    let v6 = |vips: &str, extra: &str| {
        format!("{HEAD}[[vrrp]]\nvrid = 52\npriority = 100\nvips = {vips}\n{extra}")
    };
    refused(
        &v6("[\"2001:db8::100/64\"]", ""),
        5,
        "vrrp[0].vips[0]",
        "link-local",
    );
    refused(
        &v6("[\"fe80::52/64\", \"192.0.2.100\"]", ""),
        5,
        "vrrp[0].vips[1]",
        "not of the family",
    );
    refused(
        &v6("[\"fe80::52/64\"]", "version = 2\n"),
        6,
        "vrrp[0].version",
        "VRRPv2 has no IPv6",
    );
    refused(
        &v6("[\"fe80::52/64\"]", "primary = \"2001:db8::11\"\n"),
        6,
        "vrrp[0].primary",
        "link-local",
    );
    refused(
        &v6("[\"fe80::52/64\"]", "primary = \"192.0.2.11\"\n"),
        6,
        "vrrp[0].primary",
        "not of the VIPs' family",
    );
    refused(
        &v6("[\"fe80::52/64\"]", "peers = [\"2001:db8::12\"]\n"),
        6,
        "vrrp[0].peers[0]",
        "link-local",
    );
    refused(
        &v6(
            "[\"fe80::52/64\"]",
            "peers = [\"fe80::12\", \"192.0.2.12\"]\n",
        ),
        6,
        "vrrp[0].peers[1]",
        "not of the VIPs' family",
    );
    refused(
        &v6("[\"fe80::52/64\"]", "checksum = \"message-only\"\n"),
        6,
        "vrrp[0].checksum",
        "pseudo-header",
    );
    refused(
        &v6("[\"fe80::52/129\"]", ""),
        5,
        "vrrp[0].vips[0]",
        "1..=128",
    );
    refused(
        &v6("[\"ff02::12\"]", ""),
        5,
        "vrrp[0].vips[0]",
        "cannot be a router address",
    );
}
