//! The imageio data path against the REAL ovirt-imageio daemon: file backend (one writer,
//! one all-data extent) and NBD backend (qemu-nbd: qcow2, real extents, eight writers,
//! dirty bitmaps), plain and TLS; results compared with `qemu-img compare`.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicBool, Ordering};

use disk_image::{DiskInput, FileDisk, NoProgress, Progress, RawFileSink};
use ovirt_client::imageio::{ExtentContext, ImageioClient, TransferOptions};
use ovirt_client::{OvirtError, Trust};
use ovirt_sim::imageio::{Imageio, NbdExport, NbdFormat, NbdOptions, Ticket, TicketOp, file_url};

use super::support::{assert_identical, ca_of, daemon, log_lines, raw_image, run};

const MIB: u64 = 1 << 20;

/// A 64 MiB source: data at the start, in the middle (with a zero MiB inside a piece), and
/// at the end; the rest holes.
fn source(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("source.raw");
    raw_image(
        &path,
        64 * MIB,
        &[
            (0, 3 << 20, 0x11),
            (20 * MIB, MIB as usize, 0x22),
            (22 * MIB, MIB as usize, 0x33),
            (63 * MIB, MIB as usize, 0x44),
        ],
    );
    path
}

#[test]
fn file_backend_upload_and_download_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), true);
    let src = source(dir.path());
    let target = dir.path().join("target.raw");
    // The target starts full of 0xEE so that zero ranges must really be zeroed.
    raw_image(&target, 64 * MIB, &[(0, 64 << 20, 0xEE)]);
    daemon
        .add_ticket(&Ticket::new(
            "up",
            64 * MIB,
            file_url(&target),
            &[TicketOp::Write],
        ))
        .unwrap();

    let client =
        ImageioClient::open(&daemon.image_url("up"), &Trust::CaFile(ca_of(&daemon))).unwrap();
    assert_eq!(
        client.server().max_writers,
        1,
        "the file backend takes one writer"
    );
    let disk = FileDisk::open(&src).unwrap();
    let summary = client
        .upload(
            DiskInput::Random(&disk),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert_identical(&src, &target);
    assert_eq!(summary.data_bytes, 6 * MIB);
    assert_eq!(summary.zeroed_bytes, 58 * MIB);
    let zeros = log_lines(&daemon, "ZERO");
    assert!(
        !zeros.is_empty(),
        "zero ranges go out as PATCH zero:\n{}",
        daemon.log()
    );
    let written: u64 = log_lines(&daemon, "WRITE")
        .iter()
        .map(|l| field(l, "size"))
        .sum();
    assert_eq!(written, 6 * MIB, "only data is sent");
    assert_eq!(log_lines(&daemon, "FLUSH").len(), 1, "one flush");

    daemon
        .add_ticket(&Ticket::new(
            "down",
            64 * MIB,
            file_url(&target),
            &[TicketOp::Read],
        ))
        .unwrap();
    let client =
        ImageioClient::open(&daemon.image_url("down"), &Trust::CaFile(ca_of(&daemon))).unwrap();
    let copy_path = dir.path().join("copy.raw");
    let copy = std::fs::File::create(&copy_path).unwrap();
    let summary = client
        .download(
            64 * MIB,
            ExtentContext::Zero,
            &mut RawFileSink::new(&copy, "copy"),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(
        summary.data_bytes,
        64 * MIB,
        "the file backend reports one data extent"
    );
    assert_identical(&src, &copy_path);
}

#[test]
fn nbd_backend_qcow2_upload_and_sparse_download() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let src = source(dir.path());
    let qcow = dir.path().join("disk.qcow2");
    run(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            &qcow.to_string_lossy(),
            "64M",
        ],
    );
    {
        let export = NbdExport::start(&qcow, &NbdOptions::new(NbdFormat::Qcow2)).unwrap();
        daemon
            .add_ticket(&Ticket::new(
                "up",
                64 * MIB,
                export.url(),
                &[TicketOp::Write],
            ))
            .unwrap();
        let client = ImageioClient::open(&daemon.image_url("up"), &Trust::Insecure).unwrap();
        assert_eq!(client.server().max_writers, 8);
        let disk = FileDisk::open(&src).unwrap();
        let options = TransferOptions {
            piece_size: MIB as usize,
            ..TransferOptions::default()
        };
        client
            .upload(DiskInput::Random(&disk), &options, &NoProgress)
            .unwrap();
        let data_connections = daemon
            .log()
            .lines()
            .filter(|l| l.contains("OPEN connection=") && l.contains("client=127.0.0.1"))
            .count();
        assert!(
            data_connections >= 3,
            "writes go over several connections:\n{}",
            daemon.log()
        );
        daemon.remove_ticket("up").unwrap();
    }
    assert_identical(&src, &qcow);

    let export = NbdExport::start(
        &qcow,
        &NbdOptions {
            read_only: true,
            ..NbdOptions::new(NbdFormat::Qcow2)
        },
    )
    .unwrap();
    daemon
        .add_ticket(&Ticket::new(
            "down",
            64 * MIB,
            export.url(),
            &[TicketOp::Read],
        ))
        .unwrap();
    let client = ImageioClient::open(&daemon.image_url("down"), &Trust::Insecure).unwrap();
    let copy_path = dir.path().join("copy.raw");
    let copy = std::fs::File::create(&copy_path).unwrap();
    let summary = client
        .download(
            64 * MIB,
            ExtentContext::Zero,
            &mut RawFileSink::new(&copy, "copy"),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert!(
        summary.data_bytes <= 8 * MIB,
        "only data extents are fetched: {summary:?}"
    );
    let read: u64 = log_lines(&daemon, "READ")
        .iter()
        .map(|l| field(l, "size"))
        .sum();
    assert_eq!(read, summary.data_bytes);
    assert_identical(&src, &copy_path);
    assert!(
        copy.metadata().unwrap().blocks() * 512 <= 8 * MIB,
        "the copy is sparse"
    );
}

