//! Uploads from pieces in any order (`ImageioClient::upload_pieces`) against the REAL
//! ovirt-imageio daemon's file backend: the pieces of a 16 MiB image handed over back to
//! front, zero ranges among them, into a target full of 0xEE; the result compared with
//! `qemu-img compare`; a producer's failure comes back as its own error and nothing is
//! flushed.

use disk_image::{NoProgress, Piece};
use ovirt_client::imageio::{ImageioClient, TransferOptions};
use ovirt_client::{OvirtError, Trust};
use ovirt_sim::imageio::{Ticket, TicketOp, file_url};

use super::support::{assert_identical, ca_of, daemon, log_lines, raw_image};

const MIB: u64 = 1 << 20;

#[test]
fn pieces_back_to_front_with_zero_ranges_make_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), true);
    let expected = dir.path().join("expected.raw");
    raw_image(
        &expected,
        16 * MIB,
        &[(0, MIB as usize, 0x11), (9 * MIB, 2 << 20, 0x22)],
    );
    let target = dir.path().join("target.raw");
    raw_image(&target, 16 * MIB, &[(0, 16 << 20, 0xEE)]);
    daemon
        .add_ticket(&Ticket::new(
            "up",
            16 * MIB,
            file_url(&target),
            &[TicketOp::Write],
        ))
        .unwrap();
    let client =
        ImageioClient::open(&daemon.image_url("up"), &Trust::CaFile(ca_of(&daemon))).unwrap();
    let pieces = [
        Piece::Zero {
            offset: 11 * MIB,
            len: 5 * MIB,
        },
        Piece::Data {
            offset: 9 * MIB,
            bytes: vec![0x22; 2 << 20],
        },
        Piece::Zero {
            offset: MIB,
            len: 8 * MIB,
        },
        Piece::Data {
            offset: 0,
            bytes: vec![0x11; MIB as usize],
        },
    ];
    let (produced, summary) = client
        .upload_pieces(
            16 * MIB,
            &TransferOptions::default(),
            &NoProgress,
            |push| -> Result<&str, OvirtError> {
                for piece in pieces {
                    push(piece)?;
                }
                Ok("made")
            },
        )
        .unwrap();
    assert_eq!(produced, "made");
    assert_identical(&expected, &target);
    assert_eq!(summary.data_bytes, 3 * MIB);
    assert_eq!(summary.zeroed_bytes, 13 * MIB);
    assert_eq!(summary.requests, 4);
    assert_eq!(log_lines(&daemon, "FLUSH").len(), 1, "one flush");
}

/// A producer's error type of its own.
#[derive(Debug)]
enum SourceFailed {
    Cut,
    Upload(OvirtError),
}

impl From<OvirtError> for SourceFailed {
    fn from(error: OvirtError) -> Self {
        SourceFailed::Upload(error)
    }
}

#[test]
fn a_failing_producer_or_a_piece_past_the_end_fails_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = daemon(dir.path(), false);
    let target = dir.path().join("target.raw");
    raw_image(&target, 4 * MIB, &[]);
    daemon
        .add_ticket(&Ticket::new(
            "up",
            4 * MIB,
            file_url(&target),
            &[TicketOp::Write],
        ))
        .unwrap();
    let client = ImageioClient::open(&daemon.image_url("up"), &Trust::Insecure).unwrap();
    let failed = client.upload_pieces(4 * MIB, &TransferOptions::default(), &NoProgress, |push| {
        push(Piece::Data {
            offset: 0,
            bytes: vec![1; 4096],
        })?;
        Err::<(), _>(SourceFailed::Cut)
    });
    assert!(matches!(failed, Err(SourceFailed::Cut)), "{failed:?}");
    let past = client.upload_pieces(4 * MIB, &TransferOptions::default(), &NoProgress, |push| {
        push(Piece::Zero {
            offset: 3 * MIB,
            len: 2 * MIB,
        })?;
        Ok::<(), SourceFailed>(())
    });
    match past {
        Err(SourceFailed::Upload(error)) => {
            assert!(error.to_string().contains("past the image"), "{error}");
        }
        other => panic!("a piece past the end must fail the upload: {other:?}"),
    }
    assert!(log_lines(&daemon, "FLUSH").is_empty(), "nothing flushed");
}
