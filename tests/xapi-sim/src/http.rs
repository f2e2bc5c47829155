//! The HTTP/1.1 server, written by hand so that the wire behaves like XAPI's: one thread per
//! connection, keep-alive for RPC, transfers answered `200` before the work and closed at
//! the end, plain HTTP and TLS on the same port.

mod conn;
mod request;
mod response;
pub(crate) mod tls;

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

pub(crate) use conn::Stream;
pub(crate) use request::Request;
pub(crate) use response::{write_error, write_full, write_head};

use crate::error::{Result, SimError};
use crate::faults::Endpoint;
use crate::rpc;
use crate::shared::HostCtx;
use crate::transfer;

/// Connection reader buffer: large, so uploads are read in big pieces.
const READ_BUFFER: usize = 256 * 1024;

/// A connection's reader (its writer is `get_mut()`).
pub(crate) type Connection = BufReader<Stream>;

/// Open connections, so that stopping the server can close them.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

impl Registry {
    fn add(&self, tcp: &TcpStream) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let clone = tcp.try_clone().ok()?;
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, clone);
        Some(id)
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    fn close_all(&self) {
        for (_, tcp) in self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The running listeners.
pub(crate) struct Server {
    stop: Arc<AtomicBool>,
    registry: Arc<Registry>,
    listeners: Vec<(SocketAddr, JoinHandle<()>)>,
}

/// Binds `address` (port 0: an ephemeral port).
pub(crate) fn bind(address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address).map_err(|e| SimError::io(format!("binding {address}"), e))
}

impl Server {
    pub(crate) fn new() -> Self {
        Server {
            stop: Arc::new(AtomicBool::new(false)),
            registry: Arc::new(Registry::default()),
            listeners: Vec::new(),
        }
    }

    /// Serves `listener` as the host of `ctx`, on a thread of its own.
    pub(crate) fn serve(&mut self, listener: TcpListener, ctx: HostCtx) -> Result<()> {
        let address = listener
            .local_addr()
            .map_err(|e| SimError::io("reading a listener's address", e))?;
        let (stop, registry) = (Arc::clone(&self.stop), Arc::clone(&self.registry));
        let thread = thread::Builder::new()
            .name(format!("xapi-sim {address}"))
            .spawn(move || accept_loop(&listener, &ctx, &stop, &registry))
            .map_err(|e| SimError::io("starting a listener thread", e))?;
        self.listeners.push((address, thread));
        Ok(())
    }

    /// Stops accepting, closes every connection and waits for the listeners.
    pub(crate) fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for (address, _) in &self.listeners {
            // Wake the blocked accept().
            let _ = TcpStream::connect(address);
        }
        for (_, thread) in self.listeners.drain(..) {
            let _ = thread.join();
        }
        self.registry.close_all();
    }
}

fn accept_loop(
    listener: &TcpListener,
    ctx: &HostCtx,
    stop: &Arc<AtomicBool>,
    registry: &Arc<Registry>,
) {
    for incoming in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = incoming else { continue };
        let _ = tcp.set_nodelay(true);
        let Some(id) = registry.add(&tcp) else {
            continue;
        };
        let (ctx, registry) = (ctx.clone(), Arc::clone(registry));
        let spawned = thread::Builder::new()
            .name("xapi-sim connection".to_owned())
            .spawn(move || {
                if let Err(error) = serve_connection(&ctx, tcp) {
                    tracing::debug!(%error, "connection ended with an error");
                }
                registry.remove(id);
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a connection thread");
        }
    }
}

fn serve_connection(ctx: &HostCtx, tcp: TcpStream) -> io::Result<()> {
    let stream = Stream::accept(tcp, &ctx.shared.tls)?;
    let mut connection = BufReader::with_capacity(READ_BUFFER, stream);
    loop {
        let request = match request::read_request(&mut connection) {
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
    let body = match request::read_rpc_body(request, connection) {
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
