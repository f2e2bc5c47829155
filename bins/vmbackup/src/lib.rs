//! `vmbackup`, the toolkit's XenServer / XCP-ng and oVirt backup, as a library under the
//! thin `vmbackup` binary (oVirt: see [below](#ovirt)).
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
//! # oVirt
//!
//! `platform=ovirt` (or an `engine=` URL; without either the platform is XenServer) backs
//! up oVirt VMs, replacing oVirtSimpleBackup. The file format, the selection rules (names,
//! regexes, `exclude`, `:N`, `tag:` with the VMs' oVirt tags, `tag:%a`), the status log,
//! e-mail, `--json`, retention and the store are the same as for XenServer. Per VM: a
//! snapshot without memory whose description is `<label><YYYYmmdd_HHMMSS>` plus vmbackup's
//! owner mark (waited until `ok`); each disk read from the snapshot, in parallel up to
//! `disk_concurrency`; the OVF (`all_content`) and the API's VM / disk / attachment / NIC
//! records; the manifest with a digest of every file; the snapshot deleted and waited
//! until gone, on every path. Before each VM, what dead runs of vmbackup left on it (their
//! snapshots, transfers and appliance attachments, recognised by the owner mark) is removed,
//! and only that. See [`ovirt`].
//!
//! | key | value | default |
//! |---|---|---|
//! | `platform` | `xenserver` or `ovirt` | `xenserver`, `ovirt` with `engine=` |
//! | `engine` | the engine: `https://engine[:port]` (seed: `ovirt_url`) | required |
//! | `user` | user with its profile (seed: `ovirt_user`) | `admin@internal` |
//! | `password_file`, `password_file_base64`, `tls_ca_file`, `tls_fingerprint`, `tls_insecure` | as for XenServer; `tls_fingerprint` pins the engine's CA (SHA-256), which then also verifies the imageio daemons | |
//! | `mode` | `imageio` (image transfers) or `appliance` (attach to this VM, read by serial) | `imageio` |
//! | `appliance_mode`, `imageio_mode` | selector (name, regex, `tag:`; repeatable): these VMs use that mode; the last matching line wins | |
//! | `appliance_vm` | this VM's id in oVirt (seed: `uuid_backup_engine`) | the SMBIOS uuid |
//! | `product_uuid_file` | where the SMBIOS uuid is read | `/sys/class/dmi/id/product_uuid` |
//! | `by_id_dir` | where attached disks appear by serial | `/dev/disk/by-id` |
//! | `drive_interface` | bus of attached disks: `virtio` or `virtio_scsi` (the seed's key) | `virtio` |
//! | `layout` | `own` or `ovirtsimplebackup` (below) | `own` |
//! | `label` | starts snapshot descriptions and seed-layout names (the seed's key) | `BU_` |
//! | `compression` | `none` (raw, sparse), `zstd` or `gzip` | `none` |
//! | `compress` | the seed's `0` (none) or `1` (gzip); `2`-`4` (lzo, bzip2, pbzip2) are read from old backups, not written | `0` |
//! | `disk_concurrency` | disks of one VM read at once | 2 |
//! | `snapshot_timeout`, `snapshot_remove_timeout`, `device_timeout` | seconds a snapshot may stay `locked`, its removal may take, an attached disk may take to appear | 600, 1800, 60 |
//! | `storage_domain`, `cluster` | a restore's defaults (the seed's keys) | |
//! | `backup_dir` | (seed: `mount_backups`) | `/mnt/backups` |
//!
//! oVirtSimpleBackup's other keys: `vms_to_backup=a,b` is one `vm-export=` per name;
//! `retention` is `max_backups` (it now applies to every run, not only scheduled ones);
//! `email` is `mail_to` and `emailfrom` `mail_from` (an SMTP server is needed:
//! `smtp_server=localhost:25` with `smtp_starttls=false` for the local MTA the seed's PHP
//! `mail()` used); `backup_log` is `status_log` (NAUbackup's line format);
//! `withoutmemory=1` is what vmbackup always does (`0` is warned about: memory is never
//! saved); `drive_type`, `firstbackupdisk` (disks are found by serial), `tz`, the
//! migration keys (`mount_migrate`, `xen_ip`, `xen_migrate_uuid`, `xen_migrate_ip`) and the
//! `restore_*` keys are ignored with a warning; `ovirt_pass` is refused (passwords live in
//! files, the environment or a prompt). XenServer's keys (`host`, `vdi-export`,
//! `metadata-export`, `skeleton-export`, `backup-sr-export`, `pool_db_backup`, …) are errors
//! in an oVirt configuration, oVirt's in a XenServer one; unknown keys are errors with
//! their file and line.
//!
//! ```text
//! # /etc/vmbackup/ovirt.cfg
//! engine=https://engine.example
//! user=admin@internal
//! password_file=/etc/vmbackup/engine.pass
//! tls_fingerprint=AB:CD:…            # openssl x509 -fingerprint -sha256 of the engine's CA
//! vms_to_backup=web01,db01
//! vm-export=tag:nightly:7
//! exclude=tag:no-backup
//! retention=3
//! compression=zstd
//! ```
//!
//! **Layouts.** `layout=own` writes `<backup_dir>/<vm>/<UTC stamp>/` with
//! `DISK-<n>-<alias>.raw[.zst]`, `vm.ovf`, `vm.xml`, `disk_attachments.xml`, `disks.xml`,
//! `nics.xml` and `manifest.json`. `layout=ovirtsimplebackup` writes
//! `<backup_dir>/<VM>/<VM uuid>/<label><YYYYmmdd_HHMMSS>/` (local time) with `data.xml`
//! (the OVF), `DiskN.dat` (17 lines) and `DiskN.img` (or `DiskN.img.gz` with `compress=1`)
//! as oVirtSimpleBackup did, plus the records and `manifest.json`, so existing restore
//! runbooks keep working; it is written as `.partial-<name>` beside the finished ones and
//! renamed when complete and synced.
//!
//! **Scheduling.** oVirtSimpleBackup's schedule files and its every-5-minutes cron poll
//! are replaced by the system's scheduler:
//!
//! ```text
//! # /etc/systemd/system/vmbackup-ovirt.service
//! [Service]
//! Type=oneshot
//! ExecStart=/usr/local/bin/vmbackup run /etc/vmbackup/ovirt.cfg
//! # /etc/systemd/system/vmbackup-ovirt.timer
//! [Timer]
//! OnCalendar=Mon..Fri 01:30
//! Persistent=true
//! [Install]
//! WantedBy=timers.target
//! ```
//!
//! or, in cron: `30 1 * * 1-5 root /usr/local/bin/vmbackup -q run /etc/vmbackup/ovirt.cfg`.
//! A run takes the store's lock, so two schedules never back up into one store at once.
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
pub mod ovirt;
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
