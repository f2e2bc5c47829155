use xenapi::records::{PowerState, StringMap};

use super::*;

fn map(pairs: &[(&str, &str)]) -> StringMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A VM as XCP-ng 8.3 describes an HVM guest created from the Debian template.
fn hvm_vm() -> VmRecord {
    VmRecord {
        uuid: "6c5e4d8f-1b9a-4c1e-9f7d-2a3b4c5d6e7f".into(),
        name_label: "web-01".into(),
        name_description: "the web server".into(),
        power_state: PowerState::Halted,
        memory_static_max: 2 << 30,
        memory_dynamic_max: 2 << 30,
        memory_dynamic_min: 1 << 30,
        memory_static_min: 1 << 28,
        vcpus_max: 8,
        vcpus_at_startup: 4,
        hvm_boot_policy: "BIOS order".into(),
        hvm_boot_params: map(&[("order", "cd"), ("firmware", "uefi")]),
        platform: map(&[
            ("cores-per-socket", "2"),
            ("secureboot", "false"),
            ("acpi", "1"),
            ("apic", "true"),
            ("viridian", "false"),
        ]),
        domain_type: "hvm".into(),
        ..VmRecord::default()
    }
}

fn slot(userdevice: &str, bootable: bool, vdi: Option<VdiRecord>, kind: VbdType) -> XapiDisk {
    XapiDisk {
        vbd: VbdRecord {
            device: format!(
                "xvd{}",
                char::from(b'a' + userdevice.parse::<u8>().unwrap())
            ),
            userdevice: userdevice.into(),
            bootable,
            kind,
            empty: vdi.is_none(),
            ..VbdRecord::default()
        },
        vdi,
        sr_name: "Local storage".into(),
    }
}

fn vdi(name: &str, size: i64) -> VdiRecord {
    VdiRecord {
        uuid: format!("{name}-uuid"),
        name_label: name.into(),
        virtual_size: size,
        physical_utilisation: size / 4,
        ..VdiRecord::default()
    }
}

fn vif(device: &str, mac: &str, network: &str) -> (VifRecord, NetworkRecord) {
    (
        VifRecord {
            device: device.into(),
            mac: mac.into(),
            mtu: 1500,
            ..VifRecord::default()
        },
        NetworkRecord {
            uuid: format!("{network}-uuid"),
            name_label: network.into(),
            bridge: "xenbr0".into(),
            ..NetworkRecord::default()
        },
    )
}

#[test]
fn an_hvm_uefi_guest_with_two_disks_a_cd_and_two_nics() {
    let disks = [
        slot("3", false, None, VbdType::CD),
        slot("1", false, Some(vdi("data", 32 << 30)), VbdType::Disk),
        slot("0", true, Some(vdi("system", 20 << 30)), VbdType::Disk),
    ];
    let nics = [
        vif("1", "AA:BB:CC:00:00:02", "storage"),
        vif(
            "0",
            "aa:bb:cc:00:00:01",
            "Pool-wide network associated with eth0",
        ),
    ];
    let vm = SourceVm::from_xapi(&hvm_vm(), &disks, &nics).unwrap();
    assert_eq!(vm.name, "web-01");
    assert_eq!(vm.memory, 2 << 30);
    assert_eq!(vm.power, Power::Halted);
    assert_eq!(vm.virtualisation, Virtualisation::Hvm);
    assert_eq!(vm.firmware, Firmware::Uefi);
    assert_eq!(
        vm.cpus,
        Cpus {
            count: 4,
            max: 8,
            cores_per_socket: 2
        }
    );
    assert_eq!((vm.cpus.sockets(), vm.cpus.cores()), (2, 2));
    let disks: Vec<_> = vm
        .disks
        .iter()
        .map(|d| (d.position, d.name.as_str(), d.size))
        .collect();
    assert_eq!(disks, [(0, "system", 20 << 30), (1, "data", 32 << 30)]);
    assert_eq!(vm.disks[0].device, "xvda");
    assert!(vm.disks[0].bootable);
    let nics: Vec<_> = vm
        .nics
        .iter()
        .map(|n| (n.position, n.mac.as_str(), n.network.as_str()))
        .collect();
    assert_eq!(
        nics,
        [
            (
                0,
                "aa:bb:cc:00:00:01",
                "Pool-wide network associated with eth0"
            ),
            (1, "aa:bb:cc:00:00:02", "storage")
        ]
    );
    assert_eq!(vm.left_out, ["CD drive at position 3 (empty)"]);
}

