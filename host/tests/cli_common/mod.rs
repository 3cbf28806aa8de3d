//! What the command-line test binaries share.

use std::process::{Command, Output};

/// Runs the `vrrpd` binary with `args`, without the caller's `RUST_LOG`.
pub fn vrrpd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("vrrpd runs")
}
