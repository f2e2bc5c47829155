//! Synthetic guest roots (files only) for the layouts this machine cannot build: each writes
//! the files its distribution would have, kernels with their module lists and initramfs.

#![allow(
    clippy::format_collect,
    clippy::type_complexity,
    clippy::doc_markdown,
    clippy::format_push_string
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use guest_fixup::facts::{Content, DiskFact, DiskFacts, Volume};

/// A root under construction.
pub struct Root<'a> {
    pub dir: &'a Path,
}

/// A newc cpio archive holding empty files named `names`, then a trailer.
pub fn cpio(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names.iter().copied().chain(["TRAILER!!!"]) {
        let name_size = name.len() + 1;
        write!(
            out,
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1, 0o100_644, 0, 0, 1, 0, 0
        )
        .unwrap();
        write!(
            out,
            "{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0, 0, 0, 0, name_size, 0
        )
        .unwrap();
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

impl Root<'_> {
    pub fn file(&self, path: &str, text: &str) -> &Self {
        self.bytes(path, text.as_bytes())
    }

    pub fn bytes(&self, path: &str, bytes: &[u8]) -> &Self {
        let host = self.dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(host, bytes).unwrap();
        self
    }

    pub fn link(&self, path: &str, target: &str) -> &Self {
        let host = self.dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, host).unwrap();
        self
    }

    /// An executable tool at `path`.
    pub fn tool(&self, path: &str) -> &Self {
        self.file(path, "#!/bin/sh\n")
    }

    /// A kernel: image, modules (`modules.dep`), built-ins, config, and an initramfs
    /// (gzip cpio) holding `initramfs` modules.
    pub fn kernel(
        &self,
        version: &str,
        modules: &[&str],
        builtin: &[&str],
        config: &str,
        initrd: &str,
        initramfs: &[&str],
    ) -> &Self {
        self.file(&format!("/boot/vmlinuz-{version}"), "kernel image");
        let dep: String = modules
            .iter()
            .map(|m| format!("kernel/drivers/{m}.ko:\n"))
            .collect();
        self.file(&format!("/lib/modules/{version}/modules.dep"), &dep);
        let builtin: String = builtin
            .iter()
            .map(|m| format!("kernel/drivers/{m}.ko\n"))
            .collect();
        self.file(&format!("/lib/modules/{version}/modules.builtin"), &builtin);
        self.file(&format!("/boot/config-{version}"), config);
        let names: Vec<String> = initramfs
            .iter()
            .map(|m| format!("lib/modules/{version}/kernel/drivers/{m}.ko"))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.bytes(initrd, &gzip(&cpio(&names)))
    }
}

/// Disk facts for a one-disk guest: `(partition, content, uuid, label, swap_type)`.
pub fn facts(
    partitioned: bool,
    boot_code: bool,
    volumes: &[(Option<u32>, Content, Option<&str>, Option<&str>, bool)],
) -> DiskFacts {
    DiskFacts {
        disks: vec![DiskFact {
            partitioned,
            boot_code,
            host_device: None,
        }],
        volumes: volumes
            .iter()
            .map(|(partition, content, uuid, label, swap_type)| Volume {
                disk: 0,
                partition: *partition,
                content: content.clone(),
                uuid: uuid.map(str::to_owned),
                label: label.map(str::to_owned),
                swap_type: *swap_type,
                host_device: None,
                lv: None,
            })
            .collect(),
    }
}

const VIRTIO: [&str; 4] = [
    "virtio/virtio_pci",
    "block/virtio_blk",
    "scsi/virtio_scsi",
    "net/virtio_net",
];
const XENFRONT: [&str; 2] = ["block/xen-blkfront", "net/xen-netfront"];

