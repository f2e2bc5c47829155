//! Plumbing shared by the toolkit's binaries, so that each `main.rs` stays a few lines:
//! logging setup, progress reporting fit for a terminal or for cron, and the exit-code
//! convention (0 all good, 1 some items failed, 2 usage or configuration error).

mod exit;
mod logging;
mod progress;
pub mod secrets;

pub use exit::{Outcome, UsageError, run};
pub use logging::init_logging;
pub use progress::{LogProgress, ProgressSet, TerminalProgress, progress_for};
pub use secrets::{Secret, SecretError, SecretSource};
