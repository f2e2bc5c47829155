//! What an oVirt backup's `manifest.json` records besides the shared fields: the keys under
//! `"ovirt"` ([`OvirtFields`]), read back with `Manifest::<OvirtFields>::read_as`.
//!
//! ```json
//! "ovirt": {
//!   "engine": "https://engine.example",
//!   "vm_id": "…", "snapshot_id": "…",
//!   "snapshot_description": "BU_20261202_013005 vmtoolkit-owner=vmbackup host=…",
//!   "mode": "imageio", "layout": "own",
//!   "ovf": "vm.ovf",
//!   "records": { "vm": "vm.xml", "disk_attachments": "disk_attachments.xml",
//!                "disks": "disks.xml", "nics": "nics.xml" },
//!   "disks": [ { "index": 1, "disk_id": "…", "image_id": "…", "name": "web-boot",
//!                "size": 10737418240, "bootable": true, "interface": "virtio_scsi",
//!                "source_format": "cow", "file": "DISK-1-web-boot.raw.zst",
//!                "compression": "zstd", "data_bytes": 1073741824, "dat": null } ]
//! }
//! ```
//!
//! Every path is relative to the backup directory and is read only through
//! `backup_core::store::Manifest::resolve`. The shared `disks` list holds the same disks as
//! [`ManifestDisk`](backup_core::store::ManifestDisk)s (`device` `DiskN`, `userdevice` N,
//! `vdi_uuid` the disk id), so that `verify` checks them as any raw image. With
//! `layout=ovirtsimplebackup`, `ovf` is `data.xml`, the disks are `DiskN.img[.gz]` and each
//! has its `DiskN.dat` (`dat`).

use backup_core::store::Recorded;
use disk_image::compress::Compression;
use serde::{Deserialize, Serialize};

use crate::config::{OvirtLayout, ReadMode};

/// The manifest kind (`kind`) of an oVirt VM backup.
pub const OVIRT_KIND: &str = "vm-export";

/// The platform keys of an oVirt backup's manifest (`Manifest<OvirtFields>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvirtFields {
    /// Everything oVirt-specific, under one key.
    pub ovirt: OvirtBackupRecord,
}

/// What an oVirt backup holds and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvirtBackupRecord {
    /// The engine's URL.
    pub engine: String,
    /// The VM's id.
    pub vm_id: String,
    /// The snapshot the disks were read from (deleted after the backup).
    pub snapshot_id: String,
    /// Its description (the label and the owner mark).
    pub snapshot_description: String,
    /// How the disks were read.
    pub mode: ReadMode,
    /// How the backup is laid out.
    pub layout: OvirtLayout,
    /// The OVF (`all_content`, as the snapshot froze it): `vm.ovf`, or `data.xml` in the
    /// seed's layout; `None` when the engine gave none.
    pub ovf: Option<String>,
    /// The API's records, as the engine's XML.
    pub records: RecordPaths,
    /// The disks, boot disk first (`DiskN` order).
    pub disks: Vec<OvirtDiskRecord>,
}

/// The files holding the API's records (`ovirt_client::records`' file names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPaths {
    /// The VM record (`vm.xml`).
    pub vm: String,
    /// Its disk attachments (`disk_attachments.xml`).
    pub disk_attachments: String,
    /// Its disks (`disks.xml`).
    pub disks: String,
    /// Its NICs (`nics.xml`).
    pub nics: String,
}

/// One disk of an oVirt backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvirtDiskRecord {
    /// `N` of `DiskN`: 1 is the boot disk, then attachment order.
    pub index: u32,
    /// The disk's id.
    pub disk_id: String,
    /// The id of the frozen volume that was read.
    pub image_id: String,
    /// Its alias, exactly as the engine had it.
    pub name: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Whether it was a boot disk.
    pub bootable: bool,
    /// Its interface (`virtio`, `virtio_scsi`, …), as the engine wrote it.
    pub interface: Option<String>,
    /// Its format on the storage domain (`raw`, `cow`), as the engine wrote it.
    pub source_format: Option<String>,
    /// The image file: raw, whole virtual size, compressed as `compression` says.
    pub file: String,
    /// The compression of `file`.
    pub compression: Recorded<Compression>,
    /// Bytes of data read (the rest was zero or unallocated).
    pub data_bytes: u64,
    /// The seed's `DiskN.dat`, in `layout=ovirtsimplebackup`.
    pub dat: Option<String>,
}

impl OvirtBackupRecord {
    /// The disk whose id is `disk_id`.
    pub fn disk(&self, disk_id: &str) -> Option<&OvirtDiskRecord> {
        self.disks.iter().find(|d| d.disk_id == disk_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_with_its_documented_spellings() {
        let record = OvirtFields {
            ovirt: OvirtBackupRecord {
                engine: "https://engine".into(),
                vm_id: "v".into(),
                snapshot_id: "s".into(),
                snapshot_description: "BU_x vmtoolkit-owner=vmbackup".into(),
                mode: ReadMode::Appliance,
                layout: OvirtLayout::OvirtSimpleBackup,
                ovf: Some("data.xml".into()),
                records: RecordPaths {
                    vm: "vm.xml".into(),
                    disk_attachments: "disk_attachments.xml".into(),
                    disks: "disks.xml".into(),
                    nics: "nics.xml".into(),
                },
                disks: vec![OvirtDiskRecord {
                    index: 1,
                    disk_id: "d".into(),
                    image_id: "i".into(),
                    name: "boot".into(),
                    size: 1,
                    bootable: true,
                    interface: Some("virtio".into()),
                    source_format: Some("cow".into()),
                    file: "Disk1.img".into(),
                    compression: Recorded::Known(Compression::None),
                    data_bytes: 1,
                    dat: Some("Disk1.dat".into()),
                }],
            },
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["ovirt"]["mode"], "appliance");
        assert_eq!(json["ovirt"]["layout"], "ovirtsimplebackup");
        assert_eq!(json["ovirt"]["disks"][0]["compression"], "none");
        let back: OvirtFields = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.ovirt.disk("d").map(|d| d.index), Some(1));
    }
}
