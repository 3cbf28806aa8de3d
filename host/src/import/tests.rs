//! The converter on small keepalived.conf snippets.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{CheckKind, Config, Effect};

impl Imported {
    pub(super) fn untranslated_lines(&self, file: &str) -> Vec<usize> {
        self.untranslated
            .iter()
            .filter(|u| u.file == file)
            .map(|u| u.line)
            .collect()
    }
}

impl ImportErrors {
    /// Where each mistake is: its position and its key path, in the order reported.
    pub(super) fn places(&self) -> Vec<(Option<(usize, usize)>, &str)> {
        self.0
            .iter()
            .map(|e| (e.position, e.key.as_str()))
            .collect()
    }
}

fn conv(text: &str) -> Imported {
    import_str(text, Path::new("keepalived.conf")).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// Converts and feeds the output to vrrpd's own validation.
pub(super) fn accepted(text: &str) -> (Imported, Config) {
    let imp = conv(text);
    let cfg = Config::parse(&imp.toml, Path::new("out.toml"))
        .unwrap_or_else(|e| panic!("{}\n---\n{}", e.render(), imp.toml));
    (imp, cfg)
}

pub(super) fn refused(text: &str) -> ImportError {
    match import_str(text, Path::new("keepalived.conf")) {
        Ok(i) => panic!("accepted:\n{}", i.toml),
        Err(e) => e.first().clone(),
    }
}

pub(super) const MINIMAL: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n";

#[test]
fn minimal_instance_exact_output() {
    let (imp, cfg) = accepted(MINIMAL);
    assert!(imp.untranslated.is_empty());
    assert_eq!(
        imp.toml,
        "# vrrpd configuration converted from keepalived.conf by `vrrpd import-keepalived`.
# Review it, then validate it with: vrrpd check --config FILE

interface = \"eth0\"

[[vrrp]]
# vrrp_instance VI_1 (line 1)
vrid = 51
version = 2
priority = 150
interval = \"1s\"
vips = [\"192.0.2.100/24\"]
garp = { burst = 5, repeat_at = [\"5s\"] }
track = [\"link_eth0\"]

[check.link_eth0]
# keepalived puts an instance at FAULT while its `interface` has no link, unless it sets
# dont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its
# link, so only this check notices
# keepalived hears of link changes from the kernel; vrrpd reads the carrier every interval
kind = \"interface\"
interface = \"eth0\"
interval = \"1s\"
# keepalived puts the instance at FAULT while eth0 has no link; vrrpd gives it
# priority 0, so it steps down and never takes over
fault = true
"
    );
    let r = &cfg.routers[0];
    assert_eq!(r.core.version(), vrrp_core::wire::Version::V2);
    assert_eq!(r.core.garp().burst, 5);
}

#[test]
fn defaults_are_keepalived_s() {
    let (imp, cfg) = accepted(
        "vrrp_instance X {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.5\n }\n}\n",
    );
    let r = &cfg.routers[0];
    assert_eq!(r.core.priority(), 100, "keepalived's default priority");
    assert_eq!(
        r.core.vip_prefix_len(),
        32,
        "keepalived's VIPs are /32 by default"
    );
    assert!(imp.toml.contains("priority 100: keepalived's default"));
}

#[test]
fn brace_on_its_own_line_and_one_line_blocks() {
    let (_, cfg) = accepted(
        "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 10.0.0.1/24 10.0.0.2/24 }\n}\n",
    );
    // `{ a b }` on one line is one statement `a b` to keepalived: b is an option of a.
    assert_eq!(cfg.routers[0].core.vips().count(), 1);
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let e = refused("vrrp_instance VI_1 {\n interface eth0\n");
    assert_eq!(e.position, Some((1, 1)));
    assert!(e.message.contains("never closed"), "{e}");
    let e = refused("}\n");
    assert_eq!(e.position, Some((1, 1)));
    let e = refused(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n  10.0.0.1\n}\nvrrp_instance VI_2 {\n}\n",
    );
    assert_eq!(e.position, Some((6, 1)));
    assert_eq!(e.key, "vrrp_instance VI_1");
    assert!(e.message.contains("opened on line 1"), "{e}");
    let e = refused("a {\n}\n{\n");
    assert!(e.message.contains("without a keyword"), "{e}");
    let text = e.render();
    assert!(text.starts_with("keepalived.conf:3:1: "), "{text}");
}

#[test]
fn values_keepalived_would_refuse_are_errors() {
    let cases: &[(&str, &str, (usize, usize), &str)] = &[
        (
            "virtual_router_id 51",
            "virtual_router_id 256",
            (3, 20),
            "1..=255",
        ),
        (
            "virtual_router_id 51",
            "virtual_router_id x",
            (3, 20),
            "not a number",
        ),
        ("priority 150", "priority 0", (4, 11), "out of range"),
        (
            "priority 150",
            "priority 150\n advert_int 0",
            (5, 13),
            "positive",
        ),
        (
            "priority 150",
            "priority 150\n advert_int 1.5",
            (5, 13),
            "whole seconds",
        ),
        (
            "priority 150",
            "priority 150\n version 3\n advert_int 0.015",
            (6, 13),
            "0.01",
        ),
        ("priority 150", "priority 255", (4, 11), "address owner"),
        (
            "priority 150",
            "priority 150\n version 4",
            (5, 10),
            "2 or 3",
        ),
    ];
    for (from, to, pos, why) in cases {
        let text = MINIMAL
            .replace(from, to)
            .replace("{\n    ", "{\n ")
            .replace("\n    ", "\n ");
        let e = refused(&text);
        assert_eq!(e.position, Some(*pos), "{to}: {}", e.render());
        assert!(e.message.contains(why), "{to}: {e}");
    }
}

#[test]
fn fractional_v3_interval_and_global_version() {
    let (_, cfg) = accepted(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        MINIMAL.replace("priority 150", "priority 150\n advert_int 0.1")
    ));
    assert_eq!(cfg.routers[0].interval(), Duration::from_millis(100));
    assert_eq!(cfg.routers[0].core.version(), vrrp_core::wire::Version::V3);
}

#[test]
fn scripts_become_checks_with_their_weight() {
    let (imp, cfg) = accepted(&format!(
        "vrrp_script chk_nginx {{\n script \"killall -0 nginx\"\n interval 2\n weight -20\n fall 3\n rise 2\n}}\nvrrp_script chk_x {{\n script /usr/local/bin/x\n}}\n{}",
        MINIMAL.replace(
            "priority 150",
            "priority 150\n track_script {\n  chk_nginx\n  chk_x weight 10\n  chk_nope\n }"
        )
    ));
    assert_eq!(
        cfg.routers[0].track,
        ["chk_nginx", "chk_x_weight_10", "link_eth0"]
    );
    let n = cfg.check("chk_nginx").unwrap();
    assert_eq!(
        n.kind,
        CheckKind::ProcessName {
            name: "nginx".into()
        }
    );
    assert_eq!(
        (n.interval, n.rise, n.fall, n.effect),
        (Duration::from_secs(2), 2, 3, Effect::Weight(-20))
    );
    assert_eq!(
        cfg.check("chk_x_weight_10").unwrap().effect,
        Effect::Weight(10)
    );
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [18]);
    assert!(
        imp.untranslated[0].why.contains("no vrrp_script"),
        "{:?}",
        imp.untranslated
    );
}

#[test]
fn weight_zero_is_fault() {
    let (_, cfg) = accepted(&format!(
        "vrrp_script c {{\n script \"pidof nginx\"\n}}\n{}",
        MINIMAL.replace("priority 150", "priority 150\n track_script {\n  c\n }")
    ));
    assert_eq!(cfg.check("c").unwrap().effect, Effect::Fault);
}

#[test]
fn notify_hook_runs_the_right_script() {
    let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n notify_master \"/etc/keepalived/master.sh now\"\n notify_backup /etc/keepalived/backup.sh\n notify \"/usr/local/bin/n it\"",
        ));
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    let cmd = &cfg.notify[0].command;
    assert_eq!(&cmd[..2], ["/bin/sh", "-c"]);
    let script = &cmd[2];
    assert!(
        script.starts_with("[ \"$VRRP_VRID\" = 51 ] || exit 0\n"),
        "{script}"
    );
    assert!(
        script.contains("MASTER) /etc/keepalived/master.sh now ;;"),
        "{script}"
    );
    assert!(
        script.ends_with("exec /usr/local/bin/n it INSTANCE VI_1 \"$s\" \"$VRRP_PRIORITY\"\n"),
        "{script}"
    );
}

