//! What `vrrpd run` hands to the daemon, and how the daemon fails.

use std::path::PathBuf;

use crate::config::ConfigError;

/// What `vrrpd run` hands to the daemon besides the validated config.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The file `config` came from, re-read on SIGHUP.
    pub config_path: PathBuf,
}

/// Why the daemon stopped with an error. [`exit_code`](RunError::exit_code) maps it.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A configuration value the daemon refuses at start (exit 2), e.g. from
    /// [`crate::config::RouterConfig::to_core`] with the interface's address.
    #[error("{}", .0.render())]
    Config(#[from] ConfigError),
    /// The host cannot run this configuration and the operator must change something
    /// (exit 2). The message says exactly what, e.g. which sysctl to set.
    #[error("{0}")]
    Setup(String),
    /// Anything else (exit 1).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) | RunError::Setup(_) => 2,
            RunError::Io(_) | RunError::Other(_) => 1,
        }
    }
}
