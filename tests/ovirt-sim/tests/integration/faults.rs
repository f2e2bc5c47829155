//! Every fault knob, driven by the official SDK, each followed by the audit.

use std::time::Duration;

use ovirt_sim::Call;

use super::support::{demo, qcow2_image};

#[test]
fn the_nth_call_fails_and_a_retry_succeeds() {
    let fixture = demo();
    fixture.sim.faults().fail_call(
        Call::new("POST", "snapshots"),
        1,
        409,
        "Cannot create Snapshot. Related operation is currently in progress.",
    );
    let out = fixture.sdk("busy_snapshot", &[]);
    assert_eq!(out["first"], 409);
    fixture.assert_clean();
}

#[test]
fn a_disk_kept_locked_outlives_the_client_deadline() {
    let fixture = demo();
    fixture
        .sim
        .faults()
        .keep_disks_locked(Some(Duration::from_secs(3)));
    let out = fixture.sdk("locked_disk", &["0.5"]);
    assert_eq!(out["deadline"], "passed");
    assert_eq!(out["remove_locked"], 409);
    assert!(!fixture.sim.has_disk(out["disk"].as_str().unwrap()));
    fixture.assert_clean();
}

#[test]
fn a_transfer_failing_in_finalizing_removes_the_uploaded_disk() {
    let fixture = demo();
    let source = fixture.path("source.qcow2");
    qcow2_image(&source, "8M", &["0"]);
    fixture.sim.faults().fail_next_finalize();
    let out = fixture.sdk("failed_finalize", &[&source.to_string_lossy()]);
    assert_eq!(out["phase"], "finished_failure");
    assert!(
        out["phases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "finalizing_failure"),
        "{out}"
    );
    assert_eq!(out["disk"], "removed");
    fixture.assert_clean();
}

#[test]
fn a_dropped_connection_fails_one_call_only() {
    let fixture = demo();
    fixture
        .sim
        .faults()
        .drop_connection(Call::new("GET", "vms"), 1);
    let out = fixture.sdk("dropped", &[]);
    assert_eq!(out["first"], "error");
    assert_eq!(out["second"], 3);
    fixture.assert_clean();
}

#[test]
fn the_audit_names_what_a_client_left_behind() {
    let fixture = demo();
    // The appliance scenario's first half leaves a snapshot and an attachment.
    let out = fixture.sdk("appliance", &["attach"]);
    let audit = fixture.sim.audit();
    assert_eq!(audit.leftovers.len(), 2, "{audit}");
    let text = audit.to_string();
    assert!(
        text.contains("BU_appliance") && text.contains("backup-appliance"),
        "{text}"
    );
    let json = serde_json::to_value(&audit).unwrap();
    let kinds: Vec<&str> = json["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["snapshot", "attachment"], "{json}");
    let (disk, snapshot) = (
        out["disk"].as_str().unwrap(),
        out["snapshot"].as_str().unwrap(),
    );
    fixture.sdk("appliance", &["detach", disk, snapshot]);
    fixture.assert_clean();
}
