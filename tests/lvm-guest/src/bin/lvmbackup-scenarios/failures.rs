//! Group `failures`, with the real binary: a snapshot that overflows while it is read, a
//! full volume group, a mount that fails, a stale snapshot of a run killed with SIGKILL
//! mid-archive (then a rerun), a same-named volume that is not ours, SIGTERM mid-archive
//! (then a rerun), raw images (see `images`), a backup device too small for the archive. After each: exit status 1 where a volume failed, no archive published
//! that does not restore, no partial file, no snapshot of ours, no mount of ours.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use lvm_snap::{Lvm, SystemRunner};

use crate::setup::{
    Conf, REPO, apply_tree, configure, lvmbackup, mount_source_dir, night_tree, noise, repo_files,
    restore_with_gnu_tar, set_date, spawn_lvmbackup, strip_components, volume,
};
use crate::support::{Reporter, Tree, mounts_under, origin, same_tree, sh};

const VG: &str = "vgfail";
const FULL_VG: &str = "vgfull";

const LIST: &str = "\
ovf|root|/dev/vgfail/ovf-root|ext4|ro
full|root|/dev/vgfull/full-root|ext4|ro
badfs|root|/dev/vgfail/badfs-root|xfs|ro
big|root|/dev/vgfail/big-root|ext4|ro,noatime
nt|root|/dev/vgfail/nt-root|ext4|ro
web|root|/dev/vgfail/web-root|ext4|ro
";

pub fn run(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<()> {
    sh(&["pvcreate", "-y", "/dev/vda", "/dev/vdc"])?;
    sh(&["vgcreate", VG, "/dev/vda"])?;
    sh(&["vgcreate", FULL_VG, "/dev/vdc"])?;
    sh(&["mkfs.ext4", "-q", "/dev/vdb"])?;
    std::fs::create_dir_all(REPO)?;
    sh(&["mount", "-t", "ext4", "/dev/vdb", REPO])?;
    configure(&Conf {
        snapsize: "16M",
        backup_device: "",
        volumes: &format!("{LIST}{}", crate::images::LIST),
        compression: "zstd",
        ttl: 5,
    })?;
    let toml = std::fs::read_to_string("/etc/lvmbackup.toml")?;
    std::fs::write(
        "/etc/lvmbackup.toml",
        format!("{toml}{}", crate::images::SETTINGS),
    )?;
    set_date("2026-11-24 01:30:00")?;
    let vgs = [VG, FULL_VG];
    report.scenario(lvm, &vgs, "overflow", |_| overflow());
    report.scenario(lvm, &vgs, "vg-full", |_| vg_full());
    report.scenario(lvm, &vgs, "mount-fails", |_| mount_fails());
    report.scenario(lvm, &vgs, "sigkill-then-rerun", |_| sigkill_then_rerun());
    report.scenario(lvm, &vgs, "name-taken-not-ours", |_| name_taken());
    report.scenario(lvm, &vgs, "sigterm-then-rerun", |_| sigterm_then_rerun());
    report.scenario(lvm, &vgs, "raw-images", |_| crate::images::raw_images());
    report.scenario(lvm, &vgs, "raw-overflow", |_| crate::images::raw_overflow());
    report.scenario(lvm, &vgs, "backup-device-full", |_| backup_device_full());
    Ok(())
}

/// No file of `volume`'s in the repository but those listed in `allowed`, and no partial.
fn repo_holds(part: &str, allowed: &[&str]) -> Result<()> {
    let files = repo_files(part)?;
    ensure!(
        files.iter().all(|f| allowed.iter().any(|a| f.ends_with(a))),
        "repository holds {files:?}"
    );
    let partials = repo_files(".partial")?;
    ensure!(partials.is_empty(), "partial files left: {partials:?}");
    Ok(())
}

/// An 8 MiB copy-on-write space; 24 MiB written into the origin as soon as the snapshot is
/// mounted, each MiB forced to disk (`fdatasync`), while tar reads 100 MiB from it: the
/// snapshot overflows during the read, the archive is not published, the snapshot is
/// removed.
fn overflow() -> Result<String> {
    let mount = origin(VG, "ovf-root", "192M", "ext4", None)?;
    let mut tree = Tree::new();
    tree.insert("data/noise".into(), noise(100 << 20, 7));
    apply_tree(&mount, &tree)?;
    std::fs::write(
        "/etc/xenbackup.conf",
        std::fs::read_to_string("/etc/xenbackup.conf")?
            .replace("SNAPSIZE=\"16M\"", "SNAPSIZE=\"8M\""),
    )?;
    let snapshot_mount = mount_source_dir().join("ovf/root");
    let writer = std::thread::spawn(move || -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !crate::setup::is_mounted(&snapshot_mount.to_string_lossy())? {
            ensure!(Instant::now() < deadline, "the snapshot was never mounted");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut file = std::fs::File::create(mount.join("data/overwrite"))?;
        for chunk in 0..24u64 {
            std::io::Write::write_all(&mut file, &noise(1 << 20, 9 + chunk))?;
            file.sync_data()?;
        }
        Ok(())
    });
    let (code, run) = lvmbackup(&["run", "--volume", "ovf/root"])?;
    writer.join().expect("writer thread")?;
    std::fs::write(
        "/etc/xenbackup.conf",
        std::fs::read_to_string("/etc/xenbackup.conf")?
            .replace("SNAPSIZE=\"8M\"", "SNAPSIZE=\"16M\""),
    )?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "ovf/root")?;
    ensure!(v["status"] == "failed" && v["archive"].is_null(), "{v}");
    let step = v["step"].as_str().unwrap_or_default();
    ensure!(
        step == "archive" || step == "overflow-check",
        "failed at {step}: {v}"
    );
    repo_holds("ovf-root", &[])?;
    crate::support::drop_origin(VG, "ovf-root")?;
    Ok(format!("failed at {step}: {}", v["error"]))
}

