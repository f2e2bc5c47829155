//! How a simulator starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::engine::Timing;

/// The name of the demo's backup appliance VM.
pub const APPLIANCE_VM: &str = "backup-appliance";

/// A simulator's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Where the engine listens (HTTPS and plain HTTP on one port; port 0: ephemeral).
    pub listen: SocketAddr,
    /// The user SSO accepts (with its `@domain`).
    pub user: String,
    /// Its password.
    pub password: String,
    /// How long the background work takes.
    pub timing: Timing,
    /// Where disks attached to the appliance are linked by serial (`virtio-<serial>`).
    pub by_id_dir: PathBuf,
    /// Create the demo VMs (`vm1` with a raw and a cow disk holding data, `vm2`, and the
    /// backup appliance).
    pub demo: bool,
    /// Run the imageio daemon at DEBUG (every read, write and zero is logged).
    pub imageio_debug: bool,
    /// Each storage domain's capacity, in bytes.
    pub storage_size: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            user: "admin@internal".to_owned(),
            password: "ovirt-sim-secret".to_owned(),
            timing: Timing::default(),
            by_id_dir: PathBuf::from("/dev/disk/by-id"),
            demo: false,
            imageio_debug: false,
            storage_size: 1 << 40,
        }
    }
}

impl SimConfig {
    /// An empty engine (data center, cluster, host, storage domains, network).
    pub fn new() -> SimConfig {
        SimConfig::default()
    }

    /// The demo engine: [`SimConfig::new`] plus the demo VMs and the appliance.
    pub fn demo() -> SimConfig {
        SimConfig {
            demo: true,
            ..SimConfig::default()
        }
    }
}
