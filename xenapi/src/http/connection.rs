//! Connections: TCP with timeouts (and a stop flag, see [`Socket`]), then TLS for https.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, ClientConnection, StreamOwned};

use super::socket::{Socket, Stop};
use super::{Endpoint, Scheme};
use crate::error::{Result, XenApiError};
use crate::tls::TlsTrust;

/// Network timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP connection (per resolved address).
    pub connect: Duration,
    /// Any single read or write (a stalled server or a dead link is noticed after this;
    /// a [`Stop`] ends the wait sooner).
    pub io: Duration,
}

impl Default for Timeouts {
    /// 30 s to connect, 5 min per read or write (XAPI may be slow to start an export).
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            io: Duration::from_secs(300),
        }
    }
}

/// Opens connections to XAPI hosts with one TLS configuration and one set of timeouts,
/// shared by RPC calls and transfers. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    tls: Arc<ClientConfig>,
    timeouts: Timeouts,
    stop: Option<Stop>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("timeouts", &self.timeouts)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector that trusts `trust` (built now: a bad CA file fails here, and the
    /// insecure mode logs its warning here).
    pub fn new(trust: &TlsTrust, timeouts: Timeouts) -> Result<Connector> {
        Ok(Connector {
            tls: trust.client_config()?,
            timeouts,
            stop: None,
        })
    }

    /// The same connector, whose connections stop waiting for the host once `stop` is set
    /// (a connect, a read or a write under way then fails with [`XenApiError::Stopped`]);
    /// `None` waits out every timeout.
    #[must_use]
    pub fn with_stop(mut self, stop: Option<Stop>) -> Connector {
        self.stop = stop;
        self
    }

    /// Connects to `endpoint` and, for https, completes the TLS handshake.
    pub(crate) fn connect(&self, endpoint: &Endpoint) -> Result<Stream> {
        let host = endpoint.authority();
        let connect_error = |source: io::Error| {
            if super::socket::is_stopped(&source) {
                XenApiError::Stopped {
                    operation: "connecting".to_owned(),
                    url: endpoint.to_string(),
                }
            } else {
                XenApiError::Connect {
                    host: host.clone(),
                    source,
                }
            }
        };
        let addresses = (endpoint.host(), endpoint.port())
            .to_socket_addrs()
            .map_err(connect_error)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
        let mut socket = None;
        for address in addresses {
            match Socket::connect(address, self.timeouts.connect, self.stop.as_ref()) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(e) if super::socket::is_stopped(&e) => return Err(connect_error(e)),
                Err(e) => last = e,
            }
        }
        let socket = socket.ok_or_else(|| connect_error(last))?;
        let mut socket = Socket::new(socket, host.clone(), self.timeouts.io, self.stop.clone())
            .map_err(connect_error)?;
        if endpoint.scheme() == Scheme::Http {
            return Ok(Stream::Plain(socket));
        }
        let name = ServerName::try_from(endpoint.host().to_owned()).map_err(|e| {
            XenApiError::InvalidUrl {
                url: endpoint.to_string(),
                message: e.to_string(),
            }
        })?;
        let tls_error = |source: io::Error| {
            if super::socket::is_stopped(&source) {
                XenApiError::Stopped {
                    operation: "the TLS handshake".to_owned(),
                    url: endpoint.to_string(),
                }
            } else {
                XenApiError::Tls {
                    host: host.clone(),
                    source,
                }
            }
        };
        let mut connection = ClientConnection::new(self.tls.clone(), name)
            .map_err(|e| tls_error(io::Error::other(e)))?;
        while connection.is_handshaking() {
            connection
                .complete_io(&mut socket)
                .map_err(|e| tls_error(readable(e)))?;
        }
        tracing::debug!(%endpoint, "TLS connection established");
        Ok(Stream::Tls(Box::new(StreamOwned::new(connection, socket))))
    }
}

/// rustls shows a verifier's own error by its `Debug` form; this shows its message.
fn readable(error: io::Error) -> io::Error {
    let custom = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|tls| match tls {
            rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
                Some(format!("invalid peer certificate: {}", other.0))
            }
            _ => None,
        });
    match custom {
        Some(message) => io::Error::new(error.kind(), message),
        None => error,
    }
}

/// An open connection, plain or TLS.
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<StreamOwned<ClientConnection, Socket>>),
}

impl Stream {
    /// Ends the request body: TLS `close_notify`, then a TCP half-close. The response can
    /// still be read.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.tcp().shutdown(Shutdown::Write),
            Stream::Tls(tls) => {
                tls.conn.send_close_notify();
                tls.flush()?;
                tls.sock.tcp().shutdown(Shutdown::Write)
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}
