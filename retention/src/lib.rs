//! Which backups to keep: counts, calendar buckets, ages, tags and chains, decided as a
//! pure [`Plan`] with reasons.
//!
//! Planning ([`plan`]) does no I/O and reads no clock: give it [`Backup`]s, a [`Policy`]
//! and the instant `max_age_days` counts from, and it returns a keep-or-remove
//! [`Decision`] with human-readable reasons for every backup, newest first. The crate
//! knows no storage: the backup store (`backup_core::store`) scans a directory into
//! [`Backup`]s and carries out the plan crash-safely; any other storage (an export domain,
//! LVM archives) can do the same. A binary prints the plan, and stops there on `--dry-run`.
//!
//! # Semantics
//!
//! **Order.** Backups are planned newest first by instant. Backups of the same instant are
//! ordered by id, greater first in natural order (digit runs compared as numbers, so our
//! `…Z.2` comes before `…Z.1`, before `…Z`); any remaining difference is decided by the
//! other fields, so the plan never depends on the order of the input.
//!
//! **Which backups the rules see.** Only complete backups ([`BackupState::Complete`] and
//! [`BackupState::Protected`]) fill keep rules. Incomplete ones never do: the newest
//! incomplete backup is kept while it is newer than the newest complete one (it may be a
//! backup in progress, as in Proxmox Backup), every other one is removed.
//!
//! **The keep rules** follow restic's `forget`:
//! - `keep_last`, `keep_hourly`, `keep_daily`, `keep_weekly`, `keep_monthly`,
//!   `keep_yearly` are independent buckets. Each walks the complete backups newest first
//!   and keeps the first backup of every period it has not seen yet, until its count is
//!   used up ([`KeepCount::Unlimited`]: never). One backup can take a slot in several
//!   buckets at once ("daily snapshot", "weekly snapshot"), and uses one of each.
//!   `keep_last` treats every backup as its own period.
//! - A backup's hour, day, week, month and year are those of its *own recorded offset*
//!   ([`BackupTime`]), not UTC's and not the planning machine's. Weeks are ISO 8601
//!   weeks: Monday to Sunday, numbered in their ISO year, so 2021-01-01 is in week 53 of
//!   2020.
//! - While a bucket still has count left when it reaches the oldest complete backup, that
//!   backup is kept too, so history reaches as far back as possible ("oldest daily
//!   snapshot" when its period was already taken).
//! - `keep_within` keeps every complete backup taken strictly after the newest complete
//!   backup minus the span (`1y2m3d4h`, see [`CalendarSpan`]) — measured from the newest
//!   backup, not from the clock, so a host that stopped backing up keeps its history.
//!   `keep_within_hourly` … `keep_within_yearly` keep the newest backup of every period
//!   inside their span (plus the oldest backup, if inside). The newest complete backup
//!   dated after `now` is not used as the reference (a clock set in the future).
//! - `keep_tags` lists: a backup matching every tag of at least one list is kept; tags
//!   use no count.
//! - A policy without any keep rule keeps every complete backup ("policy is empty").
//!
//! **Then, in this order:**
//! - `max_age_days`: a complete backup older than that many days before `now` loses the
//!   reasons above ("older than max age 30 days"). With no other rule it works as a TTL.
//! - A protected backup is always kept ("protected").
//! - The newest complete backup is always kept, whatever the policy, `max_age_days`
//!   included ("newest complete backup").
//! - Chains: every backup that a kept backup depends on (its `parent`, and so on up the
//!   chain) is kept, even if older than `max_age_days` ("parent of ID"). A parent
//!   missing from the input is noted ("parent ID is missing") and planning goes on.
//! - Removed backups say why: "no keep rule matches", "incomplete", or "older than max
//!   age …".
//!
//! **Where this differs from restic:** ties are broken by id instead of input order;
//! `within` subtracts months on the calendar with clamping (March 31 minus 1m is February
//! 28 or 29, where Go's normalisation gives March 2 or 3, keeping fewer); states,
//! protection, `max_age_days`, chains and the newest-complete guarantee are additions.
//! restic's kept-and-removed results are otherwise the same (the tests replay several of
//! its reference scenarios).
//!
//! # Example
//!
//! ```
//! use jiff::Timestamp;
//! use retention::{Backup, BackupState, BackupTime, KeepCount, Policy, plan};
//!
//! let policy = Policy {
//!     keep_daily: KeepCount::Count(2),
//!     keep_weekly: KeepCount::Count(2),
//!     ..Policy::default()
//! };
//! let at = |text: &str| text.parse::<BackupTime>().unwrap();
//! let backups = vec![
//!     Backup::new("mon", at("2026-11-16T01:00:00+01:00"), BackupState::Complete),
//!     // Sunday of ISO week 46 where it was recorded (Monday 04:30 in UTC).
//!     Backup::new("prev-sun", at("2026-11-15T23:30:00-05:00"), BackupState::Complete),
//!     Backup::new("sat", at("2026-11-21T01:00:00+01:00"), BackupState::Complete),
//!     Backup::new("sun", at("2026-11-22T01:00:00+01:00"), BackupState::Complete),
//!     Backup::new("running", at("2026-11-22T13:00:00+01:00"), BackupState::Incomplete)
//!         .with_parent("sun"),
//! ];
//! let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
//! let plan = plan(&backups, &policy, now);
//!
//! let summary: Vec<(&str, bool, Vec<&str>)> = plan
//!     .decisions
//!     .iter()
//!     .map(|d| (d.id.as_str(), d.keep, d.reasons.iter().map(String::as_str).collect()))
//!     .collect();
//! assert_eq!(
//!     summary,
//!     [
//!         ("running", true, vec!["incomplete, newer than the newest complete backup"]),
//!         ("sun", true, vec!["daily snapshot", "weekly snapshot", "newest complete backup", "parent of running"]),
//!         ("sat", true, vec!["daily snapshot"]),
//!         ("prev-sun", true, vec!["weekly snapshot"]),
//!         ("mon", false, vec!["no keep rule matches"]),
//!     ]
//! );
//! ```
//!
//! The same through JSON, as `examples/plan.rs` reads it on stdin:
//!
//! ```
//! let output = retention::plan_json(r#"{
//!     "policy": {"keep_last": 1, "keep_tags": [["monthly"]]},
//!     "backups": [
//!         {"id": "a", "time": "2026-11-01T02:00:00+01:00", "state": "complete", "tags": ["monthly"]},
//!         {"id": "b", "time": "2026-11-02T02:00:00+01:00", "state": "complete"},
//!         {"id": "c", "time": "2026-11-03T02:00:00+01:00", "state": "complete"}
//!     ]
//! }"#)?;
//! let plan: serde_json::Value = serde_json::from_str(&output)?;
//! assert_eq!(plan["decisions"][0]["reasons"][0], "last snapshot");
//! assert_eq!(plan["decisions"][1]["keep"], false);
//! assert_eq!(plan["decisions"][2]["reasons"][0], "has tags [monthly]");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backup;
mod error;
mod json;
mod plan;
mod policy;
mod reason;
mod rules;
mod span;
mod time;

pub use backup::{Backup, BackupState};
pub use error::{Result, RetentionError};
pub use json::plan_json;
pub use plan::{Decision, Plan, plan};
pub use policy::{KeepCount, Policy};
pub use span::CalendarSpan;
pub use time::BackupTime;
