//! keepalived's `track_file` as a `kind = "file"` check: an operator drains the Active by
//! writing a number to a file, and undrains it by writing 0. vrrpd runs as root in namespaces of
//! the lab; the file lives in the lab's temporary directory.

use std::fs;
use std::time::{Duration, Instant};

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::{Router, VrrpParams, try_status, vrrpd_config_toml};
use vrrp_tests::wait_until;

fn router_field(lab: &Lab, node: &str, field: &str) -> Option<serde_json::Value> {
    try_status(lab, node).map(|s| s["routers"][0][field].clone())
}

/// r1 (priority 150) tracks a drain file with weight -100, r2 runs at 100. Writing 1 leaves r1
/// at 50 and r2 preempts; writing 0 gives r1 its 150 back and it preempts in turn.
#[test]
fn writing_the_drain_file_moves_the_vip_and_back() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("writing_the_drain_file_moves_the_vip_and_back", 2);
    let drain = lab.tmp_dir("drain").join("drain");
    fs::write(&drain, "0\n").unwrap();
    let p = VrrpParams::v3(10, 150, Duration::from_millis(100));
    let config = vrrpd_config_toml(&p)
        + &format!(
            "track = [\"drain\"]\n\n\
             [check.drain]\nkind = \"file\"\npath = \"{}\"\nweight = -100\ninterval = \"100ms\"\n",
            drain.display()
        );
    let r1 = Router::vrrpd(&lab, "r1", &p, &config);
    let p2 = p.with_priority(100);
    let _r2 = Router::vrrpd(&lab, "r2", &p2, &vrrpd_config_toml(&p2));
    let state = |node: &str| router_field(&lab, node, "state");
    let settle = |who: &str, why: &str| {
        let started = Instant::now();
        wait_until(Duration::from_secs(20), || {
            state(who) == Some("Active".into())
                && state(if who == "r1" { "r2" } else { "r1" }) == Some("Backup".into())
        })
        .unwrap_or_else(|_| {
            panic!(
                "{who} not Active {why}\nr1: {:#?}\nr2: {:#?}\n{}",
                try_status(&lab, "r1"),
                try_status(&lab, "r2"),
                lab.log(r1.procs()[0])
            )
        });
        started.elapsed()
    };
    settle("r1", "at start");
    assert_eq!(
        router_field(&lab, "r1", "effective_priority"),
        Some(150.into())
    );

    fs::write(&drain, "1\n").unwrap();
    let took = settle("r2", "after writing 1");
    assert_eq!(
        router_field(&lab, "r1", "effective_priority"),
        Some(50.into())
    );
    println!("MEASURE drain: r2 Active {took:?} after the write (read every 100 ms)");
    let s = try_status(&lab, "r1").unwrap();
    let detail = s["checks"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains(": 1 × -100 = -100"), "{s:#}");

    fs::write(&drain, "0\n").unwrap();
    let took = settle("r1", "after writing 0");
    println!("MEASURE undrain: r1 Active {took:?} after the write");
    assert_eq!(
        router_field(&lab, "r1", "effective_priority"),
        Some(150.into())
    );

    // A missing file counts as 0, as in keepalived: nothing moves.
    fs::remove_file(&drain).unwrap();
    wait_until(Duration::from_secs(5), || {
        try_status(&lab, "r1").is_some_and(|s| {
            s["checks"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("no such file: counts as 0"))
        })
    })
    .unwrap_or_else(|_| panic!("{:#?}", try_status(&lab, "r1")));
    assert_eq!(state("r1"), Some("Active".into()));
}

/// `init` / `overwrite` (keepalived's `init_file`): at start vrrpd writes the number to a
/// missing file, and with `overwrite` over what an earlier maintenance left, before the first
/// read, so the router starts with that number applied.
#[test]
fn init_writes_the_file_at_start() {
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("init_writes_the_file_at_start", 1);
    let dir = lab.tmp_dir("drain");
    let (left, missing) = (dir.join("left"), dir.join("missing"));
    // An earlier run's maintenance left r1 drained; `overwrite` undrains it.
    fs::write(&left, "1\n").unwrap();
    let p = VrrpParams::v3(10, 150, Duration::from_millis(100));
    let file_check = |name: &str, path: &std::path::Path, init: &str| {
        format!(
            "\n[check.{name}]\nkind = \"file\"\npath = \"{}\"\nweight = -20\ninterval = \"100ms\"\n{init}\n",
            path.display()
        )
    };
    let config = vrrpd_config_toml(&p)
        + "track = [\"left\", \"missing\"]\n"
        + &file_check("left", &left, "init = 0\noverwrite = true")
        + &file_check("missing", &missing, "init = 2");
    let r1 = Router::vrrpd(&lab, "r1", &p, &config);
    // 150 - 0 x 20 (overwritten) - 2 x 20 (created) = 110.
    wait_until(Duration::from_secs(20), || {
        router_field(&lab, "r1", "effective_priority") == Some(110.into())
    })
    .unwrap_or_else(|_| {
        panic!(
            "r1 did not start at 110: {:#?}\n{}",
            try_status(&lab, "r1"),
            lab.log(r1.procs()[0])
        )
    });
    assert_eq!(fs::read_to_string(&left).unwrap(), "0\n");
    assert_eq!(fs::read_to_string(&missing).unwrap(), "2\n");
}
