//! Typed calls, `Async.*` with task waits, and changed blocks, against the fake pool.

use std::time::{Duration, Instant};

use serde_json::json;
use xenapi::records::{PowerState, StringMap, VbdRecord, VdiRecord};
use xenapi::{ChangedBlocks, Ref, Session, XenApiError};

use super::support::{FakePool, PASSWORD, USER};

fn login(pool: &FakePool) -> Session {
    Session::login(&pool.master(), USER, PASSWORD, pool.options()).unwrap()
}

#[test]
fn records_and_getters_are_typed() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool);
    let vms = session.vm().get_all_records().unwrap();
    assert_eq!(vms.len(), 3);
    let web = &vms[&Ref::new("OpaqueRef:vm-web")];
    assert_eq!(web.name_label, "web");
    assert_eq!(web.power_state, PowerState::Halted);
    assert_eq!(web.memory_static_max, 4 << 30);
    assert_eq!(web.other_config["owner"], "tests");
    let vm = session.vm().get_by_uuid(&web.uuid).unwrap();
    assert_eq!(
        session.vm().get_power_state(&vm).unwrap(),
        PowerState::Halted
    );
    assert!(!session.vm().get_is_a_template(&vm).unwrap());
    assert_eq!(
        session.vm().get_vbds(&vm).unwrap(),
        [Ref::new("OpaqueRef:vbd-web")]
    );
    assert_eq!(session.vm().get_name_label(&vm).unwrap(), "web");

    let vdis = session.vdi().get_all_records().unwrap();
    assert_eq!(vdis[&Ref::new("OpaqueRef:vdi-web")].virtual_size, 10 << 30);
    let sr = session
        .sr()
        .get_by_name_label("Local storage")
        .unwrap()
        .remove(0);
    assert_eq!(session.sr().get_record(&sr).unwrap().kind, "ext");
    let pools = session.pool().get_all().unwrap();
    assert_eq!(session.pool().get_default_sr(&pools[0]).unwrap(), sr);
    let master = session.pool().get_master(&pools[0]).unwrap();
    assert_eq!(session.host().get_address(&master).unwrap(), "127.0.0.2");
    assert_eq!(session.this_host().unwrap(), master);
    let networks = session.network().get_all_records().unwrap();
    assert_eq!(networks.values().next().unwrap().bridge, "xenbr0");

    let err = session.vm().get_by_uuid("no-such-uuid").unwrap_err();
    assert_eq!(err.code(), Some("UUID_INVALID"));
    assert!(
        err.to_string()
            .contains("VM.get_by_uuid failed: UUID_INVALID [VM, no-such-uuid]"),
        "{err}"
    );
}

#[test]
fn mutations_send_what_xapi_expects() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool);
    let web = Ref::new("OpaqueRef:vm-web");
    let snapshot = session.vm().snapshot(&web, "before upgrade").unwrap();
    let record = session.vm().get_record(&snapshot).unwrap();
    assert!(record.is_a_snapshot && record.is_a_template);
    session.vm().set_is_a_template(&snapshot, false).unwrap();
    session.vm().set_name_label(&snapshot, "restored").unwrap();
    assert!(!session.vm().get_is_a_template(&snapshot).unwrap());
    session.vm().destroy(&snapshot).unwrap();

    let sr = Ref::new("OpaqueRef:sr");
    let disk = VdiRecord {
        name_label: "new".into(),
        sr,
        virtual_size: 1 << 30,
        ..VdiRecord::default()
    };
    let vdi = session.vdi().create(&disk).unwrap();
    let vbd = session
        .vbd()
        .create(&VbdRecord {
            vm: web.clone(),
            vdi: vdi.clone(),
            userdevice: "1".into(),
            ..VbdRecord::default()
        })
        .unwrap();
    assert_eq!(session.vbd().get_record(&vbd).unwrap().vdi, vdi);
    session.vbd().destroy(&vbd).unwrap();
    let copy = session.vdi().snapshot(&vdi, &StringMap::new()).unwrap();
    assert!(session.vdi().get_record(&copy).unwrap().is_a_snapshot);
    session.vdi().destroy(&vdi).unwrap();

    session.vm().start(&web, false, false).unwrap();
    let err = session.vm().start(&web, false, false).unwrap_err();
    assert_eq!(err.code(), Some("VM_BAD_POWER_STATE"));
    assert_eq!(err.params(), ["OpaqueRef:vm-web", "halted", "running"]);
    session.vm().hard_shutdown(&web).unwrap();
}