/// The volume group has no free extent for the snapshot: lvcreate fails, nothing else runs.
fn vg_full() -> Result<String> {
    // the whole group for the origin
    sh(&[
        "lvcreate",
        "-y",
        "-l",
        "100%FREE",
        "-n",
        "full-root",
        FULL_VG,
    ])?;
    sh(&["mkfs.ext4", "-q", &format!("/dev/{FULL_VG}/full-root")])?;
    std::fs::create_dir_all("/mnt/origins/full-root")?;
    sh(&[
        "mount",
        "-t",
        "ext4",
        &format!("/dev/{FULL_VG}/full-root"),
        "/mnt/origins/full-root",
    ])?;
    let free = sh(&["vgs", "--noheadings", "-o", "vg_free_count", FULL_VG])?;
    ensure!(free.trim() == "0", "{FULL_VG} has {free} free extents");
    let (code, run) = lvmbackup(&["run", "--volume", "full/root"])?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "full/root")?;
    ensure!(v["status"] == "failed" && v["step"] == "snapshot", "{v}");
    repo_holds("full-root", &[])?;
    crate::support::drop_origin(FULL_VG, "full-root")?;
    Ok(format!("{}", v["error"]))
}

/// The list says XFS, the volume holds ext4: the mount fails, nothing is archived (no
/// empty archive recording every file as deleted, as xenbackup makes).
fn mount_fails() -> Result<String> {
    origin(VG, "badfs-root", "64M", "ext4", None)?;
    let (code, run) = lvmbackup(&["run", "--volume", "badfs/root"])?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "badfs/root")?;
    ensure!(v["status"] == "failed" && v["step"] == "mount", "{v}");
    repo_holds("badfs-root", &[])?;
    crate::support::drop_origin(VG, "badfs-root")?;
    Ok(format!("{}", v["error"]))
}

/// Waits until `lvmbackup` writes a partial archive of `part`.
fn wait_for_partial(part: &str, child: &mut std::process::Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if repo_files(part)?
            .iter()
            .any(|f| f.ends_with(".partial") && f.contains(".tar"))
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("lvmbackup ended ({status}) before writing its archive");
        }
        ensure!(Instant::now() < deadline, "no partial archive within 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL mid-archive leaves a snapshot of ours, mounted, and a partial archive; the rerun
/// removes the stale snapshot (and its mount), drops the partial file and publishes an
/// archive that restores.
fn sigkill_then_rerun() -> Result<String> {
    let mount = origin(VG, "big-root", "128M", "ext4", None)?;
    let mut tree = night_tree(1, 5);
    tree.insert("data/noise".into(), noise(48 << 20, 11));
    apply_tree(&mount, &tree)?;
    let mut child = spawn_lvmbackup(&["--volume", "big/root"])?;
    wait_for_partial("big-root", &mut child)?;
    child.kill()?;
    child.wait()?;
    let left = mounts_under(&mount_source_dir().to_string_lossy())?;
    ensure!(left.len() == 1, "the killed run left mounts {left:?}");
    ensure!(
        !repo_files(".partial")?.is_empty(),
        "the killed run left no partial file"
    );
    let (code, run) = lvmbackup(&["run", "--volume", "big/root"])?;
    ensure!(code == 0, "rerun exit {code}: {run}");
    let v = volume(&run, "big/root")?;
    let warnings = v["warnings"].to_string();
    ensure!(warnings.contains("removed a stale snapshot"), "{v}");
    let archive = repo_files("big-root.20261124")?;
    ensure!(
        archive == ["xen1-mnt-scenarios-4backup-big-root.20261124.master.tar.zst"],
        "{archive:?}"
    );
    repo_holds("big-root", &["20261124.master.tar.zst", ".incremental.bin"])?;
    let restored = restore_with_gnu_tar(&archive, strip_components())?;
    same_tree("big/root after the rerun", &restored, &tree)?;
    crate::support::drop_origin(VG, "big-root")?;
    Ok(warnings)
}

/// A volume named like our snapshot that is not ours: the run fails for that volume, the
/// volume is left alone.
fn name_taken() -> Result<String> {
    origin(VG, "nt-root", "64M", "ext4", None)?;
    sh(&[
        "lvcreate",
        "-y",
        "-L",
        "8M",
        "-s",
        "-n",
        "nt-root.back",
        &format!("{VG}/nt-root"),
    ])?;
    let (code, run) = lvmbackup(&["run", "--volume", "nt/root"])?;
    let still = sh(&["lvs", "--noheadings", "-o", "lv_name", VG])?;
    sh(&["lvremove", "-f", &format!("{VG}/nt-root.back")])?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "nt/root")?;
    ensure!(v["status"] == "failed" && v["step"] == "snapshot", "{v}");
    ensure!(
        still.contains("nt-root.back"),
        "the foreign snapshot was removed: {still}"
    );
    repo_holds("nt-root", &[])?;
    crate::support::drop_origin(VG, "nt-root")?;
    Ok(format!("{}", v["error"]))
}

