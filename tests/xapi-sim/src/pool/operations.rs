//! `allowed_operations`, as XAPI fills it: the operations a client may start on an object in
//! its present state. XAPI derives them from the power state and the object's kind
//! (`xapi_vm_lifecycle.ml` `allowed_power_states`, and the VBD, VDI, VIF and SR helpers);
//! these tables follow that for the states the simulator has (no operation is ever in
//! progress in `current_operations`, so none is held back for a running one).

use xenapi::records::{PowerState, TaskStatus, VbdRecord, VbdType, VdiRecord, VmRecord};

/// A VM's (or a template's, or a snapshot's) allowed operations.
pub(crate) fn vm(vm: &VmRecord) -> &'static [&'static str] {
    if vm.is_control_domain {
        return &[
            "changing_dynamic_range",
            "changing_memory_limits",
            "changing_static_range",
            "changing_VCPUs",
            "metadata_export",
        ];
    }
    if vm.is_a_snapshot {
        return &[
            "clone",
            "copy",
            "create_template",
            "destroy",
            "export",
            "metadata_export",
            "revert",
        ];
    }
    if vm.is_a_template {
        return &[
            "changing_dynamic_range",
            "changing_memory_limits",
            "changing_static_range",
            "changing_VCPUs",
            "clone",
            "copy",
            "destroy",
            "export",
            "metadata_export",
            "provision",
        ];
    }
    match vm.power_state {
        PowerState::Halted => &[
            "changing_dynamic_range",
            "changing_memory_limits",
            "changing_NVRAM",
            "changing_shadow_memory",
            "changing_static_range",
            "changing_VCPUs",
            "clone",
            "copy",
            "create_template",
            "create_vtpm",
            "destroy",
            "export",
            "make_into_template",
            "metadata_export",
            "migrate_send",
            "provision",
            "snapshot",
            "start",
            "start_on",
        ],
        PowerState::Running => &[
            "call_plugin",
            "changing_dynamic_range",
            "changing_memory_live",
            "changing_VCPUs_live",
            "checkpoint",
            "clean_reboot",
            "clean_shutdown",
            "hard_reboot",
            "hard_shutdown",
            "metadata_export",
            "migrate_send",
            "pause",
            "pool_migrate",
            "send_sysrq",
            "send_trigger",
            "shutdown",
            "snapshot",
            "snapshot_with_quiesce",
            "suspend",
        ],
        PowerState::Suspended => &[
            "checkpoint",
            "destroy",
            "export",
            "hard_shutdown",
            "metadata_export",
            "migrate_send",
            "resume",
            "resume_on",
            "shutdown",
            "snapshot",
        ],
        PowerState::Paused => &[
            "checkpoint",
            "hard_reboot",
            "hard_shutdown",
            "metadata_export",
            "shutdown",
            "snapshot",
            "unpause",
        ],
    }
}

/// A VBD's: plugged ones can be unplugged (and a CD's medium changed), others attached.
pub(crate) fn vbd(vbd: &VbdRecord, vm_power: PowerState) -> &'static [&'static str] {
    let cd = vbd.kind == VbdType::CD;
    match (
        vbd.currently_attached || vm_power == PowerState::Running,
        cd,
        vbd.empty,
    ) {
        (true, false, _) => &["unplug", "unplug_force", "pause"],
        (true, true, true) => &["insert", "unplug", "unplug_force", "pause"],
        (true, true, false) => &["eject", "unplug", "unplug_force", "pause"],
        (false, false, _) => &["attach"],
        (false, true, true) => &["attach", "insert"],
        (false, true, false) => &["attach", "eject"],
    }
}

/// A VIF's.
pub(crate) fn vif(attached: bool) -> &'static [&'static str] {
    if attached { &["unplug"] } else { &["attach"] }
}

/// A VDI's; `in_use` when a running VM has it plugged (no resize offline, no destroy).
pub(crate) fn vdi(vdi: &VdiRecord, in_use: bool) -> Vec<&'static str> {
    let mut ops = vec![
        "clone",
        "copy",
        "generate_config",
        "update",
        "snapshot",
        "mirror",
    ];
    if !vdi.is_a_snapshot {
        ops.push("set_on_boot");
    }
    if in_use {
        ops.push("resize_online");
    } else {
        ops.extend(["destroy", "forget"]);
        if !vdi.is_a_snapshot {
            ops.push("resize");
        }
    }
    if vdi.cbt_enabled {
        ops.extend(["disable_cbt", "list_changed_blocks"]);
        if vdi.is_a_snapshot {
            ops.push("data_destroy");
        }
    } else if !vdi.is_a_snapshot {
        ops.push("enable_cbt");
    }
    ops
}

/// An SR's (a plugged, shared-nothing local SR).
pub(crate) const SR: &[&str] = &[
    "forget",
    "pbd_create",
    "pbd_destroy",
    "plug",
    "scan",
    "unplug",
    "update",
    "vdi_clone",
    "vdi_create",
    "vdi_data_destroy",
    "vdi_destroy",
    "vdi_disable_cbt",
    "vdi_enable_cbt",
    "vdi_introduce",
    "vdi_list_changed_blocks",
    "vdi_mirror",
    "vdi_resize",
    "vdi_set_on_boot",
    "vdi_snapshot",
];

/// A host's (enabled, so not `enable`).
pub(crate) const HOST: &[&str] = &[
    "apply_updates",
    "evacuate",
    "provision",
    "reboot",
    "shutdown",
    "vm_migrate",
    "vm_resume",
    "vm_start",
];

/// The pool's (no HA, no cluster, TLS verification off).
pub(crate) const POOL: &[&str] = &[
    "apply_updates",
    "cert_refresh",
    "cluster_create",
    "configure_repositories",
    "copy_primary_host_certs",
    "designate_new_master",
    "exchange_ca_certificates_on_join",
    "exchange_certificates_on_join",
    "get_updates",
    "ha_enable",
    "sync_updates",
    "tls_verification_enable",
];

/// A network's: XAPI lists none outside an attach in progress.
pub(crate) const NETWORK: &[&str] = &[];

/// A task's: a pending one can be cancelled.
pub(crate) fn task(status: TaskStatus) -> &'static [&'static str] {
    if status == TaskStatus::Pending {
        &["cancel"]
    } else {
        &[]
    }
}
