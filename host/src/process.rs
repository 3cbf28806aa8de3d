//! `[process]` applied at start: real-time scheduling for the event loop thread and locked
//! memory, as keepalived's `vrrp_rt_priority` and `vrrp_no_swap` do. Either may be refused
//! (no capability, a resource limit): vrrpd then says which capability is missing and runs on
//! without it. `vrrpd status` shows what was applied.

use std::io;

use nix::errno::Errno;
use nix::sys::mman::{MlockAllFlags, mlockall};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::config::ProcessConfig;

/// `SCHED_RESET_ON_FORK` (linux/sched.h; not in the libc crate for Linux): threads and
/// processes the loop thread starts (health checks, hooks, the supervised nginx) run with
/// normal scheduling, not at real-time priority.
const SCHED_RESET_ON_FORK: libc::c_int = 0x4000_0000;

/// What `[process]` achieved, for `vrrpd status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    /// The event loop thread's scheduling, read back after applying: `SCHED_OTHER`, or
    /// `SCHED_RR 10` (policy and priority).
    pub scheduling: String,
    /// `mlockall` succeeded: the daemon is never paged out.
    pub memory_locked: bool,
    /// What was asked and refused, and why.
    pub errors: Vec<String>,
}

impl ProcessStatus {
    /// The real-time priority in `scheduling`; 0 for a normal policy.
    pub fn realtime_priority(&self) -> u8 {
        match self.scheduling.split_once(' ') {
            Some(("SCHED_RR" | "SCHED_FIFO", p)) => p.parse().unwrap_or(0),
            _ => 0,
        }
    }
}

/// Applies `cfg` to the calling thread (the event loop's) and the process; logs and returns
/// the outcome.
pub fn apply(cfg: &ProcessConfig) -> ProcessStatus {
    let mut status = ProcessStatus::default();
    if let Some(priority) = cfg.realtime_priority {
        match set_round_robin(priority) {
            Ok(()) => info!(priority, "event loop thread runs SCHED_RR"),
            Err(e) => status.errors.push(refused_realtime(e, priority)),
        }
    }
    if cfg.lock_memory {
        match mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
            Ok(()) => {
                status.memory_locked = true;
                info!("memory locked (mlockall): never paged out");
            }
            Err(e) => status.errors.push(refused_lock(e)),
        }
    }
    for e in &status.errors {
        warn!("{e}; running on without it");
    }
    status.scheduling = scheduling().unwrap_or_else(|e| format!("unknown ({e})"));
    status
}

fn set_round_robin(priority: u8) -> Result<(), Errno> {
    let param = libc::sched_param {
        sched_priority: priority.into(),
    };
    // SAFETY: `param` is a valid sched_param for the call's duration; pid 0 is this thread.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | SCHED_RESET_ON_FORK, &param) };
    Errno::result(r).map(drop)
}

fn refused_realtime(e: Errno, priority: u8) -> String {
    match e {
        Errno::EPERM => format!(
            "process.realtime_priority = {priority}: not permitted: SCHED_RR needs the \
             CAP_SYS_NICE capability (or RLIMIT_RTPRIO >= {priority}; with real-time group \
             scheduling, a cgroup with real-time runtime)"
        ),
        e => format!("process.realtime_priority = {priority}: sched_setscheduler: {e}"),
    }
}

fn refused_lock(e: Errno) -> String {
    match e {
        Errno::EPERM => "process.lock_memory: not permitted: mlockall needs the CAP_IPC_LOCK \
                         capability"
            .to_owned(),
        Errno::ENOMEM => "process.lock_memory: mlockall: the daemon's memory exceeds \
                          RLIMIT_MEMLOCK; it needs the CAP_IPC_LOCK capability or a larger limit"
            .to_owned(),
        e => format!("process.lock_memory: mlockall: {e}"),
    }
}

/// The calling thread's policy and priority, e.g. `SCHED_RR 10`.
pub fn scheduling() -> io::Result<String> {
    // SAFETY: plain queries of the calling thread (pid 0); `param` outlives the call.
    let policy = Errno::result(unsafe { libc::sched_getscheduler(0) })?;
    let mut param = libc::sched_param { sched_priority: 0 };
    Errno::result(unsafe { libc::sched_getparam(0, &mut param) })?;
    let name = match policy & !SCHED_RESET_ON_FORK {
        libc::SCHED_OTHER => return Ok("SCHED_OTHER".into()),
        libc::SCHED_FIFO => "SCHED_FIFO",
        libc::SCHED_RR => "SCHED_RR",
        libc::SCHED_BATCH => return Ok("SCHED_BATCH".into()),
        libc::SCHED_IDLE => return Ok("SCHED_IDLE".into()),
        other => return Ok(format!("policy {other}")),
    };
    Ok(format!("{name} {}", param.sched_priority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_missing_capability() {
        let e = refused_realtime(Errno::EPERM, 10);
        assert!(
            e.contains("CAP_SYS_NICE") && e.contains("RLIMIT_RTPRIO >= 10"),
            "{e}"
        );
        assert!(refused_lock(Errno::EPERM).contains("CAP_IPC_LOCK"));
        assert!(refused_lock(Errno::ENOMEM).contains("RLIMIT_MEMLOCK"));
    }
}
