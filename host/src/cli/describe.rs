//! The `vrrpd check` report: what the configuration makes vrrpd do, section by section.

use std::fmt::Write as _;

use vrrp_core::wire::{Auth, ChecksumMode, Version};

use crate::config::{
    Config, CoreConfig, DatapathMode, Effect, LogFormat, RouterConfig, format_duration,
};
use crate::health::{Scale, Tracked, effective_priority};

/// The `vrrpd check` report: routers with their RFC 9568 timers as the core computes them,
/// checks and hooks.
pub fn describe(c: &Config) -> String {
    let mut out = String::new();
    header(&mut out, c);
    for r in &c.routers {
        router(&mut out, c, r);
    }
    checks(&mut out, c);
    hooks(&mut out, c);
    sync_groups(&mut out, c);
    supervised(&mut out, c);
    process(&mut out, c);
    out
}

fn process(out: &mut String, c: &Config) {
    let p = &c.process;
    let _ = writeln!(out, "\nprocess:");
    let _ = match p.realtime_priority {
        Some(n) => writeln!(
            out,
            "  event loop thread: SCHED_RR priority {n} (needs CAP_SYS_NICE; not inherited by checks, hooks, the supervised process)"
        ),
        None => writeln!(out, "  event loop thread: normal scheduling"),
    };
    let _ = writeln!(
        out,
        "  memory: {}",
        if p.lock_memory {
            "locked with mlockall (needs CAP_IPC_LOCK)"
        } else {
            "not locked"
        }
    );
}

fn header(out: &mut String, c: &Config) {
    let _ = writeln!(out, "{}: OK", c.file.display());
    let _ = writeln!(
        out,
        "{} {}; status on http://{}/status; logs {}, level {:?}",
        if c.uplinks().len() == 1 {
            "uplink"
        } else {
            "uplinks"
        },
        c.uplinks().join(", "),
        c.status_listen,
        match c.log.format {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        },
        c.log.level
    );
    let _ = writeln!(
        out,
        "vrrpd ctl on {} (root only)",
        match &c.control_socket {
            Some(p) => p.display().to_string(),
            None => "/run/vrrpd/netns-<inode of this network namespace>/control.sock".into(),
        }
    );
    let _ = writeln!(
        out,
        "VIP traffic: {}",
        match c.datapath {
            DatapathMode::Auto => "kernel fast path (nftables), user-space relay if unavailable",
            DatapathMode::Relay => "user-space relay",
        }
    );
}

/// One virtual router: its addresses, its protocol settings, its timers and what it tracks.
fn router(out: &mut String, c: &Config, r: &RouterConfig) {
    let core = &r.core;
    let _ = writeln!(
        out,
        "\nVRID {}{}: VRRPv{}, priority {}{}, advert interval {}",
        core.vrid(),
        if c.uplinks().len() > 1 {
            format!(" on {}", r.interface)
        } else {
            String::new()
        },
        core.version().number(),
        core.priority(),
        if core.priority() == 255 {
            " (address owner)"
        } else {
            ""
        },
        format_duration(r.interval()),
    );
    addresses(out, r);
    protocol(out, core);
    timers(out, core);
    if !r.track.is_empty() {
        tracking(out, c, r);
    }
}

/// The VIPs, the virtual MAC and the address adverts come from.
fn addresses(out: &mut String, r: &RouterConfig) {
    let core = &r.core;
    let vips: Vec<String> = core
        .vips()
        .map(|v| format!("{v}/{}", core.vip_prefix_len()))
        .collect();
    let _ = writeln!(out, "  VIPs                  {}", vips.join(", "));
    let mac: Vec<String> = core
        .virtual_mac()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let _ = writeln!(out, "  virtual MAC           {}", mac.join(":"));
    let _ = writeln!(
        out,
        "  primary address       {}",
        r.primary.map_or_else(
            || {
                let family = if core.is_v6() {
                    "IPv6 link-local"
                } else {
                    "IPv4"
                };
                format!("the {family} address of {} at start", r.interface)
            },
            |p| p.to_string()
        )
    );
}