/// CentOS 5 PV guest on xend/XenServer: grub legacy, mkinitrd, a xen kernel and a plain one.
pub fn centos5(root: &Root<'_>, with_plain_kernel: bool) {
    root.file("/etc/redhat-release", "CentOS release 5.11 (Final)\n")
        .file("/etc/fstab", "/dev/xvda1\t/\text3\tdefaults\t1 1\n/dev/xvda2\tswap\tswap\tdefaults\t0 0\ntmpfs\t/dev/shm\ttmpfs\tdefaults\t0 0\nproc\t/proc\tproc\tdefaults\t0 0\n")
        .file("/boot/grub/grub.conf", &grub_legacy(&[("2.6.18-398.el5xen", "root=/dev/xvda1 console=xvc0"), ("2.6.18-398.el5", "root=/dev/xvda1 console=xvc0")][..if with_plain_kernel { 2 } else { 1 }]))
        .link("/boot/grub/menu.lst", "./grub.conf")
        .link("/etc/grub.conf", "../boot/grub/grub.conf")
        .file("/boot/grub/device.map", "(hd0)\t/dev/xvda\n")
        .file("/etc/modprobe.conf", "alias eth0 xennet\nalias scsi_hostadapter xenblk\n")
        .file("/etc/inittab", "id:3:initdefault:\nco:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\n1:2345:respawn:/sbin/mingetty tty1\n")
        .file("/etc/securetty", "console\ntty1\nxvc0\n")
        .file("/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR=00:16:3E:12:34:56\nONBOOT=yes\n")
        .file("/etc/blkid/blkid.tab", "<device DEVNO=\"0xca01\">/dev/xvda1</device>\n")
        .tool("/sbin/mkinitrd")
        .kernel("2.6.18-398.el5xen", &XENFRONT, &[], "CONFIG_X86_XEN=y\nCONFIG_XEN_BLKDEV_FRONTEND=m\n", "/boot/initrd-2.6.18-398.el5xen.img", &["xen-blkfront"]);
    if with_plain_kernel {
        root.kernel(
            "2.6.18-398.el5",
            &VIRTIO,
            &[],
            "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_PCI=m\n",
            "/boot/initrd-2.6.18-398.el5.img",
            &["ata_piix"],
        );
    }
}

fn grub_legacy(entries: &[(&str, &str)]) -> String {
    let mut text = String::from("default=0\ntimeout=5\n");
    for (version, args) in entries {
        text.push_str(&format!(
            "title CentOS ({version})\n\troot (hd0,0)\n\tkernel /boot/vmlinuz-{version} ro {args}\n\tinitrd /boot/initrd-{version}.img\n"
        ));
    }
    text
}

