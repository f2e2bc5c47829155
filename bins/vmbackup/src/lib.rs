//! `vmbackup`, the toolkit's XenServer / XCP-ng backup, as a library under the thin
//! `vmbackup` binary.
//!
//! - **Deciding, without I/O:** NAUbackup's configuration read as data ([`config`]), the VM
//!   selection resolved against the pool's VMs ([`selection`]), NAUbackup's status log and
//!   summary lines ([`status_log`]).
//! - **Backing up:** [`connect`] and [`inventory`] read the pool; [`jobs`] backs one VM up
//!   (vm-export, vdi-export, metadata-export, skeleton-export) with its snapshots held by
//!   [`guards`] and its files written into a `backup_core::store::PartialBackup` that only
//!   becomes a backup once complete ([`save`] streams, compresses, digests and verifies as
//!   the data arrives); [`run`] does a whole run, several VMs at once, then [`prune`]s each
//!   VM that succeeded; [`pool_db`] dumps the pool database; [`mail`] sends the report;
//!   [`cancel`] stops it all cleanly on Ctrl-C.
//! - **Afterwards:** [`restore`] reads what the manifest recorded. The backup store itself
//!   (safe directory names, the manifest, listing, verify, the lock, retention on disk) is
//!   `backup_core::store`, shared with the other backup tools.
//!
//! # Where the backups go
//!
//! `<backup_dir>/<vm dir>/<UTC stamp>/` (for example
//! `/snapshots/BACKUPS/web 01/2026-11-22T013005Z/`), written as `.partial-<stamp>` and renamed
//! once synced, holding the exported file(s), NAUbackup's `vm.cfg`, `DISK-*/vbd.cfg`,
//! `DISK-*/vdi.cfg`, `VIFs/vif-*.cfg`, `vm-metadata.xml`, its `success` marker and
//! `manifest.json`. NAUbackup wrote `backup-YYYY-MM-DD-(HH:MM:SS)` in local time, with `:`
//! that some NAS refuse and no offset; ours is unambiguous, and `vmbackup prune --naubackup`
//! still handles the old directories.
//!
//! # The configuration file
//!
//! VmBackup.py's format, read unchanged: one `key=value` per line; blank lines and lines
//! starting with `#` are skipped; the line, the key and the value are trimmed of white
//! space. A configuration file is data: nothing in it is executed.
//!
//! ## NAUbackup's keys
//!
//! | key | value | default |
//! |---|---|---|
//! | `vm-export` | VM name, uuid, regex or `tag:NAME`, optional `:N` (repeatable) | |
//! | `vdi-export` | same: export the boot disk only (see `all_disks`) | |
//! | `metadata-export` | same: export the VM's metadata only | |
//! | `exclude` | VM name, uuid, regex or `tag:NAME` (repeatable) | |
//! | `max_backups` | backups kept per VM, ≥ 1 (alias `keep_last`) | 4 |
//! | `backup_dir` | directory of the backups | `/snapshots/BACKUPS` |
//! | `status_log` | NAUbackup's status log | `/snapshots/NAUbackup/status.log` |
//! | `vdi_export_format` | `raw` or `vhd` | `raw` |
//! | `pool_db_backup` | `0` or `1`: dump the pool database too | `0` |
//! | `compress` | boolean: XAPI gzips vm-exports on the host (`use_compression`) | false |
//! | `pre_clean` | boolean: accepted and ignored, with a warning (see below) | false |
//! | `ignore_extra_keys` | boolean: unknown keys are warnings, not errors | false |
//!
//! Booleans are `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case.
//!
//! **Selectors.** A value made only of letters, digits, `_`, white space and `-` (Python's
//! `^[\w\s\-_]+$`, Unicode-aware) is a plain name: it selects the VM with exactly that
//! name, or, when no VM has it, the VM with that uuid. Anything else is a Python regular
//! expression matched from the start of the name (`re.match`: `PROD.*` selects every name
//! starting with `PROD`; add `$` to anchor the end). The translation to Rust's `regex` and
//! the constructs it lacks (look-around, backreferences) are listed in [`Pattern`].
//! Names and patterns are case-sensitive. Templates, snapshots and dom0 are never
//! selected. How the rules combine — excludes, one job per VM, duplicate names — is in
//! [`selection`].
//!
//! **Tags** (TINABS): `tag:NAME` selects the VMs whose XAPI tags (`VM.tags`) hold `NAME`
//! exactly, in any rule: `vm-export=tag:nightly:3`, `exclude=tag:no-backup`. `%a` in the
//! tag is the run's weekday in local time, `Mon` … `Sun`, as TINABS's GUI selected:
//! `vm-export=tag:%a` backs up on Tuesdays the VMs tagged `Tue`; `preview` says which day
//! it took. `%%` is a `%`, `\:` a `:` in a tag. A tag that no VM carries is a warning, as a
//! pattern that matches nothing. NAUbackup knew no tags and read `tag:3` as the VM named
//! `tag` kept 3 times; that line now selects the VMs tagged `3`, with a warning (write
//! `^tag$:3` for the old meaning). See [`TagSelector`].
//!
//! **`:N`** after a selector keeps N backups of the VMs it selects instead of
//! `max_backups`. It is split off at the last `:` outside parentheses and brackets, so
//! `(?:a|b)` keeps its colon; write a `:` of a name as `\:`. `vmbackup prune --config`
//! applies the same keep without the pool, from the VM's name (its directory) and the
//! uuids its manifests record; where only the pool could tell which rule applies (a rule
//! by uuid, an exclude that may match, a name that cannot be decoded), it keeps the
//! largest count that may apply ([`prune::offline_policy`]).
//!
//! ## Our keys
//!
//! | key | value | default |
//! |---|---|---|
//! | `skeleton-export` | selector with `:N` (repeatable): TINABS's skeleton | |
//! | `backup-sr-export` | selector with `:N` (repeatable): TINABS 2.0's backup SR (below) | |
//! | `backup_sr` | the SR backup-sr-exports copy disks to: its uuid or unique name | required by them |
//! | `host` | pool master: `https://host[:port]`, `http://…`, or `host` (https) | none |
//! | `user` | XAPI user | `root` |
//! | `password_file` | file holding the password as plain text (trailing newline removed) | |
//! | `password_file_base64` | NAUbackup's `create-password-file` file (base64) | |
//! | `tls_fingerprint` | SHA-256 certificate fingerprint to pin (repeatable or comma list) | |
//! | `tls_ca_file` | PEM file of the certificates to trust | system roots |
//! | `tls_insecure` | boolean: accept any certificate (warned about) | false |
//! | `checksum` | digest in the manifest: `xxh64` or `sha256` | `xxh64` |
//! | `compression` | done by vmbackup: `none`, `zstd` or `gzip` | `none` |
//! | `concurrency` | VMs backed up at once, ≥ 1 | 1 |
//! | `all_disks` | boolean: vdi-export every disk, not only the boot disk | false |
//! | `file_mode` | octal mode of backup files and pool database dumps; folders get `x` where `r` is | `0600` (folders `0700`) |
//! | `mail_to` | report recipients (repeatable or comma list) | no report |
//! | `mail_from` | report sender (required with `mail_to`) | |
//! | `smtp_server` | `host`, `host:port` or `[v6]:port` (required with `mail_to`) | port 587, or 25 without STARTTLS |
//! | `smtp_user`, `smtp_password_file` | SMTP AUTH (PLAIN or LOGIN), together | no AUTH |
//! | `smtp_starttls` | boolean: require STARTTLS | true |
//! | `smtp_ca_file` | PEM file of the certificates the SMTP server may present | system roots |
//! | `mail_on` | `always`, or `failure` (runs with a warning or an error) | `always` |
//! | `keep_hourly` … `keep_yearly` | counts of calendar buckets (`-1`/`unlimited`: all) | off |
//! | `keep_within`, `keep_within_hourly` … `keep_within_yearly` | spans such as `1y2m3d4h` | off |
//! | `max_age_days` | remove backups older than this, ≥ 1 | off |
//!
//! Retention keys map to [`retention::Policy`] (see the `retention` crate for how the
//! rules combine; the newest complete backup is always kept). `max_backups` defaults to 4
//! only when no other retention key is given; with calendar rules alone it is off.
//! Relative paths in a file are relative to the file's directory. At most one of
//! `tls_fingerprint`, `tls_ca_file` and `tls_insecure=true` may be given, and at most one
//! of the two password files; with neither, the caller reads the password from the
//! environment or a prompt (never from the command line).
//!
//! ## The backup-SR variant (TINABS 2.0)
//!
//! `backup-sr-export=web` with `backup_sr=Backup NFS` keeps the disk data on the storage
//! side: the snapshot of the VM's system disk is copied to the backup SR (`VDI.copy`), its
//! data disks are recreated blank there, and only the metadata of that VM goes into the
//! backup directory (`web.xva`, an `ova.xml`-only archive, besides the usual files); the
//! manifest lists the disks on the SR. `verify --config` checks that they still exist,
//! marked as ours, with their size; `restore` imports the metadata with blank disks and
//! puts a copy of the system disk back in its slot; retention destroys a pruned backup's
//! disks before its directory (`vmbackup prune` connects to the configuration's `host`
//! for that; without one it keeps such backups). The next run of the VM removes the disks
//! a killed run left on the SR. See
//! [`backup_sr`].
//!
//! ## The vm-selector form
//!
//! As VmBackup.py, [`Config::from_selector`] accepts instead of a file `NAME-or-regex`
//! (a vm-export), `vm-export=SEL`, `vdi-export=SEL` (and our `metadata-export=SEL`,
//! `skeleton-export=SEL`), each with an optional `:N`; every setting takes its default.
//! VmBackup.py's optional `compress=`, `ignore_extra_keys=` and `pre_clean=` arguments are
//! [`Overrides`].
//!
//! ## Differences from NAUbackup, and why
//!
//! - **A `=` inside a value** is kept: the line is split at its first `=`. VmBackup.py
//!   split at every `=` and crashed.
//! - **A setting given twice** is an error naming both lines. VmBackup.py turned it into a
//!   list that then failed validation with a confusing message.
//! - **Excludes apply whatever their line order.** VmBackup.py applied an exclude only to
//!   the export lines after it.
//! - **`:N` with N ≤ 0 or not a number is an error.** VmBackup.py silently kept
//!   `max_backups`.
//! - **Unknown keys are errors with their line** (warnings with `ignore_extra_keys=true`,
//!   wherever that line is), with a suggestion for near misses (`vm_export`).
//! - **An empty `vm-export=` is an error.** VmBackup.py selected every VM; write `.*` for
//!   that. Other empty selectors are ignored with a warning, as VmBackup.py ignored them.
//! - **`pre_clean=true` is ignored, with a warning.** Old backups are removed only after
//!   the new one is complete, never before.
//! - **`compress=true` with `compression=`** is an error: the export would be compressed
//!   twice.
//! - **Every problem is reported at once**, each with its file and line, instead of the
//!   first only.
//! - **Patterns** follow Python 3's `re` (Unicode classes), not VmBackup.py's Python 2 byte
//!   strings; a VM name with non-ASCII letters is a plain name.
//! - **Relative paths** are relative to the configuration file, not to the working
//!   directory (under cron, the home directory).
//! - **An exclude that matches nothing** is a warning, not an error: a VM that no longer
//!   exists must not stop the other backups.
//! - **Backups are private to their owner**: files `0600`, folders `0700` (`file_mode`
//!   sets another mode). VmBackup.py wrote them `0644` in `0755` folders, readable by
//!   every local user.
//! - **Selection errors are per rule** (an unknown or duplicated name), so the run can go
//!   on with the other VMs, as VmBackup.py's run did, while `preview` reports them.
//! - **Files are bounded**: a configuration file is a regular file of at most 1 MiB, a
//!   password file one of at most 64 KiB ([`cli_common::files`]); a device, a FIFO or a
//!   larger file is a configuration error naming the path.
//! - **A password in `host=`** (`https://root:PW@host`) is refused without echoing it.
//! - **The status log never stops a run**: its missing folder is created (`preview` says
//!   so); one that cannot be written is warned about, the VMs are backed up all the same,
//!   and the run exits 2 so that cron notices.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use vmbackup::{Config, JobKind, Overrides, VmInfo, resolve};
//!
//! let text = "\
//! ## Weekend VMs
//! max_backups=4
//! backup_dir=/snapshots/BACKUPS
//! vdi-export=PROD-CentOS7-large-user-disks
//! vm-export=PROD.*
//! vm-export=DEV-RH.*:3
//! exclude=PROD-ubuntu12-benchmark
//! ";
//! let config = Config::parse(text, Path::new("weekend.cfg"), Path::new("/etc"), Overrides::default())?;
//! let vm = |name: &str, uuid: &str| VmInfo {
//!     uuid: uuid.into(),
//!     name_label: name.into(),
//!     is_a_template: false,
//!     is_a_snapshot: false,
//!     is_control_domain: false,
//!     tags: Vec::new(),
//! };
//! let pool = [
//!     vm("PROD-ubuntu14", "u14"),
//!     vm("PROD-ubuntu12-benchmark", "u12"),
//!     vm("PROD-CentOS7-large-user-disks", "c7"),
//!     vm("DEV-RH6", "rh6"),
//! ];
//! let selection = resolve(&config.rules, &pool, jiff::civil::Weekday::Monday);
//! let jobs: Vec<(&str, JobKind, Option<u32>)> = selection
//!     .jobs
//!     .iter()
//!     .map(|job| (job.name.as_str(), job.kind, job.keep.map(|n| n.get())))
//!     .collect();
//! assert_eq!(
//!     jobs,
//!     [
//!         ("DEV-RH6", JobKind::VmExport, Some(3)),
//!         ("PROD-CentOS7-large-user-disks", JobKind::VdiExport, None),
//!         ("PROD-ubuntu14", JobKind::VmExport, None),
//!     ]
//! );
//! assert!(selection.errors.is_empty() && selection.warnings.is_empty());
//! # Ok::<(), vmbackup::VmBackupError>(())
//! ```

pub mod backup_sr;
pub mod cancel;
pub mod config;
pub mod connect;
mod error;
pub mod guards;
pub mod inventory;
pub mod jobs;
pub mod mail;
pub mod naubackup_files;
pub mod ovirt_restore;
pub mod owner;
mod pattern;
pub mod pool_db;
pub mod prune;
pub mod restore;
pub mod run;
pub mod save;
pub mod selection;
pub mod status_log;
pub mod tag;

pub use config::{Config, JobKind, Overrides, Rule, RuleAction};
pub use error::{Issue, Location, Result, VmBackupError};
pub use pattern::{Pattern, Selector, is_plain_name};
pub use selection::{Job, Selection, VmInfo, resolve};
pub use tag::TagSelector;
