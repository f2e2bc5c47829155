//! `save` on real files: sparse raw images, VHDs checked as they stream, compression,
//! digests, cut and failing sources, cancellation.

use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;

use disk_image::compress::Codec;
use disk_image::{FileDisk, NoProgress};

use super::*;
use crate::store::digest::digest_bytes;

const MIB: usize = 1 << 20;

fn options(codec: Codec, cancel: &Cancel) -> SaveOptions<'_> {
    SaveOptions {
        codec,
        digest: DigestKind::Xxh64,
        mode: FileMode::default(),
        cancel,
        progress: &NoProgress,
    }
}

/// 4 MiB with data in its first and last MiB only.
fn disk() -> Vec<u8> {
    let mut bytes = vec![0u8; 4 * MIB];
    for (i, b) in bytes[..MIB].iter_mut().enumerate() {
        *b = (i % 251) as u8 + 1;
    }
    bytes[4 * MIB - 10..].copy_from_slice(b"last bytes");
    bytes
}

/// `disk()` as a dynamic VHD, written by disk-image.
fn vhd(dir: &Path) -> Vec<u8> {
    let raw = dir.join("source.raw");
    std::fs::write(&raw, disk()).unwrap();
    let source = FileDisk::open(&raw).unwrap();
    let mut out = Vec::new();
    disk_image::vhd::write_dynamic_vhd(&source, &mut out, &NoProgress).unwrap();
    out
}

/// A source that fails after `good` bytes.
struct Failing {
    good: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::other("connection reset"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(7);
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_raw_disk_is_stored_sparse_with_the_digest_of_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.raw");
    let bytes = disk();
    let cancel = Cancel::new();
    let saved = save(
        &bytes[..],
        Some(bytes.len() as u64),
        &path,
        "disk",
        Structure::Raw {
            size: Some(bytes.len() as u64),
        },
        &options(Codec::None, &cancel),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(saved.received, bytes.len() as u64);
    assert_eq!(saved.digest, digest_bytes(DigestKind::Xxh64, &bytes));
    let meta = std::fs::metadata(&path).unwrap();
    assert!(
        meta.blocks() * 512 < 3 * MIB as u64,
        "{} blocks",
        meta.blocks()
    );
    assert_eq!(meta.mode() & 0o777, 0o600);
}

#[test]
fn a_raw_disk_of_the_wrong_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = disk();
    let cancel = Cancel::new();
    for codec in [
        Codec::None,
        Codec::Zstd {
            level: 1,
            threads: 0,
        },
    ] {
        let path = dir.path().join(format!("short{}.raw", codec.suffix()));
        let error = save(
            &bytes[..MIB],
            None,
            &path,
            "disk",
            Structure::Raw {
                size: Some(bytes.len() as u64),
            },
            &options(codec, &cancel),
        )
        .unwrap_err();
        assert!(matches!(error, SaveError::Size { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .ends_with("received 1048576 bytes of a 4194304-byte disk"),
            "{error}"
        );
    }
}

#[test]
fn a_compressed_vhd_is_checked_as_it_streams_and_its_digest_is_of_the_stored_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = vhd(dir.path());
    let cancel = Cancel::new();
    let path = dir.path().join("disk.vhd.zst");
    let saved = save(
        &image[..],
        Some(image.len() as u64),
        &path,
        "disk",
        Structure::Vhd {
            size: Some(4 * MIB as u64),
        },
        &options(
            Codec::Zstd {
                level: 3,
                threads: 2,
            },
            &cancel,
        ),
    )
    .unwrap();
    assert_eq!(saved.vhd_size, Some(4 * MIB as u64));
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(saved.digest, digest_bytes(DigestKind::Xxh64, &stored));
    assert_eq!(zstd::decode_all(&stored[..]).unwrap(), image);
}

#[test]
fn a_cut_or_mis_sized_vhd_is_refused_whatever_the_compression() {
    let dir = tempfile::tempdir().unwrap();
    let image = vhd(dir.path());
    let cancel = Cancel::new();
    for (n, codec) in [Codec::None, Codec::Gzip { level: 1 }]
        .into_iter()
        .enumerate()
    {
        let cut = dir.path().join(format!("cut{n}.vhd"));
        let error = save(
            &image[..image.len() - 700],
            None,
            &cut,
            "disk",
            Structure::Vhd { size: None },
            &options(codec, &cancel),
        )
        .unwrap_err();
        assert!(matches!(error, SaveError::Structure { .. }), "{error:?}");
        let wrong = dir.path().join(format!("wrong{n}.vhd"));
        let error = save(
            &image[..],
            None,
            &wrong,
            "disk",
            Structure::Vhd {
                size: Some(8 * MIB as u64),
            },
            &options(codec, &cancel),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("a VHD of 4194304 bytes for a 8388608-byte disk"),
            "{error}"
        );
    }
}

#[test]
fn a_failing_source_is_named_by_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    let error = save(
        Failing { good: 3 * MIB },
        None,
        &dir.path().join("x.raw"),
        "web01 xvda",
        Structure::Raw { size: None },
        &options(Codec::None, &cancel),
    )
    .unwrap_err();
    assert_eq!(
        crate::store::chain(&error),
        "receiving `web01 xvda`: connection reset"
    );
}

#[test]
fn a_cancelled_run_stops_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let error = save(
        &disk()[..],
        None,
        &dir.path().join("x.raw"),
        "disk",
        Structure::Raw { size: None },
        &options(Codec::None, &cancel),
    )
    .unwrap_err();
    assert!(matches!(error, SaveError::Interrupted), "{error:?}");
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.raw");
    std::fs::write(&path, b"keep").unwrap();
    let cancel = Cancel::new();
    let error = save(
        &b"new"[..],
        None,
        &path,
        "disk",
        Structure::Raw { size: None },
        &options(Codec::None, &cancel),
    )
    .unwrap_err();
    assert!(error.to_string().starts_with("creating `"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
}

#[cfg(feature = "xva")]
#[test]
fn a_stream_that_is_not_an_xva_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    // Not an XVA at all: the verifier refuses the archive.
    let error = save(
        &vec![1u8; 3 * 512][..],
        None,
        &dir.path().join("x.xva"),
        "web01",
        Structure::Xva,
        &options(Codec::None, &cancel),
    )
    .unwrap_err();
    assert!(matches!(error, SaveError::Structure { .. }), "{error:?}");
}
