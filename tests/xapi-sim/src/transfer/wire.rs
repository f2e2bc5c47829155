//! The wire end of a transfer: a writer and a reader that count body bytes and apply the
//! cut and stall faults, and a [`Progress`] that moves the task's progress.

use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use disk_image::Progress;

use super::Transfer;
use crate::error::XapiError;
use crate::http::Connection;

/// The error a cut connection gives.
fn cut_error(after: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        format!("the connection was cut after {after} body bytes (fault injection)"),
    )
}

/// Whether an I/O error is a cut made by fault injection.
pub(crate) fn is_cut(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::ConnectionAborted
        && error.to_string().contains("fault injection")
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
    stall: Option<(u64, Duration)>,
}

impl<W: Write> WireWriter<W> {
    pub(crate) fn new(out: W, transfer: &Transfer<'_>) -> Self {
        WireWriter {
            out,
            written: 0,
            cut: transfer.cut_after(),
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

/// Reads a request body: `Content-Length` bytes, or (without one) until the client closes;
/// cut where the faults say.
pub(crate) struct BodyReader<'a> {
    connection: &'a mut Connection,
    remaining: Option<u64>,
    read: u64,
    cut: Option<u64>,
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
