//! The text rules of a plan: device names in fstab, command lines, device.map, resume and
//! crypttab; consoles in inittab and securetty; MAC pins; stale device caches; and the boot
//! loader steps (grub-mkconfig, grub-install) that follow the edits.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::{Arg, PlanOptions, Staging, Step};
use crate::cmdline::{self, Rewrite};
use crate::direction::{Renames, Target, parse_name};
use crate::error::Result;
use crate::facts::DiskFacts;
use crate::fs::GuestFs;
use crate::grubenv::{self, GrubEnv};
use crate::inspect::{self, BootloaderKind, Inspection};

/// Files that cache the old disks' identities; removed so the guest rebuilds them.
const STALE_CACHES: [(&str, &str); 4] = [
    (
        "/etc/blkid/blkid.tab",
        "blkid's cache of the old devices; rebuilt at boot",
    ),
    (
        "/etc/blkid.tab",
        "blkid's cache of the old devices; rebuilt at boot",
    ),
    (
        "/etc/lvm/cache/.cache",
        "LVM's cache of the old devices; rebuilt at boot",
    ),
    (
        "/etc/lvm/devices/system.devices",
        "lists the old disks' IDs: LVM would ignore the new disks",
    ),
];
const RESUME_FILE: &str = "/etc/initramfs-tools/conf.d/resume";

/// Every kernel device name the guest's configuration refers to.
pub fn referenced_names(fs: &dyn GuestFs, inspection: &Inspection) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let mut add = |value: &str| {
        if let Some(name) = inspect::dev_name(value)
            && parse_name(name).is_some()
        {
            names.insert(name.to_owned());
        }
    };
    for entry in &inspection.fstab {
        add(&entry.spec);
    }
    for line in cmdline::command_lines(fs, &inspection.bootloaders)? {
        for key in ["root", "resume"] {
            for value in cmdline::values(&line, key) {
                add(&value);
            }
        }
    }
    if let Some(text) = fs.read_text(RESUME_FILE)? {
        text.lines()
            .filter_map(|l| l.strip_prefix("RESUME="))
            .for_each(&mut add);
    }
    // grub's device.map names whole disks (`(hd0) /dev/xvda`), which nothing else may name.
    for map in inspection.bootloaders.iter().flat_map(|b| &b.device_maps) {
        if let Some(text) = fs.read_text(map)? {
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .for_each(&mut add);
        }
    }
    if let Some(text) = fs.read_text("/etc/crypttab")? {
        text.lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .for_each(&mut add);
    }
    Ok(names)
}

/// How device values change: renames, `UUID=` where allowed, switched swap UUIDs.
pub struct DeviceRule<'a> {
    pub renames: &'a Renames,
    pub facts: &'a DiskFacts,
    pub target: Option<Target>,
    pub use_uuid: bool,
    pub swap_switch: &'a BTreeMap<String, String>,
}

impl DeviceRule<'_> {
    /// The new value of a device spec (`/dev/xvda1`, `UUID=…`), with why; `None` if it stays.
    pub fn map(&self, value: &str) -> Option<(String, String)> {
        if let Some(uuid) = value.strip_prefix("UUID=")
            && let Some(new) = self.swap_switch.get(uuid)
        {
            return Some((
                format!("UUID={new}"),
                format!("the swap area on the disk has UUID {new}"),
            ));
        }
        let name = inspect::dev_name(value)?;
        let new = self.renames.get(name)?;
        let volume = self.facts.volume(new);
        if self.use_uuid
            && let Some(uuid) = volume.and_then(|v| v.uuid.as_deref())
        {
            return Some((
                format!("UUID={uuid}"),
                format!("{name} is {new} after the move; its UUID names it on any bus"),
            ));
        }
        let target = self
            .target
            .map_or_else(|| "the new hypervisor".to_owned(), |t| format!("{t}"));
        Some((
            format!("/dev/{new}"),
            format!("{name} is {new} on {target}"),
        ))
    }
}

