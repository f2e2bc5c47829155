//! XAPI's semantics over the wire (a raw-socket XML-RPC client using the `xenapi` codec):
//! snapshots, power states, destruction, the calls a skeleton export needs, tasks and
//! sessions.

use std::time::Duration;

use xapi_sim::{NewDisk, NewVm, SimConfig, Simulator};
use xenapi::rpc::Value;

use super::support::{Rpc, demo, reference, text, vm_named};

fn record(pairs: &[(&str, Value)]) -> Value {
    Value::Struct(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// The pool's default SR.
fn default_sr(rpc: &Rpc, s: &str) -> String {
    let pool = rpc.ok("pool.get_all", &[s.into()]).as_array().unwrap()[0].clone();
    text(&rpc.ok("pool.get_default_SR", &[s.into(), pool]))
}

#[test]
fn snapshots_freeze_disk_bytes_and_destroy_leaves_vdis() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let disk = sim.vdis_of(&web)[0].clone();
    let before = sim.vdi_bytes(&disk).unwrap();
    let snapshot = reference(&rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), web.as_str().into(), "snap".into()],
    ));
    sim.write_vdi(&disk, 4096, b"written after the snapshot")
        .unwrap();
    let snap_disk = sim.vdis_of(&snapshot)[0].clone();
    assert_eq!(
        sim.vdi_bytes(&snap_disk).unwrap(),
        before,
        "the snapshot's bytes are frozen"
    );
    assert_ne!(sim.vdi_bytes(&disk).unwrap(), before);
    let snap_record = sim.vm(&snapshot).unwrap();
    assert!(snap_record.is_a_snapshot && snap_record.is_a_template);
    assert_eq!(snap_record.snapshot_of, web);
    assert_eq!(snap_record.vifs.len(), 1, "VIFs are copied");
    assert_eq!(
        sim.vm(&web).unwrap().snapshots,
        std::slice::from_ref(&snapshot)
    );
    let vdi = sim.vdi(&snap_disk).unwrap();
    assert!(vdi.is_a_snapshot);
    assert_eq!(vdi.snapshot_of, disk);

    // VmBackup clears the template flags on the snapshot.
    rpc.ok(
        "VM.set_is_a_template",
        &[s.as_str().into(), snapshot.as_str().into(), false.into()],
    );
    rpc.ok(
        "VM.set_ha_always_run",
        &[s.as_str().into(), snapshot.as_str().into(), false.into()],
    );
    assert!(!sim.vm(&snapshot).unwrap().is_a_template);

    rpc.ok("VM.destroy", &[s.as_str().into(), snapshot.as_str().into()]);
    let audit = sim.audit();
    assert!(
        audit.snapshots.is_empty() && audit.vbds.is_empty() && audit.vifs.is_empty(),
        "{audit}"
    );
    assert_eq!(audit.vdis.len(), 1, "VM.destroy leaves the VDIs: {audit}");
    let snap_file = sim.vdi_path(&snap_disk).unwrap();
    assert!(snap_file.exists());
    rpc.ok(
        "VDI.destroy",
        &[s.as_str().into(), snap_disk.as_str().into()],
    );
    assert!(!snap_file.exists(), "VDI.destroy removes the disk's file");
    assert!(
        sim.vdi_path(&disk).unwrap().exists(),
        "the original disk's file stays"
    );
    rpc.ok("session.logout", &[s.as_str().into()]);
    assert!(sim.audit().is_clean(), "{}", sim.audit());
}

