//! Which keys a configuration may set, the type each used key must have, and the checks
//! between keys that only warn.

use super::literal::{Assignment, Item, Value};
use super::{IgnoredKey, Problem, Setting, XendConfig, disk, to_spec, vif};

/// Keys documented for xm (`xm/create.py`, xmdomain.cfg(5)) or xl (xl.cfg(5)) that a
/// XenServer VM record cannot express: accepted, listed in [`XendConfig::ignored`].
#[rustfmt::skip]
const IGNORED: &[&str] = &[
    // identity, CPU placement and scheduling
    "uuid", "pool", "cpus", "cpus_soft", "cpu", "cpu_weight", "cpu_cap", "cap", "vcpu_avail",
    "vnuma", "seclabel", "init_seclabel", "access_control", "target",
    // boot details that have no XenServer counterpart
    "bootloader_args", "bootargs", "bootentry", "loader", "features", "firmware", "bios",
    "bios_path_override", "pvshim", "pvshim_path", "pvshim_cmdline", "pvshim_extra",
    // kernel-level IP configuration (xm appends it to the command line of NFS-root guests)
    "ip", "gateway", "netmask", "hostname", "interface", "dhcp", "nfs_server", "nfs_root",
    // memory and paging
    "shadow_memory", "hap", "oos", "superpages", "e820_host", "mmio_hole",
    "machine_address_size", "suppress_spurious_page_faults", "vhpt", "s3_integrity",
    // events
    "on_xend_start", "on_xend_stop", "on_watchdog", "on_soft_reset", "restart",
    // time
    "localtime", "rtc_timeoffset", "timer_mode", "tsc_mode", "hpet", "vpt_align",
    // platform details
    "acpi_s3", "acpi_s4", "acpi_laptop_slate", "nestedhvm", "altp2m", "altp2mhvm", "cpuid",
    "cpuid_check", "xen_platform_pci", "hvm_pirq", "smbios_firmware", "acpi_firmware",
    "ms_vm_genid", "vendor_device", "guest_os_type", "isa", "nomigrate", "driver_domain",
    "max_grant_frames", "max_maptrack_frames", "max_event_channels",
    // display, console, input
    "vfb", "vnc", "vncunused", "vnclisten", "vncpasswd", "vncdisplay", "vncconsole",
    "vncviewer", "sdl", "opengl", "display", "xauthority", "nographic", "stdvga", "vga",
    "videoram", "keymap", "serial", "monitor", "spice", "spicehost", "spiceport",
    "spicetls_port", "spicedisable_ticketing", "spicepasswd", "spiceagent_mouse",
    "spicevdagent", "spice_clipboard_sharing", "spiceusbredirection", "vkb_device",
    // emulated and passed-through devices
    "device_model", "device_model_version", "device_model_override",
    "device_model_stubdomain_override", "device_model_args", "device_model_args_pv",
    "device_model_args_hvm", "device_model_user", "dm_restrict", "stubdomain_memory",
    "stubdomain_kernel", "stubdomain_ramdisk", "soundhw", "usb", "usbdevice", "usbversion",
    "usbctrl", "usbdev", "vusb", "fda", "fdb", "hdtype", "pci", "pci_msitranslate",
    "pci_power_mgmt", "pci_permissive", "pci_seize", "gfx_passthru", "rdm",
    "rdm_mem_boundary", "ioports", "irq", "irqs", "iomem", "dtdev", "vscsi", "vtpm", "vif2",
    "nics", "blkif", "netif", "tpmif", "channel", "p9",
];

/// The key `key` is stored under: `initrd` is an alias of `ramdisk`.
pub(super) fn canonical(key: &str) -> &str {
    if key == "initrd" { "ramdisk" } else { key }
}