/// CentOS 6 PV guest: grub legacy, dracut, root on LVM, /boot on xvda1.
pub fn centos6(root: &Root<'_>) {
    let version = "2.6.32-754.el6.x86_64";
    root.file("/etc/centos-release", "CentOS release 6.10 (Final)\n")
        .link("/etc/redhat-release", "centos-release")
        .file("/etc/fstab", "/dev/mapper/VolGroup-lv_root /                       ext4    defaults        1 1\n/dev/xvda1              /boot                   ext4    defaults        1 2\n/dev/mapper/VolGroup-lv_swap swap                swap    defaults        0 0\n")
        .file("/boot/grub/grub.conf", &format!(
            "default=0\ntimeout=5\ntitle CentOS 6 ({version})\n\troot (hd0,0)\n\tkernel /vmlinuz-{version} ro root=/dev/mapper/VolGroup-lv_root rd_LVM_LV=VolGroup/lv_root rd_NO_LUKS console=hvc0 xencons=tty\n\tinitrd /initramfs-{version}.img\n"))
        .link("/boot/grub/menu.lst", "./grub.conf")
        .file("/etc/lvm/cache/.cache", "persistent_filter_cache { valid_devices=[ \"/dev/xvda2\" ] }\n")
        .file("/etc/udev/rules.d/70-persistent-net.rules", "# net device ()\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"00:16:3e:aa:bb:cc\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n")
        .tool("/sbin/dracut")
        .tool("/sbin/mkinitrd")
        .kernel(version, &[&VIRTIO[..], &XENFRONT[..]].concat(), &[], "CONFIG_VIRTIO_BLK=m\n", &format!("/boot/initramfs-{version}.img"), &["xen-blkfront", "ext4"]);
}

/// CentOS 7 PV guest: grub2 without BLS (`linux16` entries, `/boot/grub2/device.map`),
/// dracut, root and swap on LVM (`centos` volume group), `/boot` on xvda1, an ifcfg file
/// pinning the NIC's MAC.
pub fn centos7(root: &Root<'_>) {
    let version = "3.10.0-1160.el7.x86_64";
    let args = "root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap console=hvc0";
    root.file("/etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n")
        .file("/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n")
        .file("/etc/fstab", "/dev/mapper/centos-root /                       xfs     defaults        0 0\n/dev/xvda1              /boot                   xfs     defaults        0 0\n/dev/mapper/centos-swap swap                    swap    defaults        0 0\n")
        .file("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\nGRUB_DISABLE_SUBMENU=true\nGRUB_CMDLINE_LINUX=\"crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap console=hvc0\"\nGRUB_DISABLE_RECOVERY=\"true\"\n")
        .file("/boot/grub2/grub.cfg", &format!("set default=\"${{saved_entry}}\"\nmenuentry 'CentOS Linux ({version}) 7 (Core)' --class centos {{\n\tinsmod xfs\n\tset root='hd0,msdos1'\n\tlinux16 /vmlinuz-{version} {args}\n\tinitrd16 /initramfs-{version}.img\n}}\n"))
        .file("/boot/grub2/device.map", "(hd0)      /dev/xvda\n")
        .file("/etc/sysconfig/network-scripts/ifcfg-eth0", "TYPE=Ethernet\nBOOTPROTO=dhcp\nDEVICE=eth0\nHWADDR=00:16:3e:5a:12:34\nONBOOT=yes\n")
        .tool("/usr/bin/dracut")
        .tool("/usr/sbin/grub2-mkconfig")
        .tool("/usr/sbin/grub2-install")
        .kernel(version, &["block/virtio_blk", "virtio/virtio_pci", "scsi/virtio_scsi", "net/virtio_net", "block/xen-blkfront", "net/xen-netfront"], &[], "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_PCI=m\n", &format!("/boot/initramfs-{version}.img"), &["xen-blkfront", "xfs"]);
}

/// Rocky 9 PV-on-HVM guest: grub2 with BLS entries, dracut, LVM root, an LVM devices file.
pub fn rocky9(root: &Root<'_>) {
    let version = "5.14.0-427.13.1.el9_4.x86_64";
    root.file("/etc/os-release", "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.4\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n")
        .file("/etc/fstab", "/dev/mapper/rl-root     /                       xfs     defaults        0 0\nUUID=0b5d2f7e-1111-4c4c-9f0a-5a5a5a5a5a5a /boot xfs defaults 0 0\n/dev/xvda3 none swap defaults 0 0\n")
        .file("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=\"resume=/dev/xvda3 rd.lvm.lv=rl/root console=hvc0\"\nGRUB_ENABLE_BLSCFG=true\n")
        .file("/boot/grub2/grub.cfg", "set default=0\nblscfg\n")
        .file(&format!("/boot/loader/entries/0123456789abcdef-{version}.conf"), &format!(
            "title Rocky Linux ({version}) 9.4\nversion {version}\nlinux /vmlinuz-{version}\ninitrd /initramfs-{version}.img\noptions root=/dev/mapper/rl-root ro resume=/dev/xvda3 rd.lvm.lv=rl/root console=hvc0\n"))
        .file("/etc/lvm/devices/system.devices", "VERSION=1.1.1\nIDTYPE=devname IDNAME=/dev/xvda2 DEVNAME=/dev/xvda2 PVID=abc\n")
        .tool("/usr/bin/dracut")
        .tool("/usr/sbin/grub2-mkconfig")
        .tool("/usr/sbin/grub2-install")
        .kernel(version, &["block/virtio_blk", "scsi/virtio_scsi", "net/virtio_net"], &["virtio/virtio_pci", "block/xen-blkfront"], "", &format!("/boot/initramfs-{version}.img"), &["xfs"]);
}

/// SLES 11 SP4 PV guest: grub legacy, SUSE's mkinitrd with INITRD_MODULES, a -xen kernel
/// and a -default one.
pub fn sles11(root: &Root<'_>) {
    root.file("/etc/SuSE-release", "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n")
        .file("/etc/fstab", "/dev/xvda2 / ext3 acl,user_xattr 1 1\n/dev/xvda1 swap swap defaults 0 0\n")
        .file("/boot/grub/menu.lst", "default 0\ntimeout 8\ntitle SLES 11 SP4\n    root (hd0,1)\n    kernel /boot/vmlinuz-3.0.101-63-default root=/dev/xvda2 resume=/dev/xvda1 splash=silent console=xvc0\n    initrd /boot/initrd-3.0.101-63-default\ntitle SLES 11 SP4 Xen\n    root (hd0,1)\n    kernel /boot/vmlinuz-3.0.101-63-xen root=/dev/xvda2 console=xvc0\n    initrd /boot/initrd-3.0.101-63-xen\n")
        .file("/boot/grub/device.map", "(hd0) /dev/xvda\n")
        .file("/etc/sysconfig/kernel", "INITRD_MODULES=\"xenblk xennet\"\nDOMU_INITRD_MODULES=\"xennet xenblk\"\n")
        .file("/etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"00:16:3e:01:02:03\", KERNEL==\"eth*\", NAME=\"eth0\"\n")
        .tool("/sbin/mkinitrd")
        .kernel("3.0.101-63-default", &VIRTIO, &[], "CONFIG_VIRTIO_BLK=m\n", "/boot/initrd-3.0.101-63-default", &["ata_piix"])
        .kernel("3.0.101-63-xen", &["block/xenblk", "net/xennet"], &[], "CONFIG_X86_64_XEN=y\n", "/boot/initrd-3.0.101-63-xen", &["xenblk"]);
}

/// Debian 12 PV guest as pygrub left it: grub2, initramfs-tools, swap on xvda5.
pub fn debian12_pv(root: &Root<'_>) {
    let version = "6.1.0-50-amd64";
    root.file("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n")
        .file("/etc/fstab", "# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/xvda1 / ext4 errors=remount-ro 0 1\n/dev/xvda5 none swap sw 0 0\n")
        .file("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"console=hvc0 resume=/dev/xvda5\"\n")
        .file("/boot/grub/grub.cfg", &format!("menuentry 'Debian GNU/Linux' {{\n\tsearch --no-floppy --fs-uuid --set=root 5aa29e8d-0000-4000-8000-000000000001\n\tlinux\t/boot/vmlinuz-{version} root=/dev/xvda1 ro  console=hvc0 resume=/dev/xvda5 quiet\n\tinitrd\t/boot/initrd.img-{version}\n}}\n"))
        .file("/etc/initramfs-tools/modules", "# List of modules that you want to include in your initramfs.\nxen-blkfront\n")
        .file("/etc/initramfs-tools/conf.d/resume", "RESUME=/dev/xvda5\n")
        .tool("/usr/sbin/update-initramfs")
        .tool("/usr/sbin/grub-mkconfig")
        .tool("/usr/sbin/grub-install")
        .tool("/sbin/mkswap")
        .kernel(version, &[&VIRTIO[..], &XENFRONT[..]].concat(), &[], "CONFIG_VIRTIO_BLK=m\n", &format!("/boot/initrd.img-{version}"), &["xen-blkfront", "ext4"]);
}

/// The Debian guest's disk: root on partition 1, its swap partition 5 wiped, no boot code.
pub fn debian12_pv_facts() -> DiskFacts {
    facts(
        true,
        false,
        &[
            (
                Some(1),
                Content::Filesystem("ext4".into()),
                Some("5aa29e8d-0000-4000-8000-000000000001"),
                None,
                false,
            ),
            (Some(5), Content::Empty, None, None, true),
        ],
    )
}

/// A Debian KVM guest (vda names, serial console) going to Xen PV.
pub fn debian12_kvm(root: &Root<'_>) {
    let version = "6.1.0-50-amd64";
    root.file("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n")
        .file("/etc/fstab", "/dev/vda1 / ext4 errors=remount-ro 0 1\n/dev/vda5 none swap sw 0 0\n")
        .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200\"\n")
        .file("/boot/grub/grub.cfg", &format!("\tlinux\t/boot/vmlinuz-{version} root=UUID=5aa29e8d-0000-4000-8000-000000000001 ro console=tty0 console=ttyS0,115200\n"))
        .file("/etc/initramfs-tools/modules", "")
        .tool("/usr/sbin/update-initramfs")
        .tool("/usr/sbin/grub-mkconfig")
        .kernel(version, &[&VIRTIO[..], &XENFRONT[..]].concat(), &[], "", &format!("/boot/initrd.img-{version}"), &["virtio_blk", "virtio_pci", "ext4"]);
}

