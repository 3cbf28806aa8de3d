//! Virtual time: global simulated microseconds, per-node drifting clocks, and the duration
//! syntax of scenario files (`1s`, `250ms`, `3.609375s`, `40us`).

use vrrp_core::Instant;

/// Global simulated time in microseconds since the start of a run.
pub type Micros = u64;

pub const SECOND: Micros = 1_000_000;
pub const MILLI: Micros = 1_000;

/// A node's clock: it starts with the run and runs `ppm` parts per million fast (or slow, if
/// negative). The core only ever sees this local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    pub ppm: i32,
}

impl Clock {
    pub fn local(&self, global: Micros) -> Instant {
        let scaled = i128::from(global) * (1_000_000 + i128::from(self.ppm)) / 1_000_000;
        Instant::from_micros(scaled.max(0) as u64)
    }

    /// The first global instant at which the local clock reads at least `local`: a timer the
    /// core set for `local` must not fire a microsecond early because of rounding.
    pub fn global(&self, local: Instant) -> Micros {
        let l = i128::from(local.as_micros());
        let rate = 1_000_000 + i128::from(self.ppm);
        let mut g = (l * 1_000_000 + rate - 1) / rate;
        while self.local(g as u64).as_micros() < local.as_micros() {
            g += 1;
        }
        g.max(0) as u64
    }

    /// A local duration measured in global time (upper bound, for tolerances).
    pub fn global_len(&self, local_us: Micros) -> Micros {
        let rate = (1_000_000 + i64::from(self.ppm)) as u64;
        (u128::from(local_us) * 1_000_000).div_ceil(u128::from(rate)) as u64
    }
}

/// Formats as seconds with microsecond precision: `13.609375`.
pub fn fmt(t: Micros) -> String {
    format!("{}.{:06}", t / SECOND, t % SECOND)
}

/// Parses `10s`, `1.5s`, `250ms`, `40us`, exactly (no floating point).
pub fn parse_duration(s: &str) -> Result<Micros, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, MILLI)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, SECOND)
    } else {
        return Err(format!("`{s}`: a duration needs a unit (s, ms or us)"));
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let bad = || format!("`{s}` is not a duration");
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut frac_us = 0u64;
    let mut unit = scale;
    for c in frac.chars() {
        let d = c.to_digit(10).ok_or_else(bad)?;
        if unit < 10 {
            return Err(format!("`{s}` is finer than a microsecond"));
        }
        unit /= 10;
        frac_us += u64::from(d) * unit;
    }
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(frac_us))
        .ok_or_else(bad)
}

/// Parses `20%`, `0.5%` into parts per million.
pub fn parse_percent(s: &str) -> Result<u32, String> {
    let n = s
        .strip_suffix('%')
        .ok_or_else(|| format!("`{s}`: a probability is written as a percentage, like 20%"))?;
    // A percentage is a duration of unit 10,000 ppm: reuse the exact decimal parser.
    let ppm = parse_duration(&format!("{n}s"))? / 100;
    if ppm > u64::from(crate::rng::PPM) {
        return Err(format!("`{s}` is more than 100%"));
    }
    Ok(ppm as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(10 * SECOND));
        assert_eq!(parse_duration("3.609375s"), Ok(3_609_375));
        assert_eq!(parse_duration("250ms"), Ok(250_000));
        assert_eq!(parse_duration("1.5ms"), Ok(1_500));
        assert_eq!(parse_duration("40us"), Ok(40));
        assert!(parse_duration("1.5us").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(fmt(13_609_375), "13.609375");
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("20%"), Ok(200_000));
        assert_eq!(parse_percent("0.5%"), Ok(5_000));
        assert_eq!(parse_percent("100%"), Ok(1_000_000));
        assert!(parse_percent("101%").is_err());
        assert!(parse_percent("20").is_err());
    }

    #[test]
    fn drifting_clock_round_trips() {
        for ppm in [-500, -1, 0, 1, 100, 20_000] {
            let c = Clock { ppm };
            for l in [0u64, 1, 999_999, 3_609_375, 3_600_000_000] {
                let g = c.global(Instant::from_micros(l));
                assert!(c.local(g).as_micros() >= l);
                assert!(g == 0 || c.local(g - 1).as_micros() < l, "ppm {ppm} l {l}");
            }
        }
        // 100 ppm fast: a 10 s local timer fires 999 us early in global time.
        assert_eq!(Clock { ppm: 100 }.global(Instant::from_secs(10)), 9_999_001);
    }
}
