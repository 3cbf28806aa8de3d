//! The converter on the realistic files in host/tests/keepalived/.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::tests::{MINIMAL, accepted, refused, run_hook};
use super::*;
use crate::config::{CheckKind, Config, Effect};
fn command_argv(kind: &CheckKind) -> Vec<String> {
    match kind {
        CheckKind::Command { argv, .. } => argv.clone(),
        other => panic!("not a command check: {other}"),
    }
}

fn fixture_dir() -> String {
    format!("{}/tests/keepalived/", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keepalived")
        .join(name)
}

/// Converts a fixture, validates the output with vrrpd's own parser and returns the
/// untranslated line numbers per file (file names relative to the fixture directory).
fn import_fixture(name: &str) -> (Imported, Config, Vec<(String, usize)>) {
    let path = fixture(name);
    let imp = import_file(&path).unwrap_or_else(|e| panic!("{}", e.render()));
    let cfg = Config::parse(&imp.toml, Path::new("out.toml"))
        .unwrap_or_else(|e| panic!("{}\n---\n{}", e.render(), imp.toml));
    let dir = fixture_dir();
    let lines = imp
        .untranslated
        .iter()
        .map(|u| (u.file.trim_start_matches(&dir).to_owned(), u.line))
        .collect();
    (imp, cfg, lines)
}

fn at(file: &str, lines: &[usize]) -> Vec<(String, usize)> {
    lines.iter().map(|l| (file.to_owned(), *l)).collect()
}

fn fixture_error(name: &str) -> ImportError {
    match import_file(&fixture(name)) {
        Ok(i) => panic!("{name} accepted:\n{}", i.toml),
        Err(e) => e.first().clone(),
    }
}

fn without_dir(toml: &str) -> String {
    toml.replace(&fixture_dir(), "")
}

#[test]
fn nginx_master_exact() {
    let (imp, cfg, lines) = import_fixture("nginx-master.conf");
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        without_dir(&imp.toml),
        r#"# vrrpd configuration converted from nginx-master.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE
#
# Translated without a vrrpd setting:
# router_id lb1 (line 5): names this host in keepalived's e-mails and SNMP; vrrpd's status names VRIDs

interface = "eth0"

[[vrrp]]
# vrrp_instance VI_1 (line 16)
# state MASTER (line 17): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
vrid = 51
version = 2
priority = 150
interval = "1s"
vips = ["192.168.10.100/24"]
auth_pass = "s3cret"
garp = { burst = 5, repeat_at = ["5s"] }
track = ["chk_nginx", "link_eth0"]

[check.chk_nginx]
# vrrp_script chk_nginx (line 8): script "/usr/bin/killall -0 nginx"
# `/usr/bin/killall -0 nginx` succeeds while a process named nginx runs: vrrpd checks that without forking
kind = "process"
name = "nginx"
interval = "2s"
rise = 2
fall = 2
weight = -60

[check.link_eth0]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "eth0"
interval = "1s"
# keepalived puts the instance at FAULT while eth0 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"#
    );
    let c = cfg.check("chk_nginx").unwrap();
    assert_eq!(c.effect, Effect::Weight(-60));
    assert_eq!(
        cfg.routers[0].core.auth(),
        vrrp_core::wire::Auth::Simple(*b"s3cret\0\0")
    );
}

#[test]
fn v2_auth_exact() {
    let (imp, cfg, lines) = import_fixture("v2-auth.conf");
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        without_dir(&imp.toml),
        r#"# vrrpd configuration converted from v2-auth.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE

interface = "ens3"

[[vrrp]]
# vrrp_instance web (line 3)
# state BACKUP (line 4): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
# auth_pass (line 12) cut to its first 8 bytes, as keepalived sends it
vrid = 10
version = 2
priority = 120
interval = "3s"
vips = ["10.0.0.10/32", "10.0.0.11/32"]
preempt_delay = "30s"
auth_pass = "long pas"
garp = { burst = 3, repeat_at = ["1s"] }
track = ["link_ens3"]

[check.link_ens3]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "ens3"
interval = "1s"
# keepalived puts the instance at FAULT while ens3 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"#
    );
    let r = &cfg.routers[0];
    assert_eq!(r.interval(), Duration::from_secs(3));
    assert_eq!(r.core.vip_prefix_len(), 32);
}

