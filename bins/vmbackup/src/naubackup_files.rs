//! NAUbackup's metadata files, written into every backup so existing restore runbooks keep
//! working: `vm.cfg`, `DISK-<device>/vbd.cfg`, `DISK-<device>/vdi.cfg`,
//! `VIFs/vif-<device>.cfg`. The devices are the pool's text: they become path parts only
//! through the safe-name mapping ([`dir_name`]), so `xvda` stays `xvda` and a
//! hostile `../../x` cannot climb out of the backup. `key=value` lines, booleans as Python's `True` / `False`,
//! `other_config` as a Python dict, as VmBackup.py wrote them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use xenapi::records::VmRecord;

use crate::inventory::{Inventory, VmDisk};
use backup_core::store::dir_name;

/// A file to write: its path inside the backup, and its text.
pub type MetadataFile = (String, String);

fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

fn python_str(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn python_dict(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", python_str(k), python_str(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

fn lines(pairs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (key, value) in pairs {
        // A value never spans lines: the format has no quoting.
        let value = value.replace(['\n', '\r'], " ");
        let _ = writeln!(text, "{key}={value}");
    }
    text
}

/// Every metadata file of `vm`.
pub fn metadata_files(inventory: &Inventory, vm: &VmRecord) -> Vec<MetadataFile> {
    let mut files = vec![("vm.cfg".to_owned(), vm_cfg(vm))];
    for (n, disk) in inventory.disks_of(vm).iter().enumerate() {
        let device = dir_name(&disk_device(disk, n));
        files.push((format!("DISK-{device}/vbd.cfg"), vbd_cfg(disk)));
        files.push((format!("DISK-{device}/vdi.cfg"), vdi_cfg(inventory, disk)));
    }
    for (vif, network) in inventory.vifs_of(vm) {
        let text = lines(&[
            ("device", vif.device.clone()),
            (
                "network_name_label",
                network.map(|n| n.name_label).unwrap_or_default(),
            ),
            ("MTU", vif.mtu.to_string()),
            ("MAC", vif.mac.clone()),
            ("other_config", python_dict(&vif.other_config)),
            ("orig_uuid", vif.uuid.clone()),
        ]);
        files.push((format!("VIFs/vif-{}.cfg", dir_name(&vif.device)), text));
    }
    files
}

/// The device of a disk, as the pool has it, or a running number when XAPI left the device
/// empty (a halted VM's VBD), as VmBackup.py did. Not a path part: map it with
/// [`dir_name`] first.
pub fn disk_device(disk: &VmDisk, index: usize) -> String {
    if disk.vbd.device.is_empty() {
        (index + 1).to_string()
    } else {
        disk.vbd.device.clone()
    }
}

fn vm_cfg(vm: &VmRecord) -> String {
    let mut pairs = vec![
        ("name_label", vm.name_label.clone()),
        ("name_description", vm.name_description.clone()),
        ("memory_dynamic_max", vm.memory_dynamic_max.to_string()),
        ("VCPUs_max", vm.vcpus_max.to_string()),
        ("VCPUs_at_startup", vm.vcpus_at_startup.to_string()),
    ];
    if let Some(template) = vm.other_config.get("base_template_name") {
        pairs.push(("base_template_name", template.clone()));
    }
    pairs.push(("os_version", String::new()));
    pairs.push(("orig_uuid", vm.uuid.clone()));
    lines(&pairs)
}

fn vbd_cfg(disk: &VmDisk) -> String {
    let vbd = &disk.vbd;
    lines(&[
        ("userdevice", vbd.userdevice.clone()),
        ("bootable", python_bool(vbd.bootable).to_owned()),
        ("mode", format!("{:?}", vbd.mode)),
        ("type", format!("{:?}", vbd.kind)),
        ("unpluggable", python_bool(vbd.unpluggable).to_owned()),
        ("empty", python_bool(vbd.empty).to_owned()),
        ("orig_uuid", vbd.uuid.clone()),
    ])
}

fn vdi_cfg(inventory: &Inventory, disk: &VmDisk) -> String {
    let vdi = &disk.vdi;
    let sr_uuid = inventory
        .srs
        .get(&vdi.sr)
        .map(|sr| sr.uuid.clone())
        .unwrap_or_default();
    lines(&[
        ("name_label", vdi.name_label.clone()),
        ("name_description", vdi.name_description.clone()),
        ("virtual_size", vdi.virtual_size.to_string()),
        ("type", vdi.kind.clone()),
        ("sharable", python_bool(vdi.sharable).to_owned()),
        ("read_only", python_bool(vdi.read_only).to_owned()),
        ("orig_uuid", vdi.uuid.clone()),
        ("orig_sr_uuid", sr_uuid),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_renderings() {
        let map = BTreeMap::from([
            ("a".to_owned(), "it's".to_owned()),
            ("b".to_owned(), String::new()),
        ]);
        assert_eq!(python_dict(&map), r"{'a': 'it\'s', 'b': ''}");
        assert_eq!(lines(&[("k", "a\nb".to_owned())]), "k=a b\n");
        assert_eq!(python_bool(true), "True");
    }
}
