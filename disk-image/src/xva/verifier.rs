//! Verifying an XVA while it streams past: a downloader hands every block it writes to a
//! [`StreamVerifier`], which reads the archive on its own thread (decompressing gzip or zstd
//! when it sees their magic) and checks every checksum and the structure. The copy and the
//! check run on different cores; memory stays bounded (a few blocks in flight, their
//! buffers handed back for reuse).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::reader::{DiskReport, XvaReader};
use crate::compress::decompressed;
use crate::error::{DiskImageError, Result};
use crate::progress::NoProgress;

/// Blocks in flight between the writer and the verifying thread.
const IN_FLIGHT: usize = 8;

/// Checks an XVA fed to it block by block; see the module docs.
pub struct StreamVerifier {
    blocks: Option<SyncSender<Vec<u8>>>,
    /// Buffers the verifying thread has finished with.
    spare: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<Result<Vec<DiskReport>>>>,
}

impl StreamVerifier {
    /// Starts the verifying thread; `name` names the archive in errors.
    pub fn start(name: impl Into<String>) -> Self {
        let name = name.into();
        let (blocks, receiver) = sync_channel(IN_FLIGHT);
        let (spare_tx, spare) = sync_channel(IN_FLIGHT + 1);
        let worker =
            std::thread::spawn(move || verify(BlockReader::new(receiver, spare_tx), &name));
        StreamVerifier {
            blocks: Some(blocks),
            spare,
            worker: Some(worker),
        }
    }

    /// Hands the next bytes of the archive over. Fails, with the verifier's error, as soon as
    /// the archive is known to be bad.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        let mut block = self.spare.try_recv().unwrap_or_default();
        block.clear();
        block.extend_from_slice(bytes);
        let sent = self
            .blocks
            .as_ref()
            .is_some_and(|blocks| blocks.send(block).is_ok());
        if sent {
            return Ok(());
        }
        // The verifying thread only stops early when it found a problem.
        Err(self.join().err().unwrap_or_else(|| {
            DiskImageError::Invalid("the XVA verifier stopped before the end of the stream".into())
        }))
    }

    /// Ends the stream and returns what the check found for every disk.
    pub fn finish(mut self) -> Result<Vec<DiskReport>> {
        self.join()
    }

    fn join(&mut self) -> Result<Vec<DiskReport>> {
        self.blocks = None; // end of input
        match self.worker.take() {
            Some(worker) => worker.join().unwrap_or_else(|_| {
                Err(DiskImageError::Invalid("the XVA verifier panicked".into()))
            }),
            None => Err(DiskImageError::Invalid(
                "the XVA verifier already finished".into(),
            )),
        }
    }
}

impl Drop for StreamVerifier {
    fn drop(&mut self) {
        self.blocks = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn verify(mut input: BlockReader, name: &str) -> Result<Vec<DiskReport>> {
    let reports = {
        let (archive, _) = decompressed(&mut input)
            .map_err(|e| DiskImageError::io(format!("reading `{name}`"), e))?;
        let mut reader = XvaReader::open(archive, name)?;
        let mut reports = Vec::new();
        while let Some(report) = reader.read_disk(None, true, &NoProgress)? {
            reports.push(report);
        }
        reader.finish()?;
        reports
    };
    // Whatever follows the end-of-archive blocks (record padding, a compressor's trailer)
    // is consumed, so the writer never sees the verifier gone while the stream is sound.
    io::copy(&mut input, &mut io::sink())
        .map_err(|e| DiskImageError::io(format!("reading `{name}`"), e))?;
    Ok(reports)
}

/// `Read` over the blocks arriving on a channel; the end of the channel is the end of input.
/// Each block read to its end goes back on `spare` for the feeder to refill.
struct BlockReader {
    receiver: Receiver<Vec<u8>>,
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl BlockReader {
    fn new(receiver: Receiver<Vec<u8>>, spare: SyncSender<Vec<u8>>) -> Self {
        BlockReader {
            receiver,
            spare,
            current: Vec::new(),
            at: 0,
        }
    }
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.receiver.recv() {
                Ok(block) => {
                    let done = std::mem::replace(&mut self.current, block);
                    // A full return channel only means enough spares exist already.
                    let _ = self.spare.try_send(done);
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
