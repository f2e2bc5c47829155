//! Runs INSIDE the QEMU guest (see the `lvm-guest` library): guest-fixup on a guest whose
//! root sits in an LVM volume group, on real device-mapper. `guest-fixup-scenarios lvm`
//! builds a small Xen-PV-style disk image (a partition table, `/boot` on partition 1, a
//! physical volume on partition 2 holding volume group `guestvg` with an ext4 root and a
//! wiped swap volume), then runs each scenario on a fresh copy of it and writes one JSON line
//! per scenario to /dev/ttyS1. After each scenario: no volume group of the image active, no
//! mount and no loop device of ours left. Exits 0 when every scenario passed, 1 otherwise.

mod image;
mod scenarios;
mod support;

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::support::Reporter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("guest_fixup=info"))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("{failures} scenario(s) failed");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("guest-fixup-scenarios: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<usize> {
    if args != ["lvm"] {
        bail!("usage: guest-fixup-scenarios lvm");
    }
    let mut report = Reporter::open()?;
    scenarios::run(&mut report)?;
    report.line(&serde_json::json!({"done": true}));
    Ok(report.failures)
}
