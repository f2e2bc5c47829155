//! Every request type of the client against the simulated engine (ovirt-sim) over TLS, its
//! image transfers through the real ovirt-imageio daemon, each test ending with the
//! simulator's audit: no snapshot, attachment, transfer, token or backup left behind.

use std::time::Duration;

use disk_image::{DiskInput, FileDisk, NoProgress, RawFileSink};
use ovirt_client::imageio::{ExtentContext, TransferOptions};
use ovirt_client::types::{
    BiosType, Disk, DiskFormat, DiskInterface, NicInterface, StorageDomain, StorageDomains,
    VmStatus, VmType,
};
use ovirt_client::{Connection, NewVm, OvirtError, TransferSettings, Trust};
use ovirt_sim::{APPLIANCE_VM, Call, Simulator};

use super::support::{assert_identical, connect, connect_with, raw_image, sim};

const WAIT: Duration = Duration::from_secs(30);
const MIB: u64 = 1 << 20;

/// The SHA-256 fingerprint of the simulator's CA, as `openssl x509 -fingerprint` prints it
/// (what an administrator pins).
fn pinned_ca(sim: &Simulator) -> Trust {
    let out = super::support::run(
        "openssl",
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            &sim.ca_file().to_string_lossy(),
        ],
    );
    let fingerprint = out.trim().rsplit('=').next().expect("a fingerprint");
    Trust::PinnedCa(fingerprint.parse().expect("a SHA-256 fingerprint"))
}

fn id(value: Option<&String>) -> &str {
    value.map(String::as_str).expect("an id")
}

