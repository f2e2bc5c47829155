//! Configurations as people wrote or generated them; each must map to the VM it describes.

use super::*;
use crate::{Actions, Boot, Platform, VifSpec};

pub(super) const XEN_TOOLS_PV: &str = r"#
# Configuration file for the Xen instance web01, created
# by xen-tools 4.2 on Thu Mar  1 10:00:00 2012.
#

#
#  Kernel + memory size
#
kernel      = '/boot/vmlinuz-2.6.32-5-xen-amd64'
extra       = 'elevator=noop'
ramdisk     = '/boot/initrd.img-2.6.32-5-xen-amd64'

vcpus       = '2'
memory      = '512'

#
#  Disk device(s).
#
root        = '/dev/xvda2 ro'
disk        = [
                  'phy:/dev/vg0/web01-disk,xvda2,w',
                  'phy:/dev/vg0/web01-swap,xvda1,w',
              ]


#
#  Hostname
#
name        = 'web01'

#
#  Networking
#
vif         = [ 'ip=192.168.1.10 ,mac=00:16:3E:C4:A1:E0' ]

#
#  Behaviour
#
on_poweroff = 'destroy'
on_reboot   = 'restart'
on_crash    = 'restart'
";

#[test]
fn xen_tools_pv_guest_with_a_dom0_kernel() {
    let config = config(XEN_TOOLS_PV);
    let spec = config.to_vm_spec().unwrap();
    assert_eq!(spec.name, "web01");
    assert_eq!(
        (spec.memory, spec.max_memory, spec.vcpus, spec.max_vcpus),
        (512 << 20, None, 2, None)
    );
    assert_eq!(
        spec.boot,
        Boot::Pv {
            bootloader: None,
            kernel: Some("/boot/vmlinuz-2.6.32-5-xen-amd64".to_owned()),
            ramdisk: Some("/boot/initrd.img-2.6.32-5-xen-amd64".to_owned()),
            args: "root=/dev/xvda2 ro elevator=noop".to_owned(),
        }
    );
    assert_eq!(
        spec.disks,
        [
            disk("/dev/vg0/web01-disk", "xvda2", true),
            disk("/dev/vg0/web01-swap", "xvda1", true)
        ]
    );
    assert_eq!(
        spec.vifs,
        [VifSpec {
            mac: Some("00:16:3e:c4:a1:e0".to_owned()),
            network: DEFAULT_NETWORK.to_owned()
        }]
    );
    assert_eq!(
        (spec.platform, spec.actions, spec.cd_drive),
        (Platform::default(), Actions::default(), false)
    );
    assert!(config.ignored.is_empty());
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(config.warnings[0].starts_with("line 21: `xvda2` is a partition name"));
    assert!(config.warnings[1].starts_with("line 22: `xvda1` is a partition name"));
}

#[test]
fn xen_tools_pygrub_guest() {
    let text = "bootloader = '/usr/lib/xen-default/bin/pygrub'\nvcpus = '1'\nmemory = '256'\n\
                root = '/dev/xvda2 ro'\ndisk = [ 'file:/home/xen/domains/mail/disk.img,xvda2,w', \
                'file:/home/xen/domains/mail/swap.img,xvda1,w' ]\nname = 'mail'\n\
                dhcp = 'dhcp'\nvif = [ 'mac=00:16:3E:8A:4F:00' ]\n";
    let spec = spec(text);
    let args = "root=/dev/xvda2 ro".to_owned();
    assert_eq!(
        spec.boot,
        Boot::Pv {
            bootloader: Some("pygrub".to_owned()),
            kernel: None,
            ramdisk: None,
            args
        }
    );
    assert_eq!(
        spec.disks[0],
        disk("/home/xen/domains/mail/disk.img", "xvda2", true)
    );
}

/// The stacklet.com image the seed's `CentOS` example migrates, in its stock configuration.
pub(super) const STACKLET_CENTOS: &str = "#  -*- mode: python; -*-
#============================================================================
# Python configuration setup for 'xm create'.
#============================================================================

