//! A fresh pool: two hosts (a master and a slave) with their control domains, a local SR
//! (the pool's default), a network, a default template and one user.

use xenapi::Ref;
use xenapi::records::{
    HostRecord, NetworkRecord, PoolRecord, PowerState, SrRecord, StringMap, VmRecord,
};

use super::{Pool, XAPI_VERSION, new_ref, new_uuid};
use crate::disks::DiskStore;

/// `other_config` key naming which listener serves a host (`master` or `slave`).
pub(crate) const LISTENER_KEY: &str = "xapi-sim:listener";

impl Pool {
    /// A new pool whose disks live in `store`.
    pub(crate) fn fresh(user: &str, password: &str, sr_size: u64, store: DiskStore) -> Pool {
        let mut pool = Pool {
            reference: new_ref(),
            store: Some(store),
            ..Pool::default()
        };
        pool.users.insert(user.to_owned(), password.to_owned());
        let master = pool.add_host("xapi-sim-master", "master");
        pool.add_host("xapi-sim-slave", "slave");
        let sr = new_ref();
        pool.srs.insert(
            sr.clone(),
            SrRecord {
                uuid: new_uuid(),
                name_label: "Local storage".to_owned(),
                name_description: "Simulated local SR: one sparse file per VDI".to_owned(),
                physical_size: i64::try_from(sr_size).unwrap_or(i64::MAX),
                kind: "ext".to_owned(),
                content_type: "user".to_owned(),
                shared: false,
                ..SrRecord::default()
            },
        );
        pool.networks.insert(
            new_ref(),
            NetworkRecord {
                uuid: new_uuid(),
                name_label: "Pool-wide network associated with eth0".to_owned(),
                bridge: "xenbr0".to_owned(),
                ..NetworkRecord::default()
            },
        );
        pool.record = PoolRecord {
            uuid: new_uuid(),
            name_label: "xapi-sim pool".to_owned(),
            master: master.clone(),
            default_sr: sr,
            ..PoolRecord::default()
        };
        let template = VmRecord {
            uuid: new_uuid(),
            name_label: "Debian Bookworm 12".to_owned(),
            name_description:
                "Template that allows VM installation from Xen-aware Debian-based distros"
                    .to_owned(),
            is_a_template: true,
            is_default_template: true,
            memory_static_max: 1 << 30,
            memory_dynamic_max: 1 << 30,
            memory_dynamic_min: 1 << 30,
            memory_static_min: 1 << 28,
            hvm_boot_policy: "BIOS order".to_owned(),
            domain_type: "hvm".to_owned(),
            other_config: StringMap::from([("default_template".to_owned(), "true".to_owned())]),
            ..VmRecord::default()
        };
        pool.vms.insert(new_ref(), template);
        pool
    }

    fn add_host(&mut self, hostname: &str, listener: &str) -> Ref {
        let host = new_ref();
        let dom0 = new_ref();
        self.vms.insert(
            dom0.clone(),
            VmRecord {
                uuid: new_uuid(),
                name_label: format!("Control domain on host: {hostname}"),
                power_state: PowerState::Running,
                is_control_domain: true,
                resident_on: host.clone(),
                domid: 0,
                memory_static_max: 4 << 30,
                memory_dynamic_max: 4 << 30,
                memory_dynamic_min: 4 << 30,
                memory_static_min: 4 << 30,
                vcpus_max: 4,
                vcpus_at_startup: 4,
                domain_type: "pv".to_owned(),
                ..VmRecord::default()
            },
        );
        let (major, minor) = XAPI_VERSION;
        self.hosts.insert(
            host.clone(),
            HostRecord {
                uuid: new_uuid(),
                name_label: hostname.to_owned(),
                name_description: "Simulated host".to_owned(),
                hostname: hostname.to_owned(),
                enabled: true,
                api_version_major: 2,
                api_version_minor: 21,
                software_version: StringMap::from([
                    ("product_brand".to_owned(), "XCP-ng".to_owned()),
                    ("product_version".to_owned(), "8.3.0".to_owned()),
                    ("xapi".to_owned(), format!("{major}.{minor}")),
                ]),
                control_domain: dom0,
                other_config: StringMap::from([(LISTENER_KEY.to_owned(), listener.to_owned())]),
                ..HostRecord::default()
            },
        );
        host
    }

    /// The host served by listener `listener` (`master` or `slave`).
    pub(crate) fn host_of_listener(&self, listener: &str) -> Option<Ref> {
        self.hosts
            .iter()
            .find(|(_, host)| {
                host.other_config.get(LISTENER_KEY).map(String::as_str) == Some(listener)
            })
            .map(|(r, _)| r.clone())
    }
}