/// Runs the generated hook program with a given environment, with the keepalived scripts
/// replaced by `echo`, and returns what it printed.
pub(super) fn run_hook(script: &str, vrid: &str, state: &str, reason: &str) -> String {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env("VRRP_VRID", vrid)
        .env("VRRP_STATE", state)
        .env("VRRP_REASON", reason)
        .env("VRRP_PRIORITY", "150")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn notify_hook_program_maps_states() {
    let (_, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n notify_master \"/bin/echo master\"\n notify_backup \"/bin/echo backup\"\n notify_fault \"/bin/echo 'fault x'\"\n notify_stop \"/bin/echo stop\"\n notify \"/bin/echo any\"",
        ));
    let s = &cfg.notify[0].command[2];
    assert_eq!(
        run_hook(s, "51", "Active", "active_down"),
        "master\nany INSTANCE VI_1 MASTER 150\n"
    );
    assert_eq!(
        run_hook(s, "51", "Backup", "startup"),
        "backup\nany INSTANCE VI_1 BACKUP 150\n"
    );
    assert_eq!(
        run_hook(s, "51", "Backup", "fault"),
        "fault x\nany INSTANCE VI_1 FAULT 150\n"
    );
    assert_eq!(
        run_hook(s, "51", "Initialize", "shutdown"),
        "stop\nany INSTANCE VI_1 STOP 150\n"
    );
    assert_eq!(
        run_hook(s, "52", "Active", "active_down"),
        "",
        "another VRID"
    );
}

