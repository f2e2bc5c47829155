//! A plain Xen guest's configuration mapped onto a [`SourceVm`]: memory (`maxmem`, else
//! `memory`: what the guest sees), vCPUs, PV or HVM (`builder`, `type`, `bootloader`,
//! `kernel`), NICs with their MACs on their bridges (a bridge is what `--network` maps),
//! and disks with their sizes, in the configuration's order (the first is the boot disk).

use std::path::Path;

use anyhow::{Result, bail};
use cli_common::UsageError;
use disk_image::xend::XendConfig;
use disk_image::{Boot, VmSpec};

use crate::source::{Cpus, Firmware, Power, SourceDisk, SourceNic, SourceVm, Virtualisation};

/// The guest described by `config` (found at `shown`), each disk sized by `size` (a
/// missing or unreadable disk is a usage error: nothing has started yet), in `power`.
pub fn source_vm(
    config: &XendConfig,
    shown: &str,
    power: Power,
    size: &mut dyn FnMut(&Path) -> Result<u64>,
) -> Result<SourceVm> {
    let spec = config.to_vm_spec()?;
    for warning in &config.warnings {
        tracing::warn!(config = %shown, "{warning}");
    }
    let mut disks = Vec::new();
    for (position, disk) in spec.disks.iter().enumerate() {
        let path = disk.path.display().to_string();
        let bytes = size(&disk.path)
            .map_err(|e| UsageError(format!("disk `{path}` of {shown} cannot be read: {e:#}")))?;
        if bytes == 0 || !bytes.is_multiple_of(512) {
            bail!(UsageError(format!(
                "disk `{path}` of {shown} is {bytes} bytes, not a whole number of 512-byte sectors"
            )));
        }
        disks.push(SourceDisk {
            position: u32::try_from(position).expect("few disks"),
            device: disk.device.clone().unwrap_or_default(),
            name: Path::new(&path)
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned()),
            uuid: path,
            size: bytes,
            allocated: bytes,
            storage: String::new(),
            bootable: position == 0,
            read_only: !disk.writable,
        });
    }
    let nics = spec
        .vifs
        .iter()
        .enumerate()
        .map(|(position, vif)| SourceNic {
            position: u32::try_from(position).expect("few NICs"),
            mac: vif.mac.clone().unwrap_or_default(),
            mtu: 1500,
            network: vif.network.clone(),
            network_uuid: String::new(),
            bridge: vif.network.clone(),
        })
        .collect();
    Ok(SourceVm {
        name: spec.name.clone(),
        uuid: shown.to_owned(),
        description: spec.description.clone(),
        power,
        memory: spec.max_memory.unwrap_or(spec.memory),
        cpus: Cpus {
            count: spec.vcpus,
            max: spec.max_vcpus.unwrap_or(spec.vcpus),
            cores_per_socket: 1,
        },
        virtualisation: virtualisation(&spec),
        firmware: Firmware::Bios,
        nics,
        disks,
        left_out: left_out(config),
    })
}

fn virtualisation(spec: &VmSpec) -> Virtualisation {
    match spec.boot {
        Boot::Hvm { .. } => Virtualisation::Hvm,
        Boot::Pv { .. } => Virtualisation::Pv,
    }
}

/// The CD drives, for the plan's warnings.
fn left_out(config: &XendConfig) -> Vec<String> {
    let mut left = Vec::new();
    if let Some(disks) = &config.disk {
        for disk in disks.value.iter().filter(|d| d.cdrom) {
            left.push(format!("CD drive `{}` (line {})", disk.device, disk.line));
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> XendConfig {
        disk_image::xend::parse(text, Path::new("/etc/xen/web.cfg")).unwrap()
    }

    #[test]
    fn an_xl_configuration_becomes_the_source() {
        let config = parse(
            "name = 'web'\nmemory = 512\nmaxmem = 1024\nvcpus = 2\n\
             bootloader = 'pygrub'\n\
             disk = ['file:/srv/web.img,sda1,w', 'tap:aio:/srv/data.img,xvdb,r', ',hdc:cdrom,r']\n\
             vif = ['mac=00:16:3E:00:00:01,bridge=xenbr1', 'bridge=xenbr2']\n",
        );
        let mut asked = Vec::new();
        let vm = source_vm(&config, "/etc/xen/web.cfg", Power::Halted, &mut |p| {
            asked.push(p.to_owned());
            Ok(4 << 20)
        })
        .unwrap();
        assert_eq!(
            asked,
            [Path::new("/srv/web.img"), Path::new("/srv/data.img")]
        );
        assert_eq!(vm.name, "web");
        assert_eq!(vm.memory, 1024 << 20);
        assert_eq!((vm.cpus.count, vm.cpus.max), (2, 2));
        assert_eq!(vm.virtualisation, Virtualisation::Pv);
        assert_eq!(vm.disks[0].device, "sda1");
        assert_eq!(vm.disks[0].uuid, "/srv/web.img");
        assert!(vm.disks[0].bootable && !vm.disks[0].read_only);
        assert!(vm.disks[1].read_only && !vm.disks[1].bootable);
        assert_eq!(vm.nics[0].mac, "00:16:3e:00:00:01");
        assert_eq!(vm.nics[0].bridge, "xenbr1");
        assert_eq!(vm.nics[1].mac, "");
        assert!(
            vm.left_out[0].contains("CD drive `hdc`"),
            "{:?}",
            vm.left_out
        );
    }

    #[test]
    fn hvm_guests_and_disks_that_cannot_be_read() {
        let config = parse("name = 'win'\nbuilder = 'hvm'\ndisk = ['phy:/dev/vg/win,hda,w']\n");
        let vm = source_vm(&config, "c", Power::Running, &mut |_| Ok(1 << 30)).unwrap();
        assert_eq!(vm.virtualisation, Virtualisation::Hvm);
        assert_eq!(vm.power, Power::Running);
        let error =
            source_vm(&config, "c", Power::Halted, &mut |_| bail!("no such file")).unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains("/dev/vg/win") && text.contains("no such file"),
            "{text}"
        );
        assert!(error.downcast_ref::<UsageError>().is_some());
        let error = source_vm(&config, "c", Power::Halted, &mut |_| Ok(1000)).unwrap_err();
        assert!(error.to_string().contains("512-byte"), "{error}");
    }
}
