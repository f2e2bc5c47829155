//! VHDs streamed into any `Write` (an HTTP response body) in one pass, front to back.

use std::io::Write;
use std::ops::Range;

use super::check_size;
use super::footer::{Footer, NO_DATA_OFFSET, VhdKind};
use super::header::{BITMAP_LEN, BLOCK_SIZE, DynamicLayout, HEADER_OFFSET, UNALLOCATED, bat_entry};
use crate::error::{IoContext, Result};
use crate::progress::Progress;
use crate::source::RandomAccessDisk;

/// Bytes read from the disk and written out at a time.
const PIECE: usize = 1 << 20;

/// Streams `disk` as a dynamic VHD into `out` and returns the number of bytes written; see
/// [`DynamicVhd`], which also tells the length beforehand.
pub fn write_dynamic_vhd(
    disk: &dyn RandomAccessDisk,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<u64> {
    DynamicVhd::plan(disk)?.write(out, progress)
}

/// Streams `disk` as a fixed VHD into `out` (its bytes, then the footer) and returns the
/// number of bytes written: the disk's size plus 512. Ranges outside the disk's data ranges
/// are written as zeros without being read.
pub fn write_fixed_vhd(
    disk: &dyn RandomAccessDisk,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<u64> {
    let name = disk.name();
    let size = disk.size();
    check_size(&name, size)?;
    let ranges = disk
        .data_ranges()
        .context(|| format!("finding the data ranges of `{name}`"))?;
    let footer = Footer::new(VhdKind::Fixed, size, NO_DATA_OFFSET);
    let mut out = Counted::new(out, &name);

    progress.start(&name, size);
    let mut reader = RangeReader::new(disk, ranges);
    let mut buf = vec![0u8; PIECE];
    for piece in (0..size).step_by(PIECE) {
        let len = PIECE.min((size - piece) as usize);
        out.write(reader.piece(&mut buf, piece, len)?)?;
        progress.advance(len as u64);
    }
    out.write(&footer.encode())?;
    out.flush()?;
    progress.finish();
    Ok(out.written)
}

/// A disk planned as a streamed dynamic VHD: which blocks it stores and where, hence its
/// exact length (for a `Content-Length`) before a byte is written.
///
/// Which blocks are allocated is decided up front from [`RandomAccessDisk::data_ranges`]: a
/// block is stored if any data range touches it (its zeros included), so the header and the
/// BAT can go first. Then come the allocated blocks in order and the footer; see the layout
/// in [`crate::vhd`]. Only the parts of a block covered by data ranges are read.
pub struct DynamicVhd<'a> {
    disk: &'a dyn RandomAccessDisk,
    layout: DynamicLayout,
    bat: Vec<u32>,
    allocated: u64,
    ranges: Vec<Range<u64>>,
}

impl<'a> DynamicVhd<'a> {
    /// Plans `disk` (a size that is a multiple of 512, at most 2040 GiB).
    pub fn plan(disk: &'a dyn RandomAccessDisk) -> Result<Self> {
        let name = disk.name();
        let size = disk.size();
        check_size(&name, size)?;
        let ranges = disk
            .data_ranges()
            .context(|| format!("finding the data ranges of `{name}`"))?;
        let layout = DynamicLayout::new(size);
        let mut stored = vec![false; layout.blocks as usize];
        for range in &ranges {
            let end = range.end.min(size);
            if range.start < end {
                let blocks = range.start / BLOCK_SIZE..=(end - 1) / BLOCK_SIZE;
                stored[*blocks.start() as usize..=*blocks.end() as usize].fill(true);
            }
        }
        let mut next = layout.first_block_offset();
        let mut allocated = 0;
        let bat = stored
            .iter()
            .map(|stored| {
                if !*stored {
                    return UNALLOCATED;
                }
                let entry = bat_entry(next);
                next += DynamicLayout::block_len();
                allocated += 1;
                entry
            })
            .collect();
        Ok(DynamicVhd {
            disk,
            layout,
            bat,
            allocated,
            ranges,
        })
    }

    /// The exact number of bytes [`DynamicVhd::write`] produces.
    pub fn file_len(&self) -> u64 {
        self.layout.file_len(self.allocated)
    }

    /// Streams the VHD into `out`; returns the number of bytes written.
    pub fn write(self, out: &mut dyn Write, progress: &dyn Progress) -> Result<u64> {
        let file_len = self.file_len();
        let name = self.disk.name();
        let size = self.layout.size;
        let footer = Footer::new(VhdKind::Dynamic, size, HEADER_OFFSET);
        let mut out = Counted::new(out, &name);
        out.write(&self.layout.encode_head(&footer, &self.bat))?;

        progress.start(&name, size);
        let mut reader = RangeReader::new(self.disk, self.ranges);
        let mut buf = vec![0u8; PIECE];
        for (index, entry) in self.bat.iter().enumerate() {
            let start = index as u64 * BLOCK_SIZE;
            if *entry != UNALLOCATED {
                out.write(&[0xFF; BITMAP_LEN as usize])?;
                for piece in (start..start + BLOCK_SIZE).step_by(PIECE) {
                    out.write(reader.piece(&mut buf, piece, PIECE)?)?;
                }
            }
            progress.advance(BLOCK_SIZE.min(size - start));
        }
        out.write(&footer.encode())?;
        out.flush()?;
        progress.finish();
        debug_assert_eq!(out.written, file_len);
        Ok(out.written)
    }
}

/// Reads pieces of a disk at ascending offsets, reading only what its data ranges cover;
/// the rest, and anything past the disk's end, is zeros.
struct RangeReader<'a> {
    disk: &'a dyn RandomAccessDisk,
    ranges: Vec<Range<u64>>,
    /// The first range that may still overlap the next read.
    next: usize,
}

