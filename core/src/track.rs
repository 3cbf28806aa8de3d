//! Tracked priority: the priority a virtual router runs with, given the one it is configured
//! with and the checks (service health, link carrier) it tracks.
//!
//! RFC 9568 leaves the priority to the operator; tracking is the keepalived convention that
//! vrrpd and the simulator share. Both call [`effective_priority`], so a scenario in the
//! simulator runs the daemon's rule and not a copy of it.
//!
//! ```
//! use vrrp_core::track::{Effect, Tracked, effective_priority};
//!
//! let nginx = Tracked { effect: Effect::Weight(-60), up: Some(false) };
//! let uplink = Tracked { effect: Effect::Fault, up: Some(true) };
//! assert_eq!(effective_priority(150, [nginx, uplink]), 90);
//! let uplink = Tracked { up: Some(false), ..uplink };
//! assert_eq!(effective_priority(150, [nginx, uplink]), 0);
//! ```
//!
//! A check whose state is a number (keepalived's `track_file`) is tracked as a [`Scaled`]:
//!
//! ```
//! use vrrp_core::track::{Contribution, Scale, Scaled, Tracked, Effect, effective_priority};
//!
//! let drain = Scale { weight: -50, reverse: false };
//! let nginx = Tracked { effect: Effect::Weight(-60), up: Some(true) };
//! let contributions = [nginx.into(), Scaled { scale: drain, value: Some(1) }.into()];
//! assert_eq!(effective_priority::<Contribution>(150, contributions), 100);
//! ```

/// What a tracked check does to the priority of the routers that track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Effect {
    /// Added to the priority: a positive weight while the check is up, a negative one while it
    /// is down (keepalived's convention, so either polarity can be expressed).
    Weight(i16),
    /// While down, the priority is 0: an Active steps down, a Backup never takes over.
    Fault,
    /// A number the check reads, times a weight (keepalived's `track_file`). Such a check is
    /// tracked as a [`Scaled`], with its number; as a [`Tracked`] it counts as not read yet.
    Scaled(Scale),
}

/// keepalived's `track_file` weight: `weight N [reverse]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Scale {
    /// -254..=254. 0 makes the number pass/fail: any number but 0 is a fault.
    pub weight: i16,
    /// Negates the product; with weight 0, 0 is the fault and any other number passes.
    pub reverse: bool,
}

impl Scale {
    /// What `value` (`None`: not read yet) does to the priority, as keepalived applies a
    /// tracked file to a VRRP instance:
    ///
    /// - weight 0: a fault while the number is not 0 (with `reverse`: while it is 0);
    /// - otherwise `value * weight` (negated with `reverse`): -254 or less is a fault, more than
    ///   253 adds 253;
    /// - a number not read yet is a fault for weight 0 (like any undecided pass/fail check) and
    ///   adds nothing otherwise.
    pub fn apply(self, value: Option<i64>) -> Contribution {
        let Some(value) = value else {
            return if self.weight == 0 {
                Contribution::Fault
            } else {
                Contribution::Adjust(0)
            };
        };
        if self.weight == 0 {
            return if (value != 0) != self.reverse {
                Contribution::Fault
            } else {
                Contribution::Adjust(0)
            };
        }
        let sign = if self.reverse { -1 } else { 1 };
        let product = value.saturating_mul(i64::from(self.weight) * sign);
        if product <= -254 {
            Contribution::Fault
        } else {
            Contribution::Adjust(product.min(253) as i32)
        }
    }
}

/// One tracked check's contribution: its effect and its state (`None`: undecided, no result
/// yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tracked {
    pub effect: Effect,
    pub up: Option<bool>,
}

/// A tracked number and the [`Scale`] it is tracked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Scaled {
    pub scale: Scale,
    /// `None`: not read yet.
    pub value: Option<i64>,
}

/// What one tracked check does to the priority now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Contribution {
    /// The priority is 0.
    Fault,
    /// Added to the priority (0: nothing).
    Adjust(i32),
}

impl From<Tracked> for Contribution {
    /// An undecided check counts as down; a positive weight applies while up, a negative one
    /// while down.
    fn from(t: Tracked) -> Contribution {
        let up = t.up == Some(true);
        match t.effect {
            Effect::Fault if !up => Contribution::Fault,
            Effect::Weight(w) if (w > 0) == up => Contribution::Adjust(i32::from(w)),
            Effect::Scaled(scale) => scale.apply(None),
            Effect::Fault | Effect::Weight(_) => Contribution::Adjust(0),
        }
    }
}

impl From<Scaled> for Contribution {
    fn from(s: Scaled) -> Contribution {
        s.scale.apply(s.value)
    }
}

