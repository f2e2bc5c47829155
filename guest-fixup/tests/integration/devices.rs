//! Real loop devices, partitions and mounts: small images built with sfdisk and
//! `mkfs.ext4 -d` (no loop device needed to build them), opened by [`Guest`], fixed, closed;
//! and the bad inputs. After every test, none of this test's loop devices (`losetup -j
//! IMAGE`) or mounts (findmnt under its temp dir) is left.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use guest_fixup::apply::ApplyContext;
use guest_fixup::disk::{Guest, OpenOptions};
use guest_fixup::{GuestFixupError, GuestFs, HostRunner, PlanOptions, apply, inspect, plan};

use super::synthetic::Root;

fn run(argv: &[&str]) -> String {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!("{}: {e}; run scripts/install-test-deps", argv[0]);
        });
    assert!(
        output.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A 64 MiB disk: partition 1 an ext4 filesystem made from `files`, partition 2 typed swap
/// but wiped (all zeros).
pub fn tiny_disk(dir: &Path, files: impl FnOnce(&Root<'_>)) -> PathBuf {
    let tree = dir.join("tree");
    files(&Root { dir: &tree });
    let fs_image = dir.join("root.fs");
    run(&[
        "mkfs.ext4",
        "-q",
        "-F",
        "-L",
        "guestroot",
        "-d",
        tree.to_str().unwrap(),
        fs_image.to_str().unwrap(),
        "40M",
    ]);
    let disk = dir.join("disk.img");
    run(&["truncate", "-s", "64M", disk.to_str().unwrap()]);
    let mut sfdisk = Command::new("sfdisk")
        .arg("-q")
        .arg(&disk)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk: run scripts/install-test-deps");
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\nstart=2048, size=81920, type=83\nstart=83968, type=82\n")
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    run(&[
        "dd",
        &format!("if={}", fs_image.display()),
        &format!("of={}", disk.display()),
        "bs=1M",
        "seek=1",
        "conv=notrunc,fsync",
        "status=none",
    ]);
    std::fs::remove_file(fs_image).unwrap();
    disk
}

/// A KVM-named guest without a kernel, with busybox as its shell and `grub_mkconfig` as its
/// grub-mkconfig.
pub fn kvm_guest(grub_mkconfig: &'static str) -> impl FnOnce(&Root<'_>) {
    move |root| {
        root.file(
            "/etc/os-release",
            "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"tiny\"\n",
        )
        .file(
            "/etc/fstab",
            "/dev/vda1 / ext4 defaults 0 1\n/dev/vda2 none swap sw 0 0\n",
        )
        .file(
            "/etc/default/grub",
            "GRUB_CMDLINE_LINUX=\"console=ttyS0\"\n",
        )
        .file(
            "/boot/grub/grub.cfg",
            "\tlinux /vmlinuz root=/dev/vda1 console=ttyS0\n",
        )
        .bytes(
            "/bin/busybox",
            &std::fs::read("/bin/busybox")
                .expect("/bin/busybox: run scripts/install-test-deps (busybox-static)"),
        )
        .link("/bin/sh", "busybox")
        .file("/usr/sbin/grub-mkconfig", grub_mkconfig);
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(root.dir.join("bin/busybox"))
                .unwrap()
                .permissions(),
            0o755,
        );
        run(&[
            "chmod",
            "755",
            root.dir.join("bin/busybox").to_str().unwrap(),
            root.dir.join("usr/sbin/grub-mkconfig").to_str().unwrap(),
        ]);
    }
}

/// Fails if a loop device still has `image` as its backing file, or a mount is left under `dir`.
pub fn assert_released(image: &Path, dir: &Path) {
    let loops = run(&["losetup", "-j", image.to_str().unwrap()]);
    assert!(loops.trim().is_empty(), "loop devices left: {loops}");
    let mounts = run(&["findmnt", "-rn", "-o", "TARGET"]);
    let ours: Vec<&str> = mounts
        .lines()
        .filter(|m| m.starts_with(dir.to_str().unwrap()))
        .collect();
    assert!(ours.is_empty(), "mounts left: {ours:?}");
}

fn sha(path: &Path) -> String {
    run(&["sha256sum", path.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn options(dir: &Path, read_only: bool) -> OpenOptions {
    OpenOptions {
        read_only,
        root: dir.join("mnt/linux"),
    }
}

#[test]
fn a_real_disk_is_fixed_through_loop_devices_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(
        dir.path(),
        kvm_guest(
            "#!/bin/sh\n[ \"$1\" = -o ] && echo \"\tlinux /vmlinuz root=/dev/$(ls /dev | grep -m1 'loop.*p1') console=hvc0\" > \"$2\"\n",
        ),
    );
    let guest = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap();
    assert!(guest.facts().disks[0].partitioned);
    assert!(!guest.facts().disks[0].boot_code);
    let fs = guest.fs();
    let found = inspect(&fs).unwrap();
    let direction = "kvm->xen-pv".parse().unwrap();
    let planned = plan(
        &fs,
        &found,
        guest.facts(),
        &direction,
        &PlanOptions::default(),
    )
    .unwrap();
    let text = planned.diff();
    assert!(text.contains("+/dev/xvda1 / ext4"), "{text}");
    assert!(text.contains("$ mkswap /dev/loop"), "{text}");
    let chroot = guest.chroot();
    let cx = guest.apply_context(&chroot, &HostRunner, direction.target());
    apply(&fs, &planned, &cx).unwrap();
    // grub-mkconfig ran in the chroot and wrote the host's loop partition: it is the guest's name now.
    let grub = std::fs::read_to_string(guest.root().join("boot/grub/grub.cfg")).unwrap();
    assert!(grub.contains("root=/dev/xvda1 console=hvc0"), "{grub}");
    guest.close().unwrap();
    assert_released(&image, dir.path());

    let guest = Guest::open(std::slice::from_ref(&image), &options(dir.path(), true)).unwrap();
    assert_eq!(
        guest.facts().volumes[1].content,
        guest_fixup::facts::Content::Swap
    );
    let fstab = std::fs::read_to_string(guest.root().join("etc/fstab")).unwrap();
    assert_eq!(
        fstab,
        "/dev/xvda1 / ext4 defaults 0 1\n/dev/xvda2 none swap sw 0 0\n"
    );
    guest.close().unwrap();
    assert_released(&image, dir.path());
}

#[test]
fn a_failing_chroot_command_is_reported_and_everything_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(
        dir.path(),
        kvm_guest("#!/bin/sh\necho 'grub-mkconfig: boom' >&2\nexit 1\n"),
    );
    let guest = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap();
    let fs = guest.fs();
    let found = inspect(&fs).unwrap();
    let direction = "kvm->xen-pv".parse().unwrap();
    let planned = plan(
        &fs,
        &found,
        guest.facts(),
        &direction,
        &PlanOptions::default(),
    )
    .unwrap();
    let chroot = guest.chroot();
    let cx: ApplyContext<'_> = guest.apply_context(&chroot, &HostRunner, direction.target());
    let error = apply(&fs, &planned, &cx).unwrap_err();
    assert!(matches!(&error, GuestFixupError::Command { .. }), "{error}");
    assert!(error.to_string().contains("grub-mkconfig: boom"), "{error}");
    drop(guest); // the failure path: drop, not close
    assert_released(&image, dir.path());
}

#[test]
fn a_disk_without_linux_is_refused_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), |root| {
        root.file("/data/readme.txt", "no operating system here\n");
    });
    let before = sha(&image);
    let error = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap_err();
    assert!(matches!(error, GuestFixupError::NoLinux { .. }), "{error}");
    assert!(
        error.to_string().contains("ext4 without /etc/fstab"),
        "{error}"
    );
    assert_released(&image, dir.path());
    assert_eq!(sha(&image), before);
}

