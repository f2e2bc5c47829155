//! `task.*` calls, `Async.*` calls, and waiting for a task with a deadline.

use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::TaskApi;
use crate::Ref;
use crate::error::{Result, XenApiError};
use crate::records::{TaskRecord, TaskStatus};
use crate::rpc::{CodecError, Value, decode_value, from_value};
use crate::session::Session;

impl TaskApi<'_> {
    /// `task.create`: a task for an HTTP transfer to run in.
    pub fn create(&self, label: &str, description: &str) -> Result<Ref> {
        self.session
            .invoke("task.create", &[label.into(), description.into()])
    }

    /// `task.get_record`.
    pub fn get_record(&self, task: &Ref) -> Result<TaskRecord> {
        self.session.invoke("task.get_record", &[task.into()])
    }

    /// `task.get_status`.
    pub fn get_status(&self, task: &Ref) -> Result<TaskStatus> {
        self.session.invoke("task.get_status", &[task.into()])
    }

    /// `task.get_result`: an XML-RPC `<value>` document (see [`TaskOutcome`] for it parsed).
    pub fn get_result(&self, task: &Ref) -> Result<String> {
        self.session.invoke("task.get_result", &[task.into()])
    }

    /// `task.get_error_info`: the error code, then its parameters.
    pub fn get_error_info(&self, task: &Ref) -> Result<Vec<String>> {
        self.session.invoke("task.get_error_info", &[task.into()])
    }

    /// `task.get_progress`: 0.0 to 1.0.
    pub fn get_progress(&self, task: &Ref) -> Result<f64> {
        self.session.invoke("task.get_progress", &[task.into()])
    }

    /// `task.destroy`.
    pub fn destroy(&self, task: &Ref) -> Result<()> {
        self.session.invoke("task.destroy", &[task.into()])
    }
}

/// A task that succeeded, with its result parsed (the task itself is destroyed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskOutcome {
    /// The task (already destroyed on the server).
    pub task: Ref,
    /// The task's name label.
    pub label: String,
    /// The task's result: the `<value>` document XAPI stored, parsed (the empty string for
    /// `void`).
    pub result: Value,
    /// How long the wait took.
    pub elapsed: Duration,
}

impl TaskOutcome {
    /// The result converted to `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        from_value(self.result.clone()).map_err(|source| XenApiError::Codec {
            context: format!("the result of task {} ({})", self.task, self.label),
            source,
        })
    }

    /// The result as one ref (an `Async.VM.snapshot`'s new VM).
    pub fn reference(&self) -> Result<Ref> {
        self.decode()
    }

    /// The result as a set of refs (the VMs an import created).
    pub fn references(&self) -> Result<Vec<Ref>> {
        self.decode()
    }
}

impl Session {
    /// Calls `Async.<method>` (for example `method = "VM.clean_shutdown"`) and returns the
    /// task ref.
    pub fn call_async(&self, method: &str, params: &[Value]) -> Result<Ref> {
        self.invoke(&format!("Async.{method}"), params)
    }

    /// Polls `task` until it ends or `timeout` passes, backing off from
    /// `task_poll_min` to `task_poll_max`. A finished task is destroyed; its result is
    /// parsed into the outcome, its failure becomes [`XenApiError::TaskFailed`]. At the
    /// deadline the task is left alone and [`XenApiError::Timeout`] names it.
    pub fn wait_task(&self, task: &Ref, timeout: Duration) -> Result<TaskOutcome> {
        let start = Instant::now();
        let mut pause = self.options().task_poll_min;
        loop {
            let record = self.task().get_record(task)?;
            match record.status {
                TaskStatus::Pending | TaskStatus::Cancelling => {}
                status => return self.conclude(task, record, status, start.elapsed()),
            }
            let elapsed = start.elapsed();
            let Some(left) = timeout.checked_sub(elapsed).filter(|l| !l.is_zero()) else {
                return Err(XenApiError::Timeout {
                    task: task.clone(),
                    label: record.name_label,
                    elapsed,
                });
            };
            tracing::debug!(%task, progress = record.progress, "task pending");
            thread::sleep(pause.min(left));
            pause = (pause * 2).min(self.options().task_poll_max);
        }
    }

    /// [`Session::call_async`], then [`Session::wait_task`]. The task is destroyed in every
    /// case, a timed-out one included.
    pub fn async_call_and_wait(
        &self,
        method: &str,
        params: &[Value],
        timeout: Duration,
    ) -> Result<TaskOutcome> {
        let task = self.call_async(method, params)?;
        self.wait_and_destroy_task(&task, timeout)
    }

    /// [`Session::wait_task`], destroying the task at the deadline too: whatever the
    /// outcome, the task is gone.
    pub(crate) fn wait_and_destroy_task(
        &self,
        task: &Ref,
        timeout: Duration,
    ) -> Result<TaskOutcome> {
        let outcome = self.wait_task(task, timeout);
        if let Err(XenApiError::Timeout { .. }) = outcome {
            self.destroy_task_quietly(task);
        }
        outcome
    }

    /// Destroys a task, logging (not raising) a failure: cleanup on error paths.
    pub(crate) fn destroy_task_quietly(&self, task: &Ref) {
        if let Err(error) = self.task().destroy(task) {
            tracing::warn!(%task, %error, "could not destroy the task");
        }
    }

    fn conclude(
        &self,
        task: &Ref,
        record: TaskRecord,
        status: TaskStatus,
        elapsed: Duration,
    ) -> Result<TaskOutcome> {
        self.destroy_task_quietly(task);
        let label = record.name_label;
        match status {
            TaskStatus::Success => {
                let result = parse_result(&record.result).map_err(|source| XenApiError::Codec {
                    context: format!("the result of task {task} ({label})"),
                    source,
                })?;
                Ok(TaskOutcome {
                    task: task.clone(),
                    label,
                    result,
                    elapsed,
                })
            }
            TaskStatus::Cancelled => Err(XenApiError::TaskCancelled {
                task: task.clone(),
                label,
            }),
            _ => {
                let mut info = record.error_info.into_iter();
                Err(XenApiError::TaskFailed {
                    task: task.clone(),
                    label,
                    code: info.next().unwrap_or_else(|| "UNKNOWN_ERROR".to_owned()),
                    params: info.collect(),
                })
            }
        }
    }
}

/// A task's `result`: an XML-RPC `<value>` document, or nothing for `void`.
fn parse_result(text: &str) -> Result<Value, CodecError> {
    if text.trim().is_empty() {
        Ok(Value::String(String::new()))
    } else {
        decode_value(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_parse_as_value_documents() {
        assert_eq!(parse_result("").unwrap(), Value::from(""));
        assert_eq!(
            parse_result("<value>OpaqueRef:v</value>").unwrap(),
            Value::from("OpaqueRef:v")
        );
        let refs =
            parse_result("<value><array><data><value>OpaqueRef:a</value></data></array></value>")
                .unwrap();
        let outcome = TaskOutcome {
            task: Ref::new("OpaqueRef:t"),
            label: "import".into(),
            result: refs,
            elapsed: Duration::ZERO,
        };
        assert_eq!(outcome.references().unwrap(), vec![Ref::new("OpaqueRef:a")]);
        let err = outcome.reference().unwrap_err();
        assert!(err.to_string().contains("OpaqueRef:t (import)"), "{err}");
    }
}
