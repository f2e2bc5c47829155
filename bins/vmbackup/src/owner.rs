//! Who made a snapshot: every snapshot vmbackup takes (of a VM, of a disk) carries its
//! owner in `other_config`, so that a later run can tell a leftover of a run that is gone
//! from the live snapshot of a run still going (another `backup_dir`, another host).
//!
//! | key | value |
//! |---|---|
//! | `vmtoolkit-owner` | `vmbackup`: the snapshot is ours |
//! | `vmtoolkit-owner-host` | the node name of the machine running the backup |
//! | `vmtoolkit-owner-boot-id` | its kernel boot id (`/proc/sys/kernel/random/boot_id`) |
//! | `vmtoolkit-owner-pid` | the process id |
//! | `vmtoolkit-owner-start` | the process's start time (clock ticks after boot, `/proc/<pid>/stat`) |
//! | `vmtoolkit-created` | when the snapshot was taken (RFC 3339, UTC) |
//!
//! A snapshot is a **leftover** ([`is_leftover`]) when it is ours and its owner is gone —
//! the same host and boot, and no process with that pid and start time; or the same host
//! after a reboot — or when it is older than [`LEFTOVER_AGE`] (an owner on another host,
//! which cannot be asked, or a run that hangs). A snapshot with our name but no owner (an
//! older vmbackup, or a run killed between taking and marking it) is a leftover only past
//! that age.

use std::time::Duration;

use jiff::Timestamp;
use xenapi::records::StringMap;

/// The marker key, and its value.
pub const OWNER_KEY: &str = "vmtoolkit-owner";
/// The marker's value.
pub const OWNER_TOOL: &str = "vmbackup";
const HOST_KEY: &str = "vmtoolkit-owner-host";
const BOOT_KEY: &str = "vmtoolkit-owner-boot-id";
const PID_KEY: &str = "vmtoolkit-owner-pid";
const START_KEY: &str = "vmtoolkit-owner-start";
const CREATED_KEY: &str = "vmtoolkit-created";

/// Every key an owner record writes.
pub const OWNER_KEYS: [&str; 6] = [
    OWNER_KEY,
    HOST_KEY,
    BOOT_KEY,
    PID_KEY,
    START_KEY,
    CREATED_KEY,
];

/// Past this age a snapshot of ours is a leftover whoever made it: two days, longer than
/// any backup of one VM runs.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(48 * 3600);

/// A process that makes snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Node name of its machine.
    pub host: String,
    /// Kernel boot id of its machine.
    pub boot_id: String,
    /// Process id.
    pub pid: u32,
    /// Start time of the process, in clock ticks after boot.
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn this_process() -> Owner {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .unwrap_or_default()
        };
        let pid = std::process::id();
        Owner {
            host: read("/proc/sys/kernel/hostname"),
            boot_id: read("/proc/sys/kernel/random/boot_id"),
            pid,
            start: process_start(pid).unwrap_or(0),
        }
    }

    /// The `other_config` entries that mark a snapshot taken now by this owner.
    pub fn entries(&self, now: Timestamp) -> Vec<(&'static str, String)> {
        vec![
            (OWNER_KEY, OWNER_TOOL.to_owned()),
            (HOST_KEY, self.host.clone()),
            (BOOT_KEY, self.boot_id.clone()),
            (PID_KEY, self.pid.to_string()),
            (START_KEY, self.start.to_string()),
            (CREATED_KEY, now.to_string()),
        ]
    }

    /// The owner an `other_config` records, if it marks the snapshot as ours.
    fn recorded(other_config: &StringMap) -> Option<(Owner, Option<Timestamp>)> {
        if other_config.get(OWNER_KEY).map(String::as_str) != Some(OWNER_TOOL) {
            return None;
        }
        let get = |key: &str| other_config.get(key).cloned().unwrap_or_default();
        let owner = Owner {
            host: get(HOST_KEY),
            boot_id: get(BOOT_KEY),
            pid: get(PID_KEY).parse().unwrap_or(0),
            start: get(START_KEY).parse().unwrap_or(0),
        };
        Some((owner, get(CREATED_KEY).parse().ok()))
    }
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), if it runs.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a process (of this machine, this boot) still runs: its pid with its start time.
fn runs(owner: &Owner) -> bool {
    process_start(owner.pid).is_some_and(|start| start == owner.start)
}

