//! A small, exact HTTP/1.1 client over `std::net::TcpStream` and `rustls::StreamOwned`.
//!
//! Why not an HTTP library: XAPI's transfers need control that general clients do not give.
//! `PUT /import` must never use chunked transfer encoding (XAPI answers 403), yet an XVA
//! stream has no length known in advance: the body is streamed without `Content-Length` and
//! ended by a half-close, which reqwest's blocking client cannot do (it always chunks a body
//! of unknown length). `/export` answers in HTTP/1.0 style with a body delimited by the end
//! of the connection, a 200 may carry a whole `HTTP/1.1 500` response as its body, and a 302
//! must be followed to another host while keeping the task. The same client also carries
//! the RPC calls (`POST /` and `POST /jsonrpc`), keeping one idle connection alive between
//! calls, so the crate needs no async runtime and one TLS configuration serves everything.
//!
//! What it does: a request line and headers; a response status line and headers (interim
//! `1xx` skipped); a body framed by `Content-Length`, `chunked`, or EOF. Connect and
//! per-read/write timeouts come from [`Timeouts`]; a [`Stop`] ends any wait for the host
//! within a fraction of a second (module `socket`).

mod connection;
mod endpoint;
mod message;
mod socket;

use std::io::{BufReader, Read, Write};
use std::sync::Mutex;

pub(crate) use connection::Stream;
pub use connection::{Connector, Timeouts};
pub(crate) use endpoint::Target;
pub use endpoint::{Endpoint, Scheme, redact_credentials};
pub(crate) use message::{BodyReader, Framing, ResponseHead, write_request_head};
pub(crate) use socket::is_stopped;
pub use socket::{Stop, Stopped};

use crate::error::{Result, XenApiError};

/// The read buffer of a connection.
pub(crate) const BUFFER: usize = 64 * 1024;

/// Posts request bodies to one URL and returns the response bodies, reusing one idle
/// keep-alive connection.
pub(crate) struct Poster {
    connector: Connector,
    endpoint: Endpoint,
    path: &'static str,
    content_type: &'static str,
    user_agent: String,
    idle: Mutex<Option<BufReader<Stream>>>,
}

/// Why an exchange on a connection failed.
enum Failure {
    /// The connection was closed before it carried the request: retry on a fresh one.
    Stale,
    Error(XenApiError),
}

impl Poster {
    pub(crate) fn new(
        connector: Connector,
        endpoint: Endpoint,
        path: &'static str,
        content_type: &'static str,
        user_agent: String,
    ) -> Self {
        Poster {
            connector,
            endpoint,
            path,
            content_type,
            user_agent,
            idle: Mutex::new(None),
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A poster with the same settings to another endpoint.
    pub(crate) fn with_endpoint(&self, endpoint: Endpoint) -> Poster {
        Poster::new(
            self.connector.clone(),
            endpoint,
            self.path,
            self.content_type,
            self.user_agent.clone(),
        )
    }

    /// `POST`s `body` and returns the body of a 200 response.
    pub(crate) fn post(&self, body: &[u8]) -> Result<Vec<u8>> {
        let idle = self.idle.lock().map_or(None, |mut slot| slot.take());
        if let Some(connection) = idle {
            match self.exchange(connection, body, true) {
                Ok(response) => return Ok(response),
                Err(Failure::Error(e)) => return Err(e),
                Err(Failure::Stale) => {
                    tracing::debug!("the idle connection was closed; reconnecting");
                }
            }
        }
        let connection = BufReader::with_capacity(BUFFER, self.connector.connect(&self.endpoint)?);
        self.exchange(connection, body, false)
            .map_err(|failure| match failure {
                Failure::Error(e) => e,
                Failure::Stale => XenApiError::protocol(
                    self.url(),
                    "the server closed the connection without answering",
                ),
            })
    }

    fn url(&self) -> String {
        format!("{}{}", self.endpoint, self.path)
    }

    fn exchange(
        &self,
        mut connection: BufReader<Stream>,
        body: &[u8],
        reused: bool,
    ) -> Result<Vec<u8>, Failure> {
        let operation = format!("POST {}", self.path);
        let headers = [
            ("User-Agent", self.user_agent.clone()),
            ("Content-Type", self.content_type.to_owned()),
            ("Content-Length", body.len().to_string()),
        ];
        let stream = connection.get_mut();
        let sent = write_request_head(stream, "POST", &self.endpoint, self.path, &headers)
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush());
        let head = sent
            .map_err(|e| (format!("sending {operation}"), e))
            .and_then(|()| {
                ResponseHead::read(&mut connection)
                    .map_err(|e| (format!("reading the answer to {operation}"), e))
            });
        let head = match head {
            Ok(head) => head,
            Err((_, e)) if reused && is_stale(&e) => return Err(Failure::Stale),
            Err((doing, e)) => return Err(Failure::Error(XenApiError::io(doing, self.url(), e))),
        };
        let framing = head
            .framing()
            .map_err(|e| Failure::Error(XenApiError::io(&operation, self.url(), e)))?;
        let mut reader = BodyReader::new(connection, framing);
        let mut response = match framing {
            Framing::Length(n) => Vec::with_capacity(usize::try_from(n).unwrap_or(0)),
            _ => Vec::new(),
        };
        reader.read_to_end(&mut response).map_err(|e| {
            Failure::Error(XenApiError::io(
                format!("reading the answer to {operation}"),
                self.url(),
                e,
            ))
        })?;
        if head.status != 200 {
            return Err(Failure::Error(XenApiError::Http {
                operation,
                url: self.url(),
                status: head.status,
                reason: explain(&head.reason, &response),
            }));
        }
        if head.keep_alive()
            && reader.is_complete()
            && let Ok(mut slot) = self.idle.lock()
        {
            *slot = Some(reader.into_inner());
        }
        Ok(response)
    }
}

/// An error that means "the server had closed this kept-alive connection".
fn is_stale(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        error.kind(),
        BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
    )
}

/// The reason phrase, plus the start of the body when it says more (XAPI's 500 pages do).
pub(crate) fn explain(reason: &str, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {text}")
    }
}
