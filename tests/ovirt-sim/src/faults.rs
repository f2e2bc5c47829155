//! Fault knobs: a test sets them through [`Faults`] (from [`Simulator::faults`]), the
//! engine consults them on every request.
//!
//! [`Simulator::faults`]: crate::Simulator::faults

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A request class a knob applies to: the method and the last collection in the path
/// (`POST /vms/X/snapshots` is `("POST", "snapshots")`; `GET /disks/D` is `("GET", "disks")`;
/// an action such as `POST /imagetransfers/T/finalize` is `("POST", "finalize")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The collection (or action) name.
    pub collection: String,
}

impl Call {
    /// The call class `method` on `collection`.
    pub fn new(method: &str, collection: &str) -> Call {
        Call {
            method: method.to_owned(),
            collection: collection.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    call: Call,
    /// Calls of the class still to pass before the one that fails.
    skip: u32,
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    Fail { status: u16, detail: String },
    Drop,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    disk_lock: Option<Duration>,
    snapshot_lock: Option<Duration>,
    hide_devices: bool,
    fail_finalize: bool,
    unauthorized: bool,
}

/// What the engine does to one request because of a knob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail { status: u16, detail: String },
    Drop,
    Unauthorized,
}

/// The fault knobs (shared with the running engine; clones act on the same knobs).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `nth` call (1 = the next one) of `call` answers an engine fault with `status`
    /// and `detail` (409 with "Disk is locked" is a busy engine, 400 a refused argument).
    pub fn fail_call(&self, call: Call, nth: u32, status: u16, detail: &str) {
        self.state().rules.push(Rule {
            call,
            skip: nth.saturating_sub(1),
            action: Action::Fail {
                status,
                detail: detail.to_owned(),
            },
        });
    }

    /// The `nth` call of `call` gets no answer: the connection is closed after its head
    /// (and before any body is read).
    pub fn drop_connection(&self, call: Call, nth: u32) {
        self.state().rules.push(Rule {
            call,
            skip: nth.saturating_sub(1),
            action: Action::Drop,
        });
    }

    /// Every disk locked from now on (created, snapshotted, merged) stays `locked` at least
    /// `duration`; `None` ends the knob.
    pub fn keep_disks_locked(&self, duration: Option<Duration>) {
        self.state().disk_lock = duration;
    }

    /// Every snapshot taken from now on stays `locked` at least `duration` (a snapshot
    /// stuck in `locked`); `None` ends the knob.
    pub fn keep_snapshots_locked(&self, duration: Option<Duration>) {
        self.state().snapshot_lock = duration;
    }

    /// While on, disks attached to the backup appliance never show up under its by-id
    /// directory (the attachment itself succeeds).
    pub fn hide_appliance_devices(&self, on: bool) {
        self.state().hide_devices = on;
    }

    pub(crate) fn snapshot_lock(&self) -> Option<Duration> {
        self.state().snapshot_lock
    }

    pub(crate) fn devices_hidden(&self) -> bool {
        self.state().hide_devices
    }

    /// The next finalize of a transfer ends in `finalizing_failure` then `finished_failure`
    /// (an upload's disk is then removed, as the engine does).
    pub fn fail_next_finalize(&self) {
        self.state().fail_finalize = true;
    }

    /// The next API request answers 401 and its token is revoked (an expired session).
    pub fn unauthorized_once(&self) {
        self.state().unauthorized = true;
    }

    pub(crate) fn disk_lock(&self) -> Option<Duration> {
        self.state().disk_lock
    }

    pub(crate) fn take_fail_finalize(&self) -> bool {
        std::mem::take(&mut self.state().fail_finalize)
    }

    /// The verdict for an API request of class `call`.
    pub(crate) fn judge(&self, call: &Call) -> Verdict {
        let mut state = self.state();
        if std::mem::take(&mut state.unauthorized) {
            return Verdict::Unauthorized;
        }
        let mut verdict = Verdict::Pass;
        let mut fired = None;
        for (index, rule) in state.rules.iter_mut().enumerate() {
            if rule.call != *call {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            verdict = match &rule.action {
                Action::Fail { status, detail } => Verdict::Fail {
                    status: *status,
                    detail: detail.clone(),
                },
                Action::Drop => Verdict::Drop,
            };
            fired = Some(index);
            break;
        }
        if let Some(index) = fired {
            state.rules.remove(index);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_call_fails_once() {
        let faults = Faults::default();
        let call = Call::new("POST", "snapshots");
        faults.fail_call(call.clone(), 2, 409, "busy");
        assert_eq!(faults.judge(&Call::new("GET", "snapshots")), Verdict::Pass);
        assert_eq!(faults.judge(&call), Verdict::Pass);
        assert!(matches!(
            faults.judge(&call),
            Verdict::Fail { status: 409, .. }
        ));
        assert_eq!(faults.judge(&call), Verdict::Pass);
        faults.unauthorized_once();
        assert_eq!(faults.judge(&call), Verdict::Unauthorized);
        assert_eq!(faults.judge(&call), Verdict::Pass);
    }
}