#[test]
fn vip_forms() {
    let (imp, cfg) = accepted(&MINIMAL.replace(
            "192.0.2.100/24",
            "192.0.2.100/24 dev eth0\n        192.0.2.101/24 dev eth0 label eth0:1\n        192.0.2.102/24 dev eth1\n        192.0.2.103/25\n        2001:db8::1/64\n        192.0.2.100/24",
        ));
    assert_eq!(
        cfg.routers[0].core.vips().collect::<Vec<_>>(),
        [Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 101)]
    );
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [7, 8, 9, 10, 11]);
    assert!(imp.untranslated[0].why.contains("label eth0:1"));
    assert!(imp.untranslated[1].why.contains("dev eth1"));
    assert!(imp.untranslated[2].why.contains("one prefix length"));
    assert!(imp.untranslated[3].why.contains("IPv6"));
    assert!(imp.untranslated[4].why.contains("twice"));
}

#[test]
fn comment_characters_anywhere_cut_the_password_like_keepalived() {
    let (imp, cfg) = accepted(&MINIMAL.replace(
        "priority 150",
        "priority 150\n authentication {\n  auth_type PASS\n  auth_pass \"a#b\"c!d\n }",
    ));
    assert!(imp.untranslated.is_empty());
    let vrrp_core::wire::Auth::Simple(pw) = cfg.routers[0].core.auth() else {
        panic!()
    };
    assert_eq!(&pw[..5], b"a#bc\0");
}

#[test]
fn long_password_is_cut_to_eight_bytes() {
    let (imp, cfg) = accepted(&MINIMAL.replace(
        "priority 150",
        "priority 150\n authentication {\n  auth_type PASS\n  auth_pass 0123456789\n }",
    ));
    let vrrp_core::wire::Auth::Simple(pw) = cfg.routers[0].core.auth() else {
        panic!()
    };
    assert_eq!(&pw, b"01234567");
    assert!(imp.toml.contains("cut to its first 8 bytes"));
}

#[test]
fn instances_on_other_interfaces_run_on_those_uplinks() {
    let second = MINIMAL
        .replace("VI_1", "VI_2")
        .replace("eth0", "eth1")
        .replace("51", "52");
    let (imp, cfg) = accepted(&format!("{MINIMAL}{second}"));
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    assert_eq!(cfg.interface, "eth0", "the first instance's interface");
    let on: Vec<(u8, &str)> = cfg
        .routers
        .iter()
        .map(|r| (r.vrid(), r.interface.as_str()))
        .collect();
    assert_eq!(on, [(51, "eth0"), (52, "eth1")]);
    // A router on the file's interface names none, as a single-uplink file always did.
    assert!(
        imp.toml.contains("vrid = 51\nversion = 2\n"),
        "{}",
        imp.toml
    );
    assert!(
        imp.toml
            .contains("vrid = 52\ninterface = \"eth1\"\nversion = 2\n"),
        "{}",
        imp.toml
    );
    // Each router tracks the link of its own uplink.
    assert_eq!(cfg.routers[0].track, ["link_eth0"]);
    assert_eq!(cfg.routers[1].track, ["link_eth1"]);
    assert_eq!(
        cfg.check("link_eth1").unwrap().kind,
        CheckKind::Interface {
            name: "eth1".into()
        }
    );
    assert_eq!(cfg.check("link_eth1").unwrap().effect, Effect::Fault);
}