#[test]
fn nginx_backup_facts() {
    let (imp, cfg, lines) = import_fixture("nginx-backup.conf");
    assert_eq!(lines, at("nginx-backup.conf", &[26]));
    assert!(imp.untranslated[0].why.contains("label eth0:vip"));
    // script_user and enable_script_security: the hooks run as that user, after the check.
    assert!(cfg.scripts.security);
    let user = cfg.scripts.run_as.as_ref().unwrap();
    assert_eq!(
        (user.user.as_str(), user.group.as_deref()),
        ("nobody", None)
    );
    assert_eq!(cfg.notify[0].run_as.as_ref(), Some(user));
    assert!(
        imp.toml.contains("\n[scripts]\n# script_user\nuser = \"nobody\"\n# enable_script_security\nsecurity = true\n"),
        "{}",
        imp.toml
    );
    let r = &cfg.routers[0];
    assert_eq!(
        (r.vrid(), r.core.priority(), r.core.preempt()),
        (51, 100, false)
    );
    assert_eq!(
        cfg.check("chk_nginx").unwrap().kind,
        CheckKind::ProcessName {
            name: "nginx".into()
        }
    );
    let hook = &cfg.notify[0].command[2];
    assert!(
        hook.contains("MASTER) exec /etc/keepalived/notify.sh master ;;"),
        "{hook}"
    );
    assert!(
        hook.contains("BACKUP) exec /etc/keepalived/notify.sh backup ;;"),
        "{hook}"
    );
}

#[test]
fn v3_fast_facts() {
    let (_, cfg, lines) = import_fixture("v3-fast.conf");
    assert_eq!(lines, at("v3-fast.conf", &[7]), "curl's status range");
    let r = &cfg.routers[0];
    assert_eq!(r.core.version(), vrrp_core::wire::Version::V3);
    assert_eq!(r.interval(), Duration::from_millis(100));
    assert_eq!(
        r.core.checksum(),
        vrrp_core::wire::ChecksumMode::MessageOnly
    );
    assert_eq!(
        r.core.garp().repeat_at().len(),
        0,
        "vrrp_garp_master_delay 0"
    );
    let c = cfg.check("chk_http").unwrap();
    let CheckKind::Http { connect, path, .. } = &c.kind else {
        panic!("{:?}", c.kind)
    };
    assert_eq!(
        (connect.as_str(), path.as_str()),
        ("127.0.0.1:8080", "/healthz")
    );
    assert_eq!(
        (c.interval, c.timeout, c.rise, c.fall, c.effect),
        (
            Duration::from_millis(500),
            Duration::from_millis(400),
            3,
            2,
            Effect::Weight(-50)
        )
    );
}

#[test]
fn unicast_facts() {
    let (imp, cfg, lines) = import_fixture("unicast.conf");
    assert_eq!(lines, at("unicast.conf", &[23]), "min_ttl");
    let r = &cfg.routers[0];
    assert_eq!(
        r.core.peers().collect::<Vec<_>>(),
        [Ipv4Addr::new(10, 10, 1, 12), Ipv4Addr::new(10, 10, 1, 13)]
    );
    assert_eq!(r.primary, Some(Ipv4Addr::new(10, 10, 1, 11).into()));
    assert!(!r.core.preempt());
    assert_eq!(r.core.preempt_delay().as_secs(), 10);
    let c = cfg.check("chk_nginx_port").unwrap();
    assert_eq!(
        c.kind,
        CheckKind::Tcp {
            addr: "127.0.0.1:443".parse().unwrap()
        }
    );
    assert_eq!(c.effect, Effect::Weight(20));
    assert!(imp.toml.contains("# unicast_peer (line 21): vrrpd sends"));
}

