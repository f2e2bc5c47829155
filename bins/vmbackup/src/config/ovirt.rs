//! The oVirt side of a configuration: the engine to connect to, how disks are read
//! (`mode`), where backups go (`layout`), and oVirtSimpleBackup's own keys read as ours.
//! The keys and what each of the seed's keys becomes are in the
//! [crate documentation](crate#ovirt).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::parse::Reader;
use super::values::{host_url, positive};
use crate::error::Location;
use crate::pattern::Selector;
use crate::selection::VmInfo;

/// The default `label` (oVirtSimpleBackup's): it starts snapshot descriptions and the
/// names of `layout=ovirtsimplebackup` backups.
pub const DEFAULT_LABEL: &str = "BU_";
/// The default oVirt user.
pub const DEFAULT_OVIRT_USER: &str = "admin@internal";
/// The default `backup_dir` of an oVirt configuration (oVirtSimpleBackup's `mount_backups`).
pub const DEFAULT_OVIRT_BACKUP_DIR: &str = "/mnt/backups";
/// Where the appliance reads its own VM id by default (SMBIOS).
pub const DEFAULT_PRODUCT_UUID: &str = "/sys/class/dmi/id/product_uuid";
/// Where the appliance finds attached disks by serial by default.
pub const DEFAULT_BY_ID_DIR: &str = "/dev/disk/by-id";

/// Which hypervisor platform a configuration backs up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// XenServer / XCP-ng (NAUbackup's): the default.
    #[default]
    XenServer,
    /// oVirt (oVirtSimpleBackup's): `platform=ovirt` or an `engine=` URL.
    Ovirt,
}

/// How an oVirt VM's disks are read (`mode=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadMode {
    /// An image transfer of each disk snapshot through ovirt-imageio (the default).
    #[default]
    Imageio,
    /// Each disk snapshot attached to the VM vmbackup runs on, read by its serial under
    /// `/dev/disk/by-id` (oVirtSimpleBackup's way).
    Appliance,
}

impl ReadMode {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadMode::Imageio => "imageio",
            ReadMode::Appliance => "appliance",
        }
    }
}

/// Where and how an oVirt VM's backups are laid out (`layout=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OvirtLayout {
    /// Ours: `<backup_dir>/<vm>/<UTC stamp>/` with `DISK-<n>-<alias>.raw[.zst]`, the OVF,
    /// the records and `manifest.json`.
    #[default]
    Own,
    /// oVirtSimpleBackup's: `<backup_dir>/<VM>/<uuid>/<label><YYYYmmdd_HHMMSS>/` with
    /// `data.xml`, `DiskN.dat`, `DiskN.img[.gz]`, plus our records and `manifest.json`.
    #[serde(rename = "ovirtsimplebackup")]
    OvirtSimpleBackup,
}

impl OvirtLayout {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            OvirtLayout::Own => "own",
            OvirtLayout::OvirtSimpleBackup => "ovirtsimplebackup",
        }
    }
}

/// The bus snapshot disks are plugged on in `mode=appliance` (`drive_interface=`, the
/// seed's key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApplianceBus {
    /// `virtio` (serial `virtio-<serial>`).
    #[default]
    Virtio,
    /// `virtio_scsi` (serial `scsi-0QEMU_QEMU_HARDDISK_<serial>`).
    VirtioScsi,
}

/// A per-VM `mode`: `appliance_mode=SEL` or `imageio_mode=SEL`.
#[derive(Debug, Clone)]
pub struct ModeRule {
    /// The mode for the VMs it matches.
    pub mode: ReadMode,
    /// Which VMs.
    pub selector: Selector,
    /// Where it was written.
    pub at: Location,
}