#[test]
fn one_vrid_on_two_interfaces_is_an_error_reported_with_the_others() {
    let on = |name: &str, iface: &str, vrid: &str| {
        MINIMAL
            .replace("VI_1", name)
            .replace("eth0", iface)
            .replace("51", vrid)
    };
    let text = format!(
        "{}{}{}",
        on("VI_A", "eth0", "51"),
        on("VI_B", "eth1", "51"),
        on("VI_C", "eth2", "53").replace("priority 150", "priority 0")
    );
    let errors = import_str(&text, Path::new("keepalived.conf")).unwrap_err();
    assert_eq!(
        errors.places(),
        [
            (Some((11, 23)), "vrrp_instance VI_B.virtual_router_id"),
            (Some((20, 14)), "vrrp_instance VI_C.priority"),
        ],
        "{}",
        errors.render()
    );
    let why = &errors.0[0].message;
    assert!(
        why.contains("VRID 51 is also used by vrrp_instance VI_A (line 1) on eth0, and this instance is on eth1"),
        "{why}"
    );
    assert!(
        why.contains("one vrrpd needs distinct VRIDs across its uplinks"),
        "{why}"
    );

    // On one interface it stays the error it was, whatever the family.
    let e = refused(&format!(
        "{}{}",
        on("VI_A", "eth0", "51"),
        on("VI_B", "eth0", "51")
    ));
    assert!(
        e.message
            .contains("on eth0: one VRID is one virtual router on a link"),
        "{e}"
    );
    // Across interfaces the families do not matter: vrrpd's VRIDs are unique in the file.
    let v6 = on("VI_6", "eth1", "51").replace("192.0.2.100/24", "fe80::51/64");
    let e = refused(&format!("{}{v6}", on("VI_A", "eth0", "51")));
    assert!(
        e.message.contains("distinct VRIDs across its uplinks"),
        "{e}"
    );
}

#[test]
fn more_uplinks_than_vrrpd_serves_is_an_error_per_instance() {
    let mut text = String::new();
    for i in 1..=10 {
        text.push_str(
            &MINIMAL
                .replace("VI_1", &format!("VI_{i}"))
                .replace("eth0", &format!("eth{i}"))
                .replace("51", &i.to_string()),
        );
    }
    // A ninth router on an uplink already served is fine.
    let mut fine: String = text.split_inclusive("}\n}\n").take(8).collect();
    fine.push_str(
        &MINIMAL
            .replace("VI_1", "VI_9")
            .replace("eth0", "eth8")
            .replace("51", "9"),
    );
    let (_, cfg) = accepted(&fine);
    assert_eq!(cfg.uplinks().len(), crate::config::MAX_UPLINKS);
    assert_eq!(cfg.routers.len(), 9);

    let errors = import_str(&text, Path::new("keepalived.conf")).unwrap_err();
    assert_eq!(
        errors.places(),
        [
            (Some((66, 15)), "vrrp_instance VI_9.interface"),
            (Some((74, 15)), "vrrp_instance VI_10.interface"),
        ],
        "{}",
        errors.render()
    );
    assert!(
        errors.0[0].message.contains(
            "eth9 would be one uplink too many: one vrrpd serves at most 8, and the instances before this one use eth1, eth2, eth3, eth4, eth5, eth6, eth7, eth8"
        ),
        "{}",
        errors.render()
    );
}

