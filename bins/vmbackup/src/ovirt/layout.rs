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

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(name: &str) -> SnapshotDisk {
        SnapshotDisk {
            id: "d1".into(),
            image_id: "i1".into(),
            name: name.into(),
            size: 42,
            bootable: true,
            interface: None,
            format: None,
        }
    }

    #[test]
    fn hostile_names_and_aliases_stay_one_path_component() {
        let root = Path::new("/backups");
        for layout in [OvirtLayout::Own, OvirtLayout::OvirtSimpleBackup] {
            let dir = vm_dir(layout, root, "../../etc", "../x");
            assert!(dir.starts_with(root), "{dir:?}");
            assert!(
                dir.components()
                    .all(|c| !matches!(c, std::path::Component::ParentDir)),
                "{dir:?}"
            );
            let file = disk_file(layout, 1, &disk("../../etc/passwd\nx"), Codec::None);
            assert!(!file.contains('/') && !file.contains('\n'), "{file}");
        }
        assert_eq!(
            disk_file(
                OvirtLayout::OvirtSimpleBackup,
                2,
                &disk("a"),
                Codec::Gzip { level: 6 }
            ),
            "Disk2.img.gz"
        );
    }

    #[test]
    fn a_disk_dat_has_the_seed_s_17_lines_whatever_the_names() {
        let text = disk_dat(1, &disk("bad\nname"), "virtio-d1", "web\r01", "BU_x", "u");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 17, "{text:?}");
        assert_eq!(
            &lines[..10],
            [
                "Disk1",
                "d1",
                "bad name",
                "true",
                "virtio",
                "42",
                "virtio-d1",
                "web 01",
                "BU_x",
                "u"
            ]
        );
    }

    #[test]
    fn seed_names_are_label_and_local_stamp() {
        let name = seed_name("BU_", "2026-12-02T01:30:05Z".parse().unwrap());
        assert!(name.starts_with("BU_2026120"), "{name}");
        assert_eq!(name.len(), "BU_".len() + 15);
    }
}
