//! The host side of `scripts/bench-lvmbackup`: boots the guest once with the release
//! builds of `lvmbackup-scenarios bench MIB` and `lvmbackup` (found beside this example,
//! which the script builds with them; 2 vCPUs, TCG), and prints each measurement and the
//! ratios against the targets. Exit status 1 if a target is missed (the figures are
//! printed either way).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use lvm_guest::{GuestImage, GuestRun, boot, tail, workspace_binary};
use serde_json::Value;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("bench-lvmbackup: {error}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mib = std::env::args().nth(1).unwrap_or_else(|| "1024".into());
    let image = GuestImage::cached()?;
    let scenarios = workspace_binary("lvmbackup-scenarios")?;
    let lvmbackup = workspace_binary("lvmbackup")?;
    let gzip = Path::new("/usr/bin/gzip");
    let dd = Path::new("/bin/dd");
    for tool in [gzip, dd] {
        if !tool.is_file() {
            return Err(format!(
                "{} is missing; install it with scripts/install-test-deps",
                tool.display()
            ));
        }
    }
    let outcome = boot(
        &image,
        &GuestRun {
            binary: &scenarios,
            args: &["bench", &mib],
            extra: &[&lvmbackup, gzip, dd],
            disks_mib: &[2600, 2400],
            timeout: Duration::from_secs(5400),
        },
    )?;
    let mut figures: BTreeMap<String, Value> = BTreeMap::new();
    for line in &outcome.results {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("{line:?}: {e}"))?;
        if let Some(name) = value["bench"].as_str() {
            println!("{line}");
            figures.insert(name.to_owned(), value.clone());
        }
    }
    if outcome.exit_code != Some(0) {
        return Err(format!(
            "the guest exited {:?}; console:\n{}",
            outcome.exit_code,
            tail(&outcome.console, 60)
        ));
    }
    let seconds = |name: &str| -> Result<f64, String> {
        figures
            .get(name)
            .and_then(|v| v["seconds"].as_f64())
            .ok_or_else(|| format!("no figure for {name}"))
    };
    let peer = seconds("backup-manager-tar-z")?;
    let dd = seconds("dd-bs-1M")?;
    let mut met = true;
    for (ours, against, peer_time, target) in [
        ("lvmbackup-gzip", "backup-manager's tar -z", peer, 1.0),
        ("lvmbackup-zstd", "backup-manager's tar -z", peer, 0.5),
        ("lvmbackup-raw", "dd bs=1M", dd, 1.0),
    ] {
        let ratio = seconds(ours)? / peer_time;
        let ok = ratio <= target;
        met &= ok;
        println!(
            "{ours}: {:.1} s vs {against} {peer_time:.1} s: ratio {ratio:.3} (target <= {target}) {}",
            seconds(ours)?,
            if ok { "met" } else { "MISSED" }
        );
    }
    for ours in ["lvmbackup-gzip", "lvmbackup-zstd", "lvmbackup-raw"] {
        let kib = figures[ours]["vm_hwm_kib"].as_u64().unwrap_or(0);
        let ok = kib > 0 && kib < 64 * 1024;
        met &= ok;
        println!(
            "{ours}: peak RSS {:.1} MiB (target < 64 MiB) {}",
            f64::from(u32::try_from(kib).unwrap_or(u32::MAX)) / 1024.0,
            if ok { "met" } else { "MISSED" }
        );
    }
    println!("guest boot and bench: {:?}", outcome.elapsed);
    Ok(met)
}
