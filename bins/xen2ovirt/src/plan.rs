//! The plan, decided before anything changes: which target VM (name, memory, CPUs,
//! firmware, OS type), which vNIC profile each NIC goes to, which storage domain and format
//! each disk gets, and in which order. [`Plan::build`] is pure: the source VM, what the
//! engine has ([`Inventory`]) and the user's choices ([`Choices`]) in, a plan or every
//! problem out. `--dry-run` prints it and stops.

mod render;

use serde::Serialize;

use crate::fixup::{self, FixupMode};
use crate::source::{Firmware, Power, SourceVm, Virtualisation};

/// A vNIC profile of the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its network's name.
    pub network: String,
}

/// A data storage domain of the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Block storage (iSCSI, FC), where raw disks cannot be sparse.
    pub block: bool,
    /// Free bytes, when the engine says.
    pub available: Option<u64>,
}

/// What the engine offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Cluster names.
    pub clusters: Vec<String>,
    /// Data storage domains.
    pub domains: Vec<Domain>,
    /// vNIC profiles.
    pub profiles: Vec<Profile>,
    /// Whether a VM with the target name exists already.
    pub name_taken: bool,
}

/// The disk bus of the target VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DiskBus {
    /// virtio-blk (`/dev/vdX` in the guest).
    Virtio,
    /// virtio-scsi (`/dev/sdX` in the guest).
    VirtioScsi,
}

/// What the user chose on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    /// The target VM's name (default: the source's).
    pub name: Option<String>,
    /// The cluster (default: the only one).
    pub cluster: Option<String>,
    /// The storage domain (default: the only data domain).
    pub storage_domain: Option<String>,
    /// `SOURCE-NETWORK=PROFILE` pairs; a profile is `NAME` or `NETWORK/NAME`.
    pub networks: Vec<(String, String)>,
    /// Keep the source's MAC addresses.
    pub keep_macs: bool,
    /// The disk bus.
    pub bus: DiskBus,
    /// The engine's OS type (default: guessed from the source).
    pub os_type: Option<String>,
    /// What to do with a running source.
    pub running: WhenRunning,
    /// The fix-up before the first boot (`None`: none).
    pub fixup: Option<FixupMode>,
    /// `--no-fixup`: the user says the guest needs none.
    pub no_fixup: bool,
}

/// What to do with a running source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenRunning {
    /// Refuse to start.
    Refuse,
    /// Shut it down first (`--shutdown`).
    ShutDown,
    /// Copy it from a snapshot (`--live`).
    Snapshot,
}

/// A NIC of the target VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedNic {
    /// `nic1`, `nic2`, … in the source's order.
    pub name: String,
    /// The source network it came from.
    pub source_network: String,
    /// The vNIC profile it goes on.
    pub profile: Profile,
    /// The MAC to keep (`None`: the engine chooses).
    pub mac: Option<String>,
}

/// A disk of the target VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDisk {
    /// Its name on the engine (`<vm>_disk<position>`).
    pub name: String,
    /// The source disk's UUID.
    pub source_uuid: String,
    /// The source disk's position.
    pub source_position: u32,
    /// Virtual size in bytes.
    pub size: u64,
    /// Thin provisioned (not possible for raw disks on block storage).
    pub sparse: bool,
    /// The boot disk (the first).
    pub bootable: bool,
}

/// The target VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetVm {
    /// Its name.
    pub name: String,
    /// Its cluster.
    pub cluster: String,
    /// Memory in bytes.
    pub memory: u64,
    /// Sockets.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// The engine's OS type.
    pub os_type: String,
    /// The firmware.
    pub firmware: Firmware,
    /// The disk bus.
    pub bus: DiskBus,
    /// The storage domain of its disks.
    pub storage_domain: Domain,
    /// Its NICs.
    pub nics: Vec<PlannedNic>,
    /// Its disks, the boot disk first.
    pub disks: Vec<PlannedDisk>,
}

/// The fix-up of the plan: decided up front, its details once the guest was inspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFixup {
    /// How.
    pub mode: FixupMode,
    /// The conversion (`xen-pv->kvm-virtio`).
    pub direction: String,
    /// The guest's distribution, once inspected.
    pub guest: Option<String>,
    /// Whether the OS type comes from the inspection (not from `--os-type`).
    pub os_type_inspected: bool,
    /// The fix-up's plan as a diff, once inspected.
    pub diff: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// What the source is.
    pub source: SourceVm,
    /// What will be made of it.
    pub target: TargetVm,
    /// The fix-up before the first boot.
    pub fixup: Option<PlannedFixup>,
    /// Things worth knowing that do not stop the run.
    pub warnings: Vec<String>,
}

/// Why no plan can be made: every problem found, so one rerun fixes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblems(pub Vec<String>);

impl std::fmt::Display for PlanProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the migration cannot start: ")?;
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for PlanProblems {}