#[test]
fn a_read_only_ticket_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let target = dir.path().join("target.raw");
    raw_image(&target, 8 * MIB, &[(0, 4096, 0x55)]);
    daemon
        .add_ticket(&Ticket::new(
            "ro",
            8 * MIB,
            file_url(&target),
            &[TicketOp::Read],
        ))
        .unwrap();
    let client = ImageioClient::open(&daemon.image_url("ro"), &Trust::Insecure).unwrap();
    assert!(!client.server().writable());
    match client.write_at(0, vec![1; 4096]) {
        Err(OvirtError::Imageio { status: 403, .. }) => {}
        other => panic!("the daemon must refuse the write: {other:?}"),
    }
    let src = source(dir.path());
    let disk = FileDisk::open(&src).unwrap();
    let error = client
        .upload(
            DiskInput::Random(&disk),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");
    let mut byte = [0u8; 1];
    client.read_at(0, &mut byte).unwrap();
    assert_eq!(byte, [0x55], "unchanged");
}

/// Expires the ticket after the first bytes went through.
struct ExpireOnFirstAdvance<'a> {
    daemon: &'a Imageio,
    ticket: &'a str,
    done: AtomicBool,
}

impl Progress for ExpireOnFirstAdvance<'_> {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, bytes: u64) {
        if bytes > 0 && !self.done.swap(true, Ordering::SeqCst) {
            self.daemon
                .extend_ticket(self.ticket, 0)
                .expect("expire the ticket");
        }
    }
    fn finish(&self) {}
}

