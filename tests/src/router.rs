//! A VRRP speaker in a router seat.
//!
//! [`Speaker`] is the seam: every scenario takes the speaker of each seat as a value, so the same
//! test runs keepalived, FRR or our own `vrrpd` in either seat.

use std::fs;
use std::net::{IpAddr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::lab::{Family, Lab, ProcId};
use crate::{VIP, VIP6, frr, keepalived};

/// Which VRRP implementation sits in a router seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// keepalived 2.2 (Debian), `--vrrp` only.
    Keepalived,
    /// FRR vrrpd with zebra, on a macvlan carrying the virtual MAC.
    Frr,
    /// SEAM: our daemon `vrrpd` (host/). See [`Router::vrrpd`] and [`vrrpd_config_toml`].
    Vrrpd,
}

impl Speaker {
    /// Short name used in MEASURE lines and artifact names.
    pub fn name(self) -> &'static str {
        match self {
            Speaker::Keepalived => "keepalived",
            Speaker::Frr => "frr",
            Speaker::Vrrpd => "vrrpd",
        }
    }
}

/// The protocol parameters of one virtual router, common to every speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpParams {
    /// 2 (RFC 3768) or 3 (RFC 9568).
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// This router's priority (1..=254; 255 = address owner).
    pub priority: u8,
    /// Advertisement interval (whole seconds for v2, centiseconds for v3).
    pub advert_int: Duration,
    /// The virtual addresses (/24 on the segment for IPv4, /64 for IPv6), all of one family, in
    /// the order the adverts carry them. An IPv6 virtual router needs a [`Family::Ipv6`] lab and
    /// version 3, and lists its link-local address first (RFC 9568 §5.2.9). Every seat must list
    /// the same addresses: keepalived drops an advert whose address count differs from its own
    /// ("received an unexpected ip number count").
    pub vips: Vec<IpAddr>,
    /// Preempt a lower-priority Active.
    pub preempt: bool,
    /// Delay before preempting (zero = none).
    pub preempt_delay: Duration,
    /// Unicast peers, of the VIPs' family (for IPv6 the peers' link-local addresses, which
    /// their adverts come from); empty = multicast 224.0.0.18 / ff02::12.
    pub unicast_peers: Vec<IpAddr>,
}

impl VrrpParams {
    /// VRRPv3, VIP 192.0.2.1, preempt, multicast.
    pub fn v3(vrid: u8, priority: u8, advert_int: Duration) -> VrrpParams {
        VrrpParams {
            version: 3,
            vrid,
            priority,
            advert_int,
            vips: vec![VIP.into()],
            preempt: true,
            preempt_delay: Duration::ZERO,
            unicast_peers: Vec::new(),
        }
    }

    /// VRRPv2, VIP 192.0.2.1, preempt, multicast.
    pub fn v2(vrid: u8, priority: u8, advert_int: Duration) -> VrrpParams {
        VrrpParams {
            version: 2,
            ..VrrpParams::v3(vrid, priority, advert_int)
        }
    }

    /// VRRPv3 over IPv6 (RFC 9568), preempt, multicast ff02::12. VIPs: the virtual router's
    /// link-local address ([`link_local_vip`], first as RFC 9568 §5.2.9 requires) and
    /// 2001:db8::1 ([`VIP6`]).
    pub fn v3_ipv6(vrid: u8, priority: u8, advert_int: Duration) -> VrrpParams {
        VrrpParams {
            vips: vec![link_local_vip(vrid).into(), VIP6.into()],
            ..VrrpParams::v3(vrid, priority, advert_int)
        }
    }

    /// The address family of the virtual router: that of its VIPs. Panics if there is none or
    /// they mix families (keepalived, FRR and RFC 9568 §5.2.9 want one family per router).
    pub fn family(&self) -> Family {
        let first = self.vips.first().expect("a virtual router needs a VIP");
        assert!(
            self.vips.iter().all(|v| v.is_ipv4() == first.is_ipv4()),
            "VIPs of one virtual router must be of one family: {:?}",
            self.vips
        );
        if first.is_ipv4() {
            Family::Ipv4
        } else {
            assert_eq!(self.version, 3, "IPv6 needs VRRPv3");
            Family::Ipv6
        }
    }

    /// The address the client's prober uses: the first VIP that is not link-local.
    pub fn vip(&self) -> IpAddr {
        self.vips
            .iter()
            .copied()
            .find(|v| !is_link_local(*v))
            .unwrap_or_else(|| panic!("no routable VIP in {:?}", self.vips))
    }

    /// The same parameters with another priority.
    pub fn with_priority(&self, priority: u8) -> VrrpParams {
        VrrpParams {
            priority,
            ..self.clone()
        }
    }