/// xva.py's example: a CentOS 5 xend guest whose root is the unpartitioned image `sda1`.
pub fn xend_centos5(root: &Root<'_>) {
    root.file("/etc/redhat-release", "CentOS release 5.3 (Final)\n")
        .file("/etc/fstab", "/dev/sda1\t/\text3\tdefaults\t1 1\n/dev/sda2\tswap\tswap\tdefaults\t0 0\n")
        .file("/boot/grub/grub.conf", "default=0\ntimeout=5\ntitle CentOS (2.6.18-128.1.10.el5xen)\n\troot (hd0)\n\tkernel /boot/vmlinuz-2.6.18-128.1.10.el5xen ro root=/dev/sda1\n\tinitrd /boot/initrd-2.6.18-128.1.10.el5xen.img\n")
        .link("/boot/grub/menu.lst", "grub.conf")
        .tool("/sbin/mkinitrd")
        .kernel("2.6.18-128.1.10.el5xen", &XENFRONT, &[], "CONFIG_X86_XEN=y\n", "/boot/initrd-2.6.18-128.1.10.el5xen.img", &["xen-blkfront"]);
}

/// A grub environment block written by the real `grub-editenv` (grub-common) at `path`.
pub fn grubenv(root: &Root<'_>, path: &str, vars: &[&str]) {
    let host = root.dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(host.parent().unwrap()).unwrap();
    for args in [vec!["create"], [&["set"][..], vars].concat()] {
        let status = std::process::Command::new("grub-editenv")
            .arg(&host)
            .args(&args)
            .status()
            .expect("grub-editenv (grub-common): run scripts/install-test-deps");
        assert!(status.success(), "grub-editenv {args:?}");
    }
}

