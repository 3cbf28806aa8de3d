//! Pairing the real router's state changes with ours by time, and holding each to RFC 9568.

use std::net::IpAddr;

use vrrp_core::State;

/// One transition of the comparison: a real change, one of ours, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub state: State,
    /// Microseconds since the first frame of the trace.
    pub real: Option<i64>,
    pub ours: Option<i64>,
}

impl Pair {
    /// The earlier of the two sides.
    pub fn at(&self) -> i64 {
        match (self.real, self.ours) {
            (Some(r), Some(o)) => r.min(o),
            (r, o) => r.or(o).unwrap_or(0),
        }
    }
}

/// Pairs each change with one of the other side to the same state, nearest first, at most
/// `window` apart. Pairing by position would let one change that only one side has shift
/// every later comparison; by time it stays one missing or extra row.
pub fn pair(real: &[(i64, State)], ours: &[(i64, State)], window: i64) -> Vec<Pair> {
    let mut candidates: Vec<(i64, usize, usize)> = Vec::new();
    for (i, r) in real.iter().enumerate() {
        for (j, o) in ours.iter().enumerate() {
            let d = (o.0 - r.0).abs();
            if r.1 == o.1 && d <= window {
                candidates.push((d, i, j));
            }
        }
    }
    candidates.sort();
    let mut real_used = vec![false; real.len()];
    let mut ours_used = vec![false; ours.len()];
    let mut out = Vec::new();
    for (_, i, j) in candidates {
        if real_used[i] || ours_used[j] {
            continue;
        }
        real_used[i] = true;
        ours_used[j] = true;
        out.push(Pair {
            state: real[i].1,
            real: Some(real[i].0),
            ours: Some(ours[j].0),
        });
    }
    for (r, _) in real.iter().zip(&real_used).filter(|(_, used)| !**used) {
        out.push(Pair {
            state: r.1,
            real: Some(r.0),
            ours: None,
        });
    }
    for (o, _) in ours.iter().zip(&ours_used).filter(|(_, used)| !**used) {
        out.push(Pair {
            state: o.1,
            real: None,
            ours: Some(o.0),
        });
    }
    out.sort_by_key(|p| (p.at(), p.real.is_none()));
    out
}

/// An advert another router sent, as the seat heard it.
#[derive(Debug, Clone, Copy)]
pub struct Heard {
    pub at: i64,
    pub src: IpAddr,
    pub priority: u8,
    /// Max_Adver_Interval in centiseconds.
    pub interval: u16,
}

/// What the seat knows to compute RFC 9568's instant for a change.
pub struct Rules<'a> {
    /// The others' adverts in the seat's virtual router, in time order.
    pub others: &'a [Heard],
    pub seat: IpAddr,
    pub priority: u8,
    /// When the seat's daemon started (its Active_Down_Timer was armed then).
    pub startup: i64,
    /// (from, to) of each freeze of the seat: a frozen router acts when it thaws.
    pub freezes: &'a [(i64, i64)],
    /// Skew_Time and Active_Down_Interval in microseconds for an Active_Adver_Interval in
    /// centiseconds, from the core (one copy of the rule).
    pub timers: &'a dyn Fn(u16) -> Option<(i64, i64)>,
    /// The seat's own Advertisement_Interval, centiseconds (VRRPv2 never learns another).
    pub own_interval: u16,
    pub learns_interval: bool,
}

/// When RFC 9568 had the seat change state, and on what grounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub at: i64,
    pub basis: String,
}

fn secs(t: i64) -> String {
    format!("{:.6}", t as f64 / 1e6)
}

/// The thaw of the freeze `t` falls in, or `t`: a frozen router acts when it thaws.
pub fn thawed(freezes: &[(i64, i64)], t: i64) -> i64 {
    freezes
        .iter()
        .find(|f| t >= f.0 && t < f.1)
        .map_or(t, |f| f.1)
}

/// Whether an Active at `priority` on `seat` must step down on hearing `a` (RFC 9568 §6.4.3):
/// a higher priority, or the same and a higher address.
pub fn beats(a: &Heard, priority: u8, seat: IpAddr) -> bool {
    a.priority > priority || (a.priority == priority && a.src > seat)
}

