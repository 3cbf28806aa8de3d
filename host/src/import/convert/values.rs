//! Single values: integers, seconds, booleans, addresses, each checked as keepalived checks it.

use std::net::IpAddr;
use std::time::Duration;

use super::Converter;
use crate::config::parse_duration;
use crate::import::ImportError;
use crate::import::lexer::Word;
use crate::import::parser::Stmt;

/// Addresses that cannot be a router's or a virtual one.
pub(super) fn unusable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
    }
}

pub(super) fn int_arg(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// keepalived times are decimal seconds ("1", "0.1", "2.5").
pub(super) fn seconds_arg(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    parse_duration(&format!("{s}s")).ok()
}

pub(super) fn bool_arg(args: &[Word]) -> Option<bool> {
    match args.first().map(|w| w.text.to_ascii_lowercase()) {
        None => Some(true),
        Some(s) => match s.as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => None,
        },
    }
}

impl Converter {
    pub(super) fn one_arg<'s>(&self, stmt: &'s Stmt, key: &str) -> Result<&'s Word, ImportError> {
        match stmt.args() {
            [w] => Ok(w),
            [] => Err(self.error(stmt.pos(), key, "a value is missing")),
            [_, extra, ..] => Err(self.error(extra.pos, key, "one value expected")),
        }
    }

    pub(super) fn seconds(
        &self,
        s: &Stmt,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ImportError> {
        let w = self.one_arg(s, key)?;
        match seconds_arg(&w.text) {
            Some(d)
                if d >= Duration::from_secs(*range.start())
                    && d <= Duration::from_secs(*range.end()) =>
            {
                Ok(d)
            }
            _ => Err(self.error(
                w.pos,
                key,
                format!(
                    "{:?} is not a time in seconds in {}..={}",
                    w.text,
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    pub(super) fn int(
        &self,
        s: &Stmt,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        why: &str,
    ) -> Result<i64, ImportError> {
        let w = self.one_arg(s, key)?;
        match int_arg(&w.text) {
            Some(n) if range.contains(&n) => Ok(n),
            Some(n) => Err(self.error(
                w.pos,
                key,
                format!(
                    "{n} is out of range: must be {}..={}{why}",
                    range.start(),
                    range.end()
                ),
            )),
            None => Err(self.error(w.pos, key, format!("{:?} is not a number", w.text))),
        }
    }

    pub(super) fn garp_repeat(&self, s: &Stmt, key: &str) -> Result<u8, ImportError> {
        Ok(self.int(s, key, 1..=255, "")? as u8)
    }

    /// `garp_master_refresh N`: whole seconds (keepalived reads an integer), 0 = none.
    pub(super) fn garp_refresh(&self, s: &Stmt, key: &str) -> Result<Duration, ImportError> {
        Ok(Duration::from_secs(self.int(s, key, 0..=65535, "")? as u64))
    }

    /// `USER [GROUP]` of `script_user` and of a `vrrp_script`'s `user`.
    pub(super) fn user_group(
        &self,
        s: &Stmt,
        key: &str,
    ) -> Result<(String, Option<String>), ImportError> {
        match s.args() {
            [] => Err(self.error(s.pos(), key, "a user name is missing")),
            [u] => Ok((u.text.clone(), None)),
            [u, g] => Ok((u.text.clone(), Some(g.text.clone()))),
            [_, _, extra, ..] => Err(self.error(extra.pos, key, "a user and a group expected")),
        }
    }
}
