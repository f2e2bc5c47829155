//! Plumbing shared by the toolkit's binaries, so that each `main.rs` stays a few lines:
//! logging setup, progress reporting fit for a terminal or for cron, the exit-code
//! convention (0 all good, 1 some items failed, 2 usage or configuration error), and
//! passwords read from files, the environment or a prompt ([`secrets`]), never from argv,
//! the connection flags every tool that logs in to a host shares, with their conflicts and
//! the one password lookup ([`ConnectArgs`], [`PasswordLookup`]),
//! and a standard output that ends quietly when its reader goes away ([`Stdout`]).
//!
//! It lives beside the binaries (`bins/`) rather than at the top level because only
//! binaries use it: libraries report progress through `disk_image::Progress` and never
//! print.

mod connect;
mod exit;
pub mod files;
mod logging;
mod printable;
mod progress;
pub mod secrets;
mod stdout;

pub use connect::{ConnectArgs, PASSWORD_FLAGS, PasswordArgs, PasswordLookup, TlsArgs, TlsChoice};
pub use exit::{Outcome, UsageError, run, run_reporting};
pub use logging::init_logging;
pub use printable::printable;
pub use progress::{ProgressSet, progress_for};
pub use secrets::{Secret, SecretError, SecretSource};
pub use stdout::{Stdout, StdoutClosed, is_stdout_closed, print_json};
