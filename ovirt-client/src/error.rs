//! The crate's one error type. A message names what was being done (the request, the
//! object, the URL) and what the engine or daemon said; the underlying cause is `source()`.

use std::time::Duration;

/// Result with [`OvirtError`].
pub type Result<T, E = OvirtError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an engine or an imageio daemon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OvirtError {
    /// The connection settings are unusable (bad URL, unreadable CA file, bad pin).
    #[error("{0}")]
    Settings(String),
    /// TLS trust could not be established (fingerprint mismatch, bad certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// The request did not get an HTTP answer (connection refused, TLS handshake, timeout).
    #[error("{what}: {source}")]
    Http {
        /// The request.
        what: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The engine answered with a fault body.
    #[error("{what}: HTTP {status}: {reason}: {detail}")]
    Fault {
        /// The request.
        what: String,
        /// HTTP status (200 for a fault inside an accepted action).
        status: u16,
        /// The fault's reason.
        reason: String,
        /// The fault's detail.
        detail: String,
    },
    /// The engine answered with an unexpected status and no fault body.
    #[error("{what}: unexpected HTTP {status}: {body}")]
    Status {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// Single sign-on refused the credentials or failed.
    #[error("SSO login to {engine} as {user}: {code}: {description}")]
    Sso {
        /// The engine.
        engine: String,
        /// The user name.
        user: String,
        /// The SSO error code (`access_denied`).
        code: String,
        /// The SSO error text.
        description: String,
    },
    /// A body could not be parsed (malformed, or an enumeration value the model lacks).
    #[error("reading the answer to {what}: {source}")]
    Xml {
        /// The request.
        what: String,
        /// The parse error.
        #[source]
        source: quick_xml::DeError,
    },
    /// A request body could not be written.
    #[error("writing the body of {what}: {source}")]
    XmlWrite {
        /// The request.
        what: String,
        /// The serializer error.
        #[source]
        source: quick_xml::SeError,
    },
    /// A JSON body (SSO, imageio) could not be parsed.
    #[error("reading the answer to {what}: {source}")]
    Json {
        /// The request.
        what: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A wait ran past its deadline.
    #[error("{what}: still {state} after {waited:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The last state seen.
        state: String,
        /// How long it waited.
        waited: Duration,
    },
    /// An object reached a state that means failure (a disk `illegal`, a transfer
    /// `finished_failure`, a job `failed`).
    #[error("{what}: {state}")]
    Failed {
        /// The object.
        what: String,
        /// The state it reached, or what happened.
        state: String,
    },
    /// An object that must exist is gone or was never there.
    #[error("{what}: not found")]
    NotFound {
        /// The object.
        what: String,
    },
    /// The imageio daemon answered with an error.
    #[error("imageio {what}: HTTP {status}: {message}")]
    Imageio {
        /// The request (method, offset, URL).
        what: String,
        /// HTTP status (403: ticket gone or not allowed; 416: outside the image).
        status: u16,
        /// The daemon's plain-text explanation.
        message: String,
    },
    /// The data path broke its own rules (short body, wrong size, missing feature).
    #[error("imageio {what}: {problem}")]
    Protocol {
        /// The request.
        what: String,
        /// What was wrong.
        problem: String,
    },
    /// Reading the source or writing the sink failed.
    #[error("{what}: {source}")]
    Disk {
        /// The transfer.
        what: String,
        /// The disk-image error.
        #[source]
        source: disk_image::DiskImageError,
    },
    /// The caller's stop flag was raised while waiting or moving data.
    #[error("{what}: stopped on request")]
    Cancelled {
        /// What was being done.
        what: String,
    },
    /// A local I/O error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Texts of engine faults that mean "busy, try again later" (go-ovirt-client's list).
const BUSY_TEXTS: [&str; 5] = [
    "disk is locked",
    "vm is locked",
    "related operation is currently in progress",
    "failed to hot-plug disk",
    "409 conflict",
];

impl OvirtError {
    /// Whether the engine was busy (a locked disk or VM, a conflicting operation, HTTP 409),
    /// so that the same request may succeed later. Bad arguments, missing objects and
    /// refused permissions are not busy.
    pub fn is_busy(&self) -> bool {
        match self {
            OvirtError::Fault {
                status,
                reason,
                detail,
                ..
            } => {
                let text = format!("{reason} {detail}").to_lowercase();
                *status == 409 || BUSY_TEXTS.iter().any(|busy| text.contains(busy))
            }
            OvirtError::Status { status, .. } => *status == 409,
            _ => false,
        }
    }

    /// Whether the engine said the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            OvirtError::NotFound { .. }
                | OvirtError::Fault { status: 404, .. }
                | OvirtError::Status { status: 404, .. }
        )
    }

    pub(crate) fn http(what: &str, source: reqwest::Error) -> Self {
        OvirtError::Http {
            what: what.to_owned(),
            source: source.without_url(),
        }
    }
}
