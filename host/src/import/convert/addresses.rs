//! `virtual_ipaddress` and `unicast_peer`.

use std::net::IpAddr;

use super::Converter;
use super::values::unusable;
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    pub(super) fn vips(&mut self, s: &Stmt, r: &mut Router, key: &str) -> Result<(), ImportError> {
        // Several virtual_ipaddress blocks make one list.
        let mut first_prefix: Option<u8> = (!r.vips.is_empty()).then_some(r.prefix);
        for v in s.block.iter().flatten() {
            let (ip, len) = self.vip_address(v, key)?;
            // keepalived: the first address (or native_ipv6) sets the instance's family, and it
            // ignores addresses of the other one.
            match &r.v6 {
                None => {
                    r.v6 = Some((ip.is_ipv6(), format!("{ip} ({})", self.loc(v.pos()))));
                }
                Some((v6, by)) if *v6 != ip.is_ipv6() => {
                    let (fam, other) = if *v6 {
                        ("IPv6", "IPv4")
                    } else {
                        ("IPv4", "IPv6")
                    };
                    let why = format!(
                        "an {other} address in an instance that is {fam} from {by}: keepalived ignores it too, an instance being one family (RFC 9568 §4); put it in a vrrp_instance of its own with another VRID on every node"
                    );
                    self.list(v, why);
                    continue;
                }
                Some(_) => {}
            }
            let (dropped, extra) = self.vip_options(v, ip, &r.interface, key)?;
            if let Some(why) = dropped {
                self.list(v, why);
                continue;
            }
            for why in extra {
                self.list(v, format!("{ip} is translated but not its {why}"));
            }
            if r.vips.contains(&ip) {
                self.list(v, "listed twice: keepalived ignores the repetition too");
                continue;
            }
            match first_prefix {
                Some(p) if p != len => {
                    self.list(
                        v,
                        format!(
                            "/{len} differs from /{p} of the first VIP: vrrpd installs all VIPs of a router with one prefix length; move it to another instance"
                        ),
                    );
                    continue;
                }
                _ => first_prefix = Some(len),
            }
            if r.vips.len() == crate::config::MAX_ADDRS {
                self.list(
                    v,
                    format!(
                        "vrrpd serves at most {} VIPs per router: move it to another instance",
                        crate::config::MAX_ADDRS
                    ),
                );
                continue;
            }
            if r.vips.is_empty() {
                r.first_vip = Some(v.clone());
            }
            r.vips.push(ip);
        }
        if let Some(p) = first_prefix {
            r.prefix = p;
        }
        Ok(())
    }

    /// An address of `virtual_ipaddress`, with its prefix length (keepalived's default for none).
    fn vip_address(&self, v: &Stmt, key: &str) -> Result<(IpAddr, u8), ImportError> {
        let text = v.key();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let ip: IpAddr = match addr.parse() {
            Ok(ip) => ip,
            Err(_) => {
                return Err(self.error(
                    v.pos(),
                    key,
                    format!("{text:?} is not an IPv4 or IPv6 address"),
                ));
            }
        };
        if unusable(ip) {
            return Err(self.error(v.pos(), key, format!("{ip} cannot be a virtual address")));
        }
        // keepalived installs a VIP without a prefix as a host address (/32, /128).
        let max = if ip.is_ipv6() { 128 } else { 32 };
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return Err(self.error(
                        v.pos(),
                        key,
                        format!("{text:?}: the prefix length must be 1..={max}"),
                    ));
                }
            },
        };
        Ok((ip, len))
    }

    /// The options after an address: why the address is left out (it is on another device), if
    /// it is, and the options vrrpd cannot reproduce.
    fn vip_options(
        &self,
        v: &Stmt,
        ip: IpAddr,
        interface: &str,
        key: &str,
    ) -> Result<(Option<String>, Vec<String>), ImportError> {
        let mut opts = v.args().iter();
        let mut dropped = None;
        let mut extra = Vec::new();
        while let Some(o) = opts.next() {
            match o.text.as_str() {
                "dev" => match opts.next() {
                    Some(d) if d.text == interface => {}
                    Some(d) => {
                        dropped = Some(format!(
                            "on dev {}, not the instance's interface {}: vrrpd serves a router's VIPs on that router's own uplink only",
                            d.text, interface
                        ))
                    }
                    None => return Err(self.error(o.pos, key, "`dev` needs an interface")),
                },
                "label" => {
                    let l = opts
                        .next()
                        .ok_or_else(|| self.error(o.pos, key, "`label` needs a name"))?;
                    extra.push(format!(
                        "label {}: vrrpd installs the VIP on its TAP without an alias label (scripts that look for {} will not find it)",
                        l.text, l.text
                    ));
                }
                // The kernel gives an IPv6 address the scope of its prefix anyway.
                "scope"
                    if ip.is_ipv6()
                        && opts.clone().next().is_some_and(|w| {
                            let link = matches!(ip, IpAddr::V6(a) if a.is_unicast_link_local());
                            w.text == if link { "link" } else { "global" }
                        }) =>
                {
                    opts.next();
                }
                "brd" | "scope" | "peer" | "preferred_lft" => {
                    let val = opts.next().map_or("", |w| w.text.as_str());
                    extra.push(format!(
                        "{} {val}: vrrpd has no such address option",
                        o.text
                    ));
                }
                other => extra.push(format!("{other}: vrrpd has no such address option")),
            }
        }
        Ok((dropped, extra))
    }

    pub(super) fn peers(
        &mut self,
        s: &Stmt,
        r: &mut Router,
        key: &str,
        v6: bool,
    ) -> Result<(), ImportError> {
        let entries: Vec<&Stmt> = s.block.iter().flatten().collect();
        for p in &entries {
            let ip: IpAddr = p.key().parse().map_err(|_| {
                self.error(
                    p.pos(),
                    key,
                    format!("{:?} is not an IPv4 or IPv6 address", p.key()),
                )
            })?;
            match ip {
                IpAddr::V6(_) if !v6 => {
                    self.list(
                        p,
                        "an IPv6 peer for an IPv4 instance: vrrpd's peers are of the VIPs' family",
                    );
                    continue;
                }
                IpAddr::V4(_) if v6 => {
                    self.list(
                        p,
                        "an IPv4 peer for an IPv6 instance: vrrpd's peers are of the VIPs' family",
                    );
                    continue;
                }
                IpAddr::V6(a) if !a.is_unicast_link_local() => {
                    self.list(
                        p,
                        "not link-local: vrrpd lists an IPv6 peer by its link-local address, which its adverts come from (RFC 9568 §5.1.2.1) and which the peer list also accepts as a source: list the peer's fe80:: address",
                    );
                    continue;
                }
                _ => {}
            }
            if !p.args().is_empty() {
                self.list(p, "vrrpd has no per-peer TTL limits (min_ttl, max_ttl)");
            }
            if r.peers.contains(&ip) {
                continue;
            }
            if r.peers.len() == crate::config::MAX_ADDRS {
                return Err(self.error(
                    p.pos(),
                    key,
                    format!(
                        "vrrpd supports at most {} peers per router",
                        crate::config::MAX_ADDRS
                    ),
                ));
            }
            r.peers.push(ip);
        }
        if !r.peers.is_empty() {
            r.comments.push(format!(
                "unicast_peer ({}): vrrpd sends its adverts to each peer on the uplink's subnets (never routed, never multicast) and drops adverts from any other source",
                self.loc(s.pos())
            ));
        }
        if v6 && !r.peers.is_empty() {
            r.comments.push(
                "IPv6 unicast_peer: keepalived nodes need `unicast_ttl 255`, or they send with hop limit 64 and vrrpd drops their adverts (RFC 9568 §5.1.2.3)"
                    .into(),
            );
        }
        Ok(())
    }
}
