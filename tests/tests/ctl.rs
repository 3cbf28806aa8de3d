//! `vrrpd ctl` on real namespaces: a drain moves the VIP within Skew_Time, survives a reload,
//! shows in the status and metrics, and only root (vrrpd's user) may ask.

use std::time::Duration;

use vrrp_tests::fastpath::{metric, metrics};
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::probe::wait_client_body;
use vrrp_tests::router::{Router, Speaker, VrrpParams, status, vrrpd_bin, vrrpd_config_toml};
use vrrp_tests::scenario::{Failover, step_down_takeover};
use vrrp_tests::{Lab, VIP, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");

/// `vrrpd ctl ARGS` in `node`; panics unless it exits 0.
fn ctl(lab: &Lab, node: &str, args: &[&str]) -> String {
    let bin = vrrpd_bin();
    let mut all = vec!["ctl"];
    all.extend_from_slice(args);
    let out = lab.exec(node, bin.to_str().expect("utf-8 path"), &all);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vrrpd ctl {args:?} in {node}: {:?}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A drain of the Active is a priority-0 advert at once: the Backup takes over after its
/// Skew_Time, and clients lose about that long, not Active_Down_Interval. The precise figure is
/// the MEASURE line (BENCHMARKS.md, "Maintenance"); the check is generous, as every timing
/// check on a real network here: half a Skew_Time and 50 ms of slack, and never as long as
/// Active_Down_Interval, which is what a drain without the priority-0 advert would cost.
#[test]
fn vrrpd_ctl_drain_moves_the_vip_within_skew() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_ctl_drain_moves_the_vip_within_skew", 2);
    let spec = Failover::new(Speaker::Vrrpd, 3, Duration::from_millis(100));
    let m = step_down_takeover(&lab, PROBER, &spec, "drain", |lab, _| {
        ctl(lab, "r1", &["drain"]);
    });
    let adi_ms = spec
        .params
        .with_priority(100)
        .active_down_interval()
        .as_secs_f64()
        * 1e3;
    let bound = (m.skew_ms * 1.5 + 50.0).min(adi_ms);
    assert!(
        m.outage_ms <= bound,
        "client outage {:.1} ms at a drain, bound {bound:.1} ms (Skew_Time {:.1} ms, \
         Active_Down_Interval {adi_ms:.1} ms)",
        m.outage_ms,
        m.skew_ms
    );
}

#[test]
fn vrrpd_ctl_drain_survives_a_reload_and_only_root_may_ask() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("vrrpd_ctl_drain_survives_a_reload", 2);
    let p = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let _n1 = Nginx::start(&lab, "r1", "Primary");
    let _n2 = Nginx::start(&lab, "r2", "Secondary");
    let mut r1 = Router::vrrpd(&lab, "r1", &p, &vrrpd_config_toml(&p));
    let p2 = p.with_priority(100);
    let _r2 = Router::vrrpd(&lab, "r2", &p2, &vrrpd_config_toml(&p2));
    let body = |b: &str| wait_client_body(&lab, PROBER, VIP, b, Duration::from_secs(20));
    body("Primary");

    // Anyone but root (vrrpd's user) is refused by the socket's permissions.
    let bin = vrrpd_bin();
    let out = lab.exec(
        "r1",
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin.to_str().expect("utf-8 path"),
            "ctl",
            "drain",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "non-root ctl: {err}");
    assert!(
        err.contains("control.sock") && err.contains("ermission denied"),
        "{err}"
    );
    assert_eq!(status(&lab, "r1")["routers"][0]["drained"], false);

    let reply = ctl(&lab, "r1", &["drain", "--vrid", "10"]);
    assert!(
        reply.contains("VRID 10: drained, effective priority 0"),
        "{reply}"
    );
    body("Secondary");
    let s = status(&lab, "r1");
    assert_eq!(s["routers"][0]["drained"], true, "{s}");
    assert_eq!(s["routers"][0]["effective_priority"], 0, "{s}");
    assert_eq!(
        metric(&metrics(&lab, "r1"), r#"vrrpd_router_drained{vrid="10"}"#),
        Some(1.0)
    );

    // A reload keeps the drain: r2 stays Active.
    let proc = r1.procs()[0];
    lab.signal(proc, libc::SIGHUP);
    wait_until(Duration::from_secs(5), || {
        lab.log(proc).contains("configuration reloaded")
    })
    .expect("reload logged");
    let s = status(&lab, "r1");
    assert_eq!(s["routers"][0]["drained"], true, "{s}");
    assert_eq!(s["routers"][0]["state"], "Backup", "{s}");
    body("Secondary");

    let reply = ctl(&lab, "r1", &["show"]);
    assert!(reply.contains("VRID 10: drained"), "{reply}");
    ctl(&lab, "r1", &["undrain"]);
    // Priority 200 again: r1 preempts.
    body("Primary");
    assert_eq!(status(&lab, "r1")["routers"][0]["drained"], false);

    // The default socket is per network namespace; a clean stop removes it.
    let ns = lab.exec_ok("r1", "readlink", &["/proc/self/ns/net"]);
    let inode = ns.trim().trim_start_matches("net:[").trim_end_matches(']');
    let socket = std::path::PathBuf::from(format!("/run/vrrpd/netns-{inode}/control.sock"));
    assert!(socket.exists(), "{} missing", socket.display());

    // A request the daemon refuses exits 1 and says why.
    let out = lab.exec(
        "r1",
        bin.to_str().expect("utf-8 path"),
        &["ctl", "set-priority", "50", "--vrid", "11"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no virtual router with VRID 11"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r1.stop(&lab);
    assert!(!socket.exists(), "{} left after SIGTERM", socket.display());
}
