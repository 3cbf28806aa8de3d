//! `vrrpd`: the VRRP daemon for Linux (see `vrrpd --help`).

// The daemon-facing APIs (health, hooks, status, parts of config and cli) have no caller in
// the binary until daemon.rs drives them; remove these allows when it does.
#[allow(dead_code)]
mod cli;
#[allow(dead_code)]
mod config;
#[allow(dead_code)]
mod health;
#[allow(dead_code)]
mod hooks;
mod logging;
#[allow(dead_code)]
mod status;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, RunError, RunOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config, log_format } => {
            let cfg = match cli::load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let log_format = log_format.unwrap_or(cfg.log.format);
            if let Err(e) = logging::init(log_format, &cfg.log.level) {
                eprintln!("vrrpd: logging: {e}");
                return ExitCode::from(2);
            }
            let opts = RunOptions {
                config_path: config,
                log_format,
            };
            match run(cfg, opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // Logging is up, and its format is what the operator asked for.
                    tracing::error!("{e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
        Command::Check { config } => cli::check(&config),
        Command::Status { json, addr, config } => cli::status(json, addr, config),
    }
}

/// The daemon proper. The event loop replaces this call with `daemon::run(cfg, opts)`.
fn run(cfg: config::Config, opts: RunOptions) -> Result<(), RunError> {
    cli::run_daemon(cfg, opts)
}
