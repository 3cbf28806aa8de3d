//! `vrrpd import-keepalived`: exit codes, the untranslated list on stderr and in the output, and
//! outputs that `vrrpd check` accepts, on the keepalived.conf files in tests/keepalived/.

use std::path::{Path, PathBuf};

mod cli_common;
use cli_common::vrrpd;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keepalived")
        .join(name)
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Converts `name` into a file, checks the exit status and that every untranslated line is
/// reported on stderr and at the top of the output (and nothing else is), then runs
/// `vrrpd check` on the output. Returns the output.
fn convert(name: &str, untranslated: &[(&str, usize)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_path: PathBuf = dir.path().join("vrrpd.toml");
    let out = vrrpd(&[
        "import-keepalived",
        &fixture(name),
        "-o",
        &out_path.display().to_string(),
    ]);
    let stderr = text(&out.stderr);
    let want_code = if untranslated.is_empty() { 0 } else { 3 };
    assert_eq!(out.status.code(), Some(want_code), "{name}: {stderr}");
    assert!(out.stdout.is_empty(), "-o writes the file, not stdout");
    let toml = std::fs::read_to_string(&out_path).expect("output written");

    let reported: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("vrrpd: not translated: "))
        .collect();
    let listed: Vec<&str> = toml
        .lines()
        .filter_map(|l| l.strip_prefix("# not translated: "))
        .collect();
    assert_eq!(reported, listed, "{name}: stderr and output list the same");
    assert_eq!(reported.len(), untranslated.len(), "{name}: {stderr}");
    for ((file, line), r) in untranslated.iter().zip(&reported) {
        let prefix = format!("{}:{line}: ", fixture(file));
        assert!(
            r.starts_with(&prefix),
            "{name}: {r:?} should start with {prefix:?}"
        );
    }
    if !untranslated.is_empty() {
        assert!(
            stderr.contains(&format!(
                "{} keepalived setting(s) not translated",
                untranslated.len()
            )),
            "{stderr}"
        );
    }

    let check = vrrpd(&["check", "--config", &out_path.display().to_string()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{name}: vrrpd check refuses the output:\n{}\n---\n{toml}",
        text(&check.stderr)
    );
    toml
}

#[test]
fn nginx_master_translates_completely() {
    let toml = convert("nginx-master.conf", &[]);
    assert!(
        toml.contains("[check.link_eth0]\n"),
        "the instance's own interface is tracked: {toml}"
    );
    assert!(
        toml.contains("vrid = 51\nversion = 2\npriority = 150\n"),
        "{toml}"
    );
    assert!(
        toml.contains("kind = \"process\"\nname = \"nginx\"\n"),
        "{toml}"
    );
}

#[test]
fn nginx_backup_translates_script_security_and_lists_the_label() {
    let toml = convert("nginx-backup.conf", &[("nginx-backup.conf", 26)]);
    assert!(toml.contains("preempt = false\n"), "{toml}");
    assert!(toml.contains("[[notify]]"), "{toml}");
    assert!(
        toml.contains("user = \"nobody\"\n# enable_script_security\nsecurity = true\n"),
        "{toml}"
    );
}

/// keepalived's periodic gratuitous ARP and startup delay translate, and with nothing else the
/// import exits 0; a refresh count of its own is listed (exit 3).
#[test]
fn garp_refresh_and_startup_delay_translate() {
    let toml = convert("garp-refresh.conf", &[]);
    assert!(
        toml.contains("# vrrp_startup_delay\nstartup_delay = \"2.5s\"\n"),
        "{toml}"
    );
    assert!(
        toml.contains("garp = { burst = 5, repeat_at = [\"5s\"], refresh = \"60s\" }\n"),
        "the global default: {toml}"
    );
    assert!(
        toml.contains("garp = { burst = 1, repeat_at = [], refresh = \"10s\" }\n"),
        "the instance's own: {toml}"
    );
    assert!(
        !toml.contains("[scripts]"),
        "no command runs, no [scripts]: {toml}"
    );
    convert(
        "garp-refresh-repeat.conf",
        &[("garp-refresh-repeat.conf", 3)],
    );
}

#[test]
fn v2_with_password_translates_completely() {
    let toml = convert("v2-auth.conf", &[]);
    assert!(toml.contains("auth_pass = \"long pas\"\n"), "{toml}");
}

#[test]
fn v3_with_fractional_interval() {
    let toml = convert("v3-fast.conf", &[("v3-fast.conf", 7)]);
    assert!(toml.contains("interval = \"100ms\"\n"), "{toml}");
    assert!(toml.contains("kind = \"http\"\n"), "{toml}");
}

#[test]
fn unicast_peers() {
    let toml = convert("unicast.conf", &[("unicast.conf", 23)]);
    assert!(
        toml.contains("peers = [\"10.10.1.12\", \"10.10.1.13\"]\nprimary = \"10.10.1.11\"\n"),
        "{toml}"
    );
}

#[test]
fn several_instances_sync_group_and_track_interface() {
    let toml = convert(
        "multi-instance.conf",
        &[("multi-instance.conf", 23), ("multi-instance.conf", 37)],
    );
    assert_eq!(toml.matches("[[vrrp]]").count(), 3, "{toml}");
    assert!(
        toml.contains("vrid = 53\ninterface = \"eth1\"\n"),
        "VI_MGMT runs on its own uplink: {toml}"
    );
    assert!(
        toml.contains("[[sync_group]]\n# vrrp_sync_group VG_NGINX (line 3)\n"),
        "{toml}"
    );
    assert!(
        toml.contains("name = \"VG_NGINX\"\nvrids = [51, 52]\n"),
        "{toml}"
    );
    assert!(
        toml.contains("kind = \"interface\"\ninterface = \"eth1\"\n"),
        "{toml}"
    );
    assert!(toml.contains("[ \"$VRRP_VRID\" = 51 ]"), "{toml}");
}

/// A sync group of a router on eth0 and one on eth1 translates completely, into one file that
/// `vrrpd check` accepts.
#[test]
fn two_uplinks_translate_completely() {
    let toml = convert("two-uplinks.conf", &[]);
    for want in [
        "\ninterface = \"eth0\"\n",
        // The router on the file's interface names none.
        "vrid = 51\nversion = 2\n",
        "vrid = 52\ninterface = \"eth1\"\nversion = 2\n",
        "name = \"VG_1\"\nvrids = [51, 52]\n",
        "[check.link_eth0]\n",
        "[check.link_eth1]\n",
    ] {
        assert!(toml.contains(want), "{want:?} missing in\n{toml}");
    }
}

#[test]
fn one_vrid_on_two_uplinks_exits_2_with_every_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("vrrpd.toml");
    let name = "bad-uplinks-vrid.conf";
    let out = vrrpd(&[
        "import-keepalived",
        &fixture(name),
        "-o",
        &out_path.display().to_string(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Each error is followed by its source line and a caret.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("vrrpd: "))
        .collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "vrrpd: {}:12:23: vrrp_instance VI_PRIVATE.virtual_router_id: VRID 51 is also used by vrrp_instance VI_PUBLIC (line 1) on eth0, and this instance is on eth1",
            fixture(name)
        )),
        "{stderr}"
    );
    assert!(
        lines[0].contains("one vrrpd needs distinct VRIDs across its uplinks"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "vrrpd: {}:22:14: vrrp_instance VI_MGMT.priority",
            fixture(name)
        )),
        "{stderr}"
    );
    assert_eq!(
        lines[2],
        format!("vrrpd: 2 errors in {}", fixture(name)),
        "{stderr}"
    );
    assert!(!out_path.exists(), "nothing is written");
}