/// Stores one assignment into `config`, checking its type.
pub(super) fn apply(config: &mut XendConfig, assignment: Assignment) -> Result<(), Problem> {
    let Assignment { key, line, value } = assignment;
    let item = &value;
    match canonical(&key) {
        "name" => config.name = text(item, &key)?.map(at(line)),
        "description" => config.description = text(item, &key)?.map(at(line)),
        "memory" => config.memory = number(item, &key)?.map(at(line)),
        "maxmem" => config.maxmem = number(item, &key)?.map(at(line)),
        "vcpus" => config.vcpus = number(item, &key)?.map(at(line)),
        "maxvcpus" => config.maxvcpus = number(item, &key)?.map(at(line)),
        "builder" => {
            config.builder = one_of(item, &key, &["linux", "generic", "hvm"])?.map(at(line));
        }
        "type" => config.guest_type = one_of(item, &key, &["pv", "pvh", "hvm"])?.map(at(line)),
        "kernel" => config.kernel = text(item, &key)?.map(at(line)),
        "ramdisk" => config.ramdisk = text(item, &key)?.map(at(line)),
        "root" => config.root = text(item, &key)?.map(at(line)),
        "extra" => config.extra = text(item, &key)?.map(at(line)),
        "cmdline" => config.cmdline = text(item, &key)?.map(at(line)),
        "bootloader" => config.bootloader = bootloader(item)?.map(at(line)),
        "boot" => config.boot = boot_order(item, &mut config.warnings)?.map(at(line)),
        "acpi" => config.acpi = flag(item, &key)?.map(at(line)),
        "apic" => config.apic = flag(item, &key)?.map(at(line)),
        "pae" => config.pae = flag(item, &key)?.map(at(line)),
        "nx" => config.nx = flag(item, &key)?.map(at(line)),
        "viridian" => config.viridian = viridian(item)?.map(at(line)),
        "on_poweroff" | "on_reboot" | "on_crash" => {
            let action = text(item, &key)?;
            if let Some(action) = &action {
                let (_, note) = to_spec::xapi_action(&key, action)
                    .map_err(|message| Problem::new(item.line, message))?;
                if let Some(note) = note {
                    config.warnings.push(format!("line {}: {note}", item.line));
                }
            }
            let slot = match key.as_str() {
                "on_poweroff" => &mut config.on_poweroff,
                "on_reboot" => &mut config.on_reboot,
                _ => &mut config.on_crash,
            };
            *slot = action.map(at(line));
        }
        "disk" => {
            let mut disks = Vec::new();
            for (entry, entry_line) in string_list(item, &key, "'phy:/dev/vg/lv,xvda,w'")? {
                disks.push(disk::parse_entry(&entry, entry_line, &mut config.warnings)?);
            }
            disk::check_unique_devices(&disks)?;
            config.disk = (item.value != Value::None).then_some(Setting { value: disks, line });
        }
        "vif" => {
            let mut vifs = Vec::new();
            for (entry, entry_line) in string_list(item, &key, "'mac=00:16:3e:..,bridge=xenbr0'")? {
                vifs.push(vif::parse_entry(&entry, entry_line, &mut config.warnings)?);
            }
            config.vif = (item.value != Value::None).then_some(Setting { value: vifs, line });
        }
        known if IGNORED.contains(&known) => {
            config.ignored.retain(|i| i.key != known);
            config.ignored.push(IgnoredKey { key, line });
        }
        _ => return Err(Problem::new(line, format!("unknown key `{key}`"))),
    }
    Ok(())
}

/// Warnings about keys that are set but overridden or unused by others.
pub(super) fn cross_check(config: &mut XendConfig) {
    let mut notes = Vec::new();
    let hvm = config.is_hvm();
    if let (Some(cmdline), true) = (
        &config.cmdline,
        config.root.is_some() || config.extra.is_some(),
    ) {
        notes.push((
            cmdline.line,
            "`cmdline` is set: `root` and `extra` are ignored, as in xl".to_owned(),
        ));
    }
    if let Some(kernel) = config
        .kernel
        .as_ref()
        .filter(|k| !k.value.ends_with("hvmloader"))
    {
        if hvm {
            notes.push((
                kernel.line,
                "HVM guests boot from their disks: `kernel` is ignored".to_owned(),
            ));
        } else if let Some(bootloader) = &config.bootloader {
            notes.push((
                bootloader.line,
                "the guest boots with pygrub: `kernel` and `ramdisk` are ignored".to_owned(),
            ));
        }
    }
    if let (Some(ramdisk), false) = (&config.ramdisk, hvm) {
        let unused = config.kernel.is_none() && config.bootloader.is_none();
        if unused {
            notes.push((
                ramdisk.line,
                "`ramdisk` without `kernel` is ignored".to_owned(),
            ));
        }
    }
    if let (Some(boot), false) = (&config.boot, hvm) {
        notes.push((
            boot.line,
            "`boot` applies to HVM guests only and is ignored".to_owned(),
        ));
    }
    notes.sort_by_key(|(line, _)| *line);
    config.warnings.extend(
        notes
            .into_iter()
            .map(|(line, note)| format!("line {line}: {note}")),
    );
}