#[test]
fn power_states_are_checked() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let (web, db) = (vm_named(&sim, "web-01"), vm_named(&sim, "db-01"));
    let p = |vm: &xapi_sim::Ref| vec![Value::from(s.as_str()), Value::from(vm.as_str())];
    assert_eq!(
        rpc.err("VM.clean_shutdown", &p(&web)),
        ["VM_BAD_POWER_STATE", web.as_str(), "running", "halted"]
    );
    assert_eq!(
        rpc.err("VM.destroy", &p(&db)),
        ["VM_BAD_POWER_STATE", db.as_str(), "halted", "running"]
    );
    let mut start = p(&web);
    start.extend([false.into(), false.into()]);
    rpc.ok("VM.start", &start);
    assert_eq!(text(&rpc.ok("VM.get_power_state", &p(&web))), "Running");
    assert_eq!(rpc.err("VM.start", &start)[0], "VM_BAD_POWER_STATE");
    let disk = sim.vdis_of(&web)[0].clone();
    assert_eq!(
        rpc.err("VDI.destroy", &[s.as_str().into(), disk.as_str().into()]),
        ["VDI_IN_USE", disk.as_str(), "destroy"]
    );
    rpc.ok("VM.hard_shutdown", &p(&web));
    assert_eq!(text(&rpc.ok("VM.get_power_state", &p(&web))), "Halted");

    // A snapshot is a template: it cannot start.
    let snap = rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), db.as_str().into(), "live".into()],
    );
    let mut start_snap = vec![
        Value::from(s.as_str()),
        snap.clone(),
        false.into(),
        false.into(),
    ];
    assert_eq!(rpc.err("VM.start", &start_snap)[0], "VM_IS_TEMPLATE");
    start_snap.truncate(2);
    rpc.ok("VM.destroy", &start_snap);
    assert_eq!(
        rpc.err("VM.frobnicate", &p(&web)),
        ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]
    );
    assert_eq!(
        rpc.err("VM.destroy", &[s.as_str().into()]),
        ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.destroy", "2", "1"]
    );
    assert_eq!(
        rpc.err("VM.get_all", &["OpaqueRef:bogus".into()]),
        ["SESSION_INVALID", "OpaqueRef:bogus"]
    );
    let audit = sim.audit();
    assert_eq!(
        audit.vdis.len(),
        2,
        "db-01's two snapshot disks stay: {audit}"
    );
}

#[test]
fn skeleton_export_calls_create_and_destroy_disks_and_interfaces() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let sr = default_sr(&rpc, &s);
    let network = rpc
        .ok("network.get_all", &[s.as_str().into()])
        .as_array()
        .unwrap()[0]
        .clone();
    let network = text(&network);

    let vdi = rpc.ok(
        "VDI.create",
        &[
            s.as_str().into(),
            record(&[
                ("name_label", "data".into()),
                ("SR", sr.as_str().into()),
                ("virtual_size", "10485760".into()),
                ("type", "user".into()),
                ("sharable", false.into()),
                ("read_only", false.into()),
                ("other_config", Value::Struct(vec![])),
            ]),
        ],
    );
    let vdi_ref = reference(&vdi);
    assert_eq!(sim.vdi(&vdi_ref).unwrap().virtual_size, 10 << 20);
    assert_eq!(
        std::fs::metadata(sim.vdi_path(&vdi_ref).unwrap())
            .unwrap()
            .len(),
        10 << 20
    );
    let vbd = rpc.ok(
        "VBD.create",
        &[
            s.as_str().into(),
            record(&[
                ("VM", web.as_str().into()),
                ("VDI", vdi.clone()),
                ("userdevice", "autodetect".into()),
                ("bootable", false.into()),
                ("mode", "RW".into()),
                ("type", "Disk".into()),
                ("empty", false.into()),
            ]),
        ],
    );
    let userdevice = rpc.ok("VBD.get_userdevice", &[s.as_str().into(), vbd.clone()]);
    assert_eq!(text(&userdevice), "1");
    let clash = rpc.err(
        "VBD.create",
        &[
            s.as_str().into(),
            record(&[
                ("VM", web.as_str().into()),
                ("VDI", vdi.clone()),
                ("userdevice", "1".into()),
                ("type", "Disk".into()),
            ]),
        ],
    );
    assert_eq!(clash, ["DEVICE_ALREADY_EXISTS", "1"]);
    let vif = rpc.ok(
        "VIF.create",
        &[
            s.as_str().into(),
            record(&[
                ("device", "1".into()),
                ("network", network.as_str().into()),
                ("VM", web.as_str().into()),
                ("MAC", "".into()),
                ("MTU", "1500".into()),
                ("other_config", Value::Struct(vec![])),
                ("qos_algorithm_type", "".into()),
                ("qos_algorithm_params", Value::Struct(vec![])),
            ]),
        ],
    );
    let mac = text(&rpc.ok("VIF.get_MAC", &[s.as_str().into(), vif.clone()]));
    assert!(mac.starts_with("00:16:3e:"), "{mac}");
    assert_eq!(
        sim.audit().vdis.len() + sim.audit().vbds.len() + sim.audit().vifs.len(),
        3
    );

    rpc.ok("VIF.destroy", &[s.as_str().into(), vif]);
    rpc.ok("VBD.destroy", &[s.as_str().into(), vbd]);
    rpc.ok("VDI.destroy", &[s.as_str().into(), vdi]);
    rpc.ok("session.logout", &[s.as_str().into()]);
    assert!(sim.audit().is_clean(), "{}", sim.audit());
}

