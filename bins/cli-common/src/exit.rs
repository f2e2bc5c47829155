//! The exit-code convention of every binary.

use std::fmt;
use std::process::ExitCode;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded: exit 0.
    Success,
    /// The run completed but some items (VMs, disks, checks) failed: exit 1.
    PartialFailure,
    /// The run did its work but met a configuration problem it could not act on (a status
    /// log it could not write), already reported: exit 2.
    ConfigurationProblem,
}

/// An error caused by the invocation or the configuration rather than by the work itself:
/// exit 2. Wrap such errors in it (`anyhow::Error::new(UsageError(..))` or `.context(..)` on
/// a `UsageError`).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Runs a binary's body: prints a failure's whole error chain on standard error (`error: a:
/// b: c`) and maps the result to the exit code. `is_usage` classifies library errors that
/// count as configuration errors (exit 2); a [`UsageError`] anywhere in the chain always does.
/// Standard output closed by its reader ([`StdoutClosed`](crate::StdoutClosed)) ends the run
/// quietly with exit 0, as ripgrep does.
pub fn run(
    body: impl FnOnce() -> anyhow::Result<Outcome>,
    is_usage: impl Fn(&anyhow::Error) -> bool,
) -> ExitCode {
    run_reporting(body, is_usage, false)
}

/// [`run`], for a binary whose `--json` was given when `json` is true: a failure is then
/// also printed on standard output as a JSON object, `{"status": "error", "exit_code": 2,
/// "error": "a: b: c"}`, so that a script reading the output always gets JSON.
pub fn run_reporting(
    body: impl FnOnce() -> anyhow::Result<Outcome>,
    is_usage: impl Fn(&anyhow::Error) -> bool,
    json: bool,
) -> ExitCode {
    match body() {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::PartialFailure) => ExitCode::from(1),
        Ok(Outcome::ConfigurationProblem) => ExitCode::from(2),
        Err(error) if crate::is_stdout_closed(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // `downcast_ref` also finds a `UsageError` given as `.context(..)`, which the
            // chain shows only as text.
            let usage = error.downcast_ref::<UsageError>().is_some()
                || error.chain().any(<dyn std::error::Error>::is::<UsageError>)
                || is_usage(&error);
            let code: u8 = if usage { 2 } else { 1 };
            if json {
                let object = serde_json::json!({
                    "status": "error", "exit_code": code, "error": format!("{error:#}"),
                });
                // Best effort: the message is on standard error already.
                let _ = crate::print_json(&object);
            }
            ExitCode::from(code)
        }
    }
}
