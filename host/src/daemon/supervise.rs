//! The service vrrpd runs as its child (`[supervise]`), so that in a container one process owns
//! both and the restart policy sees either die.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tracing::{info, warn};

use super::RunError;
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
    pub async fn terminate(mut self) {
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

/// Resolves when the supervised child exits; never, when there is none.
pub(super) async fn wait_child(child: &mut Option<Supervised>) -> String {
    match child {
        Some(c) => match c.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("wait failed: {e}"),
        },
        None => std::future::pending().await,
    }
}
