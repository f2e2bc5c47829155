//! Every test shape through the four VHD writers, each output checked by our reader (and back
//! to raw), `qemu-img info`, `qemu-img compare` and `vhdiinfo`.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

use disk_image::vhd::{self, DynamicVhdSink, FixedVhdSink, VhdDisk, VhdKind};
use disk_image::{FileDisk, NoProgress, RandomAccessDisk, RawFileSink, is_zero};

use super::super::support::{GIB, MIB, SHAPES, assert_same_bytes, make_raw, run, spawn, text};
use super::{BLOCK, assert_same, copy, len, touched_chunks};

#[test]
fn tiny() {
    round_trips("tiny");
}

#[test]
fn one_mib_and_a_sector() {
    round_trips("mib-and-a-sector");
}

#[test]
fn not_a_multiple_of_the_block_size() {
    round_trips("odd-size");
}

#[test]
fn fully_zero() {
    round_trips("fully-zero");
}

#[test]
fn fully_random() {
    round_trips("fully-random");
}

#[test]
fn sparse_with_data_at_both_ends() {
    round_trips("sparse-both-ends");
}

#[test]
fn sparse_over_four_gib() {
    round_trips("sparse-over-4gib");
}

/// Writes the shape as raw, converts it to the four kinds of VHD and checks each one with
/// our reader, qemu-img and vhdiinfo, and back to raw.
fn round_trips(name: &str) {
    let (_, shape) = SHAPES
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a shape of support.rs");
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.raw");
    make_raw(&raw, shape);
    let source = FileDisk::open(&raw).unwrap();
    let size = shape.size;
    let non_zero = non_zero_blocks(&source);
    let touched = touched_blocks(&source.data_ranges().unwrap());

    let dynamic = dir.path().join("sink-dynamic.vhd");
    let file = File::create(&dynamic).unwrap();
    let mut sink = DynamicVhdSink::new(&file, dynamic.display().to_string(), size).unwrap();
    copy(&source, &mut sink);
    assert_eq!(sink.allocated_blocks(), non_zero);
    assert_eq!(len(&dynamic), dynamic_len(size, non_zero));
    check_vhd(&dynamic, &raw, VhdKind::Dynamic);

    let fixed = dir.path().join("sink-fixed.vhd");
    let file = File::create(&fixed).unwrap();
    copy(
        &source,
        &mut FixedVhdSink::new(&file, "fixed", size).unwrap(),
    );
    assert_eq!(len(&fixed), size + 512);
    check_vhd(&fixed, &raw, VhdKind::Fixed);

    let streamed = dir.path().join("stream-dynamic.vhd");
    let expected = vhd::DynamicVhd::plan(&source).unwrap().file_len();
    assert_eq!(expected, dynamic_len(size, touched));
    let written = stream_to(&streamed, |out| {
        vhd::write_dynamic_vhd(&source, out, &NoProgress)
    });
    assert_eq!((written, len(&streamed)), (expected, expected));
    check_vhd(&streamed, &raw, VhdKind::Dynamic);

    let streamed_fixed = dir.path().join("stream-fixed.vhd");
    let written = stream_to(&streamed_fixed, |out| {
        vhd::write_fixed_vhd(&source, out, &NoProgress)
    });
    assert_eq!((written, len(&streamed_fixed)), (size + 512, size + 512));
    check_vhd(&streamed_fixed, &raw, VhdKind::Fixed);

    // Only the allocated blocks take room: a sparse disk gives a small dynamic VHD.
    if size > GIB {
        assert!(len(&dynamic) < 16 * MIB, "{}", len(&dynamic));
        assert!(len(&streamed) < 16 * MIB, "{}", len(&streamed));
    }
}

