//! Notify hooks: a command run on every state change of a virtual router.
//!
//! The command (`[[notify]] command = [...]`, an argv list, no shell) runs with these variables
//! added to vrrpd's environment:
//!
//! | variable              | value                                                         |
//! |-----------------------|---------------------------------------------------------------|
//! | `VRRP_STATE`          | the new state: `Initialize`, `Backup` or `Active`             |
//! | `VRRP_PREVIOUS_STATE` | the state it left                                             |
//! | `VRRP_VRID`           | the virtual router ID, `1`..`255`                             |
//! | `VRRP_REASON`         | `startup`, `address_owner`, `active_down`, `higher_priority`, `fault` or `shutdown` |
//! | `VRRP_PRIORITY`       | the effective priority at the change (0 while a fault check is down) |
//! | `VRRP_INTERFACE`      | the router's uplink interface                                 |
//! | `VRRP_VIPS`           | the virtual addresses, separated by spaces                    |
//!
//! [`Hooks::notify`] never blocks and never fails: each hook has its own task that runs the
//! events in order, one at a time, so a hook always sees the transitions in the order they
//! happened and the last one it runs is the current state. A hook that outlives its timeout is
//! killed with its whole process group. stdin and stdout are `/dev/null`; the end of stderr is
//! logged with the exit status when a hook fails. A hook runs as its `run_as` user and group
//! (see [`crate::config::ScriptsConfig`]: `nobody` by default when vrrpd is root).

use std::fmt;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Pid, Uid};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vrrp_core::{Reason, State};

use crate::config::{NotifyConfig, RunAs};

/// A state change, as the daemon saw it in `Action::StateChange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEvent {
    pub vrid: u8,
    pub from: State,
    pub to: State,
    pub reason: Reason,
    /// The effective priority at the change.
    pub priority: u8,
    pub vips: Vec<IpAddr>,
    /// The router's uplink.
    pub interface: String,
}

impl StateEvent {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VRRP_STATE", self.to.as_str().to_owned()),
            ("VRRP_PREVIOUS_STATE", self.from.as_str().to_owned()),
            ("VRRP_VRID", self.vrid.to_string()),
            ("VRRP_REASON", self.reason.as_str().to_owned()),
            ("VRRP_PRIORITY", self.priority.to_string()),
            ("VRRP_INTERFACE", self.interface.clone()),
            (
                "VRRP_VIPS",
                self.vips
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ]
    }
}

/// How one run of a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// `stderr` is the last line the command wrote there (at most 200 bytes), if any.
    Exited {
        code: i32,
        stderr: String,
    },
    Signaled {
        signal: i32,
        stderr: String,
    },
    /// Killed (with its process group) after the timeout.
    TimedOut(Duration),
    SpawnFailed(String),
}

impl CommandOutcome {
    pub fn success(&self) -> bool {
        matches!(self, CommandOutcome::Exited { code: 0, .. })
    }
}

impl fmt::Display for CommandOutcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let tail = |f: &mut fmt::Formatter, s: &str| {
            if s.is_empty() {
                Ok(())
            } else {
                write!(f, ": {s}")
            }
        };
        match self {
            CommandOutcome::Exited { code, stderr } => {
                write!(f, "exit status {code}")?;
                tail(f, stderr)
            }
            CommandOutcome::Signaled { signal, stderr } => {
                write!(f, "killed by signal {signal}")?;
                tail(f, stderr)
            }
            CommandOutcome::TimedOut(t) => write!(
                f,
                "timed out after {}, killed",
                crate::config::format_duration(*t)
            ),
            CommandOutcome::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// Kills the process group on drop unless disarmed: a command abandoned by a timeout (or by
/// the caller dropping its future) must not outlive it, children included.
struct GroupKill(Option<i32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // The group leader has not been reaped (we never saw it exit), so its pgid cannot
            // have been reused.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

/// Runs `argv` with `env` added, as `run_as` (else as vrrpd), killing its process group after
/// `timeout`.
pub async fn run_command(
    argv: &[String],
    env: &[(&str, String)],
    timeout: Duration,
    run_as: Option<&RunAs>,
) -> CommandOutcome {
    let Some((program, args)) = argv.split_first() else {
        return CommandOutcome::SpawnFailed("empty command".into());
    };
    let mut cmd = Command::new(program);
    for var in crate::daemon::systemd::ENV {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own group, so that a timeout kills what a shell script started too.
        .process_group(0)
        // The runtime reaps what a timeout abandons.
        .kill_on_drop(true);
    if let Some(r) = run_as {
        let (uid, gid) = match r.ids() {
            Ok(ids) => ids,
            Err(e) => return CommandOutcome::SpawnFailed(format!("{program}: as {r}: {e}")),
        };
        if uid != Uid::effective().as_raw() || gid != Gid::effective().as_raw() {
            // std sets the group, clears the supplementary groups (setgroups) and then sets
            // the user: the command keeps none of root's groups.
            cmd.uid(uid).gid(gid);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return CommandOutcome::SpawnFailed(format!("{program}: {e}")),
    };
    let mut guard = GroupKill(child.id().and_then(|id| i32::try_from(id).ok()));
    let mut stderr = child.stderr.take();
    let run = async {
        let mut tail = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let mut buf = [0u8; 4096];
            // Keep only the end: a chatty command must not grow vrrpd's memory.
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 8192 {
                    tail.drain(..tail.len() - 4096);
                }
            }
        }
        (child.wait().await, tail)
    };
    let (status, tail) = match tokio::time::timeout(timeout, run).await {
        Ok(done) => done,
        Err(_) => return CommandOutcome::TimedOut(timeout),
    };
    guard.0 = None;
    let stderr = last_line(&tail);
    match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            match (s.code(), s.signal()) {
                (Some(code), _) => CommandOutcome::Exited { code, stderr },
                (None, Some(signal)) => CommandOutcome::Signaled { signal, stderr },
                (None, None) => CommandOutcome::Exited { code: -1, stderr },
            }
        }
        Err(e) => CommandOutcome::SpawnFailed(format!("{program}: wait: {e}")),
    }
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.trim_end().rsplit('\n').next().unwrap_or("").trim();
    let mut end = line.len().min(200);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_owned()
}

