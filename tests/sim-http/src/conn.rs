//! A client connection, plain or TLS: both are accepted on the same port, told apart by
//! the first byte (`0x16` opens a TLS handshake).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A connection's byte stream.
pub enum Stream {
    /// Plain HTTP.
    Plain(TcpStream),
    /// HTTPS.
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    /// Wraps an accepted socket, starting TLS if the client speaks it.
    pub fn accept(tcp: TcpStream, tls: &Arc<ServerConfig>) -> io::Result<Stream> {
        let mut first = [0u8; 1];
        let n = tcp.peek(&mut first)?;
        if n == 1 && first[0] == TLS_HANDSHAKE {
            let connection = ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?;
            Ok(Stream::Tls(Box::new(StreamOwned::new(connection, tcp))))
        } else {
            Ok(Stream::Plain(tcp))
        }
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }

    /// Sets (or clears) the read timeout of the socket.
    pub fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// Ends the connection: TLS sends its `close_notify` first unless `abrupt` (a cut
    /// connection looks like a network failure).
    pub fn close(&mut self, abrupt: bool) {
        if let Stream::Tls(tls) = self
            && !abrupt
        {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => match tls.read(buf) {
                // A peer closing without close_notify: the end of the stream all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}
