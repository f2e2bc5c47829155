//! Group `nights`: four volumes (thick ext4, thick XFS, thin ext4, thin XFS) holding real
//! files, backed up by the real binary on four simulated nights (Thursday: first run, a
//! full archive; Friday: incremental; Saturday: the master day; Sunday: incremental and the
//! TTL purge of the first chain). After every night each volume's chain is restored by GNU
//! tar alone and compared with the files of that night.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use lvm_snap::{Lvm, SystemRunner};

use crate::setup::{
    Conf, REPO, apply_tree, configure, expect_status, is_mounted, lvmbackup, night_tree,
    repo_files, restore_with_gnu_tar, set_date, strip_components, volume,
};
use crate::support::{Reporter, origin, same_tree, sh};

const VG: &str = "vgnight";

/// (domU/part, origin LV, file system, thin)
const VOLUMES: [(&str, &str, &str, bool); 4] = [
    ("web1/root", "web1-root", "ext4", false),
    ("web1/data", "web1-data", "xfs", false),
    ("thin1/root", "thin1-root", "ext4", true),
    ("thin2/data", "thin2-data", "xfs", true),
];

pub fn run(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<()> {
    sh(&["pvcreate", "-y", "/dev/vda"])?;
    sh(&["vgcreate", VG, "/dev/vda"])?;
    sh(&["lvcreate", "-y", "-L", "400M", "-T", &format!("{VG}/pool")])?;
    sh(&["mkfs.ext4", "-q", "/dev/vdb"])?;
    let mut mounts = BTreeMap::new();
    for (name, lv, fstype, thin) in VOLUMES {
        let mount = origin(VG, lv, "128M", fstype, thin.then_some("pool"))?;
        mounts.insert(name, mount);
    }
    let mut list = String::new();
    for (name, lv, fstype, _) in VOLUMES {
        let (domu, part) = name.split_once('/').expect("domU/part");
        let options = if fstype == "ext4" { "ro,noatime" } else { "ro" };
        let _ = writeln!(list, "{domu}|{part}|/dev/{VG}/{lv}|{fstype}|{options}");
    }
    // xenbackup's rule: empty options, the line is skipped
    let _ = writeln!(list, "old|root|/dev/{VG}/web1-root|ext4|");
    configure(&Conf {
        snapsize: "32M",
        backup_device: "/dev/vdb",
        volumes: &list,
        compression: "gzip",
        ttl: 2,
    })?;
    let vgs = [VG];
    let nights = [
        (1u8, "2026-11-19 01:30:00", "20261119.master"),
        (2, "2026-11-20 01:30:00", "20261120"),
        (3, "2026-11-21 01:30:00", "20261121.master"),
        (4, "2026-11-22 01:30:00", "20261122"),
    ];
    let mut chains: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (n, when, stamp) in nights {
        report.scenario(lvm, &vgs, &format!("night-{n}"), |_| {
            night(n, when, stamp, &mounts, &mut chains)
        });
    }
    report.scenario(lvm, &vgs, "verify-list-restore", |_| after_the_week());
    Ok(())
}

fn night(
    n: u8,
    when: &str,
    stamp: &str,
    mounts: &BTreeMap<&str, PathBuf>,
    chains: &mut BTreeMap<&'static str, Vec<String>>,
) -> Result<String> {
    let mut trees = BTreeMap::new();
    for (seed, (name, ..)) in VOLUMES.iter().enumerate() {
        let tree = night_tree(n, seed as u8);
        apply_tree(&mounts[name], &tree)?;
        trees.insert(*name, tree);
    }
    set_date(when)?;
    // night 1: lvmbackup mounts the backup device and unmounts it; later nights find it
    // mounted (by "the admin") and leave it so
    if n > 1 && !is_mounted(REPO)? {
        sh(&["mount", "-t", "ext4", "/dev/vdb", REPO])?;
    }
    let (code, run) = lvmbackup(&["run"])?;
    ensure!(code == 0, "exit {code}: {run}");
    ensure!(
        run["mounted_backup_device"] == (n == 1),
        "mounted_backup_device on night {n}: {run}"
    );
    ensure!(
        is_mounted(REPO)? == (n > 1),
        "backup device mount state after night {n}"
    );
    ensure!(
        run["skipped"][0]["line"] == 5,
        "the empty-options line is skipped: {run}"
    );
    if !is_mounted(REPO)? {
        sh(&["mount", "-t", "ext4", "/dev/vdb", REPO])?;
    }
    let mut details = Vec::new();
    for (name, ..) in VOLUMES {
        expect_status(&run, name, "success")?;
        let archive = volume(&run, name)?["archive"]
            .as_str()
            .context("no archive")?
            .rsplit('/')
            .next()
            .expect("a file name")
            .to_owned();
        let (domu, part) = name.split_once('/').expect("domU/part");
        let want = format!("xen1-mnt-scenarios-4backup-{domu}-{part}.{stamp}.tar.gz");
        ensure!(archive == want, "{name}: archive {archive}, want {want}");
        let chain = chains.entry(name).or_default();
        if stamp.ends_with(".master") {
            chain.clear();
        }
        chain.push(archive);
        let restored = restore_with_gnu_tar(chain, strip_components())?;
        same_tree(
            &format!("{name} night {n} restored by GNU tar"),
            &restored,
            &trees[name],
        )?;
        details.push(format!("{name}: {} archive(s)", chain.len()));
    }
    let log = std::fs::read_to_string("/var/log/xenbackup.log")?;
    ensure!(log.contains("Subject: LVM backup on"), "log file: {log}");
    if n == 4 {
        // the TTL of 2 days purged the first chain (19th, 20th) and nothing else
        let left = repo_files("web1-root.2026")?;
        ensure!(
            left == [
                "xen1-mnt-scenarios-4backup-web1-root.20261121.master.tar.gz",
                "xen1-mnt-scenarios-4backup-web1-root.20261122.tar.gz"
            ],
            "after the purge: {left:?}"
        );
        let pruned = volume(&run, "web1/root")?["pruned"]
            .as_array()
            .map_or(0, Vec::len);
        ensure!(pruned == 2, "pruned {pruned}: {run}");
    }
    sh(&["umount", REPO])?;
    Ok(details.join(", "))
}

/// `verify` and `md5sum -c` agree the archives are sound; `list` shows the chains; the
/// binary's own restore gives the last night's files.
fn after_the_week() -> Result<String> {
    sh(&["mount", "-t", "ext4", "/dev/vdb", REPO])?;
    let result = (|| -> Result<String> {
        let (code, verify) = lvmbackup(&["verify"])?;
        ensure!(code == 0, "verify exit {code}: {verify}");
        let checked = verify.as_array().context("verify JSON")?.len();
        ensure!(checked == 8, "{checked} archives verified");
        let md5 = std::process::Command::new("md5sum")
            .args(["-c", "xen1-hashes.md5"])
            .current_dir(REPO)
            .output()?;
        let md5_out = String::from_utf8_lossy(&md5.stdout);
        ensure!(md5.status.success(), "md5sum -c: {md5_out}");
        ensure!(md5_out.matches(": OK").count() == 8, "md5sum -c: {md5_out}");
        let (code, list) = lvmbackup(&["list"])?;
        ensure!(
            code == 0 && list.as_array().map(Vec::len) == Some(4),
            "list: {list}"
        );
        std::fs::create_dir_all("/tmp/own-restore")?;
        let (code, restore) = lvmbackup(&[
            "restore",
            "--volume",
            "thin2/data",
            "--into",
            "/tmp/own-restore",
        ])?;
        ensure!(code == 0, "restore exit {code}: {restore}");
        let restored = crate::support::read_tree(std::path::Path::new("/tmp/own-restore"))?;
        same_tree("lvmbackup restore thin2/data", &restored, &night_tree(4, 3))?;
        Ok(format!("{checked} archives verified, md5sum -c agrees"))
    })();
    sh(&["umount", REPO])?;
    result
}
