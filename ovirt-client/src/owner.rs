//! Who made an object: every snapshot (and every VM a restore creates) carries its owner in
//! its description, the only free text the engine keeps on a snapshot, so that a later run
//! can tell a leftover of a run that is gone from the live object of a run still going
//! (another process, another host).
//!
//! The mark is a run of `key=value` words after the caller's label:
//!
//! ```text
//! BU_20261201_225500 vmtoolkit-owner=vmbackup host=backup1 boot=5f0c… pid=4242 start=98765 created=2026-12-01T22:55:00Z
//! ```
//!
//! | word | value |
//! |---|---|
//! | `vmtoolkit-owner` | the tool (`vmbackup`, `xen2ovirt`): the object is ours |
//! | `host` | the node name of the machine running the tool |
//! | `boot` | its kernel boot id (`/proc/sys/kernel/random/boot_id`) |
//! | `pid` | the process id |
//! | `start` | the process's start time (clock ticks after boot, `/proc/<pid>/stat`) |
//! | `created` | when the object was made (RFC 3339, UTC) |
//!
//! The idea and the rules are vmbackup's for XenServer snapshots (`bins/vmbackup/src/owner.rs`,
//! where the owner lives in `other_config`); only the carrier differs. An object is a
//! **leftover** ([`Mark::is_leftover`]) when it is ours and its owner is gone — the same
//! host and boot and no process with that pid and start time, or the same host after a
//! reboot — or when it is older than [`LEFTOVER_AGE`] (an owner on another host, which
//! cannot be asked, or a run that hangs). Host names and labels never contain spaces here:
//! a description whose words do not parse is not ours.

use std::time::Duration;

use jiff::Timestamp;

/// The word that marks an object as ours.
const OWNER_WORD: &str = "vmtoolkit-owner";

/// Past this age an object of ours is a leftover whoever made it: two days, longer than any
/// backup or restore of one VM runs.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(48 * 3600);

/// A process that makes snapshots, attachments and VMs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The tool (`vmbackup`, `xen2ovirt`).
    pub tool: String,
    /// Node name of its machine.
    pub host: String,
    /// Kernel boot id of its machine.
    pub boot_id: String,
    /// Process id.
    pub pid: u32,
    /// Start time of the process, in clock ticks after boot.
    pub start: u64,
}

/// An owner and the time it made the object, as a description records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The text before the mark (the caller's label, e.g. `BU_20261201_225500`).
    pub label: String,
    /// Who made the object.
    pub owner: Owner,
    /// When.
    pub created: Timestamp,
}

impl Owner {
    /// This process, working as `tool`.
    pub fn this_process(tool: &str) -> Owner {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|text| text.trim().replace(char::is_whitespace, "_"))
                .unwrap_or_default()
        };
        let pid = std::process::id();
        Owner {
            tool: tool.to_owned(),
            host: read("/proc/sys/kernel/hostname"),
            boot_id: read("/proc/sys/kernel/random/boot_id"),
            pid,
            start: process_start(pid).unwrap_or(0),
        }
    }

    /// The description of an object made now by this owner: `label` then the mark.
    pub fn describe(&self, label: &str, now: Timestamp) -> String {
        let label = label.trim();
        let sep = if label.is_empty() { "" } else { " " };
        format!(
            "{label}{sep}{OWNER_WORD}={} host={} boot={} pid={} start={} created={}",
            self.tool,
            self.host,
            self.boot_id,
            self.pid,
            self.start,
            now.round(jiff::Unit::Second).unwrap_or(now)
        )
    }
}

impl Mark {
    /// The mark a description carries, if it is one of ours (any tool).
    pub fn parse(description: &str) -> Option<Mark> {
        let at = description.find(&format!("{OWNER_WORD}="))?;
        let label = description[..at].trim().to_owned();
        let mut tool = None;
        let (mut host, mut boot_id, mut pid, mut start, mut created) =
            (None, None, None, None, None);
        for word in description[at..].split_whitespace() {
            let (key, value) = word.split_once('=')?;
            match key {
                OWNER_WORD => tool = Some(value.to_owned()),
                "host" => host = Some(value.to_owned()),
                "boot" => boot_id = Some(value.to_owned()),
                "pid" => pid = value.parse().ok(),
                "start" => start = value.parse().ok(),
                "created" => created = value.parse().ok(),
                _ => return None,
            }
        }
        Some(Mark {
            label,
            owner: Owner {
                tool: tool?,
                host: host?,
                boot_id: boot_id?,
                pid: pid?,
                start: start?,
            },
            created: created?,
        })
    }

    /// Whether the object is a leftover to remove, as seen by `here` at `now` (see the
    /// module docs). Only `here.tool`'s objects are considered.
    pub fn is_leftover(&self, here: &Owner, now: Timestamp) -> bool {
        if self.owner.tool != here.tool {
            return false;
        }
        let age = now.duration_since(self.created);
        if self.created < now && age.unsigned_abs() > LEFTOVER_AGE {
            return true;
        }
        if self.owner.host != here.host || self.owner.host.is_empty() {
            return false; // another machine's: only its age tells
        }
        self.owner.boot_id != here.boot_id || !runs(&self.owner)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_round_trips_and_tells_leftovers() {
        let here = Owner::this_process("vmbackup");
        assert!(here.start > 0 && !here.boot_id.is_empty(), "{here:?}");
        let now = Timestamp::now();
        let text = here.describe("BU_20261201_225500", now);
        let mark = Mark::parse(&text).expect("ours");
        assert_eq!(mark.label, "BU_20261201_225500");
        assert_eq!(mark.owner, here);
        assert!(!mark.is_leftover(&here, now), "alive: kept");

        let dead = Owner {
            start: here.start + 1,
            ..here.clone()
        };
        let mark = Mark::parse(&dead.describe("BU_x", now)).unwrap();
        assert!(mark.is_leftover(&here, now), "same pid, another start");
        let rebooted = Owner {
            boot_id: "other-boot".into(),
            ..here.clone()
        };
        assert!(
            Mark::parse(&rebooted.describe("", now))
                .unwrap()
                .is_leftover(&here, now)
        );
        let elsewhere = Owner {
            host: "other-host".into(),
            pid: 1,
            ..here.clone()
        };
        let recent = Mark::parse(&elsewhere.describe("BU_y", now)).unwrap();
        assert!(!recent.is_leftover(&here, now), "another host, recent");
        let old = now - jiff::SignedDuration::from_hours(72);
        let stale = Mark::parse(&elsewhere.describe("BU_y", old)).unwrap();
        assert!(stale.is_leftover(&here, now), "another host, old");
        let other_tool = Owner::this_process("xen2ovirt");
        assert!(!mark.is_leftover(&other_tool, now), "another tool's");
    }

    #[test]
    fn foreign_descriptions_are_not_ours() {
        assert_eq!(Mark::parse("BU_20190708_120001"), None);
        assert_eq!(Mark::parse("vmtoolkit-owner=vmbackup host=h"), None);
        assert_eq!(
            Mark::parse(
                "x vmtoolkit-owner=vmbackup host=h boot=b pid=1 start=2 created=2026-01-01T00:00:00Z extra=1"
            ),
            None
        );
        assert!(
            Mark::parse(
                "x vmtoolkit-owner=vmbackup host=h boot=b pid=1 start=2 created=2026-01-01T00:00:00Z"
            )
            .is_some()
        );
    }
}
