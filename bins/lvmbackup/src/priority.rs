//! `NICEOPT` / `IONICEOPT` applied to lvmbackup itself (and so to the GNU tar it starts),
//! through util-linux's (or busybox's) `renice` and `ionice` run on our own pid, as
//! xenbackup runs its steps under `nice` and `ionice`. The niceness is read back from
//! `/proc/self/stat`: `renice -n` is absolute in util-linux and relative in busybox, and
//! from cron's niceness 0 both give the same; a difference is reported.

use lvm_snap::CommandRunner;

use crate::config::IoNice;
use crate::error::{LvmBackupError, Result};

/// Sets this process's niceness and I/O priority.
pub fn apply(runner: &impl CommandRunner, nice: Option<i32>, ionice: Option<IoNice>) -> Result<()> {
    let pid = std::process::id().to_string();
    if let Some(nice) = nice {
        run(runner, &["renice", "-n", &nice.to_string(), "-p", &pid])?;
        let now = niceness()?;
        if now != nice {
            tracing::warn!(wanted = nice, now, "renice gave another niceness");
        }
    }
    if let Some(IoNice { class, level }) = ionice {
        let class = format!("-c{class}");
        let mut argv = vec!["ionice", class.as_str()];
        let level = level.map(|l| format!("-n{l}"));
        if let Some(level) = &level {
            argv.push(level);
        }
        argv.extend(["-p", &pid]);
        run(runner, &argv)?;
    }
    Ok(())
}

/// This process's niceness (field 19 of /proc/self/stat).
pub fn niceness() -> Result<i32> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(LvmBackupError::io("reading /proc/self/stat"))?;
    // the command name (field 2) is in parentheses and may hold spaces
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .nth(16)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| LvmBackupError::Io {
            action: "reading the niceness from /proc/self/stat".into(),
            source: std::io::Error::other("unexpected format"),
        })
}

fn run(runner: &impl CommandRunner, argv: &[&str]) -> Result<()> {
    let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
    let output = runner.run(&argv).map_err(LvmBackupError::io(format!(
        "starting {} (from util-linux: apt-get install util-linux)",
        argv[0]
    )))?;
    if output.success() {
        Ok(())
    } else {
        Err(LvmBackupError::Command {
            command: argv.join(" "),
            status: format!("{:?}", output.code),
            stderr: output.stderr.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use lvm_snap::{CommandOutput, RecordingRunner};

    use super::*;

    #[test]
    fn renice_and_ionice_run_on_our_pid() {
        let current = niceness().unwrap();
        let runner = RecordingRunner::new()
            .expect(&["renice", "-n"], CommandOutput::ok(""))
            .expect(&["ionice", "-c2", "-n6", "-p"], CommandOutput::ok(""));
        apply(
            &runner,
            Some(current),
            Some(IoNice {
                class: 2,
                level: Some(6),
            }),
        )
        .unwrap();
        let pid = std::process::id().to_string();
        assert_eq!(
            runner.calls(),
            [
                vec![
                    "renice".to_owned(),
                    "-n".into(),
                    current.to_string(),
                    "-p".into(),
                    pid.clone()
                ],
                vec![
                    "ionice".to_owned(),
                    "-c2".into(),
                    "-n6".into(),
                    "-p".into(),
                    pid
                ],
            ]
        );
        let failing =
            RecordingRunner::new().expect(&["ionice"], CommandOutput::failed(1, "ionice: bad"));
        let error = apply(
            &failing,
            None,
            Some(IoNice {
                class: 3,
                level: None,
            }),
        )
        .unwrap_err();
        assert!(error.to_string().contains("ionice: bad"), "{error}");
    }
}