impl Plan {
    /// Decides the target from the source, the engine's inventory and the user's choices.
    pub fn build(
        source: &SourceVm,
        inventory: &Inventory,
        choices: &Choices,
    ) -> Result<Plan, PlanProblems> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let name = target_name(
            source,
            choices.name.as_deref(),
            &mut problems,
            &mut warnings,
        );
        if inventory.name_taken {
            problems.push(format!(
                "the engine has a VM named `{name}` already (choose another with --name)"
            ));
        }
        let cluster = pick(
            "cluster",
            "--cluster",
            choices.cluster.as_deref(),
            &inventory.clusters,
            &mut problems,
        );
        let domain_names: Vec<String> = inventory.domains.iter().map(|d| d.name.clone()).collect();
        let domain = pick(
            "data storage domain",
            "--storage-domain",
            choices.storage_domain.as_deref(),
            &domain_names,
            &mut problems,
        )
        .and_then(|n| inventory.domains.iter().find(|d| d.name == n).cloned());
        let nics = map_nics(source, inventory, choices, &mut problems);
        if source.disks.is_empty() {
            problems.push(format!("VM `{}` has no disk to migrate", source.name));
        }
        for item in &source.left_out {
            warnings.push(format!("not migrated: {item}"));
        }
        check_power(source, choices.running, &mut problems, &mut warnings);
        let (Some(cluster), Some(domain)) = (cluster, domain) else {
            return Err(PlanProblems(problems));
        };
        if !problems.is_empty() {
            return Err(PlanProblems(problems));
        }
        let allocated: u64 = source.disks.iter().map(|d| d.allocated).sum();
        if let Some(available) = domain.available
            && allocated > available
        {
            warnings.push(format!(
                "storage domain `{}` has {available} bytes free; the source disks use {allocated}",
                domain.name
            ));
        }
        let os_type = match (&choices.os_type, choices.fixup) {
            (Some(chosen), _) => chosen.clone(),
            // Replaced by the inspection's answer once the guest was inspected (on the
            // appliance, after the VM is made).
            (None, Some(FixupMode::Local | FixupMode::Appliance)) => {
                crate::os_type::OTHER_LINUX.to_owned()
            }
            (None, None) => guess_os_type(&mut warnings),
        };
        let disks = source
            .disks
            .iter()
            .enumerate()
            .map(|(i, disk)| PlannedDisk {
                name: format!("{name}_disk{}", disk.position),
                source_uuid: disk.uuid.clone(),
                source_position: disk.position,
                size: disk.size,
                sparse: !domain.block,
                bootable: i == 0,
            })
            .collect();
        let fixup = planned_fixup(source, choices, &mut warnings);
        Ok(Plan {
            source: source.clone(),
            target: TargetVm {
                name,
                cluster,
                memory: source.memory,
                sockets: source.cpus.sockets(),
                cores: source.cpus.cores(),
                os_type,
                firmware: source.firmware,
                bus: choices.bus,
                storage_domain: domain,
                nics,
                disks,
            },
            fixup,
            warnings,
        })
    }
}

/// The fix-up of the plan, or a warning that a PV guest needs one.
fn planned_fixup(
    source: &SourceVm,
    choices: &Choices,
    warnings: &mut Vec<String>,
) -> Option<PlannedFixup> {
    if source.virtualisation != Virtualisation::Hvm && choices.fixup.is_none() && !choices.no_fixup
    {
        warnings.push(
            "a PV guest boots on the target only after its fix-up (virtio drivers in the \
             initramfs, xvd* names, console): give --fixup local (or --no-fixup if it needs \
             none)"
                .to_owned(),
        );
    }
    choices.fixup.map(|mode| PlannedFixup {
        mode,
        direction: fixup::direction_name(&fixup::direction(source.virtualisation)).to_owned(),
        guest: None,
        os_type_inspected: choices.os_type.is_none(),
        diff: None,
    })
}

/// The longest VM name the engine takes.
const MAX_NAME: usize = 64;

/// Whether the engine takes `name` as a VM name: ASCII letters, digits, `_`, `-` and `.`,
/// at most [`MAX_NAME`] characters.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The target VM's name: `--name`, else the source's name with every character the engine
/// refuses replaced by `-`.
pub fn planned_name(source: &SourceVm, wanted: Option<&str>) -> String {
    if let Some(wanted) = wanted {
        return wanted.to_owned();
    }
    let name: String = source
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME)
        .collect();
    if name.is_empty() {
        format!("vm-{}", source.uuid.chars().take(8).collect::<String>())
    } else {
        name
    }
}