#[test]
fn async_calls_return_tasks_whose_results_are_parsed() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool);
    let web = Ref::new("OpaqueRef:vm-web");
    let task = session.vm().snapshot_async(&web, "nightly").unwrap();
    let outcome = session.wait_task(&task, Duration::from_secs(10)).unwrap();
    let snapshot = outcome.reference().unwrap();
    assert!(session.vm().get_is_a_snapshot(&snapshot).unwrap());
    // A failed task is XAPI's error with the task named; the task is destroyed.
    let task = session.vm().clean_shutdown_async(&web).unwrap();
    let err = session
        .wait_task(&task, Duration::from_secs(10))
        .unwrap_err();
    assert!(matches!(err, XenApiError::TaskFailed { .. }), "{err}");
    assert_eq!(err.code(), Some("VM_BAD_POWER_STATE"));
    assert!(err.to_string().contains(task.as_str()), "{err}");
    let outcome = session
        .async_call_and_wait(
            "VDI.snapshot",
            &[
                Ref::new("OpaqueRef:vdi-web").into(),
                xenapi::rpc::Value::Struct(vec![]),
            ],
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(
        outcome
            .reference()
            .unwrap()
            .as_str()
            .starts_with("OpaqueRef:vdi-snapshot-")
    );
    assert_eq!(pool.stats()["tasks"], json!({}));
}

#[test]
fn a_task_that_never_ends_times_out_at_its_deadline() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool);
    let stuck = Ref::new("OpaqueRef:vm-stuck");
    let task = session.vm().hard_shutdown_async(&stuck).unwrap();
    let start = Instant::now();
    let err = session
        .wait_task(&task, Duration::from_millis(600))
        .unwrap_err();
    let waited = start.elapsed();
    let XenApiError::Timeout {
        task: named,
        elapsed,
        ..
    } = &err
    else {
        panic!("expected a timeout, got {err}");
    };
    assert_eq!(named, &task);
    assert!(
        *elapsed >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(err.to_string().contains("still pending after 0."), "{err}");
    // wait_task leaves the task; async_call_and_wait owns its task and destroys it.
    assert_eq!(pool.stats()["tasks"].as_object().unwrap().len(), 1);
    session.task().destroy(&task).unwrap();
    let err = session
        .async_call_and_wait(
            "VM.clean_shutdown",
            &[stuck.into()],
            Duration::from_millis(200),
        )
        .unwrap_err();
    assert!(matches!(err, XenApiError::Timeout { .. }), "{err}");
    assert_eq!(pool.stats()["tasks"], json!({}));
}

#[test]
fn changed_blocks_are_decoded_msb_first() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool);
    let vdi = Ref::new("OpaqueRef:vdi-web");
    session.vdi().enable_cbt(&vdi).unwrap();
    let blocks = session.vdi().list_changed_blocks(&vdi, &vdi).unwrap();
    assert_eq!(blocks.changed_blocks().collect::<Vec<_>>(), [0, 7, 16, 17]);
    let k = ChangedBlocks::BLOCK_SIZE;
    assert_eq!(
        blocks.changed_ranges(),
        [0..k, 7 * k..8 * k, 16 * k..18 * k]
    );
    session.vdi().disable_cbt(&vdi).unwrap();
    assert!(!session.vdi().get_record(&vdi).unwrap().cbt_enabled);
}