#[test]
fn multi_instance_facts() {
    let (imp, cfg, lines) = import_fixture("multi-instance.conf");
    assert_eq!(lines, at("multi-instance.conf", &[23, 37]));
    let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
    assert!(
        why[0].contains("ignores the weighted trackers of a sync group's members"),
        "{why:?}"
    );
    assert!(why[1].contains("routes"), "{why:?}");
    let on: Vec<(u8, &str)> = cfg
        .routers
        .iter()
        .map(|r| (r.vrid(), r.interface.as_str()))
        .collect();
    assert_eq!(on, [(51, "eth0"), (52, "eth0"), (53, "eth1")]);
    // VI_MGMT's own link is the check VI_PUBLIC's track_interface already made.
    assert_eq!(cfg.routers[2].track, ["link_eth1"]);
    assert_eq!(
        cfg.sync_groups,
        [crate::config::SyncGroup {
            name: "VG_NGINX".into(),
            vrids: vec![51, 52]
        }]
    );
    // VI_PUBLIC tracks eth1 (plain: fault); the group gives VI_PRIVATE the same checks.
    for r in &cfg.routers[..2] {
        assert_eq!(r.track, ["link_eth1", "link_eth0"], "VRID {}", r.vrid());
    }
    assert_eq!(cfg.check("link_eth1").unwrap().effect, Effect::Fault);
    assert!(cfg.check("link_eth2_weight_minus_20").is_none());
    // The group's notify_master follows the first member.
    assert_eq!(cfg.notify.len(), 1);
    let hook = &cfg.notify[0].command[2];
    assert!(
        hook.starts_with("[ \"$VRRP_VRID\" = 51 ] || exit 0\n"),
        "{hook}"
    );
    assert!(
        hook.contains("MASTER) exec /usr/local/bin/vg-master.sh ;;"),
        "{hook}"
    );
    assert_eq!(cfg.routers[0].core.vips().count(), 2);
    assert_eq!(cfg.interface, "eth0");
}

/// Public and private VIPs on two uplinks, kept together by a sync group: one vrrpd, one
/// file, the eth1 router naming its uplink.
#[test]
fn two_uplinks_exact() {
    let (imp, cfg, lines) = import_fixture("two-uplinks.conf");
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        without_dir(&imp.toml),
        r#"# vrrpd configuration converted from two-uplinks.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE

interface = "eth0"

[[vrrp]]
# vrrp_instance VI_PUBLIC (line 15)
# state MASTER (line 16): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
vrid = 51
version = 2
priority = 150
interval = "1s"
vips = ["192.0.2.10/24"]
garp = { burst = 5, repeat_at = ["5s"] }
track = ["chk_nginx", "link_eth0"]

[[vrrp]]
# vrrp_instance VI_PRIVATE (line 29)
# state MASTER (line 30): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active
vrid = 52
interface = "eth1"
version = 2
priority = 150
interval = "1s"
vips = ["198.51.100.10/24"]
garp = { burst = 5, repeat_at = ["5s"] }
track = ["chk_nginx", "link_eth1"]

[[sync_group]]
# vrrp_sync_group VG_1 (line 8)
# keepalived moves the members between states together; vrrpd gives every member the
# checks of all members, so that they fail over together. Both need the members in the same
# priority order on every node.
name = "VG_1"
vrids = [51, 52]

[check.chk_nginx]
# vrrp_script chk_nginx (line 3): script "/usr/bin/killall -0 nginx"
# `/usr/bin/killall -0 nginx` succeeds while a process named nginx runs: vrrpd checks that without forking
kind = "process"
name = "nginx"
interval = "2s"
# weight 0: keepalived puts the instance at FAULT while the script fails; vrrpd
# gives it priority 0, so it steps down and never takes over
fault = true

[check.link_eth0]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "eth0"
interval = "1s"
# keepalived puts the instance at FAULT while eth0 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true

[check.link_eth1]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = "interface"
interface = "eth1"
interval = "1s"
# keepalived puts the instance at FAULT while eth1 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"#
    );
    let on: Vec<(u8, &str)> = cfg
        .routers
        .iter()
        .map(|r| (r.vrid(), r.interface.as_str()))
        .collect();
    assert_eq!(on, [(51, "eth0"), (52, "eth1")]);
    assert_eq!(cfg.interface, "eth0");
    assert_eq!(cfg.uplinks(), ["eth0", "eth1"]);
    assert_eq!(
        cfg.sync_groups,
        [crate::config::SyncGroup {
            name: "VG_1".into(),
            vrids: vec![51, 52]
        }]
    );
    assert_eq!(cfg.check("chk_nginx").unwrap().effect, Effect::Fault);
    for link in ["eth0", "eth1"] {
        let c = cfg.check(&format!("link_{link}")).unwrap();
        assert_eq!(c.kind, CheckKind::Interface { name: link.into() });
        assert_eq!(c.effect, Effect::Fault);
    }
}

