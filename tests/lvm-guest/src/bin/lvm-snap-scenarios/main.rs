//! Runs INSIDE the QEMU guest (see the `lvm-guest` library): lvm-snap's scenarios on real
//! LVM. `lvm-snap-scenarios <group>` runs one group on the guest's empty disks and writes
//! one JSON line per scenario (and per captured lvm2 report) to /dev/ttyS1; it exits 0 when
//! every scenario passed, 1 otherwise. Its logs go to the console.

mod failures;
mod snapshots;
mod support;

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvm_snap::Lvm;

use crate::support::Reporter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("lvm_snap=debug"))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("{failures} scenario(s) failed");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("lvm-snap-scenarios: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[&str]) -> Result<usize> {
    if let ["child-snapshot", vg, origin, name, target] = args {
        failures::child_snapshot(vg, origin, name, target)?;
        return Ok(0);
    }
    let mut report = Reporter::open()?;
    let lvm = Lvm::system()?;
    match args {
        ["snapshots"] => snapshots::run(&mut report, &lvm)?,
        ["failures"] => failures::run(&mut report, &lvm)?,
        _ => bail!("usage: lvm-snap-scenarios snapshots|failures"),
    }
    report.line(&serde_json::json!({"done": true}));
    Ok(report.failures)
}
