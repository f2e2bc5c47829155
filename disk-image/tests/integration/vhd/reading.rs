//! Reading: VHDs written by qemu-img, reads at odd offsets, sector bitmaps, `probe` and
//! `VhdDisk::from_file`.

use std::fs::{self, File};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use disk_image::vhd::{self, VhdDisk, VhdKind};
use disk_image::{FileDisk, RandomAccessDisk, is_zero};

use super::super::support::{MIB, Shape, XorShift, make_raw, run, text};
use super::{BLOCK, assert_same, write_dynamic_sink};

#[test]
fn qemu_written_vhds_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    let shape = Shape {
        size: 6 * MIB + 512,
        data: &[
            (0, 4096),
            (MIB + 512, 3000 * 512),
            (5 * MIB, 100),
            (6 * MIB, 512),
        ],
        written_zeros: &[(4 * MIB, 4096)],
    };
    make_raw(&raw, &shape);
    let original = FileDisk::open(&raw).unwrap();
    for (subformat, kind) in [("dynamic", VhdKind::Dynamic), ("fixed", VhdKind::Fixed)] {
        for force_size in [false, true] {
            let out = dir.path().join(format!("{subformat}-{force_size}.vhd"));
            let options = format!("subformat={subformat},force_size={}", on_off(force_size));
            let convert = run(
                "qemu-img",
                "qemu-utils",
                &[
                    "convert".as_ref(),
                    "-f".as_ref(),
                    "raw".as_ref(),
                    "-O".as_ref(),
                    "vpc".as_ref(),
                    "-o".as_ref(),
                    options.as_ref(),
                    raw.as_os_str(),
                    out.as_os_str(),
                ],
            );
            assert!(convert.status.success(), "{}", text(&convert));
            assert_eq!(vhd::probe(&out).unwrap(), Some(kind));
            let disk = VhdDisk::open(&out).unwrap();
            assert_eq!(disk.kind(), kind);
            // Without force_size, qemu rounds the size up to its CHS geometry.
            if force_size {
                assert_eq!(disk.size(), shape.size);
            }
            assert!(disk.size() >= shape.size && disk.size() < shape.size + MIB);
            assert_same(&Prefix(&disk, shape.size), &original);
            let mut tail = vec![1u8; (disk.size() - shape.size) as usize];
            disk.read_exact_at(&mut tail, shape.size).unwrap();
            assert!(
                is_zero(&tail),
                "{options}: the rounded-up tail must read as zeros"
            );
            check_unaligned_reads(&disk, &original);
        }
    }
}

#[test]
fn unaligned_reads_match_the_raw_disk() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(
        &raw,
        &Shape {
            size: 5 * MIB,
            data: &[(1000 * 512, 2 * MIB), (4 * MIB + 4096, 8192)],
            written_zeros: &[],
        },
    );
    let original = FileDisk::open(&raw).unwrap();
    let out = dir.path().join("d.vhd");
    write_dynamic_sink(&original, &out);
    check_unaligned_reads(&VhdDisk::open(&out).unwrap(), &original);
}

#[test]
fn clear_bitmap_bits_read_as_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(
        &raw,
        &Shape {
            size: 4 * MIB,
            data: &[(0, 4 * MIB)],
            written_zeros: &[],
        },
    );
    let out = dir.path().join("d.vhd");
    write_dynamic_sink(&FileDisk::open(&raw).unwrap(), &out);
    // Block 1's bitmap: clear the bits of sectors 8..16 (byte 1) and sector 17 (byte 2).
    let bitmap = u64::from(bat_entry(&out, 1)) * 512;
    let file = fs::OpenOptions::new().write(true).open(&out).unwrap();
    file.write_all_at(&[0x00, 0xBF], bitmap + 1).unwrap();
    let disk = VhdDisk::open(&out).unwrap();
    let mut buf = vec![0u8; 16 * 512];
    disk.read_exact_at(&mut buf, BLOCK + 4 * 512).unwrap();
    let mut expected = vec![0u8; 16 * 512];
    File::open(&raw)
        .unwrap()
        .read_exact_at(&mut expected, BLOCK + 4 * 512)
        .unwrap();
    expected[4 * 512..12 * 512].fill(0);
    expected[13 * 512..14 * 512].fill(0);
    assert!(
        buf == expected,
        "cleared sectors must read as zeros, the others as stored"
    );
}

#[test]
fn probe_tells_vhds_from_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(
        &raw,
        &Shape {
            size: MIB,
            data: &[(0, 4096)],
            written_zeros: &[],
        },
    );
    assert_eq!(vhd::probe(&raw).unwrap(), None);
    let short = dir.path().join("short");
    fs::write(&short, b"conectix").unwrap();
    assert_eq!(vhd::probe(&short).unwrap(), None);
    let err = vhd::probe(dir.path().join("missing.vhd"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.vhd"), "{err}");
}

#[test]
fn from_an_open_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(
        &raw,
        &Shape {
            size: 3 * MIB,
            data: &[(MIB, 4096)],
            written_zeros: &[],
        },
    );
    let out = dir.path().join("d.vhd");
    write_dynamic_sink(&FileDisk::open(&raw).unwrap(), &out);
    let disk = VhdDisk::from_file(File::open(&out).unwrap(), "my disk").unwrap();
    assert_eq!(disk.name(), "my disk");
    assert_eq!(disk.data_ranges().unwrap(), vec![0..2 * MIB]);
    assert_same(&disk, &FileDisk::open(&raw).unwrap());
}

/// Reads windows at odd offsets and lengths and compares them with the raw disk.
fn check_unaligned_reads(disk: &dyn RandomAccessDisk, raw: &dyn RandomAccessDisk) {
    let mut rng = XorShift(42);
    let mut draw = [0u8; 8];
    for _ in 0..200 {
        rng.fill(&mut draw);
        let offset = u64::from_le_bytes(draw) % raw.size();
        rng.fill(&mut draw);
        let len = (u64::from_le_bytes(draw) % (3 * MIB)).min(raw.size() - offset) as usize;
        let (mut x, mut y) = (vec![0u8; len], vec![1u8; len]);
        raw.read_exact_at(&mut x, offset).unwrap();
        disk.read_exact_at(&mut y, offset).unwrap();
        assert!(x == y, "{len} bytes at {offset} differ");
    }
}

/// The first `size` bytes of a disk.
struct Prefix<'a>(&'a dyn RandomAccessDisk, u64);

impl RandomAccessDisk for Prefix<'_> {
    fn size(&self) -> u64 {
        self.1
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        let size = self.1;
        let ranges = self.0.data_ranges()?.into_iter();
        Ok(ranges
            .filter(|r| r.start < size)
            .map(|r| r.start..r.end.min(size))
            .collect())
    }
    fn name(&self) -> String {
        self.0.name()
    }
}

/// The BAT entry of block `index` of a VHD written by our sink (BAT at byte 1536).
fn bat_entry(path: &Path, index: u64) -> u32 {
    let mut entry = [0u8; 4];
    File::open(path)
        .unwrap()
        .read_exact_at(&mut entry, 1536 + 4 * index)
        .unwrap();
    u32::from_be_bytes(entry)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
