//! The scenarios: guest-fixup opening, inspecting, planning and applying a guest whose root is
//! a logical volume; a failing step; a panic while open; volume groups that clash with one
//! already active (by UUID, by name). Each runs on a fresh copy of a base image.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use guest_fixup::disk::{Guest, OpenOptions};
use guest_fixup::{
    Direction, GuestFixupError, GuestFs, HostRunner, PlanOptions, apply, inspect, plan, undo,
};

use crate::image::{self, DEFAULT_GRUB, FSTAB, HandOpen, KERNEL, VG};
use crate::support::{IMAGE_DIR, MOUNT_ROOT, Reporter, active_volumes_of, mount_point, sh};

/// What the scenarios need: the two base images and their volume groups' UUIDs.
struct Bases {
    good: PathBuf,
    good_uuid: String,
    failing: PathBuf,
    failing_uuid: String,
}

pub fn run(report: &mut Reporter) -> Result<()> {
    // The images live on /dev/vda (tmpfs would hold them in the guest's memory).
    sh(&["mkfs.ext4", "-q", "/dev/vda"])?;
    fs::create_dir_all(IMAGE_DIR)?;
    sh(&["mount", "/dev/vda", IMAGE_DIR])?;
    fs::create_dir_all(MOUNT_ROOT)?;
    let good = Path::new(IMAGE_DIR).join("base-good.img");
    let failing = Path::new(IMAGE_DIR).join("base-failing.img");
    let bases = Bases {
        good_uuid: image::build(&good, false).context("building the base image")?,
        good,
        failing_uuid: image::build(&failing, true).context("building the failing image")?,
        failing,
    };
    let uuid = bases.good_uuid.clone();
    report.scenario(&uuid, "read-only-inspect-plan", || read_only(&bases));
    report.scenario(&uuid, "apply-and-check", || apply_and_check(&bases));
    report.scenario(&bases.failing_uuid.clone(), "failing-step-undone", || {
        failing_step(&bases)
    });
    report.scenario(&uuid, "panic-while-open", || panic_while_open(&bases));
    report.scenario(&uuid, "uuid-already-active", || uuid_clash(&bases));
    report.scenario(&uuid, "name-taken-on-host", || name_clash(&bases));
    Ok(())
}

fn copy(base: &Path, name: &str) -> Result<PathBuf> {
    let path = Path::new(IMAGE_DIR).join(format!("case-{name}.img"));
    fs::copy(base, &path).with_context(|| format!("copying {}", base.display()))?;
    Ok(path)
}

fn options(name: &str, read_only: bool) -> Result<OpenOptions> {
    Ok(OpenOptions {
        read_only,
        root: mount_point(name)?,
    })
}

fn direction() -> Direction {
    "xen-pv->kvm-virtio".parse().expect("a known direction")
}

fn plan_options() -> PlanOptions {
    PlanOptions {
        regenerate_grub: false,
        ..PlanOptions::default()
    }
}

/// Opened read-only: the volume group is activated with read-only volumes, the root found
/// on its LV, /boot mounted from partition 1 through fstab's xvda1; the plan renames xvda1,
/// switches the console, keeps root= on the LV, recreates the swap LV and rebuilds the
/// initramfs. The image is unchanged afterwards.
fn read_only(bases: &Bases) -> Result<String> {
    let image = copy(&bases.good, "read-only")?;
    let before = fs::read(&image)?;
    let guest = Guest::open(std::slice::from_ref(&image), &options("read-only", true)?)?;
    let groups: Vec<String> = guest
        .volume_groups()
        .into_iter()
        .map(str::to_owned)
        .collect();
    ensure!(groups == [VG], "activated volume groups: {groups:?}");
    let active = active_volumes_of(&bases.good_uuid);
    ensure!(
        active.len() == 2,
        "the image's volumes while open: {active:?}"
    );
    let fs_ = guest.fs();
    let found = inspect(&fs_)?;
    ensure!(found.os.id == "debian", "os: {:?}", found.os);
    ensure!(found.consoles == ["hvc0"], "consoles: {:?}", found.consoles);
    ensure!(
        fs_.exists(&format!("/boot/vmlinuz-{KERNEL}"))?,
        "/boot (partition 1) is not mounted"
    );
    let plan = plan(&fs_, &found, guest.facts(), &direction(), &plan_options())?;
    let diff = plan.diff();
    for want in [
        "+/dev/vda1 /boot ext4 defaults 0 2",
        "root=/dev/mapper/guestvg-root ro console=tty0 console=ttyS0,115200",
        "mkswap /dev/mapper/guestvg-swap",
        &format!("update-initramfs -u -k {KERNEL}"),
    ] {
        ensure!(diff.contains(want), "the plan lacks {want:?}:\n{diff}");
    }
    ensure!(
        !diff.contains("-/dev/mapper/guestvg-root"),
        "the plan renames the LV root:\n{diff}"
    );
    guest.close()?;
    ensure!(
        fs::read(&image)? == before,
        "a read-only open changed the image"
    );
    fs::remove_file(&image)?;
    Ok(format!(
        "{} edits, {} steps",
        plan.edits.len(),
        plan.steps.len()
    ))
}

