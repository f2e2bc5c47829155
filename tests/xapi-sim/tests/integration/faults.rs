//! Every fault knob at the wire level, with what the audit shows afterwards.

use std::time::{Duration, Instant};

use xapi_sim::{Endpoint, TransferFault};
use xenapi::rpc::Value;

use super::support::{
    Rpc, authority, curl, demo, path_in, read_xva, reference, run, send, text, vm_named,
};

fn task_error(rpc: &Rpc, s: &str, task: &str) -> Vec<String> {
    let record = rpc.wait_task(s, task);
    assert_eq!(
        record.member("status").and_then(Value::as_str),
        Some("failure"),
        "{record:?}"
    );
    record
        .member("error_info")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(text)
        .collect()
}

#[test]
fn the_nth_call_fails_with_the_given_code() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    sim.faults()
        .fail_call("VM.snapshot", 2, &["SR_FULL", "1", "0"]);
    let params = [Value::from(s.as_str()), web.as_str().into(), "a".into()];
    rpc.ok("VM.snapshot", &params);
    assert_eq!(rpc.err("VM.snapshot", &params), ["SR_FULL", "1", "0"]);
    rpc.ok("VM.snapshot", &params);
    assert_eq!(sim.faults().call_count("VM.snapshot"), 3);

    sim.faults()
        .fail_call("VM.snapshot", 1, &["OPERATION_NOT_ALLOWED", "busy"]);
    let task = text(&rpc.ok("Async.VM.snapshot", &params));
    assert_eq!(
        task_error(&rpc, &s, &task),
        ["OPERATION_NOT_ALLOWED", "busy"]
    );

    sim.faults().fail_call("VM.snapshot", 1, &["SR_FULL"]);
    sim.faults().clear();
    rpc.ok("VM.snapshot", &params);
    assert_eq!(
        sim.faults().call_count("VM.snapshot"),
        5,
        "clear() keeps the counts"
    );

    sim.faults()
        .fail_call("/export", 1, &["VDI_IO_ERROR", "disk gone"]);
    let task = text(&rpc.ok("task.create", &[s.as_str().into(), "x".into(), "".into()]));
    let url = format!(
        "{}/export?session_id={s}&task_id={task}&ref={web}",
        sim.url()
    );
    let output = curl(&["-sS", "-o", "/dev/null", "-w", "%{http_code}", &url]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "500");
    assert_eq!(task_error(&rpc, &s, &task), ["VDI_IO_ERROR", "disk gone"]);
    let audit = sim.audit();
    assert_eq!(
        (
            audit.snapshots.len(),
            audit.tasks.len(),
            audit.sessions.len()
        ),
        (3, 2, 1),
        "{audit}"
    );
}

#[test]
fn cut_streams_fail_their_task() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    sim.faults().transfer(
        Endpoint::Export,
        TransferFault::Cut {
            after_bytes: 1 << 20,
        },
    );
    let task = text(&rpc.ok("task.create", &[s.as_str().into(), "x".into(), "".into()]));
    let dir = tempfile::tempdir().unwrap();
    let xva = path_in(&dir, "cut.xva");
    let url = format!(
        "{}/export?session_id={s}&task_id={task}&ref={web}",
        sim.url()
    );
    let _ = curl(&["-sS", "-o", xva.to_str().unwrap(), &url]);
    assert_eq!(
        std::fs::metadata(&xva).unwrap().len(),
        1 << 20,
        "exactly the bytes before the cut"
    );
    assert_eq!(task_error(&rpc, &s, &task)[0], "INTERNAL_ERROR");
    let truncated = std::process::Command::new("tar")
        .args(["-tf", xva.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!truncated.status.success(), "tar sees the truncation");

    // An upload cut on the way in leaves no VDI behind.
    let good = path_in(&dir, "good.xva");
    let url = format!("{}/export?session_id={s}&ref={web}", sim.url());
    assert!(
        curl(&["-sS", "-f", "-o", good.to_str().unwrap(), &url])
            .status
            .success()
    );
    let body = std::fs::read(&good).unwrap();
    sim.faults().transfer(
        Endpoint::Import,
        TransferFault::Cut {
            after_bytes: 3 << 20,
        },
    );
    let task = text(&rpc.ok("task.create", &[s.as_str().into(), "y".into(), "".into()]));
    let head = format!(
        "PUT /import?session_id={s}&task_id={task} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}",
        authority(sim.url()),
        body.len()
    );
    send(sim.url(), &head, &body);
    assert_eq!(task_error(&rpc, &s, &task)[0], "INTERNAL_ERROR");
    let audit = sim.audit();
    assert!(audit.vdis.is_empty() && audit.vms.is_empty(), "{audit}");
}

