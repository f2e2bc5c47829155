//! The wire end of a transfer: a writer and a reader that count body bytes and apply the
//! cut and stall faults, sending a whole body, and a [`Progress`] that moves the task's
//! progress.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use disk_image::{DiskImageError, Progress};

use super::{Transfer, transfer_headers};
use crate::error::XapiError;
use crate::http::{Connection, write_head};

/// What a connection cut by fault injection fails with, inside its `io::Error`.
#[derive(Debug)]
struct Cut {
    /// Body bytes that passed before the cut.
    after: u64,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the connection was cut after {} body bytes (fault injection)",
            self.after
        )
    }
}

impl std::error::Error for Cut {}

/// The error a cut connection gives.
fn cut_error(after: u64) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, Cut { after })
}

/// Whether an I/O error is a cut made by fault injection.
pub(crate) fn is_cut(error: &io::Error) -> bool {
    matches!(error.get_ref(), Some(inner) if inner.is::<Cut>())
}

/// The I/O error of a cut made by fault injection inside a disk-image error, or the error
/// itself when it is something else.
pub(crate) fn cut_within(error: DiskImageError) -> Result<io::Error, DiskImageError> {
    match error {
        DiskImageError::Io { source, .. } if is_cut(&source) => Ok(source),
        other => Err(other),
    }
}

/// The task error for a transfer that failed with an I/O error.
pub(crate) fn io_failure(error: &io::Error) -> XapiError {
    XapiError::internal(format!("transfer failed: {error}"))
}

/// Sends body bytes, cutting or stalling where the faults say.
pub(crate) struct WireWriter<W> {
    out: W,
    written: u64,
    cut: Option<u64>,
    truncate: Option<u64>,
    stall: Option<(u64, Duration)>,
}

impl<W: Write> WireWriter<W> {
    pub(crate) fn new(out: W, transfer: &Transfer<'_>) -> Self {
        WireWriter {
            out,
            written: 0,
            cut: transfer.cut_after(),
            truncate: transfer.truncate_after(),
            stall: transfer.stall(),
        }
    }

    fn pause_if_due(&mut self, upcoming: u64) {
        if let Some((at, duration)) = self.stall
            && self.written + upcoming > at
        {
            self.stall = None;
            thread::sleep(duration);
        }
    }
}

impl<W: Write> Write for WireWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut allowed = buf.len() as u64;
        if let Some(cut) = self.cut {
            if self.written >= cut {
                self.out.flush()?;
                return Err(cut_error(cut));
            }
            allowed = allowed.min(cut - self.written);
        }
        if let Some(truncate) = self.truncate {
            if self.written >= truncate {
                // The body has ended: the rest is dropped, as if it had been sent.
                return Ok(buf.len());
            }
            allowed = allowed.min(truncate - self.written);
        }
        if let Some((at, _)) = self.stall
            && at > self.written
        {
            allowed = allowed.min(at - self.written);
        }
        self.pause_if_due(allowed);
        let n = self.out.write(&buf[..allowed as usize])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Sends a whole body of known length: the `200` head with its `Content-Length`, then the
/// body, cut or stalled where the faults say.
pub(crate) fn send_whole(
    transfer: &Transfer<'_>,
    connection: &mut Connection,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let mut headers = transfer_headers(transfer, content_type);
    headers.extend(transfer.content_length(body.len() as u64));
    let out = connection.get_mut();
    write_head(out, "HTTP/1.1", 200, &headers)?;
    let mut wire = WireWriter::new(out, transfer);
    wire.write_all(body)?;
    wire.flush()
}

/// Reads a request body: `Content-Length` bytes, or (without one) until the client closes;
/// cut where the faults say.
pub(crate) struct BodyReader<'a> {
    connection: &'a mut Connection,
    remaining: Option<u64>,
    read: u64,
    cut: Option<u64>,
    stall: Option<(u64, Duration)>,
}

impl<'a> BodyReader<'a> {
    pub(crate) fn new(
        connection: &'a mut Connection,
        length: Option<u64>,
        transfer: &Transfer<'_>,
    ) -> Self {
        BodyReader {
            connection,
            remaining: length,
            read: 0,
            cut: transfer.cut_after(),
            stall: transfer.stall(),
        }
    }

    /// Sets (or clears) the socket's read timeout.
    pub(crate) fn set_timeout(&self, timeout: Option<std::time::Duration>) {
        let _ = self.connection.get_ref().set_read_timeout(timeout);
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut limit = buf.len() as u64;
        if let Some(remaining) = self.remaining {
            limit = limit.min(remaining);
        }
        if let Some(cut) = self.cut {
            if self.read >= cut {
                return Err(cut_error(cut));
            }
            limit = limit.min(cut - self.read);
        }
        if let Some((at, duration)) = self.stall {
            if self.read >= at {
                // The pause of an upload: the client's writes block meanwhile.
                self.stall = None;
                thread::sleep(duration);
            } else {
                limit = limit.min(at - self.read);
            }
        }
        if limit == 0 {
            return Ok(0);
        }
        let available = self.connection.fill_buf()?;
        let n = available.len().min(limit as usize);
        buf[..n].copy_from_slice(&available[..n]);
        self.connection.consume(n);
        self.read += n as u64;
        if let Some(remaining) = &mut self.remaining {
            *remaining -= n as u64;
        }
        Ok(n)
    }
}

/// Moves a task's progress as bytes of `total` are processed.
pub(crate) struct TaskProgress<'a> {
    transfer: &'a Transfer<'a>,
    total: u64,
    done: AtomicU64,
    reported: AtomicU64,
}

impl<'a> TaskProgress<'a> {
    pub(crate) fn new(transfer: &'a Transfer<'a>, total: u64) -> Self {
        TaskProgress {
            transfer,
            total: total.max(1),
            done: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        }
    }
}

impl Progress for TaskProgress<'_> {
    fn start(&self, _: &str, _: u64) {}

    fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let percent = (done.min(self.total) * 100) / self.total;
        if self.reported.fetch_max(percent, Ordering::Relaxed) < percent {
            #[allow(clippy::cast_precision_loss)]
            self.transfer.progress(percent as f64 / 100.0);
        }
    }

    fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_told_by_their_type_not_their_text() {
        let cut = cut_error(7);
        assert!(is_cut(&cut));
        assert!(cut.to_string().contains("after 7 body bytes"), "{cut}");
        let lookalike = io::Error::new(io::ErrorKind::ConnectionAborted, cut.to_string());
        assert!(!is_cut(&lookalike));
        let inside = DiskImageError::io("writing the export", cut_error(7));
        assert!(cut_within(inside).is_ok_and(|e| is_cut(&e)));
        let other = DiskImageError::io("writing the export", lookalike);
        assert!(cut_within(other).is_err());
    }
}