/// Preemption, accept mode, checksum or authentication, peers and gratuitous ARP / NA.
fn protocol(out: &mut String, core: &CoreConfig) {
    let _ = writeln!(
        out,
        "  preempt               {}",
        if core.preempt() {
            format!(
                "yes, once it has outranked the Active for {}",
                format_duration(std_duration(core.preempt_delay()))
            )
        } else {
            "no".into()
        }
    );
    let _ = writeln!(
        out,
        "  accept mode           {}",
        if core.accept_mode() { "yes" } else { "no" }
    );
    if core.version() == Version::V3 {
        let _ = writeln!(
            out,
            "  checksum              {}",
            match core.checksum() {
                ChecksumMode::PseudoHeader => "pseudo-header",
                ChecksumMode::MessageOnly => "message-only",
            }
        );
    } else {
        let _ = writeln!(
            out,
            "  authentication        {}",
            match core.auth() {
                Auth::None => "none",
                Auth::Simple(_) => "simple password (clear text)",
            }
        );
    }
    let peers: Vec<String> = core.peers().map(|p| p.to_string()).collect();
    let _ = writeln!(
        out,
        "  peers                 {}",
        if peers.is_empty() {
            "any source".to_owned()
        } else {
            peers.join(", ")
        }
    );
    let garp = core.garp();
    let repeats: Vec<String> = garp
        .repeat_at()
        .map(|t| format!("+{}", format_duration(std_duration(t))))
        .collect();
    let refresh = garp.refresh().map_or(String::new(), |every| {
        format!(
            ", then every {} while Active",
            format_duration(std_duration(every))
        )
    });
    let _ = writeln!(
        out,
        "  {}  {} per VIP at the takeover{}{refresh}",
        if core.is_v6() {
            "unsolicited NA      "
        } else {
            "gratuitous ARP      "
        },
        garp.burst,
        if repeats.is_empty() {
            ", no repeat".to_owned()
        } else {
            format!(", again at {}", repeats.join(", "))
        }
    );
}

