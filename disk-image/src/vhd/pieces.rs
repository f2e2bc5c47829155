//! A dynamic VHD read as it streams (XAPI's `/export_raw_vdi?format=vhd`), front to back,
//! in one pass and bounded memory, turned into the disk's [`Piece`]s. Nothing is sought and
//! nothing is held but one block.
//!
//! Blocks are read in the order they appear in the stream, which need not be the disk's
//! order (the consumer takes writes at any offset). A BAT entry that points behind the
//! stream's position cannot be read in one pass and fails. Unallocated blocks become zero
//! ranges without a byte read for them; in an allocated block, sectors whose bitmap bit is
//! clear, and all-zero runs of [`ZERO_GRANULE`](crate::pieces::ZERO_GRANULE), become zero
//! ranges too. Every byte also goes through [`VhdCheck`], which checks the footer at the
//! end (a cut stream fails) and every BAT entry against the file's end.

use std::io::{self, Read, Write};

use super::VhdCheck;
use crate::error::DiskImageError;
use crate::pieces::{Piece, PieceError, split};

/// The largest block size accepted (the specification's default is 2 MiB; XAPI uses it).
const MAX_BLOCK: u64 = 32 << 20;
/// The most BAT entries accepted (a 2040 GiB disk of 2 MiB blocks has about a million).
const MAX_ENTRIES: u64 = 4 << 20;
const SECTOR: u64 = 512;

/// What a stream held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VhdSummary {
    /// The disk's virtual size.
    pub size: u64,
    /// The stream's length.
    pub stream_bytes: u64,
    /// Allocated blocks.
    pub blocks: u64,
}

/// The stream, with its position, every byte also fed to the check.
struct Stream<R> {
    reader: R,
    check: VhdCheck,
    position: u64,
    name: String,
}

impl<R: Read> Stream<R> {
    fn problem(&self, problem: String) -> DiskImageError {
        DiskImageError::format(format!("`{}`", self.name), problem)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), DiskImageError> {
        let at = self.position;
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                self.problem(format!(
                    "ends within the {} bytes from byte {at}: the stream was cut",
                    buf.len()
                ))
            } else {
                DiskImageError::io(format!("reading `{}` at byte {at}", self.name), e)
            }
        })?;
        self.check
            .write_all(buf)
            .map_err(|e| self.problem(format!("at byte {at}: not a VHD this can read: {e}")))?;
        self.position += buf.len() as u64;
        Ok(())
    }

    /// Skips to `to`, reading (and checking) what lies between.
    fn skip_to(&mut self, to: u64, scratch: &mut [u8]) -> Result<(), DiskImageError> {
        while self.position < to {
            let n = scratch
                .len()
                .min(usize::try_from(to - self.position).unwrap_or(usize::MAX));
            self.read_exact(&mut scratch[..n])?;
        }
        Ok(())
    }

    /// Reads to the end (the footer).
    fn drain(&mut self, scratch: &mut [u8]) -> Result<(), DiskImageError> {
        loop {
            let n = match self.reader.read(scratch) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(DiskImageError::io(
                        format!("reading `{}` at byte {}", self.name, self.position),
                        e,
                    ));
                }
            };
            self.check
                .write_all(&scratch[..n])
                .map_err(|e| self.problem(e.to_string()))?;
            self.position += n as u64;
        }
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn be_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// What the head of a dynamic VHD says.
struct Layout {
    size: u64,
    table_offset: u64,
    block_size: u64,
    /// BAT entries the disk needs.
    needed: u64,
}

/// Reads and checks the footer copy and the dynamic header.
fn read_head<R: Read>(stream: &mut Stream<R>) -> Result<Layout, DiskImageError> {
    let mut head = [0u8; 1536];
    stream.read_exact(&mut head)?;
    let ensure = |ok: bool, problem: String| {
        if ok {
            Ok(())
        } else {
            Err(stream.problem(problem))
        }
    };
    ensure(
        &head[..8] == b"conectix",
        "does not start with a VHD footer copy: only dynamic VHDs stream (a fixed VHD has its \
         footer at the end only)"
            .to_owned(),
    )?;
    let disk_type = be_u32(&head, 60);
    ensure(
        disk_type == 3,
        format!("is a VHD of disk type {disk_type}, not a dynamic one (3)"),
    )?;
    let size = be_u64(&head, 48);
    let data_offset = be_u64(&head, 16);
    ensure(
        data_offset == 512 && &head[512..520] == b"cxsparse",
        "the dynamic header is not right after the footer copy".to_owned(),
    )?;
    let table_offset = be_u64(&head, 512 + 16);
    let entries = u64::from(be_u32(&head, 512 + 28));
    let block_size = u64::from(be_u32(&head, 512 + 32));
    ensure(
        block_size >= SECTOR && block_size.is_multiple_of(SECTOR) && block_size <= MAX_BLOCK,
        format!("block size {block_size} is not a multiple of 512 up to {MAX_BLOCK}"),
    )?;
    ensure(
        size.is_multiple_of(SECTOR),
        format!("virtual size {size} is not whole sectors"),
    )?;
    let needed = size.div_ceil(block_size);
    ensure(
        needed <= entries && entries <= MAX_ENTRIES,
        format!("the BAT has {entries} entries, the disk needs {needed}"),
    )?;
    ensure(
        table_offset >= 1536,
        format!("the BAT at byte {table_offset} overlaps the headers"),
    )?;
    Ok(Layout {
        size,
        table_offset,
        block_size,
        needed,
    })
}