/// The same VRID on two interfaces, and a bad priority elsewhere: both in one run.
#[test]
fn uplinks_vrid_mistakes_are_errors() {
    let errors = import_file(&fixture("bad-uplinks-vrid.conf")).unwrap_err();
    assert_eq!(
        errors.places(),
        [
            (Some((12, 23)), "vrrp_instance VI_PRIVATE.virtual_router_id"),
            (Some((22, 14)), "vrrp_instance VI_MGMT.priority"),
        ],
        "{}",
        errors.render()
    );
    assert!(
        errors.0[0].message.contains(
            "VRID 51 is also used by vrrp_instance VI_PUBLIC (line 1) on eth0, and this instance is on eth1"
        ),
        "{}",
        errors.render()
    );
    assert!(
        errors.0[0]
            .message
            .contains("one vrrpd needs distinct VRIDs across its uplinks"),
        "{}",
        errors.render()
    );
    assert!(
        errors.0[1].message.contains("300 is out of range"),
        "{}",
        errors.render()
    );
}

#[test]
fn scripts_facts() {
    let (imp, cfg, lines) = import_fixture("scripts.conf");
    assert_eq!(lines, at("scripts.conf", &[10, 22]));
    // No script_user: keepalived runs the scripts as root, and so does the translation; a
    // vrrp_script's own `user` stays its own.
    let root = cfg.scripts.run_as.as_ref().unwrap();
    assert_eq!(root.user, "root");
    assert!(!cfg.scripts.security);
    let run_as = |name: &str| match &cfg.check(name).unwrap().kind {
        CheckKind::Command { run_as, .. } => run_as.as_ref().unwrap().user.clone(),
        other => panic!("{other}"),
    };
    assert_eq!(run_as("chk_upstream_weight_minus_40"), "nobody");
    assert_eq!(run_as("chk_maint"), "root");
    let names: Vec<&str> = cfg.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "chk_legacy",
            "chk_maint",
            "chk_nginx",
            "chk_upstream_weight_minus_40",
            "link_eth0"
        ]
    );
    assert_eq!(
        cfg.routers[0].track,
        [
            "chk_nginx",
            "chk_upstream_weight_minus_40",
            "chk_maint",
            "chk_legacy",
            "link_eth0"
        ]
    );
    let up = cfg.check("chk_upstream_weight_minus_40").unwrap();
    assert_eq!(
        command_argv(&up.kind),
        vec![
            "/etc/keepalived/check_upstream.sh".to_owned(),
            "--timeout".to_owned(),
            "2".to_owned()
        ]
    );
    assert_eq!(
        (up.interval, up.timeout, up.rise, up.fall, up.effect),
        (
            Duration::from_secs(5),
            Duration::from_secs(5),
            2,
            3,
            Effect::Weight(-40)
        )
    );
    let maint = cfg.check("chk_maint").unwrap();
    assert_eq!(
        maint.effect,
        Effect::Fault,
        "keepalived's default weight is 0"
    );
    assert_eq!(
        command_argv(&maint.kind),
        vec![
            "test".to_owned(),
            "!".to_owned(),
            "-e".to_owned(),
            "/etc/keepalived/maintenance".to_owned()
        ]
    );
    assert_eq!(
        command_argv(&cfg.check("chk_legacy").unwrap().kind),
        vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            "pidof nginx || exit 1".to_owned()
        ]
    );
    assert!(
        imp.toml
            .contains("vrrp_script chk_unused (line 27) is tracked by no translated instance"),
        "{}",
        imp.toml
    );
}

