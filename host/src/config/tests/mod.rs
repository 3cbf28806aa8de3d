//! Loading and validating whole files: top-level keys, sections, errors.

mod check;
mod router;
mod scripts;

use std::path::Path;
use std::time::Duration;

use vrrp_core::wire::{ChecksumMode, Version};

use super::notify::DEFAULT_HOOK_TIMEOUT;
use super::supervise::DEFAULT_SUPERVISE_GRACE;
use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

fn err(text: &str) -> ConfigError {
    match parse(text) {
        Ok(_) => panic!("accepted a bad config:\n{text}"),
        Err(e) => e,
    }
}

const HEAD: &str = "interface = \"eth0\"\n";
const ROUTER: &str = "[[vrrp]]\nvrid = 51\npriority = 100\nvips = [\"192.0.2.100\"]\n";

/// Asserts that `text` is refused at `line` (1-based) with the key path `key` and a
/// message containing `why`.
#[track_caller]
fn refused(text: &str, line: usize, key: &str, why: &str) {
    let e = err(text);
    let shown = e.to_string();
    assert_eq!(
        e.position.map(|p| p.0),
        Some(line),
        "wrong line: {shown}\n{text}"
    );
    assert_eq!(e.key, key, "wrong key: {shown}\n{text}");
    assert!(shown.contains(why), "message lacks {why:?}: {shown}");
    assert!(shown.starts_with(&format!("test.toml:{line}:")), "{shown}");
}

/// `ROUTER` plus `extra` lines inside the same [[vrrp]] table; `extra` starts at line 6.
fn router_with(extra: &str) -> String {
    format!("{HEAD}{ROUTER}{extra}")
}

#[test]
fn control_socket_is_taken_as_written() {
    let c = parse(&format!(
        "{HEAD}[control]\nsocket = \"/run/vrrpd/ctl.sock\"\n{ROUTER}"
    ))
    .unwrap();
    assert_eq!(
        c.control_socket.as_deref(),
        Some(Path::new("/run/vrrpd/ctl.sock"))
    );
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = parse(&router_with("")).unwrap();
    assert_eq!(c.interface, "eth0");
    assert_eq!(c.status_listen, DEFAULT_STATUS_LISTEN.parse().unwrap());
    assert_eq!(c.control_socket, None);
    assert_eq!(c.log.format, LogFormat::Human);
    let r = &c.routers[0];
    assert_eq!(r.core.version(), Version::V3);
    assert_eq!(r.core.adver_interval(), 100);
    assert!(r.core.preempt());
    assert!(
        r.core.accept_mode(),
        "accept defaults to true so that nginx serves the VIP"
    );
    assert_eq!(r.core.checksum(), ChecksumMode::PseudoHeader);
    assert_eq!(r.core.vip_prefix_len(), 24);
    assert_eq!(r.core.garp(), vrrp_core::Garp::default());
    assert_eq!(r.primary, None);
    assert!(c.checks.is_empty() && c.notify.is_empty());
}

#[test]
fn example_config_is_valid() {
    let text = include_str!("../../../examples/vrrpd.toml");
    let c = Config::parse(text, Path::new("examples/vrrpd.toml")).unwrap();
    assert_eq!(c.datapath, DatapathMode::Auto);
    let nginx = c.check("nginx").expect("the example tracks nginx");
    assert!(matches!(nginx.kind, CheckKind::Http { .. }));
    assert_eq!(nginx.interval, Duration::from_millis(100));
    assert!(c.routers[0].track.contains(&"nginx".to_owned()));
    let backup = include_str!("../../../examples/backup.toml");
    let b = Config::parse(backup, Path::new("examples/backup.toml")).unwrap();
    // Absent means auto.
    assert_eq!(b.datapath, DatapathMode::Auto);
    let relay = text.replace("datapath = \"auto\"", "datapath = \"relay\"");
    let r = Config::parse(&relay, Path::new("relay.toml")).unwrap();
    assert_eq!(r.datapath, DatapathMode::Relay);
    assert!(b.routers[0].core.priority() < c.routers[0].core.priority());
    assert!(b.routers[0].core.vips().eq(c.routers[0].core.vips()));
    // Both say they show the default schedule.
    assert_eq!(c.routers[0].core.garp(), vrrp_core::Garp::default());
    assert_eq!(b.routers[0].core.garp(), vrrp_core::Garp::default());
}

#[test]
fn notify_as_one_inline_table() {
    let c = parse(&format!(
        "{HEAD}notify = {{ command = [\"/bin/echo\"] }}\n{ROUTER}"
    ))
    .unwrap();
    assert_eq!(c.notify.len(), 1);
    assert_eq!(c.notify[0].timeout, DEFAULT_HOOK_TIMEOUT);
}

