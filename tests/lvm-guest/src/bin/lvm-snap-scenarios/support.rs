//! What the scenarios share: shell commands for the setup (pvcreate, mkfs, a plain mount
//! of the origin), trees of real files, the after-each checks, and the report lines written
//! to /dev/ttyS1 for the host.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use lvm_snap::{Lvm, SystemRunner};

/// Where every mount point of the scenarios lives.
pub const MOUNT_ROOT: &str = "/mnt/scenarios";

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
        // the serial port is slow; write_all retries short writes
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Runs one scenario, then the after-each checks, and reports both.
    pub fn scenario(
        &mut self,
        lvm: &Lvm<SystemRunner>,
        vgs: &[&str],
        name: &str,
        run: impl FnOnce(&mut Self) -> Result<String>,
    ) {
        eprintln!("=== scenario {name}");
        let outcome = run(self).and_then(|detail| after_each(lvm, vgs).map(|()| detail));
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

    /// Reports a command's real output, for the unit tests' fixtures.
    pub fn capture(&mut self, name: &str, argv: &[&str]) -> Result<()> {
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output()
            .with_context(|| format!("running {argv:?}"))?;
        self.line(&serde_json::json!({
            "capture": name,
            "argv": argv,
            "code": output.status.code(),
            "stdout": String::from_utf8_lossy(&output.stdout),
            "stderr": String::from_utf8_lossy(&output.stderr),
        }));
        Ok(())
    }
}

/// The `lvs` command line lvm-snap runs for `vg` (the fields of its report module).
pub fn lvs_argv(vg: &str) -> [&str; 9] {
    [
        "lvs",
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        "lv_name,vg_name,lv_uuid,lv_path,lv_dm_path,lv_attr,lv_size,origin,origin_size,pool_lv,data_percent,snap_percent,metadata_percent,lv_tags,lv_active,lv_kernel_major,lv_kernel_minor,segtype,lv_time",
        vg,
    ]
}

/// After every scenario: no volume of ours in `vgs`, nothing mounted under [`MOUNT_ROOT`].
pub fn after_each(lvm: &Lvm<SystemRunner>, vgs: &[&str]) -> Result<()> {
    for vg in vgs {
        let ours: Vec<String> = lvm.ours(vg)?.into_iter().map(|v| v.name).collect();
        ensure!(
            ours.is_empty(),
            "after the scenario, volumes of ours are left in {vg}: {ours:?}"
        );
    }
    let mounts = mounts_under(MOUNT_ROOT)?;
    ensure!(
        mounts.is_empty(),
        "after the scenario, mounts of ours are left: {mounts:?}"
    );
    Ok(())
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

/// Runs a setup command; its stdout, or an error with its stderr.
pub fn sh(argv: &[&str]) -> Result<String> {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        // mkfs.xfs refuses file systems under 300 MB unless it runs under a test suite
        .env("TEST_DIR", "/tmp")
        .env("TEST_DEV", "/dev/null")
        .env("QA_CHECK_FS", "1")
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

/// A fresh mount point under [`MOUNT_ROOT`].
pub fn mount_point(name: &str) -> Result<PathBuf> {
    let path = Path::new(MOUNT_ROOT).join(name);
    fs::create_dir_all(&path)?;
    Ok(path)
}

/// Makes an origin volume with a file system on it, mounted read-write on a mount point
/// outside [`MOUNT_ROOT`] (the origin's mount is the "guest's", not ours).
pub fn origin(
    vg: &str,
    name: &str,
    size: &str,
    fstype: &str,
    thin_pool: Option<&str>,
) -> Result<PathBuf> {
    match thin_pool {
        Some(pool) => sh(&[
            "lvcreate",
            "-y",
            "-V",
            size,
            "-T",
            &format!("{vg}/{pool}"),
            "-n",
            name,
        ])?,
        None => sh(&["lvcreate", "-y", "-L", size, "-n", name, vg])?,
    };
    let device = format!("/dev/{vg}/{name}");
    match fstype {
        "ext4" => sh(&["mkfs.ext4", "-q", &device])?,
        "xfs" => sh(&["mkfs.xfs", "-q", &device])?,
        other => bail!("no mkfs for {other}"),
    };
    let mount = Path::new("/mnt/origins").join(name);
    fs::create_dir_all(&mount)?;
    sh(&["mount", "-t", fstype, &device, &mount.to_string_lossy()])?;
    Ok(mount)
}

/// Unmounts an origin and removes it.
pub fn drop_origin(vg: &str, name: &str) -> Result<()> {
    sh(&["umount", &format!("/mnt/origins/{name}")])?;
    sh(&["lvremove", "-f", &format!("{vg}/{name}")])?;
    Ok(())
}

/// Files by path relative to their root.
pub type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// Writes a tree of real files (different sizes, a subdirectory, an empty file) whose
/// contents depend on `seed`, syncs, and returns it.
pub fn write_tree(root: &Path, seed: u8) -> Result<Tree> {
    let mut tree = Tree::new();
    for i in 0..12u32 {
        let dir = if i % 3 == 0 {
            PathBuf::from("etc")
        } else {
            PathBuf::from("var/lib/data")
        };
        let relative = dir.join(format!("file-{i:02}"));
        let len = if i == 5 {
            0
        } else {
            1024 * (1 + i as usize * 23)
        };
        let content: Vec<u8> = (0..len)
            .map(|b| (b as u32 * 31 + i * 7 + u32::from(seed)) as u8)
            .collect();
        tree.insert(relative, content);
    }
    for (relative, content) in &tree {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().expect("files sit in a directory"))?;
        fs::write(&path, content)?;
    }
    sh(&["sync"])?;
    Ok(tree)
}

/// Changes the origin after the snapshot: overwrites files, removes one, adds one; returns
/// the new state.
pub fn change_tree(root: &Path, mut tree: Tree) -> Result<Tree> {
    let keys: Vec<PathBuf> = tree.keys().cloned().collect();
    for (n, key) in keys.iter().enumerate() {
        match n % 4 {
            0 => {
                let content = vec![0xA5; 4096 + n];
                fs::write(root.join(key), &content)?;
                tree.insert(key.clone(), content);
            }
            1 if n == 1 => {
                fs::remove_file(root.join(key))?;
                tree.remove(key);
            }
            _ => {}
        }
    }
    let added = PathBuf::from("etc/added-after-snapshot");
    fs::write(root.join(&added), b"new")?;
    tree.insert(added, b"new".to_vec());
    sh(&["sync"])?;
    Ok(tree)
}

/// Reads every regular file under `root` (lost+found left out).
pub fn read_tree(root: &Path) -> Result<Tree> {
    fn walk(root: &Path, dir: &Path, tree: &mut Tree) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name() == "lost+found" {
                continue;
            }
            if entry.file_type()?.is_dir() {
                walk(root, &path, tree)?;
            } else {
                let content =
                    fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                tree.insert(path.strip_prefix(root)?.to_owned(), content);
            }
        }
        Ok(())
    }
    let mut tree = Tree::new();
    walk(root, root, &mut tree)?;
    Ok(tree)
}

/// Fails naming the first difference between two trees.
pub fn same_tree(what: &str, got: &Tree, want: &Tree) -> Result<()> {
    for (path, content) in want {
        match got.get(path) {
            None => bail!("{what}: {} is missing", path.display()),
            Some(c) if c != content => bail!(
                "{what}: {} differs ({} bytes, want {})",
                path.display(),
                c.len(),
                content.len()
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = got.keys().find(|p| !want.contains_key(*p)) {
        bail!("{what}: {} should not be there", extra.display());
    }
    Ok(())
}
