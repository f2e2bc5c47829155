//! Where an oVirt VM's backup goes and what its files are called, in each layout; and the
//! seed's `DiskN.dat`.

use std::path::{Path, PathBuf};

use backup_core::store::dir_name;
use disk_image::compress::Codec;
use jiff::Timestamp;
use ovirt_client::snapshot_backup::SnapshotDisk;

use crate::config::OvirtLayout;

/// The label and stamp of a backup started at `start`: `BU_20261202_013005` (local time,
/// as oVirtSimpleBackup named its snapshots and directories).
pub fn seed_name(label: &str, start: Timestamp) -> String {
    let local = start.to_zoned(jiff::tz::TimeZone::system());
    format!("{label}{}", local.strftime("%Y%m%d_%H%M%S"))
}

/// The directory holding a VM's backups: ours `<backup_dir>/<vm>`, the seed's
/// `<backup_dir>/<VM>/<VM uuid>` (the VM's name through the safe-name mapping in both).
pub fn vm_dir(layout: OvirtLayout, backup_dir: &Path, vm_name: &str, vm_id: &str) -> PathBuf {
    let dir = backup_dir.join(dir_name(vm_name));
    match layout {
        OvirtLayout::Own => dir,
        OvirtLayout::OvirtSimpleBackup => dir.join(dir_name(vm_id)),
    }
}

/// The file of disk `index` (1-based): ours `DISK-<n>-<alias>.raw[.zst]`, the seed's
/// `DiskN.img[.gz]`.
pub fn disk_file(layout: OvirtLayout, index: u32, disk: &SnapshotDisk, codec: Codec) -> String {
    match layout {
        OvirtLayout::Own => format!(
            "DISK-{index}-{}.raw{}",
            dir_name(&disk.name),
            codec.suffix()
        ),
        OvirtLayout::OvirtSimpleBackup => format!("Disk{index}.img{}", codec.suffix()),
    }
}

/// The OVF's file name.
pub fn ovf_file(layout: OvirtLayout) -> &'static str {
    match layout {
        OvirtLayout::Own => ovirt_client::records::OVF_FILE,
        OvirtLayout::OvirtSimpleBackup => ovirt_client::simplebackup::OVF_FILE,
    }
}

/// oVirtSimpleBackup's `DiskN.dat`: 17 lines — `DiskN`, disk id, name, bootable,
/// interface, provisioned size, the device (here its by-id name or `imageio`), VM name,
/// backup name, VM uuid, then seven lines of one space.
pub fn disk_dat(
    index: u32,
    disk: &SnapshotDisk,
    device: &str,
    vm_name: &str,
    backup_name: &str,
    vm_id: &str,
) -> String {
    // One line each: a name with a line break would shift every field after it.
    let line = |text: &str| text.replace(['\n', '\r'], " ");
    let interface = disk
        .interface
        .map_or_else(|| "virtio".to_owned(), |i| i.to_string());
    let mut text = format!(
        "Disk{index}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        line(&disk.id),
        line(&disk.name),
        disk.bootable,
        line(&interface),
        disk.size,
        line(device),
        line(vm_name),
        line(backup_name),
        line(vm_id),
    );
    for _ in 0..7 {
        text.push_str(" \n");
    }
    text
}