#[test]
fn notify_facts() {
    let (_, cfg, lines) = import_fixture("notify.conf");
    assert_eq!(
        lines,
        at("notify.conf", &[12, 14]),
        "notify_fault, notify as root"
    );
    assert_eq!(cfg.notify.len(), 1);
    let hook = &cfg.notify[0].command[2];
    for line in [
        "  MASTER) /etc/keepalived/master.sh ;;",
        "  BACKUP) /etc/keepalived/backup.sh ;;",
        "  FAULT) /etc/keepalived/fault.sh ;;",
        "  STOP) /etc/keepalived/stop.sh ;;",
        "exec /etc/keepalived/notify.sh INSTANCE VI_1 \"$s\" \"$VRRP_PRIORITY\"",
    ] {
        assert!(hook.lines().any(|l| l == line), "{line:?} in\n{hook}");
    }
    assert_eq!(cfg.notify[0].timeout, Duration::from_secs(5));
}

#[test]
fn include_facts() {
    let (imp, cfg, lines) = import_fixture("include/keepalived.conf");
    assert_eq!(lines, at("include/keepalived.conf", &[8]));
    // `track_interface { eth0 }` names the instance's own interface: one check for both.
    assert_eq!(cfg.routers[0].track, ["chk_nginx", "link_eth0"]);
    assert_eq!(
        cfg.check("link_eth0").unwrap().kind,
        CheckKind::Interface {
            name: "eth0".into()
        }
    );
    assert!(
            without_dir(&imp.toml).contains("# track_interface eth0 (include/conf.d/20-vi1.conf:14)\n# keepalived puts an instance at FAULT"),
            "{}",
            imp.toml
        );
    let r = &cfg.routers[0];
    assert_eq!(
        r.core.version(),
        vrrp_core::wire::Version::V3,
        "global vrrp_version"
    );
    assert_eq!(r.interval(), Duration::from_millis(500));
    let c = cfg.check("chk_nginx").unwrap();
    assert_eq!(
        c.kind,
        CheckKind::ProcessName {
            name: "nginx".into()
        }
    );
    assert_eq!((c.rise, c.fall, c.effect), (2, 2, Effect::Fault));
    assert!(!imp.toml.contains("NOT_ME"), "README is not *.conf");
    assert!(
        without_dir(&imp.toml).contains("# vrrp_instance VI_1 (include/conf.d/20-vi1.conf:1)"),
        "{}",
        imp.toml
    );
}

#[test]
fn unknown_keyword_facts() {
    let (imp, cfg, lines) = import_fixture("unknown-keyword.conf");
    assert_eq!(lines, at("unknown-keyword.conf", &[3, 11]));
    assert!(imp.untranslated[1].why.contains("unknown keyword"));
    assert_eq!(
        cfg.routers[0].interval(),
        Duration::from_secs(1),
        "the misspelt advert_int leaves keepalived's default"
    );
}

#[test]
fn usual_mistakes_are_errors_with_file_line_and_column() {
    let cases: &[(&str, (usize, usize), &str, &str)] = &[
        (
            "bad-missing-brace.conf",
            (5, 1),
            "vrrp_script chk_nginx",
            "a `}` is missing",
        ),
        (
            "bad-vrid-range.conf",
            (4, 23),
            "vrrp_instance VI_1.virtual_router_id",
            "300 is out of range",
        ),
        (
            "bad-duplicate-vrid.conf",
            (12, 23),
            "vrrp_instance VI_2.virtual_router_id",
            "VRID 51 is also used by vrrp_instance VI_1 (line 1)",
        ),
        (
            "bad-priority-zero.conf",
            (5, 14),
            "vrrp_instance VI_1.priority",
            "0 is out of range",
        ),
        (
            "bad-advert-int-zero.conf",
            (5, 16),
            "vrrp_instance VI_1.advert_int",
            "positive number of seconds",
        ),
    ];
    for (name, pos, key, why) in cases {
        let e = fixture_error(name);
        assert_eq!(e.file, fixture(name));
        assert_eq!(e.position, Some(*pos), "{name}: {e}");
        assert_eq!(e.key, *key, "{name}: {e}");
        assert!(e.message.contains(why), "{name}: {e}");
    }
}

