//! What the planner knows about one backup, and the order it sorts backups in.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::time::BackupTime;

/// Whether a backup can be restored, and whether it is pinned.
///
/// In data (JSON) it is its name in lower case: `"complete"`, `"incomplete"` or
/// `"protected"` ([`BackupState::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupState {
    /// Finished and usable.
    Complete,
    /// Unfinished or failed: being written, interrupted, or without its success marker.
    Incomplete,
    /// Pinned by the user: never removed. Counts as complete for every rule.
    Protected,
}

impl BackupState {
    /// True for [`Complete`](BackupState::Complete) and [`Protected`](BackupState::Protected).
    pub fn is_complete(self) -> bool {
        self != BackupState::Incomplete
    }

    /// `complete`, `incomplete` or `protected`: the name in data and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupState::Complete => "complete",
            BackupState::Incomplete => "incomplete",
            BackupState::Protected => "protected",
        }
    }
}

/// One backup as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// Unique name within the set being planned (for directories: the directory name).
    pub id: String,
    /// When it was taken, with the UTC offset it was recorded at.
    pub time: BackupTime,
    /// Complete, incomplete or protected.
    pub state: BackupState,
    /// Labels that `keep_tags` rules match.
    pub tags: BTreeSet<String>,
    /// The id of the backup this one depends on (incremental chains), if any.
    pub parent: Option<String>,
}

impl Backup {
    /// A backup without tags or parent.
    pub fn new(id: impl Into<String>, time: BackupTime, state: BackupState) -> Self {
        Backup {
            id: id.into(),
            time,
            state,
            tags: BTreeSet::new(),
            parent: None,
        }
    }

    /// The same backup with these tags added.
    #[must_use]
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// The same backup depending on `parent`.
    #[must_use]
    pub fn with_parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }
}

/// The planner's total order: newest instant first; among backups of the same instant, the
/// greater id in natural order first (`…Z.10` before `…Z.2` before `…Z.1` before `…Z`, so
/// the `.N` suffixes of our layout rank later backups first); then any remaining difference
/// (offset, state, tags, parent) decides, so that the order never depends on the input's.
pub(crate) fn newest_first(a: &Backup, b: &Backup) -> Ordering {
    b.time
        .timestamp()
        .cmp(&a.time.timestamp())
        .then_with(|| natural_cmp(&b.id, &a.id))
        .then_with(|| b.id.cmp(&a.id))
        .then_with(|| b.time.offset().seconds().cmp(&a.time.offset().seconds()))
        .then_with(|| a.state.cmp(&b.state))
        .then_with(|| a.tags.cmp(&b.tags))
        .then_with(|| a.parent.cmp(&b.parent))
}

/// Compares strings with runs of ASCII digits compared as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (digits_a, rest_a) =
                    a.split_at(a.iter().take_while(|c| c.is_ascii_digit()).count());
                let (digits_b, rest_b) =
                    b.split_at(b.iter().take_while(|c| c.is_ascii_digit()).count());
                let trim = |d: &[u8]| -> usize { d.iter().take_while(|&&c| c == b'0').count() };
                let (value_a, value_b) = (&digits_a[trim(digits_a)..], &digits_b[trim(digits_b)..]);
                let order = value_a
                    .len()
                    .cmp(&value_b.len())
                    .then_with(|| value_a.cmp(value_b));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (rest_a, rest_b);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_named_alike_in_data_and_text() {
        for state in [
            BackupState::Complete,
            BackupState::Incomplete,
            BackupState::Protected,
        ] {
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, state.as_str());
            assert_eq!(serde_json::from_value::<BackupState>(json).unwrap(), state);
        }
    }

    #[test]
    fn natural_order_ranks_numeric_suffixes_by_value() {
        let mut ids = vec!["s.2", "s", "s.10", "s.1", "a", "s.02"];
        ids.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
        assert_eq!(ids, ["a", "s", "s.1", "s.02", "s.2", "s.10"]);
    }

    #[test]
    fn same_second_backups_sort_by_suffix() {
        let t = BackupTime::utc("2026-11-22T01:30:05Z".parse().unwrap());
        let mut list: Vec<Backup> = [
            "2026-11-22T013005Z.1",
            "2026-11-22T013005Z",
            "2026-11-22T013005Z.10",
            "2026-11-22T013005Z.2",
        ]
        .into_iter()
        .map(|id| Backup::new(id, t, BackupState::Complete))
        .collect();
        list.sort_by(newest_first);
        let ids: Vec<&str> = list.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "2026-11-22T013005Z.10",
                "2026-11-22T013005Z.2",
                "2026-11-22T013005Z.1",
                "2026-11-22T013005Z"
            ]
        );
    }
}
