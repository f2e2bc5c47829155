//! The crate's one error type. Its message names what failed and where (guest path, device,
//! command); the underlying cause, if any, is its `source()`.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = GuestFixupError> = std::result::Result<T, E>;

/// Everything that can go wrong inspecting, planning or fixing a guest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestFixupError {
    /// A file operation inside the guest's root (or on the host) failed.
    #[error("{action} `{}`", path.display())]
    Io {
        /// For example "reading" or "writing".
        action: &'static str,
        /// The guest path (or host path for devices and images).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A guest symlink leads out of the guest's root or loops.
    #[error("guest path `{}`: {problem}", path.display())]
    UnsafePath {
        /// The guest path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A command could not be started, or ended with a failure.
    #[error("`{command}` {outcome}{}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Command {
        /// The command line, for the message.
        command: String,
        /// "exited with status 1", "was killed by a signal", "could not be started: ...".
        outcome: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// The guest cannot be converted in this direction; nothing was written.
    #[error("refusing to convert the guest: {}", reasons.join("; "))]
    Refused {
        /// Why, one reason per problem.
        reasons: Vec<String>,
    },
    /// A direction or device map that this crate does not know.
    #[error("unknown conversion `{given}`: {hint}")]
    Direction {
        /// What was given.
        given: String,
        /// What is accepted.
        hint: &'static str,
    },
    /// Nothing on the disks looks like a Linux root filesystem.
    #[error("no Linux root filesystem found on {disks}: {detail}")]
    NoLinux {
        /// The disks searched.
        disks: String,
        /// What was found instead.
        detail: String,
    },
    /// The guest keeps its root in LVM and the host cannot activate it.
    #[error(
        "`{}` is an LVM physical volume and no other volume holds the root, but this host has no device-mapper ({detail}), which activating the guest's volume group needs: fix the guest up on a host with device-mapper (modprobe dm-mod), or inside the guest",
        device.display()
    )]
    NoDeviceMapper {
        /// The physical volume.
        device: PathBuf,
        /// What the probe said.
        detail: String,
    },
    /// A volume group of the guest cannot be activated safely, or lvm2 refused it.
    #[error("the guest's volume group `{vg}`: {problem}")]
    Lvm {
        /// The volume group's name.
        vg: String,
        /// What is wrong (a name or UUID already active on the host, missing volumes).
        problem: String,
    },
    /// A device or image is already in use (mounted elsewhere, attached to a loop device).
    #[error("`{}` is already in use: {detail}", device.display())]
    Busy {
        /// The device or image.
        device: PathBuf,
        /// Where it is mounted, or by what.
        detail: String,
    },
    /// A loop device, partition table or mount operation failed.
    #[error("{action}")]
    Device {
        /// For example "attaching `disk.img` to a loop device".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Undo found something it cannot put back.
    #[error("cannot undo `{}`: {problem}", path.display())]
    Undo {
        /// The guest path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl GuestFixupError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn device(action: impl Into<String>, source: io::Error) -> Self {
        Self::Device {
            action: action.into(),
            source,
        }
    }
}
