//! Checking a VHD as its bytes stream past, without the file: what a backup tool needs for
//! a VHD it stores compressed (or is still receiving). The checks are those of
//! [`VhdDisk::open`](super::VhdDisk::open): the footer at the end (cookie, checksum,
//! type), and for a dynamic VHD the footer copy at the start, the dynamic header and every
//! BAT entry (its block must end before the footer). A stream that ends early — the
//! commonest damage — has no footer at its end and fails.

use std::io::{self, Write};

use super::VhdKind;
use super::footer::{FOOTER_LEN, Footer};
use super::header::{DynamicHeader, HEADER_LEN, UNALLOCATED, bitmap_len};
use super::reader::{MAX_BAT_ENTRIES, MAX_BLOCK_SIZE};
use crate::error::{DiskImageError, Result};

/// A streaming VHD check: write the VHD's bytes into it, in order, then
/// [`finish`](VhdCheck::finish) for the virtual size. Memory: the BAT (4 bytes per block).
///
/// ```
/// use std::io::Write;
/// use disk_image::vhd::{VhdCheck, write_dynamic_vhd};
/// use disk_image::{FileDisk, NoProgress, RandomAccessDisk};
///
/// let dir = tempfile::tempdir()?;
/// let raw = dir.path().join("disk.raw");
/// std::fs::write(&raw, vec![7u8; 3 << 20])?;
/// let mut vhd = Vec::new();
/// write_dynamic_vhd(&FileDisk::open(&raw)?, &mut vhd, &NoProgress)?;
///
/// let mut check = VhdCheck::new("disk.vhd");
/// check.write_all(&vhd)?;
/// assert_eq!(check.finish()?, 3 << 20);
///
/// let mut cut = VhdCheck::new("cut.vhd");
/// cut.write_all(&vhd[..vhd.len() - 4096])?;
/// assert!(cut.finish().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct VhdCheck {
    name: String,
    position: u64,
    /// The first bytes: the footer copy and the dynamic header of a dynamic VHD.
    head: Vec<u8>,
    /// The dynamic header, once the head holds it.
    dynamic: Option<Dynamic>,
    /// The last [`FOOTER_LEN`] bytes seen (fewer at first).
    tail: Vec<u8>,
}

/// What a dynamic VHD's head says, and its BAT as it arrives.
#[derive(Debug)]
struct Dynamic {
    footer: Footer,
    header: DynamicHeader,
    /// BAT entries the disk needs (the header may announce more).
    needed: u64,
    bat: Vec<u8>,
}

const HEAD_LEN: usize = FOOTER_LEN + HEADER_LEN;

impl VhdCheck {
    /// A check of the VHD called `name` in messages.
    pub fn new(name: impl Into<String>) -> Self {
        VhdCheck {
            name: name.into(),
            position: 0,
            head: Vec::with_capacity(HEAD_LEN),
            dynamic: None,
            tail: Vec::with_capacity(FOOTER_LEN),
        }
    }

    fn problem(&self, at: u64, what: impl Into<String>) -> DiskImageError {
        DiskImageError::format(format!("`{}`, byte {at}", self.name), what)
    }

