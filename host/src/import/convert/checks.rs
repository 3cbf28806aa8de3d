//! `track_script` and `track_interface`: the checks a router tracks, and their weights.

use std::collections::BTreeMap;

use super::Converter;
use super::values::int_arg;
use crate::config::{INTERFACE_NAME_RULE, is_interface_name};
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    /// `weight N [reverse|noreverse]` after a tracker's name: the weight, if given, and whether
    /// it is reversed.
    fn tracker_weight(&self, t: &Stmt, key: &str) -> Result<(Option<i32>, bool), ImportError> {
        match t.args() {
            [] => Ok((None, false)),
            [w, v, rest @ ..] if w.text == "weight" => {
                let weight = match int_arg(&v.text) {
                    Some(n) if (-254..=254).contains(&n) => n as i32,
                    _ => {
                        return Err(self.error(
                            v.pos,
                            key,
                            format!("{:?}: a weight is -254..=254", v.text),
                        ));
                    }
                };
                match rest.first().map(|w| w.text.as_str()) {
                    None | Some("noreverse") => Ok((Some(weight), false)),
                    Some("reverse") => Ok((Some(weight), true)),
                    Some(_) => Err(self.error(rest[0].pos, key, "unexpected value")),
                }
            }
            [w, ..] => Err(self.error(w.pos, key, "expected `weight N`")),
        }
    }

    /// The entries of a `track_script` or `track_interface` block, each with the name of the
    /// check (added to `checks`) that stands for it; entries that cannot be tracked are listed.
    /// `member`: the sync group of the instance whose block this is.
    pub(super) fn trackers(
        &mut self,
        s: &Stmt,
        kind: TrackKind,
        scripts: &BTreeMap<String, Script>,
        checks: &mut BTreeMap<String, Check>,
        key: &str,
        member: Option<&Membership>,
    ) -> Result<Vec<(Stmt, String)>, ImportError> {
        let mut out = Vec::new();
        for t in s.block.iter().flatten() {
            let (origin, base, default_weight, what) = match kind {
                TrackKind::Script => {
                    let Some(script) = scripts.get(t.key()) else {
                        self.list(
                            t,
                            "no vrrp_script has this name: keepalived ignores it too, nothing is tracked",
                        );
                        continue;
                    };
                    (
                        Origin::Script(script.clone()),
                        check_name(&script.name),
                        script.weight,
                        "script",
                    )
                }
                TrackKind::Interface => {
                    let iface = t.key();
                    if !is_interface_name(iface) {
                        self.list(
                            t,
                            format!("not a Linux interface name ({INTERFACE_NAME_RULE}): keepalived finds no such interface and tracks nothing either"),
                        );
                        continue;
                    }
                    (
                        Origin::Interface {
                            name: iface.to_owned(),
                            notes: vec![format!("track_interface {iface} ({})", self.loc(t.pos()))],
                        },
                        format!("link_{}", check_name(iface)),
                        0,
                        "interface",
                    )
                }
            };
            let (weight, reverse) = self.tracker_weight(t, key)?;
            let weight = weight.unwrap_or(default_weight);
            if reverse {
                self.list(
                    t,
                    format!(
                        "`reverse` weights cannot be expressed in vrrpd: the {what} is not tracked"
                    ),
                );
                continue;
            }
            if let Some(m) = member
                && !m.weights
                && weight != 0
            {
                self.list(
                    t,
                    format!(
                        "the instance is in vrrp_sync_group {} ({}), and keepalived ignores the weighted trackers of a sync group's members unless the group sets sync_group_tracking_weight: not tracked either",
                        m.group, m.at
                    ),
                );
                continue;
            }
            out.push((
                t.clone(),
                add_check(checks, &base, default_weight, origin, weight),
            ));
        }
        Ok(out)
    }
}

/// Why every router tracks the link of its interface.
pub(super) const UPLINK_NOTE: &str = "keepalived puts an instance at FAULT while its `interface` has no link, unless it sets\ndont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its\nlink, so only this check notices";

/// The name of the check standing for `origin` with `weight` (suffixed when the weight is not
/// the tracked object's own), added to `checks` unless there already.
pub(super) fn add_check(
    checks: &mut BTreeMap<String, Check>,
    base: &str,
    default_weight: i32,
    origin: Origin,
    weight: i32,
) -> String {
    let mut name = if weight == default_weight {
        base.to_owned()
    } else if weight < 0 {
        format!("{base}_weight_minus_{}", -weight)
    } else {
        format!("{base}_weight_{weight}")
    };
    // Names that differ only in characters vrrpd does not allow must stay apart.
    while checks
        .get(&name)
        .is_some_and(|c| !c.origin.same_source(&origin) || c.weight != weight)
    {
        name.push('_');
    }
    match checks.get_mut(&name) {
        Some(c) => {
            if let (Origin::Interface { notes, .. }, Origin::Interface { notes: new, .. }) =
                (&mut c.origin, origin)
            {
                for n in new {
                    if !notes.contains(&n) {
                        notes.push(n);
                    }
                }
            }
        }
        None => {
            checks.insert(
                name.clone(),
                Check {
                    name: name.clone(),
                    origin,
                    weight,
                },
            );
        }
    }
    name
}

/// vrrpd check names are letters, digits, `_` and `-`.
pub(super) fn check_name(script: &str) -> String {
    script
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