    /// Skew_Time of a router with this priority: (256 - prio) / 256 x interval for v3, and
    /// (256 - prio) / 256 seconds for v2.
    pub fn skew(&self) -> Duration {
        let unit = if self.version == 2 {
            Duration::from_secs(1)
        } else {
            self.advert_int
        };
        unit * (256 - u32::from(self.priority)) / 256
    }

    /// Active_Down_Interval (Master_Down_Interval) = 3 x interval + skew, for a Backup with this
    /// priority: the protocol limit of the takeover silence.
    pub fn active_down_interval(&self) -> Duration {
        self.advert_int * 3 + self.skew()
    }
}

/// What a speaker reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Init / not started.
    Init,
    /// Backup.
    Backup,
    /// Active (MASTER).
    Active,
    /// Fault / stopped.
    Fault,
    /// The speaker gives no state (yet).
    Unknown,
}

/// A speaker running in a router seat.
pub struct Router {
    /// The node (`r1`...).
    pub node: String,
    /// Which implementation.
    pub speaker: Speaker,
    /// Its parameters.
    pub params: VrrpParams,
    procs: Vec<ProcId>,
    state_file: Option<PathBuf>,
    frr: Option<frr::Frr>,
}

impl Router {
    /// Starts `speaker` in the seat of `node` with `params`.
    pub fn start(lab: &Lab, node: &str, speaker: Speaker, params: &VrrpParams) -> Router {
        assert!(
            params.family() == Family::Ipv4 || lab.family() == Family::Ipv6,
            "IPv6 VIPs need a lab built with Family::Ipv6"
        );
        match speaker {
            Speaker::Keepalived => Router::keepalived(lab, node, params),
            Speaker::Frr => Router::frr(lab, node, params),
            Speaker::Vrrpd => Router::vrrpd(lab, node, params, &vrrpd_config_toml(params)),
        }
    }

    /// keepalived in `node`: config and FIFO reader in the artifacts, state from the reader's
    /// file.
    pub fn keepalived(lab: &Lab, node: &str, params: &VrrpParams) -> Router {
        let n = lab.node(node);
        Router::keepalived_with(lab, node, params, |fifo, notify| {
            keepalived::config(params, n, fifo, notify)
        })
    }

    /// keepalived in `node` with one instance per `(params, interface)`, all in sync group
    /// `group` ([`keepalived::config_uplinks`]). [`Router::params`] are the first instance's; ask
    /// for each with [`Router::state_of`].
    pub fn keepalived_uplinks(
        lab: &Lab,
        node: &str,
        instances: &[(VrrpParams, String)],
        group: &str,
    ) -> Router {
        let n = lab.node(node);
        let first = &instances.first().expect("at least one instance").0;
        Router::keepalived_with(lab, node, first, |fifo, notify| {
            keepalived::config_uplinks(instances, group, n, fifo, notify)
        })
    }