/// The priority a router advertises given its `base` priority and the checks it tracks.
///
/// - An undecided check counts as down, so that a router never claims the VIPs for a service
///   that has not yet been seen healthy.
/// - Any [`Effect::Fault`] check that is not up: 0 (the router steps down or stays Backup).
/// - Any [`Scaled`] check whose number is a fault ([`Scale::apply`]): 0.
/// - Otherwise `base` plus every positive weight whose check is up, every negative weight
///   whose check is not up and every scaled number, clamped to 1..=254: only the address owner (255) may advertise
///   255, and then only while no weight applies; no weight makes a router resign (0).
/// - A `base` of 0 (a router that has already resigned) stays 0: a weight never brings it back.
///   A configured priority is never 0 (RFC 9568 §6.1 reserves it for shutdown).
pub fn effective_priority<C: Into<Contribution>>(
    base: u8,
    tracked: impl IntoIterator<Item = C>,
) -> u8 {
    let mut sum: i32 = 0;
    for t in tracked {
        match t.into() {
            Contribution::Fault => return 0,
            Contribution::Adjust(n) => sum = sum.saturating_add(n),
        }
    }
    if base == 0 || (base == 255 && sum == 0) {
        return base;
    }
    (i32::from(base) + sum).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use Effect::{Fault, Weight};

    fn t(effect: Effect, up: Option<bool>) -> Tracked {
        Tracked { effect, up }
    }

    #[test]
    fn weights_fault_and_clamping() {
        assert_eq!(effective_priority::<Tracked>(100, []), 100);
        assert_eq!(effective_priority(100, [t(Weight(-60), Some(true))]), 100);
        assert_eq!(effective_priority(100, [t(Weight(-60), Some(false))]), 40);
        assert_eq!(
            effective_priority(100, [t(Weight(-60), None)]),
            40,
            "undecided counts as down"
        );
        assert_eq!(effective_priority(100, [t(Weight(20), Some(true))]), 120);
        assert_eq!(effective_priority(100, [t(Weight(20), Some(false))]), 100);
        assert_eq!(effective_priority(100, [t(Weight(20), None)]), 100);
        assert_eq!(
            effective_priority(
                100,
                [t(Weight(20), Some(true)), t(Weight(-50), Some(false))]
            ),
            70
        );
        assert_eq!(
            effective_priority(100, [t(Weight(-200), Some(false))]),
            1,
            "never below 1"
        );
        assert_eq!(
            effective_priority(250, [t(Weight(50), Some(true))]),
            254,
            "never 255 by weight"
        );
        assert_eq!(effective_priority(255, [t(Weight(50), Some(true))]), 254);
        assert_eq!(
            effective_priority(255, [t(Weight(-10), Some(true))]),
            255,
            "owner while healthy"
        );
        assert_eq!(effective_priority(255, [t(Weight(-10), Some(false))]), 245);
        assert_eq!(effective_priority(150, [t(Fault, Some(true))]), 150);
        assert_eq!(effective_priority(150, [t(Fault, Some(false))]), 0);
        assert_eq!(effective_priority(150, [t(Fault, None)]), 0);
        assert_eq!(
            effective_priority(255, [t(Weight(100), Some(true)), t(Fault, Some(false))]),
            0,
            "fault wins over any weight"
        );
    }

    #[test]
    fn a_resigned_router_stays_at_zero() {
        assert_eq!(effective_priority::<Tracked>(0, []), 0);
        assert_eq!(effective_priority(0, [t(Weight(10), Some(true))]), 0);
        assert_eq!(effective_priority(0, [t(Weight(-10), Some(false))]), 0);
    }

    fn s(weight: i16, reverse: bool, value: Option<i64>) -> Contribution {
        Scale { weight, reverse }.apply(value)
    }

    #[test]
    fn scaled_numbers_as_keepalived_applies_a_track_file() {
        use Contribution::{Adjust, Fault};
        assert_eq!(s(-10, false, Some(3)), Adjust(-30));
        assert_eq!(s(-10, false, Some(0)), Adjust(0));
        assert_eq!(s(10, false, Some(-2)), Adjust(-20), "a negative number");
        assert_eq!(s(-10, true, Some(3)), Adjust(30), "reverse negates");
        assert_eq!(s(1, false, Some(-253)), Adjust(-253));
        assert_eq!(s(1, false, Some(-254)), Fault, "-254 or less is a fault");
        assert_eq!(s(254, false, Some(-1)), Fault);
        assert_eq!(s(1, false, Some(253)), Adjust(253));
        assert_eq!(s(2, false, Some(200)), Adjust(253), "at most 253");
        assert_eq!(s(254, false, Some(i64::MAX)), Adjust(253), "no overflow");
        assert_eq!(s(-254, false, Some(i64::MAX)), Fault);

        // Weight 0: pass/fail.
        assert_eq!(s(0, false, Some(0)), Adjust(0));
        assert_eq!(s(0, false, Some(1)), Fault);
        assert_eq!(s(0, false, Some(-7)), Fault);
        assert_eq!(s(0, true, Some(0)), Fault, "reverse: 0 is the fault");
        assert_eq!(s(0, true, Some(5)), Adjust(0));

        // Not read yet.
        assert_eq!(s(0, false, None), Fault);
        assert_eq!(s(0, true, None), Fault);
        assert_eq!(s(-10, false, None), Adjust(0));
    }

    #[test]
    fn scaled_numbers_in_the_priority() {
        let scaled = |weight, value| {
            Contribution::from(Scaled {
                scale: Scale {
                    weight,
                    reverse: false,
                },
                value: Some(value),
            })
        };
        let tracked = |effect, up| Contribution::from(t(effect, up));
        assert_eq!(effective_priority(100, [scaled(-10, 3)]), 70);
        assert_eq!(
            effective_priority(100, [scaled(-10, 3), tracked(Weight(20), Some(true))]),
            90
        );
        assert_eq!(
            effective_priority(100, [scaled(-1, 200)]),
            1,
            "never below 1"
        );
        assert_eq!(
            effective_priority(200, [scaled(1, 200)]),
            254,
            "never above 254"
        );
        assert_eq!(effective_priority(100, [scaled(0, 1)]), 0);
        assert_eq!(
            effective_priority(255, [scaled(-5, 0)]),
            255,
            "owner, nothing applies"
        );
        assert_eq!(effective_priority(255, [scaled(-5, 1)]), 250);
        assert_eq!(
            effective_priority(
                100,
                [tracked(
                    Effect::Scaled(Scale {
                        weight: 0,
                        reverse: false
                    }),
                    Some(true)
                )]
            ),
            0,
            "a scaled check without its number: not read yet"
        );
    }
}
