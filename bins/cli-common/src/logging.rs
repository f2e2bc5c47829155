//! Logging to standard error through `tracing`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends log records to standard error: `warn` and above by default, `info` with one
/// `verbose`, `debug` with two, `trace` with more; `RUST_LOG` overrides. Colours only when
/// standard error is a terminal and `NO_COLOR` is not set: cron mail and log files get
/// plain text.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // A second initialisation (tests calling main twice) is not an error worth reporting.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colours_wanted())
        .try_init();
}

/// Whether log lines may carry ANSI colour codes.
fn colours_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
