use super::*;
use crate::source::{Cpus, Power, SourceDisk, SourceNic};

fn source() -> SourceVm {
    let disk = |position: u32, bootable: bool| SourceDisk {
        position,
        device: format!("xvd{}", char::from(b'a' + position as u8)),
        name: format!("disk {position}"),
        uuid: format!("uuid-{position}"),
        size: 8 << 30,
        allocated: 1 << 30,
        storage: "Local storage".into(),
        bootable,
        read_only: false,
    };
    let nic = |position: u32, network: &str| SourceNic {
        position,
        mac: format!("aa:bb:cc:00:00:0{position}"),
        mtu: 1500,
        network: network.into(),
        network_uuid: format!("{network}-uuid"),
        bridge: format!("xenbr{position}"),
    };
    SourceVm {
        name: "web-01".into(),
        uuid: "vm-uuid".into(),
        description: String::new(),
        power: Power::Halted,
        memory: 2 << 30,
        cpus: Cpus {
            count: 4,
            max: 4,
            cores_per_socket: 2,
        },
        virtualisation: Virtualisation::Hvm,
        firmware: Firmware::Uefi,
        nics: vec![nic(0, "front"), nic(1, "back")],
        disks: vec![disk(0, true), disk(1, false)],
        left_out: vec!["CD drive at position 3 (empty)".into()],
    }
}

fn inventory() -> Inventory {
    let profile = |network: &str, name: &str| Profile {
        id: format!("{network}-{name}-id"),
        name: name.into(),
        network: network.into(),
    };
    Inventory {
        clusters: vec!["Default".into()],
        domains: vec![
            Domain {
                id: "d1".into(),
                name: "data1".into(),
                block: false,
                available: Some(1 << 40),
            },
            Domain {
                id: "b1".into(),
                name: "block1".into(),
                block: true,
                available: None,
            },
        ],
        profiles: vec![
            profile("ovirtmgmt", "ovirtmgmt"),
            profile("vlan10", "vlan10"),
            profile("vlan10", "shared"),
            profile("vlan20", "shared"),
        ],
        name_taken: false,
    }
}

fn choices() -> Choices {
    Choices {
        name: None,
        cluster: None,
        storage_domain: Some("data1".into()),
        networks: vec![
            ("front".into(), "ovirtmgmt".into()),
            ("xenbr1".into(), "vlan20/shared".into()),
        ],
        keep_macs: true,
        bus: DiskBus::Virtio,
        os_type: None,
        fixup: None,
        no_fixup: false,
        running: WhenRunning::Refuse,
    }
}

#[test]
fn a_complete_plan() {
    let plan = Plan::build(&source(), &inventory(), &choices()).unwrap();
    let t = &plan.target;
    assert_eq!((t.name.as_str(), t.cluster.as_str()), ("web-01", "Default"));
    assert_eq!((t.memory, t.sockets, t.cores), (2 << 30, 2, 2));
    assert_eq!(t.firmware, Firmware::Uefi);
    assert_eq!(t.storage_domain.name, "data1");
    let disks: Vec<_> = t
        .disks
        .iter()
        .map(|d| (d.name.as_str(), d.bootable, d.sparse))
        .collect();
    assert_eq!(
        disks,
        [("web-01_disk0", true, true), ("web-01_disk1", false, true)]
    );
    let nics: Vec<_> = t
        .nics
        .iter()
        .map(|n| (n.name.as_str(), n.profile.id.as_str(), n.mac.as_deref()))
        .collect();
    assert_eq!(
        nics,
        [
            ("nic1", "ovirtmgmt-ovirtmgmt-id", Some("aa:bb:cc:00:00:00")),
            ("nic2", "vlan20-shared-id", Some("aa:bb:cc:00:00:01"))
        ]
    );
    assert!(plan.warnings.iter().any(|w| w.contains("CD drive")));
    let text = plan.to_string();
    assert!(
        text.contains("target: VM `web-01` in cluster `Default`"),
        "{text}"
    );
    assert!(
        text.contains("nic2 virtio on `vlan20/shared` <- `back`, MAC aa:bb:cc:00:00:01"),
        "{text}"
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["target"]["disks"][0]["bootable"], true);
    assert_eq!(json["source"]["firmware"], "uefi");
    assert_eq!(json["target"]["bus"], "virtio");
}

#[test]
fn block_storage_new_macs_and_a_new_name() {
    let mut choices = choices();
    choices.storage_domain = Some("block1".into());
    choices.keep_macs = false;
    choices.name = Some("web-new".into());
    choices.os_type = Some("debian_12".into());
    let plan = Plan::build(&source(), &inventory(), &choices).unwrap();
    assert!(plan.target.disks.iter().all(|d| !d.sparse));
    assert!(plan.target.nics.iter().all(|n| n.mac.is_none()));
    assert_eq!(plan.target.disks[1].name, "web-new_disk1");
    assert_eq!(plan.target.os_type, "debian_12");
}

#[test]
fn every_problem_is_named_at_once() {
    let mut source = source();
    source.power = Power::Running;
    let mut inventory = inventory();
    inventory.name_taken = true;
    inventory.clusters.push("Other".into());
    let mut choices = choices();
    choices.networks = vec![
        ("front".into(), "shared".into()),
        ("nowhere".into(), "ovirtmgmt".into()),
    ];
    choices.storage_domain = None;
    let problems = Plan::build(&source, &inventory, &choices).unwrap_err();
    let text = problems.to_string();
    for expected in [
        "a VM named `web-01` already",
        "choose the cluster with --cluster (the engine has: Default, Other)",
        "choose the data storage domain with --storage-domain",
        "not mapped: `back`",
        "several networks have a vNIC profile `shared`",
        "--network nowhere=",
        "is running",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
}

#[test]
fn a_running_source_is_shut_down_only_when_asked() {
    let mut source = source();
    source.power = Power::Running;
    let mut choices = choices();
    choices.running = WhenRunning::ShutDown;
    let plan = Plan::build(&source, &inventory(), &choices).unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("shut down cleanly first"))
    );
    source.power = Power::Suspended;
    let text = Plan::build(&source, &inventory(), &choices)
        .unwrap_err()
        .to_string();
    assert!(text.contains("is suspended"), "{text}");
}

#[test]
fn names_the_engine_refuses_are_mapped_or_refused() {
    let mut source = source();
    source.name = "Debian 12 (web) ü".into();
    let plan = Plan::build(&source, &inventory(), &choices()).unwrap();
    assert_eq!(plan.target.name, "Debian-12--web---");
    assert_eq!(plan.target.disks[0].name, "Debian-12--web---_disk0");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("does not take the name"))
    );
    let mut choices = choices();
    choices.name = Some("a b".into());
    let text = Plan::build(&source, &inventory(), &choices)
        .unwrap_err()
        .to_string();
    assert!(text.contains("--name `a b`"), "{text}");
}

#[test]
fn unknown_names_list_what_exists() {
    let mut choices = choices();
    choices.cluster = Some("Nope".into());
    choices.storage_domain = Some("data9".into());
    choices.networks = vec![
        ("front".into(), "vlan99".into()),
        ("back".into(), "ovirtmgmt".into()),
    ];
    let text = Plan::build(&source(), &inventory(), &choices)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("no cluster `Nope` (it has: Default)"),
        "{text}"
    );
    assert!(
        text.contains("no data storage domain `data9` (it has: data1, block1)"),
        "{text}"
    );
    assert!(text.contains("no vNIC profile `vlan99`"), "{text}");
}
