//! The XML reader against the bodies recorded from a real 4.3 engine and the API model's
//! documentation examples. They are recorded public data kept in the steering repository's
//! `shared/research/ovirt-real/samples/` (with their sources), which sits beside the
//! workspace (`../shared`) on developers' machines and in CI; they are not copied here.

use ovirt_client::types::{
    Backup, BiosType, DiskAttachments, DiskBackup, DiskFormat, DiskInterface, DiskStatus, Disks,
    Fault, ImageTransfer, Job, JobStatus, SnapshotStatus, SnapshotType, Snapshots, StorageDomain,
    StorageDomainType, StorageType, Vm, VmStatus, Vms,
};
use ovirt_client::xml::parse;

fn sample(name: &str) -> String {
    let path = format!(
        "{}/../../shared/research/ovirt-real/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e} (the recorded engine bodies live in shared/, beside the workspace)")
    })
}

#[test]
fn vm_from_a_real_engine() {
    let vm: Vm = parse(&sample("miq-vm.xml"), "GET vm").unwrap();
    assert_eq!(
        vm.id.as_deref(),
        Some("0a221304-b874-4309-8ed5-f84810072596")
    );
    assert_eq!(vm.name.as_deref(), Some("vm_on_with_snapshots"));
    assert_eq!(vm.status, Some(VmStatus::Up));
    assert_eq!(vm.memory, Some(1_073_741_824));
    assert_eq!(vm.memory_policy.as_ref().unwrap().max, Some(4_294_967_296));
    let topology = vm.cpu.as_ref().unwrap().topology.as_ref().unwrap();
    assert_eq!(
        (topology.sockets, topology.cores, topology.threads),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(vm.os.as_ref().unwrap().os_type.as_deref(), Some("other"));
    let devices = &vm
        .os
        .as_ref()
        .unwrap()
        .boot
        .as_ref()
        .unwrap()
        .devices
        .as_ref()
        .unwrap()
        .items;
    assert_eq!(devices, &["hd"]);
    assert_eq!(
        vm.bios.as_ref().unwrap().bios_type,
        Some(BiosType::I440fxSeaBios)
    );
    assert_eq!(
        vm.cluster.as_ref().unwrap().id.as_deref(),
        Some("1c273044-e6ca-492f-9ac2-47381b626808")
    );
    assert_eq!(vm.description.as_deref().unwrap_or(""), "");
}

#[test]
fn vm_list_from_a_real_engine() {
    let vms: Vms = parse(&sample("miq-vms.xml"), "GET vms").unwrap();
    let text = sample("miq-vms.xml");
    assert_eq!(vms.items.len(), text.matches("<vm href=").count());
    assert!(!vms.items.is_empty());
    assert!(
        vms.items
            .iter()
            .all(|vm| vm.id.is_some() && vm.name.is_some() && vm.status.is_some())
    );
}

#[test]
fn disk_attachments_from_a_real_engine() {
    let list: DiskAttachments =
        parse(&sample("miq-vm-diskattachments.xml"), "GET attachments").unwrap();
    let first = &list.items[0];
    assert_eq!(first.active, Some(true));
    assert_eq!(first.bootable, Some(true));
    assert_eq!(first.interface, Some(DiskInterface::Virtio));
    assert_eq!(first.logical_name.as_deref(), Some("/dev/vda"));
    assert_eq!(first.disk.as_ref().unwrap().id, first.id);
}

#[test]
fn snapshots_from_a_real_engine() {
    let list: Snapshots = parse(&sample("miq-vm-snapshots.xml"), "GET snapshots").unwrap();
    assert_eq!(list.items.len(), 2);
    assert_eq!(list.items[0].snapshot_type, Some(SnapshotType::Active));
    let regular = &list.items[1];
    assert_eq!(regular.snapshot_type, Some(SnapshotType::Regular));
    assert_eq!(regular.snapshot_status, Some(SnapshotStatus::Ok));
    assert_eq!(regular.description.as_deref(), Some("vm_on_snap_1"));
    assert_eq!(regular.vm.as_ref().unwrap().name.as_deref(), Some("vm_on"));
}

#[test]
fn snapshot_disks_from_a_real_engine() {
    let disks: Disks = parse(&sample("miq-vm-snapshot-disks.xml"), "GET snapshot disks").unwrap();
    let disk = &disks.items[0];
    assert_eq!(disk.href, None);
    assert_eq!(
        disk.image_id.as_deref(),
        Some("32b2f0c8-0992-4500-8e3c-c78ffad01ef2")
    );
    assert_eq!(
        disk.snapshot.as_ref().unwrap().id.as_deref(),
        Some("395ead74-54f9-4f16-88bb-21a7a1e4924e")
    );
    assert_eq!(disk.format, Some(DiskFormat::Cow));
    assert_eq!(disk.provisioned_size, Some(8_589_934_592));
    assert_eq!(disk.total_size, Some(0));
    assert_eq!(disk.backup, Some(DiskBackup::None));
    assert_eq!(
        disk.storage_domains.as_ref().unwrap().items[0]
            .id
            .as_deref(),
        Some("723b4112-1502-4b01-83a7-2ba87d1bbb35")
    );
}

#[test]
fn disks_from_a_real_engine() {
    let disks: Disks = parse(&sample("miq-disks.xml"), "GET disks").unwrap();
    assert_eq!(disks.items.len(), 17);
    assert!(
        disks
            .items
            .iter()
            .all(|d| d.status == Some(DiskStatus::Ok) || d.status.is_some())
    );
    assert!(
        disks
            .items
            .iter()
            .all(|d| d.provisioned_size.is_some() && d.format.is_some())
    );
}

#[test]
fn storage_domain_from_a_real_engine() {
    let domain: StorageDomain = parse(&sample("miq-storagedomain.xml"), "GET sd").unwrap();
    assert_eq!(domain.name.as_deref(), Some("data_spider_1"));
    assert_eq!(domain.domain_type, Some(StorageDomainType::Data));
    let storage = domain.storage.as_ref().unwrap();
    assert_eq!(storage.storage_type, Some(StorageType::Nfs));
    assert!(!storage.storage_type.unwrap().is_block());
    assert_eq!(domain.available, Some(37_580_963_840));
    assert_eq!(domain.supports_discard, Some(false));
    assert_eq!(domain.block_size, Some(512));
}

#[test]
fn job_and_fault_from_the_documentation() {
    let job: Job = parse(&sample("doc-job.xml"), "GET job").unwrap();
    assert_eq!(job.id.as_deref(), Some("123"));
    assert_eq!(job.status, Some(JobStatus::Failed));
    assert_eq!(job.description.as_deref(), Some("Adding Disk"));
    let fault: Fault = parse(&sample("doc-fault.xml"), "fault").unwrap();
    assert_eq!(fault.reason.as_deref(), Some("Incomplete parameters"));
    assert_eq!(fault.detail.as_deref(), Some("Vm [name] required for add"));
}

#[test]
fn abridged_documentation_examples_are_refused_with_the_reason() {
    // `<direction>download|upload</direction>` is not a value of the model: a failure that
    // names the value, never a guess.
    let error = parse::<ImageTransfer>(&sample("doc-image-transfer-response.xml"), "transfer")
        .unwrap_err()
        .to_string();
    assert!(error.contains("download|upload"), "{error}");
    // Not well-formed (an unclosed `<creation_date>`).
    assert!(parse::<Backup>(&sample("doc-backup-response.xml"), "backup").is_err());
}

#[test]
fn unknown_enumeration_values_fail() {
    let error = parse::<Vm>("<vm id=\"1\"><status>sleeping</status></vm>", "vm")
        .unwrap_err()
        .to_string();
    assert!(error.contains("sleeping"), "{error}");
}
