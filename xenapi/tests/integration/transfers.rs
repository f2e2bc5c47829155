//! HTTP transfers against the fake pool: redirects, XAPI's 200-with-an-error bug, uploads
//! without chunked encoding, task verdicts, deadlines and cleanup.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use xenapi::{
    Compression, DiskFormat, ExportOptions, ImportOptions, Ref, Session, SessionOptions,
    XenApiError,
};

use super::support::{FakePool, PASSWORD, USER, chain};

const MIB: usize = 1 << 20;

fn login(url: &str, options: SessionOptions) -> Session {
    Session::login(url, USER, PASSWORD, options).unwrap()
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, b| {
        write!(text, "{b:02x}").expect("writing to a String");
        text
    })
}

fn no_tasks_left(pool: &FakePool) {
    assert_eq!(pool.stats()["tasks"], json!({}), "a task leaked");
}

#[test]
fn export_follows_a_redirect_to_https_keeping_the_task() {
    let pool = FakePool::start(&json!({"export_redirect": true}));
    let session = login(&pool.master(), pool.options());
    let options = ExportOptions {
        compression: Compression::Zstd,
        preserve_power_state: true,
    };
    let mut download = session
        .export(&Ref::new("OpaqueRef:vm-web"), &options)
        .unwrap();
    assert_eq!(download.content_length(), None);
    let task = download.task().clone();
    let mut body = Vec::new();
    download.read_to_end(&mut body).unwrap();
    assert_eq!(body.len(), 3 * MIB);
    assert!(
        body == pattern(3 * MIB),
        "the body differs from what the server sent"
    );
    let outcome = download.finish().unwrap();
    assert_eq!(outcome.task, task);
    let requests = pool.requests("/export");
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[0]["role"].as_str(), requests[1]["role"].as_str()),
        (Some("master"), Some("master-tls"))
    );
    for request in &requests {
        assert_eq!(request["query"]["task_id"], task.as_str());
        assert_eq!(request["query"]["use_compression"], "zstd");
        assert_eq!(request["query"]["preserve_power_state"], "true");
        assert_eq!(request["query"]["ref"], "OpaqueRef:vm-web");
    }
    no_tasks_left(&pool);
}

#[test]
fn a_refused_export_reports_the_tasks_error() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master(), pool.options());
    let err = session
        .export(&Ref::new("OpaqueRef:vm-db"), &ExportOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), Some("VM_BAD_POWER_STATE"), "{err}");
    no_tasks_left(&pool);
}

#[test]
fn a_200_whose_body_is_an_http_response_is_an_error() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master(), pool.options());
    let err = session
        .export_raw_vdi(&Ref::new("OpaqueRef:vdi-bug"), DiskFormat::Raw, None)
        .unwrap_err();
    assert!(matches!(err, XenApiError::Protocol { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("`HTTP/1.1 500 Internal Server Error`"),
        "{err}"
    );
    no_tasks_left(&pool);
}

#[test]
fn raw_vdi_export_with_base_metadata_and_database_dump() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master_tls(), pool.options());
    let (vdi, base) = (
        Ref::new("OpaqueRef:vdi-web"),
        Ref::new("OpaqueRef:vdi-base"),
    );
    let mut download = session
        .export_raw_vdi(&vdi, DiskFormat::Vhd, Some(&base))
        .unwrap();
    assert_eq!(download.content_length(), Some(MIB as u64));
    let mut body = Vec::new();
    download.read_to_end(&mut body).unwrap();
    assert_eq!(download.bytes_read(), MIB as u64);
    download.finish().unwrap();
    let request = &pool.requests("/export_raw_vdi")[0];
    assert_eq!(request["query"]["format"], "vhd");
    assert_eq!(request["query"]["base"], base.as_str());

    let mut text = String::new();
    let mut dump = session.pool_db_dump().unwrap();
    dump.read_to_string(&mut text).unwrap();
    dump.finish().unwrap();
    assert!(text.contains("<database/>"), "{text}");
    let mut metadata = session
        .export_metadata(&Ref::new("OpaqueRef:vm-web"))
        .unwrap();
    text.clear();
    metadata.read_to_string(&mut text).unwrap();
    metadata.finish().unwrap();
    assert_eq!(text, "ova.xml of OpaqueRef:vm-web");
    no_tasks_left(&pool);
}

#[test]
fn finish_waits_for_the_task_with_a_deadline() {
    let pool = FakePool::start(&json!({}));
    let options = SessionOptions {
        transfer_timeout: Duration::from_millis(300),
        ..pool.options()
    };
    let session = login(&pool.master(), options);
    let mut download = session
        .export_metadata(&Ref::new("OpaqueRef:vm-stuck"))
        .unwrap();
    std::io::copy(&mut download, &mut std::io::sink()).unwrap();
    let err = download.finish().unwrap_err();
    assert!(matches!(err, XenApiError::Timeout { .. }), "{err}");
    no_tasks_left(&pool);
}