/// Hands the unallocated runs to the sink as zero ranges; returns the allocated blocks as
/// (byte offset in the stream, block index), in stream order.
fn unallocated<E>(
    layout: &Layout,
    bat: &[u8],
    sink: &mut dyn FnMut(Piece) -> Result<(), E>,
) -> Result<Vec<(u64, u64)>, E> {
    let mut allocated: Vec<(u64, u64)> = Vec::new();
    let mut zero_run: Option<(u64, u64)> = None;
    for index in 0..layout.needed {
        let entry = be_u32(bat, usize::try_from(index * 4).expect("a small BAT"));
        let start = index * layout.block_size;
        let end = start + layout.block_size.min(layout.size - start);
        if entry != u32::MAX {
            allocated.push((u64::from(entry) * SECTOR, index));
            continue;
        }
        match &mut zero_run {
            Some((_, to)) if *to == start => *to = end,
            run => {
                if let Some((from, to)) = run.replace((start, end)) {
                    sink(Piece::Zero {
                        offset: from,
                        len: to - from,
                    })?;
                }
            }
        }
    }
    if let Some((from, to)) = zero_run {
        sink(Piece::Zero {
            offset: from,
            len: to - from,
        })?;
    }
    allocated.sort_unstable();
    Ok(allocated)
}

/// Reads a dynamic VHD from `reader` (called `name` in messages) to its end, handing every
/// piece of the disk to `sink` (each byte of the virtual size exactly once, as data or as
/// zeros). Fails on anything but a whole, valid dynamic VHD; a failure of the sink stops
/// the read and comes back as [`PieceError::Sink`].
pub fn read_dynamic_pieces<E>(
    reader: impl Read,
    name: &str,
    sink: &mut dyn FnMut(Piece) -> Result<(), E>,
) -> Result<VhdSummary, PieceError<E>> {
    let mut stream = Stream {
        reader,
        check: VhdCheck::new(name),
        position: 0,
        name: name.to_owned(),
    };
    let layout = read_head(&mut stream)?;
    let mut scratch = vec![0u8; 1 << 20];
    stream.skip_to(layout.table_offset, &mut scratch)?;
    let mut bat = vec![0u8; usize::try_from(layout.needed * 4).expect("a small BAT")];
    stream.read_exact(&mut bat)?;
    let allocated = unallocated(&layout, &bat, sink).map_err(PieceError::Sink)?;
    let (size, block_size) = (layout.size, layout.block_size);
    let bitmap_len = (block_size / SECTOR).div_ceil(8).div_ceil(SECTOR) * SECTOR;
    let mut bitmap = vec![0u8; usize::try_from(bitmap_len).expect("a small bitmap")];
    let mut block = vec![0u8; usize::try_from(block_size).expect("a small block")];
    for (at, index) in &allocated {
        if *at < stream.position {
            return Err(PieceError::Source(stream.problem(format!(
                "block {index} is at byte {at}, before byte {} already read: its blocks \
                 overlap or go backwards, which one pass cannot read",
                stream.position
            ))));
        }
        stream.skip_to(*at, &mut scratch)?;
        stream.read_exact(&mut bitmap)?;
        let start = index * block_size;
        let len = usize::try_from(block_size.min(size - start)).expect("a small block");
        let data = &mut block[..len];
        stream.read_exact(data)?;
        for (sector, chunk) in data.chunks_mut(SECTOR as usize).enumerate() {
            if bitmap[sector / 8] & (0x80 >> (sector % 8)) == 0 {
                chunk.fill(0);
            }
        }
        split(start, data, sink).map_err(PieceError::Sink)?;
    }
    stream.drain(&mut scratch)?;
    let stream_bytes = stream.position;
    let name = stream.name.clone();
    let checked = stream.check.finish()?;
    if checked != size {
        return Err(PieceError::Source(DiskImageError::format(
            format!("`{name}`"),
            format!("the footer gives {checked} bytes, the footer copy {size}"),
        )));
    }
    Ok(VhdSummary {
        size,
        stream_bytes,
        blocks: allocated.len() as u64,
    })
}

#[cfg(test)]
mod tests;
