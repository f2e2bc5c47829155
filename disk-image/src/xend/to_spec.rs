//! From a parsed configuration to a [`VmSpec`]: defaults, checks between keys, and the
//! mapping of xend's vocabulary onto XAPI's.

use super::{DiskFormat, Problem, Setting, XendConfig};
use crate::{Actions, Boot, DiskSpec, Platform, VifSpec, VmSpec};

/// The network a VIF without `bridge=` joins: the name of XenServer's network on the first
/// NIC, as in xva.py's template (the importer matches networks by this name).
pub const DEFAULT_NETWORK: &str = "Pool-wide network associated with eth0";

/// Memory when `memory` is absent, in MiB (xva.py's default; xm's was 128).
const DEFAULT_MEMORY_MIB: i64 = 256;

/// The XAPI action for xend action `action` of key `key` (`on_poweroff`, `on_reboot`,
/// `on_crash`), and a note when XAPI has no exact equivalent: after shutdown and reboot
/// XAPI only destroys or restarts, so `preserve` becomes `destroy` and `rename-restart`
/// becomes `restart` there.
pub(super) fn xapi_action(
    key: &str,
    action: &str,
) -> Result<(&'static str, Option<String>), String> {
    let exact = match action {
        "destroy" => "destroy",
        "restart" => "restart",
        "preserve" => "preserve",
        "rename-restart" => "rename_restart",
        "coredump-destroy" => "coredump_and_destroy",
        "coredump-restart" => "coredump_and_restart",
        _ => {
            return Err(format!(
                "`{key}` action `{action}` is not one of destroy, restart, preserve, \
                 rename-restart, coredump-destroy, coredump-restart"
            ));
        }
    };
    if key == "on_crash" || matches!(exact, "destroy" | "restart") {
        return Ok((exact, None));
    }
    let nearest = if exact.ends_with("restart") {
        "restart"
    } else {
        "destroy"
    };
    let note = format!(
        "XenServer can only destroy or restart a VM after a shutdown or reboot: `{key}` \
         '{action}' becomes '{nearest}'"
    );
    Ok((nearest, Some(note)))
}

/// See [`XendConfig::to_vm_spec`].
pub(super) fn vm_spec(config: &XendConfig) -> Result<VmSpec, Problem> {
    let end = config.lines;
    let name = match &config.name {
        Some(name) if name.value.trim().is_empty() => {
            return Err(Problem::new(name.line, "`name` is empty".to_owned()));
        }
        Some(name) => name.value.clone(),
        None => return Err(Problem::new(end, "no `name` is set".to_owned())),
    };
    let mut spec = VmSpec::new(name);
    if let Some(description) = &config.description {
        spec.description.clone_from(&description.value);
    }
    let memory_mib =
        positive(config.memory.as_ref(), "memory", "MiB")?.unwrap_or(DEFAULT_MEMORY_MIB);
    spec.memory = mib_to_bytes(memory_mib, config.memory.as_ref())?;
    if let Some(maxmem) = positive(config.maxmem.as_ref(), "maxmem", "MiB")? {
        let line = config.maxmem.as_ref().map_or(end, |m| m.line);
        if maxmem < memory_mib {
            return Err(Problem::new(
                line,
                format!("`maxmem` ({maxmem} MiB) is below `memory` ({memory_mib} MiB)"),
            ));
        }
        spec.max_memory = Some(mib_to_bytes(maxmem, config.maxmem.as_ref())?);
    }
    let max_vcpus = positive(config.maxvcpus.as_ref(), "maxvcpus", "vCPUs")?;
    let vcpus = positive(config.vcpus.as_ref(), "vcpus", "vCPUs")?
        .or(max_vcpus)
        .unwrap_or(1);
    spec.vcpus = to_u32(vcpus, config.vcpus.as_ref().or(config.maxvcpus.as_ref()))?;
    if let (Some(max), Some(setting)) = (max_vcpus, &config.maxvcpus) {
        if max < vcpus {
            return Err(Problem::new(
                setting.line,
                format!("`maxvcpus` ({max}) is below `vcpus` ({vcpus})"),
            ));
        }
        spec.max_vcpus = Some(to_u32(max, Some(setting))?);
    }
    spec.boot = boot(config)?;
    spec.platform = platform(config);
    spec.actions = actions(config)?;
    let entries = config.disk.as_ref().map_or(&[][..], |d| &d.value[..]);
    for disk in entries.iter().filter(|d| !d.cdrom) {
        if disk.format != DiskFormat::Raw {
            return Err(Problem::new(
                disk.line,
                format!(
                    "disk '{}' is a {} image, not a raw image: convert it first (qemu-img \
                     convert -O raw)",
                    disk.entry,
                    disk.format.name()
                ),
            ));
        }
        let Some(path) = disk.target.clone() else {
            return Err(Problem::new(
                disk.line,
                format!("disk '{}' has no image or device path", disk.entry),
            ));
        };
        spec.disks.push(DiskSpec {
            path,
            device: Some(disk.device.clone()),
            writable: disk.writable,
        });
    }
    if spec.disks.is_empty() {
        let line = config.disk.as_ref().map_or(end, |d| d.line);
        let why = if config.disk.is_some() {
            "lists no disk to package"
        } else {
            "is not set"
        };
        return Err(Problem::new(
            line,
            format!("`disk` {why}: a VM needs at least one disk"),
        ));
    }
    let vifs = config.vif.as_ref().map_or(&[][..], |v| &v.value[..]);
    spec.vifs = vifs
        .iter()
        .map(|vif| VifSpec {
            mac: vif.mac.clone(),
            network: vif
                .bridge
                .clone()
                .unwrap_or_else(|| DEFAULT_NETWORK.to_owned()),
        })
        .collect();
    spec.cd_drive = matches!(spec.boot, Boot::Hvm { .. }) || entries.iter().any(|d| d.cdrom);
    Ok(spec)
}

