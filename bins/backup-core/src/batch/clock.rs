//! The time a run reads, passed in: the runner and the jobs ask a [`Clock`], never the
//! system directly, so that tests run with a [`FixedClock`] and the names, events and
//! reports they check do not depend on when they ran.

use jiff::Timestamp;

/// Where a run reads the time.
pub trait Clock: Sync {
    /// The time now.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always says the same time (for tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The time from `start` to `end`; zero if the clock went backwards.
pub(crate) fn elapsed(start: Timestamp, end: Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(end.duration_since(start)).unwrap_or_default()
}
