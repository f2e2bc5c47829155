//! Digests of the files a backup writes, recorded in its manifest and checked by `verify`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::config::ManifestDigest;
use crate::error::{Result, VmBackupError};

/// A file's digest: its kind, value (lower-case hex) and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// `xxh64` or `sha256`.
    pub kind: String,
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
    fn new(kind: ManifestDigest) -> Self {
        match kind {
            ManifestDigest::Xxh64 => Hasher::Xxh64(Box::new(xxhash_rust::xxh64::Xxh64::new(0))),
            ManifestDigest::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
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
            Hasher::Xxh64(h) => ("xxh64", format!("{:016x}", h.digest())),
            Hasher::Sha256(h) => ("sha256", hex(&h.finalize())),
        };
        FileDigest {
            kind: kind.to_owned(),
            value,
            bytes,
        }
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
    hasher: Hasher,
    bytes: u64,
}

impl<W: Write> DigestWriter<W> {
    /// Digests everything written to `inner` with `kind`.
    pub fn new(inner: W, kind: ManifestDigest) -> Self {
        DigestWriter {
            inner,
            hasher: Hasher::new(kind),
            bytes: 0,
        }
    }

    /// The inner writer and the digest of what was written.
    pub fn finish(self) -> (W, FileDigest) {
        let digest = self.hasher.finish(self.bytes);
        (self.inner, digest)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest of a file of the kind `expected` names (`xxh64` or `sha256`).
pub fn digest_file(path: &Path, kind: &str) -> Result<FileDigest> {
    let kind = match kind {
        "xxh64" => ManifestDigest::Xxh64,
        "sha256" => ManifestDigest::Sha256,
        other => {
            return Err(VmBackupError::Backup(format!(
                "`{}`: unknown digest kind `{other}` in the manifest",
                path.display()
            )));
        }
    };
    let read_error = |e| VmBackupError::io(format!("reading `{}`", path.display()), e);
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Hasher::new(kind);
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(read_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(hasher.finish(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_file_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for kind in [ManifestDigest::Xxh64, ManifestDigest::Sha256] {
            let mut writer = DigestWriter::new(File::create(&path).unwrap(), kind);
            writer.write_all(b"abc").unwrap();
            let (_, digest) = writer.finish();
            assert_eq!(digest, digest_file(&path, &digest.kind).unwrap());
            assert_eq!(digest.bytes, 3);
        }
        let sha = digest_file(&path, "sha256").unwrap();
        assert_eq!(
            sha.value,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let xx = digest_file(&path, "xxh64").unwrap();
        assert_eq!(xx.value, "44bc2cf5ad770999");
    }
}
