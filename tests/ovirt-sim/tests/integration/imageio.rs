//! The harness runs the real daemon: tickets for raw files (file backend) and qemu-nbd exports
//! (qcow2, extents, dirty bitmaps), read by the official Python client and checked with
//! qemu-img.

use ovirt_sim::imageio::{
    Imageio, ImageioOptions, NbdExport, NbdFormat, NbdOptions, Ticket, TicketOp, TlsFiles, file_url,
};

use super::support::{assert_identical, raw_image, run, run_python};

const UPLOAD: &str = "import sys\nfrom ovirt_imageio import client\n\
client.upload(sys.argv[1], sys.argv[2], None, secure=False)\n";
const DOWNLOAD: &str = "import sys\nfrom ovirt_imageio import client\n\
client.download(sys.argv[1], sys.argv[2], None, fmt=sys.argv[3], secure=False)\n";
const GET: &str = "import sys, urllib.request\n\
print(urllib.request.urlopen(sys.argv[1]).read().decode())\n";

#[test]
fn file_backend_upload_and_download_through_the_real_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (source, disk, back) = (
        dir.path().join("source.raw"),
        dir.path().join("disk.raw"),
        dir.path().join("back.raw"),
    );
    raw_image(&source, 8 << 20, &[(0, 0x11), (5 << 20, 0x22)]);
    raw_image(&disk, 8 << 20, &[]);
    let daemon = Imageio::start(&ImageioOptions::default()).unwrap();
    daemon
        .add_ticket(&Ticket::new(
            "up",
            8 << 20,
            file_url(&disk),
            &[TicketOp::Write],
        ))
        .unwrap();
    let status = daemon
        .ticket("up")
        .unwrap()
        .expect("the ticket is installed");
    assert_eq!(
        (status.size, status.ops.as_slice()),
        (8 << 20, &[TicketOp::Write][..])
    );
    let url = daemon.image_url("up");
    run_python(UPLOAD, &[&source.to_string_lossy(), &url]);
    assert_identical(&source, &disk);
    let options = run_python(
        "import sys, urllib.request\nr = urllib.request.Request(sys.argv[1], method='OPTIONS')\n\
         print(urllib.request.urlopen(r).read().decode())\n",
        &[&url],
    );
    assert!(options.contains("\"max_writers\": 1"), "{options}");
    daemon.remove_ticket("up").unwrap();
    assert!(daemon.ticket("up").unwrap().is_none());
    daemon.remove_ticket("up").unwrap();

    daemon
        .add_ticket(&Ticket::new(
            "down",
            8 << 20,
            file_url(&disk),
            &[TicketOp::Read],
        ))
        .unwrap();
    run_python(
        DOWNLOAD,
        &[&daemon.image_url("down"), &back.to_string_lossy(), "raw"],
    );
    assert_identical(&source, &back);
    assert!(daemon.log().contains("ADD transfer"), "{}", daemon.log());
}

#[test]
fn a_tls_daemon_is_trusted_through_its_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let (source, disk) = (dir.path().join("source.raw"), dir.path().join("disk.raw"));
    raw_image(&source, 4 << 20, &[(1 << 20, 0x44)]);
    raw_image(&disk, 4 << 20, &[]);
    let tls = TlsFiles::generate(dir.path()).unwrap();
    let daemon = Imageio::start(&ImageioOptions {
        tls: Some(tls.clone()),
        ..ImageioOptions::default()
    })
    .unwrap();
    assert_eq!(daemon.ca_file(), Some(tls.ca_file.as_path()));
    daemon
        .add_ticket(&Ticket::new(
            "tls",
            4 << 20,
            file_url(&disk),
            &[TicketOp::Write],
        ))
        .unwrap();
    let url = daemon.image_url("tls");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    run_python(
        "import sys\nfrom ovirt_imageio import client\nclient.upload(sys.argv[1], sys.argv[2], sys.argv[3])\n",
        &[
            &source.to_string_lossy(),
            &url,
            &tls.ca_file.to_string_lossy(),
        ],
    );
    assert_identical(&source, &disk);
}

#[test]
fn nbd_backend_serves_qcow2_extents_and_dirty_bitmaps() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("inc.qcow2");
    let path = image.to_string_lossy().into_owned();
    run("qemu-img", &["create", "-q", "-f", "qcow2", &path, "64M"]);
    run("qemu-io", &["-c", "write -P 0x11 0 8M", &path]);
    run("qemu-img", &["bitmap", "--add", "--enable", &path, "chk1"]);
    run(
        "qemu-io",
        &[
            "-c",
            "write -P 0x22 1M 64k",
            "-c",
            "write -P 0x33 32M 2M",
            &path,
        ],
    );
    let mut options = NbdOptions::new(NbdFormat::Qcow2);
    options.read_only = true;
    options.bitmap = Some("chk1".to_owned());
    let export = NbdExport::start(&image, &options).unwrap();
    let daemon = Imageio::start(&ImageioOptions {
        debug: true,
        ..ImageioOptions::default()
    })
    .unwrap();
    let mut ticket = Ticket::new("inc", 64 << 20, export.url(), &[TicketOp::Read]);
    ticket.dirty = true;
    daemon.add_ticket(&ticket).unwrap();
    let url = daemon.image_url("inc");
    let extents: serde_json::Value =
        serde_json::from_str(&run_python(GET, &[&format!("{url}/extents?context=dirty")])).unwrap();
    let dirty: Vec<(u64, u64)> = extents
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["dirty"] == true)
        .map(|e| (e["start"].as_u64().unwrap(), e["length"].as_u64().unwrap()))
        .collect();
    assert_eq!(dirty, [(1 << 20, 64 << 10), (32 << 20, 2 << 20)]);
    let zero: serde_json::Value =
        serde_json::from_str(&run_python(GET, &[&format!("{url}/extents")])).unwrap();
    assert!(
        zero.as_array().unwrap().iter().any(|e| e["zero"] == true),
        "{zero}"
    );
    let back = dir.path().join("back.qcow2");
    run_python(DOWNLOAD, &[&url, &back.to_string_lossy(), "qcow2"]);
    assert_identical(&image, &back);
    let pid = export.pid();
    drop(daemon);
    drop(export);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "qemu-nbd {pid} still runs"
    );
}

#[test]
fn a_read_only_ticket_refuses_writes_and_a_missing_venv_names_the_installer() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    raw_image(&disk, 1 << 20, &[]);
    let daemon = Imageio::start(&ImageioOptions::default()).unwrap();
    daemon
        .add_ticket(&Ticket::new(
            "ro",
            1 << 20,
            file_url(&disk),
            &[TicketOp::Read],
        ))
        .unwrap();
    let put = run_python(
        "import sys, urllib.request, urllib.error\n\
         r = urllib.request.Request(sys.argv[1], data=b'x' * 16, method='PUT', \
         headers={'Content-Range': 'bytes 0-15/*'})\n\
         try:\n    urllib.request.urlopen(r)\n    print('accepted')\n\
         except urllib.error.HTTPError as e:\n    print(e.code)\n",
        &[&daemon.image_url("ro")],
    );
    assert_eq!(put.trim(), "403");
    let pid = daemon.pid();
    drop(daemon);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "daemon {pid} still runs"
    );

    let missing = ImageioOptions {
        venv: Some(dir.path().join("no-venv")),
        ..ImageioOptions::default()
    };
    let error = Imageio::start(&missing).unwrap_err().to_string();
    assert!(error.contains("scripts/lib/install-ovirt-venv"), "{error}");
}
