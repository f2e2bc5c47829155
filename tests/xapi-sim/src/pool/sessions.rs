//! Sessions (login, expiry, logout) and tasks (asynchronous calls and HTTP transfers).

use std::time::Instant;

use xenapi::Ref;
use xenapi::records::{TaskRecord, TaskStatus};

use super::{Pool, new_ref, new_uuid, now};
use crate::error::{XapiError, XapiResult};

/// An open session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub uuid: String,
    pub user: String,
    pub originator: String,
    /// The host the session was opened on (`session.get_this_host`).
    pub host: Ref,
    pub last_active: Instant,
    /// Opened by the simulator itself (HTTP Basic authentication), not by a client.
    pub internal: bool,
}

/// A task and whether the simulator made it for itself (an HTTP transfer without
/// `task_id`), in which case it is destroyed when the transfer ends.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub record: TaskRecord,
    pub internal: bool,
}

impl Pool {
    /// `session.login_with_password` on `host`: `HOST_IS_SLAVE` unless `host` is the master.
    pub(crate) fn login(
        &mut self,
        host: &Ref,
        user: &str,
        password: &str,
        originator: &str,
        internal: bool,
    ) -> XapiResult<Ref> {
        if host != self.master() {
            let address = self.address_for(self.master(), host)?;
            return Err(XapiError::new("HOST_IS_SLAVE", [address]));
        }
        if self
            .users
            .get(user)
            .is_none_or(|expected| expected != password)
        {
            return Err(XapiError::new(
                "SESSION_AUTHENTICATION_FAILED",
                [user, "Authentication failure"],
            ));
        }
        let session = new_ref();
        self.sessions.insert(
            session.clone(),
            Session {
                uuid: new_uuid(),
                user: user.to_owned(),
                originator: originator.to_owned(),
                host: host.clone(),
                last_active: Instant::now(),
                internal,
            },
        );
        Ok(session)
    }

    /// Checks a session reference, expiring it when idle for too long.
    pub(crate) fn check_session(&mut self, session: &str) -> XapiResult<Ref> {
        let reference = Ref::new(session);
        let invalid = || XapiError::new("SESSION_INVALID", [session]);
        let timeout = self.session_timeout;
        let entry = self.sessions.get_mut(&reference).ok_or_else(invalid)?;
        if entry.last_active.elapsed() > timeout {
            self.sessions.remove(&reference);
            return Err(invalid());
        }
        entry.last_active = Instant::now();
        Ok(reference)
    }

    /// `session.logout`.
    pub(crate) fn logout(&mut self, session: &Ref) {
        self.sessions.remove(session);
    }

    /// Creates a pending task.
    pub(crate) fn task_create(&mut self, label: &str, description: &str, internal: bool) -> Ref {
        let task = new_ref();
        let record = TaskRecord {
            uuid: new_uuid(),
            name_label: label.to_owned(),
            name_description: description.to_owned(),
            created: now(),
            status: TaskStatus::Pending,
            resident_on: self.master().clone(),
            progress: 0.0,
            ..TaskRecord::default()
        };
        self.tasks.insert(task.clone(), Task { record, internal });
        task
    }

    fn task_record(&mut self, task: &Ref) -> XapiResult<&mut TaskRecord> {
        self.tasks
            .get_mut(task)
            .map(|t| &mut t.record)
            .ok_or_else(|| XapiError::handle_invalid("task", task.as_str()))
    }

    /// Sets a pending task's progress (0.0 to 1.0).
    pub(crate) fn task_progress(&mut self, task: &Ref, progress: f64) {
        if let Ok(record) = self.task_record(task)
            && record.status == TaskStatus::Pending
        {
            record.progress = progress;
        }
    }

    /// Completes a task with `result` (an XML-RPC `<value>` document, or empty).
    pub(crate) fn task_succeed(&mut self, task: &Ref, result: String) {
        if let Ok(record) = self.task_record(task) {
            record.status = TaskStatus::Success;
            record.progress = 1.0;
            record.result = result;
            record.finished = now();
        }
    }

    /// Fails a task with `error`.
    pub(crate) fn task_fail(&mut self, task: &Ref, error: &XapiError) {
        if let Ok(record) = self.task_record(task) {
            record.status = TaskStatus::Failure;
            record.progress = 1.0;
            record.error_info = error.description();
            record.finished = now();
        }
    }

    /// `task.destroy`.
    pub(crate) fn task_destroy(&mut self, task: &Ref) -> XapiResult<()> {
        self.tasks
            .remove(task)
            .map(|_| ())
            .ok_or_else(|| XapiError::handle_invalid("task", task.as_str()))
    }
}
