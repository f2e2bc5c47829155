//! Runs INSIDE the QEMU guest (see the `lvm-guest` library): the real `lvmbackup` binary
//! (at `/lvmbackup`) on real LVM. `lvmbackup-scenarios nights|failures` runs one
//! group on the guest's empty disks and writes one JSON line per scenario to /dev/ttyS1; it
//! exits 0 when every scenario passed, 1 otherwise. After each scenario: no volume of ours
//! in any volume group, no mount under the snapshots' directory.

mod bench;
mod failures;
mod images;
mod nights;
mod setup;
// shared with lvm-snap-scenarios; this binary uses part of it
#[allow(dead_code)]
#[path = "../lvm-snap-scenarios/support.rs"]
mod support;

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvm_snap::Lvm;

use crate::support::Reporter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("lvm_snap=info"))
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
            eprintln!("lvmbackup-scenarios: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[&str]) -> Result<usize> {
    let mut report = Reporter::open()?;
    let lvm = Lvm::system()?;
    match args {
        ["nights"] => nights::run(&mut report, &lvm)?,
        ["failures"] => failures::run(&mut report, &lvm)?,
        ["bench", mib] => bench::run(&mut report, mib.parse()?)?,
        _ => bail!("usage: lvmbackup-scenarios nights|failures|bench MIB"),
    }
    report.line(&serde_json::json!({"done": true}));
    Ok(report.failures)
}
