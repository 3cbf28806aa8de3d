//! keepalived parity outside the protocol: command checks and hooks run as an unprivileged
//! user, `scripts.security` refuses a script others can change, and `startup_delay` holds the
//! routers back. vrrpd runs as root in a namespace of the lab.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::{Router, VrrpParams, status, try_status, vrrpd_bin, vrrpd_config_toml};
use vrrp_tests::wait_until;

/// The uid a check or hook sees, as its exit status: it is up only as the user it expects.
fn runs_as(uid: u32) -> String {
    format!("[\"/bin/sh\", \"-c\", \"test \\\"$(id -u):$(id -G)\\\" = {uid}:$(id -g)\"]")
}

fn uid_of(user: &str) -> u32 {
    vrrp_tests::lab::run("id", &["-u", user])
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("id -u {user}: {e}"))
}

/// With no `[scripts]` table a root vrrpd runs commands as `nobody`; a check's own `user`
/// overrides that, and a hook runs as its user too. Both checks are `fault = true`: the router
/// becomes Active only if each ran as the uid it tests for, without root's groups.
#[test]
fn checks_and_hooks_run_as_the_script_user() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("checks_and_hooks_run_as_the_script_user", 1);
    let nobody = uid_of("nobody");
    let daemon = uid_of("daemon");
    // Where the hook, as nobody, may write.
    let out = lab.tmp_dir("hook");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    let seen = out.join("seen");
    let p = VrrpParams::v3(10, 150, Duration::from_millis(100));
    let config = vrrpd_config_toml(&p)
        + &format!(
            "track = [\"as_nobody\", \"as_daemon\"]\n\n\
             [check.as_nobody]\nkind = \"command\"\ncommand = {}\ninterval = \"100ms\"\nfault = true\n\n\
             [check.as_daemon]\nkind = \"command\"\ncommand = {}\nuser = \"daemon\"\n\
             interval = \"100ms\"\nfault = true\n\n\
             [[notify]]\ncommand = [\"/bin/sh\", \"-c\", \"echo $VRRP_STATE $(id -u) >> {}\"]\n",
            runs_as(nobody),
            runs_as(daemon),
            seen.display()
        );
    let r1 = Router::vrrpd(&lab, "r1", &p, &config);
    let active = wait_until(Duration::from_secs(20), || {
        try_status(&lab, "r1").is_some_and(|s| s["routers"][0]["state"] == "Active")
    });
    let s = try_status(&lab, "r1");
    assert!(
        active.is_ok(),
        "never Active: a check did not run as its user\n{s:#?}\n{}",
        lab.log(r1.procs()[0])
    );
    let checks = status(&lab, "r1")["checks"].clone();
    let up = |name: &str| {
        checks
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == name))
            .map(|c| c["up"].clone())
    };
    assert_eq!(up("as_nobody"), Some(true.into()), "{checks:#}");
    assert_eq!(up("as_daemon"), Some(true.into()), "{checks:#}");
    let line = format!("Active {nobody}");
    wait_until(Duration::from_secs(10), || {
        fs::read_to_string(&seen).is_ok_and(|t| t.lines().any(|l| l == line))
    })
    .unwrap_or_else(|_| {
        panic!(
            "the hook did not run as nobody: {:?}",
            fs::read_to_string(&seen)
        )
    });
}

/// `scripts.security = true` and a check script anyone can write: `vrrpd run` refuses to start
/// with exit 2, naming the script, before it touches the network; `vrrpd check` says the same.
#[test]
fn a_world_writable_check_script_is_refused_at_start() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("a_world_writable_check_script_is_refused_at_start", 1);
    let dir = lab.tmp_dir("scripts");
    let script = dir.join("check.sh");
    fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o777)).unwrap();
    let p = VrrpParams::v3(10, 150, Duration::from_millis(100));
    let config = vrrpd_config_toml(&p)
        + &format!(
            "track = [\"script\"]\n\n\
             [check.script]\nkind = \"command\"\ncommand = [\"{}\"]\nfault = true\n\n\
             [scripts]\nsecurity = true\n",
            script.display()
        );
    let conf = lab.write_artifact("vrrpd-r1.toml", &config);
    let bin = vrrpd_bin().display().to_string();
    let conf = conf.display().to_string();
    let named = format!(
        "{} (the program) is writable by others (mode 0777)",
        script.display()
    );
    for args in [
        &["run", "--config", &conf][..],
        &["check", "--config", &conf],
    ] {
        let out = lab.exec("r1", &bin, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&named), "{args:?}: {stderr}");
        assert!(
            stderr.contains(":19:11: check.script.command: "),
            "{args:?}: {stderr}"
        );
    }
    // Nothing was set up: the uplink is still the namespace's own, with no bridge.
    let links = lab.exec_ok("r1", "ip", &["-o", "link", "show", "type", "bridge"]);
    assert!(links.trim().is_empty(), "{links}");
}

/// `startup_delay = "2s"`: the router stays in Initialize for the delay, then starts as Backup
/// and takes over one Active_Down_Interval later, to the clock of the daemon.
#[test]
fn startup_delay_holds_the_routers_back() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("startup_delay_holds_the_routers_back", 1);
    let p = VrrpParams::v3(10, 100, Duration::from_millis(100));
    let config = vrrpd_config_toml(&p).replace(
        "interface = \"eth0\"\n",
        "interface = \"eth0\"\nstartup_delay = \"2s\"\n",
    );
    let started = Instant::now();
    let r1 = Router::vrrpd(&lab, "r1", &p, &config);
    wait_until(Duration::from_secs(10), || try_status(&lab, "r1").is_some())
        .expect("vrrpd answers status");
    let early = status(&lab, "r1");
    if started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(early["routers"][0]["state"], "Initialize", "{early:#}");
    }
    wait_until(Duration::from_secs(20), || {
        try_status(&lab, "r1").is_some_and(|s| s["routers"][0]["state"] == "Active")
    })
    .unwrap_or_else(|_| panic!("never Active\n{}", lab.log(r1.procs()[0])));
    let s = status(&lab, "r1");
    let t = &s["routers"][0]["last_transition"];
    assert_eq!(t["reason"], "active_down", "{t:#}");
    // The delay counts from the end of the daemon's setup (bridge, fast path), its clock from
    // before it: the Backup starts 2 s and a setup after the clock's zero (tens of ms on a
    // loaded machine), and its deadline is Active_Down_Interval after its start:
    // 3 x 100 ms + (256 - 100) / 256 x 100 ms.
    let deadline = t["takeover"]["deadline_ms"].as_f64().expect("deadline_ms");
    let adi = p.active_down_interval().as_secs_f64() * 1000.0;
    let backup_at = s["routers"][0]["recent_transitions"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["to"] == "Backup"))
        .and_then(|t| t["at_ms"].as_f64())
        .unwrap_or_else(|| panic!("no transition to Backup\n{s:#}"));
    println!(
        "MEASURE startup_delay 2000 ms: Backup at {backup_at} ms, takeover deadline at \
         {deadline} ms, ADI {adi} ms"
    );
    assert!(
        (2000.0 + adi..2000.0 + adi + 500.0).contains(&deadline),
        "deadline {deadline} ms, expected 2000 ms + a setup + {adi} ms\n{t:#}"
    );
    // The status dates transitions to the millisecond, when the loop handled them.
    let wait = deadline - backup_at;
    assert!(
        (adi - 20.0..adi + 1.0).contains(&wait),
        "Backup at {backup_at} ms, deadline {deadline} ms: {wait} ms apart, expected {adi} ms"
    );
}
