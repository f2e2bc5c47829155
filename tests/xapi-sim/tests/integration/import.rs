//! Uploads: an export imported back (byte for byte, settings kept, UUIDs only with
//! `restore=true`), uploads without `Content-Length`, compressed, by curl, refused when
//! chunked; raw and differential VHD disk imports.

use std::fmt::Write as _;

use xapi_sim::{Ref, SimHandle};
use xenapi::rpc::{Value, decode_value};

use super::support::{Rpc, authority, curl, demo, http, path_in, reference, text, vm_named};

/// Downloads `path_and_query` (with the session) into memory.
fn download(sim: &SimHandle, s: &str, path_and_query: &str) -> Vec<u8> {
    let head = format!(
        "GET {path_and_query}&session_id={s} HTTP/1.1\r\nHost: {}",
        authority(sim.url())
    );
    let response = http(sim.url(), &head, b"");
    assert_eq!(response.status, 200, "{}", response.head);
    response.body
}

/// Uploads `body` to `/import` in a new task; returns the finished task record.
fn upload(sim: &SimHandle, rpc: &Rpc, s: &str, query: &str, body: &[u8], length: bool) -> Value {
    let task = text(&rpc.ok("task.create", &[s.into(), "import".into(), "".into()]));
    let mut head = format!(
        "PUT /import?session_id={s}&task_id={task}{query} HTTP/1.1\r\nHost: {}",
        authority(sim.url())
    );
    if length {
        write!(head, "\r\nContent-Length: {}", body.len()).unwrap();
    }
    let response = http(sim.url(), &head, body);
    assert_eq!(response.status, 200, "{}", response.head);
    let record = rpc.wait_task(s, &task);
    rpc.ok("task.destroy", &[s.into(), task.as_str().into()]);
    record
}

fn status(record: &Value) -> &str {
    record.member("status").and_then(Value::as_str).unwrap()
}

fn error_code(record: &Value) -> String {
    text(
        &record
            .member("error_info")
            .and_then(Value::as_array)
            .unwrap()[0],
    )
}

/// The VM refs of a successful import's result.
fn imported(record: &Value) -> Vec<Ref> {
    assert_eq!(status(record), "success", "{record:?}");
    let result = decode_value(&text(record.member("result").unwrap())).unwrap();
    result.as_array().unwrap().iter().map(reference).collect()
}

#[test]
fn export_then_import_preserves_disks_and_settings() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let db = vm_named(&sim, "db-01");
    let snap = reference(&rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), db.as_str().into(), "backup".into()],
    ));
    let xva = download(&sim, &s, &format!("/export?ref={snap}"));

    let record = upload(&sim, &rpc, &s, "", &xva, true);
    let vms = imported(&record);
    assert_eq!(vms.len(), 1);
    let (original, copy) = (sim.vm(&snap).unwrap(), sim.vm(&vms[0]).unwrap());
    assert_ne!(copy.uuid, original.uuid, "new UUIDs without restore");
    assert_eq!(copy.name_label, "backup");
    assert_eq!(
        (
            copy.memory_static_max,
            copy.vcpus_max,
            &copy.platform,
            &copy.hvm_boot_policy
        ),
        (
            original.memory_static_max,
            original.vcpus_max,
            &original.platform,
            &original.hvm_boot_policy
        )
    );
    assert!(
        !copy.is_a_snapshot && copy.is_a_template,
        "an exported snapshot imports as a template"
    );
    let (exported, imported) = (sim.vdis_of(&snap), sim.vdis_of(&vms[0]));
    assert_eq!(exported.len(), imported.len(), "every disk is imported");
    for (from, to) in exported.iter().zip(&imported) {
        assert!(
            sim.vdi_bytes(from).unwrap() == sim.vdi_bytes(to).unwrap(),
            "disk bytes differ"
        );
    }
    let (mac_before, mac_after) = (
        rpc.ok(
            "VIF.get_MAC",
            &[s.as_str().into(), original.vifs[0].as_str().into()],
        ),
        rpc.ok(
            "VIF.get_MAC",
            &[s.as_str().into(), copy.vifs[0].as_str().into()],
        ),
    );
    assert_ne!(
        mac_before, mac_after,
        "MACs are regenerated without restore"
    );
    assert!(
        sim.audit().networks.is_empty(),
        "the network is matched by name"
    );
}

#[test]
fn restore_keeps_uuids_and_refuses_duplicates() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let before = sim.vm(&web).unwrap();
    let mac = text(&rpc.ok(
        "VIF.get_MAC",
        &[s.as_str().into(), before.vifs[0].as_str().into()],
    ));
    let disk = sim.vdi_bytes(&sim.vdis_of(&web)[0]).unwrap();
    let xva = download(&sim, &s, &format!("/export?uuid={}", before.uuid));

    let duplicate = upload(&sim, &rpc, &s, "&restore=true", &xva, true);
    assert_eq!(status(&duplicate), "failure");
    assert_eq!(error_code(&duplicate), "DUPLICATE_VM");
    let audit = sim.audit();
    assert!(
        audit.vms.is_empty() && audit.vdis.is_empty(),
        "a failed import leaves nothing: {audit}"
    );

    let old_disk = sim.vdis_of(&web)[0].clone();
    rpc.ok("VM.destroy", &[s.as_str().into(), web.as_str().into()]);
    rpc.ok(
        "VDI.destroy",
        &[s.as_str().into(), old_disk.as_str().into()],
    );
    let vms = imported(&upload(&sim, &rpc, &s, "&restore=true", &xva, false));
    let after = sim.vm(&vms[0]).unwrap();
    assert_eq!(after.uuid, before.uuid);
    assert!(!after.is_a_template);
    assert_eq!(
        text(&rpc.ok(
            "VIF.get_MAC",
            &[s.as_str().into(), after.vifs[0].as_str().into()]
        )),
        mac
    );
    assert!(sim.vdi_bytes(&sim.vdis_of(&vms[0])[0]).unwrap() == disk);
}