    /// Takes the next bytes of the VHD.
    fn take(&mut self, buf: &[u8]) -> Result<()> {
        let start = self.position;
        if self.head.len() < HEAD_LEN {
            let n = (HEAD_LEN - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..n]);
            if self.head.len() == HEAD_LEN {
                self.dynamic = self.read_head()?;
            }
        }
        if let Some(dynamic) = &mut self.dynamic {
            let bat_at = dynamic.header.table_offset;
            let bat_len = dynamic.needed * 4;
            let end = start + buf.len() as u64;
            let have = bat_at + dynamic.bat.len() as u64;
            if have < bat_at + bat_len && end > have && have >= start {
                let from = (have - start) as usize;
                let to = ((bat_at + bat_len).min(end) - start) as usize;
                dynamic.bat.extend_from_slice(&buf[from..to]);
            }
        }
        if buf.len() >= FOOTER_LEN {
            self.tail.clear();
            self.tail.extend_from_slice(&buf[buf.len() - FOOTER_LEN..]);
        } else {
            self.tail.extend_from_slice(buf);
            let excess = self.tail.len().saturating_sub(FOOTER_LEN);
            self.tail.drain(..excess);
        }
        self.position += buf.len() as u64;
        Ok(())
    }

    /// The footer copy and dynamic header, when the VHD starts with them (a dynamic VHD);
    /// `None` for a fixed VHD, whose first bytes are data.
    fn read_head(&self) -> Result<Option<Dynamic>> {
        let copy: &[u8; FOOTER_LEN] = self.head[..FOOTER_LEN].try_into().expect("512 bytes");
        let Ok(footer) = Footer::decode(copy) else {
            return Ok(None);
        };
        match footer.kind {
            VhdKind::Fixed => return Ok(None),
            VhdKind::Differencing => {
                return Err(self.problem(0, "differencing VHDs (disk type 4) are not supported"));
            }
            VhdKind::Dynamic => {}
        }
        if footer.data_offset != FOOTER_LEN as u64 {
            return Err(self.problem(
                16,
                format!(
                    "the dynamic header is at byte {}, not right after the footer copy: a \
                     layout that cannot be checked as it streams",
                    footer.data_offset
                ),
            ));
        }
        let bytes: &[u8; HEADER_LEN] = self.head[FOOTER_LEN..].try_into().expect("1024 bytes");
        let header =
            DynamicHeader::decode(bytes).map_err(|p| self.problem(FOOTER_LEN as u64, p))?;
        let block_size = u64::from(header.block_size);
        if block_size == 0 || !block_size.is_multiple_of(512) || block_size > MAX_BLOCK_SIZE {
            return Err(self.problem(
                FOOTER_LEN as u64,
                format!("block size {block_size} is not a multiple of 512 up to {MAX_BLOCK_SIZE}"),
            ));
        }
        let needed = footer.current_size.div_ceil(block_size);
        if needed > u64::from(header.max_table_entries) || needed > MAX_BAT_ENTRIES {
            return Err(self.problem(
                FOOTER_LEN as u64,
                format!(
                    "the BAT has {} entries: a disk of {} bytes needs {needed} blocks",
                    header.max_table_entries, footer.current_size
                ),
            ));
        }
        if header.table_offset < HEAD_LEN as u64 {
            return Err(self.problem(
                FOOTER_LEN as u64,
                format!(
                    "the BAT at byte {} overlaps the headers",
                    header.table_offset
                ),
            ));
        }
        Ok(Some(Dynamic {
            footer,
            header,
            needed,
            bat: Vec::new(),
        }))
    }

    /// Ends the check: the VHD's virtual size, or what is wrong with it.
    pub fn finish(self) -> Result<u64> {
        let len = self.position;
        if self.tail.len() < FOOTER_LEN {
            return Err(self.problem(len, format!("{len} bytes are too few for a VHD")));
        }
        let footer_at = len - FOOTER_LEN as u64;
        let bytes: &[u8; FOOTER_LEN] = self.tail[..].try_into().expect("512 bytes");
        let footer = Footer::decode(bytes).map_err(|p| {
            self.problem(
                footer_at,
                format!("{p}: the VHD has no footer at its end (it is truncated?)"),
            )
        })?;
        match (&self.dynamic, footer.kind) {
            (None, VhdKind::Fixed) => {
                if footer.current_size > footer_at {
                    return Err(self.problem(
                        footer_at,
                        format!(
                            "the footer gives a size of {} bytes but only {footer_at} bytes of \
                             data precede it: the file is truncated",
                            footer.current_size
                        ),
                    ));
                }
                Ok(footer.current_size)
            }
            (Some(dynamic), VhdKind::Dynamic) => self.check_dynamic(dynamic, &footer, footer_at),
            (_, kind) => Err(self.problem(
                footer_at,
                format!("the footer at the end is of a {kind:?} VHD, its start is not"),
            )),
        }
    }

    fn check_dynamic(&self, dynamic: &Dynamic, footer: &Footer, footer_at: u64) -> Result<u64> {
        let size = footer.current_size;
        if size != dynamic.footer.current_size {
            return Err(self.problem(
                footer_at,
                format!(
                    "the footer gives {size} bytes, its copy at the start {}",
                    dynamic.footer.current_size
                ),
            ));
        }
        let block_size = u64::from(dynamic.header.block_size);
        let bat_at = dynamic.header.table_offset;
        let needed = size.div_ceil(block_size);
        if bat_at + needed * 4 > footer_at || (dynamic.bat.len() as u64) < needed * 4 {
            return Err(self.problem(
                bat_at,
                format!("the BAT goes past the footer at byte {footer_at}"),
            ));
        }
        let bitmap = bitmap_len(block_size);
        for (index, entry) in dynamic
            .bat
            .chunks_exact(4)
            .take(needed as usize)
            .enumerate()
        {
            let entry = u32::from_be_bytes(entry.try_into().expect("4 bytes"));
            if entry == UNALLOCATED {
                continue;
            }
            let start = u64::from(entry) * 512;
            let data = block_size.min(size - index as u64 * block_size);
            let end = start + bitmap + data;
            if end > footer_at {
                return Err(self.problem(
                    bat_at + index as u64 * 4,
                    format!(
                        "block {index} at byte {start} ends at byte {end}, past the footer at \
                         byte {footer_at}: the file is truncated or the BAT is corrupt"
                    ),
                ));
            }
        }
        Ok(size)
    }
}

