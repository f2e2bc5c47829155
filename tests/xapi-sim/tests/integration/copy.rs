//! `VDI.copy` into another SR: the bytes, the record XAPI gives the copy, `into_vdi`, the
//! refusals, and an injected failure leaving nothing behind.

use xenapi::rpc::Value;

use super::support::{Rpc, demo, reference, vm_named};

#[test]
fn a_copy_into_another_sr_holds_the_bytes_and_the_source_record() {
    let sim = demo();
    let backup_sr = sim.add_sr("Backup storage", 1 << 40);
    sim.mark_baseline();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let disk = sim.vdis_of(&web)[0].clone();
    sim.write_vdi(&disk, 4096, b"written before the copy")
        .unwrap();
    let original = sim.vdi(&disk).unwrap();

    let task = rpc.ok(
        "Async.VDI.copy",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            backup_sr.as_str().into(),
        ],
    );
    let done = rpc.wait_task(&s, task.as_str().unwrap());
    assert_eq!(
        done.member("status").and_then(Value::as_str),
        Some("success")
    );
    let result = done.member("result").and_then(Value::as_str).unwrap();
    let copy = reference(&xenapi::rpc::decode_value(result).unwrap());
    rpc.ok("task.destroy", &[s.as_str().into(), task]);
    let record = sim.vdi(&copy).unwrap();
    assert_eq!(record.sr, backup_sr);
    assert_ne!(record.uuid, original.uuid);
    assert_eq!(
        (&record.name_label, record.virtual_size, &record.kind),
        (&original.name_label, original.virtual_size, &original.kind)
    );
    assert_eq!(record.other_config, original.other_config);
    assert!(!record.read_only && !record.is_a_snapshot);
    assert_eq!(sim.vdi_bytes(&copy).unwrap(), sim.vdi_bytes(&disk).unwrap());
    assert_eq!(
        sim.vdis_on(&backup_sr)
            .iter()
            .map(|(r, _)| r)
            .collect::<Vec<_>>(),
        [&copy]
    );
    // Later writes to the source never reach the copy.
    sim.write_vdi(&disk, 4096, b"WRITTEN AFTER").unwrap();
    assert_ne!(sim.vdi_bytes(&copy).unwrap(), sim.vdi_bytes(&disk).unwrap());

    // other_config is replaced as a whole.
    let marks = Value::Struct(vec![("made-by".into(), Value::String("test".into()))]);
    rpc.ok(
        "VDI.set_other_config",
        &[s.as_str().into(), copy.as_str().into(), marks],
    );
    assert_eq!(
        sim.vdi(&copy).unwrap().other_config.get("made-by").unwrap(),
        "test"
    );

    // into_vdi: the bytes go into an existing disk that is large enough.
    let into = reference(&rpc.ok(
        "VDI.copy",
        &[
            s.as_str().into(),
            copy.as_str().into(),
            backup_sr.as_str().into(),
            "OpaqueRef:NULL".into(),
            disk.as_str().into(),
        ],
    ));
    assert_eq!(into, disk);
    assert_eq!(sim.vdi_bytes(&copy).unwrap(), sim.vdi_bytes(&disk).unwrap());
    rpc.ok("VDI.destroy", &[s.as_str().into(), copy.as_str().into()]);
    rpc.ok("session.logout", &[s.as_str().into()]);
}

#[test]
fn copies_xapi_refuses_or_that_fail_leave_nothing() {
    let sim = demo();
    let backup_sr = sim.add_sr("Backup storage", 1 << 40);
    sim.mark_baseline();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let disk = sim.vdis_of(&web)[0].clone();
    let error = rpc.err(
        "VDI.copy",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            "OpaqueRef:nope".into(),
        ],
    );
    assert_eq!(error[0], "HANDLE_INVALID", "{error:?}");
    let error = rpc.err(
        "VDI.copy",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            backup_sr.as_str().into(),
            disk.as_str().into(),
            "OpaqueRef:NULL".into(),
        ],
    );
    assert_eq!(error[0], "OPERATION_NOT_ALLOWED", "{error:?}");

    sim.faults()
        .fail_call("VDI.copy", 1, &["SR_BACKEND_FAILURE_44", "", "full"]);
    let task = rpc.ok(
        "Async.VDI.copy",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            backup_sr.as_str().into(),
        ],
    );
    let done = rpc.wait_task(&s, task.as_str().unwrap());
    assert_eq!(
        done.member("status").and_then(Value::as_str),
        Some("failure"),
        "{done:?}"
    );
    rpc.ok("task.destroy", &[s.as_str().into(), task]);
    assert!(sim.vdis_on(&backup_sr).is_empty());
    rpc.ok("session.logout", &[s.as_str().into()]);
    let audit = sim.audit();
    assert!(audit.is_clean(), "{audit}");
}
