//! HTTP/1.1 messages: the request head we write, the response head we read, and the
//! response body framed by `Content-Length`, `chunked`, or the end of the connection.

use std::io::{self, BufRead, Read, Write};

use super::Endpoint;

/// The most a response head may take (status line and headers).
const MAX_HEAD: u64 = 64 * 1024;

/// Writes a request line and headers (`Host` first), then the blank line.
pub(crate) fn write_request_head(
    writer: &mut impl Write,
    method: &str,
    endpoint: &Endpoint,
    target: &str,
    headers: &[(&str, String)],
) -> io::Result<()> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\n",
        endpoint.authority()
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())
}

/// A response's status line and headers.
#[derive(Debug, Clone)]
pub(crate) struct ResponseHead {
    pub(crate) status: u16,
    pub(crate) reason: String,
    /// `HTTP/1.0` (closes by default) rather than `HTTP/1.1`.
    pub(crate) http10: bool,
    headers: Vec<(String, String)>,
}

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
    /// The body runs until the server closes the connection (XAPI's `/export`).
    Eof,
}

impl ResponseHead {
    /// Reads a response head; interim `1xx` responses are skipped.
    pub(crate) fn read(reader: &mut impl BufRead) -> io::Result<ResponseHead> {
        loop {
            let head = Self::read_one(reader)?;
            if !(100..200).contains(&head.status) {
                return Ok(head);
            }
        }
    }

    fn read_one(reader: &mut impl BufRead) -> io::Result<ResponseHead> {
        let mut budget = MAX_HEAD;
        let status_line = read_line(reader, &mut budget)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection without a response",
            )
        })?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let (Some(status), true) = (status, version.starts_with("HTTP/1.")) else {
            return Err(invalid(format!(
                "not an HTTP/1.x status line: `{}`",
                status_line.chars().take(80).collect::<String>()
            )));
        };
        let mut head = ResponseHead {
            status,
            reason: parts.next().unwrap_or_default().trim().to_owned(),
            http10: version == "HTTP/1.0",
            headers: Vec::new(),
        };
        loop {
            let line = read_line(reader, &mut budget)?
                .ok_or_else(|| invalid("the response head ends before its blank line".into()))?;
            if line.is_empty() {
                return Ok(head);
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("a header line without `:`: `{line}`")))?;
            head.headers
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How the body is delimited.
    pub(crate) fn framing(&self) -> io::Result<Framing> {
        if self
            .header("Transfer-Encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            return Ok(Framing::Chunked);
        }
        if let Some(length) = self.header("Content-Length") {
            return length
                .trim()
                .parse()
                .map(Framing::Length)
                .map_err(|_| invalid(format!("a bad Content-Length `{length}`")));
        }
        if self.status == 204 || self.status == 304 {
            return Ok(Framing::Length(0));
        }
        Ok(Framing::Eof)
    }

    /// Whether the connection may carry another request after this response's body.
    pub(crate) fn keep_alive(&self) -> bool {
        let connection = self.header("Connection").map(str::to_ascii_lowercase);
        match connection.as_deref() {
            Some(c) if c.contains("close") => false,
            Some(c) if c.contains("keep-alive") => true,
            _ => !self.http10,
        }
    }
}

/// One CRLF- (or LF-) terminated line without its terminator; `None` at a clean EOF.
fn read_line(reader: &mut impl BufRead, budget: &mut u64) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = (&mut *reader).take(*budget).read_until(b'\n', &mut line)?;
    *budget -= read as u64;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(invalid(if *budget == 0 {
            "the response head is too large".to_owned()
        } else {
            "the connection closed inside the response head".to_owned()
        }));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A response body, delimited by its framing; `read` returns 0 at its end.
pub(crate) struct BodyReader<R> {
    inner: R,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Remaining(u64),
    ChunkSize,
    Chunk(u64),
    UntilEof,
    Done,
}