    /// keepalived in `node` with the config `config(fifo, notify)` makes.
    fn keepalived_with(
        lab: &Lab,
        node: &str,
        params: &VrrpParams,
        config: impl FnOnce(&Path, &Path) -> String,
    ) -> Router {
        let run_dir = lab.tmp_dir(&format!("keepalived-{node}"));
        let state_file = lab.artifacts.join(format!("keepalived-{node}.state"));
        let notify = run_dir.join("notify.sh");
        let fifo = run_dir.join("notify.fifo");
        fs::write(&notify, keepalived::notify_script(&state_file)).expect("write notify");
        fs::set_permissions(&notify, fs::Permissions::from_mode(0o755)).expect("chmod notify");
        let conf = lab.write_artifact(&format!("keepalived-{node}.conf"), &config(&fifo, &notify));
        let args = keepalived::args(&conf, &run_dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = lab.spawn(
            node,
            &format!("keepalived-{node}"),
            keepalived::KEEPALIVED,
            &args,
        );
        Router {
            node: node.to_string(),
            speaker: Speaker::Keepalived,
            params: params.clone(),
            procs: vec![id],
            state_file: Some(state_file),
            frr: None,
        }
    }

    /// FRR (zebra + vrrpd) in `node`, with the macvlan FRR needs. See [`crate::frr`].
    pub fn frr(lab: &Lab, node: &str, params: &VrrpParams) -> Router {
        let f = frr::Frr::start(lab, node, params);
        Router {
            node: node.to_string(),
            speaker: Speaker::Frr,
            params: params.clone(),
            procs: f.procs(),
            state_file: None,
            frr: Some(f),
        }
    }

    /// SEAM for our daemon: writes `config_toml` into the artifacts and runs
    /// `vrrpd run --config FILE` in `node`. The binary is `$VRRPD_BIN`, else `vrrpd` next to the
    /// test binary's target directory (`<target>/<profile>/vrrpd`, build it with
    /// `cargo build -p vrrp-host`). `params` only records what the config says.
    pub fn vrrpd(lab: &Lab, node: &str, params: &VrrpParams, config_toml: &str) -> Router {
        Router::vrrpd_from(lab, node, params, config_toml, &vrrpd_bin())
    }

    /// [`Router::vrrpd`] with the binary `bin`: another build of vrrpd, to compare two builds
    /// side by side in one run.
    pub fn vrrpd_from(
        lab: &Lab,
        node: &str,
        params: &VrrpParams,
        config_toml: &str,
        bin: &std::path::Path,
    ) -> Router {
        let conf = lab.write_artifact(&format!("vrrpd-{node}.toml"), config_toml);
        assert!(
            bin.exists(),
            "vrrpd binary {} not found (set VRRPD_BIN or build -p vrrp-host)",
            bin.display()
        );
        let conf = conf.display().to_string();
        let id = lab.spawn(
            node,
            &format!("vrrpd-{node}"),
            &bin.display().to_string(),
            &["run", "--config", &conf],
        );
        Router {
            node: node.to_string(),
            speaker: Speaker::Vrrpd,
            params: params.clone(),
            procs: vec![id],
            state_file: None,
            frr: None,
        }
    }

    /// The processes of this speaker.
    pub fn procs(&self) -> &[ProcId] {
        &self.procs
    }

    /// Whether every process of this speaker is still running.
    pub fn is_running(&self, lab: &Lab) -> bool {
        self.procs.iter().all(|&p| lab.is_running(p))
    }

    /// The speaker's own idea of its state.
    pub fn state(&self, lab: &Lab) -> State {
        self.state_of(lab, self.params.vrid)
    }

    /// The speaker's own idea of the state of its virtual router `vrid` (a speaker may run
    /// several: [`Router::keepalived_uplinks`], a vrrpd config with several `[[vrrp]]`).
    pub fn state_of(&self, lab: &Lab, vrid: u8) -> State {
        match self.speaker {
            Speaker::Keepalived => {
                let Some(f) = &self.state_file else {
                    return State::Unknown;
                };
                let text = fs::read_to_string(f).unwrap_or_default();
                match keepalived::last_state(&text, vrid) {
                    Some("MASTER") => State::Active,
                    Some("BACKUP") => State::Backup,
                    Some("FAULT") | Some("STOP") => State::Fault,
                    None => State::Init,
                    Some(_) => State::Unknown,
                }
            }
            Speaker::Frr => self
                .frr
                .as_ref()
                .map_or(State::Unknown, |f| f.state(lab, vrid, self.params.family())),
            Speaker::Vrrpd => vrrpd_state(lab, &self.node, vrid),
        }
    }

    /// Stops the speaker gracefully (SIGTERM: a leaving Active sends priority 0).
    pub fn stop(&mut self, lab: &Lab) {
        for &p in self.procs.iter().rev() {
            lab.stop(p);
        }
    }

    /// Kills the speaker with SIGKILL (nothing is sent; keepalived leaves its VIP configured).
    /// Start it again with [`Router::start`].
    pub fn kill(&mut self, lab: &Lab) {
        for &p in self.procs.iter().rev() {
            lab.stop_with(p, libc::SIGKILL, Duration::from_secs(5));
        }
    }

    /// The state-change log (written by keepalived's FIFO reader), for the artifacts / debugging.
    pub fn state_log(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }
}

/// The vrrpd config for `params` on `eth0` (schema: host/examples/vrrpd.toml). The status
/// endpoint listens on the node's own loopback, so every namespace can use the same port. VIPs
/// are written with their prefix on the segment: `"192.0.2.1/24"`, `"2001:db8::1/64"`.
pub fn vrrpd_config_toml(p: &VrrpParams) -> String {
    let vips = p
        .vips
        .iter()
        .map(|a| format!("\"{a}/{}\"", prefix_len(*a)))
        .collect::<Vec<_>>()
        .join(", ");
    let peers = p
        .unicast_peers
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut toml = format!(
        "# generated by vrrp-tests\n\
         interface = \"eth0\"\n\n\
         [status]\n\
         listen = \"{VRRPD_STATUS}\"\n\n\
         [[vrrp]]\n\
         vrid = {}\n\
         version = {}\n\
         priority = {}\n\
         interval = \"{}ms\"\n\
         vips = [{}]\n\
         preempt = {}\n\
         preempt_delay = \"{}ms\"\n",
        p.vrid,
        p.version,
        p.priority,
        p.advert_int.as_millis(),
        vips,
        p.preempt,
        p.preempt_delay.as_millis(),
    );
    if !p.unicast_peers.is_empty() {
        toml += &format!("peers = [{peers}]\n");
    }
    toml
}

/// The prefix length of the lab's segment for a VIP: 24 (192.0.2.0/24) or 64 (2001:db8::/64 and
/// fe80::/64).
pub fn prefix_len(vip: IpAddr) -> u8 {
    if vip.is_ipv4() { 24 } else { 64 }
}

/// The link-local address of IPv6 virtual router `vrid` in the tests: `fe80::<vrid>` (fe80::a for
/// VRID 10). Any link-local will do, as long as every seat lists the same one.
pub fn link_local_vip(vrid: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(vrid))
}

