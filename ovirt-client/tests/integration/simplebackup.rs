//! oVirtSimpleBackup's layout, written by the test as the seed writes it (`dd` piped through
//! `gzip -c`, `lzop -c`, `bzip2 -c`), listed and read back; every disk compared with its
//! source by `qemu-img compare`.

use std::path::Path;

use ovirt_client::simplebackup::{self, SeedCompression, SystemLzop};

use super::support::{assert_identical, raw_image, run};

fn dat(dir: &Path, index: u32, id: &str, bootable: bool, size: u64) {
    let mut lines = vec![
        format!("Disk{index}"),
        id.to_owned(),
        format!("web_Disk{index}"),
        bootable.to_string(),
        "virtio_scsi".to_owned(),
        size.to_string(),
        format!("sd{}", char::from(b'a' + u8::try_from(index).unwrap())),
        "web".to_owned(),
        "BU_20190708_120001".to_owned(),
        "0a221304-b874-4309-8ed5-f84810072596".to_owned(),
    ];
    lines.extend(std::iter::repeat_n(" ".to_owned(), 7));
    std::fs::write(
        dir.join(format!("Disk{index}.dat")),
        lines.join("\n") + "\n",
    )
    .unwrap();
}

#[test]
fn the_seeds_layout_is_listed_and_each_compression_reads_back() {
    let root = tempfile::tempdir().unwrap();
    let dir = root
        .path()
        .join("web/0a221304-b874-4309-8ed5-f84810072596/BU_20190708_120001");
    std::fs::create_dir_all(&dir).unwrap();
    let size = 8u64 << 20;
    let src = root.path().join("source.raw");
    raw_image(&src, size, &[(0, 1 << 20, 0x5a), (5 << 20, 4096, 0xa5)]);
    let s = src.display();
    let d = dir.display();
    for (index, filter, suffix) in [
        (1, "", ""),
        (2, "gzip -c |", ".gz"),
        (3, "lzop -c |", ".lzo"),
        (4, "bzip2 -c |", ".bzip2"),
    ] {
        run(
            "sh",
            &[
                "-c",
                &format!(
                    "dd if={s} bs=1M status=none | {filter} dd of={d}/Disk{index}.img{suffix} bs=1M conv=notrunc,noerror status=none"
                ),
            ],
        );
        dat(&dir, index, &format!("d{index}"), index == 1, size);
    }
    std::fs::write(dir.join("data.xml"), "<ovf:Envelope/>").unwrap();
    std::fs::write(dir.join("progress.dat"), "100\n").unwrap();
    // Not a backup: no disk, no data.xml.
    std::fs::create_dir_all(
        root.path()
            .join("web/0a221304-b874-4309-8ed5-f84810072596/junk"),
    )
    .unwrap();

    let backups = simplebackup::list(root.path()).unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = &backups[0];
    assert_eq!(backup.vm_name, "web");
    assert_eq!(backup.vm_uuid, "0a221304-b874-4309-8ed5-f84810072596");
    assert_eq!(backup.label, "BU_");
    assert_eq!(backup.stamp.as_deref(), Some("20190708_120001"));
    assert_eq!(backup.ovf().unwrap().as_deref(), Some("<ovf:Envelope/>"));
    let kinds: Vec<SeedCompression> = backup.disks.iter().map(|d| d.compression).collect();
    assert_eq!(
        kinds,
        [
            SeedCompression::None,
            SeedCompression::Gzip,
            SeedCompression::Lzo,
            SeedCompression::Bzip2
        ]
    );
    for disk in &backup.disks {
        let info = disk.info.as_ref().unwrap();
        assert_eq!(info.size, size);
        assert_eq!(info.bootable, disk.index == 1);
        assert_eq!(info.interface, "virtio_scsi");
        let out = root.path().join(format!("back{}.raw", disk.index));
        let mut reader = disk.open(&SystemLzop).unwrap();
        let mut file = std::fs::File::create(&out).unwrap();
        assert_eq!(std::io::copy(&mut reader, &mut file).unwrap(), size);
        assert_identical(&src, &out);
    }

    for disk in &backup.disks {
        assert_eq!(disk.verify(&SystemLzop).unwrap(), size);
    }
    // The whole check reads every disk through, and holds the backup to its OVF: this
    // one's data.xml describes no disk, so its DiskN.dat name disks it does not know.
    let check = backup.check(&SystemLzop);
    assert_eq!(check.disks, [(1, size), (2, size), (3, size), (4, size)]);
    assert!(
        check.problems[0].contains("data.xml describes 0 disk(s), the backup holds 4"),
        "{check:?}"
    );
    assert!(
        check
            .problems
            .iter()
            .any(|p| p.contains("names disk d1, which data.xml does not describe")),
        "{check:?}"
    );
    // A cut gzip stream and a short raw image fail the verify.
    let gz = &backup.disks[1];
    let bytes = std::fs::read(&gz.image).unwrap();
    std::fs::write(&gz.image, &bytes[..bytes.len() / 2]).unwrap();
    assert!(gz.verify(&SystemLzop).is_err());
    let raw = &backup.disks[0];
    std::fs::OpenOptions::new()
        .write(true)
        .open(&raw.image)
        .unwrap()
        .set_len(size - 512)
        .unwrap();
    let error = raw.verify(&SystemLzop).unwrap_err();
    assert!(error.to_string().contains("Disk1.dat says"), "{error}");

    // A corrupt lzop file is an error, not a short disk.
    let lzo = &backup.disks[2];
    std::fs::write(&lzo.image, b"not lzop").unwrap();
    let mut sink = Vec::new();
    assert!(std::io::copy(&mut lzo.open(&SystemLzop).unwrap(), &mut sink).is_err());

    // Two kinds of one disk: which is it? Refused.
    std::fs::copy(dir.join("Disk1.img"), dir.join("Disk1.img.gz")).unwrap();
    let error = simplebackup::SimpleBackup::open(&dir).unwrap_err();
    assert!(error.to_string().contains("which one"), "{error}");
}

#[test]
fn the_oldest_layout_has_one_image_and_bad_dat_files_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db/uuid/BU_20180101_000000");
    std::fs::create_dir_all(&dir).unwrap();
    raw_image(&dir.join("image.img"), 1 << 20, &[(0, 512, 1)]);
    let backup = simplebackup::SimpleBackup::open(&dir).unwrap();
    assert_eq!(backup.disks.len(), 1);
    assert_eq!(backup.disks[0].info, None);
    assert!(backup.ovf().unwrap().is_none());

    let other = root.path().join("db/uuid/BU_20180102_000000");
    std::fs::create_dir_all(&other).unwrap();
    raw_image(&other.join("Disk1.img"), 1 << 20, &[]);
    std::fs::write(
        other.join("Disk1.dat"),
        "Disk1\nid\nname\nmaybe\nvirtio\n1\nvdb\nvm\nb\nu\n",
    )
    .unwrap();
    let error = simplebackup::SimpleBackup::open(&other).unwrap_err();
    assert!(error.to_string().contains("bootable is `maybe`"), "{error}");
}
