//! Durations as the configuration file spells them ("10ms", "1.5s", "2m").

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A duration string: a decimal number and a unit, `ms`, `s` or `m` ("10ms", "1.5s").
/// Bare numbers are refused: a unitless `interval = 1` is ambiguous between keepalived's
/// seconds and VRRPv3's centiseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dur(pub(super) Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string with a unit, such as \"100ms\" or \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses "10ms", "1.5s", "2m" exactly (no floating point), to microsecond resolution.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {s:?}: expected a number and a unit (ms, s, m), such as \"100ms\" or \"1.5s\""
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let unit_us: u128 = match unit {
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        _ => return Err(bad()),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || (number.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() > 12 {
        return Err(bad());
    }
    let int: u128 = int.parse().map_err(|_| bad())?;
    let mut us = int * unit_us;
    let mut scale = unit_us;
    for digit in frac.bytes() {
        if !scale.is_multiple_of(10) {
            return Err(format!("invalid duration {s:?}: finer than a microsecond"));
        }
        scale /= 10;
        us += u128::from(digit - b'0') * scale;
    }
    let us = u64::try_from(us).map_err(|_| bad())?;
    Ok(Duration::from_micros(us))
}

/// Renders a duration the way the config file spells it.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us.is_multiple_of(1_000) && us < 1_000_000 {
        format!("{}ms", us / 1_000)
    } else {
        let ms = us as f64 / 1_000.0;
        if ms >= 1_000.0 {
            format!("{}s", ms / 1_000.0)
        } else {
            format!("{ms}ms")
        }
    }
}

pub(super) fn embassy(d: Duration) -> vrrp_core::Duration {
    vrrp_core::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "", "10", "ms", "1.s", ".5s", "1,5s", "10 ms", "1h", "-1s", "0.0001ms", "1.2.3s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        for d in ["10ms", "1s", "1.5s", "250us"] {
            if let Ok(parsed) = parse_duration(d) {
                assert_eq!(parse_duration(&format_duration(parsed)), Ok(parsed));
            }
        }
    }
}
