//! The crate's error types: [`SimError`] for starting and driving the simulator, and
//! [`XapiError`], an error as XAPI reports it on the wire (a code and its parameters).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Something that went wrong starting, persisting or driving the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// An I/O operation failed; `action` says which and on what.
    #[error("{action}")]
    Io {
        /// For example "binding 127.0.0.1:0".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The TLS certificate or configuration could not be made.
    #[error("setting up TLS: {0}")]
    Tls(String),
    /// The saved pool in a `--state` directory cannot be read.
    #[error("reading the saved pool `{}`: {message}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A disk image operation (XVA, VHD) failed.
    #[error(transparent)]
    Disk(#[from] disk_image::DiskImageError),
    /// An operation on the pool was refused, as XAPI would refuse it.
    #[error(transparent)]
    Xapi(#[from] XapiError),
}

impl SimError {
    /// An I/O error with what was being done.
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        SimError::Io {
            action: action.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = SimError> = std::result::Result<T, E>;

/// An error as XAPI puts it on the wire: `ErrorDescription = [code, params…]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct XapiError {
    /// XAPI's error code (`VM_BAD_POWER_STATE`, `SESSION_INVALID`, …).
    pub code: String,
    /// The code's parameters, in XAPI's order.
    pub params: Vec<String>,
}

impl fmt::Display for XapiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)?;
        for param in &self.params {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

impl XapiError {
    /// An error with a code and its parameters.
    pub fn new<P: Into<String>>(code: &str, params: impl IntoIterator<Item = P>) -> Self {
        XapiError {
            code: code.to_owned(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// `[code, params…]`, as in a task's `error_info`.
    pub fn description(&self) -> Vec<String> {
        std::iter::once(self.code.clone())
            .chain(self.params.iter().cloned())
            .collect()
    }

    /// Builds an error from `[code, params…]`; an empty list gives `INTERNAL_ERROR`.
    pub fn from_description(description: &[&str]) -> Self {
        match description.split_first() {
            Some((code, params)) => XapiError::new(code, params.iter().copied()),
            None => XapiError::internal("an injected failure without an error code"),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        XapiError::new("INTERNAL_ERROR", [message.into()])
    }

    pub(crate) fn handle_invalid(class: &str, reference: &str) -> Self {
        XapiError::new("HANDLE_INVALID", [class, reference])
    }

    pub(crate) fn uuid_invalid(class: &str, uuid: &str) -> Self {
        XapiError::new("UUID_INVALID", [class, uuid])
    }

    pub(crate) fn not_allowed(reason: impl Into<String>) -> Self {
        XapiError::new("OPERATION_NOT_ALLOWED", [reason.into()])
    }
}

/// Result of an operation that XAPI could refuse.
pub(crate) type XapiResult<T> = std::result::Result<T, XapiError>;
