//! What can be checked of a backup oVirtSimpleBackup wrote, which keeps no digests: its
//! structure (the OVF parses and names the disks the `DiskN.dat` files describe, every
//! `DiskN.dat` agrees with the directory it is in and holds values the seed writes), and
//! every disk image (it decompresses cleanly — gzip's and bzip2's CRCs, lzop's checksums —
//! to exactly the size its `DiskN.dat` gives, within the OVF's rounded size).
//!
//! A value the check does not understand (an interface word, a missing size) is a
//! problem, never a pass.

use std::str::FromStr;

use crate::ovf::OvfVm;
use crate::types::DiskInterface;

use super::{Lzop, SimpleBackup, SimpleDisk};

/// The OVF gives a disk's size in whole GiB, rounded down (as the engine's OVF writer).
const GIB: u64 = 1 << 30;

/// The verdict on one backup: empty `problems` means sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedCheck {
    /// The disks read through, with the bytes each decompressed to.
    pub disks: Vec<(u32, u64)>,
    /// What is wrong, one sentence each.
    pub problems: Vec<String>,
}

impl SeedCheck {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl SimpleBackup {
    /// Checks the backup's structure and reads every disk through (see the module docs).
    pub fn check(&self, lzop: &dyn Lzop) -> SeedCheck {
        let mut check = SeedCheck::default();
        let ovf = match self.ovf() {
            Ok(Some(text)) => match OvfVm::parse(&text) {
                Ok(ovf) => Some(ovf),
                Err(error) => {
                    check.problems.push(format!("data.xml: {error}"));
                    None
                }
            },
            Ok(None) => {
                check
                    .problems
                    .push("no data.xml: the VM's settings are unknown".into());
                None
            }
            Err(error) => {
                check.problems.push(error.to_string());
                None
            }
        };
        if self.disks.is_empty() {
            check.problems.push("no disk image (DiskN.img…)".into());
        }
        if let Some(ovf) = &ovf
            && ovf.disks.len() != self.disks.len()
        {
            check.problems.push(format!(
                "data.xml describes {} disk(s), the backup holds {}",
                ovf.disks.len(),
                self.disks.len()
            ));
        }
        for disk in &self.disks {
            check
                .problems
                .extend(self.disk_structure(disk, ovf.as_ref()));
            match disk.verify(lzop) {
                Ok(bytes) => check.disks.push((disk.index, bytes)),
                Err(error) => check.problems.push(error.to_string()),
            }
        }
        check
    }

    /// What `disk`'s `DiskN.dat` says that disagrees with the directory or the OVF.
    fn disk_structure(&self, disk: &SimpleDisk, ovf: Option<&OvfVm>) -> Vec<String> {
        let mut problems = Vec::new();
        let name = format!("Disk{}.dat", disk.index);
        let Some(info) = &disk.info else {
            if self.disks.len() > 1 || disk.image.file_name().is_some_and(|n| n != "image.img") {
                problems.push(format!("{name} is missing: the disk's size is unknown"));
            }
            return problems;
        };
        let mut differs = |what: &str, found: &str, expected: &str| {
            if found != expected {
                problems.push(format!(
                    "{name} gives the {what} `{found}`, the directory says `{expected}`"
                ));
            }
        };
        differs("VM uuid", &info.vm_uuid, &self.vm_uuid);
        differs("backup name", &info.backup_name, &self.name);
        if DiskInterface::from_str(&info.interface).is_err() {
            problems.push(format!(
                "{name} gives the interface `{}`, which is not an oVirt disk interface",
                info.interface
            ));
        }
        if info.size == 0 {
            problems.push(format!("{name} gives a size of 0 bytes"));
        }
        if let Some(ovf) = ovf {
            match ovf
                .disks
                .iter()
                .find(|d| d.disk_id.as_deref() == Some(info.disk_id.as_str()))
            {
                None => problems.push(format!(
                    "{name} names disk {}, which data.xml does not describe",
                    info.disk_id
                )),
                Some(described) => {
                    if let Some(size) = described.size
                        && info.size / GIB != size / GIB
                    {
                        problems.push(format!(
                            "{name} gives {} bytes, data.xml {} GiB",
                            info.size,
                            size / GIB
                        ));
                    }
                }
            }
        }
        problems
    }
}
