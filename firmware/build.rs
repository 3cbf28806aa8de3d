//! Puts memory.x where cortex-m-rt's link.x finds it, and links with link.x and defmt.x. Here
//! rather than in .cargo/config.toml `rustflags`, which a RUSTFLAGS variable in the environment
//! would replace.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    // defmt's interned format strings go to a section of their own, kept out of flash.
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rerun-if-changed=memory.x");
}
