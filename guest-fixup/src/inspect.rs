//! Inspection: what is in a guest's root, read through [`GuestFs`] only (no tools run).

mod boot;
mod fstab;
mod ifnames;
pub(crate) mod initramfs;
mod kernels;
mod menu;
mod network;
mod os;

pub use boot::{Bootloader, BootloaderKind};
pub use fstab::{FstabEntry, dev_name, parse as parse_fstab, replace_spec};
pub use ifnames::InterfaceName;
pub use kernels::{Driver, InitramfsState, Kernel, Provision};
pub use menu::MenuEntry;
pub use network::{MacPin, is_pin, pin_files};
pub use os::{Family, OsInfo};

use serde::Serialize;

use crate::cmdline;
use crate::error::{GuestFixupError, Result};
use crate::fs::GuestFs;

/// The guest's own tools this crate may run in its root (their guest paths).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tools {
    /// initramfs-tools' `update-initramfs` (Debian, Ubuntu).
    pub update_initramfs: Option<String>,
    /// `dracut` (RHEL 6+, Fedora, SUSE 12+).
    pub dracut: Option<String>,
    /// `mkinitrd` (RHEL 5, SUSE 11; a dracut wrapper elsewhere).
    pub mkinitrd: Option<String>,
    /// `grub-mkconfig` or `grub2-mkconfig`.
    pub grub_mkconfig: Option<String>,
    /// `grub-install` or `grub2-install`.
    pub grub_install: Option<String>,
    /// `mkswap`.
    pub mkswap: Option<String>,
}

/// Everything inspection found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The distribution.
    pub os: OsInfo,
    /// Installed kernels, oldest first.
    pub kernels: Vec<Kernel>,
    /// Boot loader configurations.
    pub bootloaders: Vec<Bootloader>,
    /// The mount lines of `/etc/fstab`.
    pub fstab: Vec<FstabEntry>,
    /// Every `console=` value on the kernel command lines, in order, without duplicates.
    pub consoles: Vec<String>,
    /// Lines that pin a MAC address.
    pub mac_pins: Vec<MacPin>,
    /// Lines that name an interface by the old hardware (`enX0`, `enp1s0`).
    pub interface_names: Vec<InterfaceName>,
    /// The guest's tools.
    pub tools: Tools,
}

impl Inspection {
    /// The swap lines of fstab.
    pub fn swaps(&self) -> impl Iterator<Item = &FstabEntry> {
        self.fstab.iter().filter(|e| e.is_swap())
    }

    /// The root line of fstab.
    pub fn root(&self) -> Option<&FstabEntry> {
        self.fstab.iter().find(|e| e.mount_point == "/")
    }
}

/// Inspects the guest whose root `fs` is.
pub fn inspect(fs: &dyn GuestFs) -> Result<Inspection> {
    let _span = tracing::info_span!("inspect").entered();
    let os = os::detect(fs)?.ok_or_else(|| GuestFixupError::NoLinux {
        disks: "the guest root".into(),
        detail: "no /etc/os-release or older release file".into(),
    })?;
    let fstab = fstab::parse(&fs.read_text("/etc/fstab")?.unwrap_or_default());
    let bootloaders = boot::detect(fs)?;
    let kernels = kernels::detect(fs, os.family == Family::Debian)?;
    let mut consoles = Vec::new();
    for line in cmdline::command_lines(fs, &bootloaders)? {
        for value in cmdline::values(&line, "console") {
            if !consoles.contains(&value) {
                consoles.push(value);
            }
        }
    }
    let tools = Tools {
        update_initramfs: first(
            fs,
            &["/usr/sbin/update-initramfs", "/sbin/update-initramfs"],
        )?,
        dracut: first(fs, &["/usr/bin/dracut", "/sbin/dracut", "/usr/sbin/dracut"])?,
        mkinitrd: first(
            fs,
            &["/sbin/mkinitrd", "/usr/sbin/mkinitrd", "/usr/bin/mkinitrd"],
        )?,
        grub_mkconfig: first(
            fs,
            &[
                "/usr/sbin/grub-mkconfig",
                "/usr/sbin/grub2-mkconfig",
                "/sbin/grub2-mkconfig",
            ],
        )?,
        grub_install: first(
            fs,
            &[
                "/usr/sbin/grub-install",
                "/usr/sbin/grub2-install",
                "/sbin/grub2-install",
            ],
        )?,
        mkswap: first(fs, &["/sbin/mkswap", "/usr/sbin/mkswap"])?,
    };
    let mac_pins = network::detect(fs)?;
    let interface_names = ifnames::detect(fs)?;
    tracing::info!(os = %os.name, kernels = kernels.len(), bootloaders = bootloaders.len(), "inspected");
    Ok(Inspection {
        os,
        kernels,
        bootloaders,
        fstab,
        consoles,
        mac_pins,
        interface_names,
        tools,
    })
}

fn first(fs: &dyn GuestFs, paths: &[&str]) -> Result<Option<String>> {
    for path in paths {
        if fs.exists(path)? {
            return Ok(Some((*path).to_owned()));
        }
    }
    Ok(None)
}
