//! The seam between typed calls and the wire: a [`Transport`] sends one call and returns
//! the value of XAPI's `Success` envelope. Two implementations speak to real hosts:
//! [`XmlRpcTransport`] (`POST /`) and [`JsonRpcTransport`] (`POST /jsonrpc`); a test may
//! supply its own.

mod jsonrpc;
mod xmlrpc;

use std::fmt;

use serde::de::DeserializeOwned;

pub use jsonrpc::JsonRpcTransport;
pub use xmlrpc::XmlRpcTransport;

use crate::error::{Result, XenApiError};
use crate::http::Endpoint;
use crate::rpc::{Envelope, Fault, Value, decode_envelope_as, from_value};

/// Sends XAPI calls to one host.
pub trait Transport: fmt::Debug + Send + Sync {
    /// Calls `method` with positional `params` (the session ref first, except for login).
    /// Returns the `Value` of a `Success`; a `Failure` is [`XenApiError::Api`] with XAPI's
    /// code and parameters.
    fn call(&self, method: &str, params: &[Value]) -> Result<Value>;

    /// The host this transport talks to.
    fn endpoint(&self) -> &Endpoint;

    /// A transport with the same settings (scheme, port, TLS, timeouts) to another host of
    /// the pool, as `HOST_IS_SLAVE` requires.
    fn for_host(&self, host: &str) -> Result<Box<dyn Transport>>;

    /// Calls `method` and hands over the answer as received when it is an XML-RPC document,
    /// so that the session decodes it straight into the expected type (much faster for
    /// `get_all_records` of a large pool). The default decodes with [`Transport::call`].
    fn call_reply(&self, method: &str, params: &[Value]) -> Result<Reply> {
        self.call(method, params).map(Reply::Decoded)
    }
}

/// An answer as [`Transport::call_reply`] hands it over.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// The value of a `Success` (a `Failure` was already returned as an error).
    Decoded(Value),
    /// A whole XML-RPC `<methodResponse>` document, envelope not yet examined.
    XmlRpc(String),
}

impl Reply {
    /// The answer converted to `T`; a `Failure` envelope becomes [`XenApiError::Api`].
    pub fn decode<T: DeserializeOwned>(self, endpoint: &Endpoint, method: &str) -> Result<T> {
        let codec = |source| XenApiError::Codec {
            context: format!("the answer to {method} from {endpoint}"),
            source,
        };
        match self {
            Reply::Decoded(value) => from_value(value).map_err(codec),
            Reply::XmlRpc(text) => {
                let envelope = decode_envelope_as::<T>(&text)
                    .map_err(codec)?
                    .map_err(|fault| fault_error(endpoint, method, &fault))?;
                unwrap_envelope(endpoint, method, envelope)
            }
        }
    }
}

/// A `<fault>`, which XAPI never sends for API errors: something else answered.
fn fault_error(endpoint: &Endpoint, method: &str, fault: &Fault) -> XenApiError {
    XenApiError::protocol(
        endpoint,
        format!(
            "{method}: XML-RPC fault {} ({}) instead of XAPI's Status struct",
            fault.code, fault.message
        ),
    )
}

/// Which wire format a session uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// XML-RPC at `POST /`: every XAPI version speaks it.
    #[default]
    XmlRpc,
    /// JSON-RPC 2.0 at `POST /jsonrpc` (XenServer 7.3 and later, XCP-ng 8).
    JsonRpc,
}

/// The value of a `Success`, or the `Failure` as an error naming host and method.
fn unwrap_envelope<T>(endpoint: &Endpoint, method: &str, envelope: Envelope<T>) -> Result<T> {
    match envelope {
        Envelope::Success(value) => Ok(value),
        Envelope::Failure(mut description) => {
            let code = if description.is_empty() {
                "UNKNOWN_ERROR".to_owned()
            } else {
                description.remove(0)
            };
            Err(XenApiError::Api {
                host: endpoint.to_string(),
                method: method.to_owned(),
                code,
                params: description,
            })
        }
    }
}

/// The answer's text, which both wire formats require to be UTF-8.
fn utf8<'a>(endpoint: &Endpoint, method: &str, body: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(body).map_err(|e| not_utf8(endpoint, method, e))
}

/// [`utf8`], keeping the answer's buffer.
fn utf8_owned(endpoint: &Endpoint, method: &str, body: Vec<u8>) -> Result<String> {
    String::from_utf8(body).map_err(|e| not_utf8(endpoint, method, e.utf8_error()))
}

fn not_utf8(endpoint: &Endpoint, method: &str, error: std::str::Utf8Error) -> XenApiError {
    XenApiError::protocol(
        endpoint,
        format!("the answer to {method} is not UTF-8: {error}"),
    )
}