#[test]
fn garp_settings() {
    let (_, cfg) = accepted(&format!(
        "global_defs {{\n vrrp_garp_master_repeat 2\n}}\n{}",
        MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 1")
    ));
    let g = cfg.routers[0].core.garp();
    assert_eq!(g.burst, 2);
    assert!(g.repeat_at().eq([vrrp_core::Duration::from_secs(1)]));
    let (_, cfg) = accepted(&MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 0"));
    assert_eq!(
        cfg.routers[0].core.garp().repeat_at().len(),
        0,
        "0: no second set"
    );
    // vrrpd counts offsets in centiseconds: a finer delay is rounded up, not refused.
    let (imp, cfg) =
        accepted(&MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 0.005"));
    assert!(imp.toml.contains("repeat_at = [\"10ms\"]"), "{}", imp.toml);
    assert!(
        cfg.routers[0]
            .core
            .garp()
            .repeat_at()
            .eq([vrrp_core::Duration::from_millis(10)])
    );
    // Beyond what a schedule holds: refused with the range, not turned into a bad file.
    let e = refused(&MINIMAL.replace("priority 150", "priority 150\n garp_master_delay 700"));
    assert!(e.to_string().contains("0..=655"), "{e}");
}

#[test]
fn strict_mode_turns_accept_off() {
    let (imp, cfg) = accepted(&format!("global_defs {{\n vrrp_strict\n}}\n{MINIMAL}"));
    assert!(!cfg.routers[0].core.accept_mode());
    // Its meaning changes, so it is listed by line like every such setting.
    let listed: Vec<_> = imp
        .untranslated
        .iter()
        .map(|u| (u.line, u.what.as_str()))
        .collect();
    assert_eq!(listed, [(2, "vrrp_strict")], "{:?}", imp.untranslated);
    let (_, cfg) = accepted(&format!(
        "global_defs {{\n vrrp_strict\n}}\n{}",
        MINIMAL.replace("priority 150", "priority 150\n accept")
    ));
    assert!(cfg.routers[0].core.accept_mode());
}

#[test]
fn track_interface_becomes_interface_checks() {
    let (imp, cfg) = accepted(&MINIMAL.replace(
            "priority 150",
            "priority 150\n track_interface {\n  eth1\n  eth2 weight -20\n  eth3 weight 10 noreverse\n  eth4 weight -5 reverse\n  eth1 weight 0\n  this-name-is-too-long0\n }",
        ));
    assert_eq!(
        cfg.routers[0].track,
        [
            "link_eth1",
            "link_eth2_weight_minus_20",
            "link_eth3_weight_10",
            "link_eth0"
        ]
    );
    let check = |n: &str| cfg.check(n).unwrap();
    assert_eq!(check("link_eth1").effect, Effect::Fault);
    assert_eq!(
        check("link_eth2_weight_minus_20").kind,
        CheckKind::Interface {
            name: "eth2".into()
        }
    );
    assert_eq!(
        check("link_eth2_weight_minus_20").effect,
        Effect::Weight(-20)
    );
    assert_eq!(check("link_eth3_weight_10").effect, Effect::Weight(10));
    assert_eq!(check("link_eth0").effect, Effect::Fault, "the uplink");
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [9, 10, 11]);
    assert!(imp.untranslated[0].why.contains("`reverse`"));
    assert!(imp.untranslated[1].why.contains("tracked twice"));
    assert!(
        imp.untranslated[2]
            .why
            .contains("not a Linux interface name")
    );
    assert!(
        imp.toml.contains("# track_interface eth1 (line 6)\n"),
        "{}",
        imp.toml
    );
    let e = refused(&MINIMAL.replace(
        "priority 150",
        "priority 150\n track_interface {\n  eth1 weight 300\n }",
    ));
    assert!(e.message.contains("-254..=254"), "{e}");
}

#[test]
fn the_instance_s_own_interface_is_tracked_unless_dont_track_primary() {
    let (imp, cfg) = accepted(MINIMAL);
    assert_eq!(cfg.routers[0].track, ["link_eth0"]);
    assert!(
        imp.toml.contains("unless it sets\n# dont_track_primary"),
        "{}",
        imp.toml
    );
    let (imp, cfg) =
        accepted(&MINIMAL.replace("priority 150", "priority 150\n dont_track_primary"));
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    assert!(cfg.routers[0].track.is_empty());
    assert!(cfg.checks.is_empty());
    assert!(
        imp.toml
            .contains("# dont_track_primary (line 5): no check on eth0's link"),
        "{}",
        imp.toml
    );
    // A fast router's link is read as often as it advertises.
    let (_, cfg) =
        accepted(&MINIMAL.replace("priority 150", "priority 150\n version 3\n advert_int 0.2"));
    assert_eq!(
        cfg.check("link_eth0").unwrap().interval,
        Duration::from_millis(200)
    );
}

const TWO: &str = "vrrp_script chk_a {\n script \"pidof a\"\n weight -30\n}\nvrrp_script chk_b {\n script \"pidof b\"\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 10\n priority 150\n virtual_ipaddress {\n  192.0.2.10/24\n }\n track_script {\n  chk_a\n }\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 20\n priority 150\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n";

#[test]
fn sync_group_with_its_own_trackers_and_notify() {
    let (imp, cfg) = accepted(&format!(
        "{TWO}vrrp_sync_group VG {{\n group {{ VI_1 VI_2 VI_9 }}\n track_script {{\n  chk_b\n }}\n track_interface {{\n  eth1 weight -40\n }}\n notify \"/bin/echo any\"\n notify_fault /bin/true\n}}\n"
    ));
    // 16: the weighted chk_a of a member (keepalived ignores it); 28: VI_9 is no instance;
    // 36: notify_fault.
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [16, 28, 36]);
    assert!(
        imp.untranslated[0]
            .why
            .contains("sync_group_tracking_weight")
    );
    assert!(imp.untranslated[1].why.contains("no vrrp_instance"));
    assert_eq!(cfg.sync_groups[0].name, "VG");
    assert_eq!(cfg.sync_groups[0].vrids, [10, 20]);
    for r in &cfg.routers {
        assert_eq!(
            r.track,
            ["link_eth0", "chk_b", "link_eth1_weight_minus_40"],
            "VRID {}",
            r.vrid()
        );
    }
    assert!(cfg.check("chk_a").is_none());
    assert_eq!(cfg.check("chk_b").unwrap().effect, Effect::Fault);
    assert_eq!(
        cfg.check("link_eth1_weight_minus_40").unwrap().effect,
        Effect::Weight(-40)
    );
    let hook = &cfg.notify[0].command[2];
    assert_eq!(
        run_hook(hook, "10", "Active", "preempt"),
        "any GROUP VG MASTER 0\n"
    );
    assert_eq!(run_hook(hook, "20", "Active", "preempt"), "", "one member");
    assert!(
        imp.toml
            .contains("[[sync_group]]\n# vrrp_sync_group VG (line 27)\n"),
        "{}",
        imp.toml
    );
}

