//! What a client left behind: snapshots it made, disks attached as snapshots or to the
//! backup appliance, disks it made and left floating, transfers not finished, SSO tokens
//! not revoked, backups not finalized.

use std::fmt;

use crate::engine::Engine;
use crate::model::BackupPhase;

/// One leftover object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Leftover {
    /// A snapshot made through the API that still exists.
    Snapshot {
        /// The VM's name.
        vm: String,
        /// The snapshot's description.
        description: String,
    },
    /// A disk attached to the backup appliance, or attached anywhere as a snapshot.
    Attachment {
        /// The VM's name.
        vm: String,
        /// The disk id.
        disk: String,
    },
    /// A disk a client made that is attached to no VM (floating).
    FloatingDisk {
        /// The disk's id.
        id: String,
        /// The disk's name.
        name: String,
        /// Its description.
        description: String,
    },
    /// An image transfer not finished or cancelled.
    Transfer {
        /// The transfer id.
        id: String,
        /// Its phase.
        phase: String,
    },
    /// An SSO token not revoked.
    Token {
        /// The user it was issued to.
        user: String,
    },
    /// A VM backup not finalized.
    Backup {
        /// The VM's name.
        vm: String,
        /// Its phase.
        phase: String,
    },
}

/// The leftovers found (serialized as `{"leftovers": [{"kind": "snapshot", …}, …]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Audit {
    /// Everything left behind.
    pub leftovers: Vec<Leftover>,
}

impl Audit {
    /// Whether nothing was left behind.
    pub fn is_clean(&self) -> bool {
        self.leftovers.is_empty()
    }

    pub(crate) fn of(engine: &Engine) -> Audit {
        let mut leftovers = Vec::new();
        for vm in &engine.vms {
            for s in &vm.snapshots {
                if !engine.initial_snapshots.contains(&s.id) {
                    leftovers.push(Leftover::Snapshot {
                        vm: vm.name.clone(),
                        description: s.description.clone(),
                    });
                }
            }
            let appliance = engine.appliance.as_deref() == Some(vm.id.as_str());
            for a in &vm.attachments {
                if appliance || a.snapshot.is_some() {
                    leftovers.push(Leftover::Attachment {
                        vm: vm.name.clone(),
                        disk: a.disk.clone(),
                    });
                }
            }
        }
        for disk in &engine.disks {
            let attached = engine
                .vms
                .iter()
                .any(|vm| vm.attachments.iter().any(|a| a.disk == disk.id));
            if !attached && !engine.initial_disks.contains(&disk.id) {
                leftovers.push(Leftover::FloatingDisk {
                    id: disk.id.clone(),
                    name: disk.name.clone(),
                    description: disk.description.clone(),
                });
            }
        }
        for t in engine.transfers.iter().filter(|t| !t.phase.is_over()) {
            leftovers.push(Leftover::Transfer {
                id: t.id.clone(),
                phase: t.phase.name().to_owned(),
            });
        }
        for user in engine.tokens.values() {
            leftovers.push(Leftover::Token { user: user.clone() });
        }
        for b in engine
            .backups
            .iter()
            .filter(|b| b.phase != BackupPhase::Succeeded)
        {
            let vm = engine
                .vm(&b.vm)
                .map_or_else(|_| b.vm.clone(), |vm| vm.name.clone());
            leftovers.push(Leftover::Backup {
                vm,
                phase: b.phase.name().to_owned(),
            });
        }
        Audit { leftovers }
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.leftovers.is_empty() {
            return write!(f, "nothing left behind");
        }
        writeln!(f, "{} leftover(s):", self.leftovers.len())?;
        for leftover in &self.leftovers {
            writeln!(f, "  {leftover:?}")?;
        }
        Ok(())
    }
}
