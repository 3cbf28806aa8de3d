//! FRR vrrpd (Debian `frr`) as a peer: zebra + vrrpd in a router namespace.

use crate::lab::{Lab, ProcId};
use crate::router::{State, VrrpParams};

/// zebra.
pub const ZEBRA: &str = "/usr/lib/frr/zebra";
/// vrrpd.
pub const VRRPD: &str = "/usr/lib/frr/vrrpd";
/// vtysh.
pub const VTYSH: &str = "/usr/bin/vtysh";

/// zebra + vrrpd running in a node.
pub struct Frr {
    procs: Vec<ProcId>,
}

impl Frr {
    /// Starts FRR in `node`.
    pub fn start(_lab: &Lab, _node: &str, _params: &VrrpParams) -> Frr {
        unimplemented!("FRR seat")
    }

    /// The processes (zebra, vrrpd).
    pub fn procs(&self) -> Vec<ProcId> {
        self.procs.clone()
    }

    /// State of VRID `vrid` as vrrpd reports it.
    pub fn state(&self, _lab: &Lab, _vrid: u8) -> State {
        State::Unknown
    }
}