/// A loop device of this test's own, detached on drop.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

/// Writes a real LVM physical volume signature (lvm2's `pvcreate`, which needs no
/// device-mapper) over partition 2 of `image`, through a loop device of the partition alone.
fn make_partition_2_a_pv(image: &Path) {
    let offset = (83968 * 512).to_string();
    let device = run(&[
        "losetup",
        "-f",
        "--show",
        "-o",
        &offset,
        image.to_str().unwrap(),
    ]);
    let device = Loop(device.trim().to_owned());
    run(&["pvcreate", "-q", "-y", "-ff", &device.0]);
}

/// The host has no device-mapper: a guest whose root sits in a volume group (`CentOS` 6's
/// layout: `/boot` on partition 1, the rest an LVM PV) is refused with the error that names
/// the physical volume and the missing piece, and everything is released.
#[test]
fn a_root_in_lvm_without_device_mapper_is_refused_with_what_is_missing() {
    assert!(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/mapper/control")
            .is_err(),
        "this test is for hosts without device-mapper (LVM is tested in tests/lvm-guest)"
    );
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), |root| {
        root.file("/grub/grub.conf", "default=0\n")
            .file("/vmlinuz-2.6.32-754.el6.x86_64", "kernel");
    });
    make_partition_2_a_pv(&image);
    let before = sha(&image);
    let error = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap_err();
    let GuestFixupError::NoDeviceMapper { device, .. } = &error else {
        panic!("{error}")
    };
    assert!(device.to_string_lossy().ends_with("p2"), "{error}");
    assert!(
        error
            .to_string()
            .contains("this host has no device-mapper (opening /dev/mapper/control: "),
        "{error}"
    );
    assert_released(&image, dir.path());
    assert_eq!(sha(&image), before);
}

