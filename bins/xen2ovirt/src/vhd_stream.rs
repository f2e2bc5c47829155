//! A dynamic VHD read as it streams (XAPI's `/export_raw_vdi?format=vhd`), front to back,
//! in one pass and bounded memory, turned into the disk's pieces: data at an offset, or a
//! zero range. Nothing is sought and nothing is held but one block.
//!
//! Layout (see `disk_image::vhd`): footer copy (512 bytes), dynamic header (1024), the BAT
//! (one big-endian `u32` sector number per block, `0xFFFFFFFF` = not allocated), then the
//! allocated blocks (a sector bitmap, then the block's data) at the sectors the BAT names,
//! then the footer. Blocks are read in the order they appear in the stream, which need not
//! be the disk's order: imageio takes writes at any offset. A BAT entry that points behind
//! the stream's position cannot be read in one pass and fails.
//!
//! Unallocated blocks become zero ranges without a byte read for them; in an allocated
//! block, sectors whose bitmap bit is clear, and all-zero runs of [`ZERO_GRANULE`], become
//! zero ranges too. Every byte also goes through `disk_image::vhd::VhdCheck`, which checks
//! the footer at the end (a cut stream fails) and every BAT entry against the file's end.
//!
//! Why here and not in disk-image: disk-image reads VHDs from files (`VhdDisk`) and checks
//! streams (`VhdCheck`), but has no streaming reader yet; this one belongs there.

use std::io::{self, Read, Write};

use anyhow::{Context, Result, bail, ensure};
use disk_image::vhd::VhdCheck;

pub use disk_image::Piece;

/// All-zero runs of this size inside a block are sent as zero ranges.
pub const ZERO_GRANULE: usize = 64 << 10;
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
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let at = self.position;
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                anyhow::anyhow!(
                    "`{}` ends within the {} bytes from byte {at}: the stream was cut",
                    self.name,
                    buf.len()
                )
            } else {
                anyhow::Error::new(e).context(format!("reading `{}` at byte {at}", self.name))
            }
        })?;
        self.check.write_all(buf).map_err(|e| {
            anyhow::anyhow!(
                "`{}` at byte {at} is not a VHD this can read: {e}",
                self.name
            )
        })?;
        self.position += buf.len() as u64;
        Ok(())
    }

    /// Skips to `to`, reading (and checking) what lies between.
    fn skip_to(&mut self, to: u64, scratch: &mut [u8]) -> Result<()> {
        while self.position < to {
            let n = scratch.len().min((to - self.position) as usize);
            self.read_exact(&mut scratch[..n])?;
        }
        Ok(())
    }

    /// Reads to the end (the footer).
    fn drain(&mut self, scratch: &mut [u8]) -> Result<()> {
        loop {
            let n = match self.reader.read(scratch) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("reading `{}` at byte {}", self.name, self.position)));
                }
            };
            self.check
                .write_all(&scratch[..n])
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", self.name))?;
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
fn read_head<R: Read>(stream: &mut Stream<R>) -> Result<Layout> {
    let name = stream.name.clone();
    let mut head = [0u8; 1536];
    stream.read_exact(&mut head)?;
    ensure!(
        &head[..8] == b"conectix",
        "`{name}` does not start with a VHD footer copy: only dynamic VHDs stream (a fixed VHD \
         has its footer at the end only)"
    );
    let disk_type = be_u32(&head, 60);
    ensure!(
        disk_type == 3,
        "`{name}` is a VHD of disk type {disk_type}, not a dynamic one (3)"
    );
    let size = be_u64(&head, 48);
    let data_offset = be_u64(&head, 16);
    ensure!(
        data_offset == 512 && &head[512..520] == b"cxsparse",
        "`{name}`: the dynamic header is not right after the footer copy"
    );
    let table_offset = be_u64(&head, 512 + 16);
    let entries = u64::from(be_u32(&head, 512 + 28));
    let block_size = u64::from(be_u32(&head, 512 + 32));
    ensure!(
        block_size >= SECTOR && block_size.is_multiple_of(SECTOR) && block_size <= MAX_BLOCK,
        "`{name}`: block size {block_size} is not a multiple of 512 up to {MAX_BLOCK}"
    );
    ensure!(
        size.is_multiple_of(SECTOR),
        "`{name}`: virtual size {size} is not whole sectors"
    );
    let needed = size.div_ceil(block_size);
    ensure!(
        needed <= entries && entries <= MAX_ENTRIES,
        "`{name}`: the BAT has {entries} entries, the disk needs {needed}"
    );
    ensure!(
        table_offset >= 1536,
        "`{name}`: the BAT at byte {table_offset} overlaps the headers"
    );
    Ok(Layout {
        size,
        table_offset,
        block_size,
        needed,
    })
}

