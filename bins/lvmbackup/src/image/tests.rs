use std::os::unix::fs::MetadataExt;

use jiff::civil::date;

use super::*;

/// A 3 MiB "volume": data, a zero MiB (a hole once stored sparse), data.
fn volume(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut bytes: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    bytes.extend(vec![0u8; 1 << 20]);
    bytes.extend((0..1u32 << 20).map(|i| (i * 7 % 253) as u8));
    let path = dir.join("vg0-win-c.back");
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn image_name(filetype: FileType) -> ArchiveName {
    ArchiveName {
        prefix: "xen1".into(),
        dir: "-4backup-win-c".into(),
        date: date(2026, 11, 24),
        master: false,
        filetype,
    }
}

fn request<'a>(
    repo: &'a Path,
    name: &'a ArchiveName,
    device: &'a Path,
    size: u64,
    cancel: &'a Cancel,
) -> ImageRequest<'a> {
    ImageRequest {
        repository: repo,
        name,
        volume: "vg0/win-c",
        device,
        size,
        zstd_level: 3,
        zstd_threads: 0,
        cancel,
        progress: &disk_image::NoProgress,
    }
}

#[test]
fn an_image_is_published_verified_and_restored_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (device, bytes) = volume(dir.path());
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    let cancel = Cancel::new();
    for filetype in [FileType::Img, FileType::ImgZst] {
        let name = image_name(filetype);
        let pending =
            write_image(&request(&repo, &name, &device, bytes.len() as u64, &cancel)).unwrap();
        let partial = repo.join(format!("{}.partial", name.file_name()));
        assert!(partial.exists());
        let (path, record) = pending.publish().unwrap();
        assert!(!partial.exists());
        assert_eq!(path, repo.join(name.file_name()));
        assert_eq!(record.size, bytes.len() as u64);
        assert_eq!(read_record(&path).unwrap(), record);
        assert_eq!(record.digest.bytes, fs::metadata(&path).unwrap().len());
        assert_eq!(verify_image(&path, filetype).unwrap(), Vec::<String>::new());
        let target = dir.path().join(format!("restored.{filetype}"));
        assert_eq!(
            restore_image(&path, filetype, &target).unwrap(),
            bytes.len() as u64
        );
        assert!(fs::read(&target).unwrap() == bytes, "{filetype} restored");
    }
    // stored sparse: the zero MiB is a hole
    let sparse = fs::metadata(repo.join(image_name(FileType::Img).file_name())).unwrap();
    assert!(
        sparse.blocks() * 512 <= 2 << 20,
        "{} blocks",
        sparse.blocks()
    );
}

#[test]
fn a_damaged_image_or_record_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (device, bytes) = volume(dir.path());
    let cancel = Cancel::new();
    let name = image_name(FileType::ImgZst);
    let pending = write_image(&request(
        dir.path(),
        &name,
        &device,
        bytes.len() as u64,
        &cancel,
    ))
    .unwrap();
    let (path, mut record) = pending.publish().unwrap();
    record.size += 512;
    fs::write(record_path(&path), serde_json::to_vec(&record).unwrap()).unwrap();
    let problems = verify_image(&path, FileType::ImgZst).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("bytes decompressed"), "{problems:?}");
    let mut stored = fs::read(&path).unwrap();
    let middle = stored.len() / 2;
    stored[middle] ^= 0xff;
    fs::write(&path, stored).unwrap();
    // zstd's own checksum catches it before the digest is compared
    let problems = verify_image(&path, FileType::ImgZst).unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Data corruption detected")),
        "{problems:?}"
    );
    // a sparse raw image has no checksum of its own: the digest catches it
    let raw = image_name(FileType::Img);
    let (raw_path, _) = write_image(&request(
        dir.path(),
        &raw,
        &device,
        bytes.len() as u64,
        &cancel,
    ))
    .unwrap()
    .publish()
    .unwrap();
    let mut stored = fs::read(&raw_path).unwrap();
    stored[10] ^= 0xff;
    fs::write(&raw_path, stored).unwrap();
    let problems = verify_image(&raw_path, FileType::Img).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("xxh64 "), "{problems:?}");
    fs::remove_file(record_path(&path)).unwrap();
    let problems = verify_image(&path, FileType::ImgZst).unwrap();
    assert!(problems[0].contains("image record"), "{problems:?}");
}

#[test]
fn a_short_read_publishes_nothing_and_leaves_no_partial() {
    let dir = tempfile::tempdir().unwrap();
    let (device, bytes) = volume(dir.path());
    let cancel = Cancel::new();
    let name = image_name(FileType::Img);
    // lvm2 said the volume is larger than what could be read
    let error = write_image(&request(
        dir.path(),
        &name,
        &device,
        bytes.len() as u64 + 4096,
        &cancel,
    ))
    .unwrap_err();
    assert!(
        backup_core::store::chain(&error).contains("received 3145728 bytes of a 3149824-byte disk"),
        "{}",
        backup_core::store::chain(&error)
    );
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["vg0-win-c.back"]);
    // dropped unpublished (an overflowed snapshot): the partial goes
    let pending = write_image(&request(
        dir.path(),
        &name,
        &device,
        bytes.len() as u64,
        &cancel,
    ))
    .unwrap();
    drop(pending);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}
