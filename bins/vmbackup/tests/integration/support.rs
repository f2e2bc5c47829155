//! What the end-to-end tests share: a simulated pool, a configuration file pointing at it,
//! and the real `vmbackup` binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;
use xapi_sim::{DiskContents, NewDisk, NewVm, SimConfig, SimHandle, Simulator};

pub const MIB: u64 = 1 << 20;

/// A pool with the given VMs, a scratch directory, and a configuration file.
pub struct Setup {
    pub sim: SimHandle,
    pub dir: TempDir,
}

/// A VM with one disk holding a pattern and a second, smaller one.
pub fn vm_with_disks(name: &str, seed: u64) -> NewVm {
    NewVm::new(name)
        .disk(NewDisk::new(
            "system",
            24 * MIB,
            DiskContents::Pattern {
                seed,
                data_bytes: 3 * MIB,
            },
        ))
        .disk(NewDisk::new(
            "data",
            8 * MIB + 512,
            DiskContents::Pattern {
                seed: seed + 1,
                data_bytes: MIB,
            },
        ))
        .vif("")
}

impl Setup {
    /// A pool holding `vms`, over https with a pinned certificate.
    pub fn new(vms: Vec<NewVm>) -> Self {
        let mut config = SimConfig::new().with_tls();
        config.vms = vms;
        let sim = Simulator::start(config).expect("the simulator starts");
        sim.mark_baseline();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("backups")).unwrap();
        let password = dir.path().join("password");
        fs::write(&password, sim.credentials().1).unwrap();
        fs::set_permissions(
            &password,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        Setup { sim, dir }
    }

    /// The backup directory.
    pub fn backups(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    /// Writes a configuration file: the connection, then `rules` (one `key=value` a line).
    pub fn config(&self, name: &str, rules: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let text = format!(
            "host={}\ntls_fingerprint={}\npassword_file={}\nbackup_dir={}\nstatus_log={}\n{rules}\n",
            self.sim.url(),
            self.sim.fingerprint(),
            self.dir.path().join("password").display(),
            self.backups().display(),
            self.dir.path().join("status.log").display(),
        );
        fs::write(&path, text).unwrap();
        path
    }

    /// The status log's lines.
    pub fn status_log(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("status.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Asserts the pool holds nothing the backups made: no snapshot, disk, VBD, session or
    /// task left.
    pub fn assert_clean(&self) {
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "the pool holds leftovers:\n{audit}");
    }

    /// Asserts the backups left no snapshot, session or task, and no snapshot or skeleton
    /// disk (restores, which add VMs and disks on purpose, may have run).
    pub fn assert_no_leaks(&self) {
        let audit = self.sim.audit();
        let leaked_disks: Vec<_> = audit
            .vdis
            .iter()
            .filter(|vdi| {
                self.sim
                    .vdi(&vdi.reference)
                    .is_some_and(|r| r.is_a_snapshot)
                    || vdi.label.contains("(skeleton)")
            })
            .collect();
        assert!(
            audit.snapshots.is_empty()
                && audit.sessions.is_empty()
                && audit.tasks.is_empty()
                && leaked_disks.is_empty(),
            "the pool holds leftovers:\n{audit}"
        );
    }

    /// The complete backups (ours) of a VM directory, oldest first.
    pub fn backups_of(&self, vm_dir: &str) -> Vec<PathBuf> {
        let dir = self.backups().join(vm_dir);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("manifest.json").is_file() && p.join("success").is_file())
            .collect();
        found.sort();
        found
    }
}

/// Runs `vmbackup` with `args`.
pub fn vmbackup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(args)
        .env_remove("VMBACKUP_PASSWORD")
        .output()
        .expect("running vmbackup")
}

/// Runs `vmbackup` and asserts its exit code; returns standard output and error.
pub fn vmbackup_exit(args: &[&str], code: i32) -> (String, String) {
    let output = vmbackup(args);
    let (stdout, stderr) = texts(&output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "vmbackup {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// Runs `vmbackup … --json` expecting `code`; returns the JSON report.
pub fn vmbackup_json(args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (stdout, stderr) = vmbackup_exit(&all, code);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"))
}

/// Restores `backup` with `--check` and asserts every restored disk holds the backup's
/// bytes; returns the report.
pub fn restore_checked(backup: &Path, config: &Path) -> Value {
    let restored = vmbackup_json(
        &[
            "restore",
            s(backup),
            "--config",
            s(config),
            "--check",
            "--quiet",
        ],
        0,
    );
    let checks = restored["checks"].as_array().expect("a check per disk");
    assert!(
        !checks.is_empty() && checks.iter().all(|c| c["backup"] == c["restored"]),
        "{restored:#}"
    );
    restored
}

/// Standard output and error as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The path as `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}
