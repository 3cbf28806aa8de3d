//! `track_script`, `track_interface` and `track_file`: the checks a router tracks, and their
//! weights.

use std::collections::BTreeMap;

use super::Converter;
use super::values::int_arg;
use crate::config::{INTERFACE_NAME_RULE, is_interface_name};
use crate::import::ImportError;
use crate::import::model::*;
use crate::import::parser::Stmt;

impl Converter {
    /// `weight N [reverse|noreverse]` after a tracker's name: the weight, if given, and
    /// `reverse` or `noreverse`, if given.
    fn tracker_weight(
        &self,
        t: &Stmt,
        key: &str,
    ) -> Result<(Option<i32>, Option<bool>), ImportError> {
        match t.args() {
            [] => Ok((None, None)),
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
                    None => Ok((Some(weight), None)),
                    Some("noreverse") => Ok((Some(weight), Some(false))),
                    Some("reverse") => Ok((Some(weight), Some(true))),
                    Some(_) => Err(self.error(rest[0].pos, key, "unexpected value")),
                }
            }
            [w, ..] => Err(self.error(w.pos, key, "expected `weight N`")),
        }
    }

    /// The entries of a `track_script`, `track_interface` or `track_file` block, each with the
    /// name of the check (added to `checks`) that stands for it; entries that cannot be tracked
    /// are listed. `member`: the sync group of the instance whose block this is.
    pub(super) fn trackers(
        &mut self,
        s: &Stmt,
        kind: TrackKind,
        tracks: &Trackable,
        checks: &mut BTreeMap<String, Check>,
        key: &str,
        member: Option<&Membership>,
    ) -> Result<Vec<(Stmt, String)>, ImportError> {
        let mut out = Vec::new();
        for t in s.block.iter().flatten() {
            let (origin, base, default_weight, default_reverse, what) = match kind {
                TrackKind::Script => {
                    let Some(script) = tracks.scripts.get(t.key()) else {
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
                        false,
                        "script",
                    )
                }
                TrackKind::File => {
                    let Some(file) = tracks.files.get(t.key()) else {
                        self.list(
                            t,
                            "no track_file has this name: keepalived ignores it too, nothing is tracked",
                        );
                        continue;
                    };
                    if let Some(why) = &file.unusable {
                        self.list(
                            t,
                            format!("track_file {} ({}) {why}: not tracked", file.name, file.at),
                        );
                        continue;
                    }
                    (
                        Origin::File(file.clone()),
                        check_name(&file.name),
                        file.weight,
                        file.reverse,
                        "file",
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
                        false,
                        "interface",
                    )
                }
            };
            let (weight, reverse) = self.tracker_weight(t, key)?;
            let weight = weight.unwrap_or(default_weight);
            let reverse = reverse.unwrap_or(default_reverse);
            if reverse && kind != TrackKind::File {
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
                add_check(
                    checks,
                    &base,
                    (default_weight, default_reverse),
                    origin,
                    (weight, reverse),
                ),
            ));
        }
        Ok(out)
    }
}

/// Why every router tracks the link of its interface.
pub(super) const UPLINK_NOTE: &str = "keepalived puts an instance at FAULT while its `interface` has no link, unless it sets\ndont_track_primary. vrrpd's bridge stays up through its TAP port when the uplink loses its\nlink, so only this check notices";

/// The name of the check standing for `origin` with `weight` and `reverse` (suffixed when they
/// are not the tracked object's own), added to `checks` unless there already.
pub(super) fn add_check(
    checks: &mut BTreeMap<String, Check>,
    base: &str,
    (default_weight, default_reverse): (i32, bool),
    origin: Origin,
    (weight, reverse): (i32, bool),
) -> String {
    let mut name = if weight == default_weight {
        base.to_owned()
    } else if weight < 0 {
        format!("{base}_weight_minus_{}", -weight)
    } else {
        format!("{base}_weight_{weight}")
    };
    if reverse != default_reverse {
        name.push_str(if reverse { "_reverse" } else { "_noreverse" });
    }
    // Names that differ only in characters vrrpd does not allow must stay apart.
    while checks.get(&name).is_some_and(|c| {
        !c.origin.same_source(&origin) || c.weight != weight || c.reverse != reverse
    }) {
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
                    reverse,
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
