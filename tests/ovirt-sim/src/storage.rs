//! Disk images on the storage domains' directories: raw volumes are sparse files, cow volumes
//! qcow2 images; a snapshot freezes the active volume and puts a qcow2 overlay on top of it
//! (copy-on-write, as vdsm does); removing a snapshot merges its overlay down
//! (`qemu-img commit`). Checkpoints are qcow2 bitmaps. qemu-img does the format work.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::SimError;
use crate::model::{Disk, Format, Volume};

/// Runs qemu-img with `args`.
pub(crate) fn qemu_img(args: &[&str]) -> Result<(), SimError> {
    crate::tools::run("qemu-img", args).map(drop)
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The path of a volume: `<sd dir>/<disk id>/<image id>`.
pub(crate) fn volume_path(sd_dir: &Path, disk: &str, image: &str) -> PathBuf {
    sd_dir.join(disk).join(image)
}

/// Creates the first volume of a new disk: a sparse raw file or an empty qcow2.
pub(crate) fn create_volume(
    sd_dir: &Path,
    disk: &str,
    image: &str,
    format: Format,
    size: u64,
) -> Result<Volume, SimError> {
    let path = volume_path(sd_dir, disk, image);
    let parent = path.parent().expect("a volume has a directory");
    fs::create_dir_all(parent)
        .map_err(|e| SimError::io(format!("creating {}", parent.display()), e))?;
    match format {
        Format::Raw => {
            let file = fs::File::create(&path)
                .map_err(|e| SimError::io(format!("creating {}", path.display()), e))?;
            file.set_len(size)
                .map_err(|e| SimError::io(format!("sizing {}", path.display()), e))?;
        }
        Format::Cow => qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            &text(&path),
            &size.to_string(),
        ])?,
    }
    Ok(Volume {
        image_id: image.to_owned(),
        path,
        format,
        snapshot: None,
    })
}

/// Freezes the active volume for `snapshot` and puts a new qcow2 overlay (`image`) on top.
pub(crate) fn snapshot_volume(
    disk: &mut Disk,
    snapshot: &str,
    image: &str,
) -> Result<(), SimError> {
    let (base, base_format) = {
        let active = disk.active();
        (active.path.clone(), active.format)
    };
    let path = base.with_file_name(image);
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        &text(&base),
        "-F",
        base_format.qemu(),
        &text(&path),
    ])?;
    // Bitmaps live in the active volume: a new overlay starts them afresh.
    for bitmap in &disk.bitmaps {
        qemu_img(&["bitmap", "--add", "--enable", &text(&path), bitmap])?;
    }
    disk.volumes.last_mut().expect("a volume").snapshot = Some(snapshot.to_owned());
    disk.volumes.push(Volume {
        image_id: image.to_owned(),
        path,
        format: Format::Cow,
        snapshot: None,
    });
    Ok(())
}

/// Merges the overlay above `snapshot`'s volume down into it and drops the overlay: the
/// frozen volume takes the overlay's place (and snapshot) in the chain.
pub(crate) fn merge_snapshot(disk: &mut Disk, snapshot: &str) -> Result<(), SimError> {
    let Some(index) = disk
        .volumes
        .iter()
        .position(|v| v.snapshot.as_deref() == Some(snapshot))
    else {
        return Ok(());
    };
    let upper = disk.volumes[index + 1].clone();
    let lower = disk.volumes[index].clone();
    qemu_img(&["commit", "-q", "-f", "qcow2", &text(&upper.path)])?;
    if let Some(child) = disk.volumes.get(index + 2) {
        qemu_img(&[
            "rebase",
            "-q",
            "-u",
            "-f",
            "qcow2",
            "-b",
            &text(&lower.path),
            "-F",
            lower.format.qemu(),
            &text(&child.path),
        ])?;
    }
    if index + 2 == disk.volumes.len() && lower.format == Format::Cow {
        // The merged volume is active again: it carries the checkpoint bitmaps.
        for bitmap in &disk.bitmaps {
            let _ = qemu_img(&["bitmap", "--add", "--enable", &text(&lower.path), bitmap]);
        }
    }
    fs::remove_file(&upper.path)
        .map_err(|e| SimError::io(format!("removing {}", upper.path.display()), e))?;
    disk.volumes.remove(index + 1);
    disk.volumes[index].snapshot = upper.snapshot;
    Ok(())
}

/// Removes every volume of a disk, and its directory.
pub(crate) fn remove_disk(disk: &Disk) -> Result<(), SimError> {
    if let Some(dir) = disk.active().path.parent() {
        fs::remove_dir_all(dir)
            .map_err(|e| SimError::io(format!("removing {}", dir.display()), e))?;
    }
    Ok(())
}

/// Adds an enabled bitmap (a checkpoint) to a disk's active qcow2 volume.
pub(crate) fn add_bitmap(disk: &mut Disk, name: &str) -> Result<(), SimError> {
    qemu_img(&[
        "bitmap",
        "--add",
        "--enable",
        &text(&disk.active().path),
        name,
    ])?;
    disk.bitmaps.push(name.to_owned());
    Ok(())
}

/// Removes a checkpoint's bitmap from a disk.
pub(crate) fn remove_bitmap(disk: &mut Disk, name: &str) -> Result<(), SimError> {
    if disk.bitmaps.iter().any(|b| b == name) {
        qemu_img(&["bitmap", "--remove", &text(&disk.active().path), name])?;
        disk.bitmaps.retain(|b| b != name);
    }
    Ok(())
}

/// The bytes a disk had at `snapshot` (or now), as a new sparse raw file at `out`.
pub(crate) fn export_raw(volume: &Volume, out: &Path) -> Result<(), SimError> {
    qemu_img(&[
        "convert",
        "-q",
        "-f",
        volume.format.qemu(),
        "-O",
        "raw",
        "-S",
        "4k",
        &text(&volume.path),
        &text(out),
    ])
}
