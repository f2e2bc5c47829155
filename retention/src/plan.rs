//! `plan`: every backup kept or removed, with its reasons. Pure: no I/O, no clock.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::backup::{Backup, BackupState, newest_first};
use crate::policy::Policy;
use crate::reason::Reason;
use crate::rules;

/// The decision for every backup given to [`plan`], newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// One decision per input backup, in planning order (newest first; see the crate docs
    /// for how ties are broken).
    pub decisions: Vec<Decision>,
}

impl Plan {
    /// The decisions that keep their backup.
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.keep)
    }

    /// The decisions that remove their backup.
    pub fn removed(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| !d.keep)
    }

    /// The decision about the backup `id` (the first, if ids repeat).
    pub fn decision(&self, id: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.id == id)
    }
}

/// Keep or remove one backup, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The backup's id.
    pub id: String,
    /// True to keep it.
    pub keep: bool,
    /// Human-readable reasons: the rules that keep it ("daily snapshot", "within 1y2m",
    /// "has tags [a, b]", "protected", "newest complete backup", "parent of …"), or why it
    /// goes ("no keep rule matches", "incomplete", "older than max age 30 days"), plus notes
    /// ("parent … is missing"). Never empty.
    pub reasons: Vec<String>,
}

/// Decides, for every backup, whether `policy` keeps it, and why. See the crate docs for
/// the semantics.
///
/// `now` is used for two things only: `max_age_days` counts from it, and a backup dated
/// after it is not used as the reference of the `within` rules (restic's guard against
/// clocks set wrong). Nothing else depends on the clock: `within` measures from the newest
/// complete backup.
pub fn plan(backups: &[Backup], policy: &Policy, now: Timestamp) -> Plan {
    let mut sorted: Vec<&Backup> = backups.iter().collect();
    sorted.sort_by(|a, b| newest_first(a, b));
    let mut reasons: Vec<Vec<Reason<'_>>> = vec![Vec::new(); sorted.len()];

    let newest_complete = sorted.iter().position(|b| b.state.is_complete());
    let latest = sorted
        .iter()
        .find(|b| b.state.is_complete() && b.time.timestamp() <= now)
        .or_else(|| newest_complete.map(|p| &sorted[p]))
        .copied();
    rules::apply(&sorted, policy, latest, &mut reasons);

    let max_age = policy.max_age_days.map(|days| {
        let age = SignedDuration::from_hours(24 * i64::from(days.get()));
        (days.get(), now.checked_sub(age).unwrap_or(Timestamp::MIN))
    });
    let newest_incomplete = sorted.iter().position(|b| !b.state.is_complete());
    for (position, backup) in sorted.iter().enumerate() {
        let out = &mut reasons[position];
        if backup.state.is_complete() {
            if let Some((days, cutoff)) = max_age
                && backup.time.timestamp() < cutoff
            {
                out.clear();
                out.push(Reason::OlderThanMaxAge(days));
            }
            if backup.state == BackupState::Protected {
                out.push(Reason::Protected);
            }
            if Some(position) == newest_complete {
                out.push(Reason::NewestComplete);
            }
        } else if Some(position) == newest_incomplete
            && newest_complete.is_none_or(|c| backup.time.timestamp() > sorted[c].time.timestamp())
        {
            out.push(Reason::IncompleteNewest);
        } else {
            out.push(Reason::Incomplete);
        }
    }

    let mut keep: Vec<bool> = reasons
        .iter()
        .map(|r| r.iter().any(Reason::keeps))
        .collect();
    keep_chains(&sorted, &mut keep, &mut reasons);

    let decisions = sorted
        .iter()
        .zip(reasons)
        .zip(keep)
        .map(|((backup, mut reasons), keep)| {
            if !keep
                && reasons
                    .iter()
                    .all(|r| matches!(r, Reason::ParentMissing(_)))
            {
                reasons.insert(0, Reason::NoRule);
            }
            Decision {
                id: backup.id.clone(),
                keep,
                reasons: reasons.iter().map(ToString::to_string).collect(),
            }
        })
        .collect();
    Plan { decisions }
}

/// Keeps every backup a kept backup depends on, directly or through a chain, with a
/// "parent of <child>" reason for each kept child; notes parents that are missing.
fn keep_chains<'a>(sorted: &[&'a Backup], keep: &mut [bool], reasons: &mut [Vec<Reason<'a>>]) {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (position, backup) in sorted.iter().enumerate() {
        by_id.entry(backup.id.as_str()).or_default().push(position);
    }
    let mut queue: VecDeque<usize> = (0..sorted.len()).filter(|&p| keep[p]).collect();
    while let Some(child) = queue.pop_front() {
        let Some(parent) = sorted[child].parent.as_deref() else {
            continue;
        };
        for &position in by_id.get(parent).into_iter().flatten() {
            if position == child {
                continue;
            }
            reasons[position].push(Reason::ParentOf(&sorted[child].id));
            if !keep[position] {
                keep[position] = true;
                queue.push_back(position);
            }
        }
    }
    for (position, backup) in sorted.iter().enumerate() {
        if let Some(parent) = backup.parent.as_deref()
            && !by_id.contains_key(parent)
        {
            reasons[position].push(Reason::ParentMissing(parent));
        }
    }
}
