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

/// What a tracked check does to the priority of the routers that track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Effect {
    /// Added to the priority: a positive weight while the check is up, a negative one while it
    /// is down (keepalived's convention, so either polarity can be expressed).
    Weight(i16),
    /// While down, the priority is 0: an Active steps down, a Backup never takes over.
    Fault,
}

/// One tracked check's contribution: its effect and its state (`None`: undecided, no result
/// yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tracked {
    pub effect: Effect,
    pub up: Option<bool>,
}

/// The priority a router advertises given its `base` priority and the checks it tracks.
///
/// - An undecided check counts as down, so that a router never claims the VIPs for a service
///   that has not yet been seen healthy.
/// - Any [`Effect::Fault`] check that is not up: 0 (the router steps down or stays Backup).
/// - Otherwise `base` plus every positive weight whose check is up and every negative weight
///   whose check is not up, clamped to 1..=254: only the address owner (255) may advertise
///   255, and then only while no weight applies; no weight makes a router resign (0).
/// - A `base` of 0 (a router that has already resigned) stays 0: a weight never brings it back.
///   A configured priority is never 0 (RFC 9568 §6.1 reserves it for shutdown).
pub fn effective_priority(base: u8, tracked: impl IntoIterator<Item = Tracked>) -> u8 {
    let mut sum: i32 = 0;
    for t in tracked {
        let up = t.up == Some(true);
        match t.effect {
            Effect::Fault if !up => return 0,
            Effect::Fault => {}
            Effect::Weight(w) if w > 0 && up => sum += i32::from(w),
            Effect::Weight(w) if w < 0 && !up => sum += i32::from(w),
            Effect::Weight(_) => {}
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
        assert_eq!(effective_priority(100, []), 100);
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
        assert_eq!(effective_priority(0, []), 0);
        assert_eq!(effective_priority(0, [t(Weight(10), Some(true))]), 0);
        assert_eq!(effective_priority(0, [t(Weight(-10), Some(false))]), 0);
    }
}