/// What one hook run did, for tests and for whoever wants to count hook failures.
#[derive(Debug, Clone)]
pub struct HookReport {
    pub command: String,
    pub event: StateEvent,
    pub outcome: CommandOutcome,
    pub elapsed: Duration,
}

/// The running hooks. Dropping it lets queued runs finish in the background; [`close`] waits.
///
/// [`close`]: Hooks::close
pub struct Hooks {
    queues: Vec<mpsc::UnboundedSender<StateEvent>>,
    workers: Vec<JoinHandle<()>>,
}

impl Hooks {
    /// Starts one worker task per hook. Must be called inside a tokio runtime.
    pub fn spawn(hooks: &[NotifyConfig]) -> Hooks {
        Hooks::spawn_reporting(hooks, None)
    }

    /// As [`spawn`](Self::spawn), also sending a [`HookReport`] after every run.
    pub fn spawn_reporting(
        hooks: &[NotifyConfig],
        reports: Option<mpsc::UnboundedSender<HookReport>>,
    ) -> Hooks {
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for hook in hooks {
            let (tx, mut rx) = mpsc::unbounded_channel::<StateEvent>();
            let hook = hook.clone();
            let reports = reports.clone();
            workers.push(tokio::spawn(async move {
                let shown = hook.command.join(" ");
                while let Some(event) = rx.recv().await {
                    let started = tokio::time::Instant::now();
                    let outcome = run_command(
                        &hook.command,
                        &event.env(),
                        hook.timeout,
                        hook.run_as.as_ref(),
                    )
                    .await;
                    let elapsed = started.elapsed();
                    if outcome.success() {
                        tracing::debug!(vrid = event.vrid, hook = %shown, ?elapsed, "notify hook done");
                    } else {
                        tracing::warn!(
                            vrid = event.vrid,
                            hook = %shown,
                            state = %event.to,
                            "notify hook failed: {outcome}"
                        );
                    }
                    if let Some(r) = &reports {
                        let _ = r.send(HookReport {
                            command: shown.clone(),
                            event,
                            outcome,
                            elapsed,
                        });
                    }
                }
            }));
            queues.push(tx);
        }
        Hooks { queues, workers }
    }

    /// Queues `event` for every hook and returns at once.
    pub fn notify(&self, event: &StateEvent) {
        for q in &self.queues {
            // Fails only if the worker is gone, i.e. the runtime is shutting down.
            let _ = q.send(event.clone());
        }
    }

