//! Standard output that ends quietly when its reader goes away, as ripgrep's does:
//! `vmbackup list --json | head -c 10` or `xva-build inspect x.xva | head -1` stop with exit
//! 0 and no message instead of a panic (`println!` panics on a broken pipe) or an error.
//!
//! Write through [`Stdout`] (or [`print_json`]) and let the error travel up with `?`:
//! a broken pipe becomes an [`io::Error`] carrying [`StdoutClosed`], which [`run`](crate::run)
//! turns into exit 0. Only standard output gets this treatment: a broken pipe on a socket or
//! a file stays an error.

use std::fmt;
use std::io::{self, Write};

/// The marker of a standard output whose reader has gone away (a broken pipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// Standard output, locked: every write error is returned (never a panic), a broken pipe as
/// an [`io::Error`] carrying [`StdoutClosed`].
pub struct Stdout {
    inner: io::StdoutLock<'static>,
}

impl fmt::Debug for Stdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stdout")
    }
}

impl Stdout {
    /// Locks standard output for this writer's lifetime.
    pub fn lock() -> Self {
        Stdout {
            inner: io::stdout().lock(),
        }
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::lock()
    }
}

/// A broken pipe, marked as the end of standard output; other errors as they are.
fn mark(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        error
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(mark)
    }
}

/// Writes `value` as pretty JSON and a line break on standard output, and flushes it.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    // Serialized first: serde_json's writer errors hide the `io::Error` (and its marker).
    let text = serde_json::to_string_pretty(value)?;
    let mut out = Stdout::lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Whether `error` says standard output was closed by its reader.
pub fn is_stdout_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<StdoutClosed>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .is_some_and(<dyn std::error::Error + Send + Sync>::is::<StdoutClosed>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn only_a_marked_broken_pipe_counts_as_the_end_of_output() {
        let marked = mark(io::Error::from(io::ErrorKind::BrokenPipe));
        let error = anyhow::Error::new(marked).context("printing the list");
        assert!(is_stdout_closed(&error));
        // A broken pipe elsewhere (a socket, a child's stdin) is a real error.
        let socket = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!is_stdout_closed(&socket));
        let other = mark(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(!is_stdout_closed(&anyhow::Error::new(other)));
        let direct: anyhow::Result<()> = Err(StdoutClosed).context("writing");
        assert!(is_stdout_closed(&direct.unwrap_err()));
    }
}