/// Checks a VHD of `raw`'s contents with our reader (also back to a raw file), qemu-img
/// and vhdiinfo.
fn check_vhd(vhd_path: &Path, raw: &Path, kind: VhdKind) {
    let size = len(raw);
    let original = FileDisk::open(raw).unwrap();
    let disk = VhdDisk::open(vhd_path).unwrap();
    assert_eq!(
        (disk.kind(), disk.size()),
        (kind, size),
        "{}",
        vhd_path.display()
    );
    assert_eq!(vhd::probe(vhd_path).unwrap(), Some(kind));
    assert_same(&disk, &original);

    let back = vhd_path.with_extension("back.raw");
    let file = File::create(&back).unwrap();
    copy(&disk, &mut RawFileSink::new(&file, "back"));
    if size <= 64 * MIB {
        let cmp = run("cmp", "diffutils", &[raw.as_os_str(), back.as_os_str()]);
        assert!(cmp.status.success(), "{}", text(&cmp));
    } else {
        assert_same_bytes(raw, &back);
    }
    fs::remove_file(&back).unwrap();

    // qemu detects VHDs by the cookie at offset 0, which fixed VHDs lack: name the format.
    let (format, virtual_size) = qemu_info(vhd_path, kind == VhdKind::Fixed);
    assert_eq!(
        (format.as_str(), virtual_size),
        ("vpc", size),
        "{}",
        vhd_path.display()
    );
    let compare = run(
        "qemu-img",
        "qemu-utils",
        &[
            "compare".as_ref(),
            "-f".as_ref(),
            "vpc".as_ref(),
            "-F".as_ref(),
            "raw".as_ref(),
            vhd_path.as_os_str(),
            raw.as_os_str(),
        ],
    );
    assert!(
        compare.status.success(),
        "qemu-img compare: {}",
        text(&compare)
    );
    assert!(
        text(&compare).contains("Images are identical"),
        "{}",
        text(&compare)
    );

    let info = run("vhdiinfo", "libvhdi-utils", &[vhd_path.as_os_str()]);
    let info = text(&info);
    let media = info
        .lines()
        .find(|l| l.contains("Media size"))
        .unwrap_or_default();
    assert!(media.contains(&format!("({size} bytes)")), "{info}");
    let kind_name = if kind == VhdKind::Fixed {
        "Fixed"
    } else {
        "Dynamic"
    };
    assert!(
        info.lines()
            .any(|l| l.contains("Disk type") && l.contains(kind_name)),
        "{info}"
    );
}

/// Number of 2 MiB blocks that `ranges` touch.
fn touched_blocks(ranges: &[Range<u64>]) -> u64 {
    let blocks: BTreeSet<u64> = touched_chunks(ranges).iter().map(|c| c / BLOCK).collect();
    blocks.len() as u64
}

/// Number of 2 MiB blocks of `disk` holding a non-zero byte.
fn non_zero_blocks(disk: &dyn RandomAccessDisk) -> u64 {
    let mut blocks = BTreeSet::new();
    let mut buf = vec![0u8; MIB as usize];
    for chunk in touched_chunks(&disk.data_ranges().unwrap()) {
        let buf = &mut buf[..MIB.min(disk.size() - chunk) as usize];
        disk.read_exact_at(buf, chunk).unwrap();
        if !is_zero(buf) {
            blocks.insert(chunk / BLOCK);
        }
    }
    blocks.len() as u64
}

/// Length of a dynamic VHD of `size` bytes with `allocated` blocks, from the layout in the
/// specification: footer copy, header, BAT (sector padded), blocks of bitmap + 2 MiB, footer.
fn dynamic_len(size: u64, allocated: u64) -> u64 {
    let bat = (size.div_ceil(BLOCK) * 4).div_ceil(512) * 512;
    512 + 1024 + bat + allocated * (512 + BLOCK) + 512
}

/// Runs a streaming writer into a file, leaving all-zero pieces as holes (so that a
/// multi-GiB fixed VHD takes no room), and returns what the writer reported.
fn stream_to(path: &Path, write: impl FnOnce(&mut dyn Write) -> disk_image::Result<u64>) -> u64 {
    struct SparseFile {
        file: File,
        position: u64,
    }
    impl Write for SparseFile {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !is_zero(buf) {
                self.file.write_all_at(buf, self.position)?;
            }
            self.position += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.file.set_len(self.position)
        }
    }
    let mut out = SparseFile {
        file: File::create(path).unwrap(),
        position: 0,
    };
    write(&mut out).unwrap()
}

/// Format and virtual size as `qemu-img info --output=json` reports them (parsed by Python's
/// `json`).
fn qemu_info(path: &Path, name_the_format: bool) -> (String, u64) {
    let mut args: Vec<&OsStr> = vec!["info".as_ref(), "--output=json".as_ref()];
    if name_the_format {
        args.extend([OsStr::new("-f"), OsStr::new("vpc")]);
    }
    args.push(path.as_os_str());
    let info = run("qemu-img", "qemu-utils", &args);
    assert!(info.status.success(), "{}", text(&info));
    let mut python = spawn(
        Command::new("python3")
            .args([
                "-c",
                "import json,sys; d=json.load(sys.stdin); print(d['format'], d['virtual-size'])",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
        "python3",
        "python3",
    );
    python
        .stdin
        .take()
        .unwrap()
        .write_all(&info.stdout)
        .unwrap();
    let parsed = python.wait_with_output().unwrap();
    let parsed = String::from_utf8(parsed.stdout).unwrap();
    let (format, size) = parsed.trim().split_once(' ').unwrap();
    (format.to_owned(), size.parse().unwrap())
}
