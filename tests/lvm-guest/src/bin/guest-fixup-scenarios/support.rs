//! What the scenarios share: the report lines for the host, setup commands, and the leak
//! checks run after every scenario (the image's volume group, our mounts, our loop devices).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

/// Where the scenarios mount guests.
pub const MOUNT_ROOT: &str = "/mnt/gf";
/// Where the image copies live (a tmpfs).
pub const IMAGE_DIR: &str = "/tmp/gf-images";

/// Writes the report lines for the host.
pub struct Reporter {
    out: fs::File,
    pub failures: usize,
}

impl Reporter {
    pub fn open() -> Result<Self> {
        let out = fs::OpenOptions::new()
            .write(true)
            .open("/dev/ttyS1")
            .context("opening /dev/ttyS1")?;
        Ok(Reporter { out, failures: 0 })
    }

    pub fn line(&mut self, value: &serde_json::Value) {
        let mut text = value.to_string();
        text.push('\n');
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Runs one scenario, then the leak checks for the image's volume group `vg_uuid`.
    pub fn scenario(&mut self, vg_uuid: &str, name: &str, run: impl FnOnce() -> Result<String>) {
        eprintln!("=== scenario {name}");
        let outcome = run().and_then(|detail| no_leaks(vg_uuid).map(|()| detail));
        let (ok, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(error) => (false, format!("{error:#}")),
        };
        eprintln!(
            "=== scenario {name}: {} {detail}",
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            self.failures += 1;
        }
        self.line(&serde_json::json!({"scenario": name, "ok": ok, "detail": detail}));
    }
}

/// Runs a setup command; its stdout, or an error with its stderr.
pub fn sh(argv: &[&str]) -> Result<String> {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .with_context(|| format!("running {argv:?}"))?;
    if !output.status.success() {
        bail!(
            "{argv:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Device-mapper devices of the volume group with this UUID (`LVM-<uuid>…`), by name.
pub fn active_volumes_of(vg_uuid: &str) -> Vec<String> {
    let prefix = format!("LVM-{}", vg_uuid.replace('-', ""));
    let Ok(entries) = fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dm-"))
        .filter(|e| {
            fs::read_to_string(e.path().join("dm/uuid")).is_ok_and(|u| u.starts_with(&prefix))
        })
        .map(|e| {
            fs::read_to_string(e.path().join("dm/name"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

/// Mount points at or below `root`.
pub fn mounts_under(root: &str) -> Result<Vec<String>> {
    let info = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(root))
        .map(str::to_owned)
        .collect())
}

/// Loop devices whose backing file lies under `dir`.
pub fn loops_under(dir: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let backing = fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            backing
                .starts_with(dir)
                .then(|| format!("{} ({})", e.file_name().to_string_lossy(), backing.trim()))
        })
        .collect()
}

/// After every scenario: the image's volume group inactive, no mount under [`MOUNT_ROOT`],
/// no loop device on an image under [`IMAGE_DIR`].
pub fn no_leaks(vg_uuid: &str) -> Result<()> {
    let active = active_volumes_of(vg_uuid);
    ensure!(
        active.is_empty(),
        "after the scenario, the image's volumes are active: {active:?}"
    );
    let mounts = mounts_under(MOUNT_ROOT)?;
    ensure!(
        mounts.is_empty(),
        "after the scenario, mounts of ours are left: {mounts:?}"
    );
    let loops = loops_under(IMAGE_DIR);
    ensure!(
        loops.is_empty(),
        "after the scenario, loop devices of ours are left: {loops:?}"
    );
    Ok(())
}

/// A fresh mount point under [`MOUNT_ROOT`].
pub fn mount_point(name: &str) -> Result<PathBuf> {
    let path = Path::new(MOUNT_ROOT).join(name);
    fs::create_dir_all(&path)?;
    Ok(path)
}