#[test]
fn stalls_corruption_keepalives_and_errors_in_200s() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let url = format!("{}/export?session_id={s}&ref={web}", sim.url());
    let dir = tempfile::tempdir().unwrap();
    let disk = sim.vdi_bytes(&sim.vdis_of(&web)[0]).unwrap();

    sim.faults().transfer(
        Endpoint::Export,
        TransferFault::Stall {
            at_byte: 4096,
            duration: Duration::from_millis(1500),
        },
    );
    let started = Instant::now();
    let stalled = path_in(&dir, "stalled.xva");
    assert!(
        curl(&["-sS", "-f", "-o", stalled.to_str().unwrap(), &url])
            .status
            .success()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(read_xva(&stalled).0[0] == disk, "a stall loses nothing");

    sim.faults().transfer(
        Endpoint::Export,
        TransferFault::CorruptChunk { disk: 0, chunk: 0 },
    );
    let corrupt = path_in(&dir, "corrupt.xva");
    assert!(
        curl(&["-sS", "-f", "-o", corrupt.to_str().unwrap(), &url])
            .status
            .success()
    );
    let listing = run("tar", "tar", &["-tf", corrupt.to_str().unwrap()]);
    assert!(
        listing.starts_with("ova.xml\n"),
        "the archive structure is intact"
    );
    let (mut reader, _) = disk_image::xva::XvaReader::open_path(&corrupt).unwrap();
    let error = reader
        .read_disk(None, true, &disk_image::NoProgress)
        .unwrap_err();
    assert!(
        matches!(error, disk_image::DiskImageError::ChecksumMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("/00000000"), "{error}");

    sim.faults().keepalive_chunks(Some(1));
    let kept = path_in(&dir, "keepalive.xva");
    assert!(
        curl(&["-sS", "-f", "-o", kept.to_str().unwrap(), &url])
            .status
            .success()
    );
    sim.faults().keepalive_chunks(None);
    let (disks, reports) = read_xva(&kept);
    assert!(reports[0].empty_chunks > 0, "{:?}", reports[0]);
    assert!(disks[0] == disk, "keep-alive chunks do not move data");
    let listing = run("tar", "tar", &["-tvf", kept.to_str().unwrap()]);
    assert!(
        listing.lines().any(|l| l.contains(" 0 1970-01-01")),
        "{listing}"
    );

    for endpoint in [Endpoint::Export, Endpoint::ExportRawVdi] {
        sim.faults().transfer(endpoint, TransferFault::ErrorInBody);
    }
    let task = text(&rpc.ok("task.create", &[s.as_str().into(), "x".into(), "".into()]));
    let vdi = sim.vdis_of(&web)[0].clone();
    let raw_url = format!(
        "{}/export_raw_vdi?session_id={s}&task_id={task}&vdi={vdi}",
        sim.url()
    );
    let output = curl(&["-sS", "-D", "/dev/stderr", &raw_url]);
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("HTTP/1.1 200"));
    assert!(
        output.stdout.starts_with(b"HTTP/1.1 500"),
        "{:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(task_error(&rpc, &s, &task)[0], "INTERNAL_ERROR");
    let body = curl(&["-sS", &url]).stdout;
    assert!(body.starts_with(b"HTTP/"));
}

#[test]
fn redirects_go_to_the_slave_over_https_keeping_the_task() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let snap = reference(&rpc.ok(
        "VM.snapshot",
        &[s.as_str().into(), web.as_str().into(), "r".into()],
    ));
    sim.faults().redirect(Endpoint::Export, true);
    let task = text(&rpc.ok("task.create", &[s.as_str().into(), "x".into(), "".into()]));
    let url = format!(
        "{}/export?session_id={s}&task_id={task}&ref={snap}",
        sim.url()
    );
    let output = curl(&[
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        &url,
    ]);
    let answer = String::from_utf8_lossy(&output.stdout).into_owned();
    let (code, location) = answer.split_once(' ').unwrap();
    assert_eq!(code, "302");
    let slave = authority(sim.slave_url());
    assert_eq!(
        location,
        format!("https://{slave}/export?session_id={s}&task_id={task}&ref={snap}")
    );
    let pending = rpc.ok(
        "task.get_status",
        &[s.as_str().into(), task.as_str().into()],
    );
    assert_eq!(
        text(&pending),
        "pending",
        "the redirect leaves the task to the slave"
    );

    let dir = tempfile::tempdir().unwrap();
    let xva = path_in(&dir, "slave.xva");
    // The slave is another loopback address (127.0.0.2) that the test certificate does not
    // name: check that it serves the simulator's certificate instead of its name.
    let fetched = curl(&[
        "-sS",
        "-f",
        "-k",
        "-w",
        "%{certs}",
        "-o",
        xva.to_str().unwrap(),
        location,
    ]);
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let served = String::from_utf8_lossy(&fetched.stdout);
    assert!(
        served.contains(sim.certificate_pem().trim()),
        "the slave serves the simulator's certificate: {served}"
    );
    let record = rpc.wait_task(&s, &task);
    assert_eq!(
        record.member("status").and_then(Value::as_str),
        Some("success")
    );
    assert!(read_xva(&xva).0[0] == sim.vdi_bytes(&sim.vdis_of(&snap)[0]).unwrap());
    // curl follows the redirect by itself too (-L), keeping the query.
    let followed = path_in(&dir, "followed.xva");
    let url = format!("{}/export?session_id={s}&ref={snap}", sim.url());
    assert!(
        curl(&[
            "-sS",
            "-f",
            "-L",
            "-k",
            "-o",
            followed.to_str().unwrap(),
            &url
        ])
        .status
        .success()
    );
    assert_eq!(
        std::fs::read(&followed).unwrap().len(),
        std::fs::read(&xva).unwrap().len()
    );
}
