//! The data path as one object with the orderings that matter built in: start (sysctls, TAP,
//! bridge, stale VIPs), a router entering / leaving Active, one turn of reading, and shutdown.
//!
//! The event loop (daemon.rs) owns a [`DataPath`] and, per turn:
//! ```text
//! select! {
//!     r = dp.tap.recv_batch() => { r?; dp.classify(); /* Stack::poll_ingress(.., &mut dp.tap, ..) */ }
//!     _ = sleep_until(deadline) => { /* Stack::poll(.., &mut dp.tap, ..) */ }
//!     ...
//! }
//! ```
//! and on the core's claim / release actions calls [`DataPath::activate`] /
//! [`DataPath::deactivate`].

use std::net::Ipv4Addr;

use crate::layout::{self, Layout, LayoutError, LayoutSpec};
use crate::relay::Relay;
use crate::sysctl::{self, SysctlError};
use crate::tap::{self, DrainStats, Tap};

#[derive(Debug, thiserror::Error)]
pub enum DataPathError {
    /// The kernel settings cannot be made: exit 2 with this message.
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("TAP {name}: {source}")]
    Tap {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

impl DataPathError {
    /// Whether this is the operator's to fix before a restart can succeed (exit code 2), as
    /// opposed to a runtime failure.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            DataPathError::Sysctl(_)
                | DataPathError::Layout(
                    LayoutError::NoSuchLink(_)
                        | LayoutError::Foreign { .. }
                        | LayoutError::UplinkEnslaved { .. }
                )
        )
    }
}

pub struct DataPath {
    pub tap: Tap,
    pub relay: Relay,
    layout: Layout,
}

impl DataPath {
    /// Makes the kernel settings (before touching any interface, so a read-only /proc/sys
    /// changes nothing), opens the TAP sized for the uplink's MTU, applies the layout (undoing
    /// what a crashed run left first), and removes any of `vips` found on `lo`.
    pub async fn start(spec: &LayoutSpec, vips: &[Ipv4Addr]) -> Result<DataPath, DataPathError> {
        // The bridge does not exist yet, so this settles `conf/all`, which the kernel combines
        // with the bridge's own value by maximum.
        for c in sysctl::ensure_vip_sysctls(&spec.bridge)? {
            tracing::info!(key = %c.key, from = c.from, to = c.to, "sysctl set");
        }
        let mtu = layout::uplink_mtu(&spec.uplink).await?;
        let tap = Tap::open(&spec.tap, mtu as usize, tap::DEFAULT_BATCH).map_err(|source| {
            DataPathError::Tap {
                name: spec.tap.clone(),
                source,
            }
        })?;
        let mut layout = Layout::apply(spec).await?;
        let vips: Vec<_> = vips.iter().map(|&v| v.into()).collect();
        match layout.remove_stale_vips(&vips).await {
            Ok(removed) if !removed.is_empty() => {
                tracing::warn!(?removed, "removed VIPs left on lo by an earlier run");
            }
            Ok(_) => {}
            Err(e) => {
                drop(tap);
                let _ = layout.restore().await;
                return Err(e.into());
            }
        }
        tracing::info!(uplink = %spec.uplink, bridge = %spec.bridge, tap = %spec.tap, mtu,
            "data path up");
        Ok(DataPath {
            tap,
            relay: Relay::new(layout.bridge_mac()),
            layout,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Router `vrid` became Active: its VIPs become local addresses first, then the relay starts,
    /// so no relayed frame meets a kernel that does not own the VIP yet.
    pub async fn activate(&mut self, vrid: u8, vips: &[Ipv4Addr]) -> Result<(), LayoutError> {
        for &vip in vips {
            self.layout.add_vip(vip.into()).await?;
        }
        let vips: Vec<std::net::IpAddr> = vips.iter().map(|&v| v.into()).collect();
        self.relay.serve(vrid, &vips);
        Ok(())
    }

    /// Router `vrid` left Active: the relay stops first, then the VIPs leave `lo`.
    pub async fn deactivate(&mut self, vrid: u8, vips: &[Ipv4Addr]) -> Result<(), LayoutError> {
        self.relay.stop(vrid);
        let mut first_err = None;
        // Every VIP gets its chance to go even if one removal fails.
        for &vip in vips {
            if let Err(e) = self.layout.remove_vip(vip.into()).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Relays VIP traffic and drops what is nobody's from the batch just read; what remains is for
    /// the smoltcp interface(s).
    pub fn classify(&mut self) -> DrainStats {
        let relay = &self.relay;
        self.tap.drain_with(|frame| relay.verdict(frame))
    }

    /// Stops relaying, closes the TAP and puts the uplink back as it was (VIPs off `lo`).
    pub async fn shutdown(self) -> Result<(), LayoutError> {
        let DataPath { tap, layout, .. } = self;
        drop(tap);
        layout.restore().await
    }
}
