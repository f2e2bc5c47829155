//! Every field of XAPI's datamodel for the classes the simulator serves, with its default:
//! a record read by a client carries all of them, as XAPI's do, whatever the typed record
//! (`xenapi::records`) keeps. The names and defaults are XAPI's published datamodel
//! (xen-api `doc/data/xenapi.json`, generated from `ocaml/idl/datamodel*.ml`; fields whose
//! lifecycle is `Removed` are left out): the datamodel's default where it gives one, else the
//! type's (empty string, 0, false, `OpaqueRef:NULL`, an empty set or map, the enum's first
//! value).

use xenapi::rpc::Value;

use super::Class;

/// A field's default value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Initial {
    /// A string or an enum value.
    Text(&'static str),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A reference: `OpaqueRef:NULL`.
    Null,
    /// A date: XAPI's epoch, `19700101T00:00:00Z`.
    Time,
    /// An empty set.
    Set,
    /// A set of integers.
    Ints(&'static [i64]),
    /// An empty map.
    Map,
    /// A map of strings.
    Pairs(&'static [(&'static str, &'static str)]),
}

use Initial::{Bool, Float, Int, Ints, Map, Null, Pairs, Set, Text, Time};

impl Initial {
    /// The default as a client reads it.
    pub(crate) fn value(self) -> Value {
        match self {
            Text(text) => Value::String(text.to_owned()),
            Int(n) => Value::Int(n),
            Float(x) => Value::Double(x),
            Bool(b) => Value::Bool(b),
            Null => Value::String("OpaqueRef:NULL".to_owned()),
            Time => Value::DateTime("19700101T00:00:00Z".to_owned()),
            Set => Value::Array(Vec::new()),
            Ints(items) => Value::Array(items.iter().copied().map(Value::Int).collect()),
            Map => Value::Struct(Vec::new()),
            Pairs(pairs) => Value::Struct(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                    .collect(),
            ),
        }
    }
}

/// The fields of `class`, with their defaults.
pub(crate) fn fields(class: Class) -> &'static [(&'static str, Initial)] {
    match class {
        Class::Pool => POOL,
        Class::Host => HOST,
        Class::Vm => VM,
        Class::Vbd => VBD,
        Class::Vdi => VDI,
        Class::Sr => SR,
        Class::Vif => VIF,
        Class::Network => NETWORK,
        Class::Task => TASK,
    }
}

/// Adds to `record` (a struct) every field of `class` it lacks, with its default.
pub(crate) fn complete(class: Class, record: &mut Value) {
    let Value::Struct(members) = record else {
        return;
    };
    for (name, default) in fields(class) {
        if !members.iter().any(|(member, _)| member == name) {
            members.push(((*name).to_owned(), default.value()));
        }
    }
}

/// `pool`: 57 fields.
pub(crate) const POOL: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("master", Null),
    ("default_SR", Null),
    ("suspend_image_SR", Null),
    ("crash_dump_SR", Null),
    ("other_config", Map),
    ("ha_enabled", Bool(false)),
    ("ha_configuration", Map),
    ("ha_statefiles", Set),
    ("ha_host_failures_to_tolerate", Int(0)),
    ("ha_plan_exists_for", Int(0)),
    ("ha_allow_overcommit", Bool(false)),
    ("ha_overcommitted", Bool(false)),
    ("blobs", Map),
    ("tags", Set),
    ("gui_config", Map),
    ("health_check_config", Map),
    ("wlb_url", Text("")),
    ("wlb_username", Text("")),
    ("wlb_enabled", Bool(false)),
    ("wlb_verify_cert", Bool(false)),
    ("redo_log_enabled", Bool(false)),
    ("redo_log_vdi", Null),
    ("vswitch_controller", Text("")),
    ("restrictions", Map),
    ("metadata_VDIs", Set),
    ("ha_cluster_stack", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("guest_agent_config", Map),
    ("cpu_info", Map),
    ("policy_no_vendor_device", Bool(false)),
    ("live_patching_disabled", Bool(false)),
    ("igmp_snooping_enabled", Bool(false)),
    ("uefi_certificates", Text("")),
    ("custom_uefi_certificates", Text("")),
    ("is_psr_pending", Bool(false)),
    ("tls_verification_enabled", Bool(false)),
    ("repositories", Set),
    ("client_certificate_auth_enabled", Bool(false)),
    ("client_certificate_auth_name", Text("")),
    ("repository_proxy_url", Text("")),
    ("repository_proxy_username", Text("")),
    ("repository_proxy_password", Null),
    ("migration_compression", Bool(false)),
    ("coordinator_bias", Bool(true)),
    ("local_auth_max_threads", Int(8)),
    ("ext_auth_max_threads", Int(1)),
    ("telemetry_uuid", Null),
    ("telemetry_frequency", Text("weekly")),
    ("telemetry_next_collection", Time),
    ("last_update_sync", Time),
    ("update_sync_frequency", Text("weekly")),
    ("update_sync_day", Int(0)),
    ("update_sync_enabled", Bool(false)),
];