/// Applied: then the image is opened again by hand (the VM's own losetup, partx, lvm2 and
/// mount) and the edits are checked on disk.
fn apply_and_check(bases: &Bases) -> Result<String> {
    let image = copy(&bases.good, "apply")?;
    let guest = Guest::open(std::slice::from_ref(&image), &options("apply", false)?)?;
    let fs_ = guest.fs();
    let found = inspect(&fs_)?;
    let plan = plan(&fs_, &found, guest.facts(), &direction(), &plan_options())?;
    let chroot = guest.chroot();
    let applied = apply(
        &fs_,
        &plan,
        &guest.apply_context(&chroot, &HostRunner, direction().target()),
    )?;
    guest.close()?;

    let mut open = HandOpen::attach(&image)?;
    open.activate()?;
    let swap = sh(&[
        "blkid",
        "-p",
        "-o",
        "value",
        "-s",
        "TYPE",
        "/dev/guestvg/swap",
    ])?;
    ensure!(
        swap.trim() == "swap",
        "the swap LV holds {swap:?}, not a swap area"
    );
    let root = open.mount("/dev/guestvg/root", "check-root")?;
    let boot = open.mount(&format!("{}p1", open.loop_dev), "check-boot")?;
    let read = |dir: &Path, path: &str| {
        fs::read_to_string(dir.join(path)).with_context(|| format!("reading {path}"))
    };
    let fstab = read(&root, "etc/fstab")?;
    ensure!(
        fstab == FSTAB.replace("/dev/xvda1", "/dev/vda1"),
        "fstab:\n{fstab}"
    );
    ensure!(
        read(&root, "etc/fstab.guest-fixup-orig")? == FSTAB,
        "fstab's original is not kept"
    );
    let default = read(&root, "etc/default/grub")?;
    ensure!(
        default == DEFAULT_GRUB.replace("console=hvc0", "console=tty0 console=ttyS0,115200"),
        "/etc/default/grub:\n{default}"
    );
    let grub = read(&boot, "grub/grub.cfg")?;
    ensure!(
        grub.contains("root=/dev/mapper/guestvg-root ro console=tty0 console=ttyS0,115200 resume=/dev/mapper/guestvg-swap"),
        "grub.cfg:\n{grub}"
    );
    let args = read(&root, "var/log/update-initramfs.args")?;
    ensure!(
        args.trim() == format!("-u -k {KERNEL}"),
        "update-initramfs ran with {args:?}"
    );
    let dev = read(&root, "var/log/update-initramfs.dev")?;
    ensure!(
        dev.contains("guestvg-root") && dev.contains("control") && dev.contains("swap"),
        "the chroot's /dev held {dev:?}"
    );
    open.close()?;
    fs::remove_file(&image)?;
    Ok(format!(
        "{} changes, ran {:?}",
        applied.changes.len(),
        applied.ran
    ))
}

