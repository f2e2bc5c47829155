//! A running source: `--shutdown` shuts it down cleanly (hard only when asked); it stays off
//! when the migration succeeds and is started again when it fails. `--live` copies it from
//! a snapshot, always destroyed, and leaves it running.

use std::time::Duration;

use xenapi::records::PowerState;

use super::support::{Fixture, code};

#[test]
fn a_running_source_is_shut_down_and_stays_off_once_migrated() {
    let fixture = Fixture::with_source(PowerState::Running);
    let output = fixture.run(&["--storage-domain", "data1", "--shutdown", "web-01"]);
    assert_eq!(code(&output), 0);
    assert_eq!(fixture.source_power(), Some(PowerState::Halted));
    assert!(fixture.engine().find_vm("web-01", false).unwrap().is_some());
    fixture.assert_clean();
}

#[test]
fn a_failed_migration_starts_the_source_again() {
    let fixture = Fixture::with_source(PowerState::Running);
    fixture.ovirt.faults().fail_next_finalize();
    let output = fixture.run(&["--storage-domain", "data1", "--shutdown", "web-01"]);
    assert_eq!(code(&output), 1);
    assert_eq!(fixture.source_power(), Some(PowerState::Running));
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}

#[test]
fn a_slow_shutdown_fails_unless_a_hard_one_is_allowed() {
    let fixture = Fixture::with_source(PowerState::Running);
    fixture.xen.faults().async_delay(Duration::from_secs(4));
    let args = [
        "--storage-domain",
        "data1",
        "--shutdown",
        "--shutdown-timeout",
        "1",
        "web-01",
    ];
    let output = fixture.run(&args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did not shut down cleanly within 1 s (give --force-shutdown"),
        "{stderr}"
    );
    assert!(fixture.engine().vms(None).unwrap().is_empty());

    let output = fixture.run(&[&args[..], &["--force-shutdown"]].concat());
    assert_eq!(code(&output), 0);
    assert_eq!(fixture.source_power(), Some(PowerState::Halted));
    fixture.xen.faults().async_delay(Duration::ZERO);
    fixture.assert_clean();
}

#[test]
fn a_live_copy_comes_from_a_snapshot_that_is_always_destroyed() {
    let fixture = Fixture::with_source(PowerState::Running);
    let output = fixture.run(&["--storage-domain", "data1", "--live", "--verify", "web-01"]);
    assert_eq!(code(&output), 0);
    assert_eq!(fixture.source_power(), Some(PowerState::Running));
    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the new VM");
    let attachments = engine.attachments(vm.id.as_deref().unwrap()).unwrap();
    assert_eq!(attachments.len(), 2);
    drop(engine);
    // The snapshot and its disks are gone.
    fixture.assert_clean();

    // A failure after the snapshot: it is destroyed all the same, the source keeps running.
    fixture.xen.faults().transfer(
        xapi_sim::Endpoint::ExportRawVdi,
        xapi_sim::TransferFault::Cut {
            after_bytes: 1 << 20,
        },
    );
    let output = fixture.run(&[
        "--storage-domain",
        "data1",
        "--live",
        "--name",
        "web-02",
        "web-01",
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(fixture.source_power(), Some(PowerState::Running));
    assert!(fixture.engine().find_vm("web-02", false).unwrap().is_none());
    fixture.assert_clean();
}