#[test]
fn nginx_dual_stack_facts() {
    let (imp, cfg, lines) = import_fixture("nginx-dual-stack.conf");
    assert!(lines.is_empty(), "{lines:?}");
    let [v4, v6] = &cfg.routers[..] else {
        panic!("two routers: {}", imp.toml)
    };
    assert!(!v4.core.is_v6());
    assert!(v6.core.is_v6());
    assert_eq!(v6.core.version(), vrrp_core::wire::Version::V3);
    assert_eq!(
        v6.core.vips().collect::<Vec<_>>(),
        [
            "fe80::52".parse::<IpAddr>().unwrap(),
            "2001:db8:10::10".parse().unwrap()
        ],
        "keepalived's addresses in keepalived's order"
    );
    assert_eq!(v6.core.vip_prefix_len(), 64);
    assert_eq!(v6.core.primary(), "fe80::a:11".parse::<IpAddr>().unwrap());
    assert_eq!(v6.track, ["chk_nginx", "link_eth0"]);
    assert!(
        imp.toml
            .contains("vips = [\"fe80::52/64\", \"2001:db8:10::10/64\"]\n"),
        "{}",
        imp.toml
    );
    assert_eq!(cfg.notify.len(), 2);
    assert_eq!(
        run_hook(&cfg.notify[1].command[2], "51", "Active", "preempt"),
        "",
        "the IPv6 instance's hook keeps to VRID 52"
    );
    assert!(
        cfg.notify[1].command[2]
            .ends_with("exec /etc/keepalived/notify.sh INSTANCE VI_6 \"$s\" \"$VRRP_PRIORITY\"\n")
    );
}

#[test]
fn ipv6_mistakes_are_listed_with_their_line() {
    let (imp, cfg, lines) = import_fixture("ipv6-mistakes.conf");
    assert_eq!(
        lines,
        at("ipv6-mistakes.conf", &[13, 22, 26, 31, 40, 43, 46]),
        "{:#?}",
        imp.untranslated
    );
    let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
    assert!(
        why[0].contains(
            "list a link-local address (e.g. fe80::3d) first in virtual_ipaddress on every node"
        ),
        "{why:?}"
    );
    assert!(why[1].contains("VRRPv2 has no IPv6"), "{why:?}");
    assert!(
        why[2].contains("not link-local: vrrpd lists an IPv6 peer by its link-local"),
        "{why:?}"
    );
    assert!(why[3].contains("one family"), "{why:?}");
    assert!(why[4].contains("not link-local"), "{why:?}");
    assert!(why[5].contains("one prefix length"), "{why:?}");
    // VI_GLOBAL_FIRST is left out; the others run VRRPv3 over IPv6, VI_UNICAST with its
    // link-local peer.
    let vrids: Vec<u8> = cfg.routers.iter().map(|r| r.vrid()).collect();
    assert_eq!(vrids, [62, 63]);
    for r in &cfg.routers {
        assert!(r.core.is_v6());
        assert_eq!(r.core.version(), vrrp_core::wire::Version::V3);
    }
    assert_eq!(
        cfg.routers[0].core.peers().collect::<Vec<_>>(),
        ["fe80::a:12".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(cfg.routers[1].core.peers().count(), 0);
    assert_eq!(
        cfg.routers[1].core.primary(),
        "fe80::".parse::<IpAddr>().unwrap(),
        "a global mcast_src_ip is not the primary: the uplink's link-local is, at run time"
    );
    assert!(
            imp.toml.contains(
                "# vrrp_version 2 (line 5) applies to IPv4 instances: keepalived runs IPv6 ones as version 3\n"
            ),
            "{}",
            imp.toml
        );
}

const V6: &str = "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 52\n priority 150\n virtual_ipaddress {\n  fe80::52\n  2001:db8::52\n }\n}\n";

#[test]
fn ipv6_forms() {
    // keepalived installs an address without a prefix as a host address: /128.
    let (imp, cfg) = accepted(V6);
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    assert_eq!(cfg.routers[0].core.vip_prefix_len(), 128);
    assert_eq!(cfg.routers[0].core.version(), vrrp_core::wire::Version::V3);

    // native_ipv6 makes the instance IPv6 before its addresses; the IPv4 one is ignored.
    let (imp, cfg) = accepted(&V6.replace(
        " virtual_ipaddress {\n  fe80::52\n",
        " native_ipv6\n virtual_ipaddress {\n  192.0.2.1/24\n  fe80::52\n",
    ));
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [7]);
    assert!(
        imp.untranslated[0]
            .why
            .contains("IPv6 from native_ipv6 (line 5)"),
        "{:?}",
        imp.untranslated
    );
    assert_eq!(cfg.routers[0].core.vips().count(), 2);

    // After IPv4 addresses, keepalived ignores native_ipv6.
    let (imp, cfg) = accepted(&MINIMAL.replace("    }\n}\n", "    }\n    native_ipv6\n}\n"));
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [8]);
    assert!(!cfg.routers[0].core.is_v6());

    // v3_checksum_as_v2 has no say over IPv6; an IPv4 source is not an IPv6 router's.
    let (imp, cfg) = accepted(&V6.replace(
        "priority 150",
        "priority 150\n v3_checksum_as_v2\n unicast_src_ip 192.0.2.11",
    ));
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [6]);
    assert_eq!(
        cfg.routers[0].core.checksum(),
        vrrp_core::wire::ChecksumMode::PseudoHeader
    );

    // The owner of an IPv6 router owns its link-local address.
    let (_, cfg) = accepted(&V6.replace("priority 150", "priority 255\n unicast_src_ip fe80::52"));
    assert_eq!(cfg.routers[0].core.priority(), 255);

    let e = refused(&V6.replace("fe80::52\n", "fe80::52/129\n"));
    assert!(e.message.contains("1..=128"), "{e}");
    let e = refused(&V6.replace("fe80::52\n", "ff02::12\n"));
    assert!(e.message.contains("cannot be a virtual address"), "{e}");
}

