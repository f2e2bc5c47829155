//! The client's error type.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::Ref;
use crate::rpc::CodecError;

/// The result of every client operation.
pub type Result<T, E = XenApiError> = std::result::Result<T, E>;

/// Everything that can go wrong between this client and a XAPI host.
///
/// The message names what was being done and where (method, URL, host, task); the
/// underlying cause, if any, is the [`source`](std::error::Error::source) (print the chain,
/// for example with `{:#}` in `anyhow`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XenApiError {
    /// XAPI refused a call: `{Status: Failure, ErrorDescription: [code, params…]}`.
    #[error("{host}: {method} failed: {}", Description(code, params))]
    Api {
        /// The host that answered.
        host: String,
        /// The XAPI method (`VM.snapshot`).
        method: String,
        /// XAPI's error code (`VM_BAD_POWER_STATE`).
        code: String,
        /// The error's parameters.
        params: Vec<String>,
    },
    /// A task (of an `Async.*` call or an HTTP transfer) ended in failure.
    #[error("task {task} ({label}) failed: {}", Description(code, params))]
    TaskFailed {
        /// The task.
        task: Ref,
        /// The task's name label (the operation it tracked).
        label: String,
        /// XAPI's error code.
        code: String,
        /// The error's parameters.
        params: Vec<String>,
    },
    /// A task was cancelled.
    #[error("task {task} ({label}) was cancelled")]
    TaskCancelled {
        /// The task.
        task: Ref,
        /// The task's name label.
        label: String,
    },
    /// A task did not finish before its deadline. The task is left as it is.
    #[error("task {task} ({label}) still pending after {:.1} s", elapsed.as_secs_f64())]
    Timeout {
        /// The task.
        task: Ref,
        /// The task's name label.
        label: String,
        /// How long the client waited.
        elapsed: Duration,
    },
    /// A document or value could not be encoded or decoded.
    #[error("{context}: cannot decode or encode the XAPI data")]
    Codec {
        /// What was being decoded (`the answer to VM.get_all_records from host`).
        context: String,
        /// The codec's report.
        #[source]
        source: CodecError,
    },
    /// An HTTP response whose status is not the one expected.
    #[error("{operation} {url}: HTTP {status} {reason}")]
    Http {
        /// The request (`GET /export`, `POST /`).
        operation: String,
        /// The URL, without credentials or session.
        url: String,
        /// The status code.
        status: u16,
        /// The reason phrase, or the start of the body when it explains more.
        reason: String,
    },
    /// The server broke the protocol (malformed HTTP, a 200 that carries an error, a
    /// redirect without a location, …).
    #[error("{url}: {message}")]
    Protocol {
        /// The URL, without credentials or session.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// No TCP connection could be made.
    #[error("cannot connect to {host}")]
    Connect {
        /// `host:port`.
        host: String,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake failed: an untrusted or unpinned certificate, a name mismatch, …
    #[error("TLS handshake with {host} failed")]
    Tls {
        /// `host:port`.
        host: String,
        /// rustls' report, inside an I/O error.
        #[source]
        source: io::Error,
    },
    /// The TLS settings cannot be used (an unreadable CA file, a bad fingerprint).
    #[error("invalid TLS settings: {message}")]
    TlsSettings {
        /// What is wrong.
        message: String,
        /// The I/O error behind it, if any.
        #[source]
        source: Option<io::Error>,
    },
    /// Reading or writing a connection failed.
    #[error("{operation} {url}")]
    Io {
        /// What was being done (`reading the response to POST /`).
        operation: String,
        /// The URL, without credentials or session.
        url: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A wait for the host (connecting, reading, writing) was ended because a stop was
    /// asked for ([`Stop`](crate::Stop)).
    #[error("{operation} {url}: stopped on request")]
    Stopped {
        /// What was being done.
        operation: String,
        /// The URL, without credentials or session.
        url: String,
    },
    /// A URL that is not `http(s)://host[:port][/…]`.
    #[error("invalid URL `{url}`: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
}

impl XenApiError {
    /// XAPI's error code, for a refused call or a failed task.
    pub fn code(&self) -> Option<&str> {
        match self {
            XenApiError::Api { code, .. } | XenApiError::TaskFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// XAPI's error parameters, for a refused call or a failed task (empty otherwise).
    pub fn params(&self) -> &[String] {
        match self {
            XenApiError::Api { params, .. } | XenApiError::TaskFailed { params, .. } => params,
            _ => &[],
        }
    }

    /// Whether this error ended a wait because a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        matches!(self, XenApiError::Stopped { .. })
    }

    /// An I/O error of `operation` on `url`; [`XenApiError::Stopped`] when a stop ended it.
    pub(crate) fn io(
        operation: impl Into<String>,
        url: impl fmt::Display,
        source: io::Error,
    ) -> Self {
        if crate::http::is_stopped(&source) {
            return XenApiError::Stopped {
                operation: operation.into(),
                url: url.to_string(),
            };
        }
        XenApiError::Io {
            operation: operation.into(),
            url: url.to_string(),
            source,
        }
    }

    pub(crate) fn protocol(url: impl fmt::Display, message: impl Into<String>) -> Self {
        XenApiError::Protocol {
            url: url.to_string(),
            message: message.into(),
        }
    }
}

/// `CODE [param, param]`, as XAPI's error descriptions read best.
struct Description<'a>(&'a str, &'a [String]);

impl fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        if !self.1.is_empty() {
            write!(f, " [{}]", self.1.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_code_params_and_context() {
        let err = XenApiError::Api {
            host: "https://pool:443".into(),
            method: "VM.start".into(),
            code: "VM_BAD_POWER_STATE".into(),
            params: vec!["OpaqueRef:1".into(), "halted".into(), "running".into()],
        };
        assert_eq!(
            err.to_string(),
            "https://pool:443: VM.start failed: VM_BAD_POWER_STATE [OpaqueRef:1, halted, running]"
        );
        assert_eq!(err.code(), Some("VM_BAD_POWER_STATE"));
        let timeout = XenApiError::Timeout {
            task: Ref::new("OpaqueRef:t"),
            label: "export".into(),
            elapsed: Duration::from_millis(1500),
        };
        assert_eq!(
            timeout.to_string(),
            "task OpaqueRef:t (export) still pending after 1.5 s"
        );
        assert_eq!(timeout.code(), None);
        assert!(timeout.params().is_empty());
    }
}