/// SLES 12 SP1 PV guest with the `-xen` kernel flavour beside `-default`: grub2 with
/// `GRUB_DEFAULT=saved`, and the saved entry boots the Xen-only kernel.
pub fn sles12_xen_default(root: &Root<'_>) {
    let (xen, default) = ("3.12.49-11-xen", "3.12.49-11-default");
    let u = "6c4f1a52-5d39-4f3e-9d0b-0a1b2c3d4e5f";
    let entry = |title: &str, id: &str, version: &str, indent: &str| {
        format!(
            "{indent}menuentry '{title}' --class sles --class gnu-linux --class gnu --class os $menuentry_id_option '{id}' {{\n{indent}\tlinux\t/boot/vmlinuz-{version} root=/dev/xvda2 resume=/dev/xvda1 splash=silent console=hvc0\n{indent}\tinitrd\t/boot/initrd-{version}\n{indent}}}\n"
        )
    };
    let cfg = format!(
        "set default=\"${{saved_entry}}\"\n{}submenu 'Advanced options for SLES 12-SP1' $menuentry_id_option 'gnulinux-advanced-{u}' {{\n{}{}}}\n",
        entry("SLES 12-SP1", &format!("gnulinux-simple-{u}"), xen, ""),
        entry(
            &format!("SLES 12-SP1, with Linux {xen}"),
            &format!("gnulinux-{xen}-advanced-{u}"),
            xen,
            "\t"
        ),
        entry(
            &format!("SLES 12-SP1, with Linux {default}"),
            &format!("gnulinux-{default}-advanced-{u}"),
            default,
            "\t"
        ),
    );
    root.file("/etc/os-release", "NAME=\"SLES\"\nVERSION=\"12-SP1\"\nVERSION_ID=\"12.1\"\nID=\"sles\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 12 SP1\"\n")
        .file("/etc/fstab", "/dev/xvda2 / btrfs defaults 0 0\n/dev/xvda1 swap swap defaults 0 0\n")
        .file("/etc/default/grub", "GRUB_DEFAULT=saved\nGRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT=\"resume=/dev/xvda1 splash=silent console=hvc0\"\n")
        .file("/boot/grub2/grub.cfg", &cfg)
        .tool("/usr/bin/dracut")
        .tool("/usr/sbin/grub2-mkconfig")
        .kernel(default, &VIRTIO, &[], "CONFIG_VIRTIO_BLK=m\n", &format!("/boot/initrd-{default}"), &["virtio_blk", "virtio_pci", "btrfs"])
        .kernel(xen, &["block/xen-blkfront", "net/xen-netfront"], &[], "CONFIG_XEN=y\nCONFIG_X86_64_XEN=y\n", &format!("/boot/initrd-{xen}"), &["xen-blkfront"]);
    grubenv(root, "/boot/grub2/grubenv", &["saved_entry=SLES 12-SP1"]);
}

