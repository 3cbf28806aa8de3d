//! `[supervise]`: the service vrrpd runs as its child.

use std::time::Duration;

use super::ConfigError;
use super::raw::*;
use super::validate::Validator;

/// `[supervise]`: the service vrrpd runs as its child (nginx in a container). When the child
/// exits, vrrpd steps down and exits with an error, so that the container's restart policy
/// restarts both; on SIGTERM the child gets SIGTERM after the step-down and `grace` to finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperviseConfig {
    pub command: Vec<String>,
    pub grace: Duration,
}

/// Time a supervised child gets between SIGTERM and SIGKILL unless `supervise.grace` says.
pub const DEFAULT_SUPERVISE_GRACE: Duration = Duration::from_secs(5);

impl Validator<'_> {
    pub(super) fn supervise(&self, raw: &RawSupervise) -> Result<SuperviseConfig, ConfigError> {
        if raw.command.get_ref().is_empty() || raw.command.get_ref()[0].is_empty() {
            return self.err(
                raw.command.span(),
                "the command is an argv list and needs a program",
            );
        }
        let grace = raw
            .grace
            .as_ref()
            .map_or(DEFAULT_SUPERVISE_GRACE, |t| t.get_ref().0);
        Ok(SuperviseConfig {
            command: raw.command.get_ref().clone(),
            grace,
        })
    }
}
