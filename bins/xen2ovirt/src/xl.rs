//! A plain Xen source (`--xen-config`): a guest of an xl / xend host, described by its
//! configuration file (read as data by disk-image's xend parser, never run), its `phy:`,
//! `file:` and `tap:aio:` disks read as raw streams, on this dom0 or on another host over
//! SSH ([`host::XenHost`]). A running guest is shut down with `xl shutdown -w` only when
//! asked ([`power`]), and started again with `xl create` if the migration then fails; or,
//! on the dom0 itself, its LVM volumes are read from snapshots ([`live`], `--live`).

pub mod args;
pub mod host;
pub mod live;
mod map;
pub mod power;
pub mod run;

pub use map::source_vm;
