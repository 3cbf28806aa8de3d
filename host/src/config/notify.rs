//! `[[notify]]`: the hooks run on every state change.

use std::time::Duration;

use super::ConfigError;
use super::raw::*;
use super::scripts::{RunAs, ScriptsConfig};
use super::validate::Validator;

pub(super) const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One notify hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub command: Vec<String>,
    pub timeout: Duration,
    /// The user and group it runs as (`None`: vrrpd's own).
    pub run_as: Option<RunAs>,
}

impl Validator<'_> {
    pub(super) fn notify(
        &self,
        raw: &RawNotify,
        scripts: &ScriptsConfig,
    ) -> Result<NotifyConfig, ConfigError> {
        if raw.command.get_ref().is_empty() || raw.command.get_ref()[0].is_empty() {
            return self.err(
                raw.command.span(),
                "the command is an argv list and needs a program",
            );
        }
        self.command_safe(scripts, &raw.command)?;
        let run_as = self.command_user(scripts, raw.user.as_ref(), raw.group.as_ref())?;
        let timeout = raw
            .timeout
            .as_ref()
            .map_or(DEFAULT_HOOK_TIMEOUT, |t| t.get_ref().0);
        if timeout.is_zero() {
            return self.err(
                raw.timeout.as_ref().unwrap().span(),
                "a hook timeout must be more than 0",
            );
        }
        Ok(NotifyConfig {
            command: raw.command.get_ref().clone(),
            timeout,
            run_as,
        })
    }
}
