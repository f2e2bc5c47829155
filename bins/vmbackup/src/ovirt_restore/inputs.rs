//! A backup's disk as an upload reads it, checked as it passes: the upload reads each disk
//! once, front to back, and every byte it reads goes through the digest the manifest
//! recorded for the file as stored (oVirtSimpleBackup's backups have none: their size and
//! their decompressor's checksums are what is checked) and through an XXH64 of the disk's
//! bytes, which `--check` compares with the disk read back from the engine.
//!
//! - [`CheckedFile`]: a raw, uncompressed image; its holes are neither read nor sent (they
//!   are digested as the zeros they read as);
//! - [`CheckedStream`]: a compressed image (zstd or gzip of ours, gzip, lzop or bzip2 of
//!   the seed's), decompressed as it streams, its end checked: the decompressed stream
//!   must end exactly at the disk's size, and is read to its end so that the
//!   decompressor's own checksums are checked.
//!
//! Both stop with an error once the restore is cancelled: the upload then fails, its
//! transfer is cancelled and the half-built VM removed.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use backup_core::batch::Cancel;
use backup_core::store::DigestKind;
use backup_core::store::digest::{DigestWriter, FileDigest};
use disk_image::{FileDisk, RandomAccessDisk, SequentialDisk};
use xxhash_rust::xxh64::Xxh64;

/// What a disk's bytes were, once the upload had read them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadThrough {
    /// The digest of the file as stored (of the manifest's kind), when one was asked for.
    pub stored: Option<FileDigest>,
    /// XXH64 of the disk's bytes (lower-case hex).
    pub content: String,
}

static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// The error an input returns once the restore is cancelled.
fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "the restore was interrupted")
}

/// The digests of bytes read in order, zeros included.
struct Digests {
    /// The digest of the stored file, when it is also the disk's bytes (not compressed).
    stored: Option<DigestWriter<io::Sink>>,
    /// XXH64 of the disk's bytes, unless `stored` is already XXH64 of the same bytes.
    content: Option<Xxh64>,
    position: u64,
}

impl Digests {
    fn new(stored: Option<DigestKind>) -> Self {
        Digests {
            stored: stored.map(|kind| DigestWriter::new(io::sink(), kind)),
            content: (stored != Some(DigestKind::Xxh64)).then(|| Xxh64::new(0)),
            position: 0,
        }
    }

    fn update(&mut self, data: &[u8]) {
        if let Some(stored) = &mut self.stored {
            stored.write_all(data).expect("a sink never fails");
        }
        if let Some(content) = &mut self.content {
            content.update(data);
        }
        self.position += data.len() as u64;
    }

    fn zeros_until(&mut self, offset: u64) {
        while self.position < offset {
            let n = usize::try_from(offset - self.position)
                .unwrap_or(usize::MAX)
                .min(ZEROS.len());
            self.update(&ZEROS[..n]);
        }
    }

    fn finish(self) -> ReadThrough {
        let stored = self.stored.map(|writer| writer.finish().1);
        let content = match (self.content, &stored) {
            (Some(hasher), _) => format!("{:016x}", hasher.digest()),
            (None, Some(digest)) => digest.value.clone(),
            (None, None) => unreachable!("one of the two digests is always kept"),
        };
        ReadThrough { stored, content }
    }
}

/// A raw, uncompressed image file as a random-access disk whose reads are digested in
/// order (the upload's reads are: see the module docs).
pub(crate) struct CheckedFile {
    disk: FileDisk,
    path: PathBuf,
    digests: Mutex<Option<Digests>>,
    cancel: Cancel,
}

impl CheckedFile {
    /// Opens `path`, digesting as `stored` (the manifest's kind; `None` for the seed's).
    pub(crate) fn open(
        path: &Path,
        stored: Option<DigestKind>,
        cancel: &Cancel,
    ) -> io::Result<Self> {
        let disk = FileDisk::open(path).map_err(io::Error::other)?;
        Ok(CheckedFile {
            disk,
            path: path.to_path_buf(),
            digests: Mutex::new(Some(Digests::new(stored))),
            cancel: cancel.clone(),
        })
    }

    /// The digests of the whole file, its holes included.
    pub(crate) fn finish(&self) -> ReadThrough {
        let mut digests = self
            .digests
            .lock()
            .expect("digest lock")
            .take()
            .expect("finished once");
        digests.zeros_until(self.disk.size());
        digests.finish()
    }
}

impl RandomAccessDisk for CheckedFile {
    fn size(&self) -> u64 {
        self.disk.size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(interrupted());
        }
        let mut guard = self.digests.lock().expect("digest lock");
        let digests = guard.as_mut().expect("not finished");
        if offset < digests.position {
            return Err(io::Error::other(format!(
                "{}: read at {offset} after {}: the digest needs reads in order",
                self.path.display(),
                digests.position
            )));
        }
        digests.zeros_until(offset);
        self.disk.read_exact_at(buf, offset)?;
        digests.update(buf);
        Ok(())
    }

    fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
        self.disk.data_ranges()
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Copies what passes through into a digest (the stored file's, before decompression).
struct Tee<R> {
    inner: R,
    digest: Arc<Mutex<DigestWriter<io::Sink>>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest
            .lock()
            .expect("digest lock")
            .write_all(&buf[..n])
            .expect("a sink never fails");
        Ok(n)
    }
}

