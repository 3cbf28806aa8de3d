//! Prerequisites: skip locally, fail in CI.
//!
//! A test starts with `if !prereq::require(&[Need::Keepalived]) { return; }`. When something is
//! missing it prints `skipped: <reason>` and returns false, unless the environment variable `CI`
//! is set (to anything but `false` / `0`), in which case it panics: CI must really run the tests.

use std::path::Path;
use std::process::Command;

/// Something an end-to-end test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Root (network namespaces, SIGSTOP of other processes, tcpdump).
    Root,
    /// `ip` (iproute2) and working network namespaces, `ss`, `sysctl`.
    Netns,
    /// nginx-light.
    Nginx,
    /// keepalived.
    Keepalived,
    /// tcpdump.
    Tcpdump,
    /// FRR: zebra, vrrpd, vtysh.
    Frr,
    /// Our daemon: the `vrrpd` binary (built with the workspace) and `/dev/net/tun`.
    Vrrpd,
    /// Debian's `chromium` (run headless) and `curl` (reads its DevTools HTTP endpoint).
    Chromium,
}

/// The browser the status page is tested in.
pub const CHROMIUM: &str = "/usr/bin/chromium";

impl Need {
    /// What a speaker in a router seat needs.
    pub fn speaker(s: crate::router::Speaker) -> Need {
        use crate::router::Speaker;
        match s {
            Speaker::Keepalived => Need::Keepalived,
            Speaker::Frr => Need::Frr,
            Speaker::Vrrpd => Need::Vrrpd,
        }
    }
}

/// Whether this run is CI (`CI` set and not `false` / `0` / empty).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

fn exists(p: &str) -> Result<(), String> {
    if Path::new(p).exists() {
        Ok(())
    } else {
        Err(format!("{p} not found"))
    }
}

fn check_one(n: Need) -> Result<(), String> {
    match n {
        // SAFETY: geteuid has no preconditions.
        Need::Root => (unsafe { libc::geteuid() } == 0)
            .then_some(())
            .ok_or_else(|| "not root".to_string()),
        Need::Netns => {
            exists("/usr/sbin/ip")
                .or_else(|_| exists("/sbin/ip"))
                .or_else(|_| exists("/usr/bin/ip"))?;
            for tool in ["ss", "sysctl"] {
                let ok = Command::new(tool).arg("-V").output().is_ok();
                if !ok {
                    return Err(format!("{tool} not found"));
                }
            }
            let name = format!("vrrpt{}xp-probe", std::process::id());
            let out = Command::new("ip")
                .args(["netns", "add", &name])
                .output()
                .map_err(|e| format!("ip: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cannot create a network namespace: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
            Ok(())
        }
        Need::Nginx => exists(crate::nginx::NGINX),
        Need::Keepalived => exists(crate::keepalived::KEEPALIVED),
        Need::Tcpdump => exists(crate::capture::TCPDUMP),
        Need::Vrrpd => {
            exists("/dev/net/tun")?;
            let bin = crate::router::vrrpd_bin();
            exists(&bin.display().to_string())
        }
        Need::Chromium => {
            exists(CHROMIUM)?;
            exists("/usr/bin/curl")
        }
        Need::Frr => {
            exists(crate::frr::ZEBRA)?;
            exists(crate::frr::VRRPD)?;
            exists(crate::frr::VTYSH)
        }
    }
}

/// Checks `needs` (plus root, namespaces, tcpdump and nginx, which every e2e test needs).
pub fn check(needs: &[Need]) -> Result<(), String> {
    let base = [Need::Root, Need::Netns, Need::Tcpdump, Need::Nginx];
    let mut reasons = Vec::new();
    let mut seen = Vec::new();
    for &n in base.iter().chain(needs) {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        if let Err(e) = check_one(n) {
            reasons.push(e);
            if n == Need::Root {
                break;
            }
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons.join("; "))
    }
}

/// True when the test can run. Otherwise prints `skipped: <reason>` and returns false, or panics
/// under CI.
pub fn require(needs: &[Need]) -> bool {
    match decide(check(needs), is_ci()) {
        Ok(run) => run,
        Err(msg) => panic!("{msg}"),
    }
}

/// What to do with a prerequisite check: Ok(true) = run, Ok(false) = skipped (printed),
/// Err = fail (CI).
pub fn decide(check: Result<(), String>, ci: bool) -> Result<bool, String> {
    match check {
        Ok(()) => Ok(true),
        Err(reason) if ci => Err(format!("CI is set and a prerequisite is missing: {reason}")),
        Err(reason) => {
            println!("skipped: {reason}");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_locally_fail_in_ci() {
        assert_eq!(decide(Ok(()), false), Ok(true));
        assert_eq!(decide(Ok(()), true), Ok(true));
        assert_eq!(decide(Err("no nginx".into()), false), Ok(false));
        let e = decide(Err("no nginx".into()), true).unwrap_err();
        assert!(e.contains("no nginx"), "{e}");
    }
}
