//! The crate's one error type. Its message names the volume group and logical volume, the
//! command that was run and what lvm2 said on stderr; an underlying I/O error is its
//! `source()`.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = LvmError> = std::result::Result<T, E>;

/// Everything that can go wrong managing LVM snapshots and their mounts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LvmError {
    /// An lvm2 command could not be started (not installed, not executable).
    #[error("could not run `{command}` (for {target}): {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The VG or VG/LV it was about.
        target: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An lvm2 command ran and failed.
    #[error("`{command}` failed for {target} (exit {}): {}", code.map_or_else(|| "by a signal".to_owned(), |c| c.to_string()), stderr.trim())]
    Command {
        /// The command line.
        command: String,
        /// The VG or VG/LV it was about.
        target: String,
        /// Its exit code, or `None` when a signal ended it.
        code: Option<i32>,
        /// What it wrote on stderr.
        stderr: String,
    },
    /// An lvm2 report that is not what lvm2 2.03 prints (bad JSON, a missing field, a size
    /// that is not a number, an attribute character this crate does not know).
    #[error("unexpected report from `{command}` for {target}: {problem}")]
    Report {
        /// The command line.
        command: String,
        /// The VG or VG/LV it was about.
        target: String,
        /// What is wrong.
        problem: String,
    },
    /// A volume group or logical volume name that lvm2 would refuse, or that could be read
    /// as an option or a path.
    #[error("invalid LVM name `{name}`: {problem}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A snapshot size lvm2 cannot make (0 bytes, a percentage outside 1-100).
    #[error("invalid size for snapshot {snapshot}: {problem}")]
    InvalidSize {
        /// The snapshot (`vg/name`).
        snapshot: String,
        /// What is wrong with the size.
        problem: &'static str,
    },
    /// A logical volume that does not exist.
    #[error("logical volume {vg}/{lv} does not exist")]
    NotFound {
        /// Its volume group.
        vg: String,
        /// Its name.
        lv: String,
    },
    /// The snapshot's name is taken by a volume that is not a snapshot of ours: it is left
    /// alone.
    #[error(
        "{vg}/{lv} exists and is not a snapshot of ours of {vg}/{origin} ({why}); it was left alone"
    )]
    NameTaken {
        /// The volume group.
        vg: String,
        /// The name.
        lv: String,
        /// The origin the snapshot was for.
        origin: String,
        /// Why it is not ours.
        why: String,
    },
    /// A snapshot of ours that a still running process made: it is left alone.
    #[error("{vg}/{lv} belongs to a running process ({owner}); it was left alone")]
    InUse {
        /// The volume group.
        vg: String,
        /// The snapshot.
        lv: String,
        /// Its owner tag.
        owner: String,
    },
    /// A thin snapshot that stayed inactive after `lvchange -ay -K`.
    #[error("snapshot {vg}/{lv} is not active after activation")]
    NotActivated {
        /// The volume group.
        vg: String,
        /// The snapshot.
        lv: String,
    },
    /// A snapshot whose copy-on-write space overflowed (or whose thin pool ran out of
    /// data space): what was read from it is not the origin's state.
    #[error("snapshot {vg}/{lv} overflowed: {fill}")]
    Overflowed {
        /// The volume group.
        vg: String,
        /// The snapshot.
        lv: String,
        /// Its fill level, as [`crate::Fill`] prints it.
        fill: String,
    },
    /// A mount option the read-only mount refuses (`rw`, an option it cannot pass).
    #[error("mount option `{option}` for {}: {problem}", device.display())]
    MountOption {
        /// The device that was to be mounted.
        device: PathBuf,
        /// The option.
        option: String,
        /// Why it is refused.
        problem: &'static str,
    },
    /// A file-system operation failed: `action` says which, on what.
    #[error("{action}: {source}")]
    Io {
        /// For example "mounting /dev/vg0/web.back (ext4) on /4backup/web/root".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}
