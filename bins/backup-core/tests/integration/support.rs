//! Helpers shared by the test modules.

use jiff::Timestamp;
use retention::{BackupTime, Policy};

/// An instant, from an RFC 3339 time with offset.
pub fn instant(text: &str) -> Timestamp {
    text.parse::<BackupTime>()
        .unwrap_or_else(|e| panic!("test time {text}: {e}"))
        .timestamp()
}

/// A policy from its JSON form.
pub fn policy(json: &str) -> Policy {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("test policy {json}: {e}"))
}
