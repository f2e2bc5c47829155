//! Commands behind a seam: argv in, standard output out, a typed error on failure.
//!
//! [`ChrootRunner`] runs the guest's own tools inside its root (`chroot`, a clean
//! environment); [`HostRunner`] runs host tools (blkid, sfdisk, mkswap on a device);
//! [`RecordingRunner`] records the calls for unit tests and fails the ones it is told to.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::error::{GuestFixupError, Result};

/// Runs one command to completion; shared by the threads of an apply.
pub trait CommandRunner: Sync {
    /// Runs `argv`; returns its standard output, or [`GuestFixupError::Command`] if it could
    /// not start or exited unsuccessfully.
    fn run(&self, argv: &[String]) -> Result<String>;
}

/// The environment the guest's tools run with: the guest's own `PATH`, no host settings.
const GUEST_ENV: [(&str, &str); 4] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LC_ALL", "C"),
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("HOME", "/root"),
];

/// Runs commands inside a guest root with `chroot(8)`.
#[derive(Debug, Clone)]
pub struct ChrootRunner {
    root: PathBuf,
}

impl ChrootRunner {
    /// Commands run with `root` as their `/`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl CommandRunner for ChrootRunner {
    fn run(&self, argv: &[String]) -> Result<String> {
        let mut command = Command::new("chroot");
        command
            .arg(&self.root)
            .args(argv)
            .env_clear()
            .envs(GUEST_ENV);
        let _span = tracing::info_span!("chroot", root = %self.root.display()).entered();
        execute(command, argv)
    }
}

/// Runs host commands directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostRunner;

impl CommandRunner for HostRunner {
    fn run(&self, argv: &[String]) -> Result<String> {
        let Some((program, rest)) = argv.split_first() else {
            return Err(GuestFixupError::Command {
                command: String::new(),
                outcome: "is empty".into(),
                stderr: String::new(),
            });
        };
        let mut command = Command::new(program);
        command.args(rest).env("LC_ALL", "C");
        execute(command, argv)
    }
}

fn execute(mut command: Command, argv: &[String]) -> Result<String> {
    let line = argv.join(" ");
    tracing::info!(command = %line, "running");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GuestFixupError::Command {
            command: line.clone(),
            outcome: format!("could not be started: {e}"),
            stderr: String::new(),
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
    let outcome = match output.status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_owned(),
    };
    Err(GuestFixupError::Command {
        command: line,
        outcome,
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// A fake runner: records every call; answers with canned output; fails the calls whose
/// program is in its failure list.
#[derive(Debug, Default)]
pub struct RecordingRunner {
    calls: Mutex<Vec<Vec<String>>>,
    answers: Vec<(String, String)>,
    failing: Vec<String>,
}

impl RecordingRunner {
    /// A runner on which every command succeeds with empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Commands whose program is `program` print `stdout`.
    #[must_use]
    pub fn answer(mut self, program: &str, stdout: &str) -> Self {
        self.answers.push((program.to_owned(), stdout.to_owned()));
        self
    }

    /// Commands whose program is `program` fail with status 1.
    #[must_use]
    pub fn fail(mut self, program: &str) -> Self {
        self.failing.push(program.to_owned());
        self
    }

    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().expect("recording runner lock").clone()
    }
}

impl CommandRunner for RecordingRunner {
    fn run(&self, argv: &[String]) -> Result<String> {
        self.calls
            .lock()
            .expect("recording runner lock")
            .push(argv.to_vec());
        let program = argv.first().map_or("", String::as_str);
        if self.failing.iter().any(|p| p == program) {
            return Err(GuestFixupError::Command {
                command: argv.join(" "),
                outcome: "exited with status 1".into(),
                stderr: "(recorded failure)".into(),
            });
        }
        Ok(self
            .answers
            .iter()
            .find(|(p, _)| p == program)
            .map(|(_, out)| out.clone())
            .unwrap_or_default())
    }
}
