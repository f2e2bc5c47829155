//! Group `failures`: a snapshot that overflows while it is read, `lvcreate` in a full volume
//! group, a stale snapshot (still mounted) of a run that was killed with SIGKILL, same-named volumes
//! that are not ours, a snapshot whose owner still runs, a mount that fails and a panic with
//! a snapshot mounted. After each: no snapshot of ours, no mount of ours.

use std::io::{BufRead, BufReader};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use lvm_snap::{Fill, Lvm, LvmError, SnapshotSize, SystemRunner, VolumeRef};

use crate::support::{
    Reporter, drop_origin, lvs_argv, mount_point, mounts_under, origin, read_tree, same_tree, sh,
    write_tree,
};

const VG: &str = "vgfail";
const FULL_VG: &str = "vgfull";

pub fn run(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<()> {
    sh(&["pvcreate", "-y", "/dev/vda", "/dev/vdb"])?;
    sh(&["vgcreate", VG, "/dev/vda"])?;
    sh(&["vgcreate", FULL_VG, "/dev/vdb"])?;
    let vgs = [VG, FULL_VG];
    report.scenario(lvm, &vgs, "overflow", |report| overflow(report, lvm));
    report.scenario(lvm, &vgs, "vg-full", |report| vg_full(report, lvm));
    report.scenario(lvm, &vgs, "stale-after-sigkill", |_| {
        stale_after_sigkill(lvm)
    });
    report.scenario(lvm, &vgs, "name-taken-not-ours", |_| name_taken(lvm));
    report.scenario(lvm, &vgs, "owner-still-running", |_| owner_running(lvm));
    report.scenario(lvm, &vgs, "mount-fails", |_| mount_fails(lvm));
    report.scenario(lvm, &vgs, "panic-while-mounted", |_| {
        panic_while_mounted(lvm)
    });
    Ok(())
}

/// A 4 MiB copy-on-write space, 24 MiB written to the origin while the snapshot is mounted:
/// it overflows, reads fail or not, and either way the fill says invalid; still removed.
fn overflow(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<String> {
    let origin_mount = origin(VG, "ovf", "64M", "ext4", None)?;
    write_tree(&origin_mount, 3)?;
    let snapshot = lvm.snapshot(
        &VolumeRef::new(VG, "ovf")?,
        "ovf.back",
        SnapshotSize::Bytes(4 << 20),
    )?;
    let mount = snapshot.mount(&mount_point("ovf.back")?, "ext4", "ro")?;
    ensure!(
        snapshot.check_intact().is_ok(),
        "a fresh snapshot is not intact"
    );
    let big: Vec<u8> = (0..24u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(origin_mount.join("big"), &big)?;
    sh(&["sync"])?;
    let read = read_tree(mount.target());
    let fill = snapshot.fill()?;
    ensure!(
        matches!(fill, Fill::CopyOnWrite { invalid: true, .. }) && fill.overflowed(),
        "fill after overflow: {fill:?}"
    );
    match snapshot.check_intact() {
        Err(LvmError::Overflowed { vg, lv, .. }) if vg == VG && lv == "ovf.back" => {}
        other => bail!("check_intact after overflow: {other:?}"),
    }
    let attr = lvm
        .volume(snapshot.reference())?
        .map(|v| v.attr_text)
        .unwrap_or_default();
    report.capture("lvs-overflowed", &lvs_argv(VG))?;
    mount.unmount()?;
    snapshot.remove()?;
    drop_origin(VG, "ovf")?;
    Ok(format!(
        "attr {attr}, {fill}, read after overflow: {}",
        read.map_or_else(
            |e| format!("failed ({e:#})"),
            |t| format!("{} files", t.len())
        )
    ))
}

/// `lvcreate` in a volume group with no free extent: a clear error naming the snapshot and
/// lvm2's stderr, and no volume left.
fn vg_full(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<String> {
    sh(&["lvcreate", "-y", "-l", "100%FREE", "-n", "filler", FULL_VG])?;
    let result = lvm.snapshot(
        &VolumeRef::new(FULL_VG, "filler")?,
        "filler.back",
        SnapshotSize::Bytes(8 << 20),
    );
    let message = match result {
        Err(error @ LvmError::Command { .. }) => error.to_string(),
        Err(other) => bail!("unexpected error: {other}"),
        Ok(_) => bail!("lvcreate succeeded in a full volume group"),
    };
    ensure!(
        message.contains("vgfull/filler.back"),
        "the error does not name the snapshot: {message}"
    );
    ensure!(
        message.to_lowercase().contains("insufficient free space"),
        "the error lacks lvm2's reason: {message}"
    );
    ensure!(
        lvm.volume(&VolumeRef::new(FULL_VG, "filler.back")?)?
            .is_none(),
        "filler.back exists"
    );
    report.capture(
        "lvcreate-vg-full",
        &[
            "lvcreate",
            "-s",
            "-L",
            "8388608b",
            "-n",
            "filler.back",
            "vgfull/filler",
        ],
    )?;
    sh(&["lvremove", "-f", &format!("{FULL_VG}/filler")])?;
    Ok(message)
}

/// A child process snapshots and mounts, and is killed with SIGKILL (its guards never run); the next
/// snapshot of that origin finds the stale one by name and tag, unmounts and removes it.
fn stale_after_sigkill(lvm: &Lvm<SystemRunner>) -> Result<String> {
    let origin_mount = origin(VG, "stale-src", "64M", "ext4", None)?;
    let files = write_tree(&origin_mount, 9)?;
    let child_target = mount_point("stale-child")?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["child-snapshot", VG, "stale-src", "stale-src.back"])
        .arg(&child_target)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("child stdout")?).read_line(&mut line)?;
    ensure!(line.trim() == "ready", "the child said {line:?}");
    let child_pid = child.id();
    child.kill()?; // SIGKILL
    child.wait()?;
    let left = lvm
        .volume(&VolumeRef::new(VG, "stale-src.back")?)?
        .context("the child's snapshot is gone")?;
    ensure!(
        left.is_ours() && left.owner().map(|o| o.pid()) == Some(child_pid),
        "left: {:?}",
        left.tags
    );
    ensure!(
        !mounts_under(&child_target.to_string_lossy())?.is_empty(),
        "the child's mount is gone"
    );
    let stale: Vec<String> = lvm.stale(VG)?.into_iter().map(|v| v.name).collect();
    ensure!(
        stale == ["stale-src.back"],
        "stale snapshots listed: {stale:?}"
    );

    let snapshot = lvm.snapshot(
        &VolumeRef::new(VG, "stale-src")?,
        "stale-src.back",
        SnapshotSize::Bytes(16 << 20),
    )?;
    let stale = snapshot
        .replaced()
        .context("the stale snapshot was not reported")?;
    ensure!(
        stale.owner.as_ref().map(lvm_snap::Owner::pid) == Some(child_pid),
        "stale owner {:?}",
        stale.owner
    );
    ensure!(
        stale.unmounted == [child_target.clone()],
        "unmounted {:?}",
        stale.unmounted
    );
    ensure!(
        stale.volume.uuid != snapshot.volume().uuid,
        "the snapshot was not made anew"
    );
    let mount = snapshot.mount(&mount_point("stale-src.back")?, "ext4", "ro")?;
    same_tree("new snapshot", &read_tree(mount.target())?, &files)?;
    mount.unmount()?;
    snapshot.remove()?;
    drop_origin(VG, "stale-src")?;
    Ok(format!(
        "stale snapshot of pid {child_pid} unmounted from {} and replaced",
        child_target.display()
    ))
}

/// Same-named volumes that are not ours (an untagged snapshot, a tagged plain volume, a
/// tagged snapshot of another origin) are refused and kept.
fn name_taken(lvm: &Lvm<SystemRunner>) -> Result<String> {
    sh(&["lvcreate", "-y", "-L", "16M", "-n", "src", VG])?;
    sh(&["lvcreate", "-y", "-L", "16M", "-n", "other", VG])?;
    sh(&[
        "lvcreate",
        "-s",
        "-L",
        "8M",
        "-n",
        "admin.back",
        &format!("{VG}/src"),
    ])?;
    sh(&[
        "lvcreate",
        "-y",
        "-L",
        "8M",
        "-n",
        "plain.back",
        "--addtag",
        "vmtoolkit",
        VG,
    ])?;
    sh(&[
        "lvcreate",
        "-s",
        "-L",
        "8M",
        "-n",
        "other.back",
        "--addtag",
        "vmtoolkit",
        &format!("{VG}/other"),
    ])?;
    let src = VolumeRef::new(VG, "src")?;
    let mut whys = Vec::new();
    for name in ["admin.back", "plain.back", "other.back"] {
        let before = lvm.volume(&src.sibling(name)?)?.context("missing before")?;
        match lvm.snapshot(&src, name, SnapshotSize::Bytes(8 << 20)) {
            Err(LvmError::NameTaken { why, .. }) => whys.push(format!("{name}: {why}")),
            Err(other) => bail!("{name}: unexpected error {other}"),
            Ok(_) => bail!("{name}: a volume not ours was replaced"),
        }
        let after = lvm.volume(&src.sibling(name)?)?.context("removed")?;
        ensure!(after.uuid == before.uuid, "{name} was replaced");
    }
    sh(&[
        "lvremove",
        "-f",
        &format!("{VG}/admin.back"),
        &format!("{VG}/plain.back"),
        &format!("{VG}/other.back"),
    ])?;
    sh(&[
        "lvremove",
        "-f",
        &format!("{VG}/src"),
        &format!("{VG}/other"),
    ])?;
    Ok(whys.join("; "))
}

/// A snapshot of ours whose owner (this process) still runs is not removed by a second
/// request for it.
fn owner_running(lvm: &Lvm<SystemRunner>) -> Result<String> {
    sh(&["lvcreate", "-y", "-L", "16M", "-n", "busy", VG])?;
    let origin = VolumeRef::new(VG, "busy")?;
    let first = lvm.snapshot(&origin, "busy.back", SnapshotSize::Bytes(8 << 20))?;
    let message = match lvm.snapshot(&origin, "busy.back", SnapshotSize::Bytes(8 << 20)) {
        Err(error @ LvmError::InUse { .. }) => error.to_string(),
        Err(other) => bail!("unexpected error {other}"),
        Ok(_) => bail!("a live snapshot was replaced"),
    };
    let still = lvm
        .volume(first.reference())?
        .context("the first snapshot is gone")?;
    ensure!(
        still.uuid == first.volume().uuid,
        "the first snapshot was replaced"
    );
    first.remove()?;
    sh(&["lvremove", "-f", &format!("{VG}/busy")])?;
    Ok(message)
}

/// A mount that fails (wrong file-system type; `rw` asked for): the error comes back and
/// the snapshot, dropped on the `?` path, is removed.
fn mount_fails(lvm: &Lvm<SystemRunner>) -> Result<String> {
    origin(VG, "mnt-src", "32M", "ext4", None)?;
    let origin = VolumeRef::new(VG, "mnt-src")?;
    let attempt = |fstype: &str, options: &str| -> Result<(), LvmError> {
        let snapshot = lvm.snapshot(&origin, "mnt-src.back", SnapshotSize::Bytes(8 << 20))?;
        let _mount = snapshot.mount(
            &mount_point("mnt-src.back").expect("mount point"),
            fstype,
            options,
        )?;
        Ok(())
    };
    let wrong_type = match attempt("xfs", "") {
        Err(error @ LvmError::Io { .. }) => error.to_string(),
        other => bail!("mounting ext4 as xfs: {other:?}"),
    };
    ensure!(
        lvm.ours(VG)?.is_empty(),
        "the snapshot outlived the failed mount"
    );
    let read_write = match attempt("ext4", "rw") {
        Err(error @ LvmError::MountOption { .. }) => error.to_string(),
        other => bail!("mounting rw: {other:?}"),
    };
    drop_origin(VG, "mnt-src")?;
    Ok(format!("{wrong_type}; {read_write}"))
}

/// A panic while the snapshot is mounted: unwinding unmounts it, then removes it.
fn panic_while_mounted(lvm: &Lvm<SystemRunner>) -> Result<String> {
    origin(VG, "pan-src", "32M", "ext4", None)?;
    let origin = VolumeRef::new(VG, "pan-src")?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let snapshot = lvm
            .snapshot(&origin, "pan-src.back", SnapshotSize::Bytes(8 << 20))
            .expect("snapshot");
        let _mount = snapshot
            .mount(
                &mount_point("pan-src.back").expect("mount point"),
                "ext4",
                "ro",
            )
            .expect("mount");
        panic!("a panic while the snapshot is mounted");
    }));
    ensure!(outcome.is_err(), "no panic");
    drop_origin(VG, "pan-src")?;
    Ok("unwound: unmounted and removed".into())
}

/// The child of [`stale_after_sigkill`]: snapshot, mount, say `ready`, wait to be killed.
pub fn child_snapshot(vg: &str, origin: &str, name: &str, target: &str) -> Result<()> {
    let lvm = Lvm::system()?;
    let snapshot = lvm.snapshot(
        &VolumeRef::new(vg, origin)?,
        name,
        SnapshotSize::Bytes(8 << 20),
    )?;
    let _mount = snapshot.mount(std::path::Path::new(target), "ext4", "ro")?;
    println!("ready");
    std::thread::sleep(std::time::Duration::from_secs(600));
    bail!("the child was not killed")
}
