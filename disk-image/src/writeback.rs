//! Writing a large file without leaving all of it for the final `fsync`: every
//! [`WINDOW`] bytes the kernel is asked to start writing the window just filled out (and to
//! drop the windows already on disk from the page cache), so the disk works while the
//! copy goes on, the closing sync has little left, and a backup or a conversion does not
//! push the host's working set out of memory. The sinks ([`crate::RawFileSink`] and the VHD
//! sinks built on it) do this as they write.
//!
//! The request is `posix_fadvise(POSIX_FADV_DONTNEED)`: on Linux it starts asynchronous
//! writeback of dirty pages in the range and evicts the clean ones. It is advice: if the
//! kernel ignores it, only speed and memory change, never what is written.

use std::fs::File;
use std::io::{self, Write};

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};

/// How much is written between two writeback requests.
pub const WINDOW: u64 = 64 << 20;

/// Hands the kernel the windows of a file written front to back; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Writeback {
    /// End of the last window handed over.
    kicked: u64,
}

impl Writeback {
    /// Called with the file's length so far; starts writeback of the windows it completes.
    pub(crate) fn advance(&mut self, file: &File, written: u64) {
        if written < self.kicked + WINDOW {
            return;
        }
        // The window before the last is on its way to disk by now: drop it too.
        let from = self.kicked.saturating_sub(WINDOW);
        advise(file, from, written - from);
        self.kicked = written;
    }
}

fn advise(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    if let Err(errno) = posix_fadvise(file, offset, len, PosixFadviseAdvice::POSIX_FADV_DONTNEED) {
        tracing::debug!(%errno, "posix_fadvise refused; the final sync does all the writing");
    }
}

/// A writer into a file that hands windows to the kernel as it goes.
pub struct WritebackFile<'a> {
    file: &'a File,
    written: u64,
    writeback: Writeback,
}

impl<'a> WritebackFile<'a> {
    /// Writes `file` from its start.
    pub fn new(file: &'a File) -> Self {
        WritebackFile {
            file,
            written: 0,
            writeback: Writeback::default(),
        }
    }
}

impl Write for WritebackFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.written += n as u64;
        self.writeback.advance(self.file, self.written);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&mut &*self.file).flush()
    }
}
