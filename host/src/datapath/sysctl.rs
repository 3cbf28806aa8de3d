//! The kernel settings that keep the kernel from answering ARP for a VIP that lives on `lo`.
//!
//! The VIP is a local address on `lo`, so by default Linux would answer ARP for it on every
//! interface (the weak host model) with the bridge's MAC, fighting smoltcp's answers with the
//! virtual MAC and outliving a `kill -9`. Two settings stop that:
//! - `arp_ignore=1`: answer ARP only for addresses configured on the interface the request came
//!   in on (the VIP is on `lo`, requests arrive on the bridge);
//! - `arp_announce=2`: never use a VIP as the sender address of the kernel's own ARP requests, or
//!   clients would learn VIP -> bridge MAC and keep it after a failover.
//!
//! The kernel uses the larger of `conf/all/KEY` and `conf/DEV/KEY` for both, so what matters is
//! the value in effect on the bridge. `all` is preferred because a container runtime can preset it
//! (`sysctls:` in docker compose) while the bridge does not exist yet. Strict `rp_filter` is no
//! obstacle: a relayed packet arrives on the bridge, the interface its source is routed through.
//!
//! IPv6 needs per-device settings on the interfaces vrrpd creates ([`ipv6_enabled`],
//! [`set_ipv6`]); those cannot be preset, since the devices do not exist before vrrpd starts.
//!
//! Only files under /proc/sys are written; nothing is shelled out.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One setting that is required and what the kernel accepts as satisfying it.
struct Requirement {
    key: &'static str,
    want: u32,
    /// Whether the effective value `max(all, dev)` does what we need.
    satisfied: fn(u32) -> bool,
}

const REQUIREMENTS: [Requirement; 2] = [
    Requirement {
        key: "arp_ignore",
        want: 1,
        // 2 is stricter and fine; 3 would still answer for a global-scope VIP, 8 (never answer)
        // would silence the bridge's own address too.
        satisfied: |v| v == 1 || v == 2,
    },
    Requirement {
        key: "arp_announce",
        want: 2,
        satisfied: |v| v == 2,
    },
];

/// A sysctl that had to be set and could not be, with the exact setting to make instead.
#[derive(Debug)]
pub struct Unsettable {
    /// Dotted name, e.g. `net.ipv4.conf.all.arp_ignore`.
    pub key: String,
    pub value: u32,
    pub cause: io::Error,
}

impl fmt::Display for Unsettable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot set {}={}: {}", self.key, self.value, self.cause)
    }
}

impl std::error::Error for Unsettable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// The settings vrrpd needs and cannot make itself (typically a read-only /proc/sys in a
/// container). The daemon prints this and exits 2.
#[derive(Debug)]
pub struct SysctlError {
    pub missing: Vec<Unsettable>,
}

impl fmt::Display for SysctlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot set the sysctls that keep the kernel from answering ARP for the VIPs:"
        )?;
        for m in &self.missing {
            write!(f, " {}={} ({});", m.key, m.value, m.cause)?;
        }
        write!(
            f,
            " set them before vrrpd starts, e.g. in docker compose `sysctls:`"
        )?;
        for m in &self.missing {
            write!(f, " - {}={}", m.key, m.value)?;
        }
        write!(f, " (or `docker run")?;
        for m in &self.missing {
            write!(f, " --sysctl {}={}", m.key, m.value)?;
        }
        write!(f, "`)")
    }
}

impl std::error::Error for SysctlError {}

/// A value vrrpd changed, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub key: String,
    pub from: u32,
    pub to: u32,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={} (was {})", self.key, self.to, self.from)
    }
}

/// Makes sure `arp_ignore` and `arp_announce` in effect on `bridge` keep the kernel silent about
/// VIPs on `lo`. Writes `conf/all` (falling back to `conf/<bridge>`) only where the effective value
/// is not already right. Call after the bridge exists.
pub fn ensure_vip_sysctls(bridge: &str) -> Result<Vec<Changed>, SysctlError> {
    ensure_vip_sysctls_at(Path::new("/proc/sys"), bridge)
}

/// [`ensure_vip_sysctls`] under another root than /proc/sys (for tests).
pub fn ensure_vip_sysctls_at(root: &Path, bridge: &str) -> Result<Vec<Changed>, SysctlError> {
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    for req in &REQUIREMENTS {
        let all = Knob::new(root, "ipv4", "all", req.key);
        let dev = Knob::new(root, "ipv4", bridge, req.key);
        let effective = |all: &Knob, dev: &Knob| -> Option<u32> {
            // A device that does not exist (yet) contributes nothing.
            Some(all.read().ok()?.max(dev.read().unwrap_or(0)))
        };
        if effective(&all, &dev).is_some_and(req.satisfied) {
            continue;
        }
        let mut cause = None;
        for knob in [&all, &dev] {
            // The maximum rule means a larger value on the other knob would still win.
            let from = knob.read().unwrap_or(0);
            match knob.write(req.want) {
                Ok(()) => {
                    changed.push(Changed {
                        key: knob.dotted(),
                        from,
                        to: req.want,
                    });
                    if effective(&all, &dev).is_some_and(req.satisfied) {
                        break;
                    }
                }
                Err(e) => {
                    cause.get_or_insert(e);
                }
            }
        }
        if !effective(&all, &dev).is_some_and(req.satisfied) {
            missing.push(Unsettable {
                key: all.dotted(),
                value: req.want,
                cause: cause.unwrap_or_else(|| {
                    io::Error::other(format!("{} overrides it with a larger value", dev.dotted()))
                }),
            });
        }
    }
    if missing.is_empty() {
        Ok(changed)
    } else {
        Err(SysctlError { missing })
    }
}

