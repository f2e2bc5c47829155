//! Progress reporting without terminal code: the library calls a [`Progress`]; binaries
//! choose a bar on a terminal, log lines under cron, or nothing.

/// Receives progress of a long operation, in bytes of the disk processed (holes included).
pub trait Progress: Send + Sync {
    /// A new phase starts (`label`, e.g. a disk name) with `total` bytes to go.
    fn start(&self, label: &str, total: u64);
    /// `bytes` more bytes are done.
    fn advance(&self, bytes: u64);
    /// The current phase is done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