kernel = \"/boot/vmlinuz-2.6.18-128.1.10.el5xen\"
ramdisk = \"/boot/initrd-2.6.18-128.1.10.el5xen.img\"
memory = 256
name = \"centos.5-3.x86-64\"
vif = [ '' ]
dhcp = \"dhcp\"
disk = ['tap:aio:/xen/centos/centos.5-3.x86-64.img,sda1,w', 'tap:aio:/xen/centos/centos.swap,sda2,w']
root = \"/dev/sda1 ro\"
";

#[test]
fn stacklet_centos_image() {
    let config = config(STACKLET_CENTOS);
    let spec = config.to_vm_spec().unwrap();
    assert_eq!(
        (spec.name.as_str(), spec.memory),
        ("centos.5-3.x86-64", 256 << 20)
    );
    let Boot::Pv { kernel, args, .. } = &spec.boot else {
        panic!("{:?}", spec.boot)
    };
    assert_eq!(
        (kernel.as_deref(), args.as_str()),
        (
            Some("/boot/vmlinuz-2.6.18-128.1.10.el5xen"),
            "root=/dev/sda1 ro"
        )
    );
    assert_eq!(
        spec.disks,
        [
            disk("/xen/centos/centos.5-3.x86-64.img", "sda1", true),
            disk("/xen/centos/centos.swap", "sda2", true)
        ]
    );
    assert_eq!(
        spec.vifs,
        [VifSpec {
            mac: None,
            network: DEFAULT_NETWORK.to_owned()
        }]
    );
    assert_eq!(ignored(&config), ["dhcp"]);
    assert!(
        config
            .warnings
            .iter()
            .all(|w| w.starts_with("line 12: `sda")),
        "{:?}",
        config.warnings
    );
}

pub(super) const WINDOWS_HVM: &str = "# Windows Server 2008, installed from the ISO below
builder = 'hvm'
memory = 2048
shadow_memory = 16
name = \"win2k8\"
vcpus = 2
acpi = 1
apic = 0
vif = [ 'type=ioemu, mac=00:16:3e:4a:5b:6c, bridge=xenbr0, model=e1000' ]
disk = [ 'phy:/dev/vg0/win2k8,hda,w', 'file:/srv/iso/win2k8.iso,hdc:cdrom,r' ]
device_model = '/usr/lib/xen/bin/qemu-dm'
boot = 'dc'
sdl = 0
vnc = 1
vnclisten = '0.0.0.0'
vncunused = 1
stdvga = 0
serial = 'pty'
usbdevice = 'tablet'
localtime = 1
on_poweroff = 'destroy'
on_reboot = 'restart'
on_crash = 'restart'
";

#[test]
fn windows_hvm_guest_with_builder_hvm() {
    let config = config(WINDOWS_HVM);
    assert!(config.is_hvm());
    let spec = config.to_vm_spec().unwrap();
    assert_eq!(
        spec.boot,
        Boot::Hvm {
            order: "dc".to_owned()
        }
    );
    assert_eq!(
        spec.platform,
        Platform {
            acpi: true,
            apic: false,
            pae: true,
            nx: false,
            viridian: true
        }
    );
    assert_eq!(
        (spec.memory, spec.vcpus, spec.cd_drive),
        (2048 << 20, 2, true)
    );
    assert_eq!(spec.disks, [disk("/dev/vg0/win2k8", "hda", true)]);
    assert_eq!(
        spec.vifs,
        [VifSpec {
            mac: Some("00:16:3e:4a:5b:6c".to_owned()),
            network: "xenbr0".to_owned()
        }]
    );
    assert_eq!(
        ignored(&config),
        [
            "shadow_memory",
            "device_model",
            "sdl",
            "vnc",
            "vnclisten",
            "vncunused",
            "stdvga",
            "serial",
            "usbdevice",
            "localtime"
        ]
    );
    assert_eq!(
        config.ignored[1],
        IgnoredKey {
            key: "device_model".to_owned(),
            line: 11
        }
    );
    assert_eq!(
        config.warnings,
        ["line 10: CD `/srv/iso/win2k8.iso` on hdc is not packaged; the VM gets an empty CD drive"]
    );
}

