//! Stopping a run cleanly: a binary sets a [`Cancel`] from its Ctrl-C / SIGTERM handler;
//! transfers check it between reads and fail with [`Interrupted`], and the guards holding
//! snapshots and partial directories clean up as the error unwinds. A platform's client can
//! share the same flag ([`Cancel::flag`]), so that a read blocked on a stalled host ends
//! within a fraction of a second, not after the socket's timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared "stop now" flag; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

/// What [`Cancel::check`] returns once a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// The flag itself, for a signal handler to set (`signal_hook::flag::register`) or for
    /// a platform's client to share.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
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
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.is_cancelled() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_and_flags_share_one_stop() {
        let cancel = Cancel::new();
        let clone = cancel.clone();
        assert_eq!(cancel.check(), Ok(()));
        clone.cancel();
        assert!(cancel.is_cancelled());
        assert_eq!(cancel.check(), Err(Interrupted));
        let other = Cancel::new();
        other.flag().store(true, Ordering::SeqCst);
        assert!(other.is_cancelled());
    }
}
