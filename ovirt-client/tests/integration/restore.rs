//! Restores into a new VM from a snapshot backup's files and records, against the simulated
//! engine with the real imageio daemon: settings checked, bytes compared with `qemu-img
//! compare`, a failing restore removing what it made, each test ending with a clean audit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use disk_image::{DiskInput, FileDisk, NoProgress, RawFileSink};
use ovirt_client::restore::BuildSettings;
use ovirt_client::types::{DiskInterface, VmStatus};
use ovirt_client::{
    Connection, Owner, RestoreChoices, RestorePlan, SnapshotBackup, TargetDomain, VmBuild,
    VmRecords,
};

use super::backup::{description, settings};
use super::support::{assert_identical, connect, sim};

/// Backs `vm` up into `dir` (`<disk id>.raw` and the record files); returns the records.
fn back_up(engine: &Connection, vm: &str, dir: &Path) -> VmRecords {
    let backup =
        SnapshotBackup::start(engine, vm, &description("BU_restore"), &settings()).unwrap();
    for disk in backup.disks() {
        let file = std::fs::File::create(dir.join(format!("{}.raw", disk.id))).unwrap();
        backup
            .download(disk, &mut RawFileSink::new(&file, "disk"), &NoProgress)
            .unwrap();
    }
    for (name, text) in backup.records().files().unwrap() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    backup.finish().unwrap();
    VmRecords::from_files(|name| match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    })
    .unwrap()
}

fn choices(name: &str, keep_macs: bool) -> RestoreChoices {
    RestoreChoices {
        name: name.to_owned(),
        cluster: "Default".to_owned(),
        description: Owner::this_process("vmbackup").describe("restoring", jiff::Timestamp::now()),
        keep_macs,
        vnic_profile: None,
    }
}

fn build_settings() -> BuildSettings {
    BuildSettings {
        disk_timeout: Duration::from_secs(20),
        ..BuildSettings::default()
    }
}

/// Runs a plan with the backup's files in `dir`; returns the new VM's id.
fn restore(
    engine: &Connection,
    plan: &RestorePlan,
    dir: &Path,
    domain: &str,
) -> ovirt_client::Result<String> {
    let domain = TargetDomain::find(engine, domain)?;
    let mut build = VmBuild::create(engine, &plan.vm, &plan.nics, &build_settings())?;
    for disk in &plan.disks {
        let path: PathBuf = dir.join(format!("{}.raw", disk.source.as_deref().unwrap()));
        let source = FileDisk::open(&path).unwrap();
        build.add_disk(disk, &domain, DiskInput::Random(&source), &NoProgress)?;
    }
    build.commit("restored from a backup")
}

