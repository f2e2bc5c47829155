//! `sim-http`: what the simulators (`xapi-sim`, `ovirt-sim`) and the tests that need a TLS
//! server share.
//!
//! - [`Server`]: accepts on listeners, one thread per connection, and closes every connection
//!   on shutdown. What a connection means is the simulator's handler.
//! - [`Stream`]: plain HTTP and TLS on the same port (told apart by the first byte);
//!   [`read_request`] and the `write_*` helpers speak HTTP/1.1 on it.
//! - [`tls`]: test certificates made by rcgen (self-signed, or a test CA issuing server
//!   certificates), their PEM files and SHA-256 fingerprints, and rustls server configurations.
//!
//! Written by hand rather than on an HTTP server library: the simulators must control the
//! wire exactly (answer before reading a body, close mid-stream, cut a connection), which a
//! server framework hides.
//!
//! ```no_run
//! use std::io::BufReader;
//! use sim_http::{Server, Stream, bind, read_request, write_full, tls};
//!
//! let identity = tls::Identity::generate(&["127.0.0.1", "localhost"])?;
//! let config = identity.config.clone();
//! let listener = bind("127.0.0.1:0".parse().unwrap())?;
//! let mut server = Server::new();
//! server.serve(listener, "hello", move |tcp| {
//!     let mut connection = BufReader::new(Stream::accept(tcp, &config)?);
//!     while let Some(_request) = read_request(&mut connection)? {
//!         write_full(connection.get_mut(), 200, "text/plain", b"hello\n", true, &[])?;
//!     }
//!     Ok(())
//! })?;
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod conn;
mod request;
mod response;
mod server;
pub mod tls;

pub use conn::Stream;
pub use request::{
    MAX_RPC_BODY, Request, parse_query, percent_decode, read_request, read_rpc_body,
};
pub use response::{reason, write_error, write_full, write_head};
pub use server::{Connection, READ_BUFFER, Server, bind};

/// What went wrong making a certificate or a TLS configuration, or reading one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A file or socket operation failed.
    #[error("{action}")]
    Io {
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// rcgen or rustls refused.
    #[error("TLS: {0}")]
    Tls(String),
}

impl HttpError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> HttpError {
        HttpError::Io {
            action: action.into(),
            source,
        }
    }
}