/// Whether a snapshot whose `other_config` is `other_config`, taken at `taken` (XAPI's
/// `snapshot_time`, for snapshots that carry no owner), is a leftover to remove (see the
/// module docs). `named_ours`: its name is one vmbackup gives.
pub fn is_leftover(
    other_config: &StringMap,
    taken: Option<Timestamp>,
    named_ours: bool,
    here: &Owner,
    now: Timestamp,
) -> bool {
    let old = |at: Option<Timestamp>| {
        at.is_some_and(|at| now.duration_since(at).unsigned_abs() > LEFTOVER_AGE && at < now)
    };
    match Owner::recorded(other_config) {
        None => named_ours && old(taken),
        Some((owner, created)) => {
            if old(created.or(taken)) {
                return true;
            }
            if owner.host != here.host || owner.host.is_empty() {
                return false; // another machine's: only its age tells
            }
            owner.boot_id != here.boot_id || !runs(&owner)
        }
    }
}

/// XAPI's `snapshot_time` (`20261122T01:30:05Z`) as an instant.
pub fn parse_xapi_time(text: &str) -> Option<Timestamp> {
    jiff::fmt::strtime::parse("%Y%m%dT%H:%M:%SZ", text)
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|zoned| zoned.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(owner: &Owner, at: Timestamp) -> StringMap {
        owner
            .entries(at)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    #[test]
    fn only_snapshots_whose_owner_is_gone_or_that_are_old_are_leftovers() {
        let here = Owner::this_process();
        assert!(here.start > 0 && !here.boot_id.is_empty(), "{here:?}");
        let now = Timestamp::now();
        let hour_ago = now - jiff::SignedDuration::from_hours(1);
        let days_ago = now - jiff::SignedDuration::from_hours(72);
        // Ours and alive: kept, whatever its name.
        assert!(!is_leftover(
            &marked(&here, hour_ago),
            None,
            true,
            &here,
            now
        ));
        // Ours, but the process is gone (same pid, another start; or a dead pid).
        let restarted = Owner {
            start: here.start + 1,
            ..here.clone()
        };
        assert!(is_leftover(
            &marked(&restarted, hour_ago),
            None,
            false,
            &here,
            now
        ));
        let dead = Owner {
            pid: u32::MAX - 1,
            ..here.clone()
        };
        assert!(is_leftover(
            &marked(&dead, hour_ago),
            None,
            false,
            &here,
            now
        ));
        // The same host after a reboot.
        let before_boot = Owner {
            boot_id: "another boot".into(),
            ..here.clone()
        };
        assert!(is_leftover(
            &marked(&before_boot, hour_ago),
            None,
            false,
            &here,
            now
        ));
        // Another host's: only its age tells.
        let elsewhere = Owner {
            host: "other-host".into(),
            ..dead.clone()
        };
        assert!(!is_leftover(
            &marked(&elsewhere, hour_ago),
            None,
            false,
            &here,
            now
        ));
        assert!(is_leftover(
            &marked(&elsewhere, days_ago),
            None,
            false,
            &here,
            now
        ));
        // Not marked: a leftover only when it has our name and is old.
        let none = StringMap::default();
        assert!(!is_leftover(&none, Some(hour_ago), true, &here, now));
        assert!(is_leftover(&none, Some(days_ago), true, &here, now));
        assert!(!is_leftover(&none, Some(days_ago), false, &here, now));
        // Marked by another tool: not ours.
        let mut theirs = marked(&dead, days_ago);
        theirs.insert(OWNER_KEY.into(), "tinabs".into());
        assert!(!is_leftover(&theirs, Some(days_ago), false, &here, now));
    }

    #[test]
    fn xapi_times_parse() {
        assert_eq!(
            parse_xapi_time("20261122T01:30:05Z"),
            Some("2026-11-22T01:30:05Z".parse().unwrap())
        );
        assert_eq!(parse_xapi_time("never"), None);
    }
}
