//! The test image, built with the guest VM's own tools (sfdisk, partx, lvm2, mkfs.ext4): an
//! MBR table, `/boot` (ext4) on partition 1, a physical volume on partition 2 holding volume
//! group `guestvg` with `root` (ext4) and `swap` (no signature: wiped), and a Xen-PV-style
//! Debian tree naming `xvda1`, `console=hvc0` and the volume group. [`HandOpen`] reads an
//! image back with the same independent tools, to check what guest-fixup wrote.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::support::{mount_point, sh};

/// The image's volume group.
pub const VG: &str = "guestvg";
/// The kernel version of the tree.
pub const KERNEL: &str = "6.1.0-57-amd64";
/// The image's size.
const SIZE: u64 = 96 << 20;

/// The tree's fstab.
pub const FSTAB: &str = "/dev/mapper/guestvg-root / ext4 errors=remount-ro 0 1\n/dev/xvda1 /boot ext4 defaults 0 2\n/dev/guestvg/swap none swap sw 0 0\n";
/// The tree's /etc/default/grub.
pub const DEFAULT_GRUB: &str = "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"console=hvc0 resume=/dev/mapper/guestvg-swap\"\n";

fn grub_cfg() -> String {
    format!(
        "menuentry 'Debian GNU/Linux' {{\n\tlinux\t/vmlinuz-{KERNEL} root=/dev/mapper/guestvg-root ro console=hvc0 resume=/dev/mapper/guestvg-swap quiet\n\tinitrd\t/initrd.img-{KERNEL}\n}}\n"
    )
}

/// The guest's update-initramfs: records its arguments and the chroot's /dev, or fails.
fn update_initramfs(fails: bool) -> &'static str {
    if fails {
        "#!/bin/sh\necho 'update-initramfs: failing on purpose' >&2\nexit 1\n"
    } else {
        "#!/bin/sh\necho \"$@\" >/var/log/update-initramfs.args\nbusybox ls /dev/mapper /dev/guestvg >/var/log/update-initramfs.dev\n"
    }
}

