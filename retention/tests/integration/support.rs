//! Helpers shared by the test modules.

use jiff::Timestamp;
use retention::{Backup, BackupState, BackupTime, Plan, Policy};

/// An RFC 3339 time with offset.
pub fn at(text: &str) -> BackupTime {
    text.parse()
        .unwrap_or_else(|e| panic!("test time {text}: {e}"))
}

/// An instant.
pub fn instant(text: &str) -> Timestamp {
    at(text).timestamp()
}

/// A complete backup.
pub fn complete(id: &str, time: &str) -> Backup {
    Backup::new(id, at(time), BackupState::Complete)
}

/// An incomplete backup.
pub fn incomplete(id: &str, time: &str) -> Backup {
    Backup::new(id, at(time), BackupState::Incomplete)
}

/// A protected backup.
pub fn protected(id: &str, time: &str) -> Backup {
    Backup::new(id, at(time), BackupState::Protected)
}

/// A policy from its JSON form.
pub fn policy(json: &str) -> Policy {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("test policy {json}: {e}"))
}

/// Every decision as (id, keep, reasons), in plan order.
pub fn summary(plan: &Plan) -> Vec<(String, bool, Vec<String>)> {
    plan.decisions
        .iter()
        .map(|d| (d.id.clone(), d.keep, d.reasons.clone()))
        .collect()
}

/// The expected form of [`summary`], from literals.
pub fn expected(rows: &[(&str, bool, &[&str])]) -> Vec<(String, bool, Vec<String>)> {
    rows.iter()
        .map(|(id, keep, reasons)| {
            let reasons = reasons.iter().map(ToString::to_string).collect();
            ((*id).to_string(), *keep, reasons)
        })
        .collect()
}
