//! The service vrrpd runs as its child (`[supervise]`), so that in a container one process owns
//! both and the restart policy sees either die.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tracing::{info, warn};

use tokio::sync::oneshot;

use super::RunError;
use super::services::{Notice, Notifier};
use crate::config::SuperviseConfig;

pub(super) struct Supervised {
    pub name: String,
    child: tokio::process::Child,
    grace: Duration,
}

impl Supervised {
    pub fn spawn(cfg: &SuperviseConfig) -> Result<Supervised, RunError> {
        let name = cfg.command[0].clone();
        let mut cmd = tokio::process::Command::new(&cfg.command[0]);
        cmd.args(&cfg.command[1..]).kill_on_drop(true);
        for var in super::systemd::ENV {
            cmd.env_remove(var);
        }
        let child = cmd
            .spawn()
            .map_err(|e| RunError::Setup(format!("supervise.command {name}: {e}")))?;
        info!(process = %name, pid = child.id(), "started supervised process");
        Ok(Supervised {
            name,
            child,
            grace: cfg.grace,
        })
    }

    /// SIGTERM, then SIGKILL after the grace period.
    async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            // Our own child's pid: it cannot have been reaped and reused because we hold the
            // `Child` and have not waited on it.
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
        match tokio::time::timeout(self.grace, self.child.wait()).await {
            Ok(Ok(status)) => info!(process = %self.name, %status, "supervised process stopped"),
            Ok(Err(e)) => warn!(process = %self.name, "waiting for the supervised process: {e}"),
            Err(_) => {
                warn!(process = %self.name, "supervised process ignored SIGTERM: killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// The supervised service as the event loop holds it; its watcher runs on the services thread.
pub(super) struct Watched {
    terminate: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl Supervised {
    /// Watches the child on the current runtime: its exit goes to `notifier`, and
    /// [`Watched::terminate`] (or dropping the [`Watched`]) stops it.
    pub fn watch(mut self, notifier: Notifier) -> Watched {
        let (terminate, term_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        tokio::spawn(async move {
            let exited = tokio::select! {
                status = self.child.wait() => Some(match status {
                    Ok(status) => status.to_string(),
                    Err(e) => format!("wait failed: {e}"),
                }),
                _ = term_rx => None,
            };
            match exited {
                Some(status) => notifier.send(Notice::ChildExited(self.name.clone(), status)),
                None => self.terminate().await,
            }
            let _ = done_tx.send(());
        });
        Watched { terminate, done }
    }
}

impl Watched {
    /// SIGTERM, then SIGKILL after the grace period; resolves when the child is gone.
    pub async fn terminate(self) {
        let _ = self.terminate.send(());
        let _ = self.done.await;
    }
}
