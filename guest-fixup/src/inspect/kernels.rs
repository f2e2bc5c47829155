//! The guest's kernels and what each can drive: for every `/boot/vmlinuz-VER` the modules
//! under `/lib/modules/VER` (`modules.dep`, `modules.builtin`), its `/boot/config-VER`, its
//! initramfs and the modules packed in it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::initramfs;
use crate::error::Result;
use crate::fs::GuestFs;

/// A driver a conversion may need in the guest's kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// The virtio PCI transport (every virtio device needs it).
    VirtioPci,
    /// virtio block disks (`vdX`).
    VirtioBlk,
    /// virtio SCSI disks (`sdX` on virtio-scsi).
    VirtioScsi,
    /// virtio network cards.
    VirtioNet,
    /// Xen's paravirtual block frontend (`xvdX`).
    XenBlkfront,
    /// Xen's paravirtual network frontend.
    XenNetfront,
}

impl Driver {
    /// The module names that provide it (current and old names), dashes as underscores.
    pub fn modules(self) -> &'static [&'static str] {
        match self {
            Self::VirtioPci => &["virtio_pci"],
            Self::VirtioBlk => &["virtio_blk"],
            Self::VirtioScsi => &["virtio_scsi"],
            Self::VirtioNet => &["virtio_net"],
            Self::XenBlkfront => &["xen_blkfront", "xenblk"],
            Self::XenNetfront => &["xen_netfront", "xennet"],
        }
    }

    /// The kernel configuration symbols that build it.
    fn config(self) -> &'static [&'static str] {
        match self {
            Self::VirtioPci => &["CONFIG_VIRTIO_PCI"],
            Self::VirtioBlk => &["CONFIG_VIRTIO_BLK"],
            Self::VirtioScsi => &["CONFIG_SCSI_VIRTIO"],
            Self::VirtioNet => &["CONFIG_VIRTIO_NET"],
            Self::XenBlkfront => &["CONFIG_XEN_BLKDEV_FRONTEND"],
            Self::XenNetfront => &["CONFIG_XEN_NETDEV_FRONTEND"],
        }
    }

    /// Every driver this crate checks.
    pub const ALL: [Driver; 6] = [
        Self::VirtioPci,
        Self::VirtioBlk,
        Self::VirtioScsi,
        Self::VirtioNet,
        Self::XenBlkfront,
        Self::XenNetfront,
    ];
}

/// How a kernel provides a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provision {
    /// Built into the kernel image.
    BuiltIn,
    /// A loadable module (named here) under `/lib/modules/VER`.
    Module,
    /// Not available.
    Absent,
}

/// What the initramfs of a kernel is known to contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitramfsState {
    /// No initramfs for this kernel.
    Missing,
    /// Listed; the module names it holds (dashes as underscores).
    Listed(BTreeSet<String>),
    /// There, but in a form this crate cannot list (xz, lzma, lz4, …): named here.
    Unreadable(String),
}

/// One installed kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kernel {
    /// The version (`6.1.0-50-amd64`, `2.6.18-398.el5xen`).
    pub version: String,
    /// Its image (`/boot/vmlinuz-VER`).
    pub image: String,
    /// Its initramfs path (existing, or where the distribution would put it).
    pub initramfs: String,
    /// What that initramfs holds.
    pub initramfs_state: InitramfsState,
    /// A kernel that only runs as a Xen PV guest (a "xenified" 2.6.18-style kernel).
    pub xen_only: bool,
    /// How it provides each driver.
    pub drivers: BTreeMap<Driver, Provision>,
}

impl Kernel {
    /// Whether the initramfs holds (any module name of) the driver; `None` if unknown.
    pub fn initramfs_has(&self, driver: Driver) -> Option<bool> {
        match &self.initramfs_state {
            InitramfsState::Listed(modules) => {
                Some(driver.modules().iter().any(|m| modules.contains(*m)))
            }
            InitramfsState::Missing => Some(false),
            InitramfsState::Unreadable(_) => None,
        }
    }

    /// How the kernel provides `driver`.
    pub fn provision(&self, driver: Driver) -> Provision {
        self.drivers
            .get(&driver)
            .copied()
            .unwrap_or(Provision::Absent)
    }
}

