//! The guest's configuration files, runs of the real binary, and GNU tar restores.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::support::{MOUNT_ROOT, Tree, read_tree, sh};

/// `MNTSOURCEDIR`: under the mount root the after-each check watches.
pub fn mount_source_dir() -> PathBuf {
    Path::new(MOUNT_ROOT).join("4backup")
}

/// The repository (`BM_REPOSITORY_ROOT` and `BCKMNTP`).
pub const REPO: &str = "/backup/guests";

/// What differs between the groups' configurations.
pub struct Conf<'a> {
    /// `SNAPSIZE`.
    pub snapsize: &'a str,
    /// `BCKDEV` (empty: none).
    pub backup_device: &'a str,
    /// The volume list.
    pub volumes: &'a str,
    /// `compression =` of the TOML.
    pub compression: &'a str,
    /// `BM_ARCHIVE_TTL`.
    pub ttl: u32,
}

/// Writes `/etc/xenbackup.conf` (in xenbackup's own style, with its command substitutions),
/// `/etc/backup-manager.conf`, `/etc/xenback_vols` and `/etc/lvmbackup.toml`.
pub fn configure(conf: &Conf<'_>) -> Result<()> {
    fs::create_dir_all(REPO)?;
    fs::write(
        "/etc/xenbackup.conf",
        format!(
            "# xenbackup.conf as the seed ships it, adapted\n\
             BCKDEV=\"{}\"\nBCKDEV_FS=\"ext4\"\nBCKMNTP=\"{REPO}\"\n\
             MNTSOURCEDIR=\"{}\"\nSBCONFIGFILE=\"/etc/xenback_vols\"\n\
             SNAPMOUNTDELAY=\"0\"\nNICEOPT=\"-n 19\"\nIONICEOPT=\"-c2 -n6\"\n\
             CMD_FULLNICE=\"nice $NICEOPT ionice $IONICEOPT\"\n\
             LOGFILE=\"/var/log/xenbackup.log\"\nHOSTN=`hostname`\nDOMAINN=`hostname -d`\n\
             SNAPSIZE=\"{}\"\nEMAIL_FROM=\"xen@example.org\"\nEMAIL_TO=\"admin@example.org\"\n\
             BIN_SENDMAIL=$(which sendmail) || $(which ssmtp)\n\
             BM_CONFIGFILE=\"/etc/backup-manager.conf\"\nCONFIGURED=true\n",
            conf.backup_device,
            mount_source_dir().display(),
            conf.snapsize
        ),
    )?;
    fs::write(
        "/etc/backup-manager.conf",
        format!(
            "export BM_REPOSITORY_ROOT=\"{REPO}\"\nexport BM_ARCHIVE_TTL=\"{}\"\n\
             export BM_ARCHIVE_FREQUENCY=\"daily\"\nexport BM_ARCHIVE_PURGEDUPS=\"true\"\n\
             export BM_ARCHIVE_PREFIX=\"xen1\"\nexport BM_ARCHIVE_METHOD=\"tarball-incremental\"\n\
             export BM_TARBALL_NAMEFORMAT=\"long\"\nexport BM_TARBALL_FILETYPE=\"tar.gz\"\n\
             export BM_TARBALLINC_MASTERDATETYPE=\"weekly\"\nexport BM_TARBALLINC_MASTERDATEVALUE=\"6\"\n",
            conf.ttl
        ),
    )?;
    fs::write("/etc/xenback_vols", conf.volumes)?;
    fs::write(
        "/etc/lvmbackup.toml",
        format!("compression = \"{}\"\n", conf.compression),
    )?;
    fs::create_dir_all("/var/log")?;
    Ok(())
}

/// Sets the guest's clock (the archives are named by the local day).
pub fn set_date(when: &str) -> Result<()> {
    sh(&["date", "-s", when])?;
    Ok(())
}

