//! The plan: a pure list of file edits and steps, each with its reason, for one guest and one
//! [`Direction`]. Nothing is written here; [`crate::apply()`] carries a plan out, and
//! [`Plan::diff`] renders it as a unified diff for `--dry-run`.
//!
//! A guest that cannot be converted (only Xen-only kernels, no kernel with the target's block
//! driver, no way to rebuild an initramfs that lacks it) is refused with its reasons before
//! anything is written.

mod boot_default;
mod initramfs;
mod rules;
mod staging;
mod swap;

use std::path::PathBuf;

use serde::Serialize;

use crate::direction::{Direction, Renames, Target};
use crate::error::{GuestFixupError, Result};
use crate::facts::DiskFacts;
use crate::fs::GuestFs;
use crate::inspect::Inspection;

pub use staging::Staging;

/// Choices that change the plan.
#[allow(clippy::struct_excessive_bools)] // Independent switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanOptions {
    /// Write `UUID=` instead of a renamed `/dev/` name where the volume has a UUID.
    pub use_uuid: bool,
    /// Rebuild initramfs images that lack the target's block driver (else only warn).
    pub rebuild_initramfs: bool,
    /// Comment out MAC-pinning network lines.
    pub relax_mac_pins: bool,
    /// Regenerate `grub.cfg` with the guest's grub-mkconfig when it has one.
    pub regenerate_grub: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            use_uuid: false,
            rebuild_initramfs: true,
            relax_mac_pins: true,
            regenerate_grub: true,
        }
    }
}

/// One file the plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEdit {
    /// The guest path.
    pub path: String,
    /// Its text now (`None`: it does not exist yet).
    pub before: Option<String>,
    /// Its text after the edit (`None`: it is removed).
    pub after: Option<String>,
    /// Why, one line per change.
    pub reasons: Vec<String>,
}

/// An argument of a step's command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arg {
    /// A literal word.
    Text(String),
    /// The host device of the guest's disk with this index (known only when attached).
    Disk(usize),
}

/// Something the plan runs after the file edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Writes a swap signature on a volume (host `mkswap`), with the UUID and label fstab expects.
    MakeSwap {
        /// The disk index.
        disk: usize,
        /// The partition number (`None`: the whole disk).
        partition: Option<u32>,
        /// The host device, when attached.
        host_device: Option<PathBuf>,
        /// The UUID to give it.
        uuid: Option<String>,
        /// The label to give it.
        label: Option<String>,
        /// Why.
        reason: String,
    },
    /// Creates (or re-initialises) a swap file inside the guest.
    MakeSwapFile {
        /// The guest path.
        path: String,
        /// Its size in bytes.
        size: u64,
        /// The UUID to give it.
        uuid: Option<String>,
        /// Why.
        reason: String,
    },
    /// Runs one of the guest's own tools inside its root.
    Chroot {
        /// The command line.
        argv: Vec<Arg>,
        /// Files the command rewrites, kept beside themselves first so undo can restore them.
        rewrites: Vec<String>,
        /// It reads and writes nothing the other steps touch (grub-install: the boot code and
        /// grub's modules, not grub.cfg nor the initramfs), so apply runs it beside them.
        concurrent: bool,
        /// Why.
        reason: String,
    },
}

/// The full plan for one guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The conversion.
    pub direction: Direction,
    /// The device renames it implies.
    pub renames: Renames,
    /// File edits, in the order they are applied.
    pub edits: Vec<FileEdit>,
    /// Steps after the edits, in order.
    pub steps: Vec<Step>,
    /// Things the user should know that do not stop the conversion.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.steps.is_empty()
    }

    /// The plan as a unified diff of every edited file, followed by the steps, each with its
    /// reasons as `#` comments (what `--dry-run` prints).
    pub fn diff(&self) -> String {
        crate::render::render(self)
    }
}

/// Plans the conversion of the guest `fs` (inspected as `inspection`, on disks `facts`).
pub fn plan(
    fs: &dyn GuestFs,
    inspection: &Inspection,
    facts: &DiskFacts,
    direction: &Direction,
    options: &PlanOptions,
) -> Result<Plan> {
    let _span = tracing::info_span!("plan", %direction).entered();
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    let target = direction.target();
    if let Some(target) = target {
        initramfs::check_kernels(inspection, target, &mut refusals, &mut warnings);
    }
    let names = rules::referenced_names(fs, inspection)?;
    let renames = direction.renames(names.iter().map(String::as_str));
    let mut staging = Staging::new(fs);
    let swaps = swap::plan(
        fs,
        inspection,
        facts,
        &renames,
        target,
        &mut staging,
        &mut refusals,
        &mut warnings,
    )?;
    let devices = rules::DeviceRule {
        renames: &renames,
        facts,
        target,
        use_uuid: options.use_uuid,
        swap_switch: &swaps.switched,
    };
    rules::fstab(&mut staging, &devices)?;
    let console = direction.converts_console().then_some(target).flatten();
    rules::command_lines(&mut staging, inspection, &devices, console, &mut refusals)?;
    rules::device_maps(&mut staging, inspection, &renames)?;
    rules::resume_and_crypttab(&mut staging, &devices)?;
    if let Some(target) = console {
        rules::gettys(&mut staging, target)?;
    }
    if let Some(target) = target {
        boot_default::grub_legacy(&mut staging, inspection, target)?;
        boot_default::grub2(&mut staging, inspection, target, &mut refusals)?;
    }
    if options.relax_mac_pins && target.is_some() {
        rules::mac_pins(&mut staging, inspection)?;
    }
    if target.is_some() {
        for pin in &inspection.interface_names {
            warnings.push(format!(
                "{} line {} names the interface `{}` after the old hardware: the new NIC gets another name, so this configuration will bring no network up; adjust it after the first boot",
                pin.path, pin.line, pin.name
            ));
        }
    }
    if target.is_some() {
        rules::stale_caches(&mut staging)?;
    }
    let mut steps = swaps.steps;
    if let Some(target) = target {
        let rebuilds = initramfs::plan(
            &mut staging,
            inspection,
            target,
            *options,
            &mut refusals,
            &mut warnings,
        )?;
        steps.extend(rebuilds);
    }
    let boot_steps = rules::boot_steps(
        inspection,
        facts,
        target,
        *options,
        !staging.is_empty() || !steps.is_empty(),
        &mut warnings,
    );
    steps.extend(boot_steps);
    if !refusals.is_empty() {
        return Err(GuestFixupError::Refused { reasons: refusals });
    }
    let plan = Plan {
        direction: direction.clone(),
        renames,
        edits: staging.finish(),
        steps,
        warnings,
    };
    tracing::info!(
        edits = plan.edits.len(),
        steps = plan.steps.len(),
        warnings = plan.warnings.len(),
        "planned"
    );
    Ok(plan)
}

/// The kernel name a volume has on the target (`vda5`, `xvdb`), for a given target.
pub(crate) fn target_name(target: Option<Target>, disk: usize, partition: Option<u32>) -> String {
    let prefix = match target {
        Some(Target::XenPv) => "xvd",
        Some(Target::KvmVirtio) | None => "vd",
    };
    let part = partition.map(|p| p.to_string()).unwrap_or_default();
    format!("{prefix}{}{part}", crate::direction::drive_letters(disk))
}