#[test]
fn sync_group_with_group_trackers_translates_completely() {
    let toml = convert("sync-group.conf", &[]);
    assert!(
        toml.contains("name = \"VG_1\"\nvrids = [10, 20]\n"),
        "{toml}"
    );
    // VI_PRIVATE sets dont_track_primary, but the group shares VI_PUBLIC's uplink check.
    assert_eq!(
        toml.matches("track = [\"link_eth0\", \"chk_nginx\", \"link_eth1\"]\n")
            .count(),
        1,
        "{toml}"
    );
    assert!(
        toml.contains("track = [\"chk_nginx\", \"link_eth1\"]\n"),
        "{toml}"
    );
    assert!(
        toml.contains("exec /etc/keepalived/notify.sh GROUP VG_1 \"$s\" 0\n"),
        "{toml}"
    );
}

#[test]
fn scripts_with_weight_fall_and_rise() {
    let toml = convert(
        "scripts.conf",
        &[("scripts.conf", 10), ("scripts.conf", 22)],
    );
    assert!(
        toml.contains("\nuser = \"nobody\"\n"),
        "a script's user: {toml}"
    );
}

#[test]
fn notify_scripts() {
    let toml = convert("notify.conf", &[("notify.conf", 12), ("notify.conf", 14)]);
    assert!(
        toml.contains("command = [\"/bin/sh\", \"-c\", '''"),
        "{toml}"
    );
}