/// `lvmbackup --json ARGS`: its exit code and JSON report.
pub fn lvmbackup(args: &[&str]) -> Result<(i32, Value)> {
    let output = Command::new("/lvmbackup")
        .arg("--json")
        .args(args)
        .output()
        .context("running /lvmbackup")?;
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    let code = output.status.code().unwrap_or(-1);
    let value: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "lvmbackup {args:?} (exit {code}) printed no JSON: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    Ok((code, value))
}

/// Starts `lvmbackup run ARGS` in the background.
pub fn spawn_lvmbackup(args: &[&str]) -> Result<Child> {
    Command::new("/lvmbackup")
        .arg("run")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .context("starting /lvmbackup")
}

/// The volume `name` of a run report.
pub fn volume<'a>(report: &'a Value, name: &str) -> Result<&'a Value> {
    report["volumes"]
        .as_array()
        .context("no volumes in the report")?
        .iter()
        .find(|v| v["name"] == name)
        .with_context(|| format!("no volume {name} in {report}"))
}

/// Files in the repository whose names contain `part`.
pub fn repo_files(part: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(REPO)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(part))
        .collect();
    names.sort();
    Ok(names)
}

/// Extracts `archives` (file names in the repository, master first) with GNU tar on its
/// own and returns the files it restored.
pub fn restore_with_gnu_tar(archives: &[String], strip: usize) -> Result<Tree> {
    let target = Path::new("/tmp/restore");
    if target.exists() {
        fs::remove_dir_all(target)?;
    }
    fs::create_dir_all(target)?;
    for archive in archives {
        let flag = if archive.ends_with(".tar.zst") {
            "--zstd"
        } else if archive.ends_with(".tar.gz") {
            "-z"
        } else {
            bail!("unexpected archive {archive}")
        };
        sh(&[
            "tar",
            "-x",
            flag,
            "--listed-incremental=/dev/null",
            &format!("--strip-components={strip}"),
            "-f",
            &format!("{REPO}/{archive}"),
            "-C",
            &target.to_string_lossy(),
        ])?;
    }
    read_tree(target)
}

/// How many components the members' names have before the volume's root.
pub fn strip_components() -> usize {
    mount_source_dir().components().count() - 1 + 2
}

/// Makes `root` hold `tree`: removes the files it does not have, writes those that differ.
pub fn apply_tree(root: &Path, tree: &Tree) -> Result<()> {
    let old = read_tree(root)?;
    for path in old.keys() {
        if !tree.contains_key(path) {
            fs::remove_file(root.join(path))?;
        }
    }
    for (relative, content) in tree {
        if old.get(relative) != Some(content) {
            let path = root.join(relative);
            fs::create_dir_all(path.parent().expect("in a directory"))?;
            fs::write(&path, content)?;
        }
    }
    sh(&["sync"])?;
    Ok(())
}

/// Night `n` of a volume seeded `seed`: a file that never changes, one that changes every
/// night, one removed on night 2, one added on night 3, and a subdirectory.
pub fn night_tree(n: u8, seed: u8) -> Tree {
    let mut tree = Tree::new();
    tree.insert(
        "etc/stable".into(),
        (0..200_000u32).map(|i| (i % 251) as u8 ^ seed).collect(),
    );
    tree.insert(
        "etc/changes".into(),
        format!("night {n} seed {seed}\n").into_bytes(),
    );
    tree.insert("var/lib/empty".into(), Vec::new());
    if n < 2 {
        tree.insert("var/lib/goes-away".into(), b"bye".to_vec());
    }
    if n >= 3 {
        tree.insert("var/lib/new/appears".into(), vec![n ^ seed; 7000]);
    }
    tree
}

/// Pseudo-random bytes (xorshift): what no compressor shrinks, so that an archive takes a
/// while to write.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Whether `path` is a mount point now.
pub fn is_mounted(path: &str) -> Result<bool> {
    let info = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info.lines().any(|l| l.split(' ').nth(4) == Some(path)))
}

/// Fails unless the report says `status` for `name`.
pub fn expect_status(report: &Value, name: &str, status: &str) -> Result<()> {
    let v = volume(report, name)?;
    ensure!(v["status"] == status, "{name}: {v}");
    Ok(())
}
