//! The explanation of a takeover for the log and the status: the core keeps the figures
//! ([`vrrp_core::Takeover`]), this puts them in words.

use vrrp_core::Reason;

use super::router::AnyStack;
use crate::status::TakeoverStatus;

/// What the router says about the transition it just reported, if it was a takeover for
/// Active_Down_Interval (or Skew_Time) running out.
pub(super) fn explain(stack: &AnyStack, reason: Reason) -> Option<TakeoverStatus> {
    if reason != Reason::ActiveDown {
        return None;
    }
    stack.last_takeover().as_ref().map(TakeoverStatus::new)
}

/// `": took over: ..."` for the state-change line, or nothing.
pub(super) fn suffix(t: Option<&TakeoverStatus>) -> String {
    t.map(|t| format!(": {}", t.explain())).unwrap_or_default()
}
