//! Snapshot backups against the simulated engine with the real imageio daemon: the imageio
//! way and the appliance way, the records kept, the stop flag, and faults at every step;
//! bytes checked with `qemu-img compare`, each test ending with a clean audit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use disk_image::{NoProgress, RawFileSink, RawStreamSink};
use ovirt_client::snapshot_backup::SeekSink;
use ovirt_client::snapshot_backup::appliance::Appliance;
use ovirt_client::{BackupSettings, Connection, OvirtError, Owner, SnapshotBackup, VmRecords};
use ovirt_sim::{APPLIANCE_VM, Call};
use sha2::{Digest, Sha256};

use super::support::assert_identical;
use super::support::{connect, sim};

/// A writer that only hashes (the digest wrapper a backup tool puts around its file).
struct Hashing<'a>(&'a mut Sha256);

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Short deadlines for the simulator's quick engine.
pub fn settings() -> BackupSettings {
    BackupSettings {
        snapshot_timeout: Duration::from_secs(20),
        remove_timeout: Duration::from_secs(20),
        ..BackupSettings::default()
    }
}

pub fn description(label: &str) -> String {
    Owner::this_process("vmbackup").describe(label, jiff::Timestamp::now())
}

fn vm_id(engine: &Connection, name: &str) -> String {
    engine.find_vm(name, false).unwrap().unwrap().id.unwrap()
}

