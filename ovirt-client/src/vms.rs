//! VMs: search with exact names, get (with the OVF), create (empty from `Blank`, or from an
//! OVF), start, shut down, power off, remove, wait for a status; their NICs.

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{
    Action, Bios, BiosType, Boot, BootDevices, Configuration, ConfigurationType, Cpu, CpuTopology,
    Initialization, Mac, MemoryPolicy, Nic, NicInterface, Nics, Os, Ref, Tags, Vm, VmStatus,
    VmType, Vms,
};
use crate::wait::Poll;

/// An empty VM to create from the `Blank` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVm {
    /// Its name.
    pub name: String,
    /// Its cluster, by name.
    pub cluster: String,
    /// Free text (a restore puts its owner mark here while it builds the VM).
    pub description: Option<String>,
    /// Memory in bytes.
    pub memory: u64,
    /// Memory always available, in bytes (`None`: the engine's default).
    pub guaranteed_memory: Option<u64>,
    /// Hot-plug maximum in bytes (`None`: the engine's default).
    pub max_memory: Option<u64>,
    /// Sockets.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
    /// The engine's OS id (`other_linux`, `rhel_8x64`, …).
    pub os_type: String,
    /// Optimisation profile.
    pub vm_type: VmType,
    /// BIOS or UEFI (`None`: the cluster's default).
    pub bios: Option<BiosType>,
    /// Boot devices in order (`hd`, `cdrom`, `network`); empty: `hd` only.
    pub boot_devices: Vec<String>,
}

impl NewVm {
    fn body(&self) -> Vm {
        Vm {
            name: Some(self.name.clone()),
            description: self.description.clone(),
            cluster: Some(Ref::name(&self.cluster)),
            template: Some(Ref::name("Blank")),
            memory: Some(self.memory),
            memory_policy: (self.max_memory.is_some() || self.guaranteed_memory.is_some())
                .then_some(MemoryPolicy {
                    guaranteed: self.guaranteed_memory,
                    max: self.max_memory,
                    ..MemoryPolicy::default()
                }),
            cpu: Some(Cpu {
                topology: Some(CpuTopology {
                    sockets: Some(self.sockets),
                    cores: Some(self.cores),
                    threads: Some(self.threads),
                }),
                ..Cpu::default()
            }),
            os: Some(Os {
                os_type: Some(self.os_type.clone()),
                boot: Some(Boot {
                    devices: Some(BootDevices::from(if self.boot_devices.is_empty() {
                        vec!["hd".to_owned()]
                    } else {
                        self.boot_devices.clone()
                    })),
                }),
            }),
            vm_type: Some(self.vm_type),
            bios: self.bios.map(|bios_type| Bios {
                bios_type: Some(bios_type),
            }),
            ..Vm::default()
        }
    }
}

impl Connection {
    /// VMs matching an engine search (`name=web*`); `None` lists all.
    pub fn vms(&self, search: Option<&str>) -> Result<Vec<Vm>> {
        let mut query = Query::new();
        if let Some(search) = search {
            query = query.with("search", search).with("case_sensitive", "true");
        }
        Ok(self.get::<Vms>("/vms", &query, "listing VMs")?.items)
    }