impl<R: BufRead> BodyReader<R> {
    pub(crate) fn new(inner: R, framing: Framing) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Remaining(n),
            Framing::Chunked => State::ChunkSize,
            Framing::Eof => State::UntilEof,
        };
        BodyReader { inner, state }
    }

    /// Whether the whole body has been read.
    pub(crate) fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    /// The connection, for reuse after a complete body.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn read_chunk_size(&mut self) -> io::Result<()> {
        let mut budget = MAX_HEAD;
        let line = read_line(&mut self.inner, &mut budget)?
            .ok_or_else(|| truncated("the chunked body ends without its last chunk"))?;
        let digits = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(digits, 16)
            .map_err(|_| invalid(format!("a bad chunk size `{line}`")))?;
        if size > 0 {
            self.state = State::Chunk(size);
            return Ok(());
        }
        // The last chunk: skip the trailers up to the blank line.
        while read_line(&mut self.inner, &mut budget)?.is_some_and(|l| !l.is_empty()) {}
        self.state = State::Done;
        Ok(())
    }
}

impl<R: BufRead> Read for BodyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Remaining(left) => {
                    let n = read_at_most(&mut self.inner, buf, left)?;
                    if n == 0 {
                        return Err(truncated(&format!(
                            "the connection closed with {left} bytes of the body missing"
                        )));
                    }
                    self.state = if left == n as u64 {
                        State::Done
                    } else {
                        State::Remaining(left - n as u64)
                    };
                    return Ok(n);
                }
                State::ChunkSize => self.read_chunk_size()?,
                State::Chunk(left) => {
                    let n = read_at_most(&mut self.inner, buf, left)?;
                    if n == 0 {
                        return Err(truncated("the connection closed inside a chunk"));
                    }
                    if left == n as u64 {
                        let mut budget = 2;
                        read_line(&mut self.inner, &mut budget)?;
                        self.state = State::ChunkSize;
                    } else {
                        self.state = State::Chunk(left - n as u64);
                    }
                    return Ok(n);
                }
                State::UntilEof => match self.inner.read(buf) {
                    Ok(0) => {
                        self.state = State::Done;
                        return Ok(0);
                    }
                    // A TLS peer that closes without `close_notify` (common for EOF-framed
                    // bodies). Completeness is proven by the task, never by the socket.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        tracing::debug!("the body ended with an unclean TLS close");
                        self.state = State::Done;
                        return Ok(0);
                    }
                    other => return other,
                },
            }
        }
    }
}

fn read_at_most(reader: &mut impl Read, buf: &mut [u8], left: u64) -> io::Result<usize> {
    let limit = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
    reader.read(&mut buf[..limit])
}

fn truncated(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(head_and_body: &[u8]) -> (ResponseHead, io::Result<Vec<u8>>) {
        let mut reader = head_and_body;
        let head = ResponseHead::read(&mut reader).unwrap();
        let mut body = BodyReader::new(reader, head.framing().unwrap());
        let mut out = Vec::new();
        let result = body.read_to_end(&mut out).map(|_| out);
        (head, result)
    }

    #[test]
    fn lengths_chunks_and_eof() {
        let (head, got) = body(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloextra");
        assert_eq!((head.status, head.reason.as_str()), (200, "OK"));
        assert!(head.keep_alive());
        assert_eq!(got.unwrap(), b"hello");
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n";
        assert_eq!(body(chunked).1.unwrap(), b"hello!");
        let (head, got) = body(b"HTTP/1.0 200 OK\r\nConnection: close\n\nstream until close");
        assert!(!head.keep_alive() && head.http10);
        assert_eq!(got.unwrap(), b"stream until close");
        let (_, got) = body(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(got.unwrap(), b"");
    }

    #[test]
    fn truncation_and_garbage_are_errors() {
        let (_, got) = body(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        assert!(
            got.unwrap_err()
                .to_string()
                .contains("5 bytes of the body missing")
        );
        let (_, got) = body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        assert!(got.is_err());
        let err = ResponseHead::read(&mut &b"<html>oops</html>\n"[..]).unwrap_err();
        assert!(
            err.to_string().contains("not an HTTP/1.x status line"),
            "{err}"
        );
        let err = ResponseHead::read(&mut &b""[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn request_head_is_exact() {
        let mut out = Vec::new();
        let endpoint = Endpoint::parse("https://h:443").unwrap();
        write_request_head(
            &mut out,
            "PUT",
            &endpoint,
            "/import?x=1",
            &[("Content-Length", "3".into())],
        )
        .unwrap();
        assert_eq!(
            out,
            b"PUT /import?x=1 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 3\r\n\r\n"
        );
    }
}
