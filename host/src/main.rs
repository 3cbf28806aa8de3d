//! `vrrpd`: the VRRP daemon for Linux (see `vrrpd --help`).

use std::process::ExitCode;

use clap::Parser;
use vrrp_host::cli::{self, Cli};

fn main() -> ExitCode {
    cli::main(Cli::parse())
}
