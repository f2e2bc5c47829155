//! The command-runner seam: lvm2 is driven through its commands (argv in, [`CommandOutput`]
//! out), so every decision this crate makes can be tested with scripted replies
//! ([`crate::RecordingRunner`]) and run for real with [`SystemRunner`].

use std::io;
use std::process::{Command, Stdio};

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code; `None` when a signal ended the command.
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl CommandOutput {
    /// A successful run that printed `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Self {
        CommandOutput {
            code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// A run that exited with `code` and printed `stderr`.
    pub fn failed(code: i32, stderr: impl Into<String>) -> Self {
        CommandOutput {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs a command: `argv[0]` is the program, the rest its arguments.
pub trait CommandRunner {
    /// Runs `argv` to completion. An `Err` means it could not be started; a command that ran
    /// and failed is an `Ok` with a non-zero [`CommandOutput::code`].
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput>;
}

impl<R: CommandRunner + ?Sized> CommandRunner for &R {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        (**self).run(argv)
    }
}

/// Runs commands on this machine, with no standard input, in the C locale (lvm2's messages
/// untranslated) and with `LVM_SUPPRESS_FD_WARNINGS=1` (lvm2 otherwise warns on stderr about
/// every file descriptor it inherits).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRunner;

impl CommandRunner for SystemRunner {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        let (program, rest) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        let output = Command::new(program)
            .args(rest)
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()?;
        Ok(CommandOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The command line as one string, for messages.
pub(crate) fn command_line(argv: &[String]) -> String {
    argv.join(" ")
}
