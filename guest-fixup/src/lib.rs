//! Offline fix-ups of a Linux guest moved between hypervisors, so that it boots there: device
//! names (`xvda1 -> vda1`, `sda1 -> xvda`), fstab, grub legacy and grub2, the kernel command
//! line and console, swap, the initramfs, MAC-pinned network configuration.
//!
//! The work is split the way retention's is: [`inspect()`] reads the guest's root,
//! [`plan()`] decides (a pure list of edits and steps, each with a reason, or a refusal
//! with reasons before anything is written), [`Plan::diff`] renders it for `--dry-run`, and
//! [`apply()`] carries it out, keeping every original file beside itself so that
//! [`undo()`] can put it back. Files are reached through the [`GuestFs`] seam, commands
//! through the [`CommandRunner`] seam; [`disk`] attaches image files or block devices
//! (loop devices, partitions via BLKPG as `partx` does), activates the guest's own LVM
//! volume groups where the host has device-mapper ([`disk::lvm`]: lvm2 restricted to the
//! guest's devices, a group whose name or UUID is already active on the host refused) and
//! mounts the guest at a root with a private `/dev`, `/proc` and `/sys` for chroot work,
//! every piece a guard.
//!
//! ```
//! use guest_fixup::{DirFs, DiskFacts, Direction, PlanOptions, inspect, plan};
//! # let dir = tempfile::tempdir().unwrap();
//! # std::fs::create_dir_all(dir.path().join("etc")).unwrap();
//! # std::fs::write(dir.path().join("etc/os-release"), "ID=centos\nVERSION_ID=5\n").unwrap();
//! # std::fs::write(dir.path().join("etc/fstab"), "/dev/sda1 / ext3 defaults 1 1\n").unwrap();
//! // A xend guest whose root is the partition-named disk sda1 (xva.py's example).
//! let guest = DirFs::new(dir.path());
//! let found = inspect(&guest)?;
//! let direction: Direction = "xend-pv->xenserver-pv".parse()?;
//! let plan = plan(&guest, &found, &DiskFacts::default(), &direction, &PlanOptions::default())?;
//! assert!(plan.diff().contains("+/dev/xvda / ext3 defaults 1 1"));
//! # Ok::<(), guest_fixup::GuestFixupError>(())
//! ```

pub mod apply;
pub mod cmdline;
pub mod direction;
pub mod disk;
mod error;
pub mod facts;
mod fix;
pub mod fs;
pub mod grubenv;
pub mod inspect;
pub mod plan;
mod render;
pub mod runner;

pub use apply::{Applied, apply, undo};
pub use direction::{Direction, Target};
pub use error::{GuestFixupError, Result};
pub use facts::DiskFacts;
pub use fix::{FixOptions, FixReport, fix};
pub use fs::{DirFs, GuestFs};
pub use inspect::{Inspection, inspect};
pub use plan::{Plan, PlanOptions, plan};
pub use runner::{ChrootRunner, CommandRunner, HostRunner, RecordingRunner};
