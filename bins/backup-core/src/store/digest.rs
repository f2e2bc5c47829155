//! Digests of the files a backup writes, recorded in its manifest and checked by `verify`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::error::{Result, StoreError};
use super::words::{DigestKind, Recorded};

/// A file's digest: its kind, value (lower-case hex) and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// `xxh64` or `sha256` (another is kept as read, and fails `verify`).
    pub kind: Recorded<DigestKind>,
    /// Lower-case hex.
    pub value: String,
    /// Bytes digested.
    pub bytes: u64,
}

enum Hasher {
    Xxh64(Box<xxhash_rust::xxh64::Xxh64>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(kind: DigestKind) -> Self {
        match kind {
            DigestKind::Xxh64 => Hasher::Xxh64(Box::new(xxhash_rust::xxh64::Xxh64::new(0))),
            DigestKind::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Xxh64(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    fn finish(self, bytes: u64) -> FileDigest {
        let (kind, value) = match self {
            Hasher::Xxh64(h) => (DigestKind::Xxh64, format!("{:016x}", h.digest())),
            Hasher::Sha256(h) => (DigestKind::Sha256, hex(&h.finalize())),
        };
        FileDigest {
            kind: Recorded::Known(kind),
            value,
            bytes,
        }
    }
}

/// A hasher and the count of bytes it has seen: what a digesting reader or writer keeps.
struct Running {
    hasher: Hasher,
    bytes: u64,
}

impl Running {
    fn new(kind: DigestKind) -> Self {
        Running {
            hasher: Hasher::new(kind),
            bytes: 0,
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    fn finish(self) -> FileDigest {
        self.hasher.finish(self.bytes)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, b| {
            let _ = write!(text, "{b:02x}");
            text
        })
}

/// A writer that digests what passes through it.
pub struct DigestWriter<W> {
    inner: W,
    running: Running,
}

impl<W: Write> DigestWriter<W> {
    /// Digests everything written to `inner` with `kind`.
    pub fn new(inner: W, kind: DigestKind) -> Self {
        DigestWriter {
            inner,
            running: Running::new(kind),
        }
    }

    /// The inner writer and the digest of what was written.
    pub fn finish(self) -> (W, FileDigest) {
        (self.inner, self.running.finish())
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.running.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest of bytes in memory.
pub fn digest_bytes(kind: DigestKind, bytes: &[u8]) -> FileDigest {
    let mut running = Running::new(kind);
    running.update(bytes);
    running.finish()
}

/// A reader that digests what passes through it.
pub struct DigestReader<R> {
    inner: R,
    running: Running,
}

impl<R: Read> DigestReader<R> {
    /// Digests everything read from `inner` with `kind`.
    pub fn new(inner: R, kind: DigestKind) -> Self {
        DigestReader {
            inner,
            running: Running::new(kind),
        }
    }

    /// Reads what is left, then returns the digest of everything read.
    pub fn finish(mut self) -> io::Result<FileDigest> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(self.running.finish())
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.running.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads the file at `path` once: `inspect` sees its bytes as they pass (it may stop
/// early), the digest of kind `kind` covers all of them.
pub fn read_digested(
    path: &Path,
    kind: DigestKind,
    inspect: impl FnOnce(&mut (dyn Read + Send)) -> Result<()>,
) -> Result<FileDigest> {
    let read_error = |e| StoreError::io("reading", path, e);
    let file = File::open(path).map_err(read_error)?;
    let mut reader = DigestReader::new(io::BufReader::with_capacity(1 << 20, file), kind);
    inspect(&mut reader)?;
    reader.finish().map_err(read_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_reader_and_memory_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for (kind, known) in [
            (DigestKind::Xxh64, "44bc2cf5ad770999"),
            (
                DigestKind::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ] {
            let mut writer = DigestWriter::new(File::create(&path).unwrap(), kind);
            writer.write_all(b"abc").unwrap();
            let (_, written) = writer.finish();
            assert_eq!(written.value, known);
            assert_eq!(written.bytes, 3);
            assert_eq!(written.kind.known(), Ok(kind));
            let mut first = [0u8; 1];
            let read = read_digested(&path, kind, |bytes| {
                bytes
                    .read_exact(&mut first)
                    .map_err(|e| StoreError::io("test", &path, e))
            })
            .unwrap();
            assert_eq!(first, *b"a", "the inspector sees the bytes first");
            assert_eq!(read, written, "the digest covers what the inspector left");
            assert_eq!(digest_bytes(kind, b"abc"), written);
        }
    }
}
