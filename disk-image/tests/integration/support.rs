//! Shared by the integration tests: test images of chosen shapes, and external tools that
//! fail the test with an install hint when missing.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use disk_image::{FileDisk, RandomAccessDisk};

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// A test disk: its size, the extents holding pseudo-random data, and extents of zeros
/// written explicitly (allocated in the file, unlike holes).
pub struct Shape {
    pub size: u64,
    pub data: &'static [(u64, u64)],
    pub written_zeros: &'static [(u64, u64)],
}

/// The shapes every format must round-trip: tiny, not a multiple of 1 MiB, fully zero,
/// fully random, sparse with data at both ends, and sparse over 4 GiB with little data.
pub const SHAPES: &[(&str, Shape)] = &[
    (
        "tiny",
        Shape {
            size: 512,
            data: &[(0, 512)],
            written_zeros: &[],
        },
    ),
    (
        "mib-and-a-sector",
        Shape {
            size: MIB + 512,
            data: &[(0, MIB + 512)],
            written_zeros: &[],
        },
    ),
    (
        "odd-size",
        Shape {
            size: 7 * MIB + 1536,
            data: &[
                (0, 3 * MIB + 512),
                (4 * MIB + 8192, 4096),
                (5 * MIB + 1000, 24),
                (7 * MIB, 1536),
            ],
            written_zeros: &[(3 * MIB + 512, 512 * 1024)],
        },
    ),
    (
        "fully-zero",
        Shape {
            size: 8 * MIB,
            data: &[],
            written_zeros: &[(MIB, 3 * MIB)],
        },
    ),
    (
        "fully-random",
        Shape {
            size: 9 * MIB,
            data: &[(0, 9 * MIB)],
            written_zeros: &[],
        },
    ),
    (
        "sparse-both-ends",
        Shape {
            size: 64 * MIB,
            data: &[(0, 4096), (64 * MIB - 4096, 4096)],
            written_zeros: &[],
        },
    ),
    (
        "sparse-over-4gib",
        Shape {
            size: 5 * GIB + 3 * MIB,
            data: &[(0, MIB), (4 * GIB + 7, 100), (5 * GIB + 3 * MIB - 512, 512)],
            written_zeros: &[],
        },
    ),
];

/// Deterministic pseudo-random bytes: xorshift64.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Writes a raw image of `shape`: holes, explicitly written zeros, pseudo-random data.
pub fn make_raw(path: &Path, shape: &Shape) {
    let file = File::create(path).unwrap();
    file.set_len(shape.size).unwrap();
    for &(start, len) in shape.written_zeros {
        file.write_all_at(&vec![0; len as usize], start).unwrap();
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ shape.size);
    for &(start, len) in shape.data {
        let mut buf = vec![0; len as usize];
        rng.fill(&mut buf);
        file.write_all_at(&buf, start).unwrap();
    }
    file.sync_all().unwrap();
}

/// Asserts that two files have the same length and bytes. Only the ranges where either file
/// holds data are read (elsewhere both are holes), so sparse giants compare quickly.
pub fn assert_same_bytes(a: &Path, b: &Path) {
    let (da, db) = (FileDisk::open(a).unwrap(), FileDisk::open(b).unwrap());
    assert_eq!(
        da.size(),
        db.size(),
        "{} and {} differ in length",
        a.display(),
        b.display()
    );
    let mut ranges: Vec<Range<u64>> = da.data_ranges().unwrap();
    ranges.extend(db.data_ranges().unwrap());
    let (mut ba, mut bb) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    for range in ranges {
        let mut offset = range.start;
        while offset < range.end {
            let n = MIB.min(range.end - offset) as usize;
            da.read_exact_at(&mut ba[..n], offset).unwrap();
            db.read_exact_at(&mut bb[..n], offset).unwrap();
            assert!(
                ba[..n] == bb[..n],
                "{} and {} differ near byte {offset}",
                a.display(),
                b.display()
            );
            offset += n as u64;
        }
    }
}

/// Runs `program`; fails with how to install it when it is missing.
pub fn run(program: &str, package: &str, args: &[&OsStr]) -> Output {
    let child = spawn(
        Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        program,
        package,
    );
    child.wait_with_output().unwrap()
}

/// Runs `program` and asserts it succeeded; returns its standard output.
#[cfg(feature = "xva")]
pub fn run_ok(program: &str, package: &str, args: &[&OsStr]) -> String {
    let output = run(program, package, args);
    assert!(
        output.status.success(),
        "`{program}` failed: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Spawns `command`, failing with an install hint when `program` is missing.
pub fn spawn(command: &mut Command, program: &str, package: &str) -> std::process::Child {
    match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            panic!("`{program}` is missing: install with: apt-get install {package}")
        }
        Err(e) => panic!("running `{program}`: {e}"),
    }
}

/// Standard output and error of a finished command.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
