//! `--backup DIR`: backups written by the real vmbackup binary (backup-core's committed
//! fixture `before-move`: a vdi-export as gzip raw with SHA-256 digests, a vm-export as a
//! zstd XVA with XXH64 digests) migrated into ovirt-sim without a source host; the
//! uploaded bytes compared with the backup's; a file whose bytes differ from its manifest
//! fails and leaves nothing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{Fixture, XEN_NETWORK, assert_identical, code, json, run_raw};

/// The committed backups.
fn fixture_backup(vm_dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../backup-core/tests/fixtures/before-move/backups")
        .join(vm_dir)
        .join("2026-12-01T231715Z")
}

/// A copy of a backup directory to change.
fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_backup(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn migrate(fixture: &Fixture, backup: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = fixture.connection_args()[4..].to_vec();
    let map = format!("{XEN_NETWORK}=ovirtmgmt");
    let backup = backup.display().to_string();
    args.extend(
        [
            "--network",
            &map,
            "--storage-domain",
            "data1",
            "--backup",
            &backup,
        ]
        .map(str::to_owned),
    );
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_raw(&args)
}

/// `gzip -dc`.
fn gunzip(from: &Path, to: &Path) {
    let out = Command::new("gzip")
        .args(["-dc", from.to_str().unwrap()])
        .output()
        .expect("gzip runs (install it with scripts/install-test-deps)");
    assert!(out.status.success());
    std::fs::write(to, out.stdout).unwrap();
}

#[test]
fn a_vdi_export_backup_moves_and_its_bytes_match() {
    let fixture = Fixture::new();
    let backup = fixture_backup("db-01");
    let output = migrate(&fixture, &backup, &["--verify", "--json"]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["plan"]["source"]["name"], "db-01");
    assert_eq!(
        report["plan"]["source"]["nics"][0]["mac"],
        "00:16:3e:7f:a3:a6"
    );
    assert_eq!(report["disks"][0]["verified"], true);
    let raw = fixture.dir.path().join("db-01.raw");
    gunzip(&backup.join("db-01.raw.gz"), &raw);
    let id = report["disks"][0]["id"].as_str().unwrap();
    assert_identical(&raw, &fixture.ovirt.disk_file(id).expect("the disk's file"));
    fixture.assert_clean();
}

/// `sha256sum`'s digest of `path`.
fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn a_vdi_export_backup_of_a_vhd_image_made_by_qemu_img_moves() {
    let fixture = Fixture::new();
    let backup = fixture.dir.path().join("db-01");
    copy_backup(&fixture_backup("db-01"), &backup);
    let raw = fixture.dir.path().join("db-01.raw");
    gunzip(&backup.join("db-01.raw.gz"), &raw);
    // The image as a dynamic VHD written by QEMU, the manifest changed to name it.
    let vhd = backup.join("db-01.vhd");
    ovirt_sim::tools::run(
        "qemu-img",
        &[
            "convert".as_ref(),
            "-O".as_ref(),
            "vpc".as_ref(),
            "-o".as_ref(),
            "subformat=dynamic,force_size=on".as_ref(),
            raw.as_os_str(),
            vhd.as_os_str(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(backup.join("db-01.raw.gz")).unwrap();
    let manifest = backup.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text
        .replace("db-01.raw.gz", "db-01.vhd")
        .replace("\"compression\": \"gzip\"", "\"compression\": \"none\"")
        .replace("\"format\": \"raw\"", "\"format\": \"vhd\"")
        .replace(
            "47cafa5398fbee7a30327393b7b01a4033e7e1fb8e03fcfbfd735f47c8e25182",
            &sha256(&vhd),
        )
        .replace(
            "\"bytes\": 1152",
            &format!("\"bytes\": {}", std::fs::metadata(&vhd).unwrap().len()),
        );
    std::fs::write(&manifest, text).unwrap();
    let output = migrate(&fixture, &backup, &["--json"]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    let id = report["disks"][0]["id"].as_str().unwrap();
    assert_identical(&raw, &fixture.ovirt.disk_file(id).expect("the disk's file"));
    fixture.assert_clean();
}

#[test]
fn a_vm_export_backup_moves_with_the_bytes_of_its_disk() {
    let fixture = Fixture::new();
    let output = migrate(
        &fixture,
        &fixture_backup("web 01%2Fa"),
        &["--verify", "--json"],
    );
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["plan"]["source"]["name"], "web 01/a");
    assert_eq!(report["disks"][0]["verified"], true);
    // What the fixture's generator wrote into the disk of `web 01/a` (seed 7).
    let id = report["disks"][0]["id"].as_str().unwrap();
    let mut disk = Vec::new();
    std::fs::File::open(fixture.ovirt.disk_file(id).unwrap())
        .unwrap()
        .read_to_end(&mut disk)
        .unwrap();
    assert_eq!(disk.len(), 1 << 20);
    assert_eq!(&disk[..14], b"fixture disk 7");
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(&disk[64 << 10..(64 << 10) + 4096], &pattern[..]);
    assert!(disk[(64 << 10) + 4096..].iter().all(|b| *b == 0));
    fixture.assert_clean();

    // The archive's digest in the manifest differs: the whole archive streams (its chunk
    // checksums pass), then the check at its end fails and the new VM goes.
    let backup = fixture.dir.path().join("web");
    copy_backup(&fixture_backup("web 01%2Fa"), &backup);
    let manifest = backup.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let first = text.find("\"value\": \"").unwrap() + 10;
    let mut changed = text.clone();
    changed.replace_range(first..first + 4, "0000");
    assert_ne!(changed, text);
    std::fs::write(&manifest, changed).unwrap();
    let output = migrate(&fixture, &backup, &["--name", "web-x", "--no-keep-macs"]);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not match its manifest"), "{stderr}");
    assert!(fixture.engine().find_vm("web-x", false).unwrap().is_none());
    fixture.assert_clean();
}

#[test]
fn a_disk_image_that_differs_from_its_manifest_fails_and_leaves_nothing() {
    let fixture = Fixture::new();
    let backup = fixture.dir.path().join("db-01");
    copy_backup(&fixture_backup("db-01"), &backup);
    // A valid gzip file of other bytes: only the manifest's digest can tell.
    let raw = fixture.dir.path().join("db-01.raw");
    gunzip(&backup.join("db-01.raw.gz"), &raw);
    let mut bytes = std::fs::read(&raw).unwrap();
    bytes[100] ^= 0xFF;
    std::fs::write(backup.join("db-01.raw.gz"), gzip(&bytes)).unwrap();
    let output = migrate(&fixture, &backup, &[]);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not match its manifest"), "{stderr}");
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();

    // A disk the manifest does not list: refused before anything is made.
    let manifest = backup.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "8100b584-3e9f-4c54-8e98-50b1fa07d062\",\n      \"name_label",
            "other\",\n      \"name_label",
        ),
    )
    .unwrap();
    let output = migrate(&fixture, &backup, &[]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no image of disk"), "{stderr}");
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}

/// `bytes` gzip-compressed by the `gzip` tool.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-c", "-n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs (install it with scripts/install-test-deps)");
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}
