//! What must never stall an Active vrrpd's event loop. Each test gives the Active something that
//! used to block it, and checks from the Backup's side that its adverts kept coming: the Backup
//! never took over.

use std::time::{Duration, Instant};

use vrrp_tests::Lab;
use vrrp_tests::prereq::{Need, require};
use vrrp_tests::router::{
    Router, Speaker, VrrpParams, status, try_status, vrrpd_bin, vrrpd_config_toml,
};

/// The Backup's count of takeovers (Active_Down_Interval expired) and of adverts it heard.
fn backup_view(lab: &Lab, node: &str) -> (u64, u64) {
    let s = status(lab, node);
    let r = &s["routers"][0];
    let to_active = r["transitions"]["active_down"].as_u64().unwrap_or(0);
    let heard = r["adverts_received"].as_u64().unwrap_or(0);
    (to_active, heard)
}

/// A child process killed when this is dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// stderr is a pipe whose reader never reads (a stuck log driver), shrunk to one page so that
/// debug logging fills it within a second. A daemon that writes its log lines from the event
/// loop blocks there, its adverts stop and the Backup takes over; vrrpd writes them from a
/// thread of its own and drops what it cannot write.
#[test]
fn a_stuck_log_reader_does_not_stall_the_active() {
    use nix::fcntl::{FcntlArg, fcntl};
    use std::process::{Command, Stdio};
    if !require(&[Need::Vrrpd]) {
        return;
    }
    let lab = Lab::new("a_stuck_log_reader_does_not_stall_the_active", 2);
    let interval = Duration::from_millis(100);
    let p1 = VrrpParams::v3(10, 200, interval);
    let p2 = VrrpParams::v3(10, 100, interval);
    let conf = lab.write_artifact("vrrpd-r1.toml", &vrrpd_config_toml(&p1));
    let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
    fcntl(&write_end, FcntlArg::F_SETPIPE_SZ(4096)).expect("F_SETPIPE_SZ");
    let _r1 = Child(
        Command::new("ip")
            .args(["netns", "exec", &lab.ns("r1")])
            .arg(vrrpd_bin())
            .args(["run", "--config"])
            .arg(&conf)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(write_end))
            .spawn()
            .expect("spawn vrrpd"),
    );
    let _r2 = Router::start(&lab, "r2", Speaker::Vrrpd, &p2);

    // r1 wins the election, and r2 settles as its Backup.
    let settled = vrrp_tests::wait_until(Duration::from_secs(10), || {
        try_status(&lab, "r2").is_some_and(|s| {
            s["routers"][0]["state"] == "Backup"
                && s["routers"][0]["adverts_received"].as_u64() > Some(5)
        })
    });
    assert!(
        settled.is_ok(),
        "r2 never became r1's Backup: {}",
        status(&lab, "r2")
    );
    let (before, heard_before) = backup_view(&lab, "r2");

    // Debug lines (several per advert) fill the page within a second; watch for 6.
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let (after, heard_after) = backup_view(&lab, "r2");
    let heard = heard_after - heard_before;
    println!(
        "MEASURE stall-stuck-log adverts_heard={heard} in {:.1} s, takeovers={}",
        start.elapsed().as_secs_f64(),
        after - before,
    );
    assert_eq!(
        after,
        before,
        "r2 took over while r1's log reader was stuck: {}",
        status(&lab, "r2")
    );
    // 60 adverts due; a loaded machine may delay some, none may stop.
    assert!(heard > 40, "r2 heard only {heard} adverts in 6 s");
    drop(read_end);
}
