//! What the device layer knows about the guest's disks that its files cannot say: which disk
//! is partitioned, whether it carries boot code (a pygrub-booted PV guest does not), and what
//! each volume holds (its filesystem or swap signature, UUID, label). The planner uses it to
//! write `UUID=`, to recreate a wiped swap area and to decide on `grub-install`; synthetic
//! roots in tests pass it by hand. Logical volumes of the guest's own volume groups (activated
//! by [`crate::disk`] where the host has device-mapper) are volumes too, named by [`LvName`].

use std::path::PathBuf;

use serde::Serialize;

use crate::direction::{drive_index, parse_name};

/// Facts about every disk of one guest, in the order the new hypervisor attaches them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskFacts {
    /// The disks; index 0 is the first (`xvda`, `vda`).
    pub disks: Vec<DiskFact>,
    /// The volumes: partitions, or whole unpartitioned disks.
    pub volumes: Vec<Volume>,
}

/// One disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskFact {
    /// Whether it has a partition table.
    pub partitioned: bool,
    /// Whether its first sector holds boot code (an MBR boot loader).
    pub boot_code: bool,
    /// The host device it is attached as (`/dev/loop3`), when attached.
    pub host_device: Option<PathBuf>,
}

/// What a volume holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Content {
    /// A filesystem of this type (`ext4`, `xfs`, `btrfs`).
    Filesystem(String),
    /// A swap area.
    Swap,
    /// An LVM physical volume.
    LvmMember,
    /// No signature at all (a wiped or never-formatted area).
    Empty,
    /// Another signature (named).
    Other(String),
}

/// One partition, or one unpartitioned disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The disk index.
    pub disk: usize,
    /// The partition number, `None` for a whole unpartitioned disk.
    pub partition: Option<u32>,
    /// What it holds.
    pub content: Content,
    /// The filesystem or swap UUID.
    pub uuid: Option<String>,
    /// The filesystem or swap label.
    pub label: Option<String>,
    /// Whether the partition table types it as swap (MBR 0x82, GPT's Linux swap GUID).
    pub swap_type: bool,
    /// The host device (`/dev/loop3p5`, `/dev/mapper/vg-root`), when attached.
    pub host_device: Option<PathBuf>,
    /// For a logical volume of the guest's LVM: its volume group and name (`disk` is then the
    /// disk of its volume group's first physical volume, `partition` is `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lv: Option<LvName>,
}

/// A logical volume's name: the guest reaches it as `/dev/<vg>/<lv>` or
/// `/dev/mapper/<vg>-<lv>` (each `-` inside a name doubled).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LvName {
    /// The volume group.
    pub vg: String,
    /// The logical volume.
    pub lv: String,
}

impl LvName {
    /// The device-mapper name (`vg-lv`, with `-` inside either name doubled).
    pub fn dm_name(&self) -> String {
        format!(
            "{}-{}",
            self.vg.replace('-', "--"),
            self.lv.replace('-', "--")
        )
    }

    /// Whether a `/dev/` path names this volume (`/dev/vg/lv` or `/dev/mapper/vg-lv`).
    pub fn is_named_by(&self, spec: &str) -> bool {
        spec.strip_prefix("/dev/mapper/")
            .map_or(spec == format!("/dev/{}/{}", self.vg, self.lv), |n| {
                n == self.dm_name()
            })
    }
}

impl Volume {
    /// What tells this volume apart from every other of the guest.
    pub fn key(&self) -> (usize, Option<u32>, Option<&LvName>) {
        (self.disk, self.partition, self.lv.as_ref())
    }
}

impl DiskFacts {
    /// The volume a kernel name refers to on the new hypervisor (`vda5` -> disk 0 partition 5).
    pub fn volume(&self, name: &str) -> Option<&Volume> {
        let (_, letters, part) = parse_name(name)?;
        let disk = drive_index(letters)?;
        let partition = if part.is_empty() {
            None
        } else {
            Some(part.parse().ok()?)
        };
        self.volumes
            .iter()
            .find(|v| v.lv.is_none() && v.disk == disk && v.partition == partition)
    }

    /// The logical volume a `/dev/<vg>/<lv>` or `/dev/mapper/<vg>-<lv>` path names.
    pub fn by_lv_path(&self, spec: &str) -> Option<&Volume> {
        self.volumes
            .iter()
            .find(|v| v.lv.as_ref().is_some_and(|lv| lv.is_named_by(spec)))
    }

    /// The volume with this UUID.
    pub fn by_uuid(&self, uuid: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| {
            v.uuid
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(uuid))
        })
    }

    /// The volume with this label.
    pub fn by_label(&self, label: &str) -> Option<&Volume> {
        self.volumes
            .iter()
            .find(|v| v.label.as_deref() == Some(label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logical_volume_is_named_by_its_two_paths_with_dashes_doubled_in_the_mapper_name() {
        let lv = LvName {
            vg: "vg-sys".into(),
            lv: "root".into(),
        };
        assert_eq!(lv.dm_name(), "vg--sys-root");
        assert!(lv.is_named_by("/dev/vg-sys/root"));
        assert!(lv.is_named_by("/dev/mapper/vg--sys-root"));
        assert!(!lv.is_named_by("/dev/mapper/vg-sys-root"));
        assert!(!lv.is_named_by("/dev/vg-sys/root2"));
        let facts = DiskFacts {
            disks: vec![],
            volumes: vec![Volume {
                disk: 0,
                partition: None,
                content: Content::Swap,
                uuid: None,
                label: None,
                swap_type: false,
                host_device: None,
                lv: Some(lv),
            }],
        };
        assert!(facts.by_lv_path("/dev/vg-sys/root").is_some());
        // A logical volume is no disk: `vda` does not find it.
        assert!(facts.volume("vda").is_none());
    }
}
