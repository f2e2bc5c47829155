//! `restore` reads a backup only as its manifest describes it: each file through the
//! manifest's digest and size, each path checked exactly as `verify` checks it. A damaged
//! backup fails the restore and leaves nothing in the pool.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use xapi_sim::{DiskContents, NewDisk, NewVm};

use super::support::{MIB, Setup, s, vm_with_disks, vmbackup_exit, vmbackup_json};

/// A pool with one VM and one backup of it made with `rules`; the pool's baseline is the
/// state after the backup.
fn backed_up(rules: &str) -> (Setup, PathBuf, PathBuf) {
    backed_up_vm(vm_with_disks("victim", 1), rules)
}

fn backed_up_vm(vm: NewVm, rules: &str) -> (Setup, PathBuf, PathBuf) {
    let setup = Setup::new(vec![vm]);
    let config = setup.config("restore.cfg", rules);
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let backup = setup.backups_of("victim").pop().unwrap();
    setup.sim.mark_baseline();
    (setup, config, backup)
}

/// Restores `backup` with `--check`, expecting a failure; asserts the pool is left as it was.
fn restore_fails(setup: &Setup, config: &Path, backup: &Path) -> String {
    let (_, stderr) = vmbackup_exit(
        &[
            "restore",
            s(backup),
            "--config",
            s(config),
            "--check",
            "--quiet",
        ],
        1,
    );
    setup.assert_clean();
    stderr
}

fn manifest(backup: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(backup.join("manifest.json")).unwrap()).unwrap()
}

fn write_manifest(backup: &Path, manifest: &Value) {
    fs::write(
        backup.join("manifest.json"),
        serde_json::to_string_pretty(manifest).unwrap(),
    )
    .unwrap();
}

/// Flips one byte of the file at `relative`, at `offset`.
fn flip(backup: &Path, relative: &str, offset: usize) {
    let path = backup.join(relative);
    let mut bytes = fs::read(&path).unwrap();
    bytes[offset] ^= 0x55;
    fs::write(&path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_in_a_disk_image_fails_the_restore_and_leaves_no_disk() {
    let (setup, config, backup) = backed_up("vdi-export=victim");
    // A byte inside the data the pattern wrote (the superblock, near the start).
    flip(&backup, "victim.raw", 1024);
    let stderr = restore_fails(&setup, &config, &backup);
    assert!(
        stderr.contains("digest") || stderr.contains("manifest"),
        "{stderr}"
    );
}

#[test]
fn a_truncated_disk_image_fails_the_restore_and_leaves_no_disk() {
    let (setup, config, backup) = backed_up("vdi-export=victim");
    let path = backup.join("victim.raw");
    let length = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    restore_fails(&setup, &config, &backup);
}

#[test]
fn a_flipped_byte_in_an_xva_fails_the_restore_and_leaves_no_vm() {
    let (setup, config, backup) = backed_up("vm-export=victim");
    let length = fs::metadata(backup.join("victim.xva")).unwrap().len();
    // Near the end: in the last disk's data or the archive's end, past ova.xml.
    flip(
        &backup,
        "victim.xva",
        usize::try_from(length).unwrap() - 2000,
    );
    restore_fails(&setup, &config, &backup);
}

#[test]
fn manifest_paths_outside_the_backup_are_refused_as_verify_refuses_them() {
    let (setup, config, backup) = backed_up("vdi-export=victim");
    let good = manifest(&backup);
    let outside = setup.dir.path().join("outside.raw");
    fs::write(&outside, vec![7u8; 4096]).unwrap();
    for path in [
        outside.display().to_string(),
        "../../../outside.raw".to_owned(),
        "/etc/hostname".to_owned(),
    ] {
        let mut doctored = good.clone();
        doctored["disks"][0]["file"] = Value::from(path.clone());
        for file in doctored["files"].as_array_mut().unwrap() {
            if file["role"] == "disk" {
                file["path"] = Value::from(path.clone());
            }
        }
        write_manifest(&backup, &doctored);
        let stderr = restore_fails(&setup, &config, &backup);
        assert!(stderr.contains("outside the backup"), "{path}: {stderr}");
        vmbackup_json(&["verify", s(&backup)], 1);
    }
    write_manifest(&backup, &good);
    let restored = vmbackup_json(
        &[
            "restore",
            s(&backup),
            "--config",
            s(&config),
            "--check",
            "--quiet",
        ],
        0,
    );
    assert_eq!(
        restored["vdis"].as_array().unwrap().len(),
        1,
        "{restored:#}"
    );
}

#[test]
fn preserve_is_refused_beside_the_original_vm_unless_forced() {
    let (setup, config, backup) = backed_up("vm-export=victim");
    let (_, stderr) = vmbackup_exit(
        &[
            "restore",
            s(&backup),
            "--config",
            s(&config),
            "--preserve",
            "--quiet",
        ],
        1,
    );
    assert!(stderr.contains("still exists"), "{stderr}");
    setup.assert_clean();
    let restored = vmbackup_json(
        &[
            "restore",
            s(&backup),
            "--config",
            s(&config),
            "--preserve",
            "--force",
            "--quiet",
        ],
        0,
    );
    assert_eq!(restored["vms"].as_array().unwrap().len(), 1, "{restored:#}");
    // The archive is an export of our marked snapshot: the restored VM is not marked.
    let uuid = restored["vms"][0].as_str().unwrap();
    let (_, vm) = setup
        .sim
        .vms()
        .into_iter()
        .find(|(_, vm)| vm.uuid == uuid)
        .unwrap();
    assert!(
        vm.other_config.keys().all(|k| !k.starts_with("vmtoolkit-")),
        "{:?}",
        vm.other_config
    );
}

#[test]
fn sigterm_during_a_disk_restore_removes_the_half_written_vdi_and_says_so() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use xapi_sim::{Endpoint, TransferFault};

    // Larger than what the sockets buffer (loopback may buffer 32 MiB), so that the
    // upload is still under way when the signal comes.
    let big = NewVm::new("victim").disk(NewDisk::new(
        "system",
        96 * MIB,
        DiskContents::Pattern {
            seed: 3,
            data_bytes: MIB,
        },
    ));
    let (setup, config, backup) = backed_up_vm(big, "vdi-export=victim");
    setup.sim.faults().transfer(
        Endpoint::ImportRawVdi,
        TransferFault::Stall {
            at_byte: 1 << 20,
            duration: Duration::from_secs(5),
        },
    );
    let child = Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(["restore", s(&backup), "--config", s(&config), "--quiet"])
        .env_remove("VMBACKUP_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while setup.sim.audit().vdis.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the restore never created its VDI"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(800)); // into the upload
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = super::support::texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("removed the new VDI"), "{stderr}");
    setup.sim.faults().clear();
    setup.assert_clean();
}
