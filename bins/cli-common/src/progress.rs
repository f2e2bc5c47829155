//! Progress reporting: a bar on a terminal, periodic log lines under cron or systemd.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use disk_image::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// A progress bar on standard error.
struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    fn with_bar(bar: ProgressBar) -> Self {
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        TerminalProgress { bar }
    }
}

impl Progress for TerminalProgress {
    fn start(&self, label: &str, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_message(label.to_owned());
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&self) {
        self.bar.finish();
    }
}

/// Logs a line with the percentage done at most every `interval`, and one when a phase ends.
struct LogProgress {
    interval: Duration,
    state: Mutex<LogState>,
}

struct LogState {
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    last_report: Instant,
}

impl LogProgress {
    /// Reports at most every `interval`.
    fn new(interval: Duration) -> Self {
        let now = Instant::now();
        LogProgress {
            interval,
            state: Mutex::new(LogState {
                label: String::new(),
                total: 0,
                done: 0,
                started: now,
                last_report: now,
            }),
        }
    }
}

impl Progress for LogProgress {
    fn start(&self, label: &str, total: u64) {
        let mut state = self.state.lock().expect("progress lock");
        let now = Instant::now();
        *state = LogState {
            label: label.to_owned(),
            total,
            done: 0,
            started: now,
            last_report: now,
        };
    }

    fn advance(&self, bytes: u64) {
        let mut state = self.state.lock().expect("progress lock");
        state.done += bytes;
        if state.last_report.elapsed() >= self.interval {
            state.last_report = Instant::now();
            let percent = (state.done * 100).checked_div(state.total).unwrap_or(100);
            tracing::info!(item = %state.label, done = state.done, total = state.total, "{percent}% done");
        }
    }

    fn finish(&self) {
        let state = self.state.lock().expect("progress lock");
        let seconds = state.started.elapsed().as_secs_f64();
        tracing::info!(item = %state.label, bytes = state.done, seconds, "done");
    }
}

/// Makes one progress reporter per item (a VM, a disk) of a batch that runs several at
/// once: bars stacked on a terminal, log lines otherwise, nothing when quiet.
pub struct ProgressSet {
    quiet: bool,
    bars: Option<MultiProgress>,
}

impl ProgressSet {
    /// Chooses by where standard error goes.
    pub fn new(quiet: bool) -> Self {
        let bars = (!quiet && std::io::stderr().is_terminal()).then(MultiProgress::new);
        ProgressSet { quiet, bars }
    }

    /// A reporter for one item.
    pub fn item(&self) -> Box<dyn Progress> {
        match &self.bars {
            _ if self.quiet => Box::new(disk_image::NoProgress),
            Some(bars) => Box::new(TerminalProgress::with_bar(bars.add(ProgressBar::new(0)))),
            None => Box::new(LogProgress::new(Duration::from_secs(30))),
        }
    }
}

/// The progress reporter fit for where standard error goes: a bar on a terminal, log lines
/// every 30 seconds otherwise; `quiet` reports nothing.
pub fn progress_for(quiet: bool) -> Box<dyn Progress> {
    ProgressSet::new(quiet).item()
}