#[test]
fn an_imageio_backup_downloads_every_disk_and_keeps_the_records() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let backup =
        SnapshotBackup::start(&engine, &vm, &description("BU_imageio"), &settings()).unwrap();
    let disks = backup.disks().to_vec();
    assert_eq!(disks.len(), 2);
    assert!(disks[0].bootable, "the boot disk comes first: {disks:?}");
    let dir = tempfile::tempdir().unwrap();
    for disk in &disks {
        let path = dir.path().join(format!("{}.raw", disk.id));
        let file = std::fs::File::create(&path).unwrap();
        let summary = backup
            .download(disk, &mut RawFileSink::new(&file, "disk"), &NoProgress)
            .unwrap();
        assert!(summary.data_bytes < disk.size / 4, "sparse: {summary:?}");
        assert_identical(&s.sim.disk_file(&disk.id).unwrap(), &path);
    }
    // Any `Write + Seek` (here a file through `SeekSink`): gaps seeked over, still sparse.
    let seek_path = dir.path().join("seek.raw");
    let mut sink = SeekSink::new(std::fs::File::create(&seek_path).unwrap(), "seek");
    backup.download(&disks[0], &mut sink, &NoProgress).unwrap();
    drop(sink);
    assert_identical(&s.sim.disk_file(&disks[0].id).unwrap(), &seek_path);
    let allocated =
        std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&seek_path).unwrap()) * 512;
    assert!(
        allocated < disks[0].size / 4,
        "sparse: {allocated} bytes allocated"
    );
    // Disks in parallel, streamed through a caller's digest (zeros included, in order).
    std::thread::scope(|scope| {
        for disk in &disks {
            let backup = &backup;
            let expected = dir.path().join(format!("{}.raw", disk.id));
            scope.spawn(move || {
                let mut hasher = Sha256::new();
                let mut sink = RawStreamSink::new(Hashing(&mut hasher), "digest");
                backup.download(disk, &mut sink, &NoProgress).unwrap();
                drop(sink);
                let digest = hasher.finalize();
                assert_eq!(digest, Sha256::digest(std::fs::read(expected).unwrap()));
            });
        }
    });
    let records = backup.records().clone();
    assert!(
        records
            .ovf
            .as_deref()
            .is_some_and(|o| o.contains("ovf:Envelope"))
    );
    assert_eq!(records.nics.len(), 1);
    assert_eq!(records.disks.len(), 2);
    assert_eq!(records.vm.name.as_deref(), Some("vm1"));
    // The records round-trip through their files.
    let files = records.files().unwrap();
    let back = VmRecords::from_files(|name| {
        Ok(files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone()))
    })
    .unwrap();
    assert_eq!(back, records);
    let snapshot = backup.snapshot().id().to_owned();
    assert!(
        !s.sim.audit().is_clean(),
        "the snapshot exists during the backup"
    );
    backup.finish().unwrap();
    assert!(engine.snapshot(&vm, &snapshot).unwrap_err().is_not_found());
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn a_dropped_backup_still_removes_its_snapshot_and_the_stop_flag_stops_it() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let stop = Arc::new(AtomicBool::new(false));
    let mut with_stop = settings();
    with_stop.stop = Some(Arc::clone(&stop));
    let backup = SnapshotBackup::start(&engine, &vm, &description("BU_stop"), &with_stop).unwrap();
    stop.store(true, Ordering::SeqCst);
    let disk = backup.disks()[0].clone();
    let file = tempfile::tempfile().unwrap();
    let error = backup
        .download(&disk, &mut RawFileSink::new(&file, "disk"), &NoProgress)
        .unwrap_err();
    assert!(matches!(error, OvirtError::Cancelled { .. }), "{error:?}");
    drop(backup);
    // A snapshot of one disk only (shareable and direct-LUN disks must be left out).
    let mut one = settings();
    one.disks = Some(vec![disk.id.clone()]);
    let backup = SnapshotBackup::start(&engine, &vm, &description("BU_one"), &one).unwrap();
    assert_eq!(backup.disks().len(), 1);
    assert_eq!(backup.disks()[0].id, disk.id);
    drop(backup);
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn the_appliance_reads_each_snapshot_disk_by_serial_and_detaches_it() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let dir = tempfile::tempdir().unwrap();
    let smbios = dir.path().join("product_uuid");
    std::fs::write(&smbios, vm_id(&engine, APPLIANCE_VM).to_uppercase()).unwrap();
    let mut appliance = Appliance::new(Appliance::this_vm(&smbios).unwrap());
    appliance.by_id_dir = s.by_id().to_path_buf();
    appliance.appear_timeout = Duration::from_secs(10);
    let backup =
        SnapshotBackup::start(&engine, &vm, &description("BU_appliance"), &settings()).unwrap();
    for disk in backup.disks().to_vec() {
        let path = dir.path().join(format!("{}.raw", disk.id));
        let file = std::fs::File::create(&path).unwrap();
        let summary = backup
            .read_through_appliance(
                &appliance,
                &disk,
                &mut RawFileSink::new(&file, "disk"),
                &NoProgress,
            )
            .unwrap();
        assert!(
            summary.data_bytes < disk.size / 4,
            "zero blocks skipped: {summary:?}"
        );
        assert_identical(&s.sim.disk_file(&disk.id).unwrap(), &path);
        assert!(!appliance.device_of(&disk.id).exists(), "detached");
    }
    backup.finish().unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn faults_at_each_step_leave_nothing_behind() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let faults = s.sim.faults();

    // The snapshot is refused.
    faults.fail_call(
        Call::new("POST", "snapshots"),
        1,
        400,
        "Cannot create Snapshot.",
    );
    assert!(SnapshotBackup::start(&engine, &vm, &description("BU_f1"), &settings()).is_err());

    // The transfer is refused; the snapshot goes with the backup.
    let backup = SnapshotBackup::start(&engine, &vm, &description("BU_f2"), &settings()).unwrap();
    faults.fail_call(
        Call::new("POST", "imagetransfers"),
        1,
        400,
        "Cannot transfer.",
    );
    let disk = backup.disks()[0].clone();
    let file = tempfile::tempfile().unwrap();
    assert!(
        backup
            .download(&disk, &mut RawFileSink::new(&file, "d"), &NoProgress)
            .is_err()
    );
    // Finalizing fails: the download is an error, the transfer is over.
    faults.fail_next_finalize();
    let error = backup
        .download(&disk, &mut RawFileSink::new(&file, "d"), &NoProgress)
        .unwrap_err();
    assert!(matches!(error, OvirtError::Failed { .. }), "{error:?}");
    // A 401 in the middle: a new token, the run goes on.
    faults.unauthorized_once();
    let file = tempfile::tempfile().unwrap();
    backup
        .download(&disk, &mut RawFileSink::new(&file, "d"), &NoProgress)
        .unwrap();
    // The snapshot cannot be deleted once: the error is returned, and the snapshot stays
    // for the sweep (it is ours and marked).
    faults.fail_call(
        Call::new("DELETE", "snapshots"),
        1,
        400,
        "Cannot remove Snapshot.",
    );
    assert!(backup.finish().is_err());
    assert_eq!(
        s.sim.audit().leftovers.len(),
        2,
        "the snapshot and the token"
    );
    // After the run (this process stands for a later one: the owner recorded is gone
    // once we pretend to be another process), the sweep removes it.
    let mut later = Owner::this_process("vmbackup");
    later.start += 1;
    let far = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72);
    let report =
        ovirt_client::sweep_leftovers(&engine, &later, far, &[vm], None, Duration::from_secs(20))
            .unwrap();
    assert_eq!(report.snapshots.len(), 1, "{report:?}");
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn the_sweep_removes_exactly_what_dead_runs_left() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let appliance = vm_id(&engine, APPLIANCE_VM);
    let here = Owner::this_process("vmbackup");
    let now = jiff::Timestamp::now();
    let dead = Owner {
        start: here.start + 1,
        ..here.clone()
    };
    // A dead run's snapshot, one of its disks on the appliance, another being downloaded.
    let left = engine
        .create_snapshot(&vm, &dead.describe("BU_dead", now), None, None)
        .unwrap();
    let left_id = left.id.unwrap();
    engine
        .wait_snapshot_ok(&vm, &left_id, Duration::from_secs(20))
        .unwrap();
    let disks = engine.snapshot_disks(&vm, &left_id).unwrap();
    let attached = disks[0].id.clone().unwrap();
    engine
        .attach_disk_snapshot(
            &appliance,
            &attached,
            &left_id,
            ovirt_client::types::DiskInterface::Virtio,
        )
        .unwrap();
    let transfer = engine
        .start_download(
            disks[1].id.as_deref().unwrap(),
            &ovirt_client::TransferSettings {
                snapshot: disks[1].image_id.clone(),
                ..ovirt_client::TransferSettings::default()
            },
        )
        .unwrap();
    std::mem::forget(transfer); // the run was killed: nobody finalizes it
    // A snapshot of a live run (this process) and one that is not ours.
    for description in [
        here.describe("BU_live", now),
        "BU_20190708_120001".to_owned(),
    ] {
        let made = engine
            .create_snapshot(&vm, &description, None, None)
            .unwrap();
        engine
            .wait_snapshot_ok(&vm, made.id.as_deref().unwrap(), Duration::from_secs(20))
            .unwrap();
    }
    let report = ovirt_client::sweep_leftovers(
        &engine,
        &here,
        jiff::Timestamp::now(),
        &[vm.clone(), "a-vm-removed-since".to_owned()],
        Some(&appliance),
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.snapshots.len(), 1, "{report:?}");
    assert_eq!(report.snapshots[0].id, left_id);
    assert_eq!(report.attachments, [(appliance.clone(), attached)]);
    assert_eq!(report.transfers.len(), 1, "{report:?}");
    assert_eq!(report.live.len(), 1, "{report:?}");
    let kept: Vec<String> = engine
        .snapshots(&vm)
        .unwrap()
        .into_iter()
        .filter_map(|s| s.description)
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().any(|d| d == "BU_20190708_120001"));
    assert_eq!(
        s.sim.audit().leftovers.len(),
        3,
        "the two kept snapshots and the token"
    );
    for snapshot in engine.snapshots(&vm).unwrap() {
        engine
            .remove_snapshot(
                &vm,
                snapshot.id.as_deref().unwrap(),
                Duration::from_secs(20),
            )
            .unwrap();
    }
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