#[test]
fn one_vrid_over_ipv4_and_ipv6_keeps_the_first() {
    let v6 = V6.replace("virtual_router_id 52", "virtual_router_id 51");
    let (imp, cfg) = accepted(&format!(
        "{MINIMAL}{}vrrp_sync_group G {{\n group {{ VI_1 VI_6 }}\n}}\n",
        v6.replace(
            "priority 150",
            "priority 150\n track_interface {\n  eth1\n }"
        )
    ));
    assert_eq!(cfg.routers.len(), 1);
    assert!(!cfg.routers[0].core.is_v6());
    // 11: the VRID; 21: the group (one member left); 22: VI_6 is not translated.
    assert_eq!(
        imp.untranslated_lines("keepalived.conf"),
        [11, 21, 22],
        "{:#?}",
        imp.untranslated
    );
    assert!(
        imp.untranslated[0]
            .why
            .contains("also used by the IPv4 vrrp_instance VI_1 (line 1)"),
        "{:?}",
        imp.untranslated
    );
    assert!(
        imp.untranslated[2]
            .why
            .contains("shares its VRID with an instance of the other family"),
        "{:?}",
        imp.untranslated
    );
    assert!(
        cfg.check("link_eth1").is_none(),
        "the left-out instance's checks are left out too"
    );
}

#[test]
fn include_cycle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.conf"), "include b.conf\n").unwrap();
    std::fs::write(
        dir.path().join("b.conf"),
        format!("{MINIMAL}include a.conf\n"),
    )
    .unwrap();
    let e = import_file(&dir.path().join("a.conf"))
        .unwrap_err()
        .first()
        .clone();
    assert!(e.message.contains("includes itself"), "{e}");
    assert_eq!(e.position, Some((9, 9)));
    assert!(e.file.ends_with("b.conf"), "{e}");
}

#[test]
fn garp_refresh_facts() {
    let (_, cfg, lines) = import_fixture("garp-refresh.conf");
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(cfg.startup_delay, Duration::from_millis(2500));
    let refresh = |i: usize| cfg.routers[i].core.garp().refresh();
    assert_eq!(refresh(0), Some(vrrp_core::Duration::from_secs(60)));
    assert_eq!(refresh(1), Some(vrrp_core::Duration::from_secs(10)));
    assert_eq!(cfg.routers[1].core.garp().burst, 1);
    let (imp, _, lines) = import_fixture("garp-refresh-repeat.conf");
    assert_eq!(lines, at("garp-refresh-repeat.conf", &[3]));
    assert!(
        imp.untranslated[0].why.contains("`garp.burst`"),
        "{}",
        imp.untranslated[0]
    );
}

