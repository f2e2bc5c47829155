//! The crate's one error type. Its message names what is wrong and where (which input
//! field or position).

/// Result alias of this crate.
pub type Result<T, E = RetentionError> = std::result::Result<T, E>;

/// Everything that can go wrong reading a policy or backups.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// A value that cannot be used: a time without an offset, a malformed duration, a JSON
    /// document of the wrong shape. `location` names the field or input position.
    #[error("{location}: {problem}")]
    Invalid {
        /// For example `backups[3].time` or `input line 4 column 17`.
        location: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl RetentionError {
    /// An invalid value at `location`.
    pub(crate) fn invalid(location: impl Into<String>, problem: impl Into<String>) -> Self {
        RetentionError::Invalid {
            location: location.into(),
            problem: problem.into(),
        }
    }
}
