//! Reading fixed and dynamic VHDs as [`RandomAccessDisk`]s, and telling VHDs from other files.

use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::footer::{FOOTER_LEN, Footer, VhdKind, has_cookie};
use super::header::{DynamicHeader, HEADER_LEN, UNALLOCATED, bitmap_len};
use crate::error::{DiskImageError, IoContext, Result, shown};
use crate::source::RandomAccessDisk;

/// The largest block size accepted (the specification's default is 2 MiB).
pub(crate) const MAX_BLOCK_SIZE: u64 = 256 << 20;
/// The most BAT entries held in memory (32 MiB; a 2040 GiB disk of 2 MiB blocks needs about
/// a million).
pub(crate) const MAX_BAT_ENTRIES: u64 = 8 << 20;

/// A fixed or dynamic VHD, read as the disk it holds.
///
/// Opening checks the footer (cookie, checksum, type), and for a dynamic VHD the dynamic
/// header (cookie, checksum, block size) and every BAT entry (its block must lie inside the
/// file). Differencing VHDs are refused. Reads of a dynamic VHD go through the BAT: blocks
/// not allocated, and sectors whose bitmap bit is clear, read as zeros.
pub struct VhdDisk {
    file: File,
    name: String,
    kind: VhdKind,
    size: u64,
    blocks: Option<Blocks>,
}

/// The block map of a dynamic VHD.
struct Blocks {
    block_size: u64,
    bitmap_len: u64,
    /// Sector number of each block's bitmap, or [`UNALLOCATED`].
    bat: Vec<u32>,
}

impl VhdDisk {
    /// Opens the VHD at `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).context(|| format!("opening {}", shown(path)))?;
        Self::from_file(file, path.display().to_string())
    }

    /// Reads the VHD in an already open `file`; `name` is used in messages.
    pub fn from_file(file: File, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let len = file_len(&file, &name)?;
        let footer = read_footer(&file, &name, len)?;
        let footer_at = len - FOOTER_LEN as u64;
        let size = footer.current_size;
        let blocks = match footer.kind {
            VhdKind::Differencing => {
                return Err(DiskImageError::format(
                    format!("`{name}`, footer at byte {footer_at}"),
                    "differencing VHDs (disk type 4) are not supported: they hold only the \
                     changes against a parent VHD; merge the chain into one VHD first",
                ));
            }
            VhdKind::Fixed if size > footer_at => {
                return Err(DiskImageError::format(
                    format!("`{name}`, footer at byte {footer_at}"),
                    format!(
                        "the footer gives a size of {size} bytes but only {footer_at} bytes \
                         of data precede it: the file is truncated"
                    ),
                ));
            }
            VhdKind::Fixed => None,
            VhdKind::Dynamic => Some(Blocks::load(&file, &name, &footer, footer_at)?),
        };
        Ok(VhdDisk {
            file,
            name,
            kind: footer.kind,
            size,
            blocks,
        })
    }

    /// Fixed or dynamic.
    pub fn kind(&self) -> VhdKind {
        self.kind
    }
}