/// `host`: 70 fields.
pub(crate) const HOST: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("memory_overhead", Int(0)),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("API_version_major", Int(0)),
    ("API_version_minor", Int(0)),
    ("API_version_vendor", Text("")),
    ("API_version_vendor_implementation", Map),
    ("enabled", Bool(false)),
    ("software_version", Map),
    ("other_config", Map),
    ("capabilities", Set),
    ("cpu_configuration", Map),
    ("sched_policy", Text("")),
    ("supported_bootloaders", Set),
    ("resident_VMs", Set),
    ("logging", Map),
    ("PIFs", Set),
    ("suspend_image_sr", Null),
    ("crash_dump_sr", Null),
    ("crashdumps", Set),
    ("patches", Set),
    ("updates", Set),
    ("PBDs", Set),
    ("host_CPUs", Set),
    ("cpu_info", Map),
    ("hostname", Text("")),
    ("address", Text("")),
    ("metrics", Null),
    ("license_params", Map),
    ("ha_statefiles", Set),
    ("ha_network_peers", Set),
    ("blobs", Map),
    ("tags", Set),
    ("external_auth_type", Text("")),
    ("external_auth_service_name", Text("")),
    ("external_auth_configuration", Map),
    ("edition", Text("")),
    (
        "license_server",
        Pairs(&[("address", "localhost"), ("port", "27000")]),
    ),
    ("bios_strings", Map),
    ("power_on_mode", Text("")),
    ("power_on_config", Map),
    ("local_cache_sr", Null),
    ("chipset_info", Map),
    ("PCIs", Set),
    ("PGPUs", Set),
    ("PUSBs", Set),
    ("ssl_legacy", Bool(true)),
    ("guest_VCPUs_params", Map),
    ("display", Text("enabled")),
    ("virtual_hardware_platform_versions", Ints(&[0])),
    ("control_domain", Null),
    ("updates_requiring_reboot", Set),
    ("features", Set),
    ("iscsi_iqn", Text("")),
    ("multipathing", Bool(false)),
    ("uefi_certificates", Text("")),
    ("certificates", Set),
    ("editions", Set),
    ("pending_guidances", Set),
    ("tls_verification_enabled", Bool(false)),
    ("last_software_update", Time),
    ("https_only", Bool(false)),
    ("latest_synced_updates_applied", Text("unknown")),
    ("numa_affinity_policy", Text("default_policy")),
    ("pending_guidances_recommended", Set),
    ("pending_guidances_full", Set),
    ("last_update_hash", Text("")),
];

/// `VM`: 89 fields.
pub(crate) const VM: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("power_state", Text("Halted")),
    ("user_version", Int(0)),
    ("is_a_template", Bool(false)),
    ("is_default_template", Bool(false)),
    ("suspend_VDI", Null),
    ("resident_on", Null),
    ("scheduled_to_be_resident_on", Null),
    ("affinity", Null),
    ("memory_overhead", Int(0)),
    ("memory_target", Int(0)),
    ("memory_static_max", Int(0)),
    ("memory_dynamic_max", Int(0)),
    ("memory_dynamic_min", Int(0)),
    ("memory_static_min", Int(0)),
    ("VCPUs_params", Map),
    ("VCPUs_max", Int(0)),
    ("VCPUs_at_startup", Int(0)),
    ("actions_after_softreboot", Text("soft_reboot")),
    ("actions_after_shutdown", Text("destroy")),
    ("actions_after_reboot", Text("destroy")),
    ("actions_after_crash", Text("destroy")),
    ("consoles", Set),
    ("VIFs", Set),
    ("VBDs", Set),
    ("VUSBs", Set),
    ("crash_dumps", Set),
    ("VTPMs", Set),
    ("PV_bootloader", Text("")),
    ("PV_kernel", Text("")),
    ("PV_ramdisk", Text("")),
    ("PV_args", Text("")),
    ("PV_bootloader_args", Text("")),
    ("PV_legacy_args", Text("")),
    ("HVM_boot_policy", Text("")),
    ("HVM_boot_params", Map),
    ("HVM_shadow_multiplier", Float(1.0)),
    ("platform", Map),
    ("PCI_bus", Text("")),
    ("other_config", Map),
    ("domid", Int(0)),
    ("domarch", Text("")),
    ("last_boot_CPU_flags", Map),
    ("is_control_domain", Bool(false)),
    ("metrics", Null),
    ("guest_metrics", Null),
    ("last_booted_record", Text("")),
    ("recommendations", Text("")),
    ("xenstore_data", Map),
    ("ha_always_run", Bool(false)),
    ("ha_restart_priority", Text("")),
    ("is_a_snapshot", Bool(false)),
    ("snapshot_of", Null),
    ("snapshots", Set),
    ("snapshot_time", Time),
    ("transportable_snapshot_id", Text("")),
    ("blobs", Map),
    ("tags", Set),
    ("blocked_operations", Map),
    ("snapshot_info", Map),
    ("snapshot_metadata", Text("")),
    ("parent", Null),
    ("children", Set),
    ("bios_strings", Map),
    ("protection_policy", Null),
    ("snapshot_schedule", Null),
    ("is_vmss_snapshot", Bool(false)),
    ("appliance", Null),
    ("start_delay", Int(0)),
    ("shutdown_delay", Int(0)),
    ("order", Int(0)),
    ("VGPUs", Set),
    ("attached_PCIs", Set),
    ("suspend_SR", Null),
    ("version", Int(0)),
    ("generation_id", Text("0:0")),
    ("hardware_platform_version", Int(0)),
    ("has_vendor_device", Bool(false)),
    ("requires_reboot", Bool(false)),
    ("reference_label", Text("")),
    ("domain_type", Text("unspecified")),
    ("NVRAM", Map),
    ("pending_guidances", Set),
    ("pending_guidances_recommended", Set),
    ("pending_guidances_full", Set),
];