#[test]
fn include_with_glob() {
    let toml = convert("include/keepalived.conf", &[("include/keepalived.conf", 8)]);
    assert!(
        toml.contains("track = [\"chk_nginx\", \"link_eth0\"]\n"),
        "{toml}"
    );
}

#[test]
fn unknown_keyword_is_listed() {
    convert(
        "unknown-keyword.conf",
        &[("unknown-keyword.conf", 3), ("unknown-keyword.conf", 11)],
    );
}

#[test]
fn nginx_dual_stack_translates_completely() {
    let toml = convert("nginx-dual-stack.conf", &[]);
    assert!(
        toml.contains("vrid = 51\nversion = 3\npriority = 150\ninterval = \"1s\"\nvips = [\"203.0.113.10/24\"]\n"),
        "{toml}"
    );
    assert!(
        toml.contains("vrid = 52\nversion = 3\npriority = 150\ninterval = \"1s\"\nvips = [\"fe80::52/64\", \"2001:db8:10::10/64\"]\n"),
        "{toml}"
    );
    assert!(toml.contains("primary = \"fe80::a:11\"\n"), "{toml}");
    assert_eq!(toml.matches("[[notify]]").count(), 2, "{toml}");
}

#[test]
fn ipv6_mistakes_are_listed_with_their_line() {
    let at = |line| ("ipv6-mistakes.conf", line);
    let toml = convert(
        "ipv6-mistakes.conf",
        &[at(13), at(22), at(26), at(31), at(40), at(43), at(46)],
    );
    assert!(
        toml.contains(
            "list a link-local address (e.g. fe80::3d) first in virtual_ipaddress on every node"
        ),
        "{toml}"
    );
    assert!(
        !toml.contains("vrid = 61"),
        "VI_GLOBAL_FIRST is left out: {toml}"
    );
    // The link-local peer is translated, the global one listed.
    assert!(toml.contains("peers = [\"fe80::a:12\"]\n"), "{toml}");
    assert!(toml.contains("unicast_ttl 255"), "{toml}");
    assert_eq!(toml.matches("version = 3\n").count(), 2, "{toml}");
}

#[test]
fn without_output_file_the_toml_goes_to_stdout() {
    let out = vrrpd(&["import-keepalived", &fixture("nginx-master.conf")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("# vrrpd configuration converted from "),
        "{stdout}"
    );
    assert!(stdout.contains("[[vrrp]]"), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn usual_mistakes_exit_2_with_file_line_and_no_output() {
    let cases = [
        ("bad-missing-brace.conf", 5, "a `}` is missing"),
        (
            "bad-vrid-range.conf",
            4,
            "virtual_router_id: 300 is out of range",
        ),
        ("bad-duplicate-vrid.conf", 12, "VRID 51 is also used"),
        ("bad-priority-zero.conf", 5, "priority: 0 is out of range"),
        ("bad-advert-int-zero.conf", 5, "advert_int: \"0\""),
    ];
    for (name, line, why) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("vrrpd.toml");
        let out = vrrpd(&[
            "import-keepalived",
            &fixture(name),
            "-o",
            &out_path.display().to_string(),
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("vrrpd: {}:{line}:", fixture(name))),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(why), "{name}: {stderr}");
        assert!(!out_path.exists(), "{name}: nothing is written");
    }
}

#[test]
fn unreadable_input_exits_2_and_unwritable_output_exits_1() {
    let out = vrrpd(&["import-keepalived", "/nonexistent/keepalived.conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/keepalived.conf: cannot read"),
        "{}",
        text(&out.stderr)
    );
    let out = vrrpd(&[
        "import-keepalived",
        &fixture("nginx-master.conf"),
        "-o",
        "/nonexistent/dir/vrrpd.toml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot write"));
}

#[test]
fn track_files() {
    let toml = convert(
        "track-file.conf",
        &[
            ("track-file.conf", 20),
            ("track-file.conf", 39),
            ("track-file.conf", 40),
        ],
    );
    assert!(
        toml.contains("kind = \"file\"\npath = \"/run/keepalived/drain\"\nweight = -50\n"),
        "{toml}"
    );
}

#[test]
fn track_file_mistakes_exit_2() {
    let out = vrrpd(&["import-keepalived", &fixture("bad-track-file.conf")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("track_file drain.weight"), "{stderr}");
    assert!(
        stderr.contains("track_file nofile: has no `file`"),
        "{stderr}"
    );
}
