//! VHD files as [`DiskSink`]s: dynamic (blocks allocated as data arrives) and fixed.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::check_size;
use super::footer::{Footer, NO_DATA_OFFSET, VhdKind};
use super::header::{BITMAP_LEN, BLOCK_SIZE, DynamicLayout, HEADER_OFFSET, UNALLOCATED, bat_entry};
use crate::error::{DiskImageError, IoContext, Result};
use crate::sink::{DiskSink, RawFileSink};
use crate::zero::is_zero;

/// A dynamic (sparse) VHD written into a file; see the layout in [`crate::vhd`].
///
/// A 2 MiB block is allocated (appended after the previous one, its bitmap all set) when the
/// first non-zero byte for it arrives; blocks never given data stay unallocated. Data goes
/// straight to its place in the file (nothing is buffered) and zero 4 KiB runs stay holes.
/// The BAT is kept in memory (4 bytes per block) and written by [`DiskSink::finish`] with
/// the header and both footers.
pub struct DynamicVhdSink<'a> {
    file: &'a File,
    data: RawFileSink<'a>,
    name: String,
    layout: DynamicLayout,
    footer: Footer,
    bat: Vec<u32>,
    /// Where the next allocated block goes.
    end: u64,
}

impl<'a> DynamicVhdSink<'a> {
    /// Writes a dynamic VHD of a disk of `size` bytes (a multiple of 512, at most 2040 GiB)
    /// into `file`, which must be an empty regular file; `name` is used in messages.
    pub fn new(file: &'a File, name: impl Into<String>, size: u64) -> Result<Self> {
        let name = name.into();
        check_size(&name, size)?;
        check_empty(file, &name)?;
        let layout = DynamicLayout::new(size);
        Ok(DynamicVhdSink {
            file,
            data: RawFileSink::new(file, name.clone()),
            layout,
            footer: Footer::new(VhdKind::Dynamic, size, HEADER_OFFSET),
            bat: vec![UNALLOCATED; layout.blocks as usize],
            end: layout.first_block_offset(),
            name,
        })
    }

    /// Number of blocks allocated so far.
    pub fn allocated_blocks(&self) -> u64 {
        self.bat.iter().filter(|e| **e != UNALLOCATED).count() as u64
    }

    /// Allocates block `index` at the end of the file: writes its full bitmap.
    fn allocate(&mut self, index: usize) -> Result<u64> {
        static FULL_BITMAP: [u8; BITMAP_LEN as usize] = [0xFF; BITMAP_LEN as usize];
        let at = self.end;
        self.file.write_all_at(&FULL_BITMAP, at).context(|| {
            format!(
                "writing the bitmap of block {index} of `{}` at offset {at}",
                self.name
            )
        })?;
        self.bat[index] = bat_entry(at);
        self.end += DynamicLayout::block_len();
        Ok(at)
    }
}

impl DiskSink for DynamicVhdSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        check_inside(&self.name, self.layout.size, offset, data.len())?;
        let mut done = 0;
        while done < data.len() {
            let position = offset + done as u64;
            let index = (position / BLOCK_SIZE) as usize;
            let within = position % BLOCK_SIZE;
            let len = (BLOCK_SIZE - within).min((data.len() - done) as u64) as usize;
            let piece = &data[done..done + len];
            done += len;
            let block = match self.bat[index] {
                UNALLOCATED if is_zero(piece) => continue,
                UNALLOCATED => self.allocate(index)?,
                sector => u64::from(sector) * 512,
            };
            self.data.write_at(block + BITMAP_LEN + within, piece)?;
        }
        Ok(())
    }

    fn finish(&mut self, size: u64) -> Result<()> {
        check_finish_size(&self.name, self.layout.size, size)?;
        let head = self.layout.encode_head(&self.footer, &self.bat);
        self.file
            .write_all_at(&head, 0)
            .context(|| format!("writing the header and BAT of `{}`", self.name))?;
        let end = self.end;
        self.file
            .write_all_at(&self.footer.encode(), end)
            .context(|| format!("writing the footer of `{}` at offset {end}", self.name))?;
        tracing::debug!(
            vhd = %self.name,
            size,
            blocks = self.bat.len(),
            allocated = self.allocated_blocks(),
            "dynamic VHD written"
        );
        Ok(())
    }
}

/// A fixed VHD written into a file: the disk's bytes (zero 4 KiB runs left as holes), then
/// the footer at offset `size`.
pub struct FixedVhdSink<'a> {
    file: &'a File,
    data: RawFileSink<'a>,
    name: String,
    size: u64,
}

