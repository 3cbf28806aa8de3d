//! The daemon's virtual routers: the core's [`vrrp_core::net::AnyStack`] (IPv4 and IPv6 routers
//! side by side, events with `IpAddr`s) at this build's capacity, on socket memory that lives as
//! long as the daemon.

use std::net::IpAddr;

use smoltcp::phy::Device;
use vrrp_core::net::{Buffers, Event as CoreEvent, Resources};
use vrrp_core::{ConfigError, Instant};

use crate::config::{CoreConfig, MAX_ADDRS};

/// The core's events with the addresses widened to [`IpAddr`], whatever the router's family.
pub type Event = CoreEvent<IpAddr>;

pub type AnyStack = vrrp_core::net::AnyStack<'static, MAX_ADDRS>;

/// A stack for `core`. It borrows its socket storage for its whole life; a router lives as long
/// as the daemon (a reload that changes its protocol leaks one set, a few KB).
pub fn new_stack<D: Device + ?Sized>(
    core: CoreConfig,
    device: &mut D,
    now: Instant,
) -> Result<AnyStack, ConfigError> {
    let resources = Box::leak(Box::new(Resources::new()));
    let buffers = Box::leak(Box::new(Buffers::new()));
    AnyStack::new(core.0, device, resources, buffers, now)
}