#[test]
fn track_file_facts() {
    let (imp, cfg, lines) = import_fixture("track-file.conf");
    assert_eq!(lines, at("track-file.conf", &[20, 39, 40]));
    assert!(imp.untranslated[2].why.contains("no track_file"));
    assert!(
        imp.toml
            .contains("# init_file\ninit = 5\noverwrite = true\n"),
        "{}",
        imp.toml
    );
    assert!(
        imp.toml.contains(
            "# track_file unused (line 23) is tracked by no translated instance: keepalived does not read it either\n"
        ),
        "{}",
        imp.toml
    );
    let (vi1, vi2) = (&cfg.routers[0], &cfg.routers[1]);
    assert_eq!(
        vi1.track,
        ["drain", "maint", "boost_weight_20_noreverse", "link_eth0"]
    );
    assert_eq!(
        vi2.track,
        [
            "drain_weight_minus_20",
            "maint_reverse",
            "boost",
            "link_eth0"
        ]
    );
    let scale = |name: &str| {
        let c = cfg.check(name).unwrap();
        let CheckKind::File { path, .. } = &c.kind else {
            panic!("{name}: {}", c.kind)
        };
        let Effect::Scaled(s) = c.effect else {
            panic!("{name}: {:?}", c.effect)
        };
        (path.display().to_string(), s.weight, s.reverse)
    };
    let init = |name: &str| match &cfg.check(name).unwrap().kind {
        CheckKind::File { init, .. } => init.map(|i| (i.value, i.overwrite)),
        other => panic!("{name}: {other}"),
    };
    // `init_file` (drain) and `init_file 5 overwrite` (boost), in every check of their file.
    assert_eq!(init("drain"), Some((0, false)));
    assert_eq!(init("drain_weight_minus_20"), Some((0, false)));
    assert_eq!(init("maint"), None);
    assert_eq!(init("boost"), Some((5, true)));
    let drain = "/run/keepalived/drain".to_owned();
    let maint = "/run/keepalived/maint".to_owned();
    let boost = "/var/lib/keepalived/boost".to_owned();
    assert_eq!(scale("drain"), (drain.clone(), -50, false));
    assert_eq!(
        scale("drain_weight_minus_20"),
        (drain, -20, false),
        "the instance's weight"
    );
    assert_eq!(scale("maint"), (maint.clone(), 0, false));
    assert_eq!(scale("maint_reverse"), (maint, 0, true));
    assert_eq!(
        scale("boost"),
        (boost.clone(), 10, true),
        "the file's weight and reverse"
    );
    assert_eq!(
        scale("boost_weight_20_noreverse"),
        (boost, 20, false),
        "noreverse overrides the file's reverse"
    );

    // The priorities keepalived would give the instances, from the numbers in the files.
    let mut table = crate::health::HealthTable::new(&cfg);
    let set = |table: &mut crate::health::HealthTable, check: &str, value: i64| {
        table.apply(&crate::health::HealthEvent {
            check: check.into(),
            up: true,
            detail: String::new(),
            value: Some(value),
        });
    };
    set(&mut table, "link_eth0", 0);
    for (check, value) in [
        ("drain", 1),
        ("drain_weight_minus_20", 1),
        ("maint", 0),
        ("maint_reverse", 0),
        ("boost", 2),
        ("boost_weight_20_noreverse", 2),
    ] {
        set(&mut table, check, value);
    }
    assert_eq!(table.priority(vi1), 150 - 50 + 40);
    assert_eq!(table.priority(vi2), 0, "maint reversed: 0 is a fault");
    set(&mut table, "maint_reverse", 1);
    assert_eq!(table.priority(vi2), 100 - 20 - 20);
    set(&mut table, "maint", 1);
    assert_eq!(table.priority(vi1), 0, "maint: not 0 is a fault");
}

#[test]
fn track_file_mistakes_are_errors() {
    let errors = import_file(&fixture("bad-track-file.conf")).unwrap_err();
    assert_eq!(
        errors.places(),
        [
            (Some((3, 12)), "track_file drain.weight"),
            (Some((6, 1)), "track_file nofile")
        ],
        "{}",
        errors.render()
    );
    assert!(errors.0[0].message.contains("-254..=254"));
    assert!(errors.0[1].message.contains("has no `file`"));
}
