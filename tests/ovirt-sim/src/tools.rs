//! The external tools the simulator drives (qemu-img, qemu-io, losetup), run one way: a tool
//! that cannot be started names the install script, one that fails gives its error output.
//! Tests of the simulator and of its clients use the same runner.

use std::ffi::OsStr;
use std::process::Command;

use crate::error::SimError;

/// Runs `program` with `args`; its standard output on success.
pub fn run<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Result<String, SimError> {
    let command = || {
        let args: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        format!("{program} {}", args.join(" "))
    };
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| SimError::Tool {
            command: command(),
            detail: format!("{e}: install it with `scripts/install-test-deps`"),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(SimError::Tool {
            command: command(),
            detail: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim()
            ),
        })
    }
}
