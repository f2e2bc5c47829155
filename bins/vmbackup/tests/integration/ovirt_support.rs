//! What the oVirt end-to-end tests share: the simulated engine (with the real imageio
//! daemon and the demo appliance's loop devices under a by-id directory of the test's own),
//! a configuration pointing at it, and checks of the backups with independent tools.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ovirt_sim::{APPLIANCE_VM, SimConfig, Simulator};
use tempfile::TempDir;

/// A demo engine and a scratch directory holding the password, the by-id directory and the
/// backups.
pub struct Engine {
    pub sim: Simulator,
    pub dir: TempDir,
}

impl Engine {
    /// Starts the demo engine (vm1 with a raw and a qcow2 disk, vm2, the appliance).
    pub fn new() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let by_id = dir.path().join("by-id");
        fs::create_dir(&by_id).unwrap();
        let mut config = SimConfig::demo();
        config.by_id_dir = by_id;
        let sim = Simulator::start(config).unwrap_or_else(|e| {
            panic!("ovirt-sim does not start ({e}); install its tools: scripts/install-test-deps (the oVirt venv: scripts/lib/install-ovirt-venv)")
        });
        let password = dir.path().join("password");
        fs::write(&password, sim.credentials().1).unwrap();
        fs::set_permissions(
            &password,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        fs::create_dir(dir.path().join("backups")).unwrap();
        Engine { sim, dir }
    }

    /// The backup directory.
    pub fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// The appliance's VM id.
    pub fn appliance(&self) -> String {
        self.sim.vm_id(APPLIANCE_VM).expect("the demo appliance")
    }

    /// Writes a configuration: the engine, then `lines`.
    pub fn config(&self, name: &str, lines: &str) -> PathBuf {
        self.config_in(name, &self.backups(), lines)
    }

    /// A configuration whose backups go to `backups`.
    pub fn config_in(&self, name: &str, backups: &Path, lines: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        // Short deadlines for the simulator's quick engine, unless `lines` sets them.
        let defaults: String = [
            "snapshot_timeout=20",
            "snapshot_remove_timeout=30",
            "device_timeout=5",
        ]
        .iter()
        .filter(|d| {
            let key = d.split('=').next().unwrap();
            !lines.lines().any(|l| l.starts_with(&format!("{key}=")))
        })
        .flat_map(|d| [*d, "\n"])
        .collect();
        let text = format!(
            "engine={}\ntls_ca_file={}\npassword_file={}\nbackup_dir={}\nstatus_log={}\nby_id_dir={}\n{defaults}{lines}\n",
            self.sim.engine_url(),
            self.sim.ca_file().display(),
            self.dir.path().join("password").display(),
            backups.display(),
            self.dir.path().join("status.log").display(),
            self.dir.path().join("by-id").display(),
        );
        fs::write(&path, text).unwrap();
        path
    }

    /// Asserts the engine holds no snapshot, attachment, transfer or token of ours.
    pub fn assert_clean(&self) {
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "the engine holds leftovers:\n{audit}");
    }

    /// The file of a disk of `vm` (index in attachment order).
    pub fn disk_file(&self, vm: &str, index: usize) -> PathBuf {
        let ids = self.sim.disk_ids(vm);
        self.sim.disk_file(&ids[index]).expect("the disk's file")
    }
}

/// The backup directories below `dir` that hold a manifest, sorted.
pub fn backups_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.join("manifest.json").is_file() {
                    found.push(path);
                } else {
                    stack.push(path);
                }
            }
        }
    }
    found.sort();
    found
}

/// Every entry below `dir` whose name starts with `.partial-`.
pub fn partials_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".partial-")
            {
                found.push(path.clone());
            }
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}

/// `qemu-img compare` of two images (formats probed): panics unless identical.
pub fn assert_identical(a: &Path, b: &Path) {
    let output = Command::new("qemu-img")
        .arg("compare")
        .arg(a)
        .arg(b)
        .output()
        .expect("qemu-img runs (install qemu-utils: scripts/install-test-deps)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("Images are identical"),
        "{} vs {}: {text}{}",
        a.display(),
        b.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Decompresses `file` with the system's `tool -dc` (gzip, zstd) into `out`.
pub fn decompress(tool: &str, file: &Path, out: &Path) {
    let output = Command::new(tool)
        .arg("-dc")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs ({e}): scripts/install-test-deps"));
    assert!(output.status.success(), "{tool} -dc {}", file.display());
    fs::write(out, output.stdout).unwrap();
}

/// The manifest of a backup.
pub fn manifest(backup: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(backup.join("manifest.json")).unwrap()).unwrap()
}
