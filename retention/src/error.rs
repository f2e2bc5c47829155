//! The crate's one error type. Its message names what failed and where (which directory,
//! which backup, which input field); the underlying cause, if any, is its `source()`.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = RetentionError> = std::result::Result<T, E>;

/// Everything that can go wrong reading a policy or backups, or applying a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// An I/O operation failed; `action` says which, and on what.
    #[error("{action}")]
    Io {
        /// For example "renaming `/backup/vm1/2026-11-22T013005Z` to `…/.deleting-…`".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A value that cannot be used: a time without an offset, a malformed duration, a JSON
    /// document of the wrong shape. `location` names the field or input position.
    #[error("{location}: {problem}")]
    Invalid {
        /// For example `backups[3].time` or `input line 4 column 17`.
        location: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A plan that does not match the directory it is applied to (a backup to remove that
    /// the scan did not find).
    #[error("`{}`: cannot apply the plan: {problem}", dir.display())]
    PlanMismatch {
        /// The per-VM backup directory.
        dir: PathBuf,
        /// What does not match.
        problem: String,
    },
}

impl RetentionError {
    /// An I/O error with its context: `action` describes what was being done.
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        RetentionError::Io {
            action: action.into(),
            source,
        }
    }

    /// An invalid value at `location`.
    pub(crate) fn invalid(location: impl Into<String>, problem: impl Into<String>) -> Self {
        RetentionError::Invalid {
            location: location.into(),
            problem: problem.into(),
        }
    }
}