/// Device specs in fstab.
pub fn fstab(staging: &mut Staging<'_>, devices: &DeviceRule<'_>) -> Result<()> {
    staging.edit_lines("/etc/fstab", |line| {
        let entry = inspect::parse_fstab(line).into_iter().next()?;
        let (new, why) = devices.map(&entry.spec)?;
        Some((
            inspect::replace_spec(line, &new),
            vec![format!(
                "fstab {}: {} -> {new}: {why}",
                entry.mount_point, entry.spec
            )],
        ))
    })
}

/// `root=`, `resume=` and `console=` on every command line; an edited grub environment block
/// keeps its 1024 bytes (a refusal if the new line does not fit).
pub fn command_lines(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    devices: &DeviceRule<'_>,
    console: Option<Target>,
    refusals: &mut Vec<String>,
) -> Result<()> {
    let device = |value: &str| devices.map(value);
    let rewrite = Rewrite {
        device: &device,
        console,
    };
    let files = {
        let fs = staging_fs(staging);
        cmdline::files(fs, &inspection.bootloaders)?
    };
    for (path, kind) in files {
        staging.edit_lines(&path, |line| {
            let (before, cmdline, after) = cmdline::locate(kind, line)?;
            let (new, reasons) = rewrite.apply(cmdline)?;
            let reasons = reasons
                .into_iter()
                .map(|r| format!("kernel command line: {r}"))
                .collect();
            Some((format!("{before}{new}{after}"), reasons))
        })?;
        if kind == cmdline::LineKind::Grubenv {
            repad_grubenv(staging, &path, refusals)?;
        }
    }
    Ok(())
}

/// Pads an edited environment block back to its size, or refuses if it no longer fits.
pub fn repad_grubenv(
    staging: &mut Staging<'_>,
    path: &str,
    refusals: &mut Vec<String>,
) -> Result<()> {
    let Some(text) = staging.text(path)? else {
        return Ok(());
    };
    if text.len() == grubenv::SIZE {
        return Ok(());
    }
    if let Some(padded) = GrubEnv::parse(&text).and_then(|env| env.render()) {
        return staging.set(path, Some(padded), Vec::new());
    }
    refusals.push(format!(
        "{path}: the edited variables do not fit grub's {}-byte environment block",
        grubenv::SIZE
    ));
    Ok(())
}

fn staging_fs<'a>(staging: &Staging<'a>) -> &'a dyn GuestFs {
    staging.fs()
}

/// Whole-disk names in grub's `device.map`.
pub fn device_maps(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    renames: &Renames,
) -> Result<()> {
    for map in inspection.bootloaders.iter().flat_map(|b| &b.device_maps) {
        staging.edit_lines(map, |line| {
            let (drive, device) = line.split_once(char::is_whitespace)?;
            let name = inspect::dev_name(device.trim())?;
            let new = renames.get(name)?;
            Some((
                format!("{drive}\t/dev/{new}"),
                vec![format!("device.map {drive}: /dev/{name} -> /dev/{new}")],
            ))
        })?;
    }
    Ok(())
}

/// initramfs-tools' resume device and crypttab source devices.
pub fn resume_and_crypttab(staging: &mut Staging<'_>, devices: &DeviceRule<'_>) -> Result<()> {
    staging.edit_lines(RESUME_FILE, |line| {
        let value = line.strip_prefix("RESUME=")?;
        let (new, why) = devices.map(value.trim())?;
        Some((
            format!("RESUME={new}"),
            vec![format!("resume device {value} -> {new}: {why}")],
        ))
    })?;
    staging.edit_lines("/etc/crypttab", |line| {
        if line.trim_start().starts_with('#') {
            return None;
        }
        let source = line.split_whitespace().nth(1)?;
        let (new, why) = devices.map(source)?;
        let at = line.find(source)?;
        let edited = format!("{}{new}{}", &line[..at], &line[at + source.len()..]);
        Some((edited, vec![format!("crypttab: {source} -> {new}: {why}")]))
    })
}

