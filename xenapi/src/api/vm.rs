//! `VM.*` calls.

use std::collections::HashMap;

use super::VmApi;
use super::storage::param_value;
use crate::Ref;
use crate::error::Result;
use crate::records::{PowerState, StringMap, VmRecord};
use crate::rpc::Value;

impl VmApi<'_> {
    /// `VM.get_all`: every VM, template and snapshot.
    pub fn get_all(&self) -> Result<Vec<Ref>> {
        self.session.invoke("VM.get_all", &[])
    }

    /// `VM.get_all_records`: every VM, template and snapshot with its record.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, VmRecord>> {
        self.session.invoke("VM.get_all_records", &[])
    }

    /// `VM.get_record`.
    pub fn get_record(&self, vm: &Ref) -> Result<VmRecord> {
        self.session.invoke("VM.get_record", &[vm.into()])
    }

    /// `VM.get_by_uuid` (`UUID_INVALID` when there is none).
    pub fn get_by_uuid(&self, uuid: &str) -> Result<Ref> {
        self.session.invoke("VM.get_by_uuid", &[uuid.into()])
    }

    /// `VM.get_by_name_label`: templates and snapshots included, as XAPI does.
    pub fn get_by_name_label(&self, label: &str) -> Result<Vec<Ref>> {
        self.session.invoke("VM.get_by_name_label", &[label.into()])
    }

    /// `VM.get_uuid`.
    pub fn get_uuid(&self, vm: &Ref) -> Result<String> {
        self.session.invoke("VM.get_uuid", &[vm.into()])
    }

    /// `VM.get_name_label`.
    pub fn get_name_label(&self, vm: &Ref) -> Result<String> {
        self.session.invoke("VM.get_name_label", &[vm.into()])
    }

    /// `VM.get_power_state`.
    pub fn get_power_state(&self, vm: &Ref) -> Result<PowerState> {
        self.session.invoke("VM.get_power_state", &[vm.into()])
    }

    /// `VM.get_is_a_snapshot`.
    pub fn get_is_a_snapshot(&self, vm: &Ref) -> Result<bool> {
        self.session.invoke("VM.get_is_a_snapshot", &[vm.into()])
    }

    /// `VM.get_is_a_template`.
    pub fn get_is_a_template(&self, vm: &Ref) -> Result<bool> {
        self.session.invoke("VM.get_is_a_template", &[vm.into()])
    }

    /// `VM.get_VBDs`.
    pub fn get_vbds(&self, vm: &Ref) -> Result<Vec<Ref>> {
        self.session.invoke("VM.get_VBDs", &[vm.into()])
    }

    /// `VM.get_VIFs`.
    pub fn get_vifs(&self, vm: &Ref) -> Result<Vec<Ref>> {
        self.session.invoke("VM.get_VIFs", &[vm.into()])
    }

    /// `VM.snapshot`: a new VM with `is_a_snapshot` and `is_a_template` set.
    pub fn snapshot(&self, vm: &Ref, new_name: &str) -> Result<Ref> {
        self.session
            .invoke("VM.snapshot", &[vm.into(), new_name.into()])
    }

    /// `Async.VM.snapshot`: returns the task; its result is the snapshot's ref.
    pub fn snapshot_async(&self, vm: &Ref, new_name: &str) -> Result<Ref> {
        self.session
            .call_async("VM.snapshot", &[vm.into(), new_name.into()])
    }

    /// `VM.destroy`.
    pub fn destroy(&self, vm: &Ref) -> Result<()> {
        self.session.invoke("VM.destroy", &[vm.into()])
    }

    /// `Async.VM.destroy`: returns the task.
    pub fn destroy_async(&self, vm: &Ref) -> Result<Ref> {
        self.session.call_async("VM.destroy", &[vm.into()])
    }

    /// `VM.set_is_a_template`.
    pub fn set_is_a_template(&self, vm: &Ref, value: bool) -> Result<()> {
        self.session
            .invoke("VM.set_is_a_template", &[vm.into(), value.into()])
    }

    /// `VM.set_ha_always_run`.
    pub fn set_ha_always_run(&self, vm: &Ref, value: bool) -> Result<()> {
        self.session
            .invoke("VM.set_ha_always_run", &[vm.into(), value.into()])
    }

    /// `VM.set_name_label`.
    pub fn set_name_label(&self, vm: &Ref, label: &str) -> Result<()> {
        self.session
            .invoke("VM.set_name_label", &[vm.into(), label.into()])
    }

    /// `VM.get_other_config`.
    pub fn get_other_config(&self, vm: &Ref) -> Result<StringMap> {
        self.session.invoke("VM.get_other_config", &[vm.into()])
    }

    /// `VM.set_other_config`: replaces the whole map.
    pub fn set_other_config(&self, vm: &Ref, map: &StringMap) -> Result<()> {
        self.session.invoke(
            "VM.set_other_config",
            &[vm.into(), param_value("other_config", map)?],
        )
    }

    /// `VM.start`.
    pub fn start(&self, vm: &Ref, start_paused: bool, force: bool) -> Result<()> {
        self.session
            .invoke("VM.start", &start_params(vm, start_paused, force))
    }

    /// `Async.VM.start`: returns the task.
    pub fn start_async(&self, vm: &Ref, start_paused: bool, force: bool) -> Result<Ref> {
        self.session
            .call_async("VM.start", &start_params(vm, start_paused, force))
    }

    /// `VM.clean_shutdown`: asks the guest to shut down.
    pub fn clean_shutdown(&self, vm: &Ref) -> Result<()> {
        self.session.invoke("VM.clean_shutdown", &[vm.into()])
    }

    /// `Async.VM.clean_shutdown`: returns the task.
    pub fn clean_shutdown_async(&self, vm: &Ref) -> Result<Ref> {
        self.session.call_async("VM.clean_shutdown", &[vm.into()])
    }

    /// `VM.hard_shutdown`: pulls the plug.
    pub fn hard_shutdown(&self, vm: &Ref) -> Result<()> {
        self.session.invoke("VM.hard_shutdown", &[vm.into()])
    }

    /// `Async.VM.hard_shutdown`: returns the task.
    pub fn hard_shutdown_async(&self, vm: &Ref) -> Result<Ref> {
        self.session.call_async("VM.hard_shutdown", &[vm.into()])
    }
}

fn start_params(vm: &Ref, start_paused: bool, force: bool) -> [Value; 3] {
    [vm.into(), start_paused.into(), force.into()]
}