#[test]
fn old_style_hvm_guest_with_hvmloader_as_kernel() {
    let text = "kernel = \"/usr/lib/xen/boot/hvmloader\"\n\
                device_model = '/usr/lib64/xen/bin/qemu-dm'\n\
                memory = 512\nname = \"winxp\"\nacpi = 0\npae = False\nviridian = 0\n\
                disk = [ 'phy:/dev/VolGroup00/winxp,ioemu:hda,w', ',hdc:cdrom,r' ]\n\
                vif = [ 'type=ioemu, bridge=xenbr0' ]\n";
    let config = config(text);
    let spec = config.to_vm_spec().unwrap();
    assert_eq!(
        spec.boot,
        Boot::Hvm {
            order: "cd".to_owned()
        }
    );
    assert_eq!(
        spec.platform,
        Platform {
            acpi: false,
            apic: true,
            pae: false,
            nx: false,
            viridian: false
        }
    );
    assert_eq!(spec.disks, [disk("/dev/VolGroup00/winxp", "hda", true)]);
    assert_eq!(spec.vifs[0].network, "xenbr0");
    assert!(spec.cd_drive);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

pub(super) const HAND_WRITTEN_PV: &str = r#"name = "db"   # the database
description = """Primary database,
migrated from the old host"""
kernel = '/boot/vmlinuz-2.6.32-5-xen-amd64'
initrd = '/boot/initrd.img-2.6.32-5-xen-amd64'
root = 'root=/dev/xvda1 ro'
extra = 'console=hvc0 xencons=tty'
memory = 0x400   # 1 GiB
maxmem = 2048
vcpus = 2; maxvcpus = 4
nx = True
disk = (
    'phy:/dev/vg0/db-root,xvda,w',   # root
    # the data volume:
    'tap2:tapdisk:aio:/srv/xen/db-data.img,xvdb,w',
    "file:/srv/xen/db-ro.img," 'xvdc,r',
)
vif = [
    'mac=00:16:3E:00:00:01, bridge=xenbr0',
    'mac=00:16:3e:00:00:02,bridge=xenbr1,vifname=db-back',  # back end
    '',
]
on_reboot = 'rename-restart'
on_crash = 'coredump-restart'
"#;

#[test]
fn hand_written_pv_guest_with_lists_tuples_and_triple_quotes() {
    let config = config(HAND_WRITTEN_PV);
    let spec = config.to_vm_spec().unwrap();
    assert_eq!(
        spec.description,
        "Primary database,\nmigrated from the old host"
    );
    assert_eq!((spec.memory, spec.max_memory), (1 << 30, Some(2 << 30)));
    assert_eq!((spec.vcpus, spec.max_vcpus), (2, Some(4)));
    assert_eq!(
        spec.boot,
        Boot::Pv {
            bootloader: None,
            kernel: Some("/boot/vmlinuz-2.6.32-5-xen-amd64".to_owned()),
            ramdisk: Some("/boot/initrd.img-2.6.32-5-xen-amd64".to_owned()),
            args: "root=/dev/xvda1 ro console=hvc0 xencons=tty".to_owned(),
        }
    );
    assert!(spec.platform.nx);
    assert_eq!(
        spec.disks,
        [
            disk("/dev/vg0/db-root", "xvda", true),
            disk("/srv/xen/db-data.img", "xvdb", true),
            disk("/srv/xen/db-ro.img", "xvdc", false),
        ]
    );
    let vif = |mac: Option<&str>, network: &str| VifSpec {
        mac: mac.map(str::to_owned),
        network: network.to_owned(),
    };
    assert_eq!(
        spec.vifs,
        [
            vif(Some("00:16:3e:00:00:01"), "xenbr0"),
            vif(Some("00:16:3e:00:00:02"), "xenbr1"),
            vif(None, DEFAULT_NETWORK)
        ]
    );
    let lines: Vec<usize> = config
        .vif
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|v| v.line)
        .collect();
    assert_eq!(lines, [19, 20, 21]);
    assert_eq!(config.disk.as_ref().unwrap().value[2].line, 16);
    assert_eq!(
        spec.actions,
        Actions {
            shutdown: "destroy".into(),
            reboot: "restart".into(),
            crash: "coredump_and_restart".into()
        }
    );
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    assert!(config.warnings[0].starts_with("line 23: XenServer can only destroy or restart"));
    assert!(!spec.cd_drive);
}

