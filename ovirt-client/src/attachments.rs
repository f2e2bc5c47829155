//! Disk attachments: attach an existing disk, a snapshot of a disk (the backup-appliance
//! way), or a new disk — always with `active` sent, as the API asks; deactivate; describe
//! an attached disk; detach (the disk is kept).

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::Result;
use crate::types::{Disk, DiskAttachment, DiskAttachments, DiskInterface, Ref};
use crate::wait::Poll;

impl Connection {
    /// A VM's disk attachments.
    pub fn attachments(&self, vm: &str) -> Result<Vec<DiskAttachment>> {
        let what = format!("listing disk attachments of VM {vm}");
        Ok(self
            .get::<DiskAttachments>(&format!("/vms/{vm}/diskattachments"), &Query::new(), &what)?
            .items)
    }

    /// Attaches an existing disk, active.
    pub fn attach_disk(
        &self,
        vm: &str,
        disk: &str,
        interface: DiskInterface,
        bootable: bool,
    ) -> Result<DiskAttachment> {
        let body = attachment(
            Disk {
                id: Some(disk.to_owned()),
                ..Disk::default()
            },
            interface,
            bootable,
        );
        self.attach(vm, &body, &format!("attaching disk {disk} to VM {vm}"))
    }

    /// Attaches the state of `disk` in the VM snapshot `snapshot` (another VM's snapshot:
    /// the engine puts a temporary writable overlay on it, gone when detached). Never
    /// remove such a disk: that would remove the original disk.
    pub fn attach_disk_snapshot(
        &self,
        vm: &str,
        disk: &str,
        snapshot: &str,
        interface: DiskInterface,
    ) -> Result<DiskAttachment> {
        let body = attachment(
            Disk {
                id: Some(disk.to_owned()),
                snapshot: Some(Ref::id(snapshot)),
                ..Disk::default()
            },
            interface,
            false,
        );
        self.attach(
            vm,
            &body,
            &format!("attaching disk {disk} of snapshot {snapshot} to VM {vm}"),
        )
    }

    /// Creates a new disk attached to the VM (it starts `locked`).
    pub fn attach_new_disk(
        &self,
        vm: &str,
        disk: &Disk,
        interface: DiskInterface,
        bootable: bool,
    ) -> Result<DiskAttachment> {
        let name = disk.name.as_deref().unwrap_or("(unnamed)");
        self.attach(
            vm,
            &attachment(disk.clone(), interface, bootable),
            &format!("creating disk `{name}` on VM {vm}"),
        )
    }

    fn attach(&self, vm: &str, body: &DiskAttachment, what: &str) -> Result<DiskAttachment> {
        self.add(
            &format!("/vms/{vm}/diskattachments"),
            &Query::new(),
            body,
            what,
        )
    }

    /// Unplugs a disk from the running VM and waits until the engine says it is inactive.
    pub fn deactivate_attachment(&self, vm: &str, disk: &str, timeout: Duration) -> Result<()> {
        let path = format!("/vms/{vm}/diskattachments/{disk}");
        let body = DiskAttachment {
            active: Some(false),
            ..DiskAttachment::default()
        };
        let what = format!("deactivating disk {disk} on VM {vm}");
        let _: DiskAttachment = self.update(&path, &body, &what)?;
        self.wait_for(&what, timeout, || {
            let seen: DiskAttachment = self.get(&path, &Query::new(), &what)?;
            Ok(if seen.active == Some(false) {
                Poll::Ready(())
            } else {
                Poll::Pending("active".into())
            })
        })
    }

    /// Sets the description of `disk`, attached to `vm`, through its attachment (the way
    /// the API edits an attached disk: `PUT` of a `<disk_attachment>` holding the `<disk>`).
    pub fn set_attached_disk_description(
        &self,
        vm: &str,
        disk: &str,
        description: &str,
    ) -> Result<()> {
        let body = DiskAttachment {
            disk: Some(Disk {
                description: Some(description.to_owned()),
                ..Disk::default()
            }),
            ..DiskAttachment::default()
        };
        let _: DiskAttachment = self.update(
            &format!("/vms/{vm}/diskattachments/{disk}"),
            &body,
            &format!("describing disk {disk} of VM {vm}"),
        )?;
        Ok(())
    }

    /// Detaches a disk from a VM, keeping the disk (`detach_only=true`, said explicitly).
    pub fn detach_disk(&self, vm: &str, disk: &str) -> Result<()> {
        let query = Query::new().with("detach_only", "true");
        self.remove(
            &format!("/vms/{vm}/diskattachments/{disk}"),
            &query,
            &format!("detaching disk {disk} from VM {vm}"),
        )
    }
}

fn attachment(disk: Disk, interface: DiskInterface, bootable: bool) -> DiskAttachment {
    DiskAttachment {
        active: Some(true),
        bootable: Some(bootable),
        interface: Some(interface),
        pass_discard: Some(false),
        disk: Some(disk),
        ..DiskAttachment::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_attachment_names_the_disk_and_the_vm_snapshot() {
        let body = attachment(
            Disk {
                id: Some("D".into()),
                snapshot: Some(Ref::id("S")),
                ..Disk::default()
            },
            DiskInterface::Virtio,
            false,
        );
        assert_eq!(
            crate::xml::write(&body, "test").unwrap(),
            "<disk_attachment><active>true</active><bootable>false</bootable>\
             <interface>virtio</interface><pass_discard>false</pass_discard>\
             <disk id=\"D\"><snapshot id=\"S\"/></disk></disk_attachment>"
        );
    }
}