#[test]
fn sync_group_tracking_weight_keeps_member_weights() {
    let (imp, cfg) = accepted(&format!(
        "{TWO}vrrp_sync_group VG {{\n group {{\n  VI_1\n  VI_2\n }}\n sync_group_tracking_weight\n}}\n"
    ));
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    assert_eq!(cfg.check("chk_a").unwrap().effect, Effect::Weight(-30));
    assert_eq!(cfg.routers[1].track, ["chk_a", "link_eth0"]);
}

#[test]
fn sync_groups_that_cannot_be_expressed_are_listed() {
    // An IPv6 instance whose first address is not link-local is left out.
    let global_first = MINIMAL
        .replace("VI_1", "VI_3")
        .replace("51", "30")
        .replace("192.0.2.100/24", "2001:db8::30/64");
    let (imp, cfg) = accepted(&format!(
        "{TWO}{global_first}vrrp_sync_group G1 {{\n group {{\n  VI_1\n  VI_3\n }}\n notify_master /bin/true\n}}\n"
    ));
    assert!(cfg.sync_groups.is_empty());
    assert!(
        cfg.notify.is_empty(),
        "the group's notify is not in the output"
    );
    let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
    // 16: chk_a, weighted in a member; 32: VI_3's first address; 35: the group, one member
    // left; 38: VI_3 not translated.
    assert_eq!(
        imp.untranslated_lines("keepalived.conf"),
        [16, 32, 35, 38],
        "{why:#?}"
    );
    assert!(
        why[2].contains("1 of its instances translated (VI_1)"),
        "{why:?}"
    );
    assert!(
        why[3].contains("has no link-local first address and not translated"),
        "{why:?}"
    );

    let (imp, cfg) = accepted(&format!(
        "{TWO}vrrp_sync_group G1 {{\n group {{ VI_1 VI_2 }}\n}}\nvrrp_sync_group G2 {{\n group {{ VI_2 VI_2 VI_1 }}\n}}\nvrrp_sync_group G1 {{\n group {{ VI_1 VI_2 }}\n}}\n"
    ));
    assert_eq!(cfg.sync_groups.len(), 1);
    let why: Vec<&str> = imp.untranslated.iter().map(|u| u.why.as_str()).collect();
    // 16: chk_a; 30: G2, none left; 31: VI_2, VI_2, VI_1 are in G1; 33: G1 again.
    assert_eq!(
        imp.untranslated_lines("keepalived.conf"),
        [16, 30, 31, 31, 31, 33],
        "{why:#?}"
    );
    assert!(
        why[1].contains("0 of its instances translated (none)"),
        "{why:?}"
    );
    assert!(why[2].contains("already in vrrp_sync_group G1"), "{why:?}");
    assert!(why[4].contains("already in vrrp_sync_group G1"), "{why:?}");
    assert!(why[5].contains("already defined (line 27)"), "{why:?}");
}

