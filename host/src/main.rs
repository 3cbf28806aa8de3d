//! `vrrpd`: the VRRP daemon for Linux (see `vrrpd --help`).

mod cli;
mod config;
mod daemon;
// Not wired into the daemon yet: only its tests use it.
#[cfg_attr(not(test), allow(dead_code))]
mod fastpath;
mod health;
mod hooks;
mod import;
mod layout;
mod logging;
mod proc_events;
mod relay;
mod stack;
mod status;
mod sysctl;
mod tap;
mod timer;
mod unicast;

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
        Command::ImportKeepalived { file, output } => import::run(&file, output.as_deref()),
    }
}

fn run(cfg: config::Config, opts: RunOptions) -> Result<(), RunError> {
    daemon::run(cfg, opts)
}
