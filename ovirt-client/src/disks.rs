//! Disks: create floating disks, list, get, remove, wait until `ok`; and the inventory a disk
//! needs (storage domains), clusters, networks and vNIC profiles.

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{
    Cluster, Clusters, Disk, DiskStatus, Disks, Network, Networks, StorageDomain, StorageDomains,
    VnicProfile, VnicProfiles,
};
use crate::wait::Poll;

impl Connection {
    /// Creates a floating disk (`POST /disks`); it starts `locked` (see
    /// [`Connection::wait_disk_ok`]). Block storage refuses `raw` + `sparse`.
    pub fn create_disk(&self, disk: &Disk) -> Result<Disk> {
        let name = disk.name.as_deref().unwrap_or("(unnamed)");
        self.add(
            "/disks",
            &Query::new(),
            disk,
            &format!("creating disk `{name}`"),
        )
    }

    /// Every disk of the engine (`GET /disks`): floating ones and attached ones.
    pub fn disks(&self) -> Result<Vec<Disk>> {
        Ok(self
            .get::<Disks>("/disks", &Query::new(), "listing disks")?
            .items)
    }

    /// A disk by id.
    pub fn disk(&self, id: &str) -> Result<Disk> {
        self.get(
            &format!("/disks/{id}"),
            &Query::new(),
            &format!("getting disk {id}"),
        )
    }

    /// Removes a disk.
    pub fn remove_disk(&self, id: &str) -> Result<()> {
        self.remove(
            &format!("/disks/{id}"),
            &Query::new(),
            &format!("removing disk {id}"),
        )
    }

    /// Waits until a disk is `ok`; `illegal` is a failure.
    pub fn wait_disk_ok(&self, id: &str, timeout: Duration) -> Result<Disk> {
        let what = format!("disk {id} becoming ok");
        self.wait_for(&what, timeout, || {
            let disk = self.disk(id)?;
            match disk.status {
                Some(DiskStatus::Ok) => Ok(Poll::Ready(disk)),
                Some(DiskStatus::Illegal) => Err(OvirtError::Failed {
                    what: format!("disk {id}"),
                    state: "illegal".into(),
                }),
                Some(DiskStatus::Locked) => Ok(Poll::Pending("locked".into())),
                None => Ok(Poll::Pending("without a status".into())),
            }
        })
    }

    /// Storage domains.
    pub fn storage_domains(&self) -> Result<Vec<StorageDomain>> {
        Ok(self
            .get::<StorageDomains>("/storagedomains", &Query::new(), "listing storage domains")?
            .items)
    }

    /// A storage domain by id.
    pub fn storage_domain(&self, id: &str) -> Result<StorageDomain> {
        self.get(
            &format!("/storagedomains/{id}"),
            &Query::new(),
            &format!("getting storage domain {id}"),
        )
    }

    /// Clusters.
    pub fn clusters(&self) -> Result<Vec<Cluster>> {
        Ok(self
            .get::<Clusters>("/clusters", &Query::new(), "listing clusters")?
            .items)
    }

    /// Networks.
    pub fn networks(&self) -> Result<Vec<Network>> {
        Ok(self
            .get::<Networks>("/networks", &Query::new(), "listing networks")?
            .items)
    }

    /// vNIC profiles of a network.
    pub fn vnic_profiles(&self, network: &str) -> Result<Vec<VnicProfile>> {
        let what = format!("listing vNIC profiles of network {network}");
        Ok(self
            .get::<VnicProfiles>(
                &format!("/networks/{network}/vnicprofiles"),
                &Query::new(),
                &what,
            )?
            .items)
    }
}