#[test]
fn a_ticket_cancelled_mid_transfer_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let src = dir.path().join("full.raw");
    raw_image(&src, 32 * MIB, &[(0, 32 << 20, 0x66)]);
    let target = dir.path().join("target.raw");
    raw_image(&target, 32 * MIB, &[]);
    daemon
        .add_ticket(&Ticket::new(
            "t",
            32 * MIB,
            file_url(&target),
            &[TicketOp::Write],
        ))
        .unwrap();
    let client = ImageioClient::open(&daemon.image_url("t"), &Trust::Insecure).unwrap();
    let disk = FileDisk::open(&src).unwrap();
    let progress = ExpireOnFirstAdvance {
        daemon: &daemon,
        ticket: "t",
        done: AtomicBool::new(false),
    };
    let options = TransferOptions {
        piece_size: MIB as usize,
        ..TransferOptions::default()
    };
    let error = client
        .upload(DiskInput::Random(&disk), &options, &progress)
        .unwrap_err();
    match &error {
        OvirtError::Imageio {
            status: 403,
            message,
            ..
        } => {
            assert!(message.contains("ticket"), "{message}");
        }
        other => panic!("expected a 403 naming the ticket, got {other:?}"),
    }
}

#[test]
fn dirty_extents_from_a_qcow2_bitmap_are_exactly_the_written_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let qcow = dir.path().join("inc.qcow2");
    let q = qcow.to_string_lossy().into_owned();
    run("qemu-img", &["create", "-q", "-f", "qcow2", &q, "64M"]);
    run("qemu-io", &["-c", "write -P 0x11 0 8M", &q]);
    run("qemu-img", &["bitmap", "--add", "--enable", &q, "chk1"]);
    run(
        "qemu-io",
        &[
            "-c",
            "write -P 0x22 1M 64k",
            "-c",
            "write -P 0x33 32M 2M",
            "-c",
            "write -z 40M 1M",
            &q,
        ],
    );
    let export = NbdExport::start(
        &qcow,
        &NbdOptions {
            read_only: true,
            bitmap: Some("chk1".into()),
            ..NbdOptions::new(NbdFormat::Qcow2)
        },
    )
    .unwrap();
    let mut ticket = Ticket::new("inc", 64 * MIB, export.url(), &[TicketOp::Read]);
    ticket.dirty = true;
    daemon.add_ticket(&ticket).unwrap();
    let client = ImageioClient::open(&daemon.image_url("inc"), &Trust::Insecure).unwrap();
    let out = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.path().join("inc.raw"))
        .unwrap();
    let summary = client
        .download(
            64 * MIB,
            ExtentContext::Dirty,
            &mut RawFileSink::new(&out, "inc"),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(summary.fetched, vec![MIB..MIB + 65536, 32 * MIB..34 * MIB]);
    assert_eq!(
        summary.changed,
        vec![MIB..MIB + 65536, 32 * MIB..34 * MIB, 40 * MIB..41 * MIB]
    );
    let mut byte = [0u8; 1];
    out.read_exact_at(&mut byte, 32 * MIB).unwrap();
    assert_eq!(byte, [0x33]);
    out.read_exact_at(&mut byte, 0).unwrap();
    assert_eq!(byte, [0], "unchanged data is not fetched");
}

/// `name=N` from a daemon log line.
fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

#[test]
fn a_stream_uploads_with_its_zero_runs_as_patch_zero() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let src = source(dir.path());
    let target = dir.path().join("target.raw");
    raw_image(&target, 64 * MIB, &[(0, 64 << 20, 0xEE)]);
    let export = NbdExport::start(&target, &NbdOptions::new(NbdFormat::Raw)).unwrap();
    daemon
        .add_ticket(&Ticket::new(
            "up",
            64 * MIB,
            export.url(),
            &[TicketOp::Write],
        ))
        .unwrap();
    let client = ImageioClient::open(&daemon.image_url("up"), &Trust::Insecure).unwrap();
    // A plain `Read` of known size, as an HTTP body from XAPI would be: read once, in order.
    let mut stream =
        disk_image::StreamDisk::new(std::fs::File::open(&src).unwrap(), 64 * MIB, "stream");
    let summary = client
        .upload(
            DiskInput::Stream(&mut stream),
            &TransferOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(summary.data_bytes, 6 * MIB, "{summary:?}");
    assert_eq!(summary.zeroed_bytes, 58 * MIB, "{summary:?}");
    drop(export);
    assert_identical(&src, &target);
}