/// `VBD`: 21 fields.
pub(crate) const VBD: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("VM", Null),
    ("VDI", Null),
    ("device", Text("")),
    ("userdevice", Text("")),
    ("bootable", Bool(false)),
    ("mode", Text("RO")),
    ("type", Text("CD")),
    ("unpluggable", Bool(true)),
    ("storage_lock", Bool(false)),
    ("empty", Bool(false)),
    ("other_config", Map),
    ("currently_attached", Bool(false)),
    ("status_code", Int(0)),
    ("status_detail", Text("")),
    ("runtime_properties", Map),
    ("qos_algorithm_type", Text("")),
    ("qos_algorithm_params", Map),
    ("qos_supported_algorithms", Set),
];

/// `VDI`: 32 fields.
pub(crate) const VDI: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("SR", Null),
    ("VBDs", Set),
    ("crash_dumps", Set),
    ("virtual_size", Int(0)),
    ("physical_utilisation", Int(0)),
    ("type", Text("system")),
    ("sharable", Bool(false)),
    ("read_only", Bool(false)),
    ("other_config", Map),
    ("storage_lock", Bool(false)),
    ("location", Text("")),
    ("managed", Bool(false)),
    ("missing", Bool(false)),
    ("parent", Null),
    ("xenstore_data", Map),
    ("sm_config", Map),
    ("is_a_snapshot", Bool(false)),
    ("snapshot_of", Null),
    ("snapshots", Set),
    ("snapshot_time", Time),
    ("tags", Set),
    ("allow_caching", Bool(false)),
    ("on_boot", Text("persist")),
    ("metadata_of_pool", Null),
    ("metadata_latest", Bool(false)),
    ("is_tools_iso", Bool(false)),
    ("cbt_enabled", Bool(false)),
];

/// `SR`: 21 fields.
pub(crate) const SR: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("VDIs", Set),
    ("PBDs", Set),
    ("virtual_allocation", Int(0)),
    ("physical_utilisation", Int(0)),
    ("physical_size", Int(0)),
    ("type", Text("")),
    ("content_type", Text("")),
    ("shared", Bool(false)),
    ("other_config", Map),
    ("tags", Set),
    ("sm_config", Map),
    ("blobs", Map),
    ("local_cache_enabled", Bool(false)),
    ("introduced_by", Null),
    ("clustered", Bool(false)),
    ("is_tools_sr", Bool(false)),
];

/// `VIF`: 26 fields.
pub(crate) const VIF: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("device", Text("")),
    ("network", Null),
    ("VM", Null),
    ("MAC", Text("")),
    ("MTU", Int(0)),
    ("other_config", Map),
    ("currently_attached", Bool(false)),
    ("status_code", Int(0)),
    ("status_detail", Text("")),
    ("runtime_properties", Map),
    ("qos_algorithm_type", Text("")),
    ("qos_algorithm_params", Map),
    ("qos_supported_algorithms", Set),
    ("MAC_autogenerated", Bool(false)),
    ("locking_mode", Text("network_default")),
    ("ipv4_allowed", Set),
    ("ipv6_allowed", Set),
    ("ipv4_configuration_mode", Text("None")),
    ("ipv4_addresses", Set),
    ("ipv4_gateway", Text("")),
    ("ipv6_configuration_mode", Text("None")),
    ("ipv6_addresses", Set),
    ("ipv6_gateway", Text("")),
];

/// `network`: 16 fields.
pub(crate) const NETWORK: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("VIFs", Set),
    ("PIFs", Set),
    ("MTU", Int(1500)),
    ("other_config", Map),
    ("bridge", Text("")),
    ("managed", Bool(true)),
    ("blobs", Map),
    ("tags", Set),
    ("default_locking_mode", Text("unlocked")),
    ("assigned_ips", Map),
    ("purpose", Set),
];

/// `task`: 17 fields.
pub(crate) const TASK: &[(&str, Initial)] = &[
    ("uuid", Text("")),
    ("name_label", Text("")),
    ("name_description", Text("")),
    ("allowed_operations", Set),
    ("current_operations", Map),
    ("created", Time),
    ("finished", Time),
    ("status", Text("pending")),
    ("resident_on", Null),
    ("progress", Float(0.0)),
    ("type", Text("")),
    ("result", Text("")),
    ("error_info", Set),
    ("other_config", Map),
    ("subtask_of", Null),
    ("subtasks", Set),
    ("backtrace", Text("()")),
];