impl<'a> RangeReader<'a> {
    fn new(disk: &'a dyn RandomAccessDisk, ranges: Vec<Range<u64>>) -> Self {
        let size = disk.size();
        let ranges = ranges
            .into_iter()
            .map(|r| r.start..r.end.min(size))
            .filter(|r| r.start < r.end)
            .collect();
        RangeReader {
            disk,
            ranges,
            next: 0,
        }
    }

    /// The `len` (at most [`PIECE`]) bytes at `offset`: read into `buf`, or a shared zero
    /// piece when no data range touches them.
    fn piece<'b>(&mut self, buf: &'b mut [u8], offset: u64, len: usize) -> Result<&'b [u8]> {
        static ZEROS: [u8; PIECE] = [0; PIECE];
        let end = offset + len as u64;
        while self.ranges.get(self.next).is_some_and(|r| r.end <= offset) {
            self.next += 1;
        }
        if self.ranges.get(self.next).is_none_or(|r| r.start >= end) {
            return Ok(&ZEROS[..len]);
        }
        let buf = &mut buf[..len];
        self.read(buf, offset)?;
        Ok(buf)
    }

    /// Fills `buf` with the bytes at `offset`, reading only the data ranges.
    fn read(&mut self, buf: &mut [u8], offset: u64) -> Result<()> {
        let end = offset + buf.len() as u64;
        while self.ranges.get(self.next).is_some_and(|r| r.end <= offset) {
            self.next += 1;
        }
        let mut filled = offset;
        for range in self.ranges[self.next..]
            .iter()
            .take_while(|r| r.start < end)
        {
            let (from, to) = (range.start.max(filled), range.end.min(end));
            if from >= to {
                continue; // overlaps what an earlier range covered
            }
            buf[(filled - offset) as usize..(from - offset) as usize].fill(0);
            let part = &mut buf[(from - offset) as usize..(to - offset) as usize];
            self.disk
                .read_exact_at(part, from)
                .context(|| format!("reading `{}` at offset {from}", self.disk.name()))?;
            filled = to;
        }
        buf[(filled - offset) as usize..].fill(0);
        Ok(())
    }
}

/// The output, counting bytes so that errors can say where they happened.
struct Counted<'a> {
    out: &'a mut dyn Write,
    name: &'a str,
    written: u64,
}

impl<'a> Counted<'a> {
    fn new(out: &'a mut dyn Write, name: &'a str) -> Self {
        Counted {
            out,
            name,
            written: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let at = self.written;
        self.out
            .write_all(bytes)
            .context(|| format!("writing the VHD of `{}` at byte {at}", self.name))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .context(|| format!("flushing the VHD of `{}`", self.name))
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::super::footer::FOOTER_LEN;
    use super::*;

    /// A disk in memory with explicit data ranges.
    struct MemoryDisk {
        bytes: Vec<u8>,
        ranges: Vec<Range<u64>>,
    }

    impl RandomAccessDisk for MemoryDisk {
        fn size(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let at = offset as usize;
            buf.copy_from_slice(&self.bytes[at..at + buf.len()]);
            Ok(())
        }
        fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
            Ok(self.ranges.clone())
        }
        fn name(&self) -> String {
            "memory".to_owned()
        }
    }

    #[test]
    fn range_reader_reads_only_the_ranges() {
        let disk = MemoryDisk {
            bytes: (0..64u8).collect(),
            ranges: vec![2..4, 10..12, 30..100],
        };
        let mut reader = RangeReader::new(&disk, disk.ranges.clone());
        let mut buf = [9u8; 8];
        reader.read(&mut buf, 0).unwrap();
        assert_eq!(buf, [0, 0, 2, 3, 0, 0, 0, 0]);
        reader.read(&mut buf, 8).unwrap();
        assert_eq!(buf, [0, 0, 10, 11, 0, 0, 0, 0]);
        reader.read(&mut buf, 28).unwrap();
        assert_eq!(buf, [0, 0, 30, 31, 32, 33, 34, 35]);
        reader.read(&mut buf, 60).unwrap();
        assert_eq!(buf, [60, 61, 62, 63, 0, 0, 0, 0]);
    }

    #[test]
    fn streamed_length_matches_the_plan() {
        let mut bytes = vec![0u8; 5 << 20];
        bytes[100] = 1;
        bytes[(5 << 20) - 1] = 2;
        let disk = MemoryDisk {
            bytes,
            ranges: vec![0..4096, (5 << 20) - 4096..5 << 20],
        };
        let mut out = Vec::new();
        let written = write_dynamic_vhd(&disk, &mut out, &crate::NoProgress).unwrap();
        assert_eq!(written, out.len() as u64);
        assert_eq!(written, DynamicVhd::plan(&disk).unwrap().file_len());
        assert_eq!(written, DynamicLayout::new(5 << 20).file_len(2));
        let footer = Footer::decode(out[out.len() - FOOTER_LEN..].try_into().unwrap()).unwrap();
        assert_eq!(footer.current_size, 5 << 20);
        assert_eq!(&out[..FOOTER_LEN], &out[out.len() - FOOTER_LEN..]);

        let mut fixed = Vec::new();
        let written = write_fixed_vhd(&disk, &mut fixed, &crate::NoProgress).unwrap();
        assert_eq!(written, (5 << 20) + 512);
        assert_eq!(&fixed[..5 << 20], &disk.bytes[..]);
    }
}
