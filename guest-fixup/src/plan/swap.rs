//! Swap: every swap line of fstab must name a swap area that exists on the new disks. A
//! wiped or missing area is recreated offline with the UUID or label fstab expects (host
//! `mkswap -U/-L`); a line whose UUID is gone while another swap area exists is switched to
//! it; a swap file that is missing or not a swap area is recreated. Nothing is left for the
//! user to run by hand (unlike oVirtSimpleBackup's fixswap scripts).

use std::collections::{BTreeMap, BTreeSet};

use super::{Staging, Step};
use crate::direction::{Renames, Target};
use crate::error::Result;
use crate::facts::{Content, DiskFacts, Volume};
use crate::fs::GuestFs;
use crate::inspect::{self, FstabEntry, Inspection};

/// The size given to a swap file that is missing: 512 MiB.
pub const DEFAULT_SWAP_FILE: u64 = 512 << 20;
const SWAP_MAGIC: &[u8] = b"SWAPSPACE2";

/// What the swap rules decided.
pub struct SwapPlan {
    /// mkswap steps.
    pub steps: Vec<Step>,
    /// fstab / resume UUIDs that switch to the swap area that exists (old -> new).
    pub switched: BTreeMap<String, String>,
}

/// Plans swap for every swap line of fstab.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    fs: &dyn GuestFs,
    inspection: &Inspection,
    facts: &DiskFacts,
    renames: &Renames,
    target: Option<Target>,
    staging: &mut Staging<'_>,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<SwapPlan> {
    let mut out = SwapPlan {
        steps: Vec::new(),
        switched: BTreeMap::new(),
    };
    let mut used = BTreeSet::new();
    let mut dead_lines = Vec::new();
    let known = !facts.volumes.is_empty();
    // Swap areas that fstab already names by UUID or label are taken.
    for entry in inspection.swaps() {
        if let Some(v) = find(facts, renames, &entry.spec).filter(|v| v.content == Content::Swap) {
            used.insert(v.key());
        }
    }
    for entry in inspection.swaps() {
        if entry.spec.starts_with('/') && !entry.spec.starts_with("/dev/") {
            swap_file(fs, entry, &mut out.steps)?;
            continue;
        }
        if !known {
            continue;
        }
        match find(facts, renames, &entry.spec) {
            Some(v) if v.content == Content::Swap => {}
            Some(v) if v.content == Content::Empty => {
                used.insert(v.key());
                out.steps.push(make_swap(
                    v,
                    None,
                    None,
                    format!("fstab's swap {} has no swap signature (wiped)", entry.spec),
                ));
            }
            Some(v) => refusals.push(format!(
                "fstab's swap {} is {:?} on disk {} partition {:?}: refusing to format it as swap",
                entry.spec, v.content, v.disk, v.partition
            )),
            None => {
                let (uuid, label) = (
                    entry.spec.strip_prefix("UUID="),
                    entry.spec.strip_prefix("LABEL="),
                );
                let wiped = facts.volumes.iter().find(|v| {
                    v.swap_type && v.content == Content::Empty && !used.contains(&v.key())
                });
                let spare = facts
                    .volumes
                    .iter()
                    .find(|v| v.content == Content::Swap && !used.contains(&v.key()));
                if let (Some(v), true) = (wiped, uuid.is_some() || label.is_some()) {
                    used.insert(v.key());
                    let why = format!(
                        "fstab's swap {} is missing; the swap-typed partition {} has no signature",
                        entry.spec,
                        super::target_name(target, v.disk, v.partition)
                    );
                    out.steps.push(make_swap(
                        v,
                        uuid.map(str::to_owned),
                        label.map(str::to_owned),
                        why,
                    ));
                } else if let (Some(v), Some(old), Some(new)) =
                    (spare, uuid, spare.and_then(|v| v.uuid.clone()))
                {
                    used.insert(v.key());
                    out.switched.insert(old.to_owned(), new);
                } else {
                    warnings.push(format!(
                        "fstab's swap {} exists on no disk: its line is commented out",
                        entry.spec
                    ));
                    dead_lines.push(entry.line);
                }
            }
        }
    }
    if !dead_lines.is_empty() {
        let mut number = 0;
        staging.edit_lines("/etc/fstab", |line| {
            number += 1;
            dead_lines.contains(&number).then(|| {
                (format!("#{line}"), vec![format!("fstab line {number}: its swap area exists on no disk (the boot would wait for it)")])
            })
        })?;
    }
    Ok(out)
}

/// The volume an fstab spec names on the new disks.
fn find<'a>(facts: &'a DiskFacts, renames: &Renames, spec: &str) -> Option<&'a Volume> {
    if let Some(uuid) = spec.strip_prefix("UUID=") {
        return facts.by_uuid(uuid);
    }
    if let Some(label) = spec.strip_prefix("LABEL=") {
        return facts.by_label(label);
    }
    if let Some(lv) = facts.by_lv_path(spec) {
        return Some(lv);
    }
    let name = inspect::dev_name(spec)?;
    facts.volume(renames.get(name).unwrap_or(name))
}

fn make_swap(volume: &Volume, uuid: Option<String>, label: Option<String>, reason: String) -> Step {
    Step::MakeSwap {
        disk: volume.disk,
        partition: volume.partition,
        host_device: volume.host_device.clone(),
        uuid,
        label,
        reason,
    }
}

fn swap_file(fs: &dyn GuestFs, entry: &FstabEntry, steps: &mut Vec<Step>) -> Result<()> {
    let head = fs.read_head(&entry.spec, 4096)?;
    let reason = match &head {
        None => format!("fstab's swap file {} is missing", entry.spec),
        Some(head) if head.len() == 4096 && &head[4086..] == SWAP_MAGIC => return Ok(()),
        Some(_) => format!("fstab's swap file {} is not a swap area", entry.spec),
    };
    let size = fs
        .size(&entry.spec)?
        .filter(|s| *s >= 1 << 20)
        .unwrap_or(DEFAULT_SWAP_FILE);
    steps.push(Step::MakeSwapFile {
        path: entry.spec.clone(),
        size,
        uuid: None,
        reason,
    });
    Ok(())
}