impl RandomAccessDisk for VhdDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.size)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} bytes at offset {offset} are past the end of `{}` ({} bytes)",
                    buf.len(),
                    self.name,
                    self.size
                ),
            ));
        }
        match &self.blocks {
            None => self.file.read_exact_at(buf, offset),
            Some(blocks) => blocks.read(&self.file, buf, offset),
        }
    }

    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        let Some(blocks) = &self.blocks else {
            // A fixed VHD is raw data, then the footer: the file's own holes, clipped before
            // the footer.
            return crate::source::seek_data_ranges(&self.file, self.size);
        };
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for (index, _) in blocks
            .bat
            .iter()
            .enumerate()
            .filter(|(_, e)| **e != UNALLOCATED)
        {
            let start = index as u64 * blocks.block_size;
            let end = (start + blocks.block_size).min(self.size);
            match ranges.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => ranges.push(start..end),
            }
        }
        Ok(ranges)
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl fmt::Debug for VhdDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VhdDisk")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Blocks {
    /// Reads and checks the dynamic header and the BAT of a dynamic VHD.
    fn load(file: &File, name: &str, footer: &Footer, footer_at: u64) -> Result<Self> {
        let size = footer.current_size;
        let header_at = footer.data_offset;
        if header_at
            .checked_add(HEADER_LEN as u64)
            .is_none_or(|end| end > footer_at)
        {
            return Err(DiskImageError::format(
                format!("`{name}`, footer at byte {footer_at}"),
                format!("the dynamic header offset {header_at} is outside the file"),
            ));
        }
        let location = format!("`{name}`, dynamic header at byte {header_at}");
        let mut bytes = [0u8; HEADER_LEN];
        file.read_exact_at(&mut bytes, header_at)
            .context(|| format!("reading the dynamic header of `{name}` at byte {header_at}"))?;
        let header =
            DynamicHeader::decode(&bytes).map_err(|p| DiskImageError::format(&location, p))?;

        let block_size = u64::from(header.block_size);
        if block_size == 0 || !block_size.is_multiple_of(512) || block_size > MAX_BLOCK_SIZE {
            return Err(DiskImageError::format(
                location,
                format!(
                    "block size {block_size} is not a multiple of 512 between 512 and \
                     {MAX_BLOCK_SIZE} bytes"
                ),
            ));
        }
        let needed = size.div_ceil(block_size);
        if needed > u64::from(header.max_table_entries) {
            return Err(DiskImageError::format(
                location,
                format!(
                    "the BAT has {} entries but a disk of {size} bytes needs {needed} blocks \
                     of {block_size} bytes",
                    header.max_table_entries
                ),
            ));
        }
        if needed > MAX_BAT_ENTRIES {
            return Err(DiskImageError::format(
                location,
                format!("{needed} blocks of {block_size} bytes are more than {MAX_BAT_ENTRIES}"),
            ));
        }
        let bat_at = header.table_offset;
        let bat_len = needed * 4;
        if bat_at
            .checked_add(bat_len)
            .is_none_or(|end| end > footer_at)
        {
            return Err(DiskImageError::format(
                location,
                format!(
                    "the BAT ({bat_len} bytes at byte {bat_at}) goes past the last block \
                     (the footer is at byte {footer_at})"
                ),
            ));
        }
        let mut raw = vec![0u8; bat_len as usize];
        file.read_exact_at(&mut raw, bat_at)
            .context(|| format!("reading the BAT of `{name}` at byte {bat_at}"))?;
        let bat: Vec<u32> = raw
            .chunks_exact(4)
            .map(|e| u32::from_be_bytes(e.try_into().expect("4 bytes")))
            .collect();

        let blocks = Blocks {
            block_size,
            bitmap_len: bitmap_len(block_size),
            bat,
        };
        blocks.check_entries(name, size, bat_at, footer_at)?;
        Ok(blocks)
    }

    /// Every allocated block (its bitmap and its data up to the disk's end) must lie before
    /// the footer.
    fn check_entries(&self, name: &str, size: u64, bat_at: u64, footer_at: u64) -> Result<()> {
        for (index, entry) in self.bat.iter().enumerate() {
            if *entry == UNALLOCATED {
                continue;
            }
            let start = u64::from(*entry) * 512;
            let data = self.block_size.min(size - index as u64 * self.block_size);
            let end = start + self.bitmap_len + data;
            if end > footer_at {
                return Err(DiskImageError::format(
                    format!(
                        "`{name}`, BAT entry {index} at byte {}",
                        bat_at + index as u64 * 4
                    ),
                    format!(
                        "block {index} at byte {start} ends at byte {end}, past the last block \
                         (the footer is at byte {footer_at}): the file is truncated or the BAT \
                         is corrupt"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` of the disk (inside its size) through the BAT.
    fn read(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let position = offset + done as u64;
            let index = (position / self.block_size) as usize;
            let within = position % self.block_size;
            let len = (self.block_size - within).min((buf.len() - done) as u64) as usize;
            let out = &mut buf[done..done + len];
            match self.bat[index] {
                UNALLOCATED => out.fill(0),
                sector => self.read_block(file, u64::from(sector) * 512, within, out)?,
            }
            done += len;
        }
        Ok(())
    }

    /// Reads `out.len()` bytes at `within` of the block whose bitmap starts at byte `start`
    /// of the file; sectors whose bitmap bit is clear read as zeros.
    fn read_block(&self, file: &File, start: u64, within: u64, out: &mut [u8]) -> io::Result<()> {
        let end = within + out.len() as u64;
        let sectors = within / 512..end.div_ceil(512);
        let first_byte = sectors.start / 8;
        let mut bitmap = vec![0u8; ((sectors.end - 1) / 8 - first_byte + 1) as usize];
        file.read_exact_at(&mut bitmap, start + first_byte)?;
        let stored =
            |sector: u64| bitmap[(sector / 8 - first_byte) as usize] & (0x80 >> (sector % 8)) != 0;
        let stored_count = sectors.clone().filter(|s| stored(*s)).count() as u64;
        if stored_count == 0 {
            out.fill(0);
            return Ok(());
        }
        file.read_exact_at(out, start + self.bitmap_len + within)?;
        if stored_count < sectors.end - sectors.start {
            for sector in sectors.filter(|s| !stored(*s)) {
                let from = (sector * 512).max(within) - within;
                let to = ((sector + 1) * 512).min(end) - within;
                out[from as usize..to as usize].fill(0);
            }
        }
        Ok(())
    }
}

/// Tells whether the file at `path` is a VHD, by the footer at its end: `None` for any other
/// file, the VHD's type for a VHD. A file with a damaged footer but a VHD cookie (at its end,
/// or at its start as dynamic VHDs have) is an error rather than `None`, so that a broken
/// VHD is never taken for a raw disk.
pub fn probe(path: impl AsRef<Path>) -> Result<Option<VhdKind>> {
    let path = path.as_ref();
    let file = File::open(path).context(|| format!("opening {}", shown(path)))?;
    let name = path.display().to_string();
    let len = file_len(&file, &name)?;
    if len < FOOTER_LEN as u64 {
        return Ok(None);
    }
    let mut cookie = [0u8; 8];
    file.read_exact_at(&mut cookie, len - FOOTER_LEN as u64)
        .context(|| format!("reading the end of `{name}`"))?;
    if !has_cookie(&cookie) {
        file.read_exact_at(&mut cookie, 0)
            .context(|| format!("reading the start of `{name}`"))?;
        if !has_cookie(&cookie) {
            return Ok(None);
        }
    }
    Ok(Some(read_footer(&file, &name, len)?.kind))
}

/// Length of a file or block device.
fn file_len(mut file: &File, name: &str) -> Result<u64> {
    file.seek(SeekFrom::End(0))
        .context(|| format!("finding the size of `{name}`"))
}

/// Reads and checks the footer at the end of a file of `len` bytes.
fn read_footer(file: &File, name: &str, len: u64) -> Result<Footer> {
    let Some(footer_at) = len.checked_sub(FOOTER_LEN as u64) else {
        return Err(DiskImageError::format(
            format!("`{name}`"),
            format!("{len} bytes are too few for a VHD, whose footer alone is 512 bytes"),
        ));
    };
    let location = format!("`{name}`, footer at byte {footer_at}");
    let mut bytes = [0u8; FOOTER_LEN];
    file.read_exact_at(&mut bytes, footer_at)
        .context(|| format!("reading the footer of `{name}` at byte {footer_at}"))?;
    Footer::decode(&bytes).map_err(|problem| {
        let mut start = [0u8; 8];
        let copy_at_start = !has_cookie(&bytes)
            && footer_at > 0
            && file.read_exact_at(&mut start, 0).is_ok()
            && has_cookie(&start);
        if copy_at_start {
            DiskImageError::format(
                location,
                format!(
                    "{problem}, although the file starts with a footer copy: the dynamic VHD \
                     is truncated or its end is damaged"
                ),
            )
        } else {
            DiskImageError::format(location, problem)
        }
    })
}
