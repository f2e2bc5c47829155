//! Backups that oVirtSimpleBackup wrote (built here as it builds them: real `dd` piped
//! through `gzip -c`, `lzop -c`, `bzip2 -c`), listed, verified and restored by the real
//! binary into the simulated engine with the real imageio daemon: every disk compared with
//! its source by `qemu-img compare`, the settings read back through the API, damaged and
//! odd backups refused with nothing left behind.

use std::time::Duration;

use ovirt_client::types::VmStatus;

use super::ovirt_restore_support::{
    COMPRESSIONS, Engine, SOURCE_VM, assert_identical, seed_backup,
};
use super::support::{s, texts, vmbackup_exit, vmbackup_json};

/// `list` shows the four backups of the seed's layout, `verify` reads every disk.
fn list_and_verify(root: &std::path::Path) {
    // list: one VM (its uuid directory), four complete backups of the seed's layout.
    let listed = vmbackup_json(&["list", "--backup-dir", s(root)], 0);
    let vms = listed.as_array().unwrap();
    assert_eq!(vms.len(), 1, "{listed}");
    assert_eq!(vms[0]["vm"], SOURCE_VM);
    let entries = vms[0]["backups"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{listed}");
    for entry in entries {
        assert_eq!(entry["layout"], "ovirtsimplebackup", "{entry}");
        assert_eq!(entry["state"], "complete", "{entry}");
    }
    assert_eq!(entries[0]["id"], "BU_20190704_120001", "newest first");

    // verify: every disk decompressed to its DiskN.dat size.
    let (out, _) = vmbackup_exit(&["verify", s(root)], 0);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": ok")).count(),
        4,
        "{out}"
    );
}

