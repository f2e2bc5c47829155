//! lvmbackup's integration tests: archives written and restored by the real GNU tar on this
//! host (the LVM runs are in tests/lvm-guest, inside a QEMU guest).

#[path = "integration/archives.rs"]
mod archives;
#[path = "integration/backup_manager.rs"]
mod backup_manager;
#[path = "integration/cli.rs"]
mod cli;
#[path = "integration/fake_lvm.rs"]
mod fake_lvm;
#[path = "integration/images.rs"]
mod images;
#[path = "integration/mail.rs"]
mod mail;
#[path = "integration/support.rs"]
mod support;
