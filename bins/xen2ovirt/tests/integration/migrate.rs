//! A whole migration: the VM's settings, NICs and disks on the engine; the disks' bytes,
//! downloaded from the engine, identical to the source's (`qemu-img compare`); a rerun after
//! a hard interruption removes the half-made VM and the disks it had uploaded, and nothing
//! else.

use std::path::Path;

use disk_image::{NoProgress, RawFileSink};
use jiff::Timestamp;
use ovirt_client::imageio::TransferOptions;
use ovirt_client::types::{BiosType, DiskInterface, VmStatus, VmType};
use ovirt_client::{Connection, NewVm, Owner, TransferSettings};

use super::support::{Fixture, assert_identical, code, json};

/// Downloads an engine disk into a sparse file.
fn download(engine: &Connection, id: &str, size: u64, path: &Path) {
    let file = std::fs::File::create(path).expect("create the download");
    engine
        .download_disk(
            id,
            size,
            &mut RawFileSink::new(&file, "download"),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .expect("download the disk");
}

#[test]
fn a_pv_vm_moves_with_its_settings_and_its_bytes() {
    let fixture = Fixture::new();
    let before = fixture.xen.vm(&fixture.source.vm).expect("the source VM");

    let output = fixture.run(&["--verify", "--json", "--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["status"], "migrated");
    let disks = report["disks"].as_array().expect("disks");
    assert_eq!(disks.len(), 2);
    for disk in disks {
        assert_eq!(disk["verified"], true, "{disk}");
        assert!(disk["digest"].as_str().unwrap().starts_with("sha256-2m:"));
        // Only allocated blocks travel: the stream is far smaller than the disk.
        assert!(
            disk["stream_bytes"].as_u64() < disk["size"].as_u64(),
            "{disk}"
        );
        assert!(disk["sent"]["zeroed_bytes"].as_u64() > Some(0), "{disk}");
    }

    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the new VM");
    let vm_id = vm.id.clone().unwrap();
    assert_eq!(report["vm_id"], vm_id.as_str());
    assert_eq!(vm.memory, Some(1536 << 20));
    let topology = vm.cpu.and_then(|c| c.topology).expect("a topology");
    assert_eq!((topology.sockets, topology.cores), (Some(2), Some(1)));
    assert_eq!(
        vm.bios.and_then(|b| b.bios_type),
        Some(BiosType::Q35SeaBios)
    );
    let nics = engine.vm_nics(&vm_id).unwrap();
    assert_eq!(nics.len(), 1);
    let profile = nics[0].vnic_profile.as_ref().and_then(|p| p.id.clone());
    let network = engine.networks().unwrap().remove(0);
    let expected = engine
        .vnic_profiles(network.id.as_deref().unwrap())
        .unwrap()[0]
        .id
        .clone();
    assert_eq!(profile, expected);

    let attachments = engine.attachments(&vm_id).unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0].bootable, Some(true));
    assert_eq!(attachments[1].bootable, Some(false));
    for (n, attachment) in attachments.iter().enumerate() {
        assert_eq!(attachment.interface, Some(DiskInterface::Virtio));
        let id = attachment.disk.as_ref().and_then(|d| d.id.clone()).unwrap();
        let disk = engine.disk(&id).unwrap();
        assert!(
            disk.description
                .as_deref()
                .unwrap_or("")
                .starts_with("xen2ovirt: migrated from"),
            "{:?}",
            disk.description
        );
        let size = disk.provisioned_size.unwrap();
        let source = fixture.source_disk(n);
        assert_eq!(size, std::fs::metadata(&source).unwrap().len());
        let copy = fixture.dir.path().join(format!("disk{n}.raw"));
        download(&engine, &id, size, &copy);
        assert_identical(&source, &copy);
    }
    drop(engine);
    assert_eq!(
        fixture.xen.vm(&fixture.source.vm),
        Some(before),
        "the source changed"
    );
    fixture.assert_clean();
}

#[test]
fn a_new_name_virtio_scsi_block_storage_new_macs_and_a_start() {
    let fixture = Fixture::new();
    let output = fixture.run(&[
        "--name",
        "web-copy",
        "--disk-interface",
        "virtio-scsi",
        "--storage-domain",
        "block1",
        "--no-keep-macs",
        "--start",
        "--json",
        "web-01",
    ]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert!(report["plan"]["target"]["nics"][0]["mac"].is_null());
    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-copy", false)
        .unwrap()
        .expect("the new VM");
    assert_eq!(
        vm.status,
        Some(VmStatus::Up),
        "--start waits until it is up"
    );
    let vm_id = vm.id.unwrap();
    let attachments = engine.attachments(&vm_id).unwrap();
    assert_eq!(attachments.len(), 2);
    for (n, attachment) in attachments.iter().enumerate() {
        assert_eq!(attachment.interface, Some(DiskInterface::VirtioScsi));
        let id = attachment.disk.as_ref().and_then(|d| d.id.clone()).unwrap();
        let disk = engine.disk(&id).unwrap();
        assert_eq!(
            disk.sparse,
            Some(false),
            "raw disks on block storage are preallocated"
        );
        let copy = fixture.dir.path().join(format!("disk{n}.raw"));
        download(&engine, &id, disk.provisioned_size.unwrap(), &copy);
        assert_identical(&fixture.source_disk(n), &copy);
    }
    drop(engine);
    fixture.assert_clean();
}

/// A VM on the engine's `Default` cluster named `name` with `description`.
fn engine_vm(engine: &Connection, name: &str, description: String) -> String {
    let vm = engine
        .create_vm(&NewVm {
            name: name.to_owned(),
            cluster: "Default".to_owned(),
            description: Some(description),
            memory: 1 << 30,
            guaranteed_memory: None,
            max_memory: None,
            sockets: 1,
            cores: 1,
            threads: 1,
            os_type: "other_linux".to_owned(),
            vm_type: VmType::Server,
            bios: None,
            boot_devices: Vec::new(),
        })
        .expect("create a VM");
    vm.id.expect("an id")
}

#[test]
fn a_rerun_removes_the_half_made_vm_of_a_dead_run_and_nothing_else() {
    let fixture = Fixture::new();
    let engine = fixture.engine();
    // What a run killed hard leaves: its VM still carries its owner mark (a pid that runs no
    // more). A VM of someone else, and one a run completed, carry other descriptions.
    let dead = Owner {
        pid: 4_194_000,
        start: 1,
        ..Owner::this_process("xen2ovirt")
    };
    let half = engine_vm(
        &engine,
        "web-01",
        dead.describe("xen2ovirt-building", Timestamp::now()),
    );
    let other = engine_vm(&engine, "other", "the web server, by hand".to_owned());
    let done = engine_vm(
        &engine,
        "done",
        "xen2ovirt: migrated from XenServer VM 1 (`done`) of http://x".to_owned(),
    );

    let output = fixture.run(&["--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&output), 0);
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the new VM");
    assert_ne!(
        vm.id.as_deref(),
        Some(half.as_str()),
        "the half-made VM was reused"
    );
    assert!(
        vm.description
            .as_deref()
            .unwrap_or("")
            .starts_with("xen2ovirt: migrated from XenServer VM"),
        "{:?}",
        vm.description
    );
    let left: Vec<String> = engine
        .vms(None)
        .unwrap()
        .into_iter()
        .filter_map(|vm| vm.id)
        .collect();
    assert!(!left.contains(&half));
    assert!(left.contains(&other) && left.contains(&done), "{left:?}");
    drop(engine);
    fixture.assert_clean();
}

/// `--fixup appliance` uploads the disks floating (the fix-up comes before they join the
/// VM). A run killed hard then leaves a VM and floating disks, both described by its owner
/// mark; the next run removes both (the engine's audit counts floating disks), then
/// migrates.
#[test]
fn a_rerun_after_a_kill_during_an_appliance_upload_removes_the_floating_disks() {
    let fixture = Fixture::new();
    let engine = fixture.engine();
    let disks_before = engine.disks().unwrap().len();
    let running = fixture.spawn(&[
        "--fixup",
        "appliance",
        "--appliance-vm",
        "00000000-0000-4000-8000-0000000000aa",
        "--storage-domain",
        "data1",
        "web-01",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let marked = || {
        engine
            .disks()
            .unwrap()
            .into_iter()
            .filter(|d| {
                d.description
                    .as_deref()
                    .and_then(ovirt_client::Mark::parse)
                    .is_some()
            })
            .count()
    };
    while marked() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no disk was uploaded within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    running.kill();
    assert!(marked() >= 1, "the killed run left its floating disk");
    assert!(engine.find_vm("web-01", false).unwrap().is_some());
    assert!(!fixture.ovirt.audit().is_clean(), "the kill left things");

    let output = fixture.run(&["--no-fixup", "--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&output), 0);
    assert_eq!(marked(), 0, "no disk carries a mark once the VM is kept");
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .and_then(|vm| vm.id)
        .expect("the new VM");
    assert_eq!(engine.attachments(&vm).unwrap().len(), 2);
    assert_eq!(engine.disks().unwrap().len(), disks_before + 2);
    for attachment in engine.attachments(&vm).unwrap() {
        let disk = engine.disk(attachment.id.as_deref().unwrap()).unwrap();
        let description = disk.description.unwrap_or_default();
        assert!(
            description.starts_with("xen2ovirt: migrated from XenServer VM"),
            "{description}"
        );
    }
    drop(engine);
    // The killed run could log out of neither side: its SSO token and its XAPI session
    // stay until the engine and XAPI expire them (neither can be listed, so no run can
    // sweep them). Nothing else is left.
    let mut ovirt = fixture.ovirt.audit();
    let tokens = ovirt.leftovers.len();
    ovirt
        .leftovers
        .retain(|l| !matches!(l, ovirt_sim::Leftover::Token { .. }));
    assert_eq!(tokens - ovirt.leftovers.len(), 1, "one token: {ovirt}");
    assert!(ovirt.is_clean(), "ovirt-sim: {ovirt}");
    let mut xen = fixture.xen.audit();
    assert_eq!(xen.sessions.len(), 1, "xapi-sim: {xen:?}");
    xen.sessions.clear();
    assert!(xen.is_clean(), "xapi-sim: {xen:?}");
}