/// Wraps a value read from `line`.
fn at<T>(line: usize) -> impl FnOnce(T) -> Setting<T> {
    move |value| Setting { value, line }
}

fn type_error(item: &Item, key: &str, wanted: &str) -> Problem {
    Problem::new(
        item.line,
        format!("`{key}` must be {wanted}, found {}", item.value.describe()),
    )
}

/// A string; `None` when the key is set to `None`.
fn text(item: &Item, key: &str) -> Result<Option<String>, Problem> {
    match &item.value {
        Value::Str(s) => Ok(Some(s.clone())),
        Value::None => Ok(None),
        _ => Err(type_error(item, key, "a quoted string")),
    }
}

/// A string from a fixed set.
fn one_of(item: &Item, key: &str, allowed: &[&str]) -> Result<Option<String>, Problem> {
    let value = text(item, key)?;
    if let Some(v) = &value
        && !allowed.contains(&v.as_str())
    {
        let wanted = allowed
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(type_error(item, key, &format!("one of {wanted}")));
    }
    Ok(value)
}

/// A whole number; a string of digits is accepted too, as xm converted it with `int()`.
fn number(item: &Item, key: &str) -> Result<Option<i64>, Problem> {
    match &item.value {
        Value::Int(n) => Ok(Some(*n)),
        Value::Str(s) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| type_error(item, key, "a whole number")),
        Value::None => Ok(None),
        _ => Err(type_error(item, key, "a whole number")),
    }
}

/// A flag: `True` / `False`, or a number (0 is false), as xend and xl read them.
fn flag(item: &Item, key: &str) -> Result<Option<bool>, Problem> {
    match &item.value {
        Value::Bool(b) => Ok(Some(*b)),
        Value::None => Ok(None),
        _ => match number(item, key) {
            Ok(n) => Ok(n.map(|n| n != 0)),
            Err(_) => Err(type_error(item, key, "0 or 1 (or True / False)")),
        },
    }
}

/// `viridian`: a flag, or xl's list of enlightenment groups (on when any is listed).
fn viridian(item: &Item) -> Result<Option<bool>, Problem> {
    match &item.value {
        Value::List(groups) => Ok(Some(!groups.is_empty())),
        _ => flag(item, "viridian"),
    }
}

/// `bootloader`: pygrub under any path; XenServer runs no other bootloader.
fn bootloader(item: &Item) -> Result<Option<String>, Problem> {
    let Some(path) = text(item, "bootloader")? else {
        return Ok(None);
    };
    if path.rsplit('/').next() == Some("pygrub") {
        Ok(Some("pygrub".to_owned()))
    } else {
        Err(Problem::new(
            item.line,
            format!("bootloader `{path}` is not pygrub, the only bootloader XenServer runs"),
        ))
    }
}

/// `boot`: HVM boot order letters; floppy letters are dropped with a warning.
fn boot_order(item: &Item, warnings: &mut Vec<String>) -> Result<Option<String>, Problem> {
    let Some(order) = text(item, "boot")? else {
        return Ok(None);
    };
    if let Some(bad) = order.chars().find(|c| !"abcdn".contains(*c)) {
        return Err(Problem::new(
            item.line,
            format!("`boot` letter `{bad}` is not one of c (disk), d (CD), n (network)"),
        ));
    }
    let kept: String = order.chars().filter(|c| !"ab".contains(*c)).collect();
    if kept.len() != order.len() {
        warnings.push(format!(
            "line {}: XenServer has no floppy drive: `a` / `b` dropped from `boot`",
            item.line
        ));
    }
    Ok((!kept.is_empty()).then_some(kept))
}

/// A list (or tuple) of strings with their lines; `None` gives an empty list.
fn string_list(item: &Item, key: &str, example: &str) -> Result<Vec<(String, usize)>, Problem> {
    let wanted = format!("a list of strings such as [{example}]");
    match &item.value {
        Value::List(items) => items
            .iter()
            .map(|i| match &i.value {
                Value::Str(s) => Ok((s.clone(), i.line)),
                _ => Err(type_error(
                    i,
                    key,
                    &format!("{wanted}; this entry is not a string"),
                )),
            })
            .collect(),
        Value::None => Ok(Vec::new()),
        _ => Err(type_error(item, key, &wanted)),
    }
}