    /// The VM named exactly `name` (the engine's search treats `*` as a wildcard, so the
    /// names are compared here), with its OVF when `all_content`.
    pub fn find_vm(&self, name: &str, all_content: bool) -> Result<Option<Vm>> {
        let mut query = Query::new()
            .with("search", format!("name={name}"))
            .with("case_sensitive", "true");
        if all_content {
            query = query.all_content();
        }
        let what = format!("searching VM `{name}`");
        let mut found: Vec<Vm> = self
            .get::<Vms>("/vms", &query, &what)?
            .items
            .into_iter()
            .filter(|vm| vm.name.as_deref() == Some(name))
            .collect();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => Err(OvirtError::Failed {
                what,
                state: format!("{n} VMs have this name"),
            }),
        }
    }

    /// A VM by id, with its OVF when `all_content`.
    pub fn vm(&self, id: &str, all_content: bool) -> Result<Vm> {
        let query = if all_content {
            Query::new().all_content()
        } else {
            Query::new()
        };
        self.get(&format!("/vms/{id}"), &query, &format!("getting VM {id}"))
    }

    /// Creates an empty VM from the `Blank` template.
    pub fn create_vm(&self, vm: &NewVm) -> Result<Vm> {
        self.add(
            "/vms",
            &Query::new(),
            &vm.body(),
            &format!("creating VM `{}`", vm.name),
        )
    }

    /// Creates a VM from an OVF document (as `all_content` returned it); `clone` gives it
    /// new ids (a copy beside the original).
    pub fn create_vm_from_ovf(
        &self,
        name: &str,
        cluster: &str,
        ovf: &str,
        clone: bool,
    ) -> Result<Vm> {
        let body = Vm {
            name: Some(name.to_owned()),
            cluster: Some(Ref::name(cluster)),
            initialization: Some(Initialization {
                configuration: Some(Configuration {
                    config_type: Some(ConfigurationType::Ovf),
                    data: Some(ovf.to_owned()),
                }),
            }),
            ..Vm::default()
        };
        let query = if clone {
            Query::new().with("clone", "true")
        } else {
            Query::new()
        };
        self.add(
            "/vms",
            &query,
            &body,
            &format!("creating VM `{name}` from an OVF"),
        )
    }

    /// Sets a VM's description.
    pub fn set_vm_description(&self, id: &str, description: &str) -> Result<Vm> {
        let body = Vm {
            description: Some(description.to_owned()),
            ..Vm::default()
        };
        self.update(
            &format!("/vms/{id}"),
            &body,
            &format!("setting the description of VM {id}"),
        )
    }

    /// Sets a VM's guest OS type (the engine's id: `debian_9`, `rhel_8x64`, …), as when it
    /// is known only after the VM was made (its disks inspected).
    pub fn set_vm_os_type(&self, id: &str, os_type: &str) -> Result<Vm> {
        let body = Vm {
            os: Some(Os {
                os_type: Some(os_type.to_owned()),
                ..Os::default()
            }),
            ..Vm::default()
        };
        self.update(
            &format!("/vms/{id}"),
            &body,
            &format!("setting the OS type of VM {id}"),
        )
    }

    /// Starts a VM (see [`Connection::wait_vm_status`]).
    pub fn start_vm(&self, id: &str) -> Result<()> {
        self.vm_action(id, "start", false)
    }

    /// Asks the guest to shut down; `force` overrides a running backup.
    pub fn shutdown_vm(&self, id: &str, force: bool) -> Result<()> {
        self.vm_action(id, "shutdown", force)
    }

    /// Powers a VM off; `force` overrides a running backup.
    pub fn stop_vm(&self, id: &str, force: bool) -> Result<()> {
        self.vm_action(id, "stop", force)
    }

    fn vm_action(&self, id: &str, verb: &str, force: bool) -> Result<()> {
        let action = Action {
            force: force.then_some(true),
            ..Action::default()
        };
        self.action(
            &format!("/vms/{id}"),
            verb,
            &Query::new(),
            &action,
            &format!("{verb} VM {id}"),
        )
        .map(|_| ())
    }

    /// Removes a VM; `detach_only` keeps its disks.
    pub fn remove_vm(&self, id: &str, detach_only: bool) -> Result<()> {
        let query = if detach_only {
            Query::new().with("detach_only", "true")
        } else {
            Query::new()
        };
        self.remove(&format!("/vms/{id}"), &query, &format!("removing VM {id}"))
    }

    /// Waits until the VM has `status`.
    pub fn wait_vm_status(&self, id: &str, status: VmStatus, timeout: Duration) -> Result<Vm> {
        let what = format!("VM {id} becoming {status}");
        self.wait_for(&what, timeout, || {
            let vm = self.vm(id, false)?;
            Ok(match vm.status {
                Some(seen) if seen == status => Poll::Ready(vm),
                seen => Poll::Pending(seen.map_or("without a status".into(), |s| s.to_string())),
            })
        })
    }

    /// A VM's NICs.
    pub fn vm_nics(&self, vm: &str) -> Result<Vec<Nic>> {
        Ok(self
            .get::<Nics>(
                &format!("/vms/{vm}/nics"),
                &Query::new(),
                &format!("listing NICs of VM {vm}"),
            )?
            .items)
    }

    /// The names of a VM's tags.
    pub fn vm_tags(&self, vm: &str) -> Result<Vec<String>> {
        Ok(self
            .get::<Tags>(
                &format!("/vms/{vm}/tags"),
                &Query::new(),
                &format!("listing tags of VM {vm}"),
            )?
            .items
            .into_iter()
            .filter_map(|tag| tag.name)
            .collect())
    }

    /// Adds a NIC on a vNIC profile, with a MAC address or the engine's choice.
    pub fn add_nic(
        &self,
        vm: &str,
        name: &str,
        interface: NicInterface,
        vnic_profile: &str,
        mac: Option<&str>,
    ) -> Result<Nic> {
        let body = Nic {
            name: Some(name.to_owned()),
            interface: Some(interface),
            vnic_profile: Some(Ref::id(vnic_profile)),
            mac: mac.map(|address| Mac {
                address: Some(address.to_owned()),
            }),
            ..Nic::default()
        };
        self.add(
            &format!("/vms/{vm}/nics"),
            &Query::new(),
            &body,
            &format!("adding NIC `{name}` to VM {vm}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_vm_body_is_what_the_engine_expects() {
        let vm = NewVm {
            name: "newvm".into(),
            description: None,
            cluster: "Default".into(),
            memory: 2 << 30,
            guaranteed_memory: None,
            max_memory: Some(4 << 30),
            sockets: 2,
            cores: 2,
            threads: 1,
            os_type: "other_linux".into(),
            vm_type: VmType::Server,
            bios: Some(BiosType::Q35Ovmf),
            boot_devices: Vec::new(),
        };
        let xml = crate::xml::write(&vm.body(), "test").unwrap();
        assert_eq!(
            xml,
            "<vm><name>newvm</name><memory>2147483648</memory>\
             <memory_policy><max>4294967296</max></memory_policy>\
             <cpu><topology><sockets>2</sockets><cores>2</cores><threads>1</threads></topology></cpu>\
             <os><type>other_linux</type><boot><devices><device>hd</device></devices></boot></os>\
             <bios><type>q35_ovmf</type></bios><type>server</type>\
             <cluster><name>Default</name></cluster><template><name>Blank</name></template></vm>"
        );
    }
}