impl Rules<'_> {
    fn interval_of(&self, a: &Heard) -> u16 {
        if self.learns_interval {
            a.interval
        } else {
            self.own_interval
        }
    }

    /// RFC 9568 §6.4.2 and §6.4.3 for the change `p`, given the change before it. `None` when
    /// the others' adverts do not decide it (the seat's own priority-0 advert, or adverts that
    /// stopped for no visible reason).
    pub fn instant(&self, p: &Pair, prev: Option<&Pair>) -> Option<Due> {
        let t = p.at();
        // The seat's timers run from its startup or its previous change, whichever is later.
        let floor = prev.map_or(self.startup, |q| q.at().max(self.startup));
        let (at, basis) = match p.state {
            State::Active => {
                // The Active_Down_Timer is reset by every advert the seat could not preempt
                // (priority at or above its own) and cut to Skew_Time by a priority-0 one.
                let last = self
                    .others
                    .iter()
                    .rev()
                    .filter(|a| a.at <= t && a.at >= floor)
                    .find(|a| a.priority == 0 || a.priority >= self.priority);
                match last {
                    Some(a) if a.priority == 0 => {
                        let (skew, _) = (self.timers)(self.interval_of(a))?;
                        (
                            a.at + skew,
                            format!(
                                "Skew_Time {:.3} ms after the priority-0 advert of {} at {}",
                                skew as f64 / 1e3,
                                a.src,
                                secs(a.at)
                            ),
                        )
                    }
                    Some(a) => {
                        let (_, adi) = (self.timers)(self.interval_of(a))?;
                        (
                            a.at + adi,
                            format!(
                                "Active_Down_Interval {:.3} ms after the advert of {} at {}",
                                adi as f64 / 1e3,
                                a.src,
                                secs(a.at)
                            ),
                        )
                    }
                    None => {
                        let (_, adi) = (self.timers)(self.own_interval)?;
                        let from = if prev.is_some() {
                            "its change"
                        } else {
                            "startup"
                        };
                        (
                            floor + adi,
                            format!(
                                "Active_Down_Interval {:.3} ms after {from} at {}",
                                adi as f64 / 1e3,
                                secs(floor)
                            ),
                        )
                    }
                }
            }
            State::Backup => {
                let a = self
                    .others
                    .iter()
                    .find(|a| a.at >= floor && a.at <= t && beats(a, self.priority, self.seat))?;
                (
                    a.at,
                    format!(
                        "the advert of {} at {} (priority {} beats {})",
                        a.src,
                        secs(a.at),
                        a.priority,
                        self.priority
                    ),
                )
            }
            State::Initialize => return None,
        };
        let thaw = thawed(self.freezes, at);
        Some(Due {
            at: thaw,
            basis: if thaw == at {
                basis
            } else {
                basis + ", acted on at the seat's thaw"
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: State = State::Active;
    const B: State = State::Backup;

    #[test]
    fn a_change_only_one_side_has_does_not_shift_the_rest() {
        // The real router stepped down and came back; ours stayed Active. The last change
        // still pairs with its twin, 1 ms apart.
        let real = [(1_000, A), (2_000_000, B), (3_000_000, A), (9_000_000, B)];
        let ours = [(1_000, A), (9_001_000, B)];
        let pairs = pair(&real, &ours, 500_000);
        let got: Vec<_> = pairs.iter().map(|p| (p.state, p.real, p.ours)).collect();
        assert_eq!(
            got,
            [
                (A, Some(1_000), Some(1_000)),
                (B, Some(2_000_000), None),
                (A, Some(3_000_000), None),
                (B, Some(9_000_000), Some(9_001_000)),
            ]
        );
    }

    #[test]
    fn changes_too_far_apart_are_not_paired() {
        let pairs = pair(&[(0, A)], &[(2_000_000, A)], 1_000_000);
        assert_eq!(pairs.len(), 2);
        assert!(pairs.iter().all(|p| p.real.is_none() || p.ours.is_none()));
    }
}
