//! `vrrp_instance`: one virtual router.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::Converter;
use super::checks::{UPLINK_NOTE, add_check, check_name};
use super::keywords::unsupported;
use super::notify::notify_script;
use super::values::{bool_arg, seconds_arg, unusable};
use crate::config::{INTERFACE_NAME_RULE, format_duration, is_interface_name};
use crate::import::ImportError;
use crate::import::lexer::Pos;
use crate::import::model::*;
use crate::import::parser::Stmt;

/// keepalived's gratuitous ARP defaults: 5 at once, 5 more 5 s later.
const KEEPALIVED_GARP_REPEAT: u8 = 5;
const KEEPALIVED_GARP_DELAY: Duration = Duration::from_secs(5);

/// What an instance's statements say that only means something once all of them are read
/// (the family, for one, is known after the last address).
#[derive(Default)]
struct Settings<'s> {
    vrid: Option<u8>,
    priority_set: bool,
    advert: Option<(Duration, Pos)>,
    strict: bool,
    explicit_accept: Option<bool>,
    garp_delay_set: Option<Duration>,
    notify: BTreeMap<&'s str, (Vec<String>, Pos)>,
    auth: Option<&'s Stmt>,
    dont_track_primary: bool,
    version_stmt: Option<&'s Stmt>,
    src: Option<(&'s Stmt, IpAddr)>,
    peer_stmts: Vec<&'s Stmt>,
}

/// What an instance's trackers may refer to.
struct Trackables<'a> {
    tracks: &'a Trackable,
    member: Option<&'a Membership>,
}

/// A router with keepalived's defaults and the global settings, before the instance's own.
fn new_router(name: String, at: String, interface: String, g: &Globals) -> Router {
    Router {
        name,
        at,
        interface,
        vrid: 0,
        version: g.version,
        priority: 100,
        interval: Duration::from_secs(1),
        vips: Vec::new(),
        prefix: 32,
        v6: None,
        first_vip: None,
        preempt: true,
        preempt_delay: None,
        accept: !g.strict,
        message_only: g.checksum_as_v2,
        auth_pass: None,
        garp_refresh: g.garp_refresh,
        garp: if g.min_garp {
            (1, 0, KEEPALIVED_GARP_DELAY)
        } else {
            (
                g.garp_repeat.unwrap_or(KEEPALIVED_GARP_REPEAT),
                1,
                g.garp_delay.unwrap_or(KEEPALIVED_GARP_DELAY),
            )
        },
        peers: Vec::new(),
        primary: None,
        track: Vec::new(),
        notify: None,
        comments: Vec::new(),
    }
}

