//! vrrpd's status page (`GET /` on the status endpoint) in a real browser: headless Chromium
//! against a running pair, r1 Active at 200 and r2 Backup at 100, each tracking its nginx.
//!
//! Two ways of looking, both only at what the page's script renders from `/status` (the HTML as
//! served holds no router, check or event, so a page whose script does not run fails):
//! - one long-lived page on r2, whose `document.title` the script rewrites on every refresh,
//!   read through Chromium's DevTools HTTP endpoint (`/json/list`): it must follow the failover
//!   without being reloaded;
//! - fresh pages dumped with `--dump-dom`, for the whole rendering, and `--screenshot`.
//!
//! With `VRRP_STATUS_PAGE_PNG=<file>` the test copies its screenshot of r2's page there
//! (`VRRP_STATUS_PAGE_PNG=$PWD/docs/status-page.png` renews the README's).

use std::time::{Duration, Instant};

use vrrp_tests::Lab;
use vrrp_tests::bench::append_measure;
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{CHROMIUM, Need, require};
use vrrp_tests::router::{Router, State, VRRPD_STATUS, VrrpParams, vrrpd_config_toml};
use vrrp_tests::wait_for;

/// The DevTools port of the long-lived page, on r2's own loopback.
const DEVTOOLS_PORT: u16 = 9222;

fn page_url() -> String {
    format!("http://{VRRPD_STATUS}/")
}

/// Arguments every Chromium run shares. `--no-sandbox`: the tests run as root, where Chromium
/// refuses its sandbox; the page it loads is our own.
fn chromium_args(lab: &Lab, profile: &str) -> Vec<String> {
    let dir = lab.tmp_dir(&format!("chromium-{profile}"));
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
        "--hide-scrollbars".into(),
        "--window-size=1000,680".into(),
        format!("--user-data-dir={}", dir.display()),
    ]
}

