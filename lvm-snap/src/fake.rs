//! A recording fake of the command runner: replies are scripted in order, every command line
//! is recorded, and a command that is not the next one expected fails the way a missing tool
//! would (an `Err` naming both), so a test sees exactly what was run.

use std::collections::VecDeque;
use std::io;
use std::sync::Mutex;

use crate::runner::{CommandOutput, CommandRunner};

/// A [`CommandRunner`] for tests: scripted replies, recorded calls.
#[derive(Debug, Default)]
pub struct RecordingRunner {
    script: Mutex<VecDeque<(Vec<String>, CommandOutput)>>,
    calls: Mutex<Vec<Vec<String>>>,
}

impl RecordingRunner {
    /// A runner with nothing scripted.
    pub fn new() -> Self {
        RecordingRunner::default()
    }

    /// Scripts the next reply: the next command must start with `prefix` (program and the
    /// first arguments) and gets `output`.
    #[must_use]
    pub fn expect(self, prefix: &[&str], output: CommandOutput) -> Self {
        self.script
            .lock()
            .expect("runner lock")
            .push_back((prefix.iter().map(|s| (*s).to_owned()).collect(), output));
        self
    }

    /// Every command line run so far, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().expect("runner lock").clone()
    }

    /// How many scripted replies were not used.
    pub fn unused(&self) -> usize {
        self.script.lock().expect("runner lock").len()
    }
}

impl CommandRunner for RecordingRunner {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        self.calls.lock().expect("runner lock").push(argv.to_vec());
        let mut script = self.script.lock().expect("runner lock");
        match script.front() {
            Some((prefix, _)) if argv.starts_with(prefix) => {
                Ok(script.pop_front().expect("a scripted reply").1)
            }
            Some((prefix, _)) => Err(io::Error::other(format!(
                "unexpected command `{}`; the next scripted one starts `{}`",
                argv.join(" "),
                prefix.join(" ")
            ))),
            None => Err(io::Error::other(format!(
                "no reply scripted for `{}`",
                argv.join(" ")
            ))),
        }
    }
}