impl Converter {
    /// The router of a `vrrp_instance`, or why it is left out (listed already).
    pub(super) fn instance(
        &mut self,
        stmt: &Stmt,
        g: &Globals,
        tracks: &Trackable,
        checks: &mut BTreeMap<String, Check>,
        member: Option<&Membership>,
    ) -> Result<Result<Router, String>, ImportError> {
        let Some(name) = stmt.args().first() else {
            return Err(self.error(stmt.pos(), "vrrp_instance", "the instance needs a name"));
        };
        let path = format!("vrrp_instance {}", name.text);
        let body: Vec<&Stmt> = stmt.block.iter().flatten().collect();
        let find = |k: &str| body.iter().rev().find(|s| s.key() == k).copied();

        // Every router runs on its instance's interface: vrrpd serves several uplinks.
        let Some(iface) = find("interface") else {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no `interface`: vrrpd needs the uplink the VIPs live on",
            ));
        };
        let word = self.one_arg(iface, &format!("{path}.interface"))?;
        if !is_interface_name(&word.text) {
            // keepalived finds no such interface and refuses the instance.
            return Err(self.error(
                word.pos,
                &format!("{path}.interface"),
                format!(
                    "{:?} is not a Linux interface name ({INTERFACE_NAME_RULE})",
                    word.text
                ),
            ));
        }
        let interface = word.text.clone();

        let mut r = new_router(name.text.clone(), self.loc(stmt.pos()), interface, g);
        let mut set = Settings {
            strict: g.strict,
            ..Settings::default()
        };
        let trackables = Trackables { tracks, member };
        // Every setting's mistake is reported; the instance is left out after the first.
        let mut failed = None;
        for &s in &body {
            if let Err(e) = self.instance_setting(s, &path, &mut r, &mut set, &trackables, checks) {
                failed.get_or_insert_with(|| e.clone());
                self.src.record(e);
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }

        let Some(vrid) = set.vrid else {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no virtual_router_id (keepalived refuses such an instance too)",
            ));
        };
        // keepalived puts an instance at FAULT while its own interface is down.
        if !set.dont_track_primary {
            track_uplink(checks, &mut r);
        }
        r.vrid = vrid;
        if !set.priority_set {
            r.comments
                .push("priority 100: keepalived's default, as the instance sets none".into());
        }
        if let Some(a) = set.explicit_accept {
            r.accept = a;
        } else if set.strict {
            r.accept = r.priority == 255;
        }

        if r.vips.is_empty() {
            return Err(self.error(
                stmt.pos(),
                &path,
                "has no virtual_ipaddress that vrrpd can serve",
            ));
        }
        let v6 = r.is_v6();
        if v6 && let Err(why) = self.ipv6_instance(&mut r, set.version_stmt, g) {
            return Ok(Err(why));
        }
        for p in set.peer_stmts {
            self.peers(p, &mut r, &format!("{path}.unicast_peer"), v6)?;
        }
        if let Some((s, ip)) = set.src {
            self.source_address(s, ip, &mut r, v6);
        }
        if let Some((d, pos)) = set.advert {
            self.advert_interval(d, pos, &path, &mut r)?;
        }

        if let Some(d) = set.garp_delay_set {
            r.garp.2 = d;
        }
        if r.garp.2.is_zero() {
            // keepalived: a delay of 0 means no second set.
            r.garp.1 = 0;
            r.garp.2 = KEEPALIVED_GARP_DELAY;
        }

        if let Some(a) = set.auth {
            self.auth(a, &mut r, &path)?;
        }
        if r.priority == 255 && !r.primary.is_some_and(|p| r.vips.contains(&p)) {
            let at = find("priority").map_or(stmt.pos(), |s| s.args()[0].pos);
            return Err(self.error(
                at,
                &format!("{path}.priority"),
                "255 makes vrrpd the address owner, which needs unicast_src_ip (vrrpd's `primary`) to be one of the VIPs: use 254 unless this host owns the address",
            ));
        }
        if r.version == 3 && r.message_only {
            r.comments
                .push("v3_checksum_as_v2: the VRRPv3 checksum covers the message alone".into());
        }
        if !set.notify.is_empty() {
            r.notify = Some(notify_script(
                r.vrid,
                "INSTANCE",
                &r.name,
                "\"$VRRP_PRIORITY\"",
                &set.notify,
            ));
        }
        Ok(Ok(r))
    }

    /// One statement of a `vrrp_instance` block, into the router or into `set`.
    fn instance_setting<'s>(
        &mut self,
        s: &'s Stmt,
        path: &str,
        r: &mut Router,
        set: &mut Settings<'s>,
        trackables: &Trackables,
        checks: &mut BTreeMap<String, Check>,
    ) -> Result<(), ImportError> {
        let key = format!("{path}.{}", s.key());
        match s.key() {
            "interface" => {}
            "virtual_router_id" => {
                set.vrid = Some(self.int(s, &key, 1..=255, "")? as u8);
            }
            "priority" => {
                r.priority =
                    self.int(s, &key, 1..=255, " (0 is reserved for a router leaving)")? as u8;
                set.priority_set = true;
            }
            "advert_int" => {
                let w = self.one_arg(s, &key)?;
                match seconds_arg(&w.text) {
                    Some(d) if !d.is_zero() => set.advert = Some((d, w.pos)),
                    _ => {
                        return Err(self.error(
                            w.pos,
                            &key,
                            format!(
                                "{:?}: the advert interval is a positive number of seconds (keepalived would use 1 instead)",
                                w.text
                            ),
                        ));
                    }
                }
            }
            "version" => {
                let w = self.one_arg(s, &key)?;
                r.version = match w.text.as_str() {
                    "2" => 2,
                    "3" => 3,
                    _ => return Err(self.error(w.pos, &key, "must be 2 or 3")),
                };
                set.version_stmt = Some(s);
            }
            "virtual_ipaddress" => self.vips(s, r, &key)?,
            // keepalived: the instance is IPv6 even before (or without) IPv6 addresses.
            "native_ipv6" => match &r.v6 {
                None => r.v6 = Some((true, format!("native_ipv6 ({})", self.loc(s.pos())))),
                Some((true, _)) => {}
                Some((false, by)) => {
                    let why = format!(
                        "the instance is IPv4 from {by}: keepalived ignores native_ipv6 after IPv4 addresses too"
                    );
                    self.list(s, why);
                }
            },
            "authentication" => set.auth = Some(s),
            "unicast_src_ip" | "mcast_src_ip" => {
                let w = self.one_arg(s, &key)?;
                match w.text.parse::<IpAddr>() {
                    Ok(ip) if !unusable(ip) => set.src = Some((s, ip)),
                    _ => {
                        return Err(self.error(
                            w.pos,
                            &key,
                            format!("{:?} is not a unicast IPv4 or IPv6 address", w.text),
                        ));
                    }
                }
            }
            // What they mean depends on the family, known once every address is read.
            "unicast_peer" => set.peer_stmts.push(s),
            "track_script" | "track_interface" | "track_file" => {
                let kind = match s.key() {
                    "track_script" => TrackKind::Script,
                    "track_file" => TrackKind::File,
                    _ => TrackKind::Interface,
                };
                let found =
                    self.trackers(s, kind, trackables.tracks, checks, &key, trackables.member)?;
                for (t, name) in found {
                    if r.track.contains(&name) {
                        self.list(&t, "tracked twice: counted once");
                    } else {
                        r.track.push(name);
                    }
                }
            }
            "nopreempt" => r.preempt = false,
            "preempt" => {}
            "preempt_delay" => r.preempt_delay = Some(self.seconds(s, &key, 0..=1000)?),
            "garp_master_delay" => set.garp_delay_set = Some(self.seconds(s, &key, 0..=655)?),
            "garp_master_repeat" => r.garp.0 = self.garp_repeat(s, &key)?,
            "garp_master_refresh" => r.garp_refresh = self.garp_refresh(s, &key)?,
            "accept" => set.explicit_accept = Some(true),
            "no_accept" => set.explicit_accept = Some(false),
            "strict_mode" => {
                set.strict = bool_arg(s.args()).unwrap_or(true);
                if set.strict {
                    self.list(s, super::globals::STRICT);
                }
            }
            "v3_checksum_as_v2" => r.message_only = bool_arg(s.args()).unwrap_or(true),
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                self.notify_entry(s, &key, &mut set.notify)?;
            }
            "dont_track_primary" => {
                set.dont_track_primary = true;
                r.comments.push(format!(
                    "dont_track_primary ({}): no check on {}'s link, so the router stays in the election while the link is down, as in keepalived",
                    self.loc(s.pos()),
                    r.interface
                ));
            }
            _ => self.instance_note(s, r),
        }
        Ok(())
    }

    /// A statement of a `vrrp_instance` block with no setting of its own: a comment on the
    /// router, or a listing.
    fn instance_note(&mut self, s: &Stmt, r: &mut Router) {
        match s.key() {
            "state" => {
                let state = s.args().first().map_or("", |w| w.text.as_str());
                r.comments.push(format!(
                    "state {state} ({}): vrrpd starts every router as Backup and the highest priority takes over; only priority 255 starts Active",
                    self.loc(s.pos())
                ));
            }
            "use_vmac" => r.comments.push(format!(
                "use_vmac ({}): vrrpd always answers for the VIPs with the virtual MAC 00:00:5e:00:01:XX",
                self.loc(s.pos())
            )),
            "check_unicast_src" | "unicast_fault_no_peer" => r.comments.push(format!(
                "{} ({}): with `peers` set, vrrpd drops adverts from any other source",
                s.key(),
                self.loc(s.pos())
            )),
            k => {
                let why = unsupported(k)
                    .unwrap_or("unknown keyword (keepalived ignores it too, with a warning)");
                self.list_entries(s, why);
            }
        }
    }

    /// The version and checksum of an IPv6 router, or why it cannot be translated (listed).
    fn ipv6_instance(
        &mut self,
        r: &mut Router,
        version_stmt: Option<&Stmt>,
        g: &Globals,
    ) -> Result<(), String> {
        // RFC 9568 §5.2.9: an IPv6 advert's first address is the link-local one. keepalived
        // drops adverts whose address count differs from its own, so vrrpd cannot add one:
        // the keepalived nodes must list it.
        if let IpAddr::V6(first) = r.vips[0]
            && !first.is_unicast_link_local()
        {
            let at = r.first_vip.take().expect("set with the first VIP");
            self.list(
                &at,
                format!(
                    "the first address of an IPv6 virtual router must be its link-local one (RFC 9568 §5.2.9), and vrrpd cannot add one (keepalived drops adverts whose address count differs from its own): vrrp_instance {} is not translated; list a link-local address (e.g. fe80::{:x}) first in virtual_ipaddress on every node",
                    r.name, r.vrid
                ),
            );
            return Err("has no link-local first address".into());
        }
        // keepalived runs IPv6 instances as VRRPv3 whatever vrrp_version says.
        match version_stmt {
            Some(vs) if r.version == 2 => self.list(
                vs,
                "VRRPv2 has no IPv6 (RFC 9568): translated as version 3, which keepalived uses when this line follows the IPv6 addresses or vrrp_strict is set; otherwise keepalived sends non-standard VRRPv2 over IPv6, which vrrpd does not speak: set version 3 on every node",
            ),
            None if g.version == 2 && g.version_at.is_some() => {
                let at = g.version_at.expect("checked");
                r.comments.push(format!(
                    "vrrp_version 2 ({}) applies to IPv4 instances: keepalived runs IPv6 ones as version 3",
                    self.loc(at)
                ));
            }
            _ => {}
        }
        r.version = 3;
        if r.message_only {
            r.message_only = false;
            r.comments.push(
                "v3_checksum_as_v2: IPv6 adverts always checksum the pseudo-header, keepalived's too"
                    .into(),
            );
        }
        Ok(())
    }

    /// `unicast_src_ip`: vrrpd's `primary` when it fits the router's family, listed otherwise.
    fn source_address(&mut self, s: &Stmt, ip: IpAddr, r: &mut Router, v6: bool) {
        match ip {
            IpAddr::V6(_) if !v6 => self.list(
                s,
                "an IPv6 address for an IPv4 instance: not translated, vrrpd sends from the uplink's IPv4 address",
            ),
            IpAddr::V4(_) if v6 => self.list(
                s,
                "an IPv4 address for an IPv6 instance: not translated, vrrpd sends from the uplink's link-local address",
            ),
            IpAddr::V6(a) if !a.is_unicast_link_local() => self.list(
                s,
                "not link-local: vrrpd sends IPv6 adverts from a link-local address (RFC 9568 §5.1.2.1), the uplink's own when `primary` is not set, as here",
            ),
            ip => r.primary = Some(ip),
        }
    }

    /// `advert_int`, checked against what the router's version can send: keepalived's v3
    /// advert interval is in centiseconds on the wire, v2's in seconds.
    fn advert_interval(
        &self,
        d: Duration,
        pos: Pos,
        path: &str,
        r: &mut Router,
    ) -> Result<(), ImportError> {
        let us = d.as_micros();
        let key = format!("{path}.advert_int");
        if r.version == 2 {
            if !us.is_multiple_of(1_000_000) || d > Duration::from_secs(255) {
                return Err(self.error(
                    pos,
                    &key,
                    format!(
                        "{}: a VRRPv2 advert interval is whole seconds, 1..=255 (keepalived would round it): use version 3 for sub-second adverts",
                        format_duration(d)
                    ),
                ));
            }
        } else if !us.is_multiple_of(10_000) || d > Duration::from_millis(40_950) {
            return Err(self.error(
                pos,
                &key,
                format!(
                    "{}: a VRRPv3 advert interval is a multiple of 0.01 s, at most 40.95 s",
                    format_duration(d)
                ),
            ));
        }
        r.interval = d;
        Ok(())
    }
}

/// keepalived puts an instance at FAULT while its own interface is down: the router tracks
/// its uplink's link, as a fault.
fn track_uplink(checks: &mut BTreeMap<String, Check>, r: &mut Router) {
    let name = add_check(
        checks,
        &format!("link_{}", check_name(&r.interface)),
        (0, false),
        Origin::Interface {
            name: r.interface.clone(),
            notes: vec![UPLINK_NOTE.to_owned()],
        },
        (0, false),
    );
    if !r.track.contains(&name) {
        r.track.push(name);
    }
}