#[test]
fn a_backup_restores_into_a_new_vm_with_its_settings_disks_and_macs() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = engine.find_vm("vm1", false).unwrap().unwrap().id.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = back_up(&engine, &vm, dir.path());
    let disks_before = s.sim.disk_list();

    // The source still has its MAC: keeping it is refused, and nothing stays behind.
    let plan = RestorePlan::from_records(&records, &choices("vm1-restored", true)).unwrap();
    let error = restore(&engine, &plan, dir.path(), "data1").unwrap_err();
    assert!(error.to_string().contains("already in use"), "{error}");
    assert!(!s.sim.vm_names().contains(&"vm1-restored".to_owned()));
    assert_eq!(s.sim.disk_list(), disks_before);

    // New MACs: the VM is made with the source's settings, the disks hold its bytes.
    let plan = RestorePlan::from_records(&records, &choices("vm1-restored", false)).unwrap();
    let id = restore(&engine, &plan, dir.path(), "data1").unwrap();
    let made = engine.vm(&id, false).unwrap();
    assert_eq!(made.memory, records.vm.memory);
    assert_eq!(
        made.cpu.as_ref().unwrap().topology,
        records.vm.cpu.as_ref().unwrap().topology
    );
    assert_eq!(
        made.os.as_ref().unwrap().boot,
        records.vm.os.as_ref().unwrap().boot
    );
    assert_eq!(made.description.as_deref(), Some("restored from a backup"));
    let nics = engine.vm_nics(&id).unwrap();
    assert_eq!(nics.len(), 1);
    assert_ne!(nics[0].mac, records.nics[0].mac);
    let attachments = engine.attachments(&id).unwrap();
    assert_eq!(attachments.len(), 2);
    for (attachment, disk) in attachments.iter().zip(&plan.disks) {
        let new_id = attachment.id.as_deref().unwrap();
        let source = disk.source.as_deref().unwrap();
        let original = records.attachment_of(source).unwrap();
        assert_eq!(attachment.bootable, original.bootable);
        assert_eq!(attachment.interface, original.interface);
        assert_identical(
            &dir.path().join(format!("{source}.raw")),
            &s.sim.disk_file(new_id).unwrap(),
        );
    }
    engine.remove_vm(&id, false).unwrap();

    // With the source gone, its MAC is kept.
    engine.stop_vm(&vm, false).unwrap();
    engine
        .wait_vm_status(&vm, VmStatus::Down, Duration::from_secs(20))
        .unwrap();
    engine.remove_vm(&vm, false).unwrap();
    let plan = RestorePlan::from_records(&records, &choices("vm1", true)).unwrap();
    let id = restore(&engine, &plan, dir.path(), "data1").unwrap();
    assert_eq!(engine.vm_nics(&id).unwrap()[0].mac, records.nics[0].mac);
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn a_restore_that_fails_removes_the_vm_and_its_disks() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = engine.find_vm("vm1", false).unwrap().unwrap().id.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = back_up(&engine, &vm, dir.path());
    let disks_before = s.sim.disk_list();
    let vms_before = s.sim.vm_names();
    let mut plan = RestorePlan::from_records(&records, &choices("doomed", false)).unwrap();
    // The second disk's finalize fails (the engine deletes it); the first was attached.
    s.sim.faults().fail_call(
        ovirt_sim::Call::new("POST", "finalize"),
        2,
        500,
        "Finalize failed",
    );
    let error = restore(&engine, &plan, dir.path(), "data1").unwrap_err();
    assert!(error.to_string().contains("Finalize failed"), "{error}");
    assert_eq!(s.sim.vm_names(), vms_before);
    assert_eq!(s.sim.disk_list(), disks_before);
    // Block storage: raw disks are made preallocated (sparse raw is refused there).
    for disk in &mut plan.disks {
        disk.interface = DiskInterface::VirtioScsi;
    }
    plan.vm.name = "on-block".into();
    let id = restore(&engine, &plan, dir.path(), "block1").unwrap();
    for attachment in engine.attachments(&id).unwrap() {
        let disk = engine.disk(attachment.id.as_deref().unwrap()).unwrap();
        assert_eq!(disk.sparse, Some(false));
        assert_eq!(attachment.interface, Some(DiskInterface::VirtioScsi));
    }
    engine.remove_vm(&id, false).unwrap();

    // A run killed while building a VM leaves it marked; the next run's sweep removes it
    // with its disks, and leaves the VMs of live runs and everyone else's alone.
    let here = Owner::this_process("vmbackup");
    let dead = Owner {
        start: here.start + 1,
        ..here.clone()
    };
    let now = jiff::Timestamp::now();
    let domain = TargetDomain::find(&engine, "data1").unwrap();
    let mut live_plan = plan.clone();
    live_plan.vm.name = "being-built".into();
    live_plan.vm.description = Some(here.describe("restoring", now));
    let live = VmBuild::create(&engine, &live_plan.vm, &[], &build_settings()).unwrap();
    plan.vm.name = "half-made".into();
    plan.vm.description = Some(dead.describe("restoring", now));
    let mut half = VmBuild::create(&engine, &plan.vm, &[], &build_settings()).unwrap();
    let source = FileDisk::open(
        dir.path()
            .join(format!("{}.raw", plan.disks[0].source.as_deref().unwrap())),
    )
    .unwrap();
    half.add_disk(
        &plan.disks[0],
        &domain,
        DiskInput::Random(&source),
        &NoProgress,
    )
    .unwrap();
    let half_id = half.vm().to_owned();
    std::mem::forget(half); // killed
    let (removed, failures) =
        ovirt_client::sweep_unfinished_vms(&engine, &here, jiff::Timestamp::now()).unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(removed, [half_id]);
    assert_eq!(
        s.sim.vm_names(),
        [vms_before, vec!["being-built".to_owned()]].concat()
    );
    drop(live);
    assert_eq!(s.sim.disk_list(), disks_before);
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

