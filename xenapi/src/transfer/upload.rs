//! An upload: the body of a `PUT` as a `Write`, then the task's verdict.

use std::fmt;
use std::io::{self, BufReader, Write};

use super::request::{TaskGuard, refusal};
use crate::Ref;
use crate::api::TaskOutcome;
use crate::error::{Result, XenApiError};
use crate::http::{ResponseHead, Stream};

/// Bytes gathered before a write to the connection.
const WRITE_BUFFER: usize = 256 * 1024;

/// The body of an import, streamed: write it, then call [`Upload::finish`] to end the body
/// and learn the task's verdict. Dropping an upload before `finish` aborts the connection
/// and destroys the task.
pub struct Upload<'s> {
    // Declared before `guard`: the connection closes before the task is destroyed. A
    // dropped upload sends nothing more (unlike a `BufWriter`, which would flush).
    stream: Stream,
    buffer: Vec<u8>,
    length: Option<u64>,
    written: u64,
    /// The request's path, for errors.
    path: String,
    url: String,
    guard: TaskGuard<'s>,
}

impl fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("url", &self.url)
            .field("task", self.guard.task())
            .field("written", &self.written)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl<'s> Upload<'s> {
    pub(crate) fn new(
        stream: Stream,
        guard: TaskGuard<'s>,
        path: String,
        url: String,
        length: Option<u64>,
    ) -> Self {
        tracing::debug!(%url, task = %guard.task(), ?length, "upload started");
        Upload {
            stream,
            buffer: Vec::with_capacity(WRITE_BUFFER),
            length,
            written: 0,
            path,
            url,
            guard,
        }
    }

    /// The task the server runs this transfer in.
    pub fn task(&self) -> &Ref {
        self.guard.task()
    }

    /// The bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Ends the body (a half-close when no length was announced), reads the server's
    /// answer and waits for the task: its success, not the HTTP status, says the upload
    /// was taken.
    pub fn finish(self) -> Result<TaskOutcome> {
        let Upload {
            mut stream,
            buffer,
            length,
            written,
            path,
            url,
            guard,
        } = self;
        if let Some(length) = length.filter(|l| *l != written) {
            let error = XenApiError::protocol(
                &url,
                format!("{written} bytes written of the {length} announced"),
            );
            return Err(guard.diagnose(error));
        }
        let ended = stream.write_all(&buffer).and_then(|()| {
            stream.flush()?;
            if length.is_none() {
                stream.shutdown_write()?;
            }
            Ok(())
        });
        if let Err(e) = ended {
            return Err(guard.diagnose(XenApiError::io("sending the body", &url, e)));
        }
        let mut reader = BufReader::new(stream);
        let head = match ResponseHead::read(&mut reader) {
            Ok(head) => head,
            Err(e) => {
                let error = XenApiError::io("reading the response to PUT", &url, e);
                return Err(guard.diagnose(error));
            }
        };
        if head.status != 200 {
            return Err(guard.diagnose(refusal("PUT", &path, url, &head, reader)));
        }
        // The connection stays open until the task ends: closing it early could reset it
        // while the server still reads the body's last bytes.
        let outcome = guard.finish()?;
        drop(reader);
        tracing::debug!(%url, bytes = written, "upload finished");
        Ok(outcome)
    }
}

impl Upload<'_> {
    fn send_buffer(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.stream
                .write_all(&self.buffer)
                .map_err(|e| self.sending(&e))?;
            self.buffer.clear();
        }
        Ok(())
    }

    fn sending(&self, error: &io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!("sending the body of PUT {}: {error}", self.url),
        )
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(length) = self.length
            && self.written + buf.len() as u64 > length
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "more than the {length} bytes announced for PUT {}",
                    self.url
                ),
            ));
        }
        if self.buffer.len() + buf.len() > WRITE_BUFFER {
            self.send_buffer()?;
        }
        if buf.len() >= WRITE_BUFFER {
            self.stream.write_all(buf).map_err(|e| self.sending(&e))?;
        } else {
            self.buffer.extend_from_slice(buf);
        }
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()?;
        self.stream.flush().map_err(|e| self.sending(&e))
    }
}

/// A VM import (`PUT /import`): an [`Upload`] whose result is the new VMs.
#[derive(Debug)]
pub struct Import<'s> {
    upload: Upload<'s>,
}

impl<'s> Import<'s> {
    pub(crate) fn new(upload: Upload<'s>) -> Self {
        Import { upload }
    }

    /// The task the server runs this import in.
    pub fn task(&self) -> &Ref {
        self.upload.task()
    }

    /// The bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.upload.bytes_written()
    }

    /// Ends the XVA stream and returns the refs of the VMs the import created (the task's
    /// result).
    pub fn finish(self) -> Result<Vec<Ref>> {
        self.upload.finish()?.references()
    }
}

impl Write for Import<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.upload.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.upload.flush()
    }
}