/// [`planned_name`], with a problem for a `--name` the engine refuses and a warning for a
/// source name it had to change.
fn target_name(
    source: &SourceVm,
    wanted: Option<&str>,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> String {
    let name = planned_name(source, wanted);
    match wanted {
        Some(wanted) if !valid_name(wanted) => problems.push(format!(
            "--name `{wanted}`: a VM name is 1 to {MAX_NAME} ASCII letters, digits, `_`, `-` \
             or `.`"
        )),
        None if name != source.name => warnings.push(format!(
            "the engine does not take the name `{}`: the new VM is named `{name}` (choose \
             another with --name)",
            source.name
        )),
        _ => {}
    }
    name
}

/// A running source is shut down or snapshotted only when asked; a paused or suspended one
/// never.
fn check_power(
    source: &SourceVm,
    running: WhenRunning,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    match (source.power, running) {
        (Power::Halted, _) => {}
        (Power::Running, WhenRunning::Snapshot) => warnings.push(format!(
            "VM `{}` is running: its disks are copied from a snapshot, as a power cut would \
             leave them (crash-consistent); it keeps running",
            source.name
        )),
        (Power::Running, WhenRunning::ShutDown) => warnings.push(format!(
            "VM `{}` is running: it will be shut down cleanly first (and started again if \
             the migration fails)",
            source.name
        )),
        (Power::Running, WhenRunning::Refuse) => problems.push(format!(
            "VM `{}` is running: shut it down first, or give --shutdown or --live (its disks \
             cannot be read while it runs)",
            source.name
        )),
        (Power::Paused | Power::Suspended, _) => problems.push(format!(
            "VM `{}` is {}: resume and shut it down first",
            source.name,
            if source.power == Power::Paused {
                "paused"
            } else {
                "suspended"
            }
        )),
    }
}

/// The chosen item, or the only one there is.
fn pick(
    what: &str,
    flag: &str,
    wanted: Option<&str>,
    available: &[String],
    problems: &mut Vec<String>,
) -> Option<String> {
    match (wanted, available) {
        (Some(wanted), _) if available.iter().any(|a| a == wanted) => Some(wanted.to_owned()),
        (Some(wanted), _) => {
            problems.push(format!(
                "the engine has no {what} `{wanted}` (it has: {})",
                listing(available)
            ));
            None
        }
        (None, [only]) => Some(only.clone()),
        (None, []) => {
            problems.push(format!("the engine has no {what}"));
            None
        }
        (None, _) => {
            problems.push(format!(
                "choose the {what} with {flag} (the engine has: {})",
                listing(available)
            ));
            None
        }
    }
}

fn listing(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Each source NIC's profile through the network map. A map key names a source network by
/// name, UUID or bridge; every source network must be mapped.
fn map_nics(
    source: &SourceVm,
    inventory: &Inventory,
    choices: &Choices,
    problems: &mut Vec<String>,
) -> Vec<PlannedNic> {
    let mut unmapped: Vec<String> = Vec::new();
    let mut nics = Vec::new();
    for (index, nic) in source.nics.iter().enumerate() {
        let Some((_, target)) = choices.networks.iter().find(|(from, _)| {
            *from == nic.network || *from == nic.network_uuid || *from == nic.bridge
        }) else {
            if !unmapped.contains(&nic.network) {
                unmapped.push(nic.network.clone());
            }
            continue;
        };
        let Some(profile) = find_profile(target, &inventory.profiles, problems) else {
            continue;
        };
        nics.push(PlannedNic {
            name: format!("nic{}", index + 1),
            source_network: nic.network.clone(),
            profile,
            mac: (choices.keep_macs && !nic.mac.is_empty()).then(|| nic.mac.clone()),
        });
    }
    if !unmapped.is_empty() {
        let shown: Vec<String> = unmapped.iter().map(|n| format!("`{n}`")).collect();
        problems.push(format!(
            "source network(s) not mapped: {} (add --network SOURCE=PROFILE for each; \
             profiles: {})",
            shown.join(", "),
            listing(&profile_names(&inventory.profiles))
        ));
    }
    for (from, _) in &choices.networks {
        let used = source
            .nics
            .iter()
            .any(|n| *from == n.network || *from == n.network_uuid || *from == n.bridge);
        if !used {
            problems.push(format!(
                "--network {from}=…: the VM has no NIC on a network of that name, UUID or bridge"
            ));
        }
    }
    nics
}

fn profile_names(profiles: &[Profile]) -> Vec<String> {
    profiles
        .iter()
        .map(|p| format!("{}/{}", p.network, p.name))
        .collect()
}

/// A profile by `NAME` (unique among all networks) or `NETWORK/NAME`.
fn find_profile(wanted: &str, profiles: &[Profile], problems: &mut Vec<String>) -> Option<Profile> {
    let matching: Vec<&Profile> = match wanted.split_once('/') {
        Some((network, name)) => profiles
            .iter()
            .filter(|p| p.network == network && p.name == name)
            .collect(),
        None => profiles.iter().filter(|p| p.name == wanted).collect(),
    };
    match matching.as_slice() {
        [one] => Some((*one).clone()),
        [] => {
            problems.push(format!(
                "the engine has no vNIC profile `{wanted}` (it has: {})",
                listing(&profile_names(profiles))
            ));
            None
        }
        _ => {
            problems.push(format!(
                "several networks have a vNIC profile `{wanted}`: write NETWORK/{wanted}"
            ));
            None
        }
    }
}

/// XAPI does not say which OS a halted guest runs: Linux is assumed, and said.
fn guess_os_type(warnings: &mut Vec<String>) -> String {
    warnings.push(
        "OS type guessed as `other_linux` (set it with --os-type; Windows guests need their \
         virtio drivers installed before migration)"
            .to_owned(),
    );
    "other_linux".to_owned()
}

#[cfg(test)]
mod tests;
