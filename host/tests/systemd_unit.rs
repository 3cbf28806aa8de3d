//! `host/systemd/vrrpd.service` passes `systemd-analyze verify` without a warning, with its
//! `ExecStart` pointed at the vrrpd just built.

use std::path::Path;
use std::process::Command;

#[test]
fn the_unit_verifies_without_warnings() {
    let analyze = "/usr/bin/systemd-analyze";
    if !Path::new(analyze).exists() {
        let why = format!("{analyze} not found (apt-get install systemd)");
        assert!(std::env::var_os("CI").is_none(), "CI: {why}");
        println!("skipped: {why}");
        return;
    }
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/vrrpd.service");
    let text = std::fs::read_to_string(&unit).expect("read the unit");
    assert!(
        text.contains("/usr/sbin/vrrpd"),
        "the unit runs /usr/sbin/vrrpd"
    );
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("vrrpd.service");
    std::fs::write(
        &copy,
        text.replace("/usr/sbin/vrrpd", env!("CARGO_BIN_EXE_vrrpd")),
    )
    .unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
    // Unknown keys are only warned about: any warning fails the test.
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify warned:\n{stderr}"
    );
}
