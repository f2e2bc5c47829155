//! The crate's one error type. Its message names what failed and where (file, member,
//! offset, line); the underlying cause, if any, is its `source()`.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias of this crate.
pub type Result<T, E = DiskImageError> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a disk image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskImageError {
    /// An I/O operation failed; `action` says which, on what, and at which offset.
    #[error("{action}")]
    Io {
        /// For example "reading `/dev/vg/lv` at offset 1048576".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A disk whose size XAPI cannot import (not a whole number of 512-byte sectors).
    #[error("`{}` is {size} bytes, not a multiple of 512: {hint}", path.display())]
    UnalignedSize {
        /// The disk.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// What to do about it.
        hint: &'static str,
    },
    /// A structural problem in an archive or image: `location` names the file and the
    /// member or offset.
    #[error("{location}: {problem}")]
    Format {
        /// For example "`backup.xva`, member `Ref:3/00000005` at byte 1049600".
        location: String,
        /// What is wrong.
        problem: String,
    },
    /// A chunk whose checksum does not match its data.
    #[error("{location}: checksum mismatch (recorded {recorded}, computed {computed})")]
    ChecksumMismatch {
        /// The archive and chunk member.
        location: String,
        /// The checksum stored in the archive.
        recorded: String,
        /// The checksum of the data read.
        computed: String,
    },
    /// `ova.xml` is not the XML-RPC document XAPI writes.
    #[cfg(feature = "xva")]
    #[error("{location}: invalid ova.xml")]
    Metadata {
        /// The archive.
        location: String,
        /// What the codec reported.
        #[source]
        source: xenapi::rpc::CodecError,
    },
    /// A request that makes no sense (an unknown disk index, an empty VM, …).
    #[error("{0}")]
    Invalid(String),
}

impl DiskImageError {
    /// An I/O error with its context: `action` describes what was being done.
    pub fn io(action: impl Into<String>, source: io::Error) -> Self {
        DiskImageError::Io {
            action: action.into(),
            source,
        }
    }

    /// A format problem at `location`.
    pub fn format(location: impl Into<String>, problem: impl Into<String>) -> Self {
        DiskImageError::Format {
            location: location.into(),
            problem: problem.into(),
        }
    }
}

/// Adds context to `io::Result`s: `file.read(..).context(|| format!("reading {}", ..))`.
pub(crate) trait IoContext<T> {
    fn context(self, action: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, action: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| DiskImageError::io(action(), e))
    }
}

/// `path` formatted for messages: `` `/dev/vg/lv` ``.
pub(crate) fn shown(path: &Path) -> String {
    format!("`{}`", path.display())
}
