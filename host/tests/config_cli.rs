//! The `vrrpd` binary's command line: exit codes and messages of `check`, `run` and `status`.

use std::path::Path;

mod cli_common;
use cli_common::vrrpd;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/vrrpd.toml")
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_example_and_prints_the_timers() {
    let out = vrrpd(&["check", "--config", &example()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("VRID 51"), "{stdout}");
    assert!(stdout.contains("Skew_Time"), "{stdout}");
    assert!(stdout.contains("Active_Down_Interval"), "{stdout}");
    assert!(stdout.contains("checks:"), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn bad_config_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "interface = \"eth0\"\n[[vrrp]]\nvrid = 51\npriority = 100\nvips = [\"192.0.2.100\"]\ninterval = \"15ms\"\n",
    )
    .unwrap();
    let path = file.display().to_string();
    for cmd in ["check", "run"] {
        let out = vrrpd(&[cmd, "--config", &path]);
        assert_eq!(out.status.code(), Some(2), "vrrpd {cmd}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{path}:6:12: vrrp[0].interval: 15ms")),
            "vrrpd {cmd}: {stderr}"
        );
        assert!(stderr.contains("multiple of 10ms"), "{stderr}");
        assert!(
            stderr.contains("interval = \"15ms\""),
            "shows the line: {stderr}"
        );
    }
}

#[test]
fn missing_config_file_exits_2() {
    let out = vrrpd(&["check", "--config", "/nonexistent/vrrpd.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/vrrpd.toml: cannot read"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(vrrpd(&["run"]).status.code(), Some(2));
    assert_eq!(vrrpd(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        vrrpd(&["run", "-c", "x", "--log-format", "xml"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn help_on_every_command() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["status", "--help"],
    ] {
        let out = vrrpd(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = text(&out.stdout);
        assert!(stdout.contains("Usage: vrrpd"), "{args:?}: {stdout}");
    }
    assert!(text(&vrrpd(&["run", "--help"]).stdout).contains("SIGTERM"));
}

#[test]
fn status_without_a_daemon_fails_clearly() {
    // Bound then dropped: a loopback port nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = vrrpd(&["status", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("nothing is listening on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("is vrrpd running"), "{stderr}");
}
