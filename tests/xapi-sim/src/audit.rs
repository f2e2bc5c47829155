//! The audit: what exists beyond the baseline (the pool as started, plus what the test
//! added through the handle), so a test can prove a client left nothing behind.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use xenapi::Ref;

use crate::pool::Pool;

/// The objects that make up the baseline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Baseline {
    vms: HashSet<Ref>,
    vbds: HashSet<Ref>,
    vdis: HashSet<Ref>,
    vifs: HashSet<Ref>,
    networks: HashSet<Ref>,
}

impl Baseline {
    /// Everything in the pool now.
    pub(crate) fn of(pool: &Pool) -> Self {
        Baseline {
            vms: pool.vms.keys().cloned().collect(),
            vbds: pool.vbds.keys().cloned().collect(),
            vdis: pool.vdis.keys().cloned().collect(),
            vifs: pool.vifs.keys().cloned().collect(),
            networks: pool.networks.keys().cloned().collect(),
        }
    }
}

/// One object found by the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// Its reference.
    pub reference: Ref,
    /// Its UUID.
    pub uuid: String,
    /// Its name (`name_label`; for a session, the user and originator).
    pub label: String,
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {:?})", self.reference, self.uuid, self.label)
    }
}

/// What exists beyond the baseline, and what of the baseline is gone (serialized as a JSON
/// object with one list per field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// Snapshot VMs (`is_a_snapshot`) not in the baseline.
    pub snapshots: Vec<Leftover>,
    /// Other VMs not in the baseline (imports, copies).
    pub vms: Vec<Leftover>,
    /// VDIs not in the baseline (snapshot disks included).
    pub vdis: Vec<Leftover>,
    /// VBDs not in the baseline.
    pub vbds: Vec<Leftover>,
    /// VIFs not in the baseline.
    pub vifs: Vec<Leftover>,
    /// Networks not in the baseline (created by imports).
    pub networks: Vec<Leftover>,
    /// Sessions opened by clients and still open.
    pub sessions: Vec<Leftover>,
    /// Tasks created by clients (`task.create`, `Async.*`, transfers given a `task_id`)
    /// and not destroyed.
    pub tasks: Vec<Leftover>,
    /// Objects of the baseline that no longer exist (VMs, VBDs, VDIs, VIFs, networks).
    pub removed: Vec<Leftover>,
}

impl Audit {
    pub(crate) fn of(pool: &Pool, baseline: &Baseline) -> Audit {
        let mut audit = Audit::default();
        for (r, vm) in pool.vms.iter().filter(|(r, _)| !baseline.vms.contains(r)) {
            let item = leftover(r, &vm.uuid, &vm.name_label);
            if vm.is_a_snapshot {
                audit.snapshots.push(item);
            } else {
                audit.vms.push(item);
            }
        }
        audit.vdis = extra(&pool.vdis, &baseline.vdis, |v| {
            (&v.uuid, v.name_label.clone())
        });
        audit.vbds = extra(&pool.vbds, &baseline.vbds, |v| {
            (&v.uuid, format!("{} of {}", v.userdevice, v.vm))
        });
        audit.vifs = extra(&pool.vifs, &baseline.vifs, |v| (&v.uuid, v.mac.clone()));
        audit.networks = extra(&pool.networks, &baseline.networks, |n| {
            (&n.uuid, n.name_label.clone())
        });
        audit.sessions = pool
            .sessions
            .iter()
            .filter(|(_, s)| !s.internal)
            .map(|(r, s)| leftover(r, &s.uuid, &format!("{} by {:?}", s.user, s.originator)))
            .collect();
        audit.tasks = pool
            .tasks
            .iter()
            .filter(|(_, t)| !t.internal)
            .map(|(r, t)| leftover(r, &t.record.uuid, &t.record.name_label))
            .collect();
        let gone = |set: &HashSet<Ref>, exists: &dyn Fn(&Ref) -> bool, class: &str| {
            let mut refs: Vec<&Ref> = set.iter().filter(|r| !exists(r)).collect();
            refs.sort();
            refs.into_iter()
                .map(|r| leftover(r, "", class))
                .collect::<Vec<_>>()
        };
        audit
            .removed
            .extend(gone(&baseline.vms, &|r| pool.vms.contains_key(r), "VM"));
        audit
            .removed
            .extend(gone(&baseline.vbds, &|r| pool.vbds.contains_key(r), "VBD"));
        audit
            .removed
            .extend(gone(&baseline.vdis, &|r| pool.vdis.contains_key(r), "VDI"));
        audit
            .removed
            .extend(gone(&baseline.vifs, &|r| pool.vifs.contains_key(r), "VIF"));
        audit.removed.extend(gone(
            &baseline.networks,
            &|r| pool.networks.contains_key(r),
            "network",
        ));
        audit
    }

    /// Whether nothing was left behind and nothing of the baseline is gone.
    pub fn is_clean(&self) -> bool {
        self.lists().iter().all(|(_, list)| list.is_empty())
    }

    fn lists(&self) -> [(&'static str, &Vec<Leftover>); 9] {
        [
            ("snapshot VMs", &self.snapshots),
            ("VMs", &self.vms),
            ("VDIs", &self.vdis),
            ("VBDs", &self.vbds),
            ("VIFs", &self.vifs),
            ("networks", &self.networks),
            ("open sessions", &self.sessions),
            ("tasks not destroyed", &self.tasks),
            ("removed from the baseline", &self.removed),
        ]
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("audit: clean");
        }
        f.write_str("audit:")?;
        for (title, list) in self.lists().into_iter().filter(|(_, l)| !l.is_empty()) {
            write!(f, "\n  {title}:")?;
            for item in list {
                write!(f, "\n    {item}")?;
            }
        }
        Ok(())
    }
}

fn leftover(reference: &Ref, uuid: &str, label: &str) -> Leftover {
    Leftover {
        reference: reference.clone(),
        uuid: uuid.to_owned(),
        label: label.to_owned(),
    }
}

fn extra<T>(
    map: &std::collections::BTreeMap<Ref, T>,
    baseline: &HashSet<Ref>,
    describe: impl Fn(&T) -> (&String, String),
) -> Vec<Leftover> {
    map.iter()
        .filter(|(r, _)| !baseline.contains(r))
        .map(|(r, v)| {
            let (uuid, label) = describe(v);
            leftover(r, uuid, &label)
        })
        .collect()
}
