//! Where disk bytes come from: files and block devices read at any offset, other images
//! (a VHD) behind the same trait, and plain `Read` streams of known size (an HTTP body).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{Whence, lseek64};

use crate::error::{IoContext, Result, shown};

/// A disk that can be read at any offset, from several threads at once.
pub trait RandomAccessDisk: Send + Sync {
    /// Size in bytes.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes at `offset` (`offset + buf.len() <= size()`).
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// Byte ranges that may hold data, ascending and disjoint; the rest reads as zeros.
    /// The default claims the whole disk.
    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        Ok(whole(self.size()))
    }

    /// What this disk is, for messages (usually its path).
    fn name(&self) -> String;
}

impl<T: RandomAccessDisk + ?Sized> RandomAccessDisk for Box<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        (**self).data_ranges()
    }
    fn name(&self) -> String {
        (**self).name()
    }
}

/// A regular file or a block device. Its size comes from the device itself; its data ranges
/// from `SEEK_DATA` / `SEEK_HOLE` where the filesystem supports them, so holes (and
/// fallocated, never written extents) are skipped without reading them.
#[derive(Debug)]
pub struct FileDisk {
    file: File,
    path: PathBuf,
    size: u64,
}

impl FileDisk {
    /// Opens `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).context(|| format!("opening {}", shown(&path)))?;
        let meta = file
            .metadata()
            .context(|| format!("reading the metadata of {}", shown(&path)))?;
        if meta.is_dir() {
            return Err(crate::DiskImageError::io(
                format!("opening {}", shown(&path)),
                io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            ));
        }
        // Seeking to the end gives the size of block devices too, where metadata says 0.
        let size = file
            .seek(SeekFrom::End(0))
            .context(|| format!("finding the size of {}", shown(&path)))?;
        Ok(FileDisk { file, path, size })
    }
}

impl RandomAccessDisk for FileDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        seek_data_ranges(&self.file, self.size)
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// The one range covering a whole disk of `size` bytes.
pub(crate) fn whole(size: u64) -> Vec<Range<u64>> {
    std::iter::once(0..size).collect()
}

/// Data ranges of an open file by `SEEK_DATA` / `SEEK_HOLE`; the whole file when the
/// filesystem or device does not support them.
pub(crate) fn seek_data_ranges(file: &File, size: u64) -> io::Result<Vec<Range<u64>>> {
    let mut ranges = Vec::new();
    let mut offset = 0u64;
    while offset < size {
        let start = match lseek64(file, offset.cast_signed(), Whence::SeekData) {
            Ok(start) => start.cast_unsigned(),
            Err(Errno::ENXIO) => break, // no data after `offset`
            Err(Errno::EINVAL | Errno::EOPNOTSUPP) if offset == 0 => return Ok(whole(size)),
            Err(errno) => return Err(errno.into()),
        };
        let end = match lseek64(file, start.cast_signed(), Whence::SeekHole) {
            Ok(end) => end.cast_unsigned().min(size),
            Err(errno) => return Err(errno.into()),
        };
        if end <= start {
            break;
        }
        ranges.push(start..end);
        offset = end;
    }
    Ok(ranges)
}

/// A disk padded with zeros up to a multiple of `align` bytes (used to round a source to
/// whole 512-byte sectors, which XAPI's importer needs).
pub struct PaddedDisk<D> {
    inner: D,
    size: u64,
}

impl<D: RandomAccessDisk> PaddedDisk<D> {
    /// Pads `inner` up to the next multiple of `align`.
    pub fn new(inner: D, align: u64) -> Self {
        let size = inner.size().div_ceil(align) * align;
        PaddedDisk { inner, size }
    }
}

impl<D: RandomAccessDisk> RandomAccessDisk for PaddedDisk<D> {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let real = self.inner.size();
        let inside = real.saturating_sub(offset).min(buf.len() as u64) as usize;
        if inside > 0 {
            self.inner.read_exact_at(&mut buf[..inside], offset)?;
        }
        buf[inside..].fill(0);
        Ok(())
    }

    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        self.inner.data_ranges()
    }

    fn name(&self) -> String {
        self.inner.name()
    }
}

/// A sequential stream of known size, such as an HTTP response body.
pub struct StreamDisk<R> {
    reader: R,
    size: u64,
    name: String,
}

impl<R: Read + Send> StreamDisk<R> {
    /// A stream that must deliver exactly `size` bytes.
    pub fn new(reader: R, size: u64, name: impl Into<String>) -> Self {
        StreamDisk {
            reader,
            size,
            name: name.into(),
        }
    }
}

/// A disk to stream from: random access (parallel reads, holes skipped) or a sequential
/// stream (read once, in order).
pub enum DiskInput<'a> {
    /// Any offset, any thread.
    Random(&'a dyn RandomAccessDisk),
    /// Front to back, once.
    Stream(&'a mut dyn SequentialDisk),
}

impl DiskInput<'_> {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            DiskInput::Random(disk) => disk.size(),
            DiskInput::Stream(stream) => stream.size(),
        }
    }

    /// What this disk is, for messages.
    pub fn name(&self) -> String {
        match self {
            DiskInput::Random(disk) => disk.name(),
            DiskInput::Stream(stream) => stream.name(),
        }
    }
}

/// A disk read front to back: [`StreamDisk`] and anything else that can only stream.
pub trait SequentialDisk: Send {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` with the next bytes of the disk.
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()>;
    /// What this disk is, for messages.
    fn name(&self) -> String;
}

impl<R: Read + Send> SequentialDisk for StreamDisk<R> {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.reader.read_exact(buf)
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn file_disk_finds_its_data() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(64 << 20).unwrap();
        file.as_file().write_all_at(&[1; 4096], 16 << 20).unwrap();
        file.flush().unwrap();
        let disk = FileDisk::open(file.path()).unwrap();
        assert_eq!(disk.size(), 64 << 20);
        let ranges = disk.data_ranges().unwrap();
        let covered: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        assert!(ranges.iter().any(|r| r.contains(&(16 << 20))), "{ranges:?}");
        assert!(covered < 64 << 20, "holes should be found: {ranges:?}");
        let mut buf = [0u8; 8];
        disk.read_exact_at(&mut buf, 16 << 20).unwrap();
        assert_eq!(buf, [1; 8]);
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = FileDisk::open("/nonexistent/disk.img").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/disk.img"), "{err}");
    }

    #[test]
    fn padding_reads_zeros_past_the_end() {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().write_all_at(&[7; 1000], 0).unwrap();
        let disk = PaddedDisk::new(FileDisk::open(file.path()).unwrap(), 512);
        assert_eq!(disk.size(), 1024);
        let mut buf = [9u8; 100];
        disk.read_exact_at(&mut buf, 950).unwrap();
        assert_eq!(&buf[..50], &[7; 50]);
        assert_eq!(&buf[50..], &[0; 50]);
    }
}