impl Write for VhdCheck {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.take(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vhd::{write_dynamic_vhd, write_fixed_vhd};
    use crate::{FileDisk, NoProgress};

    fn image(fixed: bool) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("disk.raw");
        let mut data = vec![0u8; 5 << 20];
        data[100..200].fill(1);
        data[(4 << 20) + 7] = 9;
        std::fs::write(&raw, &data).unwrap();
        let disk = FileDisk::open(&raw).unwrap();
        let mut out = Vec::new();
        if fixed {
            write_fixed_vhd(&disk, &mut out, &NoProgress).unwrap();
        } else {
            write_dynamic_vhd(&disk, &mut out, &NoProgress).unwrap();
        }
        out
    }

    fn check(bytes: &[u8], piece: usize) -> Result<u64> {
        let mut check = VhdCheck::new("t.vhd");
        for part in bytes.chunks(piece) {
            check
                .write_all(part)
                .map_err(|e| DiskImageError::io("t", e))?;
        }
        check.finish()
    }

    #[test]
    fn whole_vhds_pass_in_any_pieces_and_cut_ones_fail() {
        for fixed in [false, true] {
            let vhd = image(fixed);
            for piece in [1, 7, 512, 4096, 1 << 20, vhd.len()] {
                assert_eq!(
                    check(&vhd, piece).unwrap(),
                    5 << 20,
                    "fixed={fixed} {piece}"
                );
            }
            for cut in [0, 100, 1536, vhd.len() / 2, vhd.len() - 512, vhd.len() - 1] {
                assert!(
                    check(&vhd[..cut], 4096).is_err(),
                    "fixed={fixed} cut at {cut}"
                );
            }
        }
        // A dynamic VHD whose end was cut and replaced by a valid footer: the blocks the BAT
        // points at are missing.
        let vhd = image(false);
        let footer = vhd[vhd.len() - 512..].to_vec();
        let mut shortened = vhd[..vhd.len() - 512 - (3 << 20)].to_vec();
        shortened.extend_from_slice(&footer);
        assert!(check(&shortened, 4096).is_err());
    }
}
