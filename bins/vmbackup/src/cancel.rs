//! Stopping a run cleanly: the binary sets a [`Cancel`] from its Ctrl-C / SIGTERM handler;
//! transfers check it between reads and fail with [`VmBackupError::Interrupted`], and the
//! guards holding snapshots and partial directories clean up as the error unwinds. The
//! XAPI connections share it ([`Cancel::stop`]): a read blocked on a stalled host ends
//! within a fraction of a second, not after the socket's timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Result, VmBackupError};

/// A shared "stop now" flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// The flag itself, for a signal handler to set (`signal_hook::flag::register`).
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// The same flag for the XAPI client: calls and transfers under way when it is set stop
    /// waiting for the host.
    pub fn stop(&self) -> xenapi::Stop {
        xenapi::Stop::from_flag(self.flag())
    }

    /// Asks everything sharing this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once a stop was asked for.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(VmBackupError::Interrupted)
        } else {
            Ok(())
        }
    }
}
