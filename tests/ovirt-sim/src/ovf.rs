//! The OVF the engine keeps for each VM (`initialization/configuration/data` with
//! `all_content`): an `ovf:Envelope` with the disks' references and a `VirtualSystem` whose
//! `Name`, `CreationDate`, `MinAllocatedMem`, `ClusterName` and `TemplateName` are what
//! restore tools read. A VM created from an OVF keeps the OVF it was given.

use std::fmt::Write as _;

use crate::engine::Engine;
use crate::model::Vm;
use crate::xml::escape;

/// The OVF of a VM now.
pub(crate) fn of_vm(engine: &Engine, vm: &Vm) -> String {
    if let Some(given) = &vm.given_ovf {
        return given.clone();
    }
    let mib = vm.memory >> 20;
    let mut references = String::new();
    let mut disks = String::new();
    let mut items = String::new();
    for a in &vm.attachments {
        let Ok(disk) = engine.disk(&a.disk) else {
            continue;
        };
        let volume = disk.active();
        let _ = write!(
            references,
            "<File ovf:href=\"{}/{}\" ovf:id=\"{}\" ovf:size=\"{}\" ovf:description=\"{}\"/>",
            disk.id,
            volume.image_id,
            volume.image_id,
            disk.provisioned_size,
            escape(&disk.name)
        );
        let _ = write!(
            disks,
            "<Disk ovf:diskId=\"{}\" ovf:size=\"{}\" ovf:fileRef=\"{}/{}\" ovf:format=\"http://www.vmware.com/specifications/vmdk.html#sparse\" \
             ovf:volume-format=\"{}\" ovf:disk-interface=\"{}\" ovf:boot=\"{}\" ovf:disk-alias=\"{}\"/>",
            volume.image_id,
            disk.provisioned_size >> 30,
            disk.id,
            volume.image_id,
            if disk.format == crate::model::Format::Cow {
                "COW"
            } else {
                "RAW"
            },
            a.interface.to_uppercase(),
            a.bootable,
            escape(&disk.name)
        );
        let _ = write!(
            items,
            "<Item><rasd:ResourceType>17</rasd:ResourceType><rasd:InstanceId>{}</rasd:InstanceId>\
             <rasd:HostResource>{}/{}</rasd:HostResource><rasd:Parent>00000000-0000-0000-0000-000000000000</rasd:Parent>\
             <rasd:StorageId>{}</rasd:StorageId><BootOrder>{}</BootOrder></Item>",
            volume.image_id,
            disk.id,
            volume.image_id,
            disk.sd,
            u8::from(a.bootable)
        );
    }
    for nic in &vm.nics {
        let _ = write!(
            items,
            "<Item><rasd:ResourceType>10</rasd:ResourceType><rasd:InstanceId>{}</rasd:InstanceId>\
             <rasd:Name>{}</rasd:Name><rasd:MACAddress>{}</rasd:MACAddress></Item>",
            nic.id,
            escape(&nic.name),
            nic.mac
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<ovf:Envelope xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1/\" \
xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" \
xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ovf:version=\"4.4.0.0\">\
<References>{references}</References>\
<Section xsi:type=\"ovf:DiskSection_Type\"><Info>List of Virtual Disks</Info>{disks}</Section>\
<Content ovf:id=\"out\" xsi:type=\"ovf:VirtualSystem_Type\">\
<Name>{name}</Name><Description>{description}</Description><VmType>{vm_type}</VmType>\
<CreationDate>{created}</CreationDate><TemplateId>{template}</TemplateId><TemplateName>Blank</TemplateName>\
<MinAllocatedMem>{mib}</MinAllocatedMem><MaxMemorySizeMb>{max}</MaxMemorySizeMb>\
<ClusterName>{cluster}</ClusterName><BiosType>{bios}</BiosType>\
<Section ovf:id=\"{id}\" ovf:required=\"false\" xsi:type=\"ovf:OperatingSystemSection_Type\">\
<Info>Guest Operating System</Info><Description>{os}</Description></Section>\
<Section xsi:type=\"ovf:VirtualHardwareSection_Type\"><Info>{sockets} CPU, {mib} Memory</Info>\
<Item><rasd:ResourceType>3</rasd:ResourceType><rasd:num_of_sockets>{sockets}</rasd:num_of_sockets>\
<rasd:cpu_per_socket>{cores}</rasd:cpu_per_socket><rasd:threads_per_cpu>{threads}</rasd:threads_per_cpu></Item>\
<Item><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>{mib}</rasd:VirtualQuantity></Item>\
{items}</Section></Content></ovf:Envelope>",
        name = escape(&vm.name),
        description = escape(&vm.description),
        vm_type = vm.kind,
        created = vm.created,
        template = crate::BLANK_TEMPLATE,
        max = mib * 4,
        cluster = escape(&engine.cluster.1),
        bios = vm.bios_type,
        id = vm.id,
        os = escape(&vm.os_type),
        sockets = vm.sockets,
        cores = vm.cores,
        threads = vm.threads,
    )
}