/// Lays the backup in `work` out under `root` as oVirtSimpleBackup does: `data.xml`,
/// `DiskN.dat`, and `DiskN.img.gz` written by `dd | gzip -c | dd`, boot disk first.
fn seed_layout(records: &VmRecords, work: &Path, root: &Path, vm: &str) {
    // Lay the backup out as oVirtSimpleBackup does: data.xml, DiskN.dat, gzip'ed DiskN.img.
    let dir = root.join(format!("vm1/{vm}/BU_20261201_120000"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.xml"), records.ovf.as_deref().unwrap()).unwrap();
    let mut ordered = records.disks.clone();
    ordered.sort_by_key(|d| {
        !records
            .attachment_of(d.id.as_deref().unwrap())
            .unwrap()
            .bootable
            .unwrap()
    });
    for (index, disk) in ordered.iter().enumerate() {
        let n = index + 1;
        let id = disk.id.as_deref().unwrap();
        let raw = work.join(format!("{id}.raw"));
        super::support::run(
            "sh",
            &[
                "-c",
                &format!(
                    "dd if={} bs=1M status=none | gzip -c | dd of={}/Disk{n}.img.gz bs=1M status=none",
                    raw.display(),
                    dir.display()
                ),
            ],
        );
        let attachment = records.attachment_of(id).unwrap();
        let dat = [
            format!("Disk{n}"),
            id.to_owned(),
            disk.name.clone().unwrap(),
            attachment.bootable.unwrap().to_string(),
            attachment.interface.unwrap().to_string(),
            disk.provisioned_size.unwrap().to_string(),
            format!("vd{}", char::from(b'b' + u8::try_from(index).unwrap())),
            "vm1".into(),
            "BU_20261201_120000".into(),
            vm.to_owned(),
        ];
        std::fs::write(
            dir.join(format!("Disk{n}.dat")),
            dat.join("\n") + "\n" + &" \n".repeat(7),
        )
        .unwrap();
    }
}

#[test]
fn a_backup_in_the_seeds_layout_restores_from_its_ovf_as_a_stream() {
    let s = sim();
    let engine = connect(&s.sim);
    let vm = engine.find_vm("vm1", false).unwrap().unwrap().id.unwrap();
    let work = tempfile::tempdir().unwrap();
    let records = back_up(&engine, &vm, work.path());
    let root = tempfile::tempdir().unwrap();
    seed_layout(&records, work.path(), root.path(), &vm);
    let backup = ovirt_client::simplebackup::list(root.path())
        .unwrap()
        .remove(0);
    let ovf = ovirt_client::ovf::OvfVm::parse(&backup.ovf().unwrap().unwrap()).unwrap();
    let profile = records.nics[0].vnic_profile.as_ref().unwrap().id.clone();
    let mut choices = choices("vm1-from-seed", false);
    choices.vnic_profile = profile;
    let plan = RestorePlan::from_ovf(&ovf, &choices, |d| {
        backup
            .disks
            .iter()
            .filter_map(|b| b.info.as_ref())
            .find(|i| Some(&i.disk_id) == d.disk_id.as_ref())
            .map(|i| i.size)
    })
    .unwrap();
    assert_eq!(plan.vm.memory, records.vm.memory.unwrap());
    assert_eq!(plan.nics.len(), 1);
    let domain = TargetDomain::find(&engine, "data1").unwrap();
    let mut build = VmBuild::create(&engine, &plan.vm, &plan.nics, &build_settings()).unwrap();
    for disk in &plan.disks {
        let seed = backup
            .disks
            .iter()
            .find(|b| b.info.as_ref().map(|i| &i.disk_id) == disk.source.as_ref())
            .unwrap();
        let mut stream = disk_image::StreamDisk::new(
            seed.open(&ovirt_client::simplebackup::SystemLzop).unwrap(),
            disk.size,
            seed.image.display().to_string(),
        );
        let (_, summary) = build
            .add_disk(disk, &domain, DiskInput::Stream(&mut stream), &NoProgress)
            .unwrap();
        assert!(
            summary.zeroed_bytes > summary.data_bytes,
            "zeros as PATCH: {summary:?}"
        );
    }
    let id = build
        .commit("restored from an oVirtSimpleBackup backup")
        .unwrap();
    for (attachment, disk) in engine.attachments(&id).unwrap().iter().zip(&plan.disks) {
        let source = disk.source.as_deref().unwrap();
        assert_eq!(
            attachment.bootable,
            records.attachment_of(source).unwrap().bootable
        );
        assert_identical(
            &work.path().join(format!("{source}.raw")),
            &s.sim.disk_file(attachment.id.as_deref().unwrap()).unwrap(),
        );
    }
    engine.remove_vm(&id, false).unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

#[test]
fn a_new_disk_is_fixed_up_on_the_appliance_before_it_joins_its_vm() {
    let s = sim();
    let engine = connect(&s.sim);
    let (_dir, plan, domain, source) = first_disk_case(&engine, "fixed");
    let mut build = VmBuild::create(&engine, &plan.vm, &plan.nics, &build_settings()).unwrap();
    let disk = &plan.disks[0];
    let (id, _) = build
        .upload_disk(
            disk,
            &domain,
            DiskInput::Random(&FileDisk::open(&source).unwrap()),
            &NoProgress,
        )
        .unwrap();
    let appliance = appliance(&s, &engine);
    let plugged = appliance.attach_disk(&engine, &id, None).unwrap();
    assert_identical(&source, plugged.device());
    // The "fix-up": a write through the device reaches the disk.
    {
        use std::os::unix::fs::FileExt;
        let device = std::fs::OpenOptions::new()
            .write(true)
            .open(plugged.device())
            .unwrap();
        device.write_all_at(b"fixed", 3 << 20).unwrap();
        device.sync_all().unwrap();
    }
    let device = plugged.device().to_path_buf();
    plugged.detach().unwrap();
    assert!(!device.exists(), "detached");
    // Until the VM is kept, the floating disk carries the build's owner mark.
    let marked = engine.disk(&id).unwrap().description.unwrap();
    assert!(ovirt_client::Mark::parse(&marked).is_some(), "{marked}");
    build.attach(&id, disk).unwrap();
    let made = build.commit("migrated").unwrap();
    assert_eq!(
        engine.disk(&id).unwrap().description.as_deref(),
        Some("migrated"),
        "a kept VM's disk has its final description, not the mark"
    );
    let bytes = std::fs::read(s.sim.disk_file(&id).unwrap()).unwrap();
    assert_eq!(&bytes[3 << 20..(3 << 20) + 5], b"fixed");
    assert_eq!(engine.attachments(&made).unwrap().len(), 1);
    engine.remove_vm(&made, false).unwrap();

    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}

/// `vm1` backed up into a new directory (kept alive by the first value), the plan of a
/// restore named `name`, the domain `data1`, and the backup file of the plan's first disk.
fn first_disk_case(
    engine: &Connection,
    name: &str,
) -> (tempfile::TempDir, RestorePlan, TargetDomain, PathBuf) {
    let vm = engine.find_vm("vm1", false).unwrap().unwrap().id.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = back_up(engine, &vm, dir.path());
    let plan = RestorePlan::from_records(&records, &choices(name, false)).unwrap();
    let domain = TargetDomain::find(engine, "data1").unwrap();
    let source = dir
        .path()
        .join(format!("{}.raw", plan.disks[0].source.as_deref().unwrap()));
    (dir, plan, domain, source)
}

/// The simulator's backup appliance, its disks appearing under the test's by-id directory.
fn appliance(
    s: &super::support::Sim,
    engine: &Connection,
) -> ovirt_client::snapshot_backup::appliance::Appliance {
    let id = engine
        .find_vm(ovirt_sim::APPLIANCE_VM, false)
        .unwrap()
        .unwrap()
        .id
        .unwrap();
    let mut appliance = ovirt_client::snapshot_backup::appliance::Appliance::new(id);
    appliance.by_id_dir = s.by_id().to_path_buf();
    appliance.appear_timeout = Duration::from_secs(10);
    appliance
}

/// Builds killed hard: one with its uploaded disk plugged into the appliance, one in the
/// middle of an upload into a floating disk. Beside them a live build's floating disk and
/// someone else's. The sweeps take exactly the dead builds' VMs and disks.
#[test]
fn the_sweeps_remove_exactly_the_vms_and_floating_disks_of_killed_builds() {
    let s = sim();
    let engine = connect(&s.sim);
    let (_dir, plan, domain, source) = first_disk_case(&engine, "unused");
    let disk = &plan.disks[0];
    let appliance = appliance(&s, &engine);
    let here = Owner::this_process("vmbackup");
    let dead = Owner {
        start: here.start + 1,
        ..here.clone()
    };
    let now = jiff::Timestamp::now();
    let input = FileDisk::open(&source).unwrap();
    let build_as = |name: &str, owner: &Owner| {
        let mut vm = plan.vm.clone();
        vm.name = name.to_owned();
        vm.description = Some(owner.describe("restoring", now));
        VmBuild::create(&engine, &vm, &[], &build_settings()).unwrap()
    };
    let mut killed = build_as("killed-fixing", &dead);
    let (on_appliance, _) = killed
        .upload_disk(disk, &domain, DiskInput::Random(&input), &NoProgress)
        .unwrap();
    std::mem::forget(appliance.attach_disk(&engine, &on_appliance, None).unwrap());
    std::mem::forget(killed);
    let mut killed = build_as("killed-uploading", &dead);
    let uploading = killed
        .upload_disk_pieces(disk, &domain, "final", &NoProgress, |_push| {
            Ok::<_, ovirt_client::OvirtError>(())
        })
        .map(|(id, (), _)| id)
        .unwrap();
    let open = engine
        .start_upload(&uploading, &ovirt_client::TransferSettings::default())
        .unwrap();
    std::mem::forget(open);
    std::mem::forget(killed);
    let mut live = build_as("still-running", &here);
    let (live_disk, _) = live
        .upload_disk(disk, &domain, DiskInput::Random(&input), &NoProgress)
        .unwrap();
    let by_hand = engine
        .create_disk(&ovirt_client::types::Disk {
            name: Some("by-hand".into()),
            description: Some("made by hand".into()),
            format: Some(ovirt_client::types::DiskFormat::Raw),
            sparse: Some(true),
            provisioned_size: Some(1 << 20),
            storage_domains: Some(ovirt_client::types::StorageDomains::from(vec![
                ovirt_client::types::StorageDomain::with_id(&domain.id),
            ])),
            ..Default::default()
        })
        .unwrap()
        .id
        .unwrap();
    assert!(!s.sim.audit().is_clean(), "the killed runs left things");
    let later = jiff::Timestamp::now();
    let (vms, failures) = ovirt_client::sweep_unfinished_vms(&engine, &here, later).unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(vms.len(), 2, "both killed runs' VMs: {vms:?}");
    let (mut disks, failures) =
        ovirt_client::sweep_unfinished_disks(&engine, &here, later, Some(appliance.vm.as_str()))
            .unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    disks.sort();
    let mut expected = vec![on_appliance, uploading];
    expected.sort();
    assert_eq!(disks, expected);
    assert!(engine.disk(&live_disk).is_ok(), "the live run's disk stays");
    assert!(engine.disk(&by_hand).is_ok(), "someone else's disk stays");
    assert!(engine.attachments(&appliance.vm).unwrap().is_empty());
    drop(live);
    engine.remove_disk(&by_hand).unwrap();
    drop(engine);
    let audit = s.sim.audit();
    assert!(audit.is_clean(), "{audit}");
}