/// The engine and how vmbackup works with it; present when the platform is oVirt. The
/// user, password source and TLS trust are the configuration's shared `user`,
/// `password_file` and `tls_*` settings.
#[derive(Debug, Clone)]
pub struct OvirtSettings {
    /// The engine's URL, `https://engine[:port]` (`engine=`, the seed's `ovirt_url`).
    pub engine: String,
    /// How disks are read unless a [`ModeRule`] says otherwise (`mode=`).
    pub mode: ReadMode,
    /// Per-VM modes, in line order; the last one matching a VM wins.
    pub modes: Vec<ModeRule>,
    /// The appliance's own VM id (`appliance_vm=`, the seed's `uuid_backup_engine`);
    /// `None`: read from [`OvirtSettings::product_uuid_file`].
    pub appliance_vm: Option<String>,
    /// Where the appliance reads its SMBIOS uuid (`product_uuid_file=`).
    pub product_uuid_file: PathBuf,
    /// Where attached disks show up by serial (`by_id_dir=`).
    pub by_id_dir: PathBuf,
    /// The bus of attached disks (`drive_interface=`).
    pub bus: ApplianceBus,
    /// The backup layout (`layout=`).
    pub layout: OvirtLayout,
    /// The label starting snapshot descriptions and seed-layout directory names (`label=`).
    pub label: String,
    /// The storage domain a restore puts disks on by default (`storage_domain=`).
    pub storage_domain: Option<String>,
    /// The cluster a restore puts the VM on by default (`cluster=`).
    pub cluster: Option<String>,
    /// Disks of one VM read at the same time (`disk_concurrency=`).
    pub disk_concurrency: NonZeroUsize,
    /// How long a snapshot may stay `locked` (`snapshot_timeout=`, seconds).
    pub snapshot_timeout: Duration,
    /// How long removing a snapshot may take (`snapshot_remove_timeout=`, seconds).
    pub remove_timeout: Duration,
    /// How long an attached disk may take to show up (`device_timeout=`, seconds).
    pub device_timeout: Duration,
}

impl OvirtSettings {
    /// The read mode of `vm` on `today` (for `tag:%a`): the last [`ModeRule`] matching it,
    /// else [`OvirtSettings::mode`].
    pub fn mode_for(&self, vm: &VmInfo, today: jiff::civil::Weekday) -> ReadMode {
        self.modes
            .iter()
            .rev()
            .find(|rule| crate::selection::selector_matches(&rule.selector, vm, today))
            .map_or(self.mode, |rule| rule.mode)
    }
}

/// oVirt keys that take one value (checked for duplicates like every scalar).
pub(super) const OVIRT_SCALAR_KEYS: &[&str] = &[
    "platform",
    "engine",
    "mode",
    "appliance_vm",
    "product_uuid_file",
    "by_id_dir",
    "drive_interface",
    "layout",
    "label",
    "storage_domain",
    "cluster",
    "disk_concurrency",
    "snapshot_timeout",
    "snapshot_remove_timeout",
    "device_timeout",
    "withoutmemory",
];

/// oVirtSimpleBackup's keys that are ours under another name: `(seed key, our key)`.
pub(super) const SEED_ALIASES: &[(&str, &str)] = &[
    ("ovirt_url", "engine"),
    ("ovirt_user", "user"),
    ("uuid_backup_engine", "appliance_vm"),
    ("mount_backups", "backup_dir"),
    ("retention", "max_backups"),
    ("emailfrom", "mail_from"),
    ("backup_log", "status_log"),
];

/// oVirtSimpleBackup's keys read and ignored with a warning, and why.
pub(super) const SEED_IGNORED: &[(&str, &str)] = &[
    (
        "drive_type",
        "attached disks are found by serial, not by device name",
    ),
    (
        "firstbackupdisk",
        "attached disks are found by serial, not by device letter",
    ),
    (
        "tz",
        "the system's time zone names the seed layout's directories",
    ),
    ("mount_migrate", "migrations are xen2ovirt's"),
    ("xen_ip", "migrations are xen2ovirt's"),
    ("xen_migrate_uuid", "migrations are xen2ovirt's"),
    ("xen_migrate_ip", "migrations are xen2ovirt's"),
    (
        "restore_console",
        "a restore takes the VM's settings from the backup",
    ),
    (
        "restore_os",
        "a restore takes the VM's settings from the backup",
    ),
    (
        "restore_vm_type",
        "a restore takes the VM's settings from the backup",
    ),
    (
        "restore_cpu_sockets",
        "a restore takes the VM's settings from the backup",
    ),
    (
        "restore_cpu_cores",
        "a restore takes the VM's settings from the backup",
    ),
    (
        "restore_cpu_threads",
        "a restore takes the VM's settings from the backup",
    ),
];

