//! `[[notify]]`: the hooks run on every state change.

use std::time::Duration;

use super::ConfigError;
use super::raw::*;
use super::validate::Validator;

pub(super) const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One notify hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub command: Vec<String>,
    pub timeout: Duration,
}

impl Validator<'_> {
    pub(super) fn notify(&self, raw: &RawNotify) -> Result<NotifyConfig, ConfigError> {
        if raw.command.get_ref().is_empty() || raw.command.get_ref()[0].is_empty() {
            return self.err(
                raw.command.span(),
                "the command is an argv list and needs a program",
            );
        }
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
        })
    }
}
