//! Group `snapshots`: thick and thin snapshots of ext4 and XFS volumes holding real files,
//! mounted read-only and compared with the origin's state at snapshot time while the origin
//! changes; plus the real `lvs` / `vgs` JSON for the unit tests' fixtures.

use anyhow::{Result, ensure};
use lvm_snap::{Fill, Lvm, SnapshotSize, SystemRunner, VolumeRef};

use crate::support::{
    Reporter, change_tree, drop_origin, lvs_argv, mount_point, origin, read_tree, same_tree, sh,
    write_tree,
};

const VG: &str = "vgsnap";

pub fn run(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<()> {
    sh(&["pvcreate", "-y", "/dev/vda"])?;
    sh(&["vgcreate", VG, "/dev/vda"])?;
    sh(&["lvcreate", "-y", "-L", "300M", "-T", &format!("{VG}/pool")])?;
    let vgs = [VG];
    report.scenario(lvm, &vgs, "thick-ext4", |_| {
        round_trip(lvm, "ext-root", "ext4", SnapshotSize::Bytes(24 << 20), None)
    });
    report.scenario(lvm, &vgs, "thick-xfs-percent", |_| {
        round_trip(
            lvm,
            "xfs-data",
            "xfs",
            SnapshotSize::PercentOfOrigin(30),
            None,
        )
    });
    report.scenario(lvm, &vgs, "thin-ext4", |_| {
        round_trip(lvm, "thin-ext", "ext4", SnapshotSize::Thin, Some("pool"))
    });
    report.scenario(lvm, &vgs, "thin-xfs", |_| {
        round_trip(lvm, "thin-xfs", "xfs", SnapshotSize::Thin, Some("pool"))
    });
    report.scenario(lvm, &vgs, "capture-json", |report| capture(report, lvm));
    Ok(())
}

/// Origin with files → snapshot → read-only mount → origin changes → the snapshot still
/// shows the old files, the origin the new → fill checked → unmount → remove.
fn round_trip(
    lvm: &Lvm<SystemRunner>,
    name: &str,
    fstype: &str,
    size: SnapshotSize,
    pool: Option<&str>,
) -> Result<String> {
    let origin_mount = origin(VG, name, "128M", fstype, pool)?;
    let before = write_tree(&origin_mount, name.len() as u8)?;
    let origin_ref = VolumeRef::new(VG, name)?;
    let snapshot = lvm.snapshot(&origin_ref, &format!("{name}.back"), size)?;
    let volume = snapshot.volume().clone();
    ensure!(
        volume.active,
        "the snapshot is not active: {}",
        volume.attr_text
    );
    ensure!(
        volume.is_snapshot() && volume.is_ours(),
        "not a snapshot of ours: {volume:?}"
    );
    ensure!(
        volume.origin.as_deref() == Some(name),
        "origin is {:?}",
        volume.origin
    );
    ensure!(
        !volume.attr.skip_activation,
        "a thin snapshot kept its activation-skip flag"
    );
    ensure!(
        volume.owner().as_ref() == Some(lvm.owner()),
        "owner tag {:?}",
        volume.tags
    );
    if let SnapshotSize::PercentOfOrigin(percent) = size {
        // 30% of 128 MiB plus lvm2's room for the exception table, in whole 4 MiB extents
        let wanted = (128u64 << 20) * u64::from(percent) / 100;
        ensure!(
            volume.size >= wanted
                && volume.size <= wanted + wanted / 8 + (4 << 20)
                && volume.size % (4 << 20) == 0,
            "size {} for {percent}%",
            volume.size
        );
    }
    let target = mount_point(&format!("{name}.back"))?;
    let mount = snapshot.mount(&target, fstype, "ro,noatime")?;
    let after = change_tree(&origin_mount, before.clone())?;
    same_tree("snapshot", &read_tree(mount.target())?, &before)?;
    same_tree("origin", &read_tree(&origin_mount)?, &after)?;
    mount.unmount()?;
    let fill = snapshot.check_intact()?;
    match (&fill, size) {
        (Fill::Thin { pool_percent, .. }, SnapshotSize::Thin) => {
            ensure!(*pool_percent > 0.0, "{fill}");
        }
        (
            Fill::CopyOnWrite {
                percent,
                invalid: false,
                ..
            },
            SnapshotSize::Bytes(_) | SnapshotSize::PercentOfOrigin(_),
        ) => {
            ensure!(*percent > 0.0 && *percent < 100.0, "{fill}");
        }
        _ => anyhow::bail!("fill {fill:?} for a {size:?} snapshot"),
    }
    let device = snapshot.device();
    snapshot.remove()?;
    ensure!(
        !device.exists(),
        "{} still exists after removal",
        device.display()
    );
    drop_origin(VG, name)?;
    Ok(format!(
        "{} files compared, {fill}, {} B",
        before.len(),
        volume.size
    ))
}

/// The real JSON of every state the unit tests decode: an origin with a thick snapshot, an
/// active thin snapshot of ours and an inactive one with the activation-skip flag, a thin
/// pool, the volume group, and a failing `lvs`.
fn capture(report: &mut Reporter, lvm: &Lvm<SystemRunner>) -> Result<String> {
    let fields_vg = "vg_name,vg_uuid,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,lv_count,snap_count,vg_tags";
    let origin_mount = origin(VG, "web1-root", "64M", "ext4", None)?;
    write_tree(&origin_mount, 1)?;
    origin(VG, "thin1", "64M", "ext4", Some("pool"))?;
    let thick = lvm.snapshot(
        &VolumeRef::new(VG, "web1-root")?,
        "web1-root.back",
        SnapshotSize::Bytes(8 << 20),
    )?;
    let thin = lvm.snapshot(
        &VolumeRef::new(VG, "thin1")?,
        "thin1.back",
        SnapshotSize::Thin,
    )?;
    // what a thin snapshot looks like without -kn: inactive, activation skipped
    sh(&["lvcreate", "-s", "-n", "thin1.skip", &format!("{VG}/thin1")])?;
    report.capture("lvs-snapshots", &lvs_argv(VG))?;
    report.capture(
        "vgs",
        &[
            "vgs",
            "--reportformat",
            "json",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            fields_vg,
        ],
    )?;
    report.capture("lvs-missing-vg", &lvs_argv("nosuchvg"))?;
    let listed = lvm.volumes(VG)?;
    let skip = listed.iter().find(|v| v.name == "thin1.skip");
    ensure!(
        skip.is_some_and(|v| !v.active && v.attr.skip_activation),
        "thin1.skip: {skip:?}"
    );
    ensure!(
        lvm.volume_groups()?.iter().any(|g| g.name == VG),
        "vgs does not list {VG}"
    );
    sh(&["lvremove", "-f", &format!("{VG}/thin1.skip")])?;
    thin.remove()?;
    thick.remove()?;
    drop_origin(VG, "web1-root")?;
    drop_origin(VG, "thin1")?;
    Ok(format!("{} volumes listed", listed.len()))
}
