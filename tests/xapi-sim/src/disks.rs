//! The bytes of virtual disks: one sparse file per VDI, under a directory per SR.
//!
//! A snapshot shares its source's file, copy-on-write as XAPI's are: a hard link
//! ([`share`]) until one side is written. The first write ([`open_for_write`]) gives the
//! written file bytes of its own, copying data ranges only (`SEEK_DATA` / `SEEK_HOLE`,
//! through disk-image's [`copy_disk`]) and leaving all-zero blocks as holes, so the copy
//! stays as sparse as its source and the other side never sees the write.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use disk_image::{DiskInput, FileDisk, NoProgress, RawFileSink, copy_disk, is_zero};
use nix::fcntl::{FallocateFlags, fallocate};

use crate::config::DiskContents;

/// Granularity of hole punching when overwriting: all-zero blocks become holes.
const BLOCK: usize = 4096;
/// Threads reading a disk being copied or sent (one reads ahead while the caller writes;
/// the simulator's disks are small, and tests run many simulators at once).
pub(crate) const READ_WORKERS: usize = 1;

/// Where the disk files live.
#[derive(Debug, Clone)]
pub(crate) struct DiskStore {
    root: PathBuf,
}

impl DiskStore {
    pub(crate) fn new(root: PathBuf) -> Self {
        DiskStore { root }
    }

    /// The file of VDI `vdi_uuid` on SR `sr_uuid`.
    pub(crate) fn path(&self, sr_uuid: &str, vdi_uuid: &str) -> PathBuf {
        self.root
            .join(format!("sr-{sr_uuid}"))
            .join(format!("{vdi_uuid}.raw"))
    }

    /// Creates an all-zero (entirely sparse) disk file of `size` bytes.
    pub(crate) fn create(path: &Path, size: u64) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(size)
    }

    /// Removes a disk file; one already gone is not an error.
    pub(crate) fn remove(path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Copies `src` to a new file `dst`, data ranges only, leaving zero blocks as holes.
pub(crate) fn copy_sparse(src: &Path, dst: &Path) -> io::Result<()> {
    let source = FileDisk::open(src).map_err(io::Error::other)?;
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir)?;
    }
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dst)?;
    let mut sink = RawFileSink::new(&out, dst.display().to_string());
    copy_disk(
        DiskInput::Random(&source),
        &mut sink,
        READ_WORKERS,
        &NoProgress,
    )
    .map_err(io::Error::other)
}

/// Writes `data` at `offset` into an existing disk file (zeros included).
pub(crate) fn write_at(path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
    open_for_write(path)?.write_all_at(data, offset)
}

/// A disk shared with a snapshot, as XAPI's copy-on-write: the snapshot's file is a hard
/// link to the disk's until one of them is written.
pub(crate) fn share(disk: &Path, snapshot: &Path) -> io::Result<()> {
    if let Some(dir) = snapshot.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::hard_link(disk, snapshot)
}

/// Opens an existing disk file for writing, first giving it bytes of its own when a
/// snapshot still shares them (the copy in copy-on-write).
pub(crate) fn open_for_write(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    if fs::metadata(path)?.nlink() > 1 {
        let own = path.with_extension(format!("cow-{}", uuid::Uuid::new_v4().simple()));
        copy_sparse(path, &own)?;
        fs::rename(&own, path)?;
    }
    OpenOptions::new().write(true).open(path)
}

/// Overwrites `data.len()` bytes at `offset` exactly, keeping the file sparse: blocks that
/// are all zero become holes (punched, whatever was there), the others are written.
pub(crate) fn overwrite_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        let zero = is_zero(&data[done..(done + BLOCK).min(data.len())]);
        let run = data[done..]
            .chunks(BLOCK)
            .take_while(|block| is_zero(block) == zero)
            .map(<[u8]>::len)
            .sum::<usize>();
        let at = offset + done as u64;
        if zero {
            let (start, len) = (i64::try_from(at), i64::try_from(run));
            let (Ok(start), Ok(len)) = (start, len) else {
                return Err(io::Error::other("offset out of range"));
            };
            let mode = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
            if fallocate(file, mode, start, len).is_err() {
                // No hole punching here: write the zeros.
                file.write_all_at(&data[done..done + run], at)?;
            }
        } else {
            file.write_all_at(&data[done..done + run], at)?;
        }
        done += run;
    }
    Ok(())
}

