//! Faults at each step of the data path (the source export cut or short, an upload refused,
//! its ticket cancelled, the target storage full, finalize failing, a stop): the run fails
//! (exit 1), the new VM and its disks are gone, the source VM is as it was, and both
//! simulators' audits are clean.

use std::time::{Duration, Instant};

use ovirt_sim::Call;
use xapi_sim::{Endpoint, NewVm, TransferFault};
use xenapi::records::PowerState;

use super::support::{Fixture, code};

/// Runs a migration that must fail, then checks that nothing is left and nothing changed.
fn fails_cleanly(fixture: &Fixture, expected: &str) {
    let before = fixture.xen.vm(&fixture.source.vm).expect("the source VM");
    let output = fixture.run(&["--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(expected),
        "{expected:?} missing from:\n{stderr}"
    );
    assert!(
        fixture.engine().vms(None).unwrap().is_empty(),
        "the failed migration left its VM"
    );
    assert_eq!(
        fixture.xen.vm(&fixture.source.vm),
        Some(before),
        "the source changed"
    );
    fixture.assert_clean();
}

#[test]
fn an_export_cut_on_the_source() {
    let fixture = Fixture::new();
    fixture.xen.faults().transfer(
        Endpoint::ExportRawVdi,
        TransferFault::Cut {
            after_bytes: 1 << 20,
        },
    );
    fails_cleanly(&fixture, "copying disk web-01_disk0");
}

#[test]
fn an_export_that_ends_early_while_its_task_says_success() {
    let fixture = Fixture::new();
    fixture.xen.faults().transfer(
        Endpoint::ExportRawVdi,
        TransferFault::Truncate {
            after_bytes: 3 << 20,
        },
    );
    fails_cleanly(&fixture, "web-01_disk0");
}

#[test]
fn the_second_disk_upload_refused() {
    let fixture = Fixture::new();
    fixture.ovirt.faults().fail_call(
        Call::new("POST", "imagetransfers"),
        2,
        500,
        "Failed to create the image transfer",
    );
    fails_cleanly(&fixture, "web-01_disk1");
}

#[test]
fn finalizing_an_upload_fails() {
    let fixture = Fixture::new();
    fixture.ovirt.faults().fail_next_finalize();
    fails_cleanly(&fixture, "finalizing transfer");
}

#[test]
fn a_running_source_is_refused_before_anything_starts() {
    let fixture = Fixture::new();
    let running = fixture
        .xen
        .add_vm(&NewVm::new("db-01").vif("").power(PowerState::Running))
        .expect("add a running VM");
    let output = fixture.run(&["--storage-domain", "data1", "db-01"]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("VM `db-01` is running"), "{stderr}");
    assert!(stderr.contains("has no disk"), "{stderr}");
    assert_eq!(
        fixture.xen.vm(&running.vm).map(|vm| vm.power_state),
        Some(PowerState::Running)
    );
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}

#[test]
fn keep_failed_leaves_the_half_made_target_for_a_look() {
    let fixture = Fixture::new();
    fixture.ovirt.faults().fail_call(
        Call::new("POST", "imagetransfers"),
        2,
        500,
        "Failed to create the image transfer",
    );
    let output = fixture.run(&["--storage-domain", "data1", "--keep-failed", "web-01"]);
    assert_eq!(code(&output), 1);
    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the kept VM");
    assert_eq!(
        engine.attachments(vm.id.as_deref().unwrap()).unwrap().len(),
        2
    );
    drop(engine);
    fixture.assert_clean();
}

#[test]
fn sigterm_during_a_stalled_export_removes_the_target() {
    let fixture = Fixture::new();
    fixture.xen.faults().transfer(
        Endpoint::ExportRawVdi,
        TransferFault::Stall {
            at_byte: 2 << 20,
            duration: Duration::from_secs(30),
        },
    );
    let before = fixture.xen.vm(&fixture.source.vm).expect("the source VM");
    let running = fixture.spawn(&["--storage-domain", "data1", "web-01"]);
    let engine = fixture.engine();
    let deadline = Instant::now() + Duration::from_secs(60);
    while engine.find_vm("web-01", false).unwrap().is_none() {
        assert!(Instant::now() < deadline, "the target VM never appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1)); // into the stall
    running.terminate();
    let stopped = Instant::now();
    assert_eq!(running.wait(), 1);
    assert!(
        stopped.elapsed() < Duration::from_secs(20),
        "the stop waited for the stalled export"
    );
    assert!(
        engine.vms(None).unwrap().is_empty(),
        "the target VM is left"
    );
    drop(engine);
    assert_eq!(fixture.xen.vm(&fixture.source.vm), Some(before));
    fixture.assert_clean();
}

#[test]
fn the_target_storage_full_when_the_second_disk_is_made() {
    let fixture = Fixture::new();
    fixture.ovirt.faults().fail_call(
        Call::new("POST", "diskattachments"),
        2,
        400,
        "Cannot add Virtual Disk. Low disk space on Storage Domain data1.",
    );
    fails_cleanly(&fixture, "Low disk space");
}

#[test]
fn the_upload_ticket_cancelled_mid_upload() {
    let fixture = Fixture::new();
    // The export stalls a moment after its first blocks, with the upload open.
    fixture.xen.faults().transfer(
        Endpoint::ExportRawVdi,
        TransferFault::Stall {
            at_byte: 2 << 20,
            duration: Duration::from_secs(3),
        },
    );
    let before = fixture.xen.vm(&fixture.source.vm).expect("the source VM");
    let running = fixture.spawn(&["--storage-domain", "data1", "web-01"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fixture.ovirt.audit().leftovers.iter().any(
        |l| matches!(l, ovirt_sim::Leftover::Transfer { phase, .. } if phase == "transferring"),
    ) {
        assert!(Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The engine takes the ticket away behind the upload's back.
    fixture.ovirt.revoke_tickets();
    assert_eq!(running.wait(), 1);
    assert!(
        fixture.engine().vms(None).unwrap().is_empty(),
        "the failed migration left its VM"
    );
    assert_eq!(fixture.xen.vm(&fixture.source.vm), Some(before));
    fixture.assert_clean();
}