    /// Stops accepting events and waits for the queued runs (each bounded by its timeout),
    /// so that the `shutdown` hooks of a SIGTERM have run when vrrpd exits.
    pub async fn close(self) {
        drop(self.queues);
        for w in self.workers {
            let _ = w.await;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    fn event(to: State) -> StateEvent {
        StateEvent {
            vrid: 51,
            from: State::Backup,
            to,
            reason: Reason::ActiveDown,
            priority: 150,
            vips: vec![
                Ipv4Addr::new(192, 0, 2, 100).into(),
                Ipv4Addr::new(192, 0, 2, 101).into(),
            ],
            interface: "eth0".into(),
        }
    }

    fn sh(script: &str, timeout: Duration) -> NotifyConfig {
        NotifyConfig {
            command: vec!["/bin/sh".into(), "-c".into(), script.into()],
            timeout,
            run_as: None,
        }
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn alive(pid: i32) -> bool {
        // A killed process may linger as a zombie until someone reaps it: that is dead.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    }

    /// Waits until `pid` has died, for at most 5 s: SIGKILL is asynchronous, kill(2) returns
    /// before the target is gone.
    pub(crate) async fn dies(pid: i32) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    fn read_env(path: &Path) -> std::collections::BTreeMap<String, String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.starts_with("VRRP_"))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hook_sees_the_documented_environment() {
        let dir = tempdir();
        let out: PathBuf = dir.path().join("env");
        let hook = sh(&format!("env > {}", out.display()), Duration::from_secs(10));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hooks = Hooks::spawn_reporting(&[hook], Some(tx));
        hooks.notify(&event(State::Active));
        let report = rx.recv().await.unwrap();
        assert!(report.outcome.success(), "{}", report.outcome);
        let env = read_env(&out);
        let expect = [
            ("VRRP_STATE", "Active"),
            ("VRRP_PREVIOUS_STATE", "Backup"),
            ("VRRP_VRID", "51"),
            ("VRRP_REASON", "active_down"),
            ("VRRP_PRIORITY", "150"),
            ("VRRP_INTERFACE", "eth0"),
            ("VRRP_VIPS", "192.0.2.100 192.0.2.101"),
        ];
        for (k, v) in expect {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k} in {env:?}");
        }
        assert_eq!(env.len(), expect.len(), "undocumented variables: {env:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn slow_hook_never_delays_the_caller_and_is_killed() {
        let dir = tempdir();
        let pidfile = dir.path().join("pid");
        // The shell records the pid of a grandchild: the timeout must kill the whole group.
        let hook = sh(
            &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
            Duration::from_millis(300),
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hooks = Hooks::spawn_reporting(&[hook], Some(tx));

        let before = Instant::now();
        for _ in 0..3 {
            hooks.notify(&event(State::Active));
        }
        let spent = before.elapsed();
        // notify is synchronous: it cannot have waited for a 30 s hook, whatever the load.
        assert!(spent < Duration::from_millis(100), "notify took {spent:?}");
        assert!(rx.try_recv().is_err(), "no hook can have finished yet");

        let report = rx.recv().await.unwrap();
        assert_eq!(
            report.outcome,
            CommandOutcome::TimedOut(Duration::from_millis(300))
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            dies(pid).await,
            "the hook's child {pid} survived the timeout"
        );
        // The queued runs still happen, in order, each with its own timeout.
        for _ in 0..2 {
            assert!(matches!(
                rx.recv().await.unwrap().outcome,
                CommandOutcome::TimedOut(_)
            ));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hooks_run_in_order_one_at_a_time() {
        let dir = tempdir();
        let log = dir.path().join("log");
        // A slow first run: were runs concurrent, "Backup" would be written before "Active".
        let hook = sh(
            &format!(
                "if [ \"$VRRP_STATE\" = Active ]; then sleep 0.3; fi; echo $VRRP_STATE >> {}",
                log.display()
            ),
            Duration::from_secs(10),
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hooks = Hooks::spawn_reporting(&[hook], Some(tx));
        hooks.notify(&event(State::Active));
        hooks.notify(&event(State::Backup));
        hooks.notify(&event(State::Initialize));
        hooks.close().await;
        let mut states = Vec::new();
        while let Ok(r) = rx.try_recv() {
            states.push(r.event.to);
        }
        assert_eq!(states, [State::Active, State::Backup, State::Initialize]);
        let written = std::fs::read_to_string(&log).unwrap();
        assert_eq!(written, "Active\nBackup\nInitialize\n");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn failures_are_reported_with_status_and_stderr() {
        let env = [];
        let t = Duration::from_secs(10);
        let out = run_command(
            &[
                "/bin/sh".into(),
                "-c".into(),
                "echo first >&2; echo 'it broke' >&2; exit 3".into(),
            ],
            &env,
            t,
            None,
        )
        .await;
        assert_eq!(
            out,
            CommandOutcome::Exited {
                code: 3,
                stderr: "it broke".into()
            }
        );
        assert_eq!(out.to_string(), "exit status 3: it broke");
        let out = run_command(
            &["/bin/sh".into(), "-c".into(), "kill -TERM $$".into()],
            &env,
            t,
            None,
        )
        .await;
        assert!(
            matches!(out, CommandOutcome::Signaled { signal, .. } if signal == Signal::SIGTERM as i32),
            "{out}"
        );
        let out = run_command(&["/nonexistent/hook".into()], &env, t, None).await;
        assert!(matches!(out, CommandOutcome::SpawnFailed(_)), "{out}");
        assert!(
            run_command(&["/bin/true".into()], &env, t, None)
                .await
                .success()
        );
    }

    #[test]
    fn last_line_is_bounded() {
        assert_eq!(last_line(b"a\nb\n\n"), "b");
        assert_eq!(last_line("é".repeat(300).as_bytes()).len(), 200);
        assert_eq!(last_line(b""), "");
    }
}
