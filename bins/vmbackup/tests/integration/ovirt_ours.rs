//! Backups that vmbackup itself wrote of an oVirt VM (the real `vmbackup run`, imageio
//! mode, both layouts), restored by the real binary from the configuration alone: the
//! disks compared with their source by `qemu-img compare`, the settings (memory, CPU
//! topology, NICs, disk interfaces and boot flags, boot order) read back through the API,
//! and a tampered backup refused with nothing left behind.

use std::path::{Path, PathBuf};

use super::ovirt_restore_support::{Engine, SOURCE_VM, assert_identical};
use super::support::{s, texts, vmbackup_exit};

/// The backup directories (those holding a manifest) below `root`.
fn backups_below(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut level = vec![root.to_path_buf()];
    while let Some(dir) = level.pop() {
        if dir.join("manifest.json").is_file() {
            found.push(dir);
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            if entry.file_type().unwrap().is_dir() {
                level.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

/// A configuration backing up the source VM in `layout`, with restore defaults.
fn config(engine: &Engine, layout: &str, compression: &str) -> PathBuf {
    let password = engine.work.path().join("engine.pass");
    let path = engine.work.path().join(format!("{layout}.cfg"));
    std::fs::create_dir_all(engine.work.path().join(layout)).unwrap();
    std::fs::write(
        &path,
        format!(
            "engine={}\nuser={}\npassword_file={}\ntls_ca_file={}\nbackup_dir={}\n\
             status_log={}\nvm-export={SOURCE_VM}\nlayout={layout}\ncompression={compression}\n\
             storage_domain=data1\ncluster=Default\n",
            engine.sim.engine_url(),
            engine.sim.credentials().0,
            s(&password),
            s(engine.sim.ca_file()),
            s(&engine.work.path().join(layout)),
            s(&engine.work.path().join(format!("{layout}-status.log"))),
        ),
    )
    .unwrap();
    path
}

#[test]
fn our_backups_in_both_layouts_restore_with_their_settings_and_a_tampered_one_leaves_nothing() {
    let engine = Engine::start();
    let connection = engine.connect();
    let source = connection
        .vm(&engine.sim.vm_id(SOURCE_VM).unwrap(), false)
        .unwrap();
    let source_id = source.id.clone().unwrap();
    let mut source_attachments = connection.attachments(&source_id).unwrap();
    source_attachments.sort_by_key(|a| !a.bootable.unwrap());
    let source_nics = connection.vm_nics(&source_id).unwrap();
    let mut seed_layout_backup = None;
    for (layout, compression) in [("own", "zstd"), ("ovirtsimplebackup", "none")] {
        let cfg = config(&engine, layout, compression);
        vmbackup_exit(&["run", s(&cfg)], 0);
        let backups = backups_below(&engine.work.path().join(layout));
        assert_eq!(backups.len(), 1, "{backups:?}");
        vmbackup_exit(&["verify", s(&backups[0])], 0);
        let name = format!("{SOURCE_VM}-{layout}");
        let output = super::support::vmbackup(&[
            "restore",
            s(&backups[0]),
            "--config",
            s(&cfg),
            "--name",
            &name,
            "--check",
            "--json",
        ]);
        let (stdout, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let id = report["vm"].as_str().unwrap();
        let made = connection.vm(id, false).unwrap();
        assert_eq!(made.memory, source.memory);
        assert_eq!(
            made.cpu.as_ref().unwrap().topology,
            source.cpu.as_ref().unwrap().topology
        );
        assert_eq!(
            made.os.as_ref().unwrap().boot,
            source.os.as_ref().unwrap().boot
        );
        let nics = connection.vm_nics(id).unwrap();
        assert_eq!(nics.len(), source_nics.len());
        assert_eq!(nics[0].interface, source_nics[0].interface);
        assert_eq!(
            nics[0].vnic_profile.as_ref().and_then(|p| p.id.clone()),
            source_nics[0]
                .vnic_profile
                .as_ref()
                .and_then(|p| p.id.clone())
        );
        assert_eq!(report["checks"].as_array().unwrap().len(), 2, "{report}");
        let attachments = connection.attachments(id).unwrap();
        assert_eq!(attachments.len(), source_attachments.len());
        for (restored, original) in attachments.iter().zip(&source_attachments) {
            assert_eq!(restored.bootable, original.bootable);
            assert_eq!(restored.interface, original.interface);
            assert_identical(
                &engine.raw_copy(original.id.as_deref().unwrap()),
                &engine
                    .sim
                    .disk_file(restored.id.as_deref().unwrap())
                    .unwrap(),
            );
        }
        connection.remove_vm(id, false).unwrap();
        if layout == "ovirtsimplebackup" {
            seed_layout_backup = Some((backups[0].clone(), cfg));
        }
    }

    // One byte of the boot disk changed on the backup disk: the digest catches it as the
    // restore reads it, and what the restore made is removed.
    let (backup, cfg) = seed_layout_backup.unwrap();
    let image = backup.join("Disk1.img");
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&image)
            .unwrap();
        file.write_all_at(b"\x12", 4096).unwrap();
    }
    let vms = engine.sim.vm_names();
    let disks = engine.sim.disk_list();
    let output = super::support::vmbackup(&[
        "restore",
        s(&backup),
        "--config",
        s(&cfg),
        "--name",
        "tampered",
    ]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not the file the backup recorded"),
        "{stderr}"
    );
    drop(connection);
    engine.assert_nothing_left(&vms, &disks);
}
