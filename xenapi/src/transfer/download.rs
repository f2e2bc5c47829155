//! A download: the body of a `GET` as a `Read`, then the task's verdict.

use std::fmt;
use std::io::{self, BufReader, Read};

use super::request::TaskGuard;
use crate::Ref;
use crate::api::TaskOutcome;
use crate::error::{Result, XenApiError};
use crate::http::{BodyReader, Framing, ResponseHead, Stream};

/// The body of an export, streamed: read it to its end, then call [`Download::finish`] to
/// learn from the task whether the server sent all of it. Dropping a download before
/// `finish` closes the connection and destroys the task.
pub struct Download<'s> {
    // Declared before `guard`: the connection closes before the task is destroyed.
    body: BodyReader<BufReader<Stream>>,
    /// The first bytes, read ahead to catch a 200 that carries an error response.
    prefix: Vec<u8>,
    prefix_at: usize,
    content_length: Option<u64>,
    read: u64,
    url: String,
    guard: TaskGuard<'s>,
}

impl fmt::Debug for Download<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("url", &self.url)
            .field("task", self.guard.task())
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl<'s> Download<'s> {
    pub(crate) fn open(
        reader: BufReader<Stream>,
        head: &ResponseHead,
        guard: TaskGuard<'s>,
        url: String,
    ) -> Result<Self> {
        let framing = match head.framing() {
            Ok(framing) => framing,
            Err(e) => {
                return Err(guard.diagnose(XenApiError::io("reading the response head", url, e)));
            }
        };
        let content_length = match framing {
            Framing::Length(length) => Some(length),
            Framing::Chunked | Framing::Eof => None,
        };
        let mut body = BodyReader::new(reader, framing);
        // XAPI bug (xen-api #4603): a 200 whose body is a whole `HTTP/1.1 500` response.
        let mut prefix = Vec::with_capacity(5);
        if let Err(e) = (&mut body).take(5).read_to_end(&mut prefix) {
            return Err(guard.diagnose(XenApiError::io("reading the body", url, e)));
        }
        if prefix == b"HTTP/" {
            let mut line = prefix.clone();
            // Best effort: the status line makes the message; the error stands without it.
            let _ = (&mut body).take(200).read_to_end(&mut line);
            let line = String::from_utf8_lossy(&line);
            let line = line.lines().next().unwrap_or_default().to_owned();
            let error = XenApiError::protocol(
                &url,
                format!("the server answered 200, then an HTTP response as the body: `{line}`"),
            );
            return Err(guard.diagnose(error));
        }
        tracing::debug!(%url, task = %guard.task(), "download started");
        Ok(Download {
            body,
            prefix,
            prefix_at: 0,
            content_length,
            read: 0,
            url,
            guard,
        })
    }

    /// The task the server runs this transfer in.
    pub fn task(&self) -> &Ref {
        self.guard.task()
    }

    /// The body's length, when the server announced one (`/export` does not).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Closes the connection and waits for the task: its success, not the HTTP status,
    /// says the transfer is complete. The body must have been read to its end.
    pub fn finish(self) -> Result<TaskOutcome> {
        let Download {
            body,
            prefix,
            prefix_at,
            read,
            url,
            guard,
            ..
        } = self;
        let complete = prefix_at == prefix.len() && body.is_complete();
        drop(body);
        if !complete {
            let error = XenApiError::protocol(
                &url,
                format!("finish before the end of the body ({read} bytes read)"),
            );
            return Err(guard.diagnose(error));
        }
        let outcome = guard.finish()?;
        tracing::debug!(%url, bytes = read, "download finished");
        Ok(outcome)
    }
}

impl Read for Download<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.prefix_at < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.prefix_at);
            buf[..n].copy_from_slice(&self.prefix[self.prefix_at..self.prefix_at + n]);
            self.prefix_at += n;
            n
        } else {
            self.body.read(buf)?
        };
        self.read += n as u64;
        Ok(n)
    }
}
