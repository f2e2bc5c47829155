//! Waiting for the engine: every wait has a deadline, polls from the connection's
//! [`crate::PollPolicy`] (doubling intervals), and ends in the awaited state, a failure
//! state, or a [`crate::OvirtError::Timeout`] naming the last state seen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::error::{OvirtError, Result};

/// One look at the awaited object.
pub(crate) enum Poll<T> {
    /// Done.
    Ready(T),
    /// Not yet; the state seen.
    Pending(String),
}

impl Connection {
    /// Polls `probe` until it is ready, fails, or `timeout` passes.
    pub(crate) fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        probe: impl FnMut() -> Result<Poll<T>>,
    ) -> Result<T> {
        self.wait_for_unless(what, timeout, None, probe)
    }

    /// [`Connection::wait_for`] that also ends, with [`OvirtError::Cancelled`], when `stop`
    /// is raised (checked before every look).
    pub(crate) fn wait_for_unless<T>(
        &self,
        what: &str,
        timeout: Duration,
        stop: Option<&AtomicBool>,
        mut probe: impl FnMut() -> Result<Poll<T>>,
    ) -> Result<T> {
        let (min, max) = self.poll_intervals();
        let started = Instant::now();
        let mut interval = min;
        loop {
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(OvirtError::Cancelled {
                    what: what.to_owned(),
                });
            }
            match probe()? {
                Poll::Ready(value) => return Ok(value),
                Poll::Pending(state) => {
                    let waited = started.elapsed();
                    if waited >= timeout {
                        return Err(OvirtError::Timeout {
                            what: what.to_owned(),
                            state,
                            waited,
                        });
                    }
                    tracing::trace!(what, state, "waiting");
                    std::thread::sleep(interval.min(timeout.saturating_sub(waited)));
                    interval = (interval * 2).min(max);
                }
            }
        }
    }
}