#[test]
fn snapshot_backup_with_downloads_and_the_appliance() {
    let s = sim();
    // The pinned engine CA, fetched from pki-resource, verifies the engine and the daemon.
    let engine = connect_with(&s.sim, pinned_ca(&s.sim));
    let vm = engine.find_vm("vm1", true).unwrap().expect("vm1");
    let ovf = vm
        .initialization
        .as_ref()
        .and_then(|i| i.configuration.as_ref())
        .and_then(|c| c.data.as_ref());
    assert!(
        ovf.is_some_and(|o| o.contains("Envelope")),
        "all_content gives the OVF"
    );
    assert!(
        engine.find_vm("vm", false).unwrap().is_none(),
        "names are exact"
    );
    assert!(engine.vms(None).unwrap().len() >= 3);
    let vm_id = id(vm.id.as_ref()).to_owned();
    assert_eq!(
        engine.vm_nics(&vm_id).unwrap()[0].name.as_deref(),
        Some("nic1")
    );
    assert_eq!(engine.attachments(&vm_id).unwrap().len(), 2);

    let snapshot = engine
        .create_snapshot(&vm_id, "BU_test", None, Some("corr-1"))
        .unwrap();
    let snap_id = id(snapshot.id.as_ref()).to_owned();
    engine.wait_snapshot_ok(&vm_id, &snap_id, WAIT).unwrap();
    engine.wait_for_jobs("corr-1", WAIT).unwrap();
    assert!(
        !engine.jobs("corr-1").unwrap().is_empty(),
        "the request made a job"
    );
    let snapshots = engine.snapshots(&vm_id).unwrap();
    assert!(
        snapshots
            .iter()
            .any(|s| s.id.as_deref() == Some(snap_id.as_str()))
    );
    let disks = engine.snapshot_disks(&vm_id, &snap_id).unwrap();
    assert_eq!(disks.len(), 2);

    let dir = tempfile::tempdir().unwrap();
    for disk in &disks {
        let disk_id = id(disk.id.as_ref());
        let out_path = dir.path().join(format!("{disk_id}.raw"));
        let out = std::fs::File::create(&out_path).unwrap();
        let settings = TransferSettings {
            snapshot: disk.image_id.clone(),
            ..TransferSettings::default()
        };
        let size = disk.provisioned_size.unwrap();
        engine
            .download_disk(
                disk_id,
                size,
                &mut RawFileSink::new(&out, "download"),
                &TransferOptions::default(),
                &settings,
                &NoProgress,
            )
            .unwrap();
        assert_identical(&s.sim.disk_file(disk_id).unwrap(), &out_path);
    }

    // The appliance way: the snapshot of a disk attached to the backup VM, then detached.
    let appliance = engine.find_vm(APPLIANCE_VM, false).unwrap().unwrap();
    let appliance_id = id(appliance.id.as_ref());
    let disk_id = id(disks[0].id.as_ref());
    engine
        .attach_disk_snapshot(appliance_id, disk_id, &snap_id, DiskInterface::Virtio)
        .unwrap();
    engine.detach_disk(appliance_id, disk_id).unwrap();

    engine.remove_snapshot(&vm_id, &snap_id, WAIT).unwrap();
    assert!(
        engine
            .snapshot(&vm_id, &snap_id)
            .unwrap_err()
            .is_not_found()
    );
    engine.close().unwrap();
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

fn storage_domain(engine: &Connection, name: &str) -> String {
    let domains = engine.storage_domains().unwrap();
    let domain = domains
        .iter()
        .find(|d| d.name.as_deref() == Some(name))
        .expect("the domain");
    id(domain.id.as_ref()).to_owned()
}

fn new_disk(sd: &str, name: &str, size: u64) -> Disk {
    Disk {
        name: Some(name.into()),
        format: Some(DiskFormat::Raw),
        sparse: Some(true),
        provisioned_size: Some(size),
        storage_domains: Some(StorageDomains::from(vec![StorageDomain::with_id(sd)])),
        ..Disk::default()
    }
}

#[test]
fn vms_disks_uploads_and_attachments() {
    let s = sim();
    let engine = connect(&s.sim);
    assert!(
        engine
            .clusters()
            .unwrap()
            .iter()
            .any(|c| c.name.as_deref() == Some("Default"))
    );
    let network = engine
        .networks()
        .unwrap()
        .into_iter()
        .find(|n| n.name.as_deref() == Some("ovirtmgmt"))
        .unwrap();
    let profile = engine
        .vnic_profiles(id(network.id.as_ref()))
        .unwrap()
        .remove(0);

    let vm = engine
        .create_vm(&NewVm {
            name: "made".into(),
            description: None,
            cluster: "Default".into(),
            memory: 1 << 30,
            guaranteed_memory: None,
            max_memory: Some(2 << 30),
            sockets: 1,
            cores: 2,
            threads: 1,
            os_type: "other_linux".into(),
            vm_type: VmType::Server,
            bios: Some(BiosType::Q35Ovmf),
            boot_devices: Vec::new(),
        })
        .unwrap();
    let vm_id = id(vm.id.as_ref()).to_owned();
    engine
        .add_nic(
            &vm_id,
            "nic1",
            NicInterface::Virtio,
            id(profile.id.as_ref()),
            None,
        )
        .unwrap();

    let sd = storage_domain(&engine, "data1");
    let disk = engine
        .create_disk(&new_disk(&sd, "made-boot", 16 * MIB))
        .unwrap();
    let disk_id = id(disk.id.as_ref()).to_owned();
    engine.wait_disk_ok(&disk_id, WAIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.raw");
    raw_image(&src, 16 * MIB, &[(0, 1 << 20, 0x5a), (9 * MIB, 4096, 0xa5)]);
    let source = FileDisk::open(&src).unwrap();
    engine
        .upload_disk(
            &disk_id,
            DiskInput::Random(&source),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .unwrap();
    assert_identical(&src, &s.sim.disk_file(&disk_id).unwrap());
    let back = dir.path().join("back.raw");
    let out = std::fs::File::create(&back).unwrap();
    engine
        .download_disk(
            &disk_id,
            16 * MIB,
            &mut RawFileSink::new(&out, "back"),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .unwrap();
    assert_identical(&src, &back);

    engine
        .attach_disk(&vm_id, &disk_id, DiskInterface::VirtioScsi, true)
        .unwrap();
    engine.start_vm(&vm_id).unwrap();
    engine.wait_vm_status(&vm_id, VmStatus::Up, WAIT).unwrap();
    engine
        .deactivate_attachment(&vm_id, &disk_id, WAIT)
        .unwrap();
    engine.detach_disk(&vm_id, &disk_id).unwrap();
    engine.stop_vm(&vm_id, false).unwrap();
    engine.wait_vm_status(&vm_id, VmStatus::Down, WAIT).unwrap();
    engine.remove_disk(&disk_id).unwrap();

    engine.remove_vm(&vm_id, false).unwrap();
    assert!(engine.find_vm("made", false).unwrap().is_none());
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

#[test]
fn a_vm_from_an_ovf() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm1 = engine.find_vm("vm1", true).unwrap().unwrap();
    let ovf = vm1
        .initialization
        .unwrap()
        .configuration
        .unwrap()
        .data
        .unwrap();
    let copy = engine
        .create_vm_from_ovf("vm1-copy", "Default", &ovf, true)
        .unwrap();
    assert_ne!(copy.id, vm1.id);
    engine.remove_vm(id(copy.id.as_ref()), false).unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

#[test]
fn a_failed_upload_is_cancelled_and_the_engine_deletes_the_disk() {
    let s = sim();
    let engine = connect(&s.sim);
    let sd = storage_domain(&engine, "data1");
    let disk = engine
        .create_disk(&new_disk(&sd, "too-small", 4 * MIB))
        .unwrap();
    let disk_id = id(disk.id.as_ref()).to_owned();
    engine.wait_disk_ok(&disk_id, WAIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.raw");
    raw_image(&src, 8 * MIB, &[(0, 4096, 1)]);
    let source = FileDisk::open(&src).unwrap();
    let error = engine
        .upload_disk(
            &disk_id,
            DiskInput::Random(&source),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .unwrap_err();
    assert!(error.to_string().contains("the disk only"), "{error}");
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !s.sim.has_disk(&disk_id)
    });
    assert!(gone, "cancelling the upload deletes the disk");
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

#[test]
fn relogin_busy_retries_bad_arguments_and_a_failed_finalize() {
    let s = sim();
    let engine = connect(&s.sim);
    assert_eq!(s.sim.logins(), 1);
    s.sim.faults().unauthorized_once();
    engine.vms(None).unwrap();
    assert_eq!(
        s.sim.logins(),
        2,
        "one 401, one new token, the request again"
    );

    let sd = storage_domain(&engine, "data1");
    let disk = engine.create_disk(&new_disk(&sd, "busy", MIB)).unwrap();
    let disk_id = id(disk.id.as_ref()).to_owned();
    engine.wait_disk_ok(&disk_id, WAIT).unwrap();
    s.sim.faults().fail_call(
        Call::new("DELETE", "disks"),
        0,
        409,
        "Cannot remove Virtual Disk. Disk is locked.",
    );
    engine.remove_disk(&disk_id).unwrap();
    assert!(!s.sim.has_disk(&disk_id));

    // Block storage refuses raw + sparse: a bad argument, answered at once, not retried.
    let block = storage_domain(&engine, "block1");
    let error = engine
        .create_disk(&new_disk(&block, "refused", MIB))
        .unwrap_err();
    assert!(
        matches!(error, OvirtError::Fault { .. }) && !error.is_busy(),
        "{error:?}"
    );

    let disk = engine.create_disk(&new_disk(&sd, "finalize", MIB)).unwrap();
    let disk_id = id(disk.id.as_ref()).to_owned();
    engine.wait_disk_ok(&disk_id, WAIT).unwrap();
    s.sim.faults().fail_next_finalize();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("small.raw");
    raw_image(&src, MIB, &[(0, 4096, 7)]);
    let source = FileDisk::open(&src).unwrap();
    let error = engine
        .upload_disk(
            &disk_id,
            DiskInput::Random(&source),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .unwrap_err();
    assert!(matches!(error, OvirtError::Failed { .. }), "{error:?}");
    assert!(engine.jobs("no-such-correlation").unwrap().is_empty());
    engine.wait_for_jobs("no-such-correlation", WAIT).unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

#[test]
fn full_then_incremental_backup() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = engine.find_vm("vm1", false).unwrap().unwrap();
    let vm_id = id(vm.id.as_ref()).to_owned();
    let attachments = engine.attachments(&vm_id).unwrap();
    let data_disk = attachments
        .iter()
        .map(|a| id(a.id.as_ref()).to_owned())
        .find(|d| engine.disk(d).unwrap().format == Some(DiskFormat::Cow))
        .expect("vm1's qcow2 disk");
    let disk = engine.disk(&data_disk).unwrap();
    let size = disk.provisioned_size.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let backup = engine
        .start_backup(&vm_id, &[&data_disk], None, WAIT)
        .unwrap();
    let checkpoint = backup
        .backup()
        .to_checkpoint_id
        .clone()
        .expect("a checkpoint");
    assert_eq!(backup.disks().unwrap().len(), 1);
    let full = std::fs::File::create(dir.path().join("full.raw")).unwrap();
    let settings = TransferSettings {
        backup: Some(backup.id().to_owned()),
        ..TransferSettings::default()
    };
    engine
        .download_disk(
            &data_disk,
            size,
            &mut RawFileSink::new(&full, "full"),
            &TransferOptions::default(),
            &settings,
            &NoProgress,
        )
        .unwrap();
    backup.finish().unwrap();
    assert_identical(
        &s.sim.disk_file(&data_disk).unwrap(),
        &dir.path().join("full.raw"),
    );
    assert!(
        engine
            .checkpoints(&vm_id)
            .unwrap()
            .iter()
            .any(|c| c.id.as_deref() == Some(checkpoint.as_str()))
    );

    let backup = engine
        .start_backup(&vm_id, &[&data_disk], Some(&checkpoint), WAIT)
        .unwrap();
    let inc = std::fs::File::create(dir.path().join("inc.raw")).unwrap();
    let settings = TransferSettings {
        backup: Some(backup.id().to_owned()),
        extents: ExtentContext::Dirty,
        ..TransferSettings::default()
    };
    let summary = engine
        .download_disk(
            &data_disk,
            size,
            &mut RawFileSink::new(&inc, "inc"),
            &TransferOptions::default(),
            &settings,
            &NoProgress,
        )
        .unwrap();
    assert_eq!(
        summary.data_bytes, 0,
        "nothing was written since the checkpoint: {summary:?}"
    );
    drop(backup); // finalized by the guard
    engine.remove_checkpoint(&vm_id, &checkpoint).unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
}

#[test]
fn a_failed_download_is_still_finalized() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = engine.find_vm("vm2", false).unwrap().unwrap();
    let attachment = engine.attachments(id(vm.id.as_ref())).unwrap().remove(0);
    let disk_id = id(attachment.id.as_ref()).to_owned();
    let size = engine.disk(&disk_id).unwrap().provisioned_size.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = std::fs::File::create(dir.path().join("out.raw")).unwrap();
    // The caller's size is wrong: the extents do not cover it, the data path refuses.
    let error = engine
        .download_disk(
            &disk_id,
            size + MIB,
            &mut RawFileSink::new(&out, "out"),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .unwrap_err();
    assert!(matches!(error, OvirtError::Protocol { .. }), "{error:?}");
    assert!(s.sim.has_disk(&disk_id), "a download never costs the disk");
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "the transfer was finalized: {audit:?}");
}
