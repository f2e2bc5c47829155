//! The simulator's error type.

use std::io;

use crate::imageio::ImageioError;

/// What went wrong starting or running the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A file or socket operation failed.
    #[error("{action}")]
    Io {
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An external tool (qemu-img, losetup) failed.
    #[error("{command}: {detail}")]
    Tool {
        /// The command.
        command: String,
        /// Its error output.
        detail: String,
    },
    /// The imageio daemon or qemu-nbd failed.
    #[error(transparent)]
    Imageio(#[from] ImageioError),
    /// A certificate or the listener could not be made.
    #[error(transparent)]
    Http(#[from] sim_http::HttpError),
}

impl SimError {
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> SimError {
        SimError::Io {
            action: action.into(),
            source,
        }
    }
}
