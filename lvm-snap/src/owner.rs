//! Who made a snapshot. Every snapshot this crate makes carries two LVM tags: `vmtoolkit`
//! (select ours with `lvs @vmtoolkit`) and `vmtoolkit-owner:<host>:<pid>:<started>`, the
//! host, process id and process start time (Unix seconds) of the run that made it. A snapshot
//! of ours whose owner is not running on this host any more is stale (an interrupted run
//! left it) and is removed before a new one is made; one whose owner still runs is left
//! alone. The start time tells a live owner from a later process that reuses its pid.

use std::fmt;
use std::fs;

use crate::error::{LvmError, Result};

/// The tag on every volume this crate makes.
pub const TAG: &str = "vmtoolkit";

/// The start of the owner tag.
pub(crate) const OWNER_TAG_PREFIX: &str = "vmtoolkit-owner:";

/// The run that made a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    host: String,
    pid: u32,
    started: u64,
}

impl Owner {
    /// An owner. Characters of `host` that LVM tags cannot hold (and `:`) become `_`.
    pub fn new(host: &str, pid: u32, started: u64) -> Self {
        let host = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Owner { host, pid, started }
    }

    /// This process on this host.
    pub fn this_process() -> Result<Self> {
        let host = nix::unistd::gethostname().map_err(|e| LvmError::Io {
            action: "reading this host's name".into(),
            source: e.into(),
        })?;
        let pid = std::process::id();
        let started = process_start(pid).ok_or_else(|| LvmError::Io {
            action: "reading this process's start time from /proc".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        Ok(Owner::new(&host.to_string_lossy(), pid, started))
    }

    /// The host name, as the tag holds it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's start, in Unix seconds.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// The owner tag: `vmtoolkit-owner:<host>:<pid>:<started>`.
    pub fn tag(&self) -> String {
        format!(
            "{OWNER_TAG_PREFIX}{}:{}:{}",
            self.host, self.pid, self.started
        )
    }

    /// Reads an owner tag.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let rest = tag.strip_prefix(OWNER_TAG_PREFIX)?;
        let mut fields = rest.rsplitn(3, ':');
        let started = fields.next()?.parse().ok()?;
        let pid = fields.next()?.parse().ok()?;
        let host = fields.next()?;
        (!host.is_empty()).then(|| Owner::new(host, pid, started))
    }

    /// Whether this owner is a process that still runs, as seen from `this` (the owner of
    /// the current run): same host, and its pid is alive with the same start time.
    pub fn is_running(&self, this: &Owner) -> bool {
        self.host == this.host && process_start(self.pid) == Some(self.started)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {}, started at {}",
            self.pid, self.host, self.started
        )
    }
}

/// When process `pid` started, in Unix seconds: boot time (`btime` of /proc/stat) plus its
/// start in clock ticks after boot (field 22 of /proc/<pid>/stat). `None` if no such process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(boot + ticks / u64::try_from(hz).ok().filter(|&h| h > 0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_round_trips_and_host_is_made_tag_safe() {
        let owner = Owner::new("dom0.example.com", 4242, 1_764_000_000);
        assert_eq!(
            owner.tag(),
            "vmtoolkit-owner:dom0.example.com:4242:1764000000"
        );
        assert_eq!(Owner::from_tag(&owner.tag()), Some(owner));
        let odd = Owner::new("(none) x:y", 1, 2);
        assert_eq!(odd.host(), "_none__x_y");
        assert_eq!(Owner::from_tag(&odd.tag()), Some(odd));
        for bad in [
            "vmtoolkit",
            "vmtoolkit-owner:",
            "vmtoolkit-owner:h:x:1",
            "vmtoolkit-owner::1:2",
            "other:h:1:2",
        ] {
            assert_eq!(Owner::from_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn this_process_is_running_and_a_gone_or_reused_pid_is_not() {
        let this = Owner::this_process().unwrap();
        assert!(this.is_running(&this));
        // the same pid with another start time: a later process that reused the pid
        let reused = Owner::new(this.host(), this.pid(), this.started() - 1);
        assert!(!reused.is_running(&this));
        let other_host = Owner::new("elsewhere", this.pid(), this.started());
        assert!(!other_host.is_running(&this));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Owner::new(this.host(), pid, this.started());
        assert!(!gone.is_running(&this));
    }
}
