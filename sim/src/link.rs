//! The shared Ethernet segment and its faults: loss, delay with jitter, duplication, reordering
//! and partitions, each for the whole segment, for a node (both directions) or for one direction
//! of one link.

use crate::rng::Rng;
use crate::time::Micros;

/// Which frames a fault applies to: `from` -> `to` by node index, `None` meaning any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub from: Option<usize>,
    pub to: Option<usize>,
}

impl Scope {
    pub const ALL: Scope = Scope {
        from: None,
        to: None,
    };

    pub fn link(from: usize, to: usize) -> Scope {
        Scope {
            from: Some(from),
            to: Some(to),
        }
    }

    /// Frames from or to `node`: two one-way scopes.
    pub fn node(node: usize) -> [Scope; 2] {
        [
            Scope {
                from: Some(node),
                to: None,
            },
            Scope {
                from: None,
                to: Some(node),
            },
        ]
    }

    fn matches(&self, from: usize, to: usize) -> bool {
        self.from.is_none_or(|f| f == from) && self.to.is_none_or(|t| t == to)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Lost with this probability (ppm).
    Loss(u32),
    /// Delivered `base` plus a uniform `0..=jitter` later.
    Delay { base: Micros, jitter: Micros },
    /// Delivered twice with this probability (ppm); the copy `gap` later.
    Duplicate { ppm: u32, gap: Micros },
    /// Held back by a uniform `1..=window` with this probability (ppm), so later frames pass it.
    Reorder { ppm: u32, window: Micros },
    /// Never delivered: a partition (one direction per rule).
    Block,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    scope: Scope,
    fault: Fault,
}

/// The segment's fault rules and the randomness they draw from.
#[derive(Debug, Clone)]
pub struct Faults {
    rules: Vec<Rule>,
    rng: Rng,
}

impl Faults {
    pub fn new(rng: Rng) -> Faults {
        Faults {
            rules: Vec::new(),
            rng,
        }
    }

    pub fn add(&mut self, scope: Scope, fault: Fault) {
        self.rules.push(Rule { scope, fault });
    }

    /// Removes every rule whose scope lies inside `scope` (`Scope::ALL` heals everything).
    pub fn heal(&mut self, scope: Scope) {
        self.rules.retain(|r| {
            let inside = scope.from.is_none_or(|f| r.scope.from == Some(f))
                && scope.to.is_none_or(|t| r.scope.to == Some(t));
            !inside
        });
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The delays after which a frame from `from` reaches `to`: empty if lost, two entries if
    /// duplicated. Rules combine: every loss draws, delays add up.
    pub fn deliveries(&mut self, from: usize, to: usize, out: &mut Vec<Micros>) {
        out.clear();
        if self.rules.is_empty() {
            out.push(0);
            return;
        }
        let mut delay = 0;
        let mut dup = None;
        for r in &self.rules {
            if !r.scope.matches(from, to) {
                continue;
            }
            match r.fault {
                Fault::Block => return,
                Fault::Loss(ppm) => {
                    if self.rng.chance(ppm) {
                        return;
                    }
                }
                Fault::Delay { base, jitter } => {
                    delay += base
                        + if jitter > 0 {
                            self.rng.range(0, jitter)
                        } else {
                            0
                        };
                }
                Fault::Duplicate { ppm, gap } => {
                    if self.rng.chance(ppm) {
                        dup = Some(gap);
                    }
                }
                Fault::Reorder { ppm, window } => {
                    if self.rng.chance(ppm) {
                        delay += self.rng.range(1, window.max(1));
                    }
                }
            }
        }
        out.push(delay);
        if let Some(gap) = dup {
            out.push(delay + gap);
        }
    }

    /// The largest extra delay the rules in force can add to a frame from `from` to `to`:
    /// the tolerance a deadline check must allow.
    pub fn max_delay(&self, from: usize, to: usize) -> Micros {
        self.rules
            .iter()
            .filter(|r| r.scope.matches(from, to))
            .map(|r| match r.fault {
                Fault::Delay { base, jitter } => base + jitter,
                Fault::Reorder { window, .. } => window,
                Fault::Duplicate { gap, .. } => gap,
                _ => 0,
            })
            .sum()
    }

    /// True if some rule may drop frames from `from` to `to`.
    pub fn lossy(&self, from: usize, to: usize) -> bool {
        self.rules
            .iter()
            .any(|r| r.scope.matches(from, to) && matches!(r.fault, Fault::Loss(_) | Fault::Block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_partition_blocks_one_direction() {
        let mut f = Faults::new(Rng::new(1));
        f.add(Scope::link(0, 1), Fault::Block);
        let mut out = Vec::new();
        f.deliveries(0, 1, &mut out);
        assert!(out.is_empty());
        f.deliveries(1, 0, &mut out);
        assert_eq!(out, [0]);
        f.heal(Scope::ALL);
        f.deliveries(0, 1, &mut out);
        assert_eq!(out, [0]);
    }

    #[test]
    fn node_scope_heal_keeps_other_rules() {
        let mut f = Faults::new(Rng::new(1));
        for s in Scope::node(2) {
            f.add(s, Fault::Loss(1_000_000));
        }
        f.add(Scope::link(0, 1), Fault::Delay { base: 5, jitter: 0 });
        let mut out = Vec::new();
        f.deliveries(2, 0, &mut out);
        assert!(out.is_empty());
        f.deliveries(0, 2, &mut out);
        assert!(out.is_empty());
        for s in Scope::node(2) {
            f.heal(s);
        }
        f.deliveries(2, 0, &mut out);
        assert_eq!(out, [0]);
        f.deliveries(0, 1, &mut out);
        assert_eq!(out, [5]);
    }

    #[test]
    fn jitter_stays_in_bounds_and_duplicates_follow() {
        let mut f = Faults::new(Rng::new(3));
        f.add(
            Scope::ALL,
            Fault::Delay {
                base: 100,
                jitter: 50,
            },
        );
        f.add(
            Scope::ALL,
            Fault::Duplicate {
                ppm: 1_000_000,
                gap: 7,
            },
        );
        let mut out = Vec::new();
        for _ in 0..1000 {
            f.deliveries(0, 1, &mut out);
            assert_eq!(out.len(), 2);
            assert!((100..=150).contains(&out[0]));
            assert_eq!(out[1], out[0] + 7);
        }
        assert_eq!(f.max_delay(0, 1), 157);
    }
}
