//! A clean shutdown with a deadline, a hard one only when asked, and a guard that starts
//! the VM again unless the work that needed it off completed.

use std::time::Duration;

use crate::records::PowerState;
use crate::{Ref, Result, Session, XenApiError};

/// A VM shut down by [`shut_down`]: started again when dropped, unless
/// [`ShutDown::completed`] was called.
#[derive(Debug)]
pub struct ShutDown<'s> {
    session: &'s Session,
    vm: Ref,
    name: String,
    restart: bool,
}

impl ShutDown<'_> {
    /// The work completed: the VM stays off.
    pub fn completed(mut self) {
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
    tracing::warn!(vm = %name, "starting the VM again");
    if let Err(error) = session.vm().start(vm, false, false) {
        tracing::error!(vm = %name, %error, "could not start the VM again: start it by hand");
    }
}

/// Shuts the running VM `vm` (called `name` in logs) down: cleanly within `timeout`; after
/// that, if `force`, hard. On failure (a [`XenApiError::Timeout`] without `force`, or any
/// other error) a VM that ended up halted is started again before the error is returned.
pub fn shut_down<'s>(
    session: &'s Session,
    vm: &Ref,
    name: &str,
    timeout: Duration,
    force: bool,
) -> Result<ShutDown<'s>> {
    tracing::info!(vm = %name, ?timeout, "shutting the VM down");
    match session.async_call_and_wait("VM.clean_shutdown", &[vm.into()], timeout) {
        Ok(_) => {}
        Err(XenApiError::Timeout { .. }) if force => {
            if session.vm().get_power_state(vm)? != PowerState::Halted {
                tracing::warn!(vm = %name, "no clean shutdown in time: a hard shutdown, as asked");
                session.vm().hard_shutdown(vm)?;
            }
        }
        Err(error) => {
            // Whatever state the failed shutdown left, a VM that ended up halted was
            // running before: it is started again.
            if matches!(session.vm().get_power_state(vm), Ok(PowerState::Halted)) {
                start_again(session, vm, name);
            }
            return Err(error);
        }
    }
    Ok(ShutDown {
        session,
        vm: vm.clone(),
        name: name.to_owned(),
        restart: true,
    })
}
