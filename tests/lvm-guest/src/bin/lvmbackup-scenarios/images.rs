//! Raw-image mode on real LVM (in the `failures` group's boot, its volume group and
//! repository): a volume dom0 "cannot mount" backed up as a sparse `.img` and another as
//! `.img.zst`, each restored (into a file, onto a new LV) and compared byte for byte with the
//! origin; a snapshot that overflows while its blocks are read: nothing published.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::setup::{REPO, apply_tree, lvmbackup, noise, repo_files, volume};
use crate::support::{Tree, origin, sh, write_tree};

/// The volume list's lines for this file's volumes (appended to the group's list).
pub const LIST: &str = "\
rawz|disk|/dev/vgfail/rawz-disk|ntfs|ro
raw|disk|/dev/vgfail/raw-disk|ufs|ro
rawovf|disk|/dev/vgfail/rawovf-disk|ntfs|ro
";

/// The settings' lines that put them in raw-image mode.
pub const SETTINGS: &str = "\
[volumes.\"rawz/disk\"]
mode = \"image\"
[volumes.\"raw/disk\"]
mode = \"image\"
image_compression = \"none\"
[volumes.\"rawovf/disk\"]
mode = \"image\"
";

const VG: &str = "vgfail";

/// An origin holding files, unmounted (so that nothing writes to it any more: the image
/// must equal it byte for byte).
fn idle_origin(name: &str, seed: u8) -> Result<String> {
    let mount = origin(VG, name, "64M", "ext4", None)?;
    write_tree(&mount, seed)?;
    sh(&["umount", &mount.to_string_lossy()])?;
    Ok(format!("/dev/{VG}/{name}"))
}

fn same_bytes(a: &str, b: &str) -> Result<()> {
    sh(&["cmp", a, b]).with_context(|| format!("{a} and {b} differ"))?;
    Ok(())
}

/// `.img.zst` and sparse `.img`: published with their records, listed, verified, restored.
pub fn raw_images() -> Result<String> {
    let zst_device = idle_origin("rawz-disk", 11)?;
    let raw_device = idle_origin("raw-disk", 12)?;
    let (code, run) = lvmbackup(&["run", "--volume", "rawz/disk", "--volume", "raw/disk"])?;
    ensure!(code == 0, "exit {code}: {run}");
    let mut details = Vec::new();
    for (name, ext) in [("rawz/disk", "img.zst"), ("raw/disk", "img")] {
        let v = volume(&run, name)?;
        ensure!(v["status"] == "success", "{v}");
        ensure!(v["method"] == format!("raw-image ({ext})"), "{v}");
        let archive = v["archive"].as_str().context("no image")?;
        // named like the archives, by the guest's day (earlier scenarios move the clock)
        let (domu, _) = name.split_once('/').expect("domU/part");
        let stamp = archive
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_prefix(&format!("xen1-mnt-scenarios-4backup-{domu}-disk.")))
            .and_then(|rest| rest.strip_suffix(&format!(".{ext}")))
            .with_context(|| format!("{archive} is not named like the archives"))?;
        ensure!(
            stamp.len() == 8 && stamp.bytes().all(|b| b.is_ascii_digit()),
            "{archive}"
        );
        ensure!(
            std::path::Path::new(&format!("{archive}.json")).is_file(),
            "no record beside {archive}"
        );
        details.push(format!("{name}: {} bytes", v["bytes"]));
    }
    let (code, verify) = lvmbackup(&["verify"])?;
    ensure!(code == 0, "verify exit {code}: {verify}");
    let images = verify
        .as_array()
        .context("verify JSON")?
        .iter()
        .filter(|c| c["path"].as_str().is_some_and(|p| p.contains(".img")))
        .count();
    ensure!(images == 2, "verify checked {images} images: {verify}");
    let (code, list) = lvmbackup(&["list"])?;
    ensure!(code == 0 && list.to_string().contains(".img.zst"), "{list}");
    // into a new file (sparse), and onto a new LV made by restore
    let (code, restored) = lvmbackup(&[
        "restore",
        "--volume",
        "raw/disk",
        "--image-to",
        "/tmp/raw-disk.img",
    ])?;
    ensure!(code == 0, "restore exit {code}: {restored}");
    same_bytes("/tmp/raw-disk.img", &raw_device)?;
    std::fs::remove_file("/tmp/raw-disk.img")?;
    let (code, restored) = lvmbackup(&[
        "restore",
        "--volume",
        "rawz/disk",
        "--new-lv",
        "vgfail/rawz-restored",
    ])?;
    ensure!(code == 0, "restore exit {code}: {restored}");
    same_bytes("/dev/vgfail/rawz-restored", &zst_device)?;
    for lv in ["rawz-restored", "rawz-disk", "raw-disk"] {
        sh(&["lvremove", "-f", &format!("{VG}/{lv}")])?;
    }
    details.push("restored byte for byte into a file and onto a new LV".into());
    Ok(details.join(", "))
}

/// An 8 MiB copy-on-write space; 24 MiB written into the origin (each MiB synced) as soon
/// as the snapshot exists, while its 256 MiB are read: the image is not published, the
/// snapshot is removed.
pub fn raw_overflow() -> Result<String> {
    let mount = origin(VG, "rawovf-disk", "256M", "ext4", None)?;
    let mut tree = Tree::new();
    tree.insert("data/noise".into(), noise(150 << 20, 5));
    apply_tree(&mount, &tree)?;
    let conf = std::fs::read_to_string("/etc/xenbackup.conf")?;
    std::fs::write(
        "/etc/xenbackup.conf",
        conf.replace("SNAPSIZE=\"16M\"", "SNAPSIZE=\"8M\""),
    )?;
    let writer = std::thread::spawn(move || -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let snapshot = format!("/dev/{VG}/rawovf-disk.back");
        while !std::path::Path::new(&snapshot).exists() {
            ensure!(Instant::now() < deadline, "the snapshot was never made");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut file = std::fs::File::create(mount.join("data/overwrite"))?;
        for chunk in 0..24u64 {
            std::io::Write::write_all(&mut file, &noise(1 << 20, 40 + chunk))?;
            file.sync_data()?;
        }
        Ok(())
    });
    let result = lvmbackup(&["run", "--volume", "rawovf/disk"]);
    let written = writer.join().expect("writer thread");
    std::fs::write("/etc/xenbackup.conf", conf)?;
    let (code, run) = result?;
    written?;
    ensure!(code == 1, "exit {code}: {run}");
    let v = volume(&run, "rawovf/disk")?;
    ensure!(v["status"] == "failed" && v["archive"].is_null(), "{v}");
    let step = v["step"].as_str().unwrap_or_default();
    ensure!(
        step == "archive" || step == "overflow-check",
        "failed at {step}: {v}"
    );
    let left = repo_files("rawovf-disk")?;
    ensure!(left.is_empty(), "{REPO} holds {left:?}");
    crate::support::drop_origin(VG, "rawovf-disk")?;
    Ok(format!("failed at {step}: {}", v["error"]))
}