/// Without device-mapper, a physical volume that does not hold the root is no obstacle: the
/// root on partition 1 opens (its fstab names no volume of the group) and everything is
/// released.
#[test]
fn a_physical_volume_beside_a_root_partition_does_not_need_device_mapper() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), kvm_guest("#!/bin/sh\n"));
    make_partition_2_a_pv(&image);
    let guest = Guest::open(std::slice::from_ref(&image), &options(dir.path(), true))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(guest.volume_groups().is_empty());
    assert!(guest.fs().exists("/etc/fstab").unwrap());
    guest.close().unwrap();
    assert_released(&image, dir.path());
}

#[test]
fn a_corrupted_partition_table_is_refused_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), kvm_guest("#!/bin/sh\n"));
    // Partition entries pointing far past the end of the disk; the 55AA signature stays.
    let mut bytes = std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap();
    bytes.seek(SeekFrom::Start(446)).unwrap();
    bytes.write_all(&[0xee; 64]).unwrap();
    drop(bytes);
    let before = sha(&image);
    let error = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap_err();
    assert!(matches!(error, GuestFixupError::NoLinux { .. }), "{error}");
    assert_released(&image, dir.path());
    assert_eq!(sha(&image), before);
}

/// A loop device and mount of the test's own, made outside guest-fixup.
struct Elsewhere(String, PathBuf);

impl Drop for Elsewhere {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.1).status();
        let _ = Command::new("partx").args(["-d", &self.0]).status();
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn a_root_mounted_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), kvm_guest("#!/bin/sh\n"));
    let device = run(&["losetup", "-f", "--show", image.to_str().unwrap()])
        .trim()
        .to_owned();
    let elsewhere = Elsewhere(device.clone(), dir.path().join("elsewhere"));
    std::fs::create_dir(&elsewhere.1).unwrap();
    run(&["partx", "-a", &device]);
    run(&[
        "mount",
        "-o",
        "ro",
        &format!("{device}p1"),
        elsewhere.1.to_str().unwrap(),
    ]);
    let error = Guest::open(std::slice::from_ref(&image), &options(dir.path(), false)).unwrap_err();
    assert!(matches!(error, GuestFixupError::Busy { .. }), "{error}");
    assert!(error.to_string().contains("is mounted at"), "{error}");
    drop(elsewhere);
    assert_released(&image, dir.path());
}

#[test]
fn a_read_only_guest_is_inspected_and_planned_but_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let image = tiny_disk(dir.path(), kvm_guest("#!/bin/sh\n"));
    let before = sha(&image);
    let guest = Guest::open(std::slice::from_ref(&image), &options(dir.path(), true)).unwrap();
    let fs = guest.fs();
    let found = inspect(&fs).unwrap();
    let direction = "kvm->xen-pv".parse().unwrap();
    let planned = plan(
        &fs,
        &found,
        guest.facts(),
        &direction,
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(!planned.is_empty());
    let chroot = guest.chroot();
    let cx = guest.apply_context(&chroot, &HostRunner, direction.target());
    let error = apply(&fs, &planned, &cx).unwrap_err();
    let chain = format!(
        "{error}: {}",
        std::error::Error::source(&error)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(chain.contains("Read-only file system"), "{chain}");
    guest.close().unwrap();
    assert_released(&image, dir.path());
    assert_eq!(sha(&image), before);
}