/// A compressed image, decompressed as it streams, its disk bytes digested.
pub(crate) struct CheckedStream {
    reader: Box<dyn Read + Send>,
    stored: Option<Arc<Mutex<DigestWriter<io::Sink>>>>,
    content: Xxh64,
    size: u64,
    read: u64,
    name: String,
    cancel: Cancel,
}

impl CheckedStream {
    /// Ours: `path` decompressed (zstd or gzip, found by its magic number), the stored
    /// bytes digested as `kind`; returns the stream and what the file turned out to be.
    pub(crate) fn ours(
        path: &Path,
        kind: DigestKind,
        size: u64,
        cancel: &Cancel,
    ) -> io::Result<(Self, disk_image::compress::Detected)> {
        let digest = Arc::new(Mutex::new(DigestWriter::new(io::sink(), kind)));
        let file = BufReader::with_capacity(1 << 20, File::open(path)?);
        let tee = Tee {
            inner: file,
            digest: Arc::clone(&digest),
        };
        let (reader, detected) = disk_image::compress::decompressed(tee)?;
        let mut stream = CheckedStream::seed(reader, path, size, cancel);
        stream.stored = Some(digest);
        Ok((stream, detected))
    }

    /// The seed's: `reader` is the decompressed image of `path` (no stored digest).
    pub(crate) fn seed(
        reader: Box<dyn Read + Send>,
        path: &Path,
        size: u64,
        cancel: &Cancel,
    ) -> Self {
        CheckedStream {
            reader,
            stored: None,
            content: Xxh64::new(0),
            size,
            read: 0,
            name: path.display().to_string(),
            cancel: cancel.clone(),
        }
    }

    /// Reads the stream to its end (the decompressor checks its checksums there): bytes
    /// past the disk's size are an error. Returns the digests.
    pub(crate) fn finish(mut self) -> io::Result<ReadThrough> {
        let mut extra = [0u8; 4096];
        loop {
            match self.reader.read(&mut extra) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: the image holds more than the disk's {} bytes",
                            self.name, self.size
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        drop(self.reader);
        let stored = match self.stored {
            Some(digest) => {
                let writer = Arc::try_unwrap(digest)
                    .ok()
                    .expect("the reader holding the other reference is dropped")
                    .into_inner()
                    .expect("digest lock");
                Some(writer.finish().1)
            }
            None => None,
        };
        Ok(ReadThrough {
            stored,
            content: format!("{:016x}", self.content.digest()),
        })
    }
}

impl SequentialDisk for CheckedStream {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(interrupted());
        }
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: the image ends before the disk's {} bytes (after about {})",
                        self.name, self.size, self.read
                    ),
                )
            } else {
                e
            }
        })?;
        self.content.update(buf);
        self.read += buf.len() as u64;
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_file_digests_as_its_bytes_and_a_stream_must_end_at_its_size() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let file = File::create(&path).unwrap();
        file.set_len(8 << 20).unwrap();
        file.write_all_at(&[7u8; 4096], 3 << 20).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let expected = format!("{:016x}", xxhash_rust::xxh64::xxh64(&bytes, 0));

        let cancel = Cancel::new();
        let checked = CheckedFile::open(&path, Some(DigestKind::Sha256), &cancel).unwrap();
        for range in checked.data_ranges().unwrap() {
            let mut buf = vec![0u8; usize::try_from(range.end - range.start).unwrap()];
            checked.read_exact_at(&mut buf, range.start).unwrap();
        }
        let through = checked.finish();
        assert_eq!(through.content, expected);
        let sha = backup_core::store::digest::digest_bytes(DigestKind::Sha256, &bytes);
        assert_eq!(through.stored, Some(sha));

        // A stream one byte longer than the disk fails at its end.
        let mut long = CheckedStream::seed(
            Box::new(io::Cursor::new(vec![1u8; 4097])),
            &path,
            4096,
            &cancel,
        );
        let mut buf = vec![0u8; 4096];
        long.read_exact(&mut buf).unwrap();
        assert!(long.finish().is_err());
        // A shorter one fails while read; a cancelled one too.
        let mut short = CheckedStream::seed(
            Box::new(io::Cursor::new(vec![1u8; 100])),
            &path,
            4096,
            &cancel,
        );
        assert!(short.read_exact(&mut buf).is_err());
        cancel.cancel();
        let mut stopped = CheckedStream::seed(
            Box::new(io::Cursor::new(vec![1u8; 4096])),
            &path,
            4096,
            &cancel,
        );
        assert_eq!(
            stopped.read_exact(&mut buf).unwrap_err().kind(),
            io::ErrorKind::Interrupted
        );
    }
}