#[test]
fn async_calls_run_in_tasks() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    sim.faults().async_delay(Duration::from_millis(300));
    let task = text(&rpc.ok(
        "Async.VM.snapshot",
        &[s.as_str().into(), web.as_str().into(), "async".into()],
    ));
    let status = rpc.ok(
        "task.get_status",
        &[s.as_str().into(), task.as_str().into()],
    );
    assert_eq!(text(&status), "pending");
    let done = rpc.wait_task(&s, &task);
    assert_eq!(
        done.member("status").and_then(Value::as_str),
        Some("success")
    );
    let result = text(done.member("result").unwrap());
    let snapshot = xenapi::rpc::decode_value(&result).unwrap();
    let snapshot = reference(&snapshot);
    assert!(sim.vm(&snapshot).unwrap().is_a_snapshot);
    assert_eq!(sim.audit().tasks.len(), 1, "{}", sim.audit());

    let failing = text(&rpc.ok(
        "Async.VM.clean_shutdown",
        &[s.as_str().into(), web.as_str().into()],
    ));
    let failed = rpc.wait_task(&s, &failing);
    let info: Vec<String> = failed
        .member("error_info")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        info,
        ["VM_BAD_POWER_STATE", web.as_str(), "running", "halted"]
    );
    assert_eq!(
        rpc.err(
            "Async.VM.get_record",
            &[s.as_str().into(), web.as_str().into()]
        )[0],
        "MESSAGE_METHOD_UNKNOWN"
    );

    let own = text(&rpc.ok(
        "task.create",
        &[s.as_str().into(), "mine".into(), "".into()],
    ));
    for t in [&task, &failing, &own] {
        rpc.ok("task.destroy", &[s.as_str().into(), t.as_str().into()]);
    }
    rpc.ok("VM.destroy", &[s.as_str().into(), snapshot.as_str().into()]);
    for vdi in sim.audit().vdis {
        rpc.ok(
            "VDI.destroy",
            &[s.as_str().into(), vdi.reference.as_str().into()],
        );
    }
    rpc.ok("session.logout", &[s.as_str().into()]);
    assert!(sim.audit().is_clean(), "{}", sim.audit());
}

#[test]
fn sessions_expire_and_sr_space_runs_out() {
    let mut config = SimConfig::new().with_vm(NewVm::new("small").disk(NewDisk::new(
        "d",
        1 << 20,
        xapi_sim::DiskContents::Empty,
    )));
    config.session_timeout = Duration::from_millis(200);
    config.sr_size = 3 << 20;
    let sim = Simulator::start(config).unwrap();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let vm = vm_named(&sim, "small");
    let snap = rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), vm.as_str().into(), "one".into()],
    );
    let more = rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), vm.as_str().into(), "two".into()],
    );
    let full = rpc.err(
        "VM.snapshot",
        &[s.as_str().into(), vm.as_str().into(), "three".into()],
    );
    assert_eq!(full, ["SR_FULL", "4194304", "3145728"]);
    let sr = default_sr(&rpc, &s);
    let allocation = rpc.ok(
        "SR.get_virtual_allocation",
        &[s.as_str().into(), sr.as_str().into()],
    );
    assert_eq!(allocation.as_i64(), Some(3 << 20));
    drop((snap, more));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        rpc.err("VM.get_all", &[s.as_str().into()]),
        ["SESSION_INVALID", s.as_str()]
    );
    assert!(sim.audit().sessions.is_empty());

    let s = rpc.login(&sim);
    sim.invalidate_sessions();
    assert_eq!(
        rpc.err("VM.get_all", &[s.as_str().into()])[0],
        "SESSION_INVALID"
    );
}