/// Whether IPv6 is enabled on `dev`: its `disable_ipv6` reads 0. A missing file (a kernel
/// without IPv6, one booted with `ipv6.disable=1`, or no such device) counts as disabled.
pub fn ipv6_enabled(dev: &str) -> bool {
    ipv6_enabled_at(Path::new("/proc/sys"), dev)
}

/// [`ipv6_enabled`] under another root than /proc/sys (for tests).
pub fn ipv6_enabled_at(root: &Path, dev: &str) -> bool {
    Knob::new(root, "ipv6", dev, "disable_ipv6")
        .read()
        .is_ok_and(|v| v == 0)
}

/// Sets `net.ipv6.conf.<dev>.<key>` to `value` on an interface vrrpd owns. Returns the change,
/// or `None` when the value was already there (so a read-only /proc/sys that already says the
/// right thing is no error).
pub fn set_ipv6(dev: &str, key: &'static str, value: u32) -> Result<Option<Changed>, Unsettable> {
    set_ipv6_at(Path::new("/proc/sys"), dev, key, value)
}

/// [`set_ipv6`] under another root than /proc/sys (for tests).
pub fn set_ipv6_at(
    root: &Path,
    dev: &str,
    key: &'static str,
    value: u32,
) -> Result<Option<Changed>, Unsettable> {
    let knob = Knob::new(root, "ipv6", dev, key);
    let unsettable = |cause| Unsettable {
        key: knob.dotted(),
        value,
        cause,
    };
    let from = knob.read().map_err(unsettable)?;
    if from == value {
        return Ok(None);
    }
    knob.write(value).map_err(unsettable)?;
    Ok(Some(Changed {
        key: knob.dotted(),
        from,
        to: value,
    }))
}

/// One file `net/<family>/conf/<dev>/<key>` under a sysctl root.
struct Knob {
    path: PathBuf,
    family: &'static str,
    dev: String,
    key: &'static str,
}

impl Knob {
    fn new(root: &Path, family: &'static str, dev: &str, key: &'static str) -> Knob {
        Knob {
            path: root
                .join("net")
                .join(family)
                .join("conf")
                .join(dev)
                .join(key),
            family,
            dev: dev.to_string(),
            key,
        }
    }

    /// The name as `sysctl` and container runtimes spell it. Dots in interface names become `/`.
    fn dotted(&self) -> String {
        format!(
            "net.{}.conf.{}.{}",
            self.family,
            self.dev.replace('.', "/"),
            self.key
        )
    }

    fn read(&self) -> io::Result<u32> {
        let s = fs::read_to_string(&self.path)?;
        s.trim()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{s:?}: {e}")))
    }

