//! A TCP socket whose blocking reads and writes give up on time, and on request.
//!
//! A read or write waits at most [`Timeouts::io`](super::Timeouts) for the peer (the
//! deadline is that of one read or write, as before), but the socket's own timeout is only
//! a short slice: between slices the wait checks a [`Stop`] flag, so a Ctrl-C or SIGTERM
//! that sets it ends a stalled transfer, or a login to a host that never answers, within a
//! fraction of a second instead of after the whole deadline. A wait that ends is reported as
//! what it is: a timeout naming the peer and what was waited for, or a stop
//! ([`Stopped`]), never as the socket's `EAGAIN` ("Resource temporarily unavailable").
//!
//! A stop interrupts the waits that were under way when it came. A wait that begins once
//! the flag is set runs to its deadline: that is the cleanup after the stop (destroying a
//! snapshot, a task, logging out), which must still reach the host.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a blocked read, write or connect goes without looking at the stop flag.
const SLICE: Duration = Duration::from_millis(200);

/// A shared "stop now" flag (set from a signal handler, for example with
/// `signal_hook::flag::register`). Connections made with it stop waiting for the host once
/// it is set; see [`Connector::with_stop`](super::Connector::with_stop).
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that is not set.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Shares an existing flag (the one a signal handler sets).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Stop(flag)
    }

    /// Sets the flag.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stop").field(&self.is_set()).finish()
    }
}

/// Two `Stop`s are equal when they share one flag.
impl PartialEq for Stop {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Stop {}

/// The cause of an I/O error that ended a wait because a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped on request")
    }
}

impl std::error::Error for Stopped {}

/// Whether an I/O error is a [`Stopped`].
pub(crate) fn is_stopped(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<Stopped>)
}

fn stopped() -> io::Error {
    io::Error::other(Stopped)
}

/// A connected socket with sliced waits (see the module documentation).
pub(crate) struct Socket {
    tcp: TcpStream,
    /// `host:port`, for messages.
    peer: String,
    deadline: Duration,
    stop: Option<Stop>,
}

impl Socket {
    /// Connects to `address` within `timeout`, giving up early when `stop` is set.
    pub(crate) fn connect(
        address: SocketAddr,
        timeout: Duration,
        stop: Option<&Stop>,
    ) -> io::Result<TcpStream> {
        let Some(stop) = stop.filter(|s| !s.is_set()) else {
            return TcpStream::connect_timeout(&address, timeout);
        };
        // std cannot resume an interrupted connect: it runs on a helper thread, which ends
        // by itself within `timeout` (closing the socket) if the caller stopped waiting.
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("xenapi-connect".into())
            .spawn(move || {
                let _ = sender.send(TcpStream::connect_timeout(&address, timeout));
            })?;
        loop {
            match receiver.recv_timeout(SLICE) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) if stop.is_set() => return Err(stopped()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other(
                        "the connecting thread ended without a result",
                    ));
                }
            }
        }
    }

    /// Wraps a connected socket: each read or write waits for the peer at most `deadline`.
    pub(crate) fn new(
        tcp: TcpStream,
        peer: String,
        deadline: Duration,
        stop: Option<Stop>,
    ) -> io::Result<Socket> {
        let slice = if stop.is_some() {
            deadline.min(SLICE)
        } else {
            deadline
        };
        tcp.set_read_timeout(Some(slice))?;
        tcp.set_write_timeout(Some(slice))?;
        tcp.set_nodelay(true)?;
        Ok(Socket {
            tcp,
            peer,
            deadline,
            stop,
        })
    }

    /// The TCP socket (for a half-close).
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Repeats `attempt` over the socket's timeout slices until it succeeds, fails for
    /// another reason, the deadline passes, or a stop comes.
    fn wait<T>(
        &mut self,
        waiting_for: &str,
        mut attempt: impl FnMut(&mut TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        let stoppable = self.stop.as_ref().filter(|s| !s.is_set());
        let started = Instant::now();
        loop {
            match attempt(&mut self.tcp) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if stoppable.is_some_and(Stop::is_set) {
                        return Err(stopped());
                    }
                    if started.elapsed() >= self.deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "timed out: {waiting_for} {} for {} s",
                                self.peer,
                                self.deadline.as_secs_f64()
                            ),
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait("no data from", |tcp| tcp.read(buf))
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wait("no data taken by", |tcp| tcp.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A listener that accepts and never answers, and a socket connected to it.
    fn silent_peer(deadline: Duration, stop: Option<Stop>) -> (TcpListener, Socket) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let tcp = Socket::connect(address, Duration::from_secs(5), stop.as_ref()).unwrap();
        let socket = Socket::new(tcp, address.to_string(), deadline, stop).unwrap();
        (listener, socket)
    }

    #[test]
    fn a_silent_peer_is_a_timeout_naming_it() {
        let (listener, mut socket) = silent_peer(Duration::from_millis(300), None);
        let started = Instant::now();
        let error = socket.read(&mut [0; 16]).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let peer = listener.local_addr().unwrap().to_string();
        assert_eq!(
            error.to_string(),
            format!("timed out: no data from {peer} for 0.3 s")
        );
    }

    #[test]
    fn a_stop_ends_a_blocked_read_at_once_but_not_a_read_begun_after_it() {
        let stop = Stop::new();
        let (_listener, mut socket) = silent_peer(Duration::from_secs(60), Some(stop.clone()));
        let setter = stop.clone();
        let timer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            setter.stop();
        });
        let started = Instant::now();
        let error = socket.read(&mut [0; 16]).unwrap_err();
        timer.join().unwrap();
        assert!(is_stopped(&error), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // Cleanup after the stop still waits for the host, to its deadline.
        let (_listener, mut socket) = silent_peer(Duration::from_millis(500), Some(stop));
        let error = socket.read(&mut [0; 16]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    }
}
