//! `[process]` applied for real: SCHED_RR on the calling thread (not inherited by the threads
//! it starts) and locked memory. Needs CAP_SYS_NICE and CAP_IPC_LOCK (root); without them it
//! checks that the refusal names the missing capability, and says that it skipped the rest.

use vrrp_host::config::ProcessConfig;
use vrrp_host::process::{apply, scheduling};

/// Whether the effective capability set has capability number `cap` (linux/capability.h).
fn has_cap(cap: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << cap) != 0)
}

const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_NICE: u32 = 23;

/// `VmLck` of this process in kB.
fn locked_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmLck in /proc/self/status")
}

/// The `policy` line of /proc/thread-self/sched: 0 SCHED_OTHER, 2 SCHED_RR.
fn proc_policy() -> u32 {
    let sched = std::fs::read_to_string("/proc/thread-self/sched").unwrap();
    sched
        .lines()
        .find(|l| l.starts_with("policy"))
        .and_then(|l| l.split(':').nth(1)?.trim().parse().ok())
        .expect("policy in /proc/thread-self/sched")
}

#[test]
fn realtime_priority_and_lock_memory_are_applied() {
    // A thread of its own: the policy is per thread.
    std::thread::spawn(|| {
        assert_eq!(scheduling().unwrap(), "SCHED_OTHER");
        let cfg = ProcessConfig {
            realtime_priority: Some(7),
            lock_memory: true,
        };
        let status = apply(&cfg);
        if has_cap(CAP_SYS_NICE) && status.errors.iter().all(|e| !e.contains("CAP_SYS_NICE")) {
            assert_eq!(status.scheduling, "SCHED_RR 7");
            assert_eq!(proc_policy(), 2, "the kernel's view of the thread");
            // Threads (and processes) it starts run with normal scheduling.
            let child = std::thread::spawn(|| (scheduling().unwrap(), proc_policy()))
                .join()
                .unwrap();
            assert_eq!(child, ("SCHED_OTHER".to_owned(), 0));
        } else {
            // Without the capability (or, with CAP_SYS_NICE, a cgroup without real-time
            // runtime): refused, said why, and the thread runs on as it was.
            assert_eq!(status.scheduling, "SCHED_OTHER");
            assert!(
                status
                    .errors
                    .iter()
                    .any(|e| e.contains("realtime_priority = 7")),
                "{status:?}"
            );
            eprintln!("skipped the SCHED_RR checks: {:?}", status.errors);
        }
        if has_cap(CAP_IPC_LOCK) {
            assert!(status.memory_locked, "{status:?}");
            assert!(locked_kb() > 0, "VmLck is 0 after mlockall");
        } else {
            assert!(!status.memory_locked);
            assert!(
                status.errors.iter().any(|e| e.contains("CAP_IPC_LOCK")),
                "{status:?}"
            );
            eprintln!("skipped the mlockall checks: no CAP_IPC_LOCK");
        }
    })
    .join()
    .unwrap();
}

#[test]
fn nothing_asked_nothing_changed() {
    std::thread::spawn(|| {
        let status = apply(&ProcessConfig::default());
        assert_eq!(status.scheduling, "SCHED_OTHER");
        assert!(!status.memory_locked && status.errors.is_empty());
        assert_eq!(locked_kb(), 0);
    })
    .join()
    .unwrap();
}
