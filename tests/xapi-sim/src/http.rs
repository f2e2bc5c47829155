//! The HTTP/1.1 server, written by hand so that the wire behaves like XAPI's: one thread per
//! connection, keep-alive for RPC, transfers answered `200` before the work and closed at
//! the end, plain HTTP and TLS on the same port. The server, the requests and responses and
//! the certificate are the simulators' shared `sim-http`; what a connection means is here.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

pub(crate) use sim_http::{Connection, Request, Stream, write_error, write_full, write_head};
use sim_http::{HttpError, READ_BUFFER, read_request, read_rpc_body};

use crate::error::{Result, SimError};
use crate::faults::Endpoint;
use crate::rpc;
use crate::shared::HostCtx;
use crate::transfer;

/// The hosts' TLS identity (`sim_http::tls`), with the simulator's errors.
pub(crate) mod tls {
    use std::path::Path;

    pub(crate) use sim_http::tls::Identity;

    use crate::error::Result;

    /// A new self-signed identity, or the one kept in `dir` (made and kept there if absent).
    pub(crate) fn identity(dir: Option<&Path>) -> Result<Identity> {
        sim_http::tls::identity(dir).map_err(super::sim_error)
    }
}

fn sim_error(error: HttpError) -> SimError {
    match error {
        HttpError::Io { action, source } => SimError::io(action, source),
        HttpError::Tls(message) => SimError::Tls(message),
        other => SimError::Tls(other.to_string()),
    }
}

/// The running listeners.
pub(crate) struct Server(sim_http::Server);

/// Binds `address` (port 0: an ephemeral port).
pub(crate) fn bind(address: SocketAddr) -> Result<TcpListener> {
    sim_http::bind(address).map_err(sim_error)
}

impl Server {
    pub(crate) fn new() -> Self {
        Server(sim_http::Server::new())
    }

    /// Serves `listener` as the host of `ctx`, on a thread of its own.
    pub(crate) fn serve(&mut self, listener: TcpListener, ctx: HostCtx) -> Result<()> {
        self.0
            .serve(listener, "xapi-sim", move |tcp| serve_connection(&ctx, tcp))
            .map_err(sim_error)
    }

    /// Stops accepting, closes every connection and waits for the listeners.
    pub(crate) fn shutdown(&mut self) {
        self.0.shutdown();
    }
}

fn serve_connection(ctx: &HostCtx, tcp: TcpStream) -> io::Result<()> {
    let stream = Stream::accept(tcp, &ctx.shared.tls)?;
    let mut connection = BufReader::with_capacity(READ_BUFFER, stream);
    loop {
        let request = match read_request(&mut connection) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                let _ = write_error(connection.get_mut(), 400, &error.to_string());
                break;
            }
            Err(error) => return Err(error),
        };
        if let Some(endpoint) = Endpoint::from_path(&request.path) {
            // Transfers always end the connection; the handler closes it.
            return transfer::handle(ctx, endpoint, &request, connection);
        }
        if !answer_rpc(ctx, &request, &mut connection)? {
            break;
        }
    }
    connection.get_mut().close(false);
    Ok(())
}

/// Answers an RPC request (or a stray one); returns whether the connection stays open.
fn answer_rpc(ctx: &HostCtx, request: &Request, connection: &mut Connection) -> io::Result<bool> {
    if request.method != "POST" {
        let status = if request.method == "GET" && request.path == "/" {
            200
        } else {
            405
        };
        let body = "xapi-sim: XML-RPC at POST /, JSON-RPC at POST /jsonrpc\n";
        write_full(
            connection.get_mut(),
            status,
            "text/plain",
            body.as_bytes(),
            false,
            &[],
        )?;
        return Ok(false);
    }
    let body = match read_rpc_body(request, connection) {
        Ok(body) => body,
        Err(error) => {
            write_error(connection.get_mut(), 400, &error.to_string())?;
            return Ok(false);
        }
    };
    let (answer, content_type) = if request.path.trim_end_matches('/') == "/jsonrpc" {
        (rpc::handle_json(ctx, &body), "application/json")
    } else {
        (rpc::handle_xml(ctx, &body), "text/xml")
    };
    let keep_alive = request.keep_alive();
    match answer {
        Ok(text) => {
            write_full(
                connection.get_mut(),
                200,
                content_type,
                text.as_bytes(),
                keep_alive,
                &[],
            )?;
            connection.get_mut().flush()?;
            Ok(keep_alive)
        }
        Err(message) => {
            write_error(connection.get_mut(), 500, &message)?;
            Ok(false)
        }
    }
}