/// Hands the unallocated runs to the sink as zero ranges; returns the allocated blocks as
/// (byte offset in the stream, block index), in stream order.
fn unallocated(
    layout: &Layout,
    bat: &[u8],
    sink: &mut dyn FnMut(Piece) -> Result<()>,
) -> Result<Vec<(u64, u64)>> {
    let mut allocated: Vec<(u64, u64)> = Vec::new();
    let mut zero_run: Option<(u64, u64)> = None;
    for index in 0..layout.needed {
        let entry = be_u32(bat, (index * 4) as usize);
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
/// zeros). Fails on anything but a whole, valid dynamic VHD.
pub fn read_vhd(
    reader: impl Read,
    name: &str,
    sink: &mut dyn FnMut(Piece) -> Result<()>,
) -> Result<VhdSummary> {
    let mut stream = Stream {
        reader,
        check: VhdCheck::new(name),
        position: 0,
        name: name.to_owned(),
    };
    let layout = read_head(&mut stream)?;
    let mut scratch = vec![0u8; 1 << 20];
    stream.skip_to(layout.table_offset, &mut scratch)?;
    let mut bat = vec![0u8; (layout.needed * 4) as usize];
    stream.read_exact(&mut bat)?;
    let allocated = unallocated(&layout, &bat, sink)?;
    let (size, block_size) = (layout.size, layout.block_size);
    let bitmap_len = (block_size / SECTOR).div_ceil(8).div_ceil(SECTOR) * SECTOR;
    let mut bitmap = vec![0u8; bitmap_len as usize];
    let mut block = vec![0u8; block_size as usize];
    for (at, index) in &allocated {
        if *at < stream.position {
            bail!(
                "`{name}`: block {index} is at byte {at}, before byte {} already read: its \
                 blocks overlap or go backwards, which one pass cannot read",
                stream.position
            );
        }
        stream.skip_to(*at, &mut scratch)?;
        stream.read_exact(&mut bitmap)?;
        let start = index * block_size;
        let len = block_size.min(size - start) as usize;
        let data = &mut block[..len];
        stream.read_exact(data)?;
        for (sector, chunk) in data.chunks_mut(SECTOR as usize).enumerate() {
            if bitmap[sector / 8] & (0x80 >> (sector % 8)) == 0 {
                chunk.fill(0);
            }
        }
        split(start, data, sink)?;
    }
    stream.drain(&mut scratch)?;
    let stream_bytes = stream.position;
    let checked = stream
        .check
        .finish()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("checking `{name}` at its end"))?;
    ensure!(
        checked == size,
        "`{name}`: the footer gives {checked} bytes, the footer copy {size}"
    );
    Ok(VhdSummary {
        size,
        stream_bytes,
        blocks: allocated.len() as u64,
    })
}

/// Hands a block's bytes at `start` to the sink as data runs and all-zero runs.
pub fn split(start: u64, data: &[u8], sink: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
    let zero: Vec<bool> = data.chunks(ZERO_GRANULE).map(disk_image::is_zero).collect();
    let mut from = 0;
    while from < zero.len() {
        let mut to = from;
        while to < zero.len() && zero[to] == zero[from] {
            to += 1;
        }
        let (a, b) = (from * ZERO_GRANULE, (to * ZERO_GRANULE).min(data.len()));
        let offset = start + a as u64;
        sink(if zero[from] {
            Piece::Zero {
                offset,
                len: (b - a) as u64,
            }
        } else {
            Piece::Data {
                offset,
                bytes: data[a..b].to_vec(),
            }
        })?;
        from = to;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