/// Login prompts on the old console (`/etc/inittab`) and root logins there (`/etc/securetty`).
pub fn gettys(staging: &mut Staging<'_>, target: Target) -> Result<()> {
    let (from, to) = match target {
        Target::KvmVirtio => (
            Regex::new(r"\b(hvc0|xvc0)\b").expect("valid regex"),
            "ttyS0",
        ),
        Target::XenPv => (Regex::new(r"\b(ttyS0)\b").expect("valid regex"), "hvc0"),
    };
    staging.edit_lines("/etc/inittab", |line| {
        if line.trim_start().starts_with('#') || !line.contains("getty") || !from.is_match(line) {
            return None;
        }
        Some((
            from.replace_all(line, to).into_owned(),
            vec![format!("inittab: the console getty moves to {to}")],
        ))
    })?;
    if let Some(text) = staging.text("/etc/securetty")?
        && !text.lines().any(|l| l.trim() == to)
    {
        let mut text = text;
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(to);
        text.push('\n');
        staging.set(
            "/etc/securetty",
            Some(text),
            vec![format!(
                "securetty: root may log in on the new console {to}"
            )],
        )?;
    }
    Ok(())
}

/// Comments out every line that pins a NIC to the old MAC address.
pub fn mac_pins(staging: &mut Staging<'_>, inspection: &Inspection) -> Result<()> {
    let files: BTreeSet<&str> = inspection
        .mac_pins
        .iter()
        .map(|p| p.path.as_str())
        .collect();
    for path in files {
        staging.edit_lines(path, |line| {
            inspect::is_pin(path, line).then(|| {
                (
                    format!("#{line}"),
                    vec![format!(
                        "{path}: `{}` pins the old NIC's MAC address; the new NIC has another",
                        line.trim()
                    )],
                )
            })
        })?;
    }
    Ok(())
}

/// Removes caches of the old devices.
pub fn stale_caches(staging: &mut Staging<'_>) -> Result<()> {
    for (path, why) in STALE_CACHES {
        if staging.text(path)?.is_some() {
            staging.set(path, None, vec![format!("removed: {why}")])?;
        }
    }
    Ok(())
}

/// grub-mkconfig after the edits, and grub-install where the disk has no boot code.
pub fn boot_steps(
    inspection: &Inspection,
    facts: &DiskFacts,
    target: Option<Target>,
    options: PlanOptions,
    changed: bool,
    warnings: &mut Vec<String>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let grub2 = inspection
        .bootloaders
        .iter()
        .find(|b| b.kind == BootloaderKind::Grub2);
    let text = |s: &str| Arg::Text(s.to_owned());
    if let (Some(grub2), true, true) = (grub2, changed, options.regenerate_grub) {
        match &inspection.tools.grub_mkconfig {
            Some(tool) => steps.push(Step::Chroot {
                argv: vec![text(tool), text("-o"), text(&grub2.config)],
                rewrites: vec![grub2.config.clone()],
                concurrent: false,
                reason: "regenerate grub.cfg with the guest's own grub-mkconfig from the edited settings".into(),
            }),
            None => warnings.push(format!("{} is edited in place: the guest has no grub-mkconfig", grub2.config)),
        }
    }
    let pygrub = facts
        .disks
        .first()
        .is_some_and(|d| d.partitioned && !d.boot_code);
    if target == Some(Target::KvmVirtio) && pygrub {
        match (grub2, &inspection.tools.grub_install) {
            (Some(_), Some(tool)) => steps.push(Step::Chroot {
                argv: vec![text(tool), text("--target=i386-pc"), Arg::Disk(0)],
                rewrites: Vec::new(),
                concurrent: true,
                reason: "the disk has no boot code (pygrub booted it on Xen); KVM's BIOS boots from the disk".into(),
            }),
            _ => warnings.push(
                "the first disk has no boot code (pygrub booted it on Xen) and the guest has no grub2-install: \
                 install a boot loader or boot it with an external kernel"
                    .into(),
            ),
        }
    }
    let unpartitioned = facts.disks.first().is_some_and(|d| !d.partitioned);
    if target == Some(Target::KvmVirtio) && unpartitioned {
        warnings.push("the first disk has no partition table: no boot loader fits on it; boot it with an external kernel".into());
    }
    steps
}
