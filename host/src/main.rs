//! `vrrpd`: the VRRP daemon for Linux (see `vrrpd --help`).

mod cli;
mod config;
mod logging;
mod status;

fn main() -> std::process::ExitCode {
    cli::main()
}