#[test]
fn abandoned_transfers_destroy_their_tasks() {
    let pool = FakePool::start(&json!({"export_mib": 64}));
    let session = login(&pool.master(), pool.options());
    let mut download = session
        .export(&Ref::new("OpaqueRef:vm-web"), &ExportOptions::default())
        .unwrap();
    let mut start = vec![0; 100_000];
    download.read_exact(&mut start).unwrap();
    drop(download);
    no_tasks_left(&pool);

    let mut upload = session.import(&ImportOptions::default()).unwrap();
    upload.write_all(&pattern(MIB)).unwrap();
    drop(upload);
    no_tasks_left(&pool);
    // The session is still usable.
    assert_eq!(session.vm().get_all().unwrap().len(), 3);
}

fn import_request(pool: &FakePool) -> Json {
    let requests = pool.requests("/import");
    let with_task: Vec<_> = requests
        .iter()
        .filter(|r| r["query"]["task_id"].is_string())
        .collect();
    assert_eq!(with_task.len(), 1, "{requests:?}");
    with_task[0].clone()
}

#[test]
fn import_streams_without_length_and_never_chunks() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master_tls(), pool.options());
    let xva = pattern(5 * MIB + 123);
    let options = ImportOptions {
        sr: Some(Ref::new("OpaqueRef:sr")),
        restore: true,
        ..ImportOptions::default()
    };
    let mut import = session.import(&options).unwrap();
    for piece in xva.chunks(100_000) {
        import.write_all(piece).unwrap();
    }
    assert_eq!(import.bytes_written(), xva.len() as u64);
    assert_eq!(
        import.finish().unwrap(),
        [Ref::new("OpaqueRef:imported-vm")]
    );
    let request = import_request(&pool);
    assert_eq!(request["transfer_encoding"], Json::Null);
    assert_eq!(request["content_length"], Json::Null);
    assert_eq!(request["size"], xva.len());
    assert_eq!(request["sha256"], hex(&Sha256::digest(&xva)));
    assert_eq!(request["query"]["sr_id"], "OpaqueRef:sr");
    assert_eq!(request["query"]["restore"], "true");
    assert_eq!(request["query"]["force"], "false");
    // The probe that looks for a redirect carries no body and no task.
    let probe = &pool.requests("/import")[0];
    assert_eq!(
        (
            probe["content_length"].as_str(),
            probe["query"].get("task_id")
        ),
        (Some("0"), None)
    );
    no_tasks_left(&pool);
}

#[test]
fn import_with_a_known_length_after_a_redirect() {
    let pool = FakePool::start(&json!({"import_redirect": true}));
    let session = login(&pool.master(), pool.options());
    let xva = pattern(2 * MIB);
    let options = ImportOptions {
        length: Some(xva.len() as u64),
        ..ImportOptions::default()
    };
    let mut import = session.import(&options).unwrap();
    import.write_all(&xva).unwrap();
    assert_eq!(
        import.finish().unwrap(),
        [Ref::new("OpaqueRef:imported-vm")]
    );
    let request = import_request(&pool);
    assert_eq!(request["role"], "master-tls");
    assert_eq!(request["content_length"], xva.len().to_string());
    assert_eq!(request["transfer_encoding"], Json::Null);
    assert_eq!(request["size"], xva.len());
    no_tasks_left(&pool);
}

#[test]
fn rejected_and_short_uploads_are_errors() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master(), pool.options());
    let mut import = session.import(&ImportOptions::default()).unwrap();
    import.write_all(b"bad archive").unwrap();
    let err = import.finish().unwrap_err();
    assert_eq!(err.code(), Some("IMPORT_ERROR"), "{}", chain(&err));
    assert_eq!(err.params(), ["not an XVA"]);

    let vdi = Ref::new("OpaqueRef:vdi-web");
    let mut upload = session
        .import_raw_vdi(&vdi, DiskFormat::Raw, Some(10))
        .unwrap();
    upload.write_all(b"12345").unwrap();
    assert!(upload.write_all(b"too many bytes").is_err());
    let err = upload.finish().unwrap_err();
    assert!(
        err.to_string()
            .contains("5 bytes written of the 10 announced"),
        "{err}"
    );
    no_tasks_left(&pool);
}

#[test]
fn raw_vdi_import_returns_the_vdi() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool.master(), pool.options());
    let vdi = Ref::new("OpaqueRef:vdi-web");
    let disk = pattern(MIB);
    let mut upload = session
        .import_raw_vdi(&vdi, DiskFormat::Vhd, Some(disk.len() as u64))
        .unwrap();
    upload.write_all(&disk).unwrap();
    assert_eq!(upload.finish().unwrap().reference().unwrap(), vdi);
    let request = &pool.requests("/import_raw_vdi")[1];
    assert_eq!(request["query"]["format"], "vhd");
    assert_eq!(request["size"], MIB);
    no_tasks_left(&pool);
}