/// Runs a short-lived Chromium in `node` on the page; `--virtual-time-budget` lets the page's
/// script fetch and render before Chromium dumps or shoots it. Bounded by `timeout`, so that a
/// hung browser fails the test instead of stalling it.
fn chromium_once(lab: &Lab, node: &str, profile: &str, action: &str) -> String {
    let mut args = vec!["60".to_owned(), CHROMIUM.to_owned()];
    args.extend(chromium_args(lab, profile));
    args.push("--virtual-time-budget=3000".into());
    args.push(action.to_owned());
    args.push(page_url());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab.exec(node, "timeout", &args);
    assert!(
        out.status.success(),
        "chromium {action} in {node}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM of `node`'s status page, as its script rendered it.
fn dump_dom(lab: &Lab, node: &str) -> String {
    chromium_once(lab, node, &format!("dump-{node}"), "--dump-dom")
}

/// Dumps `node`'s page until `cond` holds of the DOM; returns that DOM, or panics after `within`
/// with the last one (also written to the artifacts).
fn wait_dom(
    lab: &Lab,
    node: &str,
    what: &str,
    within: Duration,
    cond: impl Fn(&str) -> bool,
) -> String {
    let mut last = String::new();
    let found = wait_for(within, || {
        last = dump_dom(lab, node);
        cond(&last).then(|| last.clone())
    });
    found.unwrap_or_else(|_| {
        let path = lab.write_artifact(&format!("dom-{node}-timeout.html"), &last);
        panic!(
            "{node}'s page never showed {what} within {within:?}; last DOM in {}",
            path.display()
        )
    })
}

/// The title of the long-lived page in `node`, from the DevTools endpoint; `None` while the
/// browser does not answer yet.
fn live_title(lab: &Lab, node: &str) -> Option<String> {
    let url = format!("http://127.0.0.1:{DEVTOOLS_PORT}/json/list");
    let out = lab.exec(node, "curl", &["-sf", "--max-time", "2", &url]);
    let targets: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    targets.as_array()?.iter().find_map(|t| {
        let page = t["type"] == "page" && t["url"].as_str() == Some(page_url().as_str());
        page.then(|| t["title"].as_str().unwrap_or_default().to_owned())
    })
}

/// Waits until the live page's title is `want`; returns how long that took.
fn wait_title(lab: &Lab, node: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    let mut last = None;
    let seen = wait_for(within, || {
        last = live_title(lab, node);
        (last.as_deref() == Some(want)).then_some(())
    });
    assert!(
        seen.is_ok(),
        "the live page in {node} never showed {want:?} within {within:?} (last title {last:?})"
    );
    start.elapsed()
}

/// The pair's config: `params` plus an HTTP check on the node's nginx, tracked with weight -50
/// (so the page has a check to show; nginx stays up).
fn config(params: &VrrpParams) -> String {
    vrrpd_config_toml(params)
        + "track = [\"nginx\"]\n\n\
           [check.nginx]\n\
           kind = \"http\"\n\
           url = \"http://127.0.0.1/\"\n\
           interval = \"200ms\"\n\
           timeout = \"150ms\"\n\
           weight = -50\n"
}

/// The page follows a failover: r2's page shows Backup, then Active while r1 is paused (the
/// long-lived page without a reload, and a fresh one with the takeover in its timeline), then
/// Backup again after r1 resumes and preempts; r1's page shows the freeze it measured.
#[test]
fn status_page_follows_a_failover_in_chromium() {
    if !require(&[Need::Vrrpd, Need::Chromium]) {
        return;
    }
    let lab = Lab::new("status_page_follows_a_failover_in_chromium", 2);
    let p1 = VrrpParams::v3(10, 200, Duration::from_millis(100));
    let p2 = p1.with_priority(100);
    let _nginx1 = Nginx::start(&lab, "r1", "Primary");
    let _nginx2 = Nginx::start(&lab, "r2", "Secondary");
    let r1 = Router::vrrpd(&lab, "r1", &p1, &config(&p1));
    let r2 = Router::vrrpd(&lab, "r2", &p2, &config(&p2));
    wait_for(Duration::from_secs(20), || {
        (r1.state(&lab) == State::Active && r2.state(&lab) == State::Backup).then_some(())
    })
    .expect("r1 Active, r2 Backup");

    let mut live = chromium_args(&lab, "live-r2");
    live.push(format!("--remote-debugging-port={DEVTOOLS_PORT}"));
    live.push(page_url());
    let live: Vec<&str> = live.iter().map(String::as_str).collect();
    lab.spawn("r2", "chromium-live-r2", CHROMIUM, &live);
    let before = "vrrpd eth0: VRID 10 Backup";
    wait_title(&lab, "r2", before, Duration::from_secs(30));

    // Only the script writes these: the router's card with its state, the check's row, the
    // timeline's entries.
    let dom = wait_dom(
        &lab,
        "r2",
        "the Backup with an up check",
        Duration::from_secs(30),
        |d| {
            d.contains(r#"id="vrid-10" data-state="Backup""#)
                && d.contains(r#"<td class="up">up</td>"#)
        },
    );
    assert!(dom.contains("VRID 10: Initialize → Backup"), "{dom}");
    assert!(dom.contains("<dd>192.0.2.1</dd>"), "{dom}");
    // The Backup names the Active: the source of the adverts it hears.
    assert!(dom.contains("<dd>192.0.2.11</dd>"), "{dom}");
    let dom = dump_dom(&lab, "r1");
    assert!(dom.contains(r#"id="vrid-10" data-state="Active""#), "{dom}");
    assert!(dom.contains("<dd>192.0.2.11 (this router)</dd>"), "{dom}");
    assert!(dom.contains("<dd>200</dd>"), "{dom}");

    lab.pause("r1");
    let after = "vrrpd eth0: VRID 10 Active";
    let shown = wait_title(&lab, "r2", after, Duration::from_secs(10));
    // The takeover itself (3I + skew, 0.36 s here) plus up to one refresh of the page.
    let line = format!(
        "MEASURE status_page failover_shown_ms={}",
        shown.as_millis()
    );
    println!("{line}");
    append_measure(&line);
    let dom = wait_dom(&lab, "r2", "the takeover", Duration::from_secs(30), |d| {
        d.contains(r#"id="vrid-10" data-state="Active""#)
    });
    assert!(dom.contains("<dd>192.0.2.12 (this router)</dd>"), "{dom}");
    assert!(dom.contains("VRID 10: Backup → Active"), "{dom}");
    assert!(
        dom.contains("active_down: active_down_interval expired"),
        "{dom}"
    );

    lab.resume("r1");
    wait_title(&lab, "r2", before, Duration::from_secs(10));
    let dom = wait_dom(&lab, "r1", "the freeze", Duration::from_secs(30), |d| {
        d.contains("vrrpd was frozen for")
    });
    assert!(dom.contains(r#"data-state="Active""#), "{dom}");
    lab.write_artifact("dom-r1.html", &dom);
    let dom = wait_dom(&lab, "r2", "the step back", Duration::from_secs(30), |d| {
        d.contains("VRID 10: Active → Backup")
    });
    lab.write_artifact("dom-r2.html", &dom);

    for node in ["r1", "r2"] {
        let png = lab.artifacts.join(format!("status-page-{node}.png"));
        let shot = format!("--screenshot={}", png.display());
        chromium_once(&lab, node, &format!("shot-{node}"), &shot);
        let bytes = std::fs::read(&png).expect("screenshot written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{} is no screenshot of a rendered page ({} bytes)",
            png.display(),
            bytes.len()
        );
        if node == "r2"
            && let Some(dest) = std::env::var_os("VRRP_STATUS_PAGE_PNG")
        {
            std::fs::copy(&png, &dest).expect("copy the screenshot");
            println!(
                "screenshot of r2's page copied to {}",
                dest.to_string_lossy()
            );
        }
    }
}