    fn write(&self, value: u32) -> io::Result<()> {
        fs::write(&self.path, format!("{value}\n"))?;
        // A read-only bind mount may fail only at read-back in some runtimes; trust the kernel.
        match self.read()? {
            v if v == value => Ok(()),
            v => Err(io::Error::other(format!("wrote {value}, reads back {v}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake /proc/sys with `conf/<dev>/<key>` files; removed on drop.
    struct FakeProc(PathBuf);

    impl FakeProc {
        fn new(name: &str, values: &[(&str, &str, u32)]) -> FakeProc {
            let root =
                std::env::temp_dir().join(format!("vrrpd-sysctl-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            for &(dev, key, v) in values {
                let dir = root.join("net/ipv4/conf").join(dev);
                fs::create_dir_all(&dir).unwrap();
                fs::write(dir.join(key), format!("{v}\n")).unwrap();
            }
            FakeProc(root)
        }

        fn get(&self, dev: &str, key: &str) -> u32 {
            let p = self.0.join("net/ipv4/conf").join(dev).join(key);
            fs::read_to_string(p).unwrap().trim().parse().unwrap()
        }

        /// Makes a knob unwritable even for root: a directory where the file should be.
        fn lock(&self, dev: &str, key: &str) {
            let p = self.0.join("net/ipv4/conf").join(dev).join(key);
            let _ = fs::remove_file(&p);
            fs::create_dir_all(p).unwrap();
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn defaults(name: &str) -> FakeProc {
        FakeProc::new(
            name,
            &[
                ("all", "arp_ignore", 0),
                ("all", "arp_announce", 0),
                ("br0", "arp_ignore", 0),
                ("br0", "arp_announce", 0),
            ],
        )
    }

    #[test]
    fn sets_all_when_needed() {
        let p = defaults("all");
        let changed = ensure_vip_sysctls_at(&p.0, "br0").unwrap();
        assert_eq!(p.get("all", "arp_ignore"), 1);
        assert_eq!(p.get("all", "arp_announce"), 2);
        assert_eq!(p.get("br0", "arp_ignore"), 0);
        assert_eq!(changed.len(), 2);
        assert_eq!(changed[0].key, "net.ipv4.conf.all.arp_ignore");
        assert_eq!(
            changed[0].to_string(),
            "net.ipv4.conf.all.arp_ignore=1 (was 0)"
        );
        // Idempotent: a second run changes nothing.
        assert!(ensure_vip_sysctls_at(&p.0, "br0").unwrap().is_empty());
    }

    #[test]
    fn preset_values_are_left_alone() {
        let p = defaults("preset");
        fs::write(p.0.join("net/ipv4/conf/all/arp_ignore"), "2\n").unwrap();
        fs::write(p.0.join("net/ipv4/conf/br0/arp_announce"), "2\n").unwrap();
        assert!(ensure_vip_sysctls_at(&p.0, "br0").unwrap().is_empty());
        assert_eq!(p.get("all", "arp_announce"), 0);
    }

    #[test]
    fn an_unreadable_all_is_not_assumed_right() {
        // Even a right value on the bridge proves nothing while `all` (which may be larger) is
        // unknown, so the error names `all`.
        let p = defaults("unreadable");
        fs::write(p.0.join("net/ipv4/conf/br0/arp_ignore"), "1\n").unwrap();
        p.lock("all", "arp_ignore");
        let err = ensure_vip_sysctls_at(&p.0, "br0").unwrap_err();
        assert_eq!(err.missing.len(), 1);
        assert_eq!(err.missing[0].key, "net.ipv4.conf.all.arp_ignore");
        assert_eq!(p.get("all", "arp_announce"), 2);
    }

    #[test]
    fn read_only_proc_names_the_exact_settings() {
        let p = defaults("ro");
        for dev in ["all", "br0"] {
            for key in ["arp_ignore", "arp_announce"] {
                p.lock(dev, key);
            }
        }
        let err = ensure_vip_sysctls_at(&p.0, "br0").unwrap_err();
        let keys: Vec<_> = err
            .missing
            .iter()
            .map(|m| (m.key.as_str(), m.value))
            .collect();
        assert_eq!(
            keys,
            [
                ("net.ipv4.conf.all.arp_ignore", 1),
                ("net.ipv4.conf.all.arp_announce", 2)
            ]
        );
        let msg = err.to_string();
        assert!(msg.contains("- net.ipv4.conf.all.arp_ignore=1"), "{msg}");
        assert!(
            msg.contains("--sysctl net.ipv4.conf.all.arp_announce=2"),
            "{msg}"
        );
    }

    #[test]
    fn dotted_names_escape_vlan_dots() {
        let k = Knob::new(Path::new("/proc/sys"), "ipv4", "eth0.10", "arp_ignore");
        assert_eq!(k.dotted(), "net.ipv4.conf.eth0/10.arp_ignore");
    }

    /// A fake /proc/sys holding `net/ipv6/conf/<dev>/<key>` files.
    fn ipv6_proc(name: &str, values: &[(&str, &str, u32)]) -> FakeProc {
        let p = FakeProc::new(name, &[]);
        for &(dev, key, v) in values {
            let dir = p.0.join("net/ipv6/conf").join(dev);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(key), format!("{v}\n")).unwrap();
        }
        p
    }

    #[test]
    fn ipv6_is_enabled_only_where_disable_ipv6_reads_0() {
        let p = ipv6_proc(
            "v6on",
            &[("eth0", "disable_ipv6", 0), ("eth1", "disable_ipv6", 1)],
        );
        assert!(ipv6_enabled_at(&p.0, "eth0"));
        assert!(!ipv6_enabled_at(&p.0, "eth1"));
        // No file: no IPv6 in this kernel, or no such device.
        assert!(!ipv6_enabled_at(&p.0, "eth2"));
    }

    #[test]
    fn set_ipv6_writes_only_a_different_value() {
        let p = ipv6_proc("v6set", &[("tap0", "disable_ipv6", 0)]);
        let c = set_ipv6_at(&p.0, "tap0", "disable_ipv6", 1)
            .unwrap()
            .unwrap();
        assert_eq!(c.to_string(), "net.ipv6.conf.tap0.disable_ipv6=1 (was 0)");
        assert_eq!(
            fs::read_to_string(p.0.join("net/ipv6/conf/tap0/disable_ipv6")).unwrap(),
            "1\n"
        );
        assert!(
            set_ipv6_at(&p.0, "tap0", "disable_ipv6", 1)
                .unwrap()
                .is_none()
        );
        // A knob that cannot be read (no such device, no IPv6) names the setting.
        let e = set_ipv6_at(&p.0, "tap9", "disable_ipv6", 1).unwrap_err();
        assert_eq!(e.key, "net.ipv6.conf.tap9.disable_ipv6");
        assert!(
            e.to_string()
                .starts_with("cannot set net.ipv6.conf.tap9.disable_ipv6=1"),
            "{e}"
        );
    }
}
