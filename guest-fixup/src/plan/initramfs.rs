//! Drivers and the initramfs: which kernels can boot on the target, and how to rebuild their
//! initramfs with the target's block drivers using the guest's own tool (initramfs-tools,
//! dracut, or the old mkinitrd), for the guest's kernel versions, never the host's.

use super::{Arg, PlanOptions, Staging, Step};
use crate::direction::Target;
use crate::error::Result;
use crate::inspect::{Driver, Family, Inspection, Kernel, Provision};

const DEBIAN_MODULES: &str = "/etc/initramfs-tools/modules";
const DRACUT_CONF: &str = "/etc/dracut.conf.d/90-guest-fixup.conf";
const SUSE_KERNEL: &str = "/etc/sysconfig/kernel";
const MODPROBE_CONF: &str = "/etc/modprobe.conf";
const XEN_MODULES: [&str; 6] = [
    "xenblk",
    "xennet",
    "xen-vbd",
    "xen-vnif",
    "xen_blkfront",
    "xen_netfront",
];

/// The drivers the target's boot disk needs in the initramfs.
fn boot_drivers(target: Target) -> &'static [Driver] {
    match target {
        Target::KvmVirtio => &[Driver::VirtioPci, Driver::VirtioBlk],
        Target::XenPv => &[Driver::XenBlkfront],
    }
}

fn net_driver(target: Target) -> Driver {
    match target {
        Target::KvmVirtio => Driver::VirtioNet,
        Target::XenPv => Driver::XenNetfront,
    }
}

/// Whether the kernel can run on the target at all.
pub(super) fn usable(kernel: &Kernel, target: Target) -> Result<(), String> {
    if target == Target::KvmVirtio && kernel.xen_only {
        return Err(format!("{}: a Xen-only (xenified) kernel", kernel.version));
    }
    match boot_drivers(target)
        .iter()
        .find(|d| kernel.provision(**d) == Provision::Absent)
    {
        Some(missing) => Err(format!(
            "{}: has no {} driver",
            kernel.version,
            missing.modules()[0]
        )),
        None => Ok(()),
    }
}

/// Refuses a guest with no kernel that can boot on the target.
pub fn check_kernels(
    inspection: &Inspection,
    target: Target,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if inspection.kernels.is_empty() {
        match target {
            Target::XenPv => warnings.push(
                "the guest has no kernel of its own: boot it with a kernel from the host".into(),
            ),
            Target::KvmVirtio => refusals.push(
                "the guest has no kernel of its own (it was booted with a kernel from dom0)".into(),
            ),
        }
        return;
    }
    let problems: Vec<String> = inspection
        .kernels
        .iter()
        .filter_map(|k| usable(k, target).err())
        .collect();
    if problems.len() == inspection.kernels.len() {
        refusals.push(format!(
            "no kernel can boot on {target}: {}",
            problems.join(", ")
        ));
        return;
    }
    warnings.extend(
        problems
            .into_iter()
            .map(|p| format!("kernel {p}; it will not boot on {target}")),
    );
    let net = net_driver(target);
    if inspection
        .kernels
        .iter()
        .filter(|k| usable(k, target).is_ok())
        .all(|k| k.provision(net) == Provision::Absent)
    {
        warnings.push(format!(
            "no usable kernel has the {} network driver",
            net.modules()[0]
        ));
    }
}

/// The rebuilds the usable kernels need, and the configuration that makes them last.
pub fn plan(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    target: Target,
    options: PlanOptions,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut all_missing: Vec<&str> = Vec::new();
    let mut needing: Vec<(&Kernel, Vec<&str>)> = Vec::new();
    for kernel in inspection
        .kernels
        .iter()
        .filter(|k| usable(k, target).is_ok())
    {
        let missing: Vec<&str> = boot_drivers(target)
            .iter()
            .filter(|d| {
                kernel.provision(**d) == Provision::Module
                    && kernel.initramfs_has(**d) != Some(true)
            })
            .map(|d| d.modules()[0])
            .collect();
        if missing.is_empty() {
            continue;
        }
        for m in &missing {
            if !all_missing.contains(m) {
                all_missing.push(m);
            }
        }
        needing.push((kernel, missing));
    }
    if needing.is_empty() {
        return Ok(steps);
    }
    if !options.rebuild_initramfs {
        warnings.push(format!(
            "initramfs not rebuilt (as asked): it lacks {}",
            all_missing.join(" ")
        ));
        return Ok(steps);
    }
    let Some(argv_for) = rebuild_tool(staging, inspection, target, &all_missing)? else {
        refusals.push(format!(
            "the initramfs lacks {} and the guest has no update-initramfs, dracut or mkinitrd to rebuild it",
            all_missing.join(" ")
        ));
        return Ok(steps);
    };
    for (kernel, missing) in needing {
        let exists = staging.fs().exists(&kernel.initramfs)?;
        steps.push(Step::Chroot {
            argv: argv_for(kernel, &missing, exists),
            rewrites: vec![kernel.initramfs.clone()],
            concurrent: false,
            reason: format!(
                "the initramfs of {} lacks {}",
                kernel.version,
                missing.join(" ")
            ),
        });
    }
    Ok(steps)
}

/// How one kernel's initramfs is rebuilt: from the kernel, its missing modules and whether
/// the image exists, the command line.
type RebuildArgv = Box<dyn Fn(&Kernel, &[&str], bool) -> Vec<Arg>>;

