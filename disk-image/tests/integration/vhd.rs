//! VHD: raw -> VHD -> raw round trips through our sinks, streaming writers and reader,
//! checked by independent readers (`qemu-img`, `vhdiinfo`); VHDs written by qemu-img read
//! back; damaged VHDs refused with errors naming the file and the problem.

mod damaged;
mod reading;
mod round_trips;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use disk_image::vhd::DynamicVhdSink;
use disk_image::{DiskSink, RandomAccessDisk, is_zero};

use super::support::MIB;

/// The block size of the dynamic VHDs we write.
const BLOCK: u64 = 2 * MIB;

/// Starts (1 MiB aligned) of the 1 MiB chunks that `ranges` touch.
fn touched_chunks(ranges: &[Range<u64>]) -> BTreeSet<u64> {
    ranges
        .iter()
        .filter(|r| r.start < r.end)
        .flat_map(|r| (r.start / MIB..=(r.end - 1) / MIB).map(|c| c * MIB))
        .collect()
}

/// Drives `sink` the way a copy pipeline does: the source read 1 MiB at a time (where its
/// data ranges say there is data), non-zero chunks written.
fn copy(source: &dyn RandomAccessDisk, sink: &mut dyn DiskSink) {
    let mut buf = vec![0u8; MIB as usize];
    for chunk in touched_chunks(&source.data_ranges().unwrap()) {
        let buf = &mut buf[..MIB.min(source.size() - chunk) as usize];
        source.read_exact_at(buf, chunk).unwrap();
        if !is_zero(buf) {
            sink.write_at(chunk, buf).unwrap();
        }
    }
    sink.finish(source.size()).unwrap();
}

fn write_dynamic_sink(source: &dyn RandomAccessDisk, out: &Path) {
    let file = File::create(out).unwrap();
    copy(
        source,
        &mut DynamicVhdSink::new(&file, "d", source.size()).unwrap(),
    );
}

/// Asserts that two disks hold the same bytes, comparing every 1 MiB chunk that either's
/// data ranges touch (outside them, both read as zeros by contract).
fn assert_same(first: &dyn RandomAccessDisk, second: &dyn RandomAccessDisk) {
    let size = first.size();
    assert_eq!(size, second.size(), "{} vs {}", first.name(), second.name());
    let mut chunks = touched_chunks(&first.data_ranges().unwrap());
    chunks.extend(touched_chunks(&second.data_ranges().unwrap()));
    let mut left = vec![0u8; MIB as usize];
    let mut right = vec![0u8; MIB as usize];
    for chunk in chunks {
        let len = MIB.min(size - chunk) as usize;
        first.read_exact_at(&mut left[..len], chunk).unwrap();
        second.read_exact_at(&mut right[..len], chunk).unwrap();
        if left[..len] != right[..len] {
            let at = left.iter().zip(&right).position(|(p, q)| p != q).unwrap();
            let (a, b) = (first.name(), second.name());
            panic!("{a} and {b} differ at byte {}", chunk + at as u64);
        }
    }
}

/// Length of a file.
fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().size()
}