/// RHEL 8 PV-on-HVM guest: BLS entries with `options $kernelopts`, the command line in the
/// grub environment block (written by grub-editenv), root and swap on partitions.
pub fn rhel8(root: &Root<'_>) {
    let version = "4.18.0-553.el8_10.x86_64";
    let id = format!("2d4f6e8a0b1c3d5e7f90a1b2c3d4e5f6-{version}");
    root.file("/etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"8.10\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.10 (Ootpa)\"\n")
        .file("/etc/fstab", "/dev/xvda1 / xfs defaults 0 0\n/dev/xvda2 none swap defaults 0 0\n")
        .file("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=\"crashkernel=auto resume=/dev/xvda2 console=hvc0\"\nGRUB_ENABLE_BLSCFG=true\n")
        .file("/boot/grub2/grub.cfg", "set default=\"${saved_entry}\"\nload_env -f ${config_directory}/grubenv\nblscfg\n")
        .file(&format!("/boot/loader/entries/{id}.conf"), &format!(
            "title Red Hat Enterprise Linux ({version}) 8.10 (Ootpa)\nversion {version}\nlinux /boot/vmlinuz-{version}\ninitrd /boot/initramfs-{version}.img $tuned_initrd\noptions $kernelopts $tuned_params\nid rhel-20240501-{version}\ngrub_users $grub_users\ngrub_arg --unrestricted\ngrub_class kernel\n"))
        .tool("/usr/bin/dracut")
        .tool("/usr/sbin/grub2-mkconfig")
        .kernel(version, &["block/virtio_blk", "net/virtio_net"], &["virtio/virtio_pci", "block/xen-blkfront"], "", &format!("/boot/initramfs-{version}.img"), &["xfs"]);
    grubenv(
        root,
        "/boot/grub2/grubenv",
        &[
            &format!("saved_entry={id}"),
            "kernelopts=root=/dev/xvda1 ro crashkernel=auto resume=/dev/xvda2 console=hvc0",
            "boot_success=0",
        ],
    );
}

/// The RHEL 8 guest's disk: xfs root on partition 1, swap on 2.
pub fn rhel8_facts() -> DiskFacts {
    facts(
        true,
        true,
        &[
            (
                Some(1),
                Content::Filesystem("xfs".into()),
                Some("3f0e8c2a-7b6d-4e5f-a1b2-c3d4e5f60718"),
                None,
                false,
            ),
            (
                Some(2),
                Content::Swap,
                Some("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
                None,
                true,
            ),
        ],
    )
}

/// The scenarios with golden plans: name, builder, direction, facts, use_uuid.
pub type Builder = fn(&Root<'_>);

pub fn scenarios() -> BTreeMap<&'static str, (Builder, &'static str, DiskFacts, bool)> {
    let mut s: BTreeMap<&'static str, (Builder, &'static str, DiskFacts, bool)> = BTreeMap::new();
    s.insert(
        "centos5-pv-to-kvm",
        (
            |r| centos5(r, true),
            "xen-pv->kvm-virtio",
            DiskFacts::default(),
            false,
        ),
    );
    s.insert(
        "centos6-pv-to-kvm",
        (centos6, "xen-pv->kvm-virtio", DiskFacts::default(), false),
    );
    s.insert(
        "centos7-pv-to-kvm",
        (centos7, "xen-pv->kvm-virtio", DiskFacts::default(), false),
    );
    s.insert(
        "rocky9-pv-to-kvm",
        (rocky9, "xen-pv->kvm-virtio", DiskFacts::default(), false),
    );
    s.insert(
        "sles11-pv-to-kvm",
        (sles11, "xen-pv->kvm-virtio", DiskFacts::default(), false),
    );
    s.insert(
        "debian12-pv-to-kvm",
        (debian12_pv, "xen-pv->kvm-virtio", debian12_pv_facts(), true),
    );
    s.insert(
        "sles12-xen-default-to-kvm",
        (
            sles12_xen_default,
            "xen-pv->kvm-virtio",
            DiskFacts::default(),
            false,
        ),
    );
    s.insert(
        "rhel8-pv-to-kvm",
        (rhel8, "xen-pv->kvm-virtio", rhel8_facts(), true),
    );
    s.insert(
        "debian12-kvm-to-xen",
        (debian12_kvm, "kvm->xen-pv", DiskFacts::default(), false),
    );
    s.insert(
        "xend-centos5-to-xenserver",
        (
            xend_centos5,
            "xend-pv->xenserver-pv",
            DiskFacts::default(),
            false,
        ),
    );
    s
}
