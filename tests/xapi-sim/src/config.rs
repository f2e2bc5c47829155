//! What pool to simulate: listeners, TLS, users, and the VMs to create at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use xenapi::records::PowerState;

/// How to start a simulator. [`SimConfig::new`] gives an empty pool (hosts, an SR, a
/// network, a user); [`SimConfig::demo`] adds a few VMs with real disk contents.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the master's listener (port 0: an ephemeral port).
    pub listen: SocketAddr,
    /// Address of the slave's listener (default `127.0.0.2`, another loopback address; port
    /// 0: the master's port if it is free there, else any free port). On the same port, the
    /// slave's `HOST_IS_SLAVE` names the master by its address alone, as XAPI does, and
    /// clients reach it on the port they already use.
    pub slave_listen: SocketAddr,
    /// Whether the advertised URLs are `https://` (both listeners accept TLS and plain HTTP
    /// on the same port either way, so a redirect to `https://` always works).
    pub tls: bool,
    /// Keep the pool in this directory (records as JSON, disks as sparse files) across
    /// restarts; `None`: a temporary directory removed on drop.
    pub state_dir: Option<PathBuf>,
    /// The user that may log in.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Sessions idle for longer than this expire (`SESSION_INVALID`).
    pub session_timeout: Duration,
    /// Size of the SR in bytes (`SR_FULL` past it).
    pub sr_size: u64,
    /// VMs created at start (ignored when a saved pool is loaded from `state_dir`).
    pub vms: Vec<NewVm>,
}

impl SimConfig {
    /// An empty pool on ephemeral loopback ports, user `root` with a random password.
    pub fn new() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        SimConfig {
            listen: loopback,
            slave_listen: SocketAddr::from(([127, 0, 0, 2], 0)),
            tls: false,
            state_dir: None,
            user: "root".to_owned(),
            password: random_password(),
            session_timeout: Duration::from_secs(24 * 3600),
            sr_size: 2 << 40,
            vms: Vec::new(),
        }
    }

    /// The same configuration, advertising `https://` URLs.
    #[must_use]
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// The same configuration with `vm` added.
    #[must_use]
    pub fn with_vm(mut self, vm: NewVm) -> Self {
        self.vms.push(vm);
        self
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::new()
    }
}

/// A password of 20 random letters and digits.
pub(crate) fn random_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..20].to_owned()
}

/// A VM to create in the pool (at start, or later with
/// [`SimHandle::add_vm`](crate::SimHandle::add_vm)).
#[derive(Debug, Clone)]
pub struct NewVm {
    /// `name_label`.
    pub name: String,
    /// `name_description`.
    pub description: String,
    /// Initial power state (`Running` VMs are resident on the master).
    pub power_state: PowerState,
    /// Memory in bytes (static and dynamic, min and max).
    pub memory: i64,
    /// Virtual CPUs.
    pub vcpus: i64,
    /// HVM (`BIOS order` boot policy) rather than PV with `pygrub`.
    pub hvm: bool,
    /// Disks, in `userdevice` order (the first is bootable and of type `system`).
    pub disks: Vec<NewDisk>,
    /// Network interfaces on the pool's network, by MAC (empty: generated).
    pub vifs: Vec<String>,
    /// Whether a (empty) CD drive is attached, as userdevice 3.
    pub cd_drive: bool,
    /// `other_config` entries.
    pub other_config: Vec<(String, String)>,
}

impl NewVm {
    /// A halted HVM VM with 1 GiB, 1 vCPU, no disk, no VIF.
    pub fn new(name: impl Into<String>) -> Self {
        NewVm {
            name: name.into(),
            description: String::new(),
            power_state: PowerState::Halted,
            memory: 1 << 30,
            vcpus: 1,
            hvm: true,
            disks: Vec::new(),
            vifs: Vec::new(),
            cd_drive: false,
            other_config: Vec::new(),
        }
    }

    /// The same VM with one more disk.
    #[must_use]
    pub fn disk(mut self, disk: NewDisk) -> Self {
        self.disks.push(disk);
        self
    }

    /// The same VM with one more VIF (MAC `""`: generated).
    #[must_use]
    pub fn vif(mut self, mac: impl Into<String>) -> Self {
        self.vifs.push(mac.into());
        self
    }

    /// The same VM in `power_state`.
    #[must_use]
    pub fn power(mut self, power_state: PowerState) -> Self {
        self.power_state = power_state;
        self
    }
}

/// A disk of a [`NewVm`].
#[derive(Debug, Clone)]
pub struct NewDisk {
    /// `name_label` of the VDI.
    pub label: String,
    /// Virtual size in bytes (rounded up to whole 512-byte sectors).
    pub size: u64,
    /// What the disk holds.
    pub contents: DiskContents,
}

impl NewDisk {
    /// A disk of `size` bytes holding `contents`.
    pub fn new(label: impl Into<String>, size: u64, contents: DiskContents) -> Self {
        NewDisk {
            label: label.into(),
            size,
            contents,
        }
    }
}

/// The initial bytes of a disk; everything not written reads as zeros (and is a hole in the
/// disk's sparse file).
#[derive(Debug, Clone)]
pub enum DiskContents {
    /// All zeros.
    Empty,
    /// These bytes at these offsets.
    Writes(Vec<(u64, Vec<u8>)>),
    /// A file-system-like pattern: a superblock, a few metadata blocks and `data_bytes` of
    /// pseudo-random data in runs spread over the disk, from a seed (same seed, same bytes).
    Pattern {
        /// Seed of the pseudo-random generator.
        seed: u64,
        /// Roughly how many bytes hold data.
        data_bytes: u64,
    },
}