#[test]
fn startup_delay() {
    assert_eq!(
        parse(&router_with("")).unwrap().startup_delay,
        Duration::ZERO
    );
    let c = parse(&format!("{HEAD}startup_delay = \"2.5s\"\n{ROUTER}")).unwrap();
    assert_eq!(c.startup_delay, Duration::from_millis(2500));
    refused(
        &format!("{HEAD}startup_delay = \"61m\"\n{ROUTER}"),
        2,
        "startup_delay",
        "3660s: the startup delay is at most 3600s",
    );
    refused(
        &format!("{HEAD}startup_delay = 5\n{ROUTER}"),
        2,
        "startup_delay",
        "expected a duration string",
    );
}

#[test]
fn bad_top_level() {
    refused(ROUTER, 1, "", "missing field `interface`");
    refused(
        &format!("interface = \"\"\n{ROUTER}"),
        1,
        "interface",
        "not a Linux interface name",
    );
    refused(
        &format!("interface = \"a-very-long-name0\"\n{ROUTER}"),
        1,
        "interface",
        "1..=15 bytes",
    );
    refused(
        &format!("{HEAD}colour = \"blue\"\n{ROUTER}"),
        2,
        "colour",
        "unknown field `colour`",
    );
    refused(
        &format!("{HEAD}[status]\nlisten = \"localhost\"\n{ROUTER}"),
        3,
        "status.listen",
        "not an IP:PORT",
    );
    refused(
        &format!("{HEAD}[control]\nsocket = \"run/ctl.sock\"\n{ROUTER}"),
        3,
        "control.socket",
        "not an absolute path",
    );
    refused(
        &format!(
            "{HEAD}[control]\nsocket = \"/{}\"\n{ROUTER}",
            "x".repeat(107)
        ),
        3,
        "control.socket",
        "at most 107 bytes",
    );
    refused(
        &format!("{HEAD}[status]\nlsten = \"127.0.0.1:1\"\n{ROUTER}"),
        3,
        "status.lsten",
        "unknown field",
    );
    refused(
        &format!("{HEAD}datapath = \"kernel\"\n{ROUTER}"),
        2,
        "datapath",
        "unknown data path \"kernel\": expected \"auto\" or \"relay\"",
    );
    refused(
        &format!("{HEAD}[log]\nformat = \"xml\"\n{ROUTER}"),
        3,
        "log.format",
        "unknown log format \"xml\"",
    );
    refused(
        &format!("{HEAD}[log]\nlevel = \"vrrpd=[\"\n{ROUTER}"),
        3,
        "log.level",
        "invalid log level",
    );
    refused(HEAD, 1, "", "missing field `vrrp`");
    refused(
        &format!("{HEAD}vrrp = []\n"),
        2,
        "vrrp",
        "at least one [[vrrp]]",
    );
    refused(
        &format!("{HEAD}[[vrrp]]\nvrid = 1\npriority = 100\nvips = [\"192.0.2.1\"\n"),
        5,
        "",
        "unclosed array",
    );
}

