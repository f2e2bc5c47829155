//! The methods the simulator implements: their parameter counts and what they do.

use std::ops::RangeInclusive;

use xenapi::Ref;
use xenapi::records::{VbdRecord, VdiRecord, VifRecord};
use xenapi::rpc::Value;

use super::getters;
use super::params::{boolean, record, reference, references, text};
use crate::error::{XapiError, XapiResult};
use crate::pool::Class;
use crate::shared::HostCtx;

/// How a method is called.
pub(crate) struct Spec {
    /// Accepted parameter counts, the session included.
    pub arity: RangeInclusive<usize>,
    /// Whether `Async.<method>` exists.
    pub asynchronous: bool,
}

const fn shape(min: usize, max: usize, asynchronous: bool) -> Spec {
    Spec {
        arity: min..=max,
        asynchronous,
    }
}

/// The spec of `method`, if the simulator implements it.
pub(crate) fn spec(method: &str) -> Option<Spec> {
    Some(match method {
        "session.login_with_password" => shape(2, 4, false),
        "session.logout" => shape(1, 1, false),
        "session.get_this_host" | "task.destroy" => shape(2, 2, false),
        "task.create" => shape(3, 3, false),
        // `ignore_vdis`, the fourth, came with XAPI 21.4.
        "VM.snapshot" => shape(3, 4, true),
        "VM.set_is_a_template"
        | "VM.set_ha_always_run"
        | "VM.set_name_label"
        | "VDI.snapshot"
        | "VDI.set_name_label"
        | "VDI.list_changed_blocks" => shape(3, 3, true),
        "VM.start" => shape(4, 4, true),
        "VM.destroy" | "VM.clean_shutdown" | "VM.hard_shutdown" | "VBD.create" | "VBD.destroy"
        | "VDI.create" | "VDI.destroy" | "VDI.enable_cbt" | "VDI.disable_cbt" | "VIF.create"
        | "VIF.destroy" => shape(2, 2, true),
        _ => {
            let (class, operation) = method.split_once('.')?;
            Class::parse(class)?;
            match operation {
                "get_all" | "get_all_records" => shape(1, 1, false),
                "get_all_records_where" => shape(2, 2, false),
                op if op.starts_with("get_") => shape(2, 2, false),
                _ => return None,
            }
        }
    })
}

/// Runs `method` (without `Async.`), whose parameter count and session were checked.
pub(crate) fn execute(
    ctx: &HostCtx,
    method: &str,
    params: &[Value],
    session: Option<&Ref>,
) -> XapiResult<Value> {
    let shared = &ctx.shared;
    let void = |r: XapiResult<()>| r.map(|()| Value::String(String::new()));
    let created = |r: XapiResult<Ref>| r.map(Value::from);
    let p = |n: usize, name: &str| reference(&params[n], name);
    match method {
        "session.login_with_password" => {
            let user = text(&params[0], "uname")?;
            let password = text(&params[1], "pwd")?;
            let originator = params.get(3).map(|v| text(v, "originator")).transpose()?;
            created(shared.lock().login(
                &ctx.host,
                &user,
                &password,
                originator.as_deref().unwrap_or_default(),
                false,
            ))
        }
        "session.logout" => {
            if let Some(session) = session {
                shared.lock().logout(session);
            }
            Ok(Value::String(String::new()))
        }
        "session.get_this_host" => {
            let asked = text(&params[1], "self")?;
            let pool = shared.lock();
            pool.sessions
                .get(&Ref::new(asked.as_str()))
                .map(|s| Value::from(&s.host))
                .ok_or_else(|| XapiError::new("SESSION_INVALID", [asked]))
        }
        "task.create" => {
            let label = text(&params[1], "label")?;
            let description = text(&params[2], "description")?;
            Ok(Value::from(shared.lock().task_create(
                &label,
                &description,
                false,
            )))
        }
        "task.destroy" => void(shared.lock().task_destroy(&p(1, "self")?)),
        "VM.snapshot" => {
            let (vm, name) = (p(1, "vm")?, text(&params[2], "new_name")?);
            let ignore = params
                .get(3)
                .map(|v| references(v, "ignore_vdis"))
                .transpose()?
                .unwrap_or_default();
            created(shared.mutate(|pool| pool.snapshot_vm(&vm, &name, &ignore)))
        }
        "VM.destroy" => void(shared.mutate(|pool| pool.destroy_vm(&p(1, "self")?))),
        "VM.set_is_a_template" => {
            let (vm, value) = (p(1, "self")?, boolean(&params[2], "value")?);
            void(shared.mutate(|pool| pool.set_is_a_template(&vm, value)))
        }
        "VM.set_ha_always_run" => {
            let (vm, value) = (p(1, "self")?, boolean(&params[2], "value")?);
            void(shared.mutate(|pool| pool.vm_mut(&vm).map(|r| r.ha_always_run = value)))
        }
        "VM.set_name_label" => {
            let (vm, value) = (p(1, "self")?, text(&params[2], "value")?);
            void(shared.mutate(|pool| pool.vm_mut(&vm).map(|r| r.name_label = value)))
        }
        "VM.start" => {
            let (vm, paused) = (p(1, "vm")?, boolean(&params[2], "start_paused")?);
            boolean(&params[3], "force")?;
            void(shared.mutate(|pool| pool.start_vm(&vm, paused)))
        }
        "VM.clean_shutdown" | "VM.hard_shutdown" => {
            let hard = method == "VM.hard_shutdown";
            void(shared.mutate(|pool| pool.shutdown_vm(&p(1, "vm")?, hard)))
        }
        _ => execute_devices(ctx, method, params),
    }
}

