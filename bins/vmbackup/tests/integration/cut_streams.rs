//! Streams that end early while the host's task says success (no `Content-Length`, so only
//! the data's own structure can tell): nothing is published, `verify` never passes such a
//! file, and the earlier good backup is kept (`max_backups=1`).

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::Value;
use xapi_sim::{Endpoint, TransferFault};

use super::faults::{pool_with_backups_and, run_failing};
use super::support::{s, vmbackup_json};

#[test]
fn a_truncated_vdi_export_is_never_saved_whatever_the_format_and_compression() {
    for (format, compression) in [
        ("vhd", "zstd"),
        ("vhd", "gzip"),
        ("vhd", "none"),
        ("raw", "zstd"),
        ("raw", "none"),
    ] {
        let settings = format!("vdi_export_format={format}\ncompression={compression}");
        let (setup, config) = pool_with_backups_and("vdi-export", &settings);
        setup.sim.faults().transfer(
            Endpoint::ExportRawVdi,
            TransferFault::Truncate {
                after_bytes: 1_000_000,
            },
        );
        let report = run_failing(&setup, &config, "VDI-EXPORT-FAIL");
        assert!(
            report["vms"][0]["error"].is_string() || report["vms"][1]["error"].is_string(),
            "{format}/{compression}: {report:#}"
        );
    }
}

/// Rewrites the manifest of `backup` so that the file at `relative` has `bytes` as its
/// contents and a matching digest: what a damaged backup that was saved as good looks like.
fn replace_file(backup: &Path, relative: &str, bytes: &[u8]) {
    fs::write(backup.join(relative), bytes).unwrap();
    let path = backup.join("manifest.json");
    let mut manifest: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let file = manifest["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["path"] == relative)
        .unwrap();
    assert_eq!(file["digest"]["kind"], "xxh64");
    file["digest"]["value"] = Value::from(format!("{:016x}", xxhash_rust::xxh64::xxh64(bytes, 0)));
    file["digest"]["bytes"] = Value::from(bytes.len());
    fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn verify_checks_a_compressed_vhd_s_structure_and_size() {
    let (setup, _config) =
        pool_with_backups_and("vdi-export", "vdi_export_format=vhd\ncompression=zstd");
    let backup = setup.backups_of("victim").pop().unwrap();
    vmbackup_json(&["verify", s(&backup)], 0);
    let image = "victim.vhd.zst";
    let mut vhd = Vec::new();
    zstd::stream::read::Decoder::new(fs::File::open(backup.join(image)).unwrap())
        .unwrap()
        .read_to_end(&mut vhd)
        .unwrap();
    // The same VHD cut short, compressed again, with a digest that matches.
    vhd.truncate(vhd.len() - 4096);
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    encoder.write_all(&vhd).unwrap();
    replace_file(&backup, image, &encoder.finish().unwrap());
    let report = vmbackup_json(&["verify", s(&backup)], 1);
    assert_eq!(report["ok"], false, "{report:#}");
}

#[test]
fn verify_fails_on_a_role_format_or_compression_it_does_not_know() {
    let (setup, _config) = pool_with_backups_and("vdi-export", "vdi_export_format=raw");
    let backup = setup.backups_of("victim").pop().unwrap();
    let path = backup.join("manifest.json");
    let good = fs::read_to_string(&path).unwrap();
    for (pointer, value) in [
        ("/files/0/role", "qcow2-disk"),
        ("/files/0/compression", "lz4"),
        ("/disks/0/format", "qcow2"),
        ("/state", "half-done"),
    ] {
        let mut manifest: Value = serde_json::from_str(&good).unwrap();
        *manifest.pointer_mut(pointer).unwrap() = Value::from(value);
        fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
        let report = vmbackup_json(&["verify", s(&backup)], 1);
        assert_eq!(report["ok"], false, "{pointer}={value}: {report:#}");
    }
    fs::write(&path, good).unwrap();
    vmbackup_json(&["verify", s(&backup)], 0);
}

/// The pool database dumps saved under `backups`.
fn pool_db_dumps(backups: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("METADATA_")
        })
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .collect()
}

#[test]
fn a_truncated_pool_database_dump_is_never_saved() {
    let setup = super::support::Setup::new(vec![super::support::vm_with_disks("web", 1)]);
    let config = setup.config("db.cfg", "pool_db_backup=1\nmetadata-export=web");
    setup.sim.faults().transfer(
        Endpoint::XmlDbDump,
        TransferFault::Truncate { after_bytes: 3000 },
    );
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
    assert!(report["pool_db"].is_null(), "{report:#}");
    assert!(
        report["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("pool database")),
        "{report:#}"
    );
    assert!(pool_db_dumps(&setup.backups()).is_empty());

    let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
    assert!(report["pool_db"].is_string(), "{report:#}");
    let dumps = pool_db_dumps(&setup.backups());
    assert_eq!(dumps.len(), 1);
    assert!(
        fs::metadata(&dumps[0]).unwrap().len() > 3000,
        "the fault cut the dump short"
    );
}

#[test]
fn a_truncated_metadata_export_is_never_saved() {
    let (setup, _) = pool_with_backups_and("metadata-export", "");
    let whole = fs::metadata(setup.backups_of("victim")[0].join("victim.xva"))
        .unwrap()
        .len();
    // Inside ova.xml, just before the archive's end blocks, one byte short.
    for after_bytes in [700, whole - 1024, whole - 1] {
        let (setup, config) = pool_with_backups_and("metadata-export", "");
        setup.sim.faults().transfer(
            Endpoint::ExportMetadata,
            TransferFault::Truncate { after_bytes },
        );
        run_failing(&setup, &config, "METADATA-EXPORT-FAIL");
    }
}