#[test]
fn seed_written_backups_of_each_compression_list_verify_and_restore_with_their_settings() {
    let engine = Engine::start();
    let root = engine.work.path().join("backups");
    let mut backups = Vec::new();
    for (n, (filter, suffix)) in COMPRESSIONS.iter().enumerate() {
        backups.push(seed_backup(
            &engine,
            &root,
            &format!("2019070{}_120001", n + 1),
            filter,
            suffix,
        ));
    }

    list_and_verify(&root);

    let connection = engine.connect();
    let source = connection.find_vm(SOURCE_VM, false).unwrap().unwrap();
    let source_id = source.id.clone().unwrap();
    let source_attachments = connection.attachments(&source_id).unwrap();
    let source_nics = connection.vm_nics(&source_id).unwrap();
    for (backup, (_, suffix)) in backups.iter().zip(COMPRESSIONS) {
        let name = format!("restored{}", suffix.replace('.', "-"));
        let report = engine.restore_json(
            backup,
            &["--name", &name, "--vnic-profile", "ovirtmgmt", "--check"],
            0,
        );
        let id = report["vm"].as_str().unwrap();
        let made = connection.vm(id, false).unwrap();
        assert_eq!(made.name.as_deref(), Some(name.as_str()));
        assert_eq!(made.memory, source.memory);
        assert_eq!(
            made.cpu.as_ref().unwrap().topology,
            source.cpu.as_ref().unwrap().topology
        );
        assert!(
            made.description
                .as_deref()
                .unwrap()
                .starts_with("restored by vmbackup"),
            "{made:?}"
        );
        let nics = connection.vm_nics(id).unwrap();
        assert_eq!(nics.len(), source_nics.len());
        assert_ne!(
            nics[0].mac, source_nics[0].mac,
            "new MACs without --keep-macs"
        );
        let attachments = connection.attachments(id).unwrap();
        assert_eq!(attachments.len(), source_attachments.len());
        assert_eq!(report["checks"].as_array().unwrap().len(), 2, "{report}");
        // Boot disk first, as the seed numbered them.
        let mut sources = source_attachments.clone();
        sources.sort_by_key(|a| !a.bootable.unwrap());
        for (restored, original) in attachments.iter().zip(&sources) {
            assert_eq!(restored.bootable, original.bootable);
            assert_eq!(restored.interface, original.interface);
            let disk = connection.disk(restored.id.as_deref().unwrap()).unwrap();
            assert_eq!(disk.sparse, Some(true), "sparse on a file domain");
            assert_identical(
                &engine.raw_copy(original.id.as_deref().unwrap()),
                &engine
                    .sim
                    .disk_file(restored.id.as_deref().unwrap())
                    .unwrap(),
            );
        }
        connection.remove_vm(id, false).unwrap();
    }

    // With the source gone, --keep-macs gives the NIC its MAC back.
    connection.stop_vm(&source_id, false).unwrap();
    connection
        .wait_vm_status(&source_id, VmStatus::Down, Duration::from_secs(20))
        .unwrap();
    connection.remove_vm(&source_id, false).unwrap();
    let report = engine.restore_json(
        &backups[1],
        &[
            "--name",
            SOURCE_VM,
            "--vnic-profile",
            "ovirtmgmt",
            "--keep-macs",
        ],
        0,
    );
    let nics = connection.vm_nics(report["vm"].as_str().unwrap()).unwrap();
    assert_eq!(nics[0].mac, source_nics[0].mac);
    drop(connection);
    let audit = engine.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn damaged_or_odd_seed_backups_fail_verify_and_restore_leaving_nothing() {
    let engine = Engine::start();
    let root = engine.work.path().join("backups");
    let vms = engine.sim.vm_names();
    let disks = engine.sim.disk_list();

    // A gzip'ed disk cut in half: verify names it, the restore removes what it made.
    let cut = seed_backup(&engine, &root, "20190701_120001", "gzip -c |", ".gz");
    let image = cut.join("Disk2.img.gz");
    let length = std::fs::metadata(&image).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let (out, _) = vmbackup_exit(&["verify", s(&cut)], 1);
    assert!(out.contains("Disk2.img.gz"), "{out}");
    let output = engine.restore(&cut, &["--vnic-profile", "ovirtmgmt"]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Disk2.img.gz"), "{stderr}");
    engine.assert_nothing_left(&vms, &disks);

    // A raw image one byte longer than its DiskN.dat says.
    let long = seed_backup(&engine, &root, "20190702_120001", "", "");
    std::fs::OpenOptions::new()
        .append(true)
        .open(long.join("Disk1.img"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"))
        .unwrap();
    let (out, _) = vmbackup_exit(&["verify", s(&long)], 1);
    assert!(out.contains("Disk1.img"), "{out}");
    let output = engine.restore(&long, &["--vnic-profile", "ovirtmgmt"]);
    assert_eq!(output.status.code(), Some(1), "{}", texts(&output).1);
    engine.assert_nothing_left(&vms, &disks);

    // An interface word the seed never writes is not understood: refused, not guessed.
    let odd = seed_backup(&engine, &root, "20190703_120001", "lzop -c |", ".lzo");
    let dat = odd.join("Disk1.dat");
    let text = std::fs::read_to_string(&dat).unwrap();
    std::fs::write(&dat, text.replacen("\nvirtio\n", "\nfloppy\n", 1)).unwrap();
    let (out, _) = vmbackup_exit(&["verify", s(&odd)], 1);
    assert!(out.contains("floppy"), "{out}");
    let output = engine.restore(&odd, &["--vnic-profile", "ovirtmgmt"]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("floppy"), "{stderr}");

    // The seed's OVF names no network here: without --vnic-profile the NIC has no home,
    // which is a usage error (exit 2) before anything is made.
    let sound = seed_backup(&engine, &root, "20190704_120001", "bzip2 -c |", ".bzip2");
    let output = engine.restore(&sound, &[]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--vnic-profile"), "{stderr}");
    // A cluster the engine does not have: exit 2 too.
    let output = engine.restore(
        &sound,
        &["--vnic-profile", "ovirtmgmt", "--cluster", "nope"],
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no cluster `nope`"), "{stderr}");
    engine.assert_nothing_left(&vms, &disks);

    // list shows the sound and the damaged ones (verify is what reads the disks).
    let listed = vmbackup_json(&["list", "--backup-dir", s(&root)], 0);
    assert_eq!(
        listed[0]["backups"].as_array().unwrap().len(),
        4,
        "{listed}"
    );
}
