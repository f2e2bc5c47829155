//! `--shutdown`: the only change xen2ovirt ever makes to the source. A clean shutdown with a
//! deadline, a hard one only when asked (`--force-shutdown`), and a guard that starts the VM
//! again unless the migration completed.

use std::time::Duration;

use anyhow::{Context, Result};
use xenapi::records::PowerState;
use xenapi::{Ref, Session, XenApiError};

/// A source VM this run shut down: started again when dropped, unless
/// [`ShutDown::migrated`] was called.
pub struct ShutDown<'s> {
    session: &'s Session,
    vm: Ref,
    name: String,
    restart: bool,
}

impl ShutDown<'_> {
    /// The migration completed: the source stays off (its copy now carries its MACs).
    pub fn migrated(mut self) {
        self.restart = false;
    }
}

impl Drop for ShutDown<'_> {
    fn drop(&mut self) {
        if self.restart {
            start_again(self.session, &self.vm, &self.name);
        }
    }
}

fn start_again(session: &Session, vm: &Ref, name: &str) {
    tracing::warn!(vm = %name, "starting the source VM again");
    if let Err(error) = session.vm().start(vm, false, false) {
        tracing::error!(vm = %name, %error, "could not start the source VM again: start it by hand");
    }
}

/// Shuts the running VM `vm` down: cleanly within `timeout`; then, if `force`, hard.
pub fn shut_down<'s>(
    session: &'s Session,
    vm: &Ref,
    name: &str,
    timeout: Duration,
    force: bool,
) -> Result<ShutDown<'s>> {
    tracing::info!(vm = %name, ?timeout, "shutting the source VM down");
    let clean = session.async_call_and_wait("VM.clean_shutdown", &[vm.into()], timeout);
    match clean {
        Ok(_) => {}
        Err(XenApiError::Timeout { .. }) if force => {
            if session.vm().get_power_state(vm)? != PowerState::Halted {
                tracing::warn!(vm = %name, "no clean shutdown in time: a hard shutdown, as asked");
                session
                    .vm()
                    .hard_shutdown(vm)
                    .with_context(|| format!("the hard shutdown of VM `{name}`"))?;
            }
        }
        Err(error) => {
            // Whatever state the failed shutdown left, a VM that ended up halted was running
            // before: it is started again.
            if matches!(session.vm().get_power_state(vm), Ok(PowerState::Halted)) {
                start_again(session, vm, name);
            }
            let hint = if matches!(error, XenApiError::Timeout { .. }) {
                " (give --force-shutdown for a hard shutdown after the deadline)"
            } else {
                ""
            };
            return Err(anyhow::Error::new(error).context(format!(
                "VM `{name}` did not shut down cleanly within {} s{hint}",
                timeout.as_secs()
            )));
        }
    }
    Ok(ShutDown {
        session,
        vm: vm.clone(),
        name: name.to_owned(),
        restart: true,
    })
}
