//! LVM snapshots as guards, over lvm2's commands and JSON reports.
//!
//! - [`Lvm`] lists volume groups and logical volumes (`vgs` / `lvs --reportformat json
//!   --units b --nosuffix`, typed: origin, thin pool, active, open, fill, invalid and
//!   merge-failed state decoded from `lv_attr`), and makes snapshots: copy-on-write with a
//!   size or a percentage of the origin, or thin (activated although thin snapshots skip
//!   activation: `-kn`, then `lvchange -ay -K` if still inactive).
//! - A [`Snapshot`] is removed on every path: [`Snapshot::remove`] reports failure, `Drop`
//!   logs it. [`Snapshot::fill`] and [`Snapshot::check_intact`] tell whether it overflowed.
//! - [`Snapshot::mount`] mounts it read-only with the options its file system needs
//!   (`ro,noload` for ext3/4, `ro,nouuid,norecovery` for XFS, the user's otherwise); the
//!   [`ReadOnlyMount`] borrows the snapshot, so it is unmounted before the snapshot goes.
//! - Snapshots of ours carry the tag `vmtoolkit` and an [`Owner`] tag (host, pid, process
//!   start). A stale one an interrupted run left is unmounted, removed and reported
//!   ([`Snapshot::replaced`]) before a new one is made, and [`Lvm::stale`] lists them all; a
//!   volume of that name that is not ours, or whose owner still runs, is an error and is
//!   left alone.
//! - Every command goes through a [`CommandRunner`]: [`SystemRunner`] runs lvm2, and
//!   [`RecordingRunner`] scripts replies and records command lines for tests.
//!
//! Written over lvm2's command-line tools rather than a library binding: lvm2's C library
//! (`liblvm2app`) was removed upstream in 2.03, and the commands with JSON reports are
//! lvm2's supported interface. Versions: checked against lvm2 2.03.16 (Debian 12), whose
//! real output the tests use; later versions add a `log` section, which is ignored.
//!
//! The mount options, as a pure function:
//!
//! ```
//! use std::path::Path;
//! use lvm_snap::{MountFlags, read_only_options};
//!
//! let device = Path::new("/dev/vg0/web-root.back");
//! let (flags, data) = read_only_options(device, "ext4", "ro,noatime")?;
//! assert_eq!((flags, data.as_str()), (MountFlags::RDONLY | MountFlags::NOATIME, "noload"));
//! let (_, data) = read_only_options(device, "xfs", "")?;
//! assert_eq!(data, "nouuid,norecovery");
//! assert!(read_only_options(device, "ext4", "rw").is_err());
//! # Ok::<(), lvm_snap::LvmError>(())
//! ```
//!
//! A backup of one volume (needs root and device-mapper):
//!
//! ```no_run
//! use std::path::Path;
//! use lvm_snap::{Lvm, SnapshotSize, VolumeRef};
//!
//! let lvm = Lvm::system()?;
//! let origin = VolumeRef::parse("/dev/vgxen/web1-root")?;
//! let snapshot = lvm.snapshot(&origin, "web1-root.back", SnapshotSize::PercentOfOrigin(20))?;
//! if let Some(stale) = snapshot.replaced() {
//!     eprintln!("removed a stale snapshot made by {:?}", stale.owner);
//! }
//! let mount = snapshot.mount(Path::new("/4backup/web1/root"), "ext4", "ro,noatime")?;
//! // … archive /4backup/web1/root …
//! mount.unmount()?;
//! let fill = snapshot.check_intact()?; // an overflowed snapshot makes the archive bad
//! snapshot.remove()?;
//! println!("{origin}: {fill}");
//! # Ok::<(), lvm_snap::LvmError>(())
//! ```

mod attr;
mod error;
mod fake;
mod lvm;
mod mount;
mod names;
mod owner;
mod report;
mod runner;
mod snapshot;
mod volumes;

pub use attr::{Health, LvAttr, LvState, Target, VolumeType};
pub use error::{LvmError, Result};
pub use fake::RecordingRunner;
pub use lvm::{Lvm, Stale};
pub use mount::{ReadOnlyMount, mounts_of, read_only_options};
pub use names::{VolumeRef, check_name};
pub use owner::{Owner, TAG};
pub use runner::{CommandOutput, CommandRunner, SystemRunner};
pub use snapshot::{Fill, Snapshot, SnapshotSize};
pub use sys_mount::MountFlags;
pub use volumes::{LogicalVolume, VolumeGroup};
