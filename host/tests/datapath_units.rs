//! Runs the unit tests inside the data-path modules, which the binary may not declare yet.

#[allow(dead_code)]
#[path = "../src/layout.rs"]
mod layout;
#[allow(dead_code)]
#[path = "../src/relay.rs"]
mod relay;
#[allow(dead_code)]
#[path = "../src/sysctl.rs"]
mod sysctl;
#[allow(dead_code)]
#[path = "../src/tap.rs"]
mod tap;
