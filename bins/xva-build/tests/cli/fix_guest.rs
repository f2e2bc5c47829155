//! `xva.py`'s own example, end to end: a xend `CentOS` 5 guest whose disks are the unpartitioned
//! images `sda1` (root) and `sda2` (swap), with `/dev/sda1` in grub.conf and fstab. `build
//! --fix-guest xenserver-pv` must produce an XVA whose guest names `/dev/xvda` and `/dev/xvdb`
//! everywhere (read back with debugfs from the disk extracted out of the XVA), leave the
//! source images unchanged, and `--dry-run` must print the plan and build nothing.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use super::{ok, path};

fn run(argv: &[&str]) -> String {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/install-test-deps", argv[0]));
    assert!(
        output.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(root: &Path, file: &str, bytes: &[u8]) {
    let target = root.join(file);
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::write(target, bytes).unwrap();
}

/// A newc cpio holding one empty file, gzip-compressed (an initrd with Xen's block driver).
fn initrd(name: &str) -> Vec<u8> {
    let mut cpio = Vec::new();
    for name in [name, "TRAILER!!!"] {
        write!(
            cpio,
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1, 0o100_644, 0, 0, 1, 0, 0
        )
        .unwrap();
        write!(
            cpio,
            "{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        )
        .unwrap();
        cpio.extend_from_slice(name.as_bytes());
        cpio.push(0);
        while cpio.len() % 4 != 0 {
            cpio.push(0);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&cpio).unwrap();
    gz.finish().unwrap()
}

fn sha(path: &Path) -> String {
    run(&["sha256sum", path.to_str().unwrap()])
}

fn debugfs_cat(image: &Path, file: &str) -> String {
    run(&[
        "debugfs",
        "-R",
        &format!("cat {file}"),
        image.to_str().unwrap(),
    ])
}

/// The xend guest: its root and swap images (unpartitioned) and its configuration.
fn xend_guest(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let tree = dir.join("tree");
    let version = "2.6.18-128.1.10.el5xen";
    write(&tree, "etc/redhat-release", b"CentOS release 5.3 (Final)\n");
    write(
        &tree,
        "etc/fstab",
        b"/dev/sda1\t/\text3\tdefaults\t1 1\n/dev/sda2\tswap\tswap\tdefaults\t0 0\n",
    );
    write(&tree, "boot/grub/grub.conf", format!("default=0\ntimeout=5\ntitle CentOS ({version})\n\troot (hd0)\n\tkernel /boot/vmlinuz-{version} ro root=/dev/sda1\n\tinitrd /boot/initrd-{version}.img\n").as_bytes());
    write(&tree, &format!("boot/vmlinuz-{version}"), b"kernel");
    write(
        &tree,
        &format!("boot/config-{version}"),
        b"CONFIG_X86_XEN=y\nCONFIG_XEN_BLKDEV_FRONTEND=y\n",
    );
    write(
        &tree,
        &format!("boot/initrd-{version}.img"),
        &initrd(&format!("lib/modules/{version}/xen-blkfront.ko")),
    );
    write(&tree, &format!("lib/modules/{version}/modules.dep"), b"");
    let root = dir.join("centos.5-3.x86-64.img");
    run(&[
        "mkfs.ext3",
        "-q",
        "-F",
        "-d",
        path(&tree),
        path(&root),
        "24M",
    ]);
    let swap = dir.join("centos-swap.img");
    run(&["truncate", "-s", "16M", path(&swap)]);
    run(&["mkswap", "-q", path(&swap)]);
    let config = dir.join("centos5.cfg");
    fs::write(&config, format!("name = 'centos5'\nmemory = 256\nbootloader = '/usr/bin/pygrub'\ndisk = [ 'file:{},sda1,w', 'file:{},sda2,w' ]\n", root.display(), swap.display())).unwrap();
    (root, swap, config)
}

#[test]
fn xva_py_example_becomes_a_guest_that_names_xvda_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (root, swap, config) = xend_guest(dir.path());
    let (root_sha, swap_sha) = (sha(&root), sha(&swap));

    let plan = ok(&[
        "build",
        "--config",
        path(&config),
        "--fix-guest",
        "xenserver-pv",
        "--dry-run",
        "--quiet",
    ]);
    assert!(
        plan.contains("+/dev/xvda\t/\text3\tdefaults\t1 1"),
        "{plan}"
    );
    assert!(
        plan.contains("+\tkernel /boot/vmlinuz-2.6.18-128.1.10.el5xen ro root=/dev/xvda"),
        "{plan}"
    );
    assert!(!dir.path().join("centos5.xva").exists());

    let xva = dir.path().join("centos5.xva");
    ok(&[
        "build",
        "--config",
        path(&config),
        "--fix-guest",
        "xenserver-pv",
        "-o",
        path(&xva),
        "--quiet",
    ]);
    assert_eq!(
        (sha(&root), sha(&swap)),
        (root_sha, swap_sha),
        "the source images are never modified"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".xva-build-fix-")
        })
        .collect();
    assert!(leftovers.is_empty(), "work directory left: {leftovers:?}");

    let disk0 = dir.path().join("disk0.img");
    ok(&[
        "extract",
        path(&xva),
        "--disk",
        "0",
        "-o",
        path(&disk0),
        "--quiet",
    ]);
    let fstab = debugfs_cat(&disk0, "/etc/fstab");
    assert_eq!(
        fstab,
        "/dev/xvda\t/\text3\tdefaults\t1 1\n/dev/xvdb\tswap\tswap\tdefaults\t0 0\n"
    );
    let grub = debugfs_cat(&disk0, "/boot/grub/grub.conf");
    assert!(
        grub.contains("root=/dev/xvda\n") && !grub.contains("sda"),
        "{grub}"
    );
}

#[test]
fn a_vhd_disk_is_fixed_on_a_raw_copy_and_packed() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _swap, config) = xend_guest(dir.path());
    // The same guest with its root disk as a dynamic VHD written by qemu-img.
    let vhd = dir.path().join("centos-root.vhd");
    run(&[
        "qemu-img",
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        path(&root),
        path(&vhd),
    ]);
    let text = fs::read_to_string(&config).unwrap();
    fs::write(
        &config,
        text.replace(&root.display().to_string(), &vhd.display().to_string()),
    )
    .unwrap();
    let vhd_sha = sha(&vhd);
    let plan = ok(&[
        "build",
        "--config",
        path(&config),
        "--fix-guest",
        "xenserver-pv",
        "--dry-run",
        "--quiet",
    ]);
    assert!(
        plan.contains("+/dev/xvda\t/\text3\tdefaults\t1 1"),
        "{plan}"
    );
    let xva = dir.path().join("centos5.xva");
    ok(&[
        "build",
        "--config",
        path(&config),
        "--fix-guest",
        "xenserver-pv",
        "-o",
        path(&xva),
        "--quiet",
    ]);
    assert_eq!(sha(&vhd), vhd_sha, "the source VHD is never modified");
    let disk0 = dir.path().join("disk0.img");
    ok(&[
        "extract",
        path(&xva),
        "--disk",
        "0",
        "-o",
        path(&disk0),
        "--quiet",
    ]);
    let fstab = debugfs_cat(&disk0, "/etc/fstab");
    assert_eq!(
        fstab,
        "/dev/xvda\t/\text3\tdefaults\t1 1\n/dev/xvdb\tswap\tswap\tdefaults\t0 0\n"
    );
    let leftovers = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".xva-build-fix-")
        })
        .count();
    assert_eq!(leftovers, 0, "work directory left behind");
}