#[test]
fn sync_groups_share_tracking() {
    let text = format!(
        "{HEAD}[[vrrp]]\nvrid = 10\npriority = 100\nvips = [\"192.0.2.1\"]\ntrack = [\"web\"]\n\
             [[vrrp]]\nvrid = 20\npriority = 100\nvips = [\"198.51.100.1\"]\ntrack = [\"link\"]\n\
             [[vrrp]]\nvrid = 30\npriority = 100\nvips = [\"203.0.113.1\"]\n\
             [check.web]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\nweight = -50\n\
             [check.link]\nkind = \"interface\"\ninterface = \"eth1\"\nfault = true\n\
             [[sync_group]]\nname = \"public-private\"\nvrids = [10, 20]\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.sync_groups[0].vrids, [10, 20]);
    let track = |v: u8| {
        c.routers
            .iter()
            .find(|r| r.vrid() == v)
            .unwrap()
            .track
            .clone()
    };
    assert_eq!(track(10), ["web", "link"]);
    assert_eq!(track(20), ["web", "link"]);
    assert!(track(30).is_empty(), "not a member");

    let bad = |group: &str| format!("{HEAD}{ROUTER}[[sync_group]]\n{group}\n");
    refused(
        &bad("name = \"g\"\nvrids = [51]"),
        8,
        "sync_group[0].vrids",
        "at least two",
    );
    refused(
        &bad("name = \"g\"\nvrids = [51, 52]"),
        8,
        "sync_group[0].vrids[1]",
        "no [[vrrp]] has VRID 52",
    );
    refused(
        &bad("name = \"g\"\nvrids = [51, 51]"),
        8,
        "sync_group[0].vrids[1]",
        "listed twice",
    );
    refused(&bad("vrids = [51, 51]"), 6, "sync_group[0]", "name");
}

#[test]
fn supervise_section() {
    let c = parse(&format!(
        "{HEAD}[supervise]\ncommand = [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]\n{ROUTER}"
    ))
    .unwrap();
    let sv = c.supervise.unwrap();
    assert_eq!(sv.command, ["/usr/sbin/nginx", "-g", "daemon off;"]);
    assert_eq!(sv.grace, DEFAULT_SUPERVISE_GRACE);
    refused(
        &format!("{HEAD}[supervise]\ncommand = []\n{ROUTER}"),
        3,
        "supervise.command",
        "needs a program",
    );
    refused(
        &format!("{HEAD}[supervise]\ncommand = [\"/bin/true\"]\nrestart = true\n{ROUTER}"),
        4,
        "supervise.restart",
        "unknown field",
    );
}

#[test]
fn bad_notify() {
    refused(
        &format!("{HEAD}[[notify]]\ncommand = []\n{ROUTER}"),
        3,
        "notify[0].command",
        "needs a program",
    );
    refused(
        &format!("{HEAD}[[notify]]\n{ROUTER}"),
        2,
        "notify[0]",
        "missing field `command`",
    );
    refused(
        &format!("{HEAD}[[notify]]\ncommand = [\"/bin/true\"]\ntimeout = \"0s\"\n{ROUTER}"),
        4,
        "notify[0].timeout",
        "more than 0",
    );
    refused(
        &format!("{HEAD}notify = {{ command = [\"/bin/true\"], timout = \"1s\" }}\n{ROUTER}"),
        2,
        "notify.timout",
        "unknown field `timout`",
    );
    refused(
        &format!("{HEAD}notify = \"/bin/true\"\n{ROUTER}"),
        2,
        "notify",
        "a table or an array of tables",
    );
}

#[test]
fn render_points_at_the_column() {
    let e = err(&router_with("interval = \"15ms\"\n"));
    let r = e.render();
    let lines: Vec<&str> = r.lines().collect();
    assert_eq!(lines[1], "    interval = \"15ms\"");
    assert_eq!(lines[2], "               ^");
}

#[test]
fn unreadable_file() {
    let e = Config::load(Path::new("/nonexistent/vrrpd.toml")).unwrap_err();
    assert_eq!(e.position, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/vrrpd.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn process_section() {
    assert_eq!(
        parse(&router_with("")).unwrap().process,
        ProcessConfig::default()
    );
    let c = parse(&format!(
        "{HEAD}[process]\nrealtime_priority = 99\nlock_memory = true\n{ROUTER}"
    ))
    .unwrap();
    assert_eq!(
        c.process,
        ProcessConfig {
            realtime_priority: Some(99),
            lock_memory: true
        }
    );
    let c = parse(&format!("{HEAD}[process]\nrealtime_priority = 1\n{ROUTER}")).unwrap();
    assert_eq!(c.process.realtime_priority, Some(1));
    assert!(!c.process.lock_memory);
    for bad in ["0", "100", "-1"] {
        refused(
            &format!("{HEAD}[process]\nrealtime_priority = {bad}\n{ROUTER}"),
            3,
            "process.realtime_priority",
            "the SCHED_RR priority must be 1..=99",
        );
    }
    refused(
        &format!("{HEAD}[process]\nlock_memory = \"yes\"\n{ROUTER}"),
        3,
        "process.lock_memory",
        "invalid type",
    );
    refused(
        &format!("{HEAD}[process]\nnice = 5\n{ROUTER}"),
        3,
        "process.nice",
        "unknown field `nice`",
    );
}

#[test]
fn routers_on_several_uplinks() {
    let text = format!(
        "{HEAD}[[vrrp]]\nvrid = 10\npriority = 100\nvips = [\"192.0.2.1\"]\n\
             [[vrrp]]\nvrid = 20\ninterface = \"eth1\"\npriority = 100\nvips = [\"198.51.100.1\"]\n\
             [[vrrp]]\nvrid = 30\ninterface = \"eth0\"\npriority = 100\nvips = [\"203.0.113.1\"]\n\
             [[sync_group]]\nname = \"public-private\"\nvrids = [10, 20]\n"
    );
    let c = parse(&text).unwrap();
    let on: Vec<&str> = c.routers.iter().map(|r| r.interface.as_str()).collect();
    assert_eq!(on, ["eth0", "eth1", "eth0"]);
    assert_eq!(c.uplinks(), ["eth0", "eth1"]);
    // An old file: one uplink, every router on it.
    assert_eq!(parse(&router_with("")).unwrap().uplinks(), ["eth0"]);
    // The file's interface is only a default: no router on it, no uplink.
    let elsewhere = parse(&router_with("interface = \"eth2\"\n")).unwrap();
    assert_eq!(elsewhere.uplinks(), ["eth2"]);

    refused(
        &router_with("interface = \"eth:1\"\n"),
        6,
        "vrrp[0].interface",
        "not a Linux interface name",
    );
    let twice = format!(
        "{HEAD}{ROUTER}[[vrrp]]\nvrid = 51\ninterface = \"eth1\"\npriority = 100\nvips = [\"198.51.100.1\"]\n"
    );
    refused(
        &twice,
        7,
        "vrrp[1].vrid",
        "configured twice (on eth0 and on eth1): one vrrpd needs distinct VRIDs",
    );
    let mut many = HEAD.to_string();
    for i in 1..=9 {
        many.push_str(&format!(
            "[[vrrp]]\nvrid = {i}\ninterface = \"eth{i}\"\npriority = 100\nvips = [\"192.0.2.{i}\"]\n"
        ));
    }
    refused(&many, 44, "vrrp[8].interface", "at most 8 uplinks");
}
