//! The error of reading a xend configuration: its own type, because a configuration is not
//! a disk image, and a binary tells "fix this line" (a usage error) from everything else by
//! matching [`XendError::Line`].

use std::io;
use std::path::PathBuf;

/// Result alias of the xend parser.
pub type Result<T, E = XendError> = std::result::Result<T, E>;

/// Why a xend configuration cannot be read or used. The message names the file, and the
/// line when there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XendError {
    /// The file cannot be read.
    #[error("reading xend configuration `{}`", path.display())]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file is not a configuration at all (not a regular file, or far too large).
    #[error("`{}` {problem}: a xend configuration is a small text file", path.display())]
    NotAConfig {
        /// The file.
        path: PathBuf,
        /// What it is instead ("is not a regular file", "is 2097152 bytes").
        problem: String,
    },
    /// A line of the configuration that cannot be used (or, for a missing key, its last line).
    #[error("`{}` line {line}: {problem}", path.display())]
    Line {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
}