/// Whether `ip` is an IPv6 link-local address (fe80::/10).
pub fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Where every vrrpd under test serves its status (inside its own namespace).
pub const VRRPD_STATUS: &str = "127.0.0.1:9100";

/// `vrrpd status --json` in `node`, for `vrid`.
fn vrrpd_state(lab: &Lab, node: &str, vrid: u8) -> State {
    let bin = vrrpd_bin().display().to_string();
    let out = lab.exec(node, &bin, &["status", "--json", "--addr", VRRPD_STATUS]);
    if !out.status.success() {
        return State::Unknown;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return State::Unknown;
    };
    let routers = v["routers"].as_array().cloned().unwrap_or_default();
    let Some(r) = routers
        .iter()
        .find(|r| r["vrid"].as_u64() == Some(u64::from(vrid)))
    else {
        return State::Unknown;
    };
    match r["state"].as_str() {
        Some("Active") => State::Active,
        Some("Backup") => State::Backup,
        Some("Initialize") => State::Init,
        _ => State::Unknown,
    }
}

/// The `vrrpd` binary under test: `$VRRPD_BIN`, else `<target>/<profile>/vrrpd`.
pub fn vrrpd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("VRRPD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile>/deps/<test binary>
    exe.ancestors()
        .nth(2)
        .map(|d| d.join("vrrpd"))
        .unwrap_or_else(|| PathBuf::from("vrrpd"))
}

/// `vrrpd status --json` of the daemon in `node`; `None` when it does not answer (not started,
/// stopped, frozen).
pub fn try_status(lab: &Lab, node: &str) -> Option<serde_json::Value> {
    let bin = vrrpd_bin().display().to_string();
    let out = lab.exec(node, &bin, &["status", "--json", "--addr", VRRPD_STATUS]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Like [`try_status`], panicking when the daemon does not answer.
pub fn status(lab: &Lab, node: &str) -> serde_json::Value {
    try_status(lab, node).unwrap_or_else(|| panic!("vrrpd in {node} gives no status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_limits() {
        let p = VrrpParams::v3(10, 100, Duration::from_millis(50));
        // The trace README: 3 x 50 ms + (256-100)/256 x 50 ms.
        let adi = p.active_down_interval().as_secs_f64() * 1000.0;
        assert!((adi - 180.46875).abs() < 1e-3, "{adi}");
        let p = VrrpParams::v2(10, 100, Duration::from_secs(1));
        let adi = p.active_down_interval().as_secs_f64();
        assert!((adi - 3.609375).abs() < 1e-6, "{adi}");
    }

    #[test]
    fn vrrpd_config_mentions_params() {
        let c = vrrpd_config_toml(&VrrpParams::v3(7, 150, Duration::from_millis(10)));
        assert!(
            c.contains("vrid = 7")
                && c.contains("interval = \"10ms\"")
                && c.contains("vips = [\"192.0.2.1/24\"]"),
            "{c}"
        );
        let c = vrrpd_config_toml(&VrrpParams::v3_ipv6(7, 150, Duration::from_millis(10)));
        assert!(
            c.contains("vips = [\"fe80::7/64\", \"2001:db8::1/64\"]"),
            "{c}"
        );
    }

    #[test]
    fn family_of_the_vips() {
        let p = VrrpParams::v3_ipv6(7, 150, Duration::from_millis(10));
        assert_eq!(p.family(), Family::Ipv6);
        assert_eq!(p.vip(), IpAddr::from(VIP6));
        assert!(is_link_local(p.vips[0]) && !is_link_local(p.vips[1]));
        assert_eq!(link_local_vip(10), "fe80::a".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            VrrpParams::v2(7, 150, Duration::from_secs(1)).family(),
            Family::Ipv4
        );
    }

    #[test]
    #[should_panic(expected = "one family")]
    fn mixed_families_refused() {
        let mut p = VrrpParams::v3_ipv6(7, 150, Duration::from_millis(10));
        p.vips.push(VIP.into());
        p.family();
    }
}