#[test]
fn xl_style_guest() {
    let text = "name = \"xl-guest\"\ntype = \"pv\"\nkernel = \"/boot/vmlinuz\"\nramdisk = \"/boot/initrd\"\n\
                root = '/dev/xvda1'\ncmdline = \"root=/dev/xvda1 ro quiet\"\nmemory = 768\n\
                disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg/xl-guest',\n\
                         '/root/rescue.iso,,hdc,cdrom' ]\n\
                vif = [ 'bridge=br0' ]\non_crash = 'preserve'\n";
    let config = config(text);
    let spec = config.to_vm_spec().unwrap();
    let Boot::Pv { kernel, args, .. } = &spec.boot else {
        panic!("{:?}", spec.boot)
    };
    assert_eq!(
        (kernel.as_deref(), args.as_str()),
        (Some("/boot/vmlinuz"), "root=/dev/xvda1 ro quiet")
    );
    assert_eq!(spec.disks, [disk("/dev/vg/xl-guest", "xvda", true)]);
    assert_eq!(
        (spec.vifs[0].network.as_str(), spec.actions.crash.as_str()),
        ("br0", "preserve")
    );
    assert!(spec.cd_drive, "a CD entry gives a PV guest a CD drive");
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.starts_with("line 6: `cmdline` is set")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn xl_type_hvm_and_viridian_groups() {
    let text = "name = 'w'\ntype = 'hvm'\nviridian = [ 'all', '!freq' ]\nboot = 'nc'\n\
                disk = [ '/dev/vg/w,raw,xvda,rw' ]\n";
    let spec = spec(text);
    assert_eq!(
        spec.boot,
        Boot::Hvm {
            order: "nc".to_owned()
        }
    );
    assert!(spec.platform.viridian);
}

#[test]
fn pv_guest_without_kernel_or_bootloader_boots_with_pygrub() {
    let spec = spec("name = 'p'\ndisk = ['phy:/dev/vg/p,xvda,w']\nextra = 'quiet'\n");
    let want = Boot::Pv {
        bootloader: Some("pygrub".to_owned()),
        kernel: None,
        ramdisk: None,
        args: "quiet".to_owned(),
    };
    assert_eq!(spec.boot, want);
    assert_eq!(
        (spec.memory, spec.vcpus),
        (256 << 20, 1),
        "xva.py's defaults"
    );
    assert!(spec.vifs.is_empty());
}

#[test]
fn repeated_keys_and_overridden_settings_warn() {
    let text = "name = 'a'\nmemory = 256\nmemory = 512\nkernel = '/boot/k'\nbootloader = 'pygrub'\n\
                boot = 'ac'\ndisk = ['phy:/dev/a,xvda,w']\nvnc = 1\nvnc = 0\n";
    let config = config(text);
    assert_eq!(config.to_vm_spec().unwrap().memory, 512 << 20);
    assert_eq!(
        config.ignored,
        [IgnoredKey {
            key: "vnc".to_owned(),
            line: 9
        }]
    );
    let want = [
        "line 3: `memory` is set again (before on line 2); the last value wins, as in xend",
        "line 6: XenServer has no floppy drive: `a` / `b` dropped from `boot`",
        "line 9: `vnc` is set again (before on line 8); the last value wins, as in xend",
        "line 5: the guest boots with pygrub: `kernel` and `ramdisk` are ignored",
        "line 6: `boot` applies to HVM guests only and is ignored",
    ];
    assert_eq!(config.warnings, want);
}

#[test]
fn read_takes_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centos.cfg");
    // A Latin-1 comment, as old hand-written files have.
    let mut bytes = STACKLET_CENTOS.as_bytes().to_vec();
    bytes.extend_from_slice(b"# Maschine f\xfcr Tests\n");
    std::fs::write(&path, &bytes).unwrap();
    let config = read(&path).unwrap();
    assert_eq!(config.path, path);
    assert_eq!(config.to_vm_spec().unwrap().name, "centos.5-3.x86-64");
    assert_eq!(
        config.warnings.last().unwrap(),
        "line 14: bytes that are not UTF-8 were replaced by U+FFFD"
    );

    let missing = read(&dir.path().join("missing.cfg")).unwrap_err();
    assert!(matches!(missing, XendError::Read { .. }), "{missing}");
    let big = dir.path().join("disk.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_CONFIG_BYTES + 1)
        .unwrap();
    assert!(
        read(&big)
            .unwrap_err()
            .to_string()
            .contains("a xend configuration is a small text file")
    );
}
