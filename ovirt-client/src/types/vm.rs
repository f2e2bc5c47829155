//! VMs, their configuration pieces, NICs, networks, clusters.

use super::{
    BiosType, ConfigurationType, DiskAttachments, NicInterface, Ref, VmStatus, VmType, wire_list,
    wire_struct,
};

wire_struct! {
    /// A virtual machine.
    Vm "vm" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name (unique in the engine).
        name: String,
        /// Free text.
        description: String,
        /// Run state.
        status: VmStatus,
        /// Memory in bytes.
        memory: u64,
        /// Memory limits.
        memory_policy: MemoryPolicy,
        /// CPU topology.
        cpu: Cpu,
        /// Guest OS type and boot order.
        os: Os,
        /// Firmware.
        bios: Bios,
        /// Optimisation profile.
        #[serde(rename = "type")]
        vm_type: VmType,
        /// Its cluster.
        cluster: Ref,
        /// Its template (`Blank` for none).
        template: Ref,
        /// The host it runs on.
        host: Ref,
        /// The OVF, with `all_content`.
        initialization: Initialization,
        /// Creation time (ISO 8601).
        creation_time: String,
        /// Whether the VM is stateless.
        stateless: bool,
        /// Whether removal is refused.
        delete_protected: bool,
        /// Its disks (with `follow=disk_attachments.disk`).
        disk_attachments: DiskAttachments,
        /// Its NICs (with `follow=nics`).
        nics: Nics,
    }
}

wire_list!(
    /// VMs.
    Vms "vms", Vm, "vm"
);

wire_struct! {
    /// Memory limits, in bytes.
    MemoryPolicy "memory_policy" {
        /// Memory always available to the guest.
        guaranteed: u64,
        /// Maximum for memory hot-plug.
        max: u64,
        /// Whether the balloon driver is used.
        ballooning: bool,
    }
}

wire_struct! {
    /// CPU description.
    Cpu "cpu" {
        /// Architecture (`x86_64`).
        architecture: String,
        /// Sockets, cores and threads.
        topology: CpuTopology,
    }
}

wire_struct! {
    /// Sockets × cores × threads.
    CpuTopology "topology" {
        /// Sockets.
        sockets: u32,
        /// Cores per socket.
        cores: u32,
        /// Threads per core.
        threads: u32,
    }
}

wire_struct! {
    /// Guest OS.
    Os "os" {
        /// The engine's OS id (`other_linux`, `rhel_8x64`, `windows_2019x64`, …).
        #[serde(rename = "type")]
        os_type: String,
        /// Boot order.
        boot: Boot,
    }
}

wire_struct! {
    /// Boot order.
    Boot "boot" {
        /// The devices.
        devices: BootDevices,
    }
}

wire_list!(
    /// Boot devices in order (`hd`, `cdrom`, `network`).
    BootDevices "devices", String, "device"
);

wire_struct! {
    /// Firmware.
    Bios "bios" {
        /// BIOS or UEFI, and the chipset.
        #[serde(rename = "type")]
        bios_type: BiosType,
    }
}

wire_struct! {
    /// Initialization data; the OVF lives here.
    Initialization "initialization" {
        /// The VM's configuration document.
        configuration: Configuration,
    }
}

wire_struct! {
    /// A VM configuration document.
    Configuration "configuration" {
        /// Its format.
        #[serde(rename = "type")]
        config_type: ConfigurationType,
        /// The document itself (XML text).
        data: String,
    }
}

wire_struct! {
    /// A network interface of a VM.
    Nic "nic" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name (`nic1`).
        name: String,
        /// Device model.
        interface: NicInterface,
        /// MAC address.
        mac: Mac,
        /// The vNIC profile (which network).
        vnic_profile: Ref,
        /// Whether the link is up.
        linked: bool,
        /// Whether it is plugged.
        plugged: bool,
    }
}

wire_list!(
    /// NICs.
    Nics "nics", Nic, "nic"
);

wire_struct! {
    /// A MAC address.
    Mac "mac" {
        /// `56:6f:…`.
        address: String,
    }
}

wire_struct! {
    /// A vNIC profile: a network plus settings, what a NIC points at.
    VnicProfile "vnic_profile" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name.
        name: String,
        /// Its network.
        network: Ref,
    }
}

wire_list!(
    /// vNIC profiles.
    VnicProfiles "vnic_profiles", VnicProfile, "vnic_profile"
);

wire_struct! {
    /// A logical network.
    Network "network" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name (`ovirtmgmt`).
        name: String,
        /// Its data center.
        data_center: Ref,
    }
}

wire_list!(
    /// Networks.
    Networks "networks", Network, "network"
);

wire_struct! {
    /// A tag (a VM's label, for selecting VMs to back up).
    Tag "tag" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its name.
        name: String,
    }
}

wire_list!(
    /// Tags.
    Tags "tags", Tag, "tag"
);

wire_struct! {
    /// A cluster of hosts.
    Cluster "cluster" {
        /// Its id.
        #[serde(rename = "@id")]
        id: String,
        /// Its API path.
        #[serde(rename = "@href")]
        href: String,
        /// Its name.
        name: String,
        /// Free text.
        description: String,
        /// Its data center.
        data_center: Ref,
    }
}

wire_list!(
    /// Clusters.
    Clusters "clusters", Cluster, "cluster"
);