/// Fills a new (all-zero) disk file of `size` bytes with `contents`.
pub(crate) fn fill(path: &Path, size: u64, contents: &DiskContents) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    match contents {
        DiskContents::Empty => Ok(()),
        DiskContents::Writes(writes) => {
            for (offset, data) in writes {
                file.write_all_at(data, *offset)?;
            }
            Ok(())
        }
        DiskContents::Pattern { seed, data_bytes } => {
            for (offset, data) in pattern(size, *seed, *data_bytes) {
                file.write_all_at(&data, offset)?;
            }
            Ok(())
        }
    }
}

/// The writes of [`DiskContents::Pattern`]: a boot sector signature, an ext4-style
/// superblock (magic `0xEF53` at byte 1080), and runs of pseudo-random data spread evenly.
fn pattern(size: u64, seed: u64, data_bytes: u64) -> Vec<(u64, Vec<u8>)> {
    const RUN: u64 = 512 * 1024;
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut writes = Vec::new();
    if size >= 4096 {
        let mut boot = vec![0u8; 512];
        boot[..16].copy_from_slice(b"xapi-sim disk   ");
        boot[510] = 0x55;
        boot[511] = 0xAA;
        writes.push((0, boot));
        let mut superblock = rng.bytes(1024);
        superblock[56] = 0x53;
        superblock[57] = 0xEF;
        writes.push((1024, superblock));
    }
    let runs = data_bytes.div_ceil(RUN).min(size / RUN);
    let stride = size.checked_div(runs).unwrap_or(0) / 4096 * 4096;
    for run in 0..runs {
        let offset = (run * stride).max(4096);
        let len = RUN.min(size.saturating_sub(offset));
        if len > 0 {
            writes.push((offset, rng.bytes(len as usize)));
        }
    }
    writes
}

/// xorshift64*: fast, seeded, good enough for test data.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// Reads `len` bytes at `offset` of a disk file.
    fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        File::open(path)
            .unwrap()
            .read_exact_at(&mut buf, offset)
            .unwrap();
        buf
    }

    #[test]
    fn copies_stay_sparse_and_independent() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::new(dir.path().to_path_buf());
        let src = store.path("sr", "a");
        DiskStore::create(&src, 64 << 20).unwrap();
        fill(
            &src,
            64 << 20,
            &DiskContents::Pattern {
                seed: 7,
                data_bytes: 1 << 20,
            },
        )
        .unwrap();
        let dst = store.path("sr", "b");
        copy_sparse(&src, &dst).unwrap();
        assert_eq!(fs::read(&src).unwrap(), fs::read(&dst).unwrap());
        assert!(
            fs::metadata(&dst).unwrap().blocks() * 512 < 4 << 20,
            "the copy is sparse"
        );
        write_at(&src, 4096, b"changed").unwrap();
        assert_ne!(read_at(&dst, 4096, 7), b"changed");
        assert_eq!(read_at(&src, 4096, 7), b"changed");
    }

    #[test]
    fn overwrites_are_exact_and_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d");
        DiskStore::create(&path, 1 << 20).unwrap();
        write_at(&path, 0, &vec![9; 65536]).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        let mut data = vec![0u8; 3 * 4096];
        data[4096..4100].copy_from_slice(b"data");
        overwrite_at(&file, 0, &data).unwrap();
        assert_eq!(read_at(&path, 0, 3 * 4096), data);
        assert_eq!(
            read_at(&path, 3 * 4096, 4),
            [9; 4],
            "bytes after the write stay"
        );
        overwrite_at(&file, 0, &[]).unwrap();
        assert_eq!(read_at(&path, 4096, 4), b"data");
    }

    #[test]
    fn patterns_are_reproducible() {
        assert_eq!(pattern(8 << 20, 1, 1 << 20), pattern(8 << 20, 1, 1 << 20));
        assert_ne!(pattern(8 << 20, 1, 1 << 20), pattern(8 << 20, 2, 1 << 20));
        let data: u64 = pattern(8 << 20, 1, 1 << 20)
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum();
        assert!(data >= 1 << 20, "{data}");
    }
}