#[test]
fn a_pv_guest_boots_on_a_bios_from_its_bootable_disk() {
    let mut record = VmRecord {
        name_label: "mail-01".into(),
        memory_static_max: 512 << 20,
        vcpus_max: 1,
        vcpus_at_startup: 1,
        pv_bootloader: "pygrub".into(),
        domain_type: "pv".into(),
        power_state: PowerState::Running,
        ..VmRecord::default()
    };
    // The bootable disk is not the first one: it goes first.
    let disks = [
        slot("0", false, Some(vdi("swap", 1 << 30)), VbdType::Disk),
        slot("1", true, Some(vdi("root", 8 << 30)), VbdType::Disk),
    ];
    let vm = SourceVm::from_xapi(&record, &disks, &[]).unwrap();
    assert_eq!(vm.virtualisation, Virtualisation::Pv);
    assert_eq!(vm.firmware, Firmware::Bios);
    assert_eq!(vm.power, Power::Running);
    assert_eq!(vm.disks[0].name, "root");
    assert_eq!(vm.disks[1].name, "swap");
    assert_eq!((vm.cpus.sockets(), vm.cpus.cores()), (1, 1));

    // An older pool without domain_type: HVM_boot_policy decides.
    record.domain_type = "unspecified".into();
    assert_eq!(
        SourceVm::from_xapi(&record, &[], &[])
            .unwrap()
            .virtualisation,
        Virtualisation::Pv
    );
    record.hvm_boot_policy = "BIOS order".into();
    assert_eq!(
        SourceVm::from_xapi(&record, &[], &[])
            .unwrap()
            .virtualisation,
        Virtualisation::Hvm
    );
}

#[test]
fn secure_boot_and_odd_topologies() {
    let mut record = hvm_vm();
    record.platform.insert("secureboot".into(), "true".into());
    record.vcpus_at_startup = 3; // 2 cores per socket do not divide 3
    let vm = SourceVm::from_xapi(&record, &[], &[]).unwrap();
    assert_eq!(vm.firmware, Firmware::UefiSecureBoot);
    assert_eq!((vm.cpus.sockets(), vm.cpus.cores()), (3, 1));
    record
        .hvm_boot_params
        .insert("firmware".into(), "bios".into());
    assert_eq!(
        SourceVm::from_xapi(&record, &[], &[]).unwrap().firmware,
        Firmware::Bios
    );
}

#[test]
fn values_it_does_not_know_are_refused() {
    let refused = |record: VmRecord, what: &str| {
        let error = SourceVm::from_xapi(&record, &[], &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("web-01") && error.contains(what), "{error}");
    };
    let mut record = hvm_vm();
    record
        .hvm_boot_params
        .insert("firmware".into(), "coreboot".into());
    refused(record, "coreboot");
    let mut record = hvm_vm();
    record.domain_type = "hvm2".into();
    refused(record, "hvm2");
    let mut record = hvm_vm();
    record
        .platform
        .insert("cores-per-socket".into(), "two".into());
    refused(record, "cores-per-socket");
    let mut record = hvm_vm();
    record.memory_static_max = 0;
    refused(record, "memory_static_max");

    let bad_mac = [vif("0", "not-a-mac", "net")];
    let error = SourceVm::from_xapi(&hvm_vm(), &[], &bad_mac)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not-a-mac"), "{error}");
    let twice = [
        slot("0", true, Some(vdi("a", 1 << 30)), VbdType::Disk),
        slot("0", false, Some(vdi("b", 1 << 30)), VbdType::Disk),
    ];
    let error = SourceVm::from_xapi(&hvm_vm(), &twice, &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("two disks at position 0"), "{error}");
}
