//! Jobs: what a request tagged with `correlation_id` set going, and waiting for it.

use std::time::Duration;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{Job, JobStatus, Jobs};
use crate::wait::Poll;

impl Connection {
    /// The jobs of a correlation id.
    pub fn jobs(&self, correlation_id: &str) -> Result<Vec<Job>> {
        let query = Query::new().with("search", format!("correlation_id={correlation_id}"));
        Ok(self
            .get::<Jobs>(
                "/jobs",
                &query,
                &format!("listing jobs of {correlation_id}"),
            )?
            .items)
    }

    /// Waits until no job of `correlation_id` is `started`; a job that ended other than
    /// `finished` is a failure naming it.
    pub fn wait_for_jobs(&self, correlation_id: &str, timeout: Duration) -> Result<()> {
        let what = format!("jobs of {correlation_id}");
        self.wait_for(&what, timeout, || {
            let jobs = self.jobs(correlation_id)?;
            if let Some(running) = jobs.iter().find(|j| j.status == Some(JobStatus::Started)) {
                return Ok(Poll::Pending(format!(
                    "running ({})",
                    running.description.as_deref().unwrap_or("?")
                )));
            }
            if let Some(bad) = jobs.iter().find(|j| j.status != Some(JobStatus::Finished)) {
                return Err(OvirtError::Failed {
                    what: format!(
                        "job `{}` of {correlation_id}",
                        bad.description.as_deref().unwrap_or("?")
                    ),
                    state: bad
                        .status
                        .map_or("without a status".into(), |s| s.to_string()),
                });
            }
            Ok(Poll::Ready(()))
        })
    }
}