fn text(s: &str) -> Arg {
    Arg::Text(s.to_owned())
}

/// The guest's initramfs tool, after staging the configuration that makes later rebuilds keep
/// the drivers; `None` if the guest has none.
fn rebuild_tool(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    target: Target,
    modules: &[&str],
) -> Result<Option<RebuildArgv>> {
    let tools = &inspection.tools;
    let debian = inspection.os.family == Family::Debian;
    if let (true, Some(tool)) = (
        debian || tools.dracut.is_none() && tools.mkinitrd.is_none(),
        tools.update_initramfs.clone(),
    ) {
        append_modules(staging, modules)?;
        return Ok(Some(Box::new(move |kernel, _, exists| {
            vec![
                text(&tool),
                text(if exists { "-u" } else { "-c" }),
                text("-k"),
                text(&kernel.version),
            ]
        })));
    }
    if let Some(tool) = tools.dracut.clone() {
        let drivers = modules.join(" ");
        staging.set(
            DRACUT_CONF,
            Some(format!("# Written by guest-fixup: the disk drivers of the new hypervisor.\nadd_drivers+=\" {drivers} \"\n")),
            vec![format!("dracut adds {drivers} to every later initramfs too")],
        )?;
        return Ok(Some(Box::new(move |kernel, missing, _| {
            vec![
                text(&tool),
                text("-f"),
                text("--add-drivers"),
                text(&missing.join(" ")),
                text(&kernel.initramfs),
                text(&kernel.version),
            ]
        })));
    }
    let Some(tool) = tools.mkinitrd.clone() else {
        return Ok(None);
    };
    if inspection.os.family == Family::Suse {
        suse_initrd_modules(staging, modules, target)?;
        return Ok(Some(Box::new(move |kernel, _, _| {
            vec![
                text(&tool),
                text("-k"),
                text(&kernel.image),
                text("-i"),
                text(&kernel.initramfs),
            ]
        })));
    }
    modprobe_alias(staging, target)?;
    Ok(Some(Box::new(move |kernel, missing, _| {
        let mut argv = vec![text(&tool), text("-f")];
        argv.extend(missing.iter().map(|m| text(&format!("--with={m}"))));
        argv.extend([text(&kernel.initramfs), text(&kernel.version)]);
        argv
    })))
}

/// initramfs-tools: list the modules in `/etc/initramfs-tools/modules`.
fn append_modules(staging: &mut Staging<'_>, modules: &[&str]) -> Result<()> {
    let text = staging.text(DEBIAN_MODULES)?.unwrap_or_default();
    let listed: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .collect();
    let add: Vec<&str> = modules
        .iter()
        .copied()
        .filter(|m| !listed.contains(m))
        .collect();
    if add.is_empty() {
        return Ok(());
    }
    let mut new = text.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# Added by guest-fixup: the disk drivers of the new hypervisor.\n");
    for m in &add {
        new.push_str(m);
        new.push('\n');
    }
    staging.set(
        DEBIAN_MODULES,
        Some(new),
        vec![format!(
            "initramfs-tools packs {} into every initramfs",
            add.join(" ")
        )],
    )
}

/// SUSE's mkinitrd: `INITRD_MODULES` in `/etc/sysconfig/kernel` (Xen's removed for KVM).
fn suse_initrd_modules(staging: &mut Staging<'_>, modules: &[&str], target: Target) -> Result<()> {
    staging.edit_lines(SUSE_KERNEL, |line| {
        let key = ["INITRD_MODULES=", "DOMU_INITRD_MODULES="]
            .into_iter()
            .find(|k| line.starts_with(k))?;
        let value = line[key.len()..].trim_matches('"');
        let mut names: Vec<&str> = value.split_whitespace().collect();
        if target == Target::KvmVirtio {
            names.retain(|n| !XEN_MODULES.contains(n));
        }
        if key == "INITRD_MODULES=" {
            names.extend(
                modules
                    .iter()
                    .filter(|m| !value.split_whitespace().any(|n| n == **m)),
            );
        }
        let new = format!("{key}\"{}\"", names.join(" "));
        (new != line).then(|| {
            (
                new,
                vec![format!(
                    "{}: {} for the new hypervisor",
                    SUSE_KERNEL,
                    key.trim_end_matches('=')
                )],
            )
        })
    })
}

/// Old Red Hat mkinitrd reads the disk driver from `alias scsi_hostadapter` in modprobe.conf.
fn modprobe_alias(staging: &mut Staging<'_>, target: Target) -> Result<()> {
    let driver = match target {
        Target::KvmVirtio => "virtio_blk",
        Target::XenPv => "xenblk",
    };
    staging.edit_lines(MODPROBE_CONF, |line| {
        let mut words = line.split_whitespace();
        let (Some("alias"), Some(alias), Some(module)) = (words.next(), words.next(), words.next())
        else {
            return None;
        };
        if !alias.starts_with("scsi_hostadapter") || module == driver {
            return None;
        }
        let xen = XEN_MODULES.contains(&module) || module.starts_with("virtio");
        xen.then(|| {
            (
                format!("alias {alias} {driver}"),
                vec![format!(
                    "modprobe.conf: {alias} {module} -> {driver} (mkinitrd packs it)"
                )],
            )
        })
    })
}
