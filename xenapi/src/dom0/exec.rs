//! Running a command on the dom0 over an SSH exec channel: its exit status, standard output
//! and standard error captured (each up to [`MAX_OUTPUT`] bytes), with a deadline and a stop
//! flag checked while it runs.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Dom0, Dom0Error, Result};

/// The most bytes of standard output, and of standard error, kept.
pub const MAX_OUTPUT: usize = 1 << 20;

/// How often the deadline and the stop flag are looked at while a command runs.
const POLL: Duration = Duration::from_millis(100);

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Its exit status.
    pub status: i32,
    /// What it wrote on standard output (lossy UTF-8).
    pub stdout: String,
    /// What it wrote on standard error (lossy UTF-8).
    pub stderr: String,
}

impl CommandOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// When a running command is given up on.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// How long it may run.
    pub deadline: Duration,
    /// Set from elsewhere (a signal handler) to give up at once.
    pub stop: Option<&'a AtomicBool>,
}

impl Dom0 {
    /// Runs `command` (a shell command line: quote its words with [`shell_quote`]) and waits
    /// for it to exit within `limits`. A command that runs past the deadline or is stopped
    /// gives [`Dom0Error::Refused`]: its channel is closed, but what it does on the host
    /// after that is up to the host.
    pub fn run(&self, command: &str, limits: Limits<'_>) -> Result<CommandOutput> {
        let ssh = |action: String| move |source| Dom0Error::Ssh { action, source };
        let what = format!("`{command}` on {}", self.authority);
        tracing::debug!(command, host = %self.authority, "running");
        let mut channel = self
            .session
            .channel_session()
            .map_err(ssh(format!("opening a channel for {what}")))?;
        channel
            .exec(command)
            .map_err(ssh(format!("starting {what}")))?;
        let before = self.session.timeout();
        self.session
            .set_timeout(u32::try_from(POLL.as_millis()).unwrap_or(u32::MAX));
        let (stdout, stderr) = match capture(&mut channel, &what, limits) {
            Ok(both) => {
                self.session.set_timeout(before);
                both
            }
            Err(error) => {
                // Closed and freed while the short timeout holds: a command that goes on
                // running must not keep us waiting for its end.
                let _ = channel.close();
                drop(channel);
                self.session.set_timeout(before);
                return Err(error);
            }
        };
        channel
            .wait_close()
            .map_err(ssh(format!("waiting for {what} to end")))?;
        let status = channel
            .exit_status()
            .map_err(ssh(format!("reading the exit status of {what}")))?;
        tracing::debug!(command, status, "ran");
        Ok(CommandOutput {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }
}

/// Reads both streams until the channel's end, polling the limits.
fn capture(
    channel: &mut ssh2::Channel,
    what: &str,
    limits: Limits<'_>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let started = Instant::now();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 32 << 10];
    loop {
        if limits.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(Dom0Error::Refused(format!("{what}: stopped on request")));
        }
        if started.elapsed() > limits.deadline {
            return Err(Dom0Error::Refused(format!(
                "{what} did not end within {} s",
                limits.deadline.as_secs()
            )));
        }
        let out = read_some(channel, &mut buf, &mut stdout, what)?;
        let err = read_some(&mut channel.stderr(), &mut buf, &mut stderr, what)?;
        if out.is_none() && err.is_none() && channel.eof() {
            return Ok((stdout, stderr));
        }
    }
}

/// One read of a stream into `kept` (up to [`MAX_OUTPUT`]); `None` when nothing came (the
/// stream's end, or the poll interval passed).
fn read_some(
    stream: &mut impl Read,
    buf: &mut [u8],
    kept: &mut Vec<u8>,
    what: &str,
) -> Result<Option<usize>> {
    match stream.read(buf) {
        Ok(0) => Ok(None),
        Ok(n) => {
            let room = MAX_OUTPUT.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
            Ok(Some(n))
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(source) => Err(Dom0Error::Io {
            action: format!("reading the output of {what}"),
            source,
        }),
    }
}

/// `word` quoted for a POSIX shell: as is when it holds only safe characters, else in single
/// quotes (a `'` inside written as `'\''`).
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/dev/vg0/web-root"), "/dev/vg0/web-root");
        assert_eq!(shell_quote("my disk"), "'my disk'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_quote(""), "''");
    }
}
