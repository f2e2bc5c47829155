//! Reading the settings a restore needs from an oVirt OVF (what `all_content` returns and
//! what oVirtSimpleBackup keeps as `data.xml`): name, memory, CPU topology, OS, firmware,
//! VM type, NICs with their MACs, disks with their interfaces, boot flags and aliases.
//!
//! The engine writes some values as words in one version and as numbers in another
//! (`VmType` `server` or `1`, `BiosType` `q35_ovmf` or `2`, a NIC's `ResourceSubType` `3` for
//! virtio); both are read. A value outside those lists is an error naming it.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{OvirtError, Result};
use crate::types::{BiosType, DiskInterface, NicInterface, VmType};

/// A VM as its OVF describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OvfVm {
    /// `Content/Name`.
    pub name: Option<String>,
    /// `Content/Description`.
    pub description: Option<String>,
    /// Memory in bytes (the memory item's `VirtualQuantity`, MiB in the OVF).
    pub memory: Option<u64>,
    /// Guaranteed memory in bytes (`MinAllocatedMem`).
    pub guaranteed_memory: Option<u64>,
    /// Hot-plug maximum in bytes (`MaxMemorySizeMb`).
    pub max_memory: Option<u64>,
    /// Sockets, cores per socket, threads per core (the CPU item).
    pub topology: Option<(u32, u32, u32)>,
    /// The engine's OS id (`OperatingSystemSection/Description`).
    pub os_type: Option<String>,
    /// Optimisation profile.
    pub vm_type: Option<VmType>,
    /// Firmware.
    pub bios: Option<BiosType>,
    /// NICs, in the OVF's order.
    pub nics: Vec<OvfNic>,
    /// Disks, in the OVF's order.
    pub disks: Vec<OvfDisk>,
}

/// A NIC of an OVF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvfNic {
    /// Its name.
    pub name: String,
    /// Its MAC address.
    pub mac: Option<String>,
    /// The network's name (`Connection`).
    pub network: Option<String>,
    /// Device model.
    pub interface: NicInterface,
}

/// A disk of an OVF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvfDisk {
    /// The disk's id (the first half of `fileRef`).
    pub disk_id: Option<String>,
    /// Its alias.
    pub alias: Option<String>,
    /// Size in bytes (the OVF gives whole GiB: prefer a record's exact size).
    pub size: Option<u64>,
    /// Its bus.
    pub interface: Option<DiskInterface>,
    /// Whether it boots.
    pub bootable: bool,
}