/// Keys of XenServer backups only.
pub(super) const XAPI_ONLY_KEYS: &[&str] = &[
    "host",
    "pool_db_backup",
    "vdi_export_format",
    "all_disks",
    "backup_sr",
];

fn seconds(value: &str) -> Result<Duration, String> {
    positive(value).map(|n| Duration::from_secs(u64::from(n.get())))
}

impl Reader {
    /// The platform: `platform=`, else oVirt when `engine=` is given.
    pub(super) fn platform(&mut self) -> Platform {
        let engine_given = self.scalars.contains_key("engine");
        let platform = self.take("platform", |v| match v.to_ascii_lowercase().as_str() {
            "ovirt" => Ok(Platform::Ovirt),
            "xenserver" | "xcp-ng" | "xapi" => Ok(Platform::XenServer),
            _ => Err(format!("`{v}` is not xenserver or ovirt")),
        });
        match platform {
            Some((at, Platform::XenServer)) if engine_given => {
                self.error(at, "platform=xenserver with engine=: engine= is oVirt's");
                Platform::XenServer
            }
            Some((_, platform)) => platform,
            None if engine_given => Platform::Ovirt,
            None => Platform::XenServer,
        }
    }

    /// Refuses the oVirt keys in a XenServer configuration.
    pub(super) fn refuse_ovirt_keys(&mut self) {
        for key in OVIRT_SCALAR_KEYS {
            if let Some((at, written, _)) = self.scalars.remove(key) {
                self.error(
                    at,
                    format!("`{written}` is an oVirt setting: add platform=ovirt and engine="),
                );
            }
        }
        for rule in std::mem::take(&mut self.mode_rules) {
            self.error(
                rule.at,
                "per-VM modes are oVirt settings: add platform=ovirt and engine=",
            );
        }
    }

    /// Refuses the XenServer keys and rules in an oVirt configuration.
    pub(super) fn refuse_xapi_keys(&mut self) {
        for key in XAPI_ONLY_KEYS {
            if let Some((at, written, _)) = self.scalars.remove(key) {
                let hint = if *key == "host" {
                    " (the engine is engine=)"
                } else {
                    ""
                };
                self.error(at, format!("`{written}` is a XenServer setting{hint}"));
            }
        }
        let rules = std::mem::take(&mut self.rules);
        for rule in rules {
            match rule.action {
                super::RuleAction::Export(super::JobKind::VmExport)
                | super::RuleAction::Exclude => self.rules.push(rule),
                super::RuleAction::Export(kind) => self.error(
                    rule.at,
                    format!(
                        "{kind} is a XenServer export: an oVirt VM is backed up whole with vm-export= (or the seed's vms_to_backup=)"
                    ),
                ),
            }
        }
    }

    /// `compress=` as oVirtSimpleBackup meant it (0 none, 1 gzip, 2 lzo, 3 bzip2,
    /// 4 pbzip2), and `compression=`; they must agree.
    pub(super) fn ovirt_compression(&mut self) -> disk_image::compress::Compression {
        use disk_image::compress::Compression;
        let seed = self.take("compress", |v| match v {
            "0" => Ok(Compression::None),
            "1" => Ok(Compression::Gzip),
            "2" | "3" | "4" => Err(format!(
                "`{v}` (lzo, bzip2, pbzip2) is read from old backups but not written: use compress=1 (gzip) or compression=zstd"
            )),
            _ => Err(format!(
                "`{v}` is not oVirtSimpleBackup's 0 (none) to 4 (pbzip2)"
            )),
        });
        let ours = self.take("compression", |v| {
            v.parse::<Compression>()
                .map_err(|_| format!("`{v}` is not none, zstd or gzip"))
        });
        match (seed, ours) {
            (Some((_, a)), Some((at, b))) if a != b && a != Compression::None => {
                self.error(at, "compression= and compress= disagree: choose one");
                Compression::None
            }
            (_, Some((_, kind))) | (Some((_, kind)), None) => kind,
            (None, None) => Compression::None,
        }
    }