/// The guest's update-initramfs fails: apply reports it, undo puts the files back, and
/// closing releases the mounts, the volume group and the loop device.
fn failing_step(bases: &Bases) -> Result<String> {
    let image = copy(&bases.failing, "failing")?;
    let guest = Guest::open(std::slice::from_ref(&image), &options("failing", false)?)?;
    let fs_ = guest.fs();
    let found = inspect(&fs_)?;
    let plan = plan(&fs_, &found, guest.facts(), &direction(), &plan_options())?;
    let chroot = guest.chroot();
    let error = match apply(
        &fs_,
        &plan,
        &guest.apply_context(&chroot, &HostRunner, direction().target()),
    ) {
        Ok(_) => bail!("apply succeeded although update-initramfs fails"),
        Err(e) => e.to_string(),
    };
    ensure!(
        error.contains("update-initramfs") && error.contains("failing on purpose"),
        "error: {error}"
    );
    ensure!(
        fs_.read_text("/etc/fstab")?.as_deref() != Some(FSTAB),
        "the edits were not applied before the step"
    );
    undo(&fs_)?;
    ensure!(
        fs_.read_text("/etc/fstab")?.as_deref() == Some(FSTAB),
        "undo did not restore fstab"
    );
    drop(guest); // the guard path, not close()
    let mut open = HandOpen::attach(&image)?;
    open.activate()?;
    let root = open.mount("/dev/guestvg/root", "failing-check")?;
    let fstab = fs::read_to_string(root.join("etc/fstab"))?;
    ensure!(fstab == FSTAB, "fstab on disk after undo:\n{fstab}");
    open.close()?;
    fs::remove_file(&image)?;
    Ok(error)
}

/// A panic while the guest is open (mounted, volume group active): unwinding releases all.
fn panic_while_open(bases: &Bases) -> Result<String> {
    let image = copy(&bases.good, "panic")?;
    let opts = options("panic", false)?;
    let uuid = bases.good_uuid.clone();
    let path = image.clone();
    let outcome = std::panic::catch_unwind(move || {
        let guest = Guest::open(&[path], &opts).expect("open");
        assert!(
            !active_volumes_of(&uuid).is_empty(),
            "the volume group is active"
        );
        assert!(
            !guest.fs().exists("/etc/fstab").unwrap_or(false),
            "a panic while the guest is open"
        );
    });
    ensure!(outcome.is_err(), "the closure did not panic");
    fs::remove_file(&image)?;
    Ok("released by unwinding".into())
}

/// The same volume group (a copy of the image, same UUID) is already active, opened by
/// someone else: guest-fixup refuses and leaves it active.
fn uuid_clash(bases: &Bases) -> Result<String> {
    let theirs = copy(&bases.good, "theirs")?;
    let ours = copy(&bases.good, "ours")?;
    let mut other = HandOpen::attach(&theirs)?;
    other.activate()?;
    let before = active_volumes_of(&bases.good_uuid);
    let result = Guest::open(std::slice::from_ref(&ours), &options("uuid-clash", true)?);
    let after = active_volumes_of(&bases.good_uuid);
    other.close()?;
    let message = refusal(result)?;
    ensure!(
        message.contains("UUID") && message.contains("already active"),
        "refusal: {message}"
    );
    ensure!(
        before.len() == 2 && after == before,
        "the other activation changed: {before:?} -> {after:?}"
    );
    fs::remove_file(&theirs)?;
    fs::remove_file(&ours)?;
    Ok(message)
}

/// The host has its own active volume group named `guestvg` (on /dev/vdb): guest-fixup
/// refuses the guest's and leaves the host's active.
fn name_clash(bases: &Bases) -> Result<String> {
    sh(&["pvcreate", "-q", "--devices", "/dev/vdb", "/dev/vdb"])?;
    sh(&["vgcreate", "-q", "--devices", "/dev/vdb", VG, "/dev/vdb"])?;
    sh(&[
        "lvcreate",
        "-q",
        "--devices",
        "/dev/vdb",
        "-y",
        "-L",
        "8m",
        "-n",
        "hostlv",
        VG,
    ])?;
    let image = copy(&bases.good, "name-clash")?;
    let result = Guest::open(std::slice::from_ref(&image), &options("name-clash", false)?);
    let host_lv = Path::new("/dev/mapper/guestvg-hostlv").exists();
    sh(&["vgchange", "--devices", "/dev/vdb", "-an", VG])?;
    let message = refusal(result)?;
    ensure!(
        message.contains("the name is taken on this host"),
        "refusal: {message}"
    );
    ensure!(host_lv, "the host's volume group was deactivated");
    fs::remove_file(&image)?;
    Ok(message)
}

fn refusal(result: guest_fixup::Result<Guest>) -> Result<String> {
    match result {
        Ok(guest) => {
            guest.close()?;
            bail!("guest-fixup opened a guest whose volume group clashes")
        }
        Err(e @ GuestFixupError::Lvm { .. }) => Ok(e.to_string()),
        Err(e) => bail!("another error than the clash: {e}"),
    }
}