fn bad(what: &str, value: &str) -> OvirtError {
    OvirtError::Failed {
        what: "reading an OVF".into(),
        state: format!("unknown {what} `{value}`"),
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or_default().to_owned()
}

impl OvfVm {
    /// Parses an OVF document.
    pub fn parse(text: &str) -> Result<OvfVm> {
        let mut reader = Reader::from_str(text);
        let mut vm = OvfVm::default();
        let mut path: Vec<String> = Vec::new();
        let mut item: Option<Vec<(String, String)>> = None;
        let mut field = String::new();
        loop {
            let event = reader.read_event().map_err(|e| OvirtError::Failed {
                what: "reading an OVF".into(),
                state: e.to_string(),
            })?;
            match event {
                Event::Start(start) => {
                    let name = local(start.name().as_ref());
                    if name == "Item" {
                        item = Some(Vec::new());
                    }
                    if name == "Disk" {
                        vm.disks.push(disk(&start)?);
                    }
                    path.push(name);
                    field.clear();
                }
                Event::Empty(start) if local(start.name().as_ref()) == "Disk" => {
                    vm.disks.push(disk(&start)?);
                }
                Event::Text(t) => field.push_str(&t.xml10_content()),
                Event::CData(data) => field.push_str(&data),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => quick_xml::escape::resolve_predefined_entity(&r).map(str::to_owned),
                    };
                    field.push_str(&resolved.ok_or_else(|| bad("entity", &r))?);
                }
                Event::End(_) => {
                    let name = path.pop().unwrap_or_default();
                    let parent = path.last().map(String::as_str).unwrap_or_default();
                    let value = field.trim().to_owned();
                    if name == "Item" {
                        if let Some(fields) = item.take() {
                            vm.item(&fields)?;
                        }
                    } else if let Some(fields) = item.as_mut() {
                        fields.push((name, value));
                    } else if parent == "Content" {
                        vm.content(&name, &value)?;
                    } else if name == "Description"
                        && parent == "Section"
                        && vm.os_type.is_none()
                        && path.iter().any(|p| p == "Content")
                    {
                        vm.os_type = Some(value);
                    }
                    field.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(vm)
    }

    fn content(&mut self, name: &str, value: &str) -> Result<()> {
        let mib = |v: &str| v.parse::<u64>().ok().map(|m| m << 20);
        match name {
            "Name" => self.name = Some(value.to_owned()),
            "Description" if !value.is_empty() => self.description = Some(value.to_owned()),
            "MinAllocatedMem" => self.guaranteed_memory = mib(value),
            "MaxMemorySizeMb" => self.max_memory = mib(value),
            "VmType" => {
                self.vm_type = Some(match value {
                    "0" => VmType::Desktop,
                    "1" => VmType::Server,
                    "2" => VmType::HighPerformance,
                    word => word.parse().map_err(|_| bad("VmType", word))?,
                });
            }
            "BiosType" => {
                self.bios = Some(match value {
                    "0" => BiosType::I440fxSeaBios,
                    "1" => BiosType::Q35SeaBios,
                    "2" => BiosType::Q35Ovmf,
                    "3" => BiosType::Q35SecureBoot,
                    word => word.parse().map_err(|_| bad("BiosType", word))?,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn item(&mut self, fields: &[(String, String)]) -> Result<()> {
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let count = |key: &str| get(key).and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
        match get("ResourceType") {
            Some("3") => {
                self.topology = Some((
                    count("num_of_sockets"),
                    count("cpu_per_socket"),
                    count("threads_per_cpu"),
                ));
            }
            Some("4") => {
                self.memory = get("VirtualQuantity")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|m| m << 20);
            }
            Some("10") => {
                let interface = match get("ResourceSubType") {
                    None | Some("3") => NicInterface::Virtio,
                    Some("2") => NicInterface::E1000,
                    Some("1") => NicInterface::Rtl8139,
                    Some("0") => NicInterface::Rtl8139Virtio,
                    Some(other) => other.parse().map_err(|_| bad("NIC type", other))?,
                };
                self.nics.push(OvfNic {
                    name: get("Name").unwrap_or("nic").to_owned(),
                    mac: get("MACAddress")
                        .filter(|m| !m.is_empty())
                        .map(str::to_ascii_lowercase),
                    network: get("Connection")
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                    interface,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

fn disk(start: &quick_xml::events::BytesStart<'_>) -> Result<OvfDisk> {
    let mut found = OvfDisk {
        disk_id: None,
        alias: None,
        size: None,
        interface: None,
        bootable: false,
    };
    for attribute in start.attributes().flatten() {
        let key = local(attribute.key.as_ref());
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default();
        match key.as_str() {
            "fileRef" => found.disk_id = value.split('/').next().map(str::to_owned),
            "disk-alias" => found.alias = Some(value),
            "size" => found.size = value.parse::<u64>().ok().map(|g| g << 30),
            "boot" => found.bootable = value == "true",
            "disk-interface" => {
                found.interface = Some(match value.to_ascii_lowercase().as_str() {
                    "virtio" => DiskInterface::Virtio,
                    "virtio_scsi" => DiskInterface::VirtioScsi,
                    "ide" => DiskInterface::Ide,
                    "sata" => DiskInterface::Sata,
                    "spapr_vscsi" => DiskInterface::SpaprVscsi,
                    _ => return Err(bad("disk interface", &value)),
                });
            }
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_ovf_gives_its_settings() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?><ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1/" xmlns:rasd="r" xmlns:xsi="x">
<References/><Section xsi:type="ovf:DiskSection_Type"><Info>List of Virtual Disks</Info>
<Disk ovf:diskId="i1" ovf:size="20" ovf:fileRef="d1/i1" ovf:disk-interface="VirtIO_SCSI" ovf:boot="true" ovf:disk-alias="web_Disk1"/>
<Disk ovf:diskId="i2" ovf:size="1" ovf:fileRef="d2/i2" ovf:disk-interface="VirtIO" ovf:boot="false" ovf:disk-alias="a &amp; b"/></Section>
<Content ovf:id="out" xsi:type="ovf:VirtualSystem_Type"><Name>web</Name><VmType>1</VmType><MinAllocatedMem>1024</MinAllocatedMem>
<MaxMemorySizeMb>8192</MaxMemorySizeMb><BiosType>2</BiosType>
<Section xsi:type="ovf:OperatingSystemSection_Type"><Info>Guest Operating System</Info><Description>rhel_8x64</Description></Section>
<Section xsi:type="ovf:VirtualHardwareSection_Type"><Info>2 CPU, 2048 Memory</Info>
<Item><rasd:ResourceType>3</rasd:ResourceType><rasd:num_of_sockets>2</rasd:num_of_sockets><rasd:cpu_per_socket>4</rasd:cpu_per_socket><rasd:threads_per_cpu>1</rasd:threads_per_cpu></Item>
<Item><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
<Item><rasd:ResourceType>10</rasd:ResourceType><rasd:ResourceSubType>3</rasd:ResourceSubType><rasd:Name>nic1</rasd:Name><rasd:Connection>ovirtmgmt</rasd:Connection><rasd:MACAddress>56:6F:00:00:00:01</rasd:MACAddress></Item>
</Section></Content></ovf:Envelope>"#;
        let vm = OvfVm::parse(text).unwrap();
        assert_eq!(vm.name.as_deref(), Some("web"));
        assert_eq!(vm.memory, Some(2048 << 20));
        assert_eq!(vm.guaranteed_memory, Some(1024 << 20));
        assert_eq!(vm.max_memory, Some(8192 << 20));
        assert_eq!(vm.topology, Some((2, 4, 1)));
        assert_eq!(vm.os_type.as_deref(), Some("rhel_8x64"));
        assert_eq!(vm.vm_type, Some(VmType::Server));
        assert_eq!(vm.bios, Some(BiosType::Q35Ovmf));
        assert_eq!(vm.nics.len(), 1);
        assert_eq!(vm.nics[0].mac.as_deref(), Some("56:6f:00:00:00:01"));
        assert_eq!(vm.nics[0].network.as_deref(), Some("ovirtmgmt"));
        assert_eq!(vm.disks.len(), 2);
        assert_eq!(vm.disks[0].disk_id.as_deref(), Some("d1"));
        assert_eq!(vm.disks[0].interface, Some(DiskInterface::VirtioScsi));
        assert!(vm.disks[0].bootable);
        assert_eq!(vm.disks[0].size, Some(20 << 30));
        assert_eq!(vm.disks[1].alias.as_deref(), Some("a & b"));
        assert!(OvfVm::parse("<Content><VmType>spaceship</VmType></Content>").is_err());
    }
}