/// The installed kernels, newest version last.
pub fn detect(fs: &dyn GuestFs, debian_names: bool) -> Result<Vec<Kernel>> {
    let mut kernels = Vec::new();
    for name in fs.list("/boot")? {
        let Some(version) = name
            .strip_prefix("vmlinuz-")
            .or_else(|| name.strip_prefix("vmlinux-"))
        else {
            continue;
        };
        if std::path::Path::new(&name)
            .extension()
            .is_some_and(|e| e == "hmac")
            || version.contains("rescue")
        {
            continue;
        }
        kernels.push(kernel(fs, &name, version, debian_names)?);
    }
    kernels.sort_by_key(|k| version_key(&k.version));
    Ok(kernels)
}

fn kernel(fs: &dyn GuestFs, image: &str, version: &str, debian_names: bool) -> Result<Kernel> {
    let modules_dir = format!("/lib/modules/{version}");
    let normalise = |name: &str| name.replace('-', "_");
    let stem = |path: &str| {
        let base = path.rsplit('/').next().unwrap_or(path);
        normalise(base.split(".ko").next().unwrap_or(base))
    };
    let dep = fs
        .read_text(&format!("{modules_dir}/modules.dep"))?
        .unwrap_or_default();
    let modules: BTreeSet<String> = dep
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(stem)
        .collect();
    let builtin: BTreeSet<String> = fs
        .read_text(&format!("{modules_dir}/modules.builtin"))?
        .unwrap_or_default()
        .lines()
        .map(stem)
        .collect();
    let config = fs
        .read_text(&format!("/boot/config-{version}"))?
        .unwrap_or_default();
    let config_value = |symbol: &str| {
        config.lines().find_map(|l| {
            l.strip_prefix(symbol)?
                .strip_prefix('=')
                .map(str::trim)
                .map(str::to_owned)
        })
    };
    let drivers = Driver::ALL
        .into_iter()
        .map(|driver| {
            let names = driver.modules();
            let provision = if names.iter().any(|m| builtin.contains(*m)) {
                Provision::BuiltIn
            } else if names.iter().any(|m| modules.contains(*m)) {
                Provision::Module
            } else {
                match driver
                    .config()
                    .iter()
                    .find_map(|s| config_value(s))
                    .as_deref()
                {
                    Some("y") => Provision::BuiltIn,
                    Some("m") if !dep.is_empty() || modules.is_empty() => Provision::Module,
                    _ => Provision::Absent,
                }
            };
            (driver, provision)
        })
        .collect();
    let xen_only = ["CONFIG_X86_XEN", "CONFIG_X86_64_XEN"]
        .iter()
        .any(|s| config_value(s).as_deref() == Some("y"))
        || version.ends_with("xen")
        || version.ends_with("-xen");
    let initramfs = initramfs_path(fs, version, debian_names)?;
    let initramfs_state = initramfs::list_modules(fs, &initramfs)?;
    Ok(Kernel {
        version: version.to_owned(),
        image: format!("/boot/{image}"),
        initramfs,
        initramfs_state,
        xen_only,
        drivers,
    })
}

/// The initramfs of `version`: the first name that exists, else the distribution's name.
fn initramfs_path(fs: &dyn GuestFs, version: &str, debian_names: bool) -> Result<String> {
    let candidates = [
        format!("/boot/initrd.img-{version}"),
        format!("/boot/initramfs-{version}.img"),
        format!("/boot/initrd-{version}.img"),
        format!("/boot/initrd-{version}"),
    ];
    for candidate in &candidates {
        if fs.exists(candidate)? {
            return Ok(candidate.clone());
        }
    }
    Ok(if debian_names {
        candidates[0].clone()
    } else {
        candidates[1].clone()
    })
}

/// Orders versions numerically where they are numbers (`2.6.9` < `2.6.18` < `6.1.0-50`).
pub(crate) fn version_key(version: &str) -> Vec<(u64, String)> {
    version
        .split(['.', '-', '_'])
        .map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(0), part[digits.len()..].to_owned())
        })
        .collect()
}