/// The value of a count that must be positive, if set.
fn positive(setting: Option<&Setting<i64>>, key: &str, unit: &str) -> Result<Option<i64>, Problem> {
    match setting {
        Some(s) if s.value <= 0 => Err(Problem::new(
            s.line,
            format!(
                "`{key}` must be a positive number of {unit}, found {}",
                s.value
            ),
        )),
        Some(s) => Ok(Some(s.value)),
        None => Ok(None),
    }
}

fn mib_to_bytes(mib: i64, setting: Option<&Setting<i64>>) -> Result<u64, Problem> {
    u64::try_from(mib)
        .ok()
        .and_then(|m| m.checked_mul(1 << 20))
        .ok_or_else(|| {
            Problem::new(
                setting.map_or(1, |s| s.line),
                format!("{mib} MiB is too large"),
            )
        })
}

fn to_u32(count: i64, setting: Option<&Setting<i64>>) -> Result<u32, Problem> {
    u32::try_from(count).map_err(|_| {
        Problem::new(
            setting.map_or(1, |s| s.line),
            format!("{count} vCPUs is too many"),
        )
    })
}

fn boot(config: &XendConfig) -> Result<Boot, Problem> {
    if let Some(pvh) = config.guest_type.as_ref().filter(|t| t.value == "pvh") {
        return Err(Problem::new(
            pvh.line,
            "XenServer runs PV and HVM guests, not PVH: set type = 'pv' or 'hvm'".to_owned(),
        ));
    }
    if config.is_hvm() {
        let order = config.boot.as_ref().map_or("cd", |b| b.value.as_str());
        return Ok(Boot::Hvm {
            order: order.to_owned(),
        });
    }
    let args = if let Some(cmdline) = &config.cmdline {
        cmdline.value.trim().to_owned()
    } else {
        // xend built the command line as "root=<root> <extra>".
        let root = config
            .root
            .as_ref()
            .map(|r| r.value.trim())
            .filter(|r| !r.is_empty());
        let root = root.map(|r| format!("root={}", r.strip_prefix("root=").unwrap_or(r)));
        let extra = config.extra.as_ref().map(|e| e.value.trim().to_owned());
        let parts: Vec<String> = [root, extra]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        parts.join(" ")
    };
    let kernel = config.kernel.as_ref().filter(|k| !k.value.is_empty());
    Ok(match (&config.bootloader, kernel) {
        (None, Some(kernel)) => Boot::Pv {
            bootloader: None,
            kernel: Some(kernel.value.clone()),
            ramdisk: config
                .ramdisk
                .as_ref()
                .map(|r| r.value.clone())
                .filter(|r| !r.is_empty()),
            args,
        },
        // An explicit bootloader, or none at all: pygrub reads the kernel from the disk.
        _ => Boot::Pv {
            bootloader: Some("pygrub".to_owned()),
            kernel: None,
            ramdisk: None,
            args,
        },
    })
}

fn platform(config: &XendConfig) -> Platform {
    let defaults = Platform::default();
    let flag = |s: &Option<Setting<bool>>, default| s.as_ref().map_or(default, |s| s.value);
    Platform {
        acpi: flag(&config.acpi, defaults.acpi),
        apic: flag(&config.apic, defaults.apic),
        pae: flag(&config.pae, defaults.pae),
        nx: flag(&config.nx, defaults.nx),
        viridian: flag(&config.viridian, defaults.viridian),
    }
}

fn actions(config: &XendConfig) -> Result<Actions, Problem> {
    let defaults = Actions::default();
    let action = |s: &Option<Setting<String>>, key: &str, default: String| match s {
        Some(s) => xapi_action(key, &s.value)
            .map(|(action, _)| action.to_owned())
            .map_err(|message| Problem::new(s.line, message)),
        None => Ok(default),
    };
    Ok(Actions {
        shutdown: action(&config.on_poweroff, "on_poweroff", defaults.shutdown)?,
        reboot: action(&config.on_reboot, "on_reboot", defaults.reboot)?,
        crash: action(&config.on_crash, "on_crash", defaults.crash)?,
    })
}