#[test]
fn include_of_missing_file_is_listed() {
    let imp = conv(&format!("include /nonexistent/dir/*.conf\n{MINIMAL}"));
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [1]);
}

#[test]
fn realtime_priority_and_no_swap_become_the_process_section() {
    let (imp, cfg) = accepted(&format!(
        "global_defs {{\n vrrp_rt_priority 50\n vrrp_no_swap\n}}\n{MINIMAL}"
    ));
    assert!(imp.untranslated.is_empty(), "{:?}", imp.untranslated);
    assert!(
        imp.toml
            .contains("\n[process]\n# vrrp_rt_priority 50\nrealtime_priority = 50\n# vrrp_no_swap\nlock_memory = true\n"),
        "{}",
        imp.toml
    );
    assert_eq!(
        cfg.process,
        crate::config::ProcessConfig {
            realtime_priority: Some(50),
            lock_memory: true
        }
    );
    let (imp, cfg) = accepted(&format!(
        "global_defs {{\n vrrp_rt_priority 1\n}}\n{MINIMAL}"
    ));
    assert_eq!(cfg.process.realtime_priority, Some(1));
    assert!(!cfg.process.lock_memory && !imp.toml.contains("lock_memory"));
    let (imp, cfg) = accepted(MINIMAL);
    assert_eq!(cfg.process, Default::default());
    assert!(!imp.toml.contains("[process]"));
    for bad in ["0", "100", "-3"] {
        let e = refused(&format!(
            "global_defs {{\n vrrp_rt_priority {bad}\n}}\n{MINIMAL}"
        ));
        let shown = e.to_string();
        assert_eq!(e.key, "global_defs.vrrp_rt_priority", "{shown}");
        assert_eq!(e.position.map(|p| p.0), Some(2), "{shown}");
        assert!(shown.contains("must be 1..=99"), "{shown}");
    }
    let e = refused(&format!(
        "global_defs {{\n vrrp_rt_priority high\n}}\n{MINIMAL}"
    ));
    assert!(e.to_string().contains("not a number"), "{e}");
}

/// keepalived.conf may hold control characters anywhere; the output quotes keepalived's words
/// in comments and strings, where TOML refuses them raw.
#[test]
fn control_characters_never_reach_the_output_raw() {
    // An unknown keyword (listed in a comment), an instance and a sync group name (comments),
    // a notify script (a multi-line literal string otherwise).
    let text = "vrrp_sync_group G\u{1}1 {\n    group {\n        VI\u{7f}1\n    }\n    notify_master \"/bin/true \u{1b}x\"\n}\nvrrp_instance VI\u{7f}1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n    t\u{7}ack_script {\n        chk\n    }\n    notify_master \"/bin/true \u{1}\"\n}\n";
    let (imp, cfg) = accepted(text);
    assert!(
        imp.toml.contains("t\\u{0007}ack_script"),
        "the unknown keyword, escaped:\n{}",
        imp.toml
    );
    assert!(imp.toml.contains("# vrrp_instance VI\\u{007F}1 (line 7)"));
    assert!(
        imp.untranslated.iter().any(|u| u.what.contains('\u{7}')),
        "stderr and the untranslated list keep the word as written"
    );
    assert!(
        cfg.notify.iter().any(|n| n.command[2].contains('\u{1}')),
        "the script keeps its bytes: {:?}",
        cfg.notify
    );
}

#[test]
fn an_instance_interface_the_kernel_would_refuse_is_an_error() {
    for bad in ["eth/0", "eth\u{1}", "eth0:1", "a-name-too-long-for-linux"] {
        let text = MINIMAL.replace("eth0", bad);
        let e = refused(&text).render();
        assert!(
            e.contains("keepalived.conf:2:15: vrrp_instance VI_1.interface"),
            "{e}"
        );
        assert!(e.contains("not a Linux interface name"), "{e}");
    }
}

