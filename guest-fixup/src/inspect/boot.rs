//! The guest's boot loader configuration: grub legacy (`menu.lst` / `grub.conf`), grub2
//! (`/etc/default/grub`, the generated `grub.cfg`, BLS entries), extlinux / syslinux. A PV
//! guest booted by pygrub has one of these but no boot code on its disk; the device layer
//! tells that apart ([`crate::facts::DiskFacts`]).

use serde::Serialize;

use super::menu::{self, MenuEntry};
use crate::error::Result;
use crate::fs::GuestFs;

/// Which boot loader a configuration file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootloaderKind {
    /// GRUB 0.97 (`menu.lst`, `grub.conf`); pygrub reads it too.
    GrubLegacy,
    /// GRUB 2.
    Grub2,
    /// extlinux / syslinux.
    Extlinux,
}

/// The boot loader configuration found in the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bootloader {
    /// Which boot loader.
    pub kind: BootloaderKind,
    /// Its main configuration file (`/boot/grub/grub.cfg`, `/boot/grub/menu.lst`, …).
    pub config: String,
    /// grub2's settings file (`/etc/default/grub`), if there is one.
    pub defaults: Option<String>,
    /// grub2's Boot Loader Specification entries (`/boot/loader/entries/*.conf`).
    pub bls_entries: Vec<String>,
    /// `device.map` files next to the configuration.
    pub device_maps: Vec<String>,
    /// grub2's environment block (`grubenv`: `saved_entry`, RHEL 8's `kernelopts`), if any.
    pub grubenv: Option<String>,
    /// grub2's boot menu, in menu order (empty for other boot loaders).
    pub menu: Vec<MenuEntry>,
}

/// Every boot loader configuration in the guest (a guest can carry both grub legacy and grub2).
pub fn detect(fs: &dyn GuestFs) -> Result<Vec<Bootloader>> {
    let mut found = Vec::new();
    let mut seen_hosts = Vec::new();
    let mut add =
        |fs: &dyn GuestFs, kind, config: &str, found: &mut Vec<Bootloader>| -> Result<bool> {
            if !fs.exists(config)? {
                return Ok(false);
            }
            let host = fs.host_path(config)?;
            if seen_hosts.contains(&host) {
                return Ok(false);
            }
            seen_hosts.push(host);
            let dir = config.rsplit_once('/').map_or("/", |(d, _)| d);
            let device_map = format!("{dir}/device.map");
            found.push(Bootloader {
                kind,
                config: config.to_owned(),
                defaults: None,
                bls_entries: Vec::new(),
                device_maps: if fs.exists(&device_map)? {
                    vec![device_map]
                } else {
                    Vec::new()
                },
                grubenv: None,
                menu: Vec::new(),
            });
            Ok(true)
        };
    for config in ["/boot/grub2/grub.cfg", "/boot/grub/grub.cfg"] {
        if add(fs, BootloaderKind::Grub2, config, &mut found)? {
            break;
        }
    }
    // grub2 settings without a generated grub.cfg still count (grub-mkconfig will write it).
    let defaults = ["/etc/default/grub", "/etc/sysconfig/grub"]
        .into_iter()
        .find(|p| {
            fs.exists(p).unwrap_or(false)
                && fs
                    .read_text(p)
                    .ok()
                    .flatten()
                    .is_some_and(|t| t.contains("GRUB_"))
        });
    let bls: Vec<String> = fs
        .list("/boot/loader/entries")?
        .into_iter()
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "conf")
        })
        .map(|n| format!("/boot/loader/entries/{n}"))
        .collect();
    if let Some(grub2) = found.iter_mut().find(|b| b.kind == BootloaderKind::Grub2) {
        grub2.defaults = defaults.map(str::to_owned);
        grub2.bls_entries = bls;
        let dir = grub2.config.rsplit_once('/').map_or("/", |(d, _)| d);
        let grubenv = format!("{dir}/grubenv");
        grub2.grubenv = fs.exists(&grubenv)?.then_some(grubenv);
        grub2.menu = menu::read(fs, &grub2.config)?;
    }
    for config in [
        "/boot/grub/grub.conf",
        "/boot/grub/menu.lst",
        "/etc/grub.conf",
    ] {
        add(fs, BootloaderKind::GrubLegacy, config, &mut found)?;
    }
    for config in [
        "/boot/extlinux/extlinux.conf",
        "/boot/extlinux.conf",
        "/extlinux.conf",
        "/boot/syslinux/syslinux.cfg",
    ] {
        add(fs, BootloaderKind::Extlinux, config, &mut found)?;
    }
    Ok(found)
}