/// Skew_Time and Active_Down_Interval as the core computes them (RFC 9568 §6.1).
fn timers(out: &mut String, core: &CoreConfig) {
    match core.timers() {
        Ok((skew, down)) => {
            let _ = writeln!(
                out,
                "  Skew_Time             {}",
                format_duration(std_duration(skew))
            );
            let _ = writeln!(
                out,
                "  Active_Down_Interval  {} (3 x interval + Skew_Time: a Backup takes over after this much silence)",
                format_duration(std_duration(down))
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  timers                unavailable: {e}");
        }
    }
}

/// The tracked checks, and the priority left when they are down.
fn tracking(out: &mut String, c: &Config, r: &RouterConfig) {
    let mut worst_weight = 0i32;
    let mut fault = false;
    let mut scaled = false;
    let mut parts = Vec::new();
    for name in &r.track {
        let Some(check) = c.check(name) else { continue };
        match check.effect {
            Effect::Weight(w) => {
                parts.push(format!("{name} (weight {w:+})"));
                if w < 0 {
                    worst_weight += i32::from(w);
                }
            }
            Effect::Fault => {
                parts.push(format!("{name} (fault)"));
                fault = true;
            }
            Effect::Scaled(s) => {
                let reverse = if s.reverse { " reversed" } else { "" };
                parts.push(format!("{name} (number × {}{reverse})", s.weight));
                if s.weight == 0 {
                    fault = true;
                } else {
                    scaled = true;
                }
            }
        }
    }
    let _ = writeln!(out, "  tracks                {}", parts.join(", "));
    if worst_weight != 0 {
        let _ = writeln!(
            out,
            "  priority if negative-weight checks are down  {}",
            effective_priority(
                r.core.priority(),
                std::iter::once(Tracked {
                    effect: Effect::Weight(worst_weight.clamp(-254, 254) as i16),
                    up: Some(false),
                })
            )
        );
    }
    if fault {
        let _ = writeln!(
            out,
            "  priority while a fault check is down        0 (steps down, never takes over)"
        );
    }
    if scaled {
        let _ = writeln!(
            out,
            "  file checks add their number × weight (1..=254 in all; -254 or less: 0, steps down)"
        );
    }
}

fn checks(out: &mut String, c: &Config) {
    if c.checks.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nchecks:");
    for check in &c.checks {
        let effect = match check.effect {
            Effect::Weight(w) if w < 0 => format!("weight {w} while down"),
            Effect::Weight(w) => format!("weight +{w} while up"),
            Effect::Fault => "fault (priority 0) while down".into(),
            Effect::Scaled(s) => {
                let _ = writeln!(
                    out,
                    "  {:<12} {}\n  {:<12} read every {}, timeout {}, {}",
                    check.name,
                    check.kind,
                    "",
                    format_duration(check.interval),
                    format_duration(check.timeout),
                    scaled_effect(s),
                );
                continue;
            }
        };
        let _ = writeln!(
            out,
            "  {:<12} {}\n  {:<12} every {}, timeout {}, up after {} success(es), down after {} failure(s), {effect}",
            check.name,
            check.kind,
            "",
            format_duration(check.interval),
            format_duration(check.timeout),
            check.rise,
            check.fall,
        );
    }
}

/// keepalived's rule for a tracked file, in words.
fn scaled_effect(s: Scale) -> String {
    match (s.weight, s.reverse) {
        (0, false) => "fault (priority 0) while the number is not 0".into(),
        (0, true) => "fault (priority 0) while the number is 0".into(),
        (w, reverse) => format!(
            "adds the number × {}{} (at most +253; -254 or less: fault)",
            w,
            if reverse { " × -1 (reverse)" } else { "" }
        ),
    }
}

fn hooks(out: &mut String, c: &Config) {
    let _ = writeln!(out, "\nnotify hooks:");
    if c.notify.is_empty() {
        let _ = writeln!(out, "  none");
        return;
    }
    for hook in &c.notify {
        let _ = writeln!(
            out,
            "  {:?}, killed after {}{}",
            hook.command,
            format_duration(hook.timeout),
            hook.run_as
                .as_ref()
                .map_or(String::new(), |r| format!(", as {r}"))
        );
    }
    let _ = writeln!(
        out,
        "  environment: VRRP_STATE VRRP_PREVIOUS_STATE VRRP_VRID VRRP_REASON VRRP_PRIORITY VRRP_INTERFACE VRRP_VIPS"
    );
}

fn sync_groups(out: &mut String, c: &Config) {
    if c.sync_groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nsync groups (members share their tracked checks):");
    for g in &c.sync_groups {
        let mut on: Vec<&str> = Vec::new();
        for r in c.routers.iter().filter(|r| g.vrids.contains(&r.vrid())) {
            if !on.contains(&r.interface.as_str()) {
                on.push(&r.interface);
            }
        }
        let _ = writeln!(
            out,
            "  {}: VRIDs {:?} on {}",
            g.name,
            g.vrids,
            on.join(", ")
        );
    }
}

fn supervised(out: &mut String, c: &Config) {
    let _ = writeln!(out, "\nsupervised process:");
    match &c.supervise {
        None => {
            let _ = writeln!(out, "  none");
        }
        Some(sv) => {
            let _ = writeln!(
                out,
                "  {:?}: its exit stops vrrpd (exit 1, after stepping down); SIGTERM, then SIGKILL after {}",
                sv.command,
                format_duration(sv.grace)
            );
        }
    }
}

fn std_duration(d: vrrp_core::Duration) -> std::time::Duration {
    std::time::Duration::from_micros(d.as_micros())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn check_report_has_the_core_timers() {
        let c = Config::parse(
            include_str!("../../examples/vrrpd.toml"),
            Path::new("vrrpd.toml"),
        )
        .unwrap();
        let text = describe(&c);
        for want in [
            // priority 150, interval 100 ms: Skew_Time = (256 - 150) * 100 ms / 256 = 41.406 ms.
            "Skew_Time             41.406ms",
            "Active_Down_Interval  341.406ms",
            "VRID 51: VRRPv3, priority 150, advert interval 100ms",
            "00:00:5e:00:01:33",
            "priority if negative-weight checks are down  90",
            "nginx        http GET http://127.0.0.1/ expect 200",
            "VIP traffic: kernel fast path (nftables), user-space relay if unavailable",
            "event loop thread: normal scheduling",
            "memory: not locked",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
    }

    #[test]
    fn check_report_describes_file_checks() {
        let text = "interface = \"eth0\"\n\
            [[vrrp]]\nvrid = 51\npriority = 150\nvips = [\"192.0.2.100\"]\ntrack = [\"drain\", \"stop\"]\n\
            [check.drain]\nkind = \"file\"\npath = \"/run/vrrpd/drain\"\nweight = -50\n\
            [check.stop]\nkind = \"file\"\npath = \"/run/vrrpd/stop\"\nweight = 0\nreverse = true\n";
        let c = Config::parse(text, Path::new("t.toml")).unwrap();
        let text = describe(&c);
        for want in [
            "tracks                drain (number × -50), stop (number × 0 reversed)",
            "priority while a fault check is down        0",
            "file checks add their number × weight",
            "drain        number in /run/vrrpd/drain",
            "read every 1s, timeout 1s, adds the number × -50 (at most +253; -254 or less: fault)",
            "read every 1s, timeout 1s, fault (priority 0) while the number is 0",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
    }

    #[test]
    fn check_report_shows_the_process_section() {
        let text = "interface = \"eth0\"\n[process]\nrealtime_priority = 20\nlock_memory = true\n\
            [[vrrp]]\nvrid = 51\npriority = 150\nvips = [\"192.0.2.100\"]\n";
        let c = Config::parse(text, Path::new("t.toml")).unwrap();
        let text = describe(&c);
        assert!(
            text.contains("event loop thread: SCHED_RR priority 20 (needs CAP_SYS_NICE")
                && text.contains("memory: locked with mlockall (needs CAP_IPC_LOCK)"),
            "{text}"
        );
    }
}
