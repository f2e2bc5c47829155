//! The listeners: one accept thread per listener, one thread per connection, and a registry
//! of open connections so that stopping the server closes them.

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use crate::HttpError;
use crate::conn::Stream;

/// Connection reader buffer: large, so uploads are read in big pieces.
pub const READ_BUFFER: usize = 256 * 1024;

/// A connection's reader (its writer is `get_mut()`).
pub type Connection = BufReader<Stream>;

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
pub struct Server {
    stop: Arc<AtomicBool>,
    registry: Arc<Registry>,
    listeners: Vec<(SocketAddr, JoinHandle<()>)>,
}

/// Binds `address` (port 0: an ephemeral port).
pub fn bind(address: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(address).map_err(|e| HttpError::io(format!("binding {address}"), e))
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with no listeners yet.
    pub fn new() -> Self {
        Server {
            stop: Arc::new(AtomicBool::new(false)),
            registry: Arc::new(Registry::default()),
            listeners: Vec::new(),
        }
    }

    /// Serves `listener` on a thread of its own (named after `name` and the address): each
    /// accepted connection (`TCP_NODELAY` set) goes to `handler` on a thread of its own. A
    /// handler's error is logged at debug level.
    pub fn serve<H>(
        &mut self,
        listener: TcpListener,
        name: &str,
        handler: H,
    ) -> Result<(), HttpError>
    where
        H: Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
    {
        let address = listener
            .local_addr()
            .map_err(|e| HttpError::io("reading a listener's address", e))?;
        let (stop, registry) = (Arc::clone(&self.stop), Arc::clone(&self.registry));
        let handler = Arc::new(handler);
        let name = name.to_owned();
        let thread = thread::Builder::new()
            .name(format!("{name} {address}"))
            .spawn(move || accept_loop(&listener, &name, &handler, &stop, &registry))
            .map_err(|e| HttpError::io("starting a listener thread", e))?;
        self.listeners.push((address, thread));
        Ok(())
    }

    /// Stops accepting, closes every connection and waits for the listeners.
    pub fn shutdown(&mut self) {
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

fn accept_loop<H>(
    listener: &TcpListener,
    name: &str,
    handler: &Arc<H>,
    stop: &Arc<AtomicBool>,
    registry: &Arc<Registry>,
) where
    H: Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
{
    for incoming in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = incoming else { continue };
        let _ = tcp.set_nodelay(true);
        let Some(id) = registry.add(&tcp) else {
            continue;
        };
        let (handler, registry) = (Arc::clone(handler), Arc::clone(registry));
        let spawned = thread::Builder::new()
            .name(format!("{name} connection"))
            .spawn(move || {
                if let Err(error) = handler(tcp) {
                    tracing::debug!(%error, "connection ended with an error");
                }
                registry.remove(id);
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a connection thread");
        }
    }
}