/// A block that is never closed, bad values inside it, and a bad value in the next instance:
/// one run reports every mistake, each by line, in file order.
#[test]
fn every_mistake_is_reported_in_one_run() {
    let text = "global_defs {\n    vrrp_version 4\n}\n\
        vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n    priority 0\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n\
        vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    priority 150\n    advert_int abc\n    virtual_ipaddress {\n        192.0.2.101/24\n    }\n}\n";
    let errors = import_str(text, Path::new("keepalived.conf")).unwrap_err();
    let lines: Vec<(usize, &str)> = errors
        .0
        .iter()
        .map(|e| (e.position.map_or(0, |p| p.0), e.key.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (11, "vrrp_instance VI_1"),
            (2, "global_defs.vrrp_version"),
            (6, "vrrp_instance VI_1.virtual_router_id"),
            (7, "vrrp_instance VI_1.priority"),
            (15, "vrrp_instance VI_2.advert_int"),
        ],
        "{}",
        errors.render()
    );
}

#[test]
fn mistakes_in_the_new_globals_are_errors() {
    let cases = [
        (
            "vrrp_garp_master_refresh 1.5",
            "global_defs.vrrp_garp_master_refresh",
        ),
        (
            "vrrp_garp_master_refresh 70000",
            "global_defs.vrrp_garp_master_refresh",
        ),
        ("vrrp_startup_delay 4000", "global_defs.vrrp_startup_delay"),
        ("vrrp_startup_delay soon", "global_defs.vrrp_startup_delay"),
        ("script_user", "global_defs.script_user"),
        ("script_user a b c", "global_defs.script_user"),
    ];
    for (line, key) in cases {
        let e = refused(&format!("global_defs {{\n    {line}\n}}\n{MINIMAL}"));
        assert_eq!(e.key, key, "{line}: {e}");
        assert_eq!(e.position.map(|p| p.0), Some(2), "{line}: {e}");
    }
    // A script user with its group, and security switched off explicitly.
    let (imp, cfg) = accepted(&format!(
        "global_defs {{\n    script_user www-data www-data\n    enable_script_security off\n}}\n{MINIMAL}"
    ));
    assert!(imp.untranslated.is_empty());
    assert!(!cfg.scripts.security);
    assert!(
        imp.toml
            .contains("user = \"www-data\"\ngroup = \"www-data\"\n"),
        "{}",
        imp.toml
    );
}

#[test]
fn track_files_of_sync_groups_and_their_members() {
    let text = "track_file drain {\n file /run/drain\n weight -10\n}\ntrack_file stop {\n file /run/stop\n weight 0\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 10\n priority 150\n virtual_ipaddress {\n  192.0.2.10/24\n }\n track_file {\n  drain\n  stop\n }\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 20\n priority 150\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\nvrrp_sync_group VG {\n group {\n  VI_1\n  VI_2\n }\n track_file {\n  drain weight 0\n }\n}\n";
    let (imp, cfg) = accepted(text);
    // 17: a member's weighted track_file, which keepalived ignores without
    // sync_group_tracking_weight; its weight 0 one stays.
    assert_eq!(imp.untranslated_lines("keepalived.conf"), [17]);
    assert!(
        imp.untranslated[0]
            .why
            .contains("sync_group_tracking_weight")
    );
    assert_eq!(
        cfg.routers[0].track,
        ["stop", "link_eth0", "drain_weight_0"]
    );
    assert_eq!(
        cfg.routers[1].track,
        ["stop", "link_eth0", "drain_weight_0"],
        "every member tracks the checks of all"
    );

    let e = refused("track_file a {\n file /x\n}\nvrrp_track_file a {\n file /y\n}\n");
    assert_eq!(e.position, Some((4, 17)));
    assert!(e.message.contains("already defined (line 1)"), "{e}");
    let e = refused(&format!(
        "track_file a {{\n file /x\n weight 5 sideways\n}}\n{MINIMAL}"
    ));
    assert!(e.message.contains("expected `reverse`"), "{e}");
    let e = refused(&format!(
        "track_file a {{\n file /x\n init_file 300\n}}\n{MINIMAL}"
    ));
    assert!(e.message.contains("init value"), "{e}");
}