    /// `snapshot_timeout`, `snapshot_remove_timeout`, `device_timeout`.
    fn timeouts(&mut self) -> (Duration, Duration, Duration) {
        let mut timeout = |key, default| {
            self.take(key, seconds)
                .map_or(Duration::from_secs(default), |(_, d)| d)
        };
        (
            timeout("snapshot_timeout", 600),
            timeout("snapshot_remove_timeout", 1800),
            timeout("device_timeout", 60),
        )
    }

    /// The oVirt settings (`engine=` is required).
    pub(super) fn ovirt(&mut self) -> Option<OvirtSettings> {
        let engine = self.take("engine", host_url).map(|(at, (url, plain))| {
            if plain {
                self.warn(at, "http:// sends the oVirt password in clear text");
            }
            url
        });
        if let Some((at, false)) = self.flag("withoutmemory") {
            self.warn(
                at,
                "withoutmemory=0 ignored: vmbackup always snapshots without memory (a memory snapshot is not a disk backup)",
            );
        }
        let mode = self
            .take("mode", read_mode)
            .map(|(_, m)| m)
            .unwrap_or_default();
        let layout = self
            .take("layout", |v| match v {
                "own" => Ok(OvirtLayout::Own),
                "ovirtsimplebackup" => Ok(OvirtLayout::OvirtSimpleBackup),
                _ => Err(format!("`{v}` is not own or ovirtsimplebackup")),
            })
            .map(|(_, l)| l)
            .unwrap_or_default();
        let label = self
            .take("label", |v| {
                if v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    Ok(v.to_owned())
                } else {
                    Err(format!(
                        "`{v}`: a label is letters, digits, `_`, `-` and `.` (it names directories and snapshots)"
                    ))
                }
            })
            .map_or_else(|| DEFAULT_LABEL.to_owned(), |(_, l)| l);
        let appliance_vm = self
            .take("appliance_vm", |v| {
                let id = v.to_ascii_lowercase();
                if uuid_like(&id) {
                    Ok(id)
                } else {
                    Err(format!("`{v}` is not a VM id (a uuid)"))
                }
            })
            .map(|(_, id)| id);
        let product_uuid_file = self
            .path("product_uuid_file")
            .map_or_else(|| DEFAULT_PRODUCT_UUID.into(), |(_, p)| p);
        let by_id_dir = self
            .path("by_id_dir")
            .map_or_else(|| DEFAULT_BY_ID_DIR.into(), |(_, p)| p);
        let bus = self
            .take("drive_interface", |v| match v {
                "virtio" => Ok(ApplianceBus::Virtio),
                "virtio_scsi" => Ok(ApplianceBus::VirtioScsi),
                _ => Err(format!("`{v}` is not virtio or virtio_scsi")),
            })
            .map(|(_, b)| b)
            .unwrap_or_default();
        let text = |v: &str| Ok(v.to_owned());
        let storage_domain = self.take("storage_domain", text).map(|(_, v)| v);
        let cluster = self.take("cluster", text).map(|(_, v)| v);
        let disk_concurrency = self
            .take("disk_concurrency", positive)
            .map_or(NonZeroUsize::new(2).expect("2 is not 0"), |(_, n)| {
                NonZeroUsize::try_from(n).expect("u32 fits in usize")
            });
        let (snapshot_timeout, remove_timeout, device_timeout) = self.timeouts();
        let modes = std::mem::take(&mut self.mode_rules);
        let Some(engine) = engine else {
            self.error(
                Location::CommandLine,
                "platform=ovirt needs engine= (the engine's URL, https://engine.example)",
            );
            return None;
        };
        Some(OvirtSettings {
            engine,
            mode,
            modes,
            appliance_vm,
            product_uuid_file,
            by_id_dir,
            bus,
            layout,
            label,
            storage_domain,
            cluster,
            disk_concurrency,
            snapshot_timeout,
            remove_timeout,
            device_timeout,
        })
    }
}

/// `imageio` or `appliance`.
pub(super) fn read_mode(value: &str) -> Result<ReadMode, String> {
    match value {
        "imageio" => Ok(ReadMode::Imageio),
        "appliance" => Ok(ReadMode::Appliance),
        _ => Err(format!("`{value}` is not imageio or appliance")),
    }
}

/// 8-4-4-4-12 hex digits.
fn uuid_like(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
