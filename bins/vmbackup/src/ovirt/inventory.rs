//! The engine's VMs as selection sees them: the same [`VmInfo`] as XenServer's pool, so
//! that one selection code (names, regexes, excludes, `:N`, `tag:`) serves both.

use ovirt_client::Connection;
use ovirt_client::types::Vm;

use crate::error::{Result, VmBackupError};
use crate::selection::VmInfo;

/// The engine's VMs, read once per run.
#[derive(Debug, Clone, Default)]
pub struct OvirtInventory {
    /// Every VM with its tags' names.
    pub vms: Vec<(Vm, Vec<String>)>,
    /// The appliance vmbackup runs on, if it is one: never backed up by itself.
    pub appliance: Option<String>,
}

impl OvirtInventory {
    /// Reads every VM and its tags; `appliance` (this VM's id in `mode=appliance`) is left
    /// out of every selection, as XenServer's control domain is.
    pub fn fetch(connection: &Connection, appliance: Option<&str>) -> Result<Self> {
        let listed = connection
            .vms(None)
            .map_err(|e| VmBackupError::ovirt("listing the engine's VMs", e))?;
        let mut vms = Vec::with_capacity(listed.len());
        for vm in listed {
            let Some(id) = vm.id.clone() else { continue };
            let tags = connection
                .vm_tags(&id)
                .map_err(|e| VmBackupError::ovirt(format!("listing the tags of VM {id}"), e))?;
            vms.push((vm, tags));
        }
        Ok(OvirtInventory {
            vms,
            appliance: appliance.map(str::to_owned),
        })
    }

    /// The VMs as selection sees them, by name then id.
    pub fn vm_infos(&self) -> Vec<VmInfo> {
        let mut infos: Vec<VmInfo> = self
            .vms
            .iter()
            .filter_map(|(vm, tags)| {
                let id = vm.id.clone()?;
                Some(VmInfo {
                    is_control_domain: self.appliance.as_deref() == Some(id.as_str()),
                    uuid: id,
                    name_label: vm.name.clone().unwrap_or_default(),
                    is_a_template: false,
                    is_a_snapshot: false,
                    tags: tags.clone(),
                })
            })
            .collect();
        infos.sort_by(|a, b| a.name_label.cmp(&b.name_label).then(a.uuid.cmp(&b.uuid)));
        infos
    }
}