/// SIGTERM while the first of two volumes is archived: that one finishes and is published
/// (it restores), the second is not started, exit 1, nothing left behind; the rerun makes
/// the second and skips the first (today's archive exists).
fn sigterm_then_rerun() -> Result<String> {
    let big = origin(VG, "big-root", "128M", "ext4", None)?;
    let mut big_tree = night_tree(2, 6);
    big_tree.insert("data/noise".into(), noise(32 << 20, 13));
    apply_tree(&big, &big_tree)?;
    let web = origin(VG, "web-root", "64M", "ext4", None)?;
    let web_tree = night_tree(3, 7);
    apply_tree(&web, &web_tree)?;
    set_date("2026-11-25 01:30:00")?;
    let mut child = std::process::Command::new("/lvmbackup")
        .args([
            "--json", "run", "--volume", "big/root", "--volume", "web/root",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    wait_for_partial("big-root.20261125", &mut child)?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id())?),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let output = child.wait_with_output()?;
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).context("run JSON")?;
    ensure!(output.status.code() == Some(1), "{}: {run}", output.status);
    ensure!(volume(&run, "big/root")?["status"] == "success", "{run}");
    ensure!(volume(&run, "web/root")?["status"] == "failed", "{run}");
    ensure!(
        repo_files(".partial")?.is_empty()
            && mounts_under(&mount_source_dir().to_string_lossy())?.is_empty(),
        "left behind after SIGTERM"
    );
    let (code, rerun) = lvmbackup(&["run", "--volume", "big/root", "--volume", "web/root"])?;
    ensure!(code == 0, "rerun exit {code}: {rerun}");
    ensure!(
        volume(&rerun, "big/root")?["warnings"]
            .to_string()
            .contains("exists already"),
        "{rerun}"
    );
    let web_archive = repo_files("web-root.20261125")?;
    let restored = restore_with_gnu_tar(&web_archive, strip_components())?;
    same_tree("web/root", &restored, &web_tree)?;
    let big_archives: Vec<String> = repo_files("big-root.2026")?;
    let restored = restore_with_gnu_tar(&big_archives, strip_components())?;
    same_tree("big/root, chain of two nights", &restored, &big_tree)?;
    crate::support::drop_origin(VG, "big-root")?;
    crate::support::drop_origin(VG, "web-root")?;
    Ok(format!("{} archives of big/root", big_archives.len()))
}

/// The repository on a 16 MiB file system, the archive 32 MiB of noise: writing it fails,
/// the partial file is removed, nothing is published, exit 1.
fn backup_device_full() -> Result<String> {
    let mount = origin(VG, "big-root", "128M", "ext4", None)?;
    let mut tree = night_tree(1, 8);
    tree.insert("data/noise".into(), noise(32 << 20, 17));
    apply_tree(&mount, &tree)?;
    sh(&["lvcreate", "-y", "-L", "16M", "-n", "small-repo", VG])?;
    sh(&["mkfs.ext4", "-q", &format!("/dev/{VG}/small-repo")])?;
    std::fs::create_dir_all("/mnt/small-repo")?;
    sh(&[
        "mount",
        "-t",
        "ext4",
        &format!("/dev/{VG}/small-repo"),
        "/mnt/small-repo",
    ])?;
    let conf = std::fs::read_to_string("/etc/backup-manager.conf")?;
    std::fs::write(
        "/etc/backup-manager.conf",
        conf.replace(
            &format!("BM_REPOSITORY_ROOT=\"{REPO}\""),
            "BM_REPOSITORY_ROOT=\"/mnt/small-repo\"",
        ),
    )?;
    let result = lvmbackup(&["run", "--volume", "big/root"]);
    std::fs::write("/etc/backup-manager.conf", conf)?;
    let left: Vec<String> = std::fs::read_dir("/mnt/small-repo")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "lost+found")
        .collect();
    sh(&["umount", "/mnt/small-repo"])?;
    sh(&["lvremove", "-f", &format!("{VG}/small-repo")])?;
    let (code, run) = result?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "big/root")?;
    ensure!(v["status"] == "failed" && v["step"] == "archive", "{v}");
    ensure!(
        v["error"].to_string().contains("No space left on device"),
        "the error names the cause: {v}"
    );
    ensure!(left.is_empty(), "left on the full device: {left:?}");
    crate::support::drop_origin(VG, "big-root")?;
    Ok(format!("{}", v["error"]))
}
