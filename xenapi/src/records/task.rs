//! The task record: the progress and outcome of an asynchronous call or HTTP transfer.

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::types::{DateTime, Ref};

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Still running.
    #[default]
    Pending,
    /// Finished; `result` holds the outcome.
    Success,
    /// Failed; `error_info` holds XAPI's error code and parameters.
    Failure,
    /// Being cancelled.
    Cancelling,
    /// Cancelled.
    Cancelled,
}

/// `task.get_record`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Fields are XAPI's, documented by XAPI.
pub struct TaskRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub created: DateTime,
    pub finished: DateTime,
    pub status: TaskStatus,
    pub resident_on: Ref,
    pub progress: f64,
    #[serde(rename = "type")]
    pub kind: String,
    /// An XML-RPC `<value>` document (for example the refs an import created), to be parsed.
    pub result: String,
    /// Error code first, then its parameters.
    pub error_info: Vec<String>,
    pub other_config: StringMap,
    pub subtask_of: Ref,
    pub subtasks: Vec<Ref>,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
}