impl<'a> FixedVhdSink<'a> {
    /// Writes a fixed VHD of a disk of `size` bytes (a multiple of 512, at most 2040 GiB)
    /// into `file`, which must be an empty regular file; `name` is used in messages.
    pub fn new(file: &'a File, name: impl Into<String>, size: u64) -> Result<Self> {
        let name = name.into();
        check_size(&name, size)?;
        check_empty(file, &name)?;
        Ok(FixedVhdSink {
            file,
            data: RawFileSink::new(file, name.clone()),
            name,
            size,
        })
    }
}

impl DiskSink for FixedVhdSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        check_inside(&self.name, self.size, offset, data.len())?;
        self.data.write_at(offset, data)
    }

    fn finish(&mut self, size: u64) -> Result<()> {
        check_finish_size(&self.name, self.size, size)?;
        let footer = Footer::new(VhdKind::Fixed, size, NO_DATA_OFFSET);
        self.file
            .write_all_at(&footer.encode(), size)
            .context(|| format!("writing the footer of `{}` at offset {size}", self.name))
    }
}

/// Refuses a file that already holds bytes: its old contents would show through the holes.
fn check_empty(file: &File, name: &str) -> Result<()> {
    let len = file
        .metadata()
        .context(|| format!("reading the metadata of `{name}`"))?
        .len();
    if len != 0 {
        return Err(DiskImageError::Invalid(format!(
            "`{name}` already holds {len} bytes: a VHD is written into an empty file"
        )));
    }
    Ok(())
}

fn check_inside(name: &str, size: u64, offset: u64, len: usize) -> Result<()> {
    if offset.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(DiskImageError::Invalid(format!(
            "`{name}`: {len} bytes at offset {offset} go past the end of the {size}-byte disk"
        )));
    }
    Ok(())
}

fn check_finish_size(name: &str, expected: u64, size: u64) -> Result<()> {
    if size != expected {
        return Err(DiskImageError::Invalid(format!(
            "`{name}` was started as a {expected}-byte disk but finished as {size} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_sink_allocates_only_blocks_with_data() {
        let file = tempfile::tempfile().unwrap();
        let size = 5 << 20;
        let mut sink = DynamicVhdSink::new(&file, "test.vhd", size).unwrap();
        sink.write_at(0, &vec![0; 1 << 20]).unwrap();
        sink.write_at(3 << 20, &[7; 4096]).unwrap();
        sink.write_at((4 << 20) + 512, &[0; 512]).unwrap();
        sink.finish(size).unwrap();
        assert_eq!(sink.allocated_blocks(), 1);
        let layout = DynamicLayout::new(size);
        assert_eq!(file.metadata().unwrap().len(), layout.file_len(1));
        let block = layout.first_block_offset();
        let mut bytes = [0u8; 4];
        file.read_exact_at(&mut bytes, 1536 + 4).unwrap();
        assert_eq!(u32::from_be_bytes(bytes), bat_entry(block));
        file.read_exact_at(&mut bytes, block + BITMAP_LEN + (1 << 20))
            .unwrap();
        assert_eq!(bytes, [7; 4]);
    }

    #[test]
    fn sinks_refuse_bad_sizes_and_writes() {
        let file = tempfile::tempfile().unwrap();
        assert!(DynamicVhdSink::new(&file, "odd.vhd", 1000).is_err());
        let mut sink = FixedVhdSink::new(&file, "f.vhd", 4096).unwrap();
        let err = sink.write_at(4000, &[1; 512]).unwrap_err().to_string();
        assert!(
            err.contains("f.vhd") && err.contains("past the end"),
            "{err}"
        );
        let err = sink.finish(8192).unwrap_err().to_string();
        assert!(err.contains("f.vhd") && err.contains("8192"), "{err}");

        file.write_all_at(b"old", 0).unwrap();
        let err = DynamicVhdSink::new(&file, "used.vhd", 4096)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("used.vhd") && err.contains("empty"), "{err}");
    }

    #[test]
    fn fixed_sink_puts_the_footer_at_the_size() {
        let file = tempfile::tempfile().unwrap();
        let mut sink = FixedVhdSink::new(&file, "f.vhd", 8192).unwrap();
        sink.write_at(512, &[3; 512]).unwrap();
        sink.finish(8192).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 8192 + 512);
        let mut footer = [0u8; 512];
        file.read_exact_at(&mut footer, 8192).unwrap();
        let footer = Footer::decode(&footer).unwrap();
        assert_eq!((footer.kind, footer.current_size), (VhdKind::Fixed, 8192));
    }
}
