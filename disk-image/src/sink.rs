//! Where disk bytes go: a raw image file (sparse), a raw stream, or (in [`crate::vhd`]) a
//! VHD. Writers receive data in ascending offsets; what they are never given is zero.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use crate::error::{IoContext, Result};
use crate::writeback::Writeback;
use crate::zero::{data_prefix_len, zero_prefix_len};

/// A destination for a disk's bytes, written front to back.
pub trait DiskSink {
    /// Writes `data` at `offset`. Offsets never go backwards; bytes never written are zero.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;

    /// Completes the image of a disk of `size` bytes. Durability is the owner's: whoever
    /// publishes the file ([`crate::AtomicFile::commit`], a backup's commit) syncs it once.
    fn finish(&mut self, size: u64) -> Result<()>;
}

/// A raw image in a file, sparse: all-zero 4 KiB blocks are left as holes, and the file is
/// sized to the disk at the end.
pub struct RawFileSink<'a> {
    file: &'a File,
    name: String,
    writeback: Writeback,
}

impl<'a> RawFileSink<'a> {
    /// Writes into `file` (which should be empty); `name` is used in messages.
    pub fn new(file: &'a File, name: impl Into<String>) -> Self {
        RawFileSink {
            file,
            name: name.into(),
            writeback: Writeback::default(),
        }
    }
}

impl DiskSink for RawFileSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < data.len() {
            done += zero_prefix_len(&data[done..]);
            let run = data_prefix_len(&data[done..]);
            if run > 0 {
                let at = offset + done as u64;
                self.file
                    .write_all_at(&data[done..done + run], at)
                    .context(|| format!("writing `{}` at offset {at}", self.name))?;
            }
            done += run;
        }
        self.writeback
            .advance(self.file, offset + data.len() as u64);
        Ok(())
    }

    fn finish(&mut self, size: u64) -> Result<()> {
        self.file
            .set_len(size)
            .context(|| format!("setting the size of `{}` to {size}", self.name))
    }
}

/// A raw image written to a stream (a pipe, standard output): gaps are written as zeros.
pub struct RawStreamSink<W> {
    out: W,
    position: u64,
    name: String,
}

impl<W: Write> RawStreamSink<W> {
    /// Streams into `out`; `name` is used in messages.
    pub fn new(out: W, name: impl Into<String>) -> Self {
        RawStreamSink {
            out,
            position: 0,
            name: name.into(),
        }
    }

    fn fill_zeros(&mut self, until: u64) -> Result<()> {
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        while self.position < until {
            let n = (until - self.position).min(ZEROS.len() as u64) as usize;
            self.out
                .write_all(&ZEROS[..n])
                .context(|| format!("writing `{}` at offset {}", self.name, self.position))?;
            self.position += n as u64;
        }
        Ok(())
    }
}

impl<W: Write> DiskSink for RawStreamSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if offset < self.position {
            return Err(crate::DiskImageError::io(
                format!("writing `{}`", self.name),
                io::Error::new(io::ErrorKind::InvalidInput, "offsets went backwards"),
            ));
        }
        self.fill_zeros(offset)?;
        self.out
            .write_all(data)
            .context(|| format!("writing `{}` at offset {offset}", self.name))?;
        self.position += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self, size: u64) -> Result<()> {
        self.fill_zeros(size)?;
        self.out
            .flush()
            .context(|| format!("flushing `{}`", self.name))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn raw_file_sink_leaves_holes() {
        let file = tempfile::tempfile().unwrap();
        let mut sink = RawFileSink::new(&file, "test");
        let mut chunk = vec![0u8; 1 << 20];
        chunk[8192] = 5;
        sink.write_at(0, &chunk).unwrap();
        sink.write_at(32 << 20, &[1; 4096]).unwrap();
        sink.finish(64 << 20).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 64 << 20);
        assert!(file.metadata().unwrap().blocks() * 512 <= 64 * 1024);
        let mut byte = [0u8; 1];
        file.read_exact_at(&mut byte, 8192).unwrap();
        assert_eq!(byte, [5]);
    }

    #[test]
    fn raw_stream_sink_fills_gaps() {
        let mut out = Vec::new();
        let mut sink = RawStreamSink::new(&mut out, "test");
        sink.write_at(3, &[1, 2]).unwrap();
        sink.finish(8).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 2, 0, 0, 0]);
    }
}
