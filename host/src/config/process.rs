//! `[process]`: how the daemon's own process runs (keepalived's `vrrp_rt_priority` and
//! `vrrp_no_swap`).

use super::ConfigError;
use super::raw::RawProcess;
use super::validate::Validator;

/// `[process]`. Both are off unless set; what could be applied is in `vrrpd status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessConfig {
    /// `realtime_priority = 1..=99`: the event loop thread runs SCHED_RR at this priority, so
    /// that busy processes on the host cannot delay its adverts and timers.
    pub realtime_priority: Option<u8>,
    /// `lock_memory = true`: `mlockall(MCL_CURRENT | MCL_FUTURE)`, so that a host under memory
    /// pressure cannot page the daemon out (a page fault on its path delays adverts).
    pub lock_memory: bool,
}

/// SCHED_RR priorities Linux accepts (`sched_get_priority_min/max`).
pub const REALTIME_PRIORITIES: std::ops::RangeInclusive<i64> = 1..=99;

impl Validator<'_> {
    pub(super) fn process(&self, raw: &RawProcess) -> Result<ProcessConfig, ConfigError> {
        let realtime_priority = match &raw.realtime_priority {
            None => None,
            Some(p) => Some(self.int(
                p,
                *REALTIME_PRIORITIES.start()..*REALTIME_PRIORITIES.end() + 1,
                "the SCHED_RR priority",
            )?),
        };
        Ok(ProcessConfig {
            realtime_priority,
            lock_memory: raw.lock_memory.unwrap_or(false),
        })
    }
}
