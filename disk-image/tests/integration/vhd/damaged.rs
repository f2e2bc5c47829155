//! Damaged VHDs are refused with errors naming the file and the problem.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use disk_image::vhd::{self, FixedVhdSink, VhdDisk};
use disk_image::{FileDisk, NoProgress};

use super::super::support::{MIB, Shape, make_raw};
use super::{copy, len, write_dynamic_sink};

/// Good VHDs of one small disk, copied and damaged by the tests below.
struct Originals {
    dir: tempfile::TempDir,
    dynamic: PathBuf,
    fixed: PathBuf,
}

fn originals() -> Originals {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(
        &raw,
        &Shape {
            size: 5 * MIB,
            data: &[(0, MIB), (4 * MIB, MIB)],
            written_zeros: &[],
        },
    );
    let source = FileDisk::open(&raw).unwrap();
    let dynamic = dir.path().join("good.vhd");
    write_dynamic_sink(&source, &dynamic);
    let fixed = dir.path().join("good-fixed.vhd");
    let file = File::create(&fixed).unwrap();
    copy(
        &source,
        &mut FixedVhdSink::new(&file, "fixed", 5 * MIB).unwrap(),
    );
    Originals {
        dir,
        dynamic,
        fixed,
    }
}

impl Originals {
    /// Copies `from` to `name`, damages the copy and opens it: the error must name the copy
    /// and contain every `expected` text.
    fn refused(&self, name: &str, from: &Path, damage: impl FnOnce(&File, u64), expected: &[&str]) {
        let path = self.dir.path().join(name);
        fs::copy(from, &path).unwrap();
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        damage(&file, len(&path));
        drop(file);
        let err = VhdDisk::open(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        for text in expected {
            assert!(err.contains(text), "{name}: expected {text:?} in: {err}");
        }
    }
}

#[test]
fn damaged_footers_are_refused() {
    let good = originals();
    good.refused(
        "bad-cookie.vhd",
        &good.fixed,
        |f, len| f.write_all_at(b"CONECTIX", len - 512).unwrap(),
        &["cookie", "conectix", &format!("footer at byte {}", 5 * MIB)],
    );
    good.refused(
        "bad-footer-checksum.vhd",
        &good.dynamic,
        |f, len| f.write_all_at(&[0x55], len - 512 + 200).unwrap(),
        &["footer checksum mismatch"],
    );
    good.refused(
        "differencing.vhd",
        &good.dynamic,
        |f, len| set_footer_type(f, len, 4),
        &["differencing", "not supported"],
    );
    good.refused(
        "unknown-type.vhd",
        &good.dynamic,
        |f, len| set_footer_type(f, len, 9),
        &["unknown disk type 9"],
    );
    good.refused(
        "tiny.vhd",
        &good.dynamic,
        |f, _| f.set_len(100).unwrap(),
        &["too few for a VHD"],
    );
}

#[test]
fn damaged_dynamic_structures_are_refused() {
    let good = originals();
    let footer_at = len(&good.dynamic) - 512;
    good.refused(
        "bad-header-checksum.vhd",
        &good.dynamic,
        |f, _| f.write_all_at(&[0x55], 512 + 600).unwrap(),
        &[
            "dynamic header at byte 512",
            "dynamic header checksum mismatch",
        ],
    );
    good.refused(
        "bat-past-the-end.vhd",
        &good.dynamic,
        |f, _| {
            f.write_all_at(&0x0010_0000u32.to_be_bytes(), 1536 + 4)
                .unwrap();
        },
        &[
            "BAT entry 1 at byte 1540",
            "past the last block",
            &format!("{footer_at}"),
        ],
    );
}

#[test]
fn truncated_vhds_are_refused() {
    let good = originals();
    good.refused(
        "truncated.vhd",
        &good.dynamic,
        |f, len| f.set_len(len - 4096).unwrap(),
        &["cookie", "truncated"],
    );
    good.refused(
        "truncated-fixed.vhd",
        &good.fixed,
        |f, len| {
            let mut footer = [0u8; 512];
            f.read_exact_at(&mut footer, len - 512).unwrap();
            f.set_len(len - 1024).unwrap();
            f.write_all_at(&footer, len - 1024).unwrap();
        },
        &["truncated"],
    );
    // probe does not take a broken VHD for a raw disk.
    let err = vhd::probe(good.dir.path().join("truncated.vhd"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn streaming_refuses_a_disk_that_is_not_whole_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("odd.raw");
    fs::write(&raw, [1u8; 1000]).unwrap();
    let disk = FileDisk::open(&raw).unwrap();
    let err = vhd::write_dynamic_vhd(&disk, &mut io::sink(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("odd.raw") && err.contains("512"), "{err}");
    assert!(vhd::DynamicVhd::plan(&disk).is_err());
    assert!(vhd::write_fixed_vhd(&disk, &mut io::sink(), &NoProgress).is_err());
}

// ---- helpers ----------------------------------------------------------------------------

/// Rewrites the footer's disk type (and its checksum) at the end of a file of `len` bytes.
fn set_footer_type(file: &File, len: u64, kind: u32) {
    let mut footer = [0u8; 512];
    file.read_exact_at(&mut footer, len - 512).unwrap();
    footer[60..64].copy_from_slice(&kind.to_be_bytes());
    footer[64..68].fill(0);
    let sum = footer.iter().fold(0u32, |s, b| s + u32::from(*b));
    footer[64..68].copy_from_slice(&(!sum).to_be_bytes());
    file.write_all_at(&footer, len - 512).unwrap();
}