/// A sink that revokes the transfer's ticket when it receives its first bytes.
struct RevokingSink<'a> {
    inner: RawFileSink<'a>,
    sim: &'a ovirt_sim::Simulator,
    revoked: bool,
}

impl disk_image::DiskSink for RevokingSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        if !self.revoked {
            self.sim.revoke_tickets();
            self.revoked = true;
        }
        self.inner.write_at(offset, data)
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.inner.finish(size)
    }
}

#[test]
fn a_stuck_snapshot_a_revoked_ticket_and_a_missing_or_stuck_appliance_disk() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let faults = s.sim.faults();

    // The snapshot stays locked past the deadline: the backup fails, and the guard waits
    // (retrying the engine's busy answers) until it can remove the snapshot.
    faults.keep_snapshots_locked(Some(Duration::from_secs(3)));
    let mut short = settings();
    short.snapshot_timeout = Duration::from_secs(1);
    let error = SnapshotBackup::start(&engine, &vm, &description("BU_stuck"), &short)
        .err()
        .expect("the snapshot never became ok");
    assert!(matches!(error, OvirtError::Timeout { .. }), "{error:?}");
    faults.keep_snapshots_locked(None);
    assert_eq!(s.sim.audit().leftovers.len(), 1, "only the token");

    // The ticket is revoked in the middle of a download: a 403 (or the daemon closing the
    // connection it was serving), the transfer finalized.
    let mut small_pieces = settings();
    small_pieces.options.connections = 1;
    small_pieces.options.piece_size = 4096;
    small_pieces.remove_timeout = Duration::from_secs(2);
    let backup =
        SnapshotBackup::start(&engine, &vm, &description("BU_ticket"), &small_pieces).unwrap();
    let disk = backup.disks()[0].clone();
    let file = tempfile::tempfile().unwrap();
    let mut sink = RevokingSink {
        inner: RawFileSink::new(&file, "d"),
        sim: &s.sim,
        revoked: false,
    };
    let error = backup.download(&disk, &mut sink, &NoProgress).unwrap_err();
    assert!(
        matches!(
            error,
            OvirtError::Imageio { status: 403, .. } | OvirtError::Http { .. }
        ),
        "{error:?}"
    );

    // The appliance: a disk that never shows up is detached and the read fails.
    let mut appliance = Appliance::new(vm_id(&engine, APPLIANCE_VM));
    appliance.by_id_dir = s.by_id().to_path_buf();
    appliance.appear_timeout = Duration::from_secs(1);
    faults.hide_appliance_devices(true);
    let error = backup
        .read_through_appliance(
            &appliance,
            &disk,
            &mut RawFileSink::new(&file, "d"),
            &NoProgress,
        )
        .unwrap_err();
    assert!(matches!(error, OvirtError::Timeout { .. }), "{error:?}");
    faults.hide_appliance_devices(false);
    assert_eq!(
        s.sim.audit().leftovers.len(),
        2,
        "the snapshot and the token"
    );

    // Detaching fails: the read is an error, the attachment and the snapshot stay (the
    // snapshot cannot go while its disk is attached), and the next run's sweep removes both.
    faults.fail_call(
        Call::new("DELETE", "diskattachments"),
        1,
        400,
        "Cannot detach.",
    );
    let file = tempfile::tempfile().unwrap();
    let error = backup
        .read_through_appliance(
            &appliance,
            &disk,
            &mut RawFileSink::new(&file, "d"),
            &NoProgress,
        )
        .unwrap_err();
    assert!(error.to_string().contains("Cannot detach"), "{error}");
    drop(backup); // cannot remove the snapshot: logged, left for the sweep
    assert_eq!(
        s.sim.audit().leftovers.len(),
        3,
        "snapshot, attachment, token"
    );
    let mut later = Owner::this_process("vmbackup");
    later.start += 1;
    let report = ovirt_client::sweep_leftovers(
        &engine,
        &later,
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72),
        &[vm],
        Some(&appliance.vm),
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.attachments.len(), 1, "{report:?}");
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

/// A sink that panics on its first bytes.
struct PanickingSink;

impl disk_image::DiskSink for PanickingSink {
    fn write_at(&mut self, _: u64, _: &[u8]) -> disk_image::Result<()> {
        panic!("the sink broke");
    }

    fn finish(&mut self, _: u64) -> disk_image::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panic_mid_download_still_finalizes_the_transfer_and_removes_the_snapshot() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = vm_id(&engine, "vm1");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let backup =
            SnapshotBackup::start(&engine, &vm, &description("BU_panic"), &settings()).unwrap();
        let disk = backup.disks()[0].clone();
        let _ = backup.download(&disk, &mut PanickingSink, &NoProgress);
    }));
    assert!(caught.is_err(), "the sink panicked");
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}