/// The VBD, VDI and VIF calls, and the generic getters.
fn execute_devices(ctx: &HostCtx, method: &str, params: &[Value]) -> XapiResult<Value> {
    let shared = &ctx.shared;
    let void = |r: XapiResult<()>| r.map(|()| Value::String(String::new()));
    let created = |r: XapiResult<Ref>| r.map(Value::from);
    let p = |n: usize, name: &str| reference(&params[n], name);
    match method {
        "VBD.create" => {
            let vbd: VbdRecord = record(&params[1], "args")?;
            created(shared.mutate(|pool| pool.create_vbd(vbd)))
        }
        "VBD.destroy" => void(shared.mutate(|pool| pool.destroy_vbd(&p(1, "self")?))),
        "VDI.snapshot" => {
            let vdi = p(1, "vdi")?;
            created(shared.mutate(|pool| pool.snapshot_vdi(&vdi)))
        }
        "VDI.create" => {
            let vdi: VdiRecord = record(&params[1], "args")?;
            created(shared.mutate(|pool| pool.create_vdi(vdi)))
        }
        "VDI.destroy" => void(shared.mutate(|pool| pool.destroy_vdi(&p(1, "self")?))),
        "VDI.set_name_label" => {
            let (vdi, value) = (p(1, "self")?, text(&params[2], "value")?);
            void(shared.mutate(|pool| pool.vdi_mut(&vdi).map(|r| r.name_label = value)))
        }
        "VDI.enable_cbt" => void(shared.mutate(|pool| pool.enable_cbt(&p(1, "self")?))),
        "VDI.disable_cbt" => void(shared.mutate(|pool| pool.disable_cbt(&p(1, "self")?))),
        "VDI.list_changed_blocks" => {
            let (from, to) = (p(1, "vdi_from")?, p(2, "vdi_to")?);
            shared
                .lock()
                .list_changed_blocks(&from, &to)
                .map(Value::String)
        }
        "VIF.create" => {
            let vif: VifRecord = record(&params[1], "args")?;
            created(shared.mutate(|pool| pool.create_vif(vif)))
        }
        "VIF.destroy" => void(shared.mutate(|pool| pool.destroy_vif(&p(1, "self")?))),
        _ => {
            let (class, operation) = method
                .split_once('.')
                .and_then(|(c, op)| Class::parse(c).map(|c| (c, op)))
                .ok_or_else(|| XapiError::new("MESSAGE_METHOD_UNKNOWN", [method]))?;
            getters::get(&shared.lock(), class, operation, params, method)
        }
    }
}
