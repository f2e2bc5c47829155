//! Saving a disk that arrives as positioned writes (an imageio download, an appliance's
//! device read with zero detection) rather than as a stream: a [`DiskSink`] that digests
//! every byte in order (the gaps it is never given count as zeros), stores a raw disk
//! sparse when not compressed (gaps stay holes, nothing is copied for them) or compresses
//! the whole stream, checks the size at the end, and stops when the run is cancelled.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use disk_image::compress::{Codec, CompressWriter};
use disk_image::writeback::WritebackFile;
use disk_image::{DiskImageError, DiskSink, RawFileSink};

use super::{SaveError, SaveOptions, Saved, write_error};
use crate::batch::Cancel;
use crate::store::digest::DigestWriter;

/// Zeros fed to the digest (and to a compressed stream) for the gaps.
static ZEROS: [u8; 256 << 10] = [0; 256 << 10];

enum Store<'a> {
    Sparse {
        sink: RawFileSink<'a>,
        digest: DigestWriter<io::Sink>,
    },
    Stream {
        out: Box<CompressWriter<DigestWriter<BufWriter<WritebackFile<'a>>>>>,
    },
}

/// A raw disk of a known size being saved into a backup file; see the module docs.
/// Written front to back through [`DiskSink`], then [`SaveSink::finish_saved`].
pub struct SaveSink<'a> {
    path: PathBuf,
    size: u64,
    position: u64,
    finished: bool,
    cancel: &'a Cancel,
    store: Store<'a>,
}

/// Creates the new backup file `path` (it must not exist) with the options' mode, for a
/// [`SaveSink`].
pub fn create_file(path: &Path, options: &SaveOptions<'_>) -> Result<File, SaveError> {
    options
        .mode
        .create_new(path)
        .map_err(|source| write_error("creating", path, source))
}

impl<'a> SaveSink<'a> {
    /// Saves a raw disk of `size` bytes into `file` (made by [`create_file`] at `path`),
    /// compressed by the options' codec, digested by their digest.
    pub fn new(
        file: &'a File,
        path: &Path,
        size: u64,
        options: &SaveOptions<'a>,
    ) -> Result<SaveSink<'a>, SaveError> {
        let store = if options.codec == Codec::None {
            Store::Sparse {
                sink: RawFileSink::new(file, path.display().to_string()),
                digest: DigestWriter::new(io::sink(), options.digest),
            }
        } else {
            let digesting = DigestWriter::new(
                BufWriter::with_capacity(1 << 20, WritebackFile::new(file)),
                options.digest,
            );
            Store::Stream {
                out: Box::new(
                    CompressWriter::new(digesting, options.codec)
                        .map_err(|source| write_error("writing", path, source))?,
                ),
            }
        };
        Ok(SaveSink {
            path: path.to_path_buf(),
            size,
            position: 0,
            finished: false,
            cancel: options.cancel,
            store,
        })
    }

    fn io_error(&self, offset: u64, source: io::Error) -> DiskImageError {
        DiskImageError::io(
            format!("writing `{}` at offset {offset}", self.path.display()),
            source,
        )
    }

    /// Feeds `len` zero bytes (a gap) to the digest, and to the stream when compressed.
    fn zeros(&mut self, len: u64) -> disk_image::Result<()> {
        let mut left = len;
        while left > 0 {
            let n = left.min(ZEROS.len() as u64) as usize;
            let at = self.position + (len - left);
            match &mut self.store {
                Store::Sparse { digest, .. } => {
                    digest.write_all(&ZEROS[..n]).expect("a sink cannot fail");
                }
                Store::Stream { out } => {
                    if let Err(source) = out.write_all(&ZEROS[..n]) {
                        return Err(self.io_error(at, source));
                    }
                }
            }
            left -= n as u64;
        }
        Ok(())
    }

    /// Ends the file: its size checked, the compressed stream ended, the digest taken.
    /// Synced with the rest of the backup when it is published.
    pub fn finish_saved(self) -> Result<Saved, SaveError> {
        if !self.finished || self.position != self.size {
            return Err(SaveError::Size {
                path: self.path.clone(),
                problem: format!(
                    "received {} bytes of a {}-byte disk",
                    self.position, self.size
                ),
            });
        }
        let digest = match self.store {
            Store::Sparse { digest, .. } => digest.finish().1,
            Store::Stream { out } => {
                let (buffered, digest) = out
                    .finish()
                    .map_err(|source| write_error("writing", &self.path, source))?
                    .finish();
                buffered
                    .into_inner()
                    .map_err(|e| write_error("writing", &self.path, e.into_error()))?;
                digest
            }
        };
        Ok(Saved {
            digest,
            received: self.position,
            vhd_size: None,
        })
    }
}

impl DiskSink for SaveSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(self.io_error(
                offset,
                io::Error::new(io::ErrorKind::Interrupted, "interrupted"),
            ));
        }
        let end = offset + data.len() as u64;
        if offset < self.position || end > self.size {
            return Err(self.io_error(
                offset,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} bytes at offset {offset}: backwards or past the {}-byte disk",
                        data.len(),
                        self.size
                    ),
                ),
            ));
        }
        self.zeros(offset - self.position)?;
        self.position = offset;
        match &mut self.store {
            Store::Sparse { sink, digest } => {
                digest.write_all(data).expect("a sink cannot fail");
                sink.write_at(offset, data)?;
            }
            Store::Stream { out } => {
                if let Err(source) = out.write_all(data) {
                    return Err(self.io_error(offset, source));
                }
            }
        }
        self.position = end;
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        if size != self.size {
            return Err(self.io_error(
                size,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("finished at {size} bytes, the disk has {}", self.size),
                ),
            ));
        }
        self.zeros(size - self.position)?;
        self.position = size;
        if let Store::Sparse { sink, .. } = &mut self.store {
            sink.finish(size)?;
        }
        self.finished = true;
        Ok(())
    }
}