/// Runs `argv` with `input` on its standard input.
fn sh_input(argv: &[&str], input: &str) -> Result<()> {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {argv:?}"))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// An image attached and opened by hand (losetup, partx, vgchange with `--devices`, mount);
/// undone in reverse on drop.
pub struct HandOpen {
    pub loop_dev: String,
    active: bool,
    mounts: Vec<PathBuf>,
}

impl HandOpen {
    /// Attaches `image` and adds its partition nodes.
    pub fn attach(image: &Path) -> Result<Self> {
        let loop_dev = sh(&["losetup", "-f", "--show", &image.to_string_lossy()])?
            .trim()
            .to_owned();
        let open = HandOpen {
            loop_dev,
            active: false,
            mounts: Vec::new(),
        };
        sh(&["partx", "-a", &open.loop_dev])?;
        Ok(open)
    }

    /// The physical volume's device.
    pub fn pv(&self) -> String {
        format!("{}p2", self.loop_dev)
    }

    /// Activates the image's volume group (only its own device visible to lvm).
    pub fn activate(&mut self) -> Result<()> {
        sh(&["vgchange", "--devices", &self.pv(), "-ay", VG])?;
        self.active = true;
        Ok(())
    }

    /// Mounts `device` read-only at a fresh mount point `name`.
    pub fn mount(&mut self, device: &str, name: &str) -> Result<PathBuf> {
        let at = mount_point(name)?;
        sh(&["mount", "-o", "ro", device, &at.to_string_lossy()])?;
        self.mounts.push(at.clone());
        Ok(at)
    }

    fn undo(&mut self) -> Result<()> {
        while let Some(at) = self.mounts.pop() {
            sh(&["umount", &at.to_string_lossy()])?;
        }
        if self.active {
            self.active = false;
            sh(&["vgchange", "--devices", &self.pv(), "-an", VG])?;
        }
        if !self.loop_dev.is_empty() {
            sh(&["partx", "-d", &self.loop_dev])?;
            sh(&["losetup", "-d", &self.loop_dev])?;
            self.loop_dev.clear();
        }
        Ok(())
    }

    /// Releases everything, reporting the first failure.
    pub fn close(mut self) -> Result<()> {
        self.undo()
    }
}

impl Drop for HandOpen {
    fn drop(&mut self) {
        if let Err(error) = self.undo() {
            eprintln!("releasing a hand-opened image: {error:#}");
        }
    }
}

/// Builds the image at `path`; returns its volume group's UUID.
pub fn build(path: &Path, failing_initramfs: bool) -> Result<String> {
    let file = fs::File::create(path)?;
    file.set_len(SIZE)?;
    drop(file);
    sh_input(
        &["sfdisk", "-q", &path.to_string_lossy()],
        "label: dos\nunit: sectors\nstart=2048, size=32768, type=83\nstart=34816, type=8e\n",
    )?;
    let mut open = HandOpen::attach(path)?;
    let (boot, pv) = (format!("{}p1", open.loop_dev), open.pv());
    sh(&["mkfs.ext4", "-q", &boot])?;
    sh(&["pvcreate", "-q", "--devices", &pv, &pv])?;
    sh(&["vgcreate", "-q", "--devices", &pv, VG, &pv])?;
    open.active = true;
    sh(&[
        "lvcreate",
        "-q",
        "--devices",
        &pv,
        "-y",
        "-L",
        "40m",
        "-n",
        "root",
        VG,
    ])?;
    sh(&[
        "lvcreate",
        "-q",
        "--devices",
        &pv,
        "-y",
        "-W",
        "y",
        "-Z",
        "y",
        "-L",
        "8m",
        "-n",
        "swap",
        VG,
    ])?;
    sh(&["mkfs.ext4", "-q", "/dev/guestvg/root"])?;
    let root = open.mount_rw("/dev/guestvg/root", "build-root")?;
    fs::create_dir_all(root.join("boot"))?;
    open.mount_rw(&boot, "build-root/boot")?;
    write_tree(&root, failing_initramfs)?;
    let uuid = sh(&["vgs", "--devices", &pv, "--noheadings", "-o", "vg_uuid", VG])?
        .trim()
        .to_owned();
    open.close()?;
    Ok(uuid)
}

impl HandOpen {
    fn mount_rw(&mut self, device: &str, name: &str) -> Result<PathBuf> {
        let at = mount_point(name)?;
        sh(&["mount", device, &at.to_string_lossy()])?;
        self.mounts.push(at.clone());
        Ok(at)
    }
}

fn write(root: &Path, path: &str, text: &str) -> Result<()> {
    let host = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(host.parent().expect("a parent"))?;
    fs::write(&host, text).with_context(|| format!("writing {}", host.display()))
}

/// The Xen PV Debian tree: release file, fstab, grub, a kernel with virtio modules whose
/// initramfs has only xen-blkfront, the guest's update-initramfs, and a shell (busybox).
fn write_tree(root: &Path, failing_initramfs: bool) -> Result<()> {
    write(
        root,
        "/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
    )?;
    write(root, "/etc/fstab", FSTAB)?;
    write(root, "/etc/default/grub", DEFAULT_GRUB)?;
    write(root, "/boot/grub/grub.cfg", &grub_cfg())?;
    write(root, "/etc/initramfs-tools/modules", "xen-blkfront\n")?;
    write(
        root,
        "/etc/initramfs-tools/conf.d/resume",
        "RESUME=/dev/mapper/guestvg-swap\n",
    )?;
    write(root, &format!("/boot/vmlinuz-{KERNEL}"), "kernel image")?;
    write(
        root,
        &format!("/boot/config-{KERNEL}"),
        "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_PCI=m\n",
    )?;
    let modules = [
        "virtio/virtio_pci",
        "block/virtio_blk",
        "net/virtio_net",
        "block/xen-blkfront",
    ];
    let dep = modules.iter().fold(String::new(), |all, m| {
        all + &format!("kernel/drivers/{m}.ko:\n")
    });
    write(root, &format!("/lib/modules/{KERNEL}/modules.dep"), &dep)?;
    write(root, &format!("/lib/modules/{KERNEL}/modules.builtin"), "")?;
    // The initramfs (gzip newc cpio, made by busybox) holds xen-blkfront and ext4 only.
    let staging = root.join("tmp/initrd");
    let module_dir = staging.join(format!("lib/modules/{KERNEL}/kernel/drivers/block"));
    fs::create_dir_all(&module_dir)?;
    fs::write(module_dir.join("xen-blkfront.ko"), "")?;
    fs::write(
        staging.join(format!("lib/modules/{KERNEL}/kernel/drivers/ext4.ko")),
        "",
    )?;
    let initrd = root.join(format!("boot/initrd.img-{KERNEL}"));
    sh(&[
        "sh",
        "-c",
        &format!(
            "cd {} && find . | cpio -o -H newc 2>/dev/null | gzip -1 >{}",
            staging.display(),
            initrd.display()
        ),
    ])?;
    fs::remove_dir_all(&staging)?;
    fs::create_dir_all(root.join("bin"))?;
    fs::copy("/bin/busybox", root.join("bin/busybox"))?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh"))?;
    fs::create_dir_all(root.join("var/log"))?;
    let tool = root.join("usr/sbin/update-initramfs");
    write(
        root,
        "/usr/sbin/update-initramfs",
        update_initramfs(failing_initramfs),
    )?;
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755))?;
    sh(&["sync"])?;
    Ok(())
}