#[test]
fn compressed_curl_uploads_and_chunked_refusal() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let dir = tempfile::tempdir().unwrap();
    let xva = path_in(&dir, "web.xva.zst");
    let url = format!(
        "{}/export?session_id={s}&ref={web}&use_compression=zstd",
        sim.url()
    );
    assert!(
        curl(&["-sS", "-f", "-o", xva.to_str().unwrap(), &url])
            .status
            .success()
    );

    let task = text(&rpc.ok(
        "task.create",
        &[s.as_str().into(), "import".into(), "".into()],
    ));
    let sr = sim.vdi(&sim.vdis_of(&web)[0]).unwrap().sr;
    let url = format!(
        "{}/import?session_id={s}&task_id={task}&sr_id={sr}",
        sim.url()
    );
    let output = curl(&["-sS", "-f", "-T", xva.to_str().unwrap(), &url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let vms = imported(&rpc.wait_task(&s, &task));
    assert!(
        sim.vdi_bytes(&sim.vdis_of(&vms[0])[0]).unwrap()
            == sim.vdi_bytes(&sim.vdis_of(&web)[0]).unwrap()
    );

    let task = text(&rpc.ok(
        "task.create",
        &[s.as_str().into(), "import".into(), "".into()],
    ));
    let head = format!(
        "PUT /import?session_id={s}&task_id={task} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
    );
    let response = http(sim.url(), &head, b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(response.status, 403);
    let record = rpc.wait_task(&s, &task);
    assert_eq!(error_code(&record), "IMPORT_ERROR_CANNOT_HANDLE_CHUNKED");

    let garbage = upload(
        &sim,
        &rpc,
        &s,
        "",
        b"this is not a tar archive at all",
        true,
    );
    assert_eq!(error_code(&garbage), "IMPORT_ERROR");
    let audit = sim.audit();
    assert_eq!(
        (audit.vms.len(), audit.vdis.len()),
        (1, 1),
        "only the good import: {audit}"
    );
}

#[test]
fn raw_and_differential_vhd_disk_imports() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let disk = sim.vdis_of(&web)[0].clone();
    let base = reference(&rpc.ok(
        "VDI.snapshot",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            Value::Struct(vec![]),
        ],
    ));
    sim.write_vdi(&disk, 5 << 20, &vec![0xAB; 70_000]).unwrap();
    let newer = reference(&rpc.ok(
        "VDI.snapshot",
        &[
            s.as_str().into(),
            disk.as_str().into(),
            Value::Struct(vec![]),
        ],
    ));

    // A full raw copy of the base into a VDI that did not exist: created by the upload.
    let raw = download(&sim, &s, &format!("/export_raw_vdi?vdi={base}&format=raw"));
    let sr = sim.vdi(&disk).unwrap().sr;
    let head = format!(
        "PUT /import_raw_vdi?session_id={s}&sr_id={sr}&format=raw HTTP/1.1\r\nHost: x\r\nContent-Length: {}",
        raw.len()
    );
    let response = http(sim.url(), &head, &raw);
    assert_eq!(response.status, 200);
    let copy = sim
        .audit()
        .vdis
        .into_iter()
        .find(|v| v.label == "Imported VDI")
        .expect("the upload made a VDI")
        .reference;
    assert!(sim.vdi_bytes(&copy).unwrap() == sim.vdi_bytes(&base).unwrap());

    // An empty upload (a client's redirect probe) changes nothing.
    let probe = format!(
        "PUT /import_raw_vdi?session_id={s}&vdi={copy}&format=raw HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
    );
    assert_eq!(http(sim.url(), &probe, b"").status, 200);
    assert!(sim.vdi_bytes(&copy).unwrap() == sim.vdi_bytes(&base).unwrap());

    // Only the changed 2 MiB blocks travel; applied onto the copy they give the newer disk.
    let diff = download(
        &sim,
        &s,
        &format!("/export_raw_vdi?vdi={newer}&format=vhd&base={base}"),
    );
    assert!(diff.len() < 3 * (2 << 20), "{} bytes", diff.len());
    let head = format!(
        "PUT /import_raw_vdi?session_id={s}&vdi={copy}&format=vhd HTTP/1.1\r\nHost: x\r\nContent-Length: {}",
        diff.len()
    );
    assert_eq!(http(sim.url(), &head, &diff).status, 200);
    assert!(sim.vdi_bytes(&copy).unwrap() == sim.vdi_bytes(&newer).unwrap());
}
