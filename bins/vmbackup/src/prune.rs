//! Retention on one VM's directory: plan with the policy, then apply (or only show); and the
//! policy `vmbackup prune` gives a VM without the pool.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use jiff::Timestamp;
use retention::{
    ApplyReport, KeepCount, Layout, Plan, Policy, ScannedDir, apply, plan, scan_vm_dir,
};

use crate::config::Config;
use crate::error::{Result, VmBackupError};
use crate::manifest::Manifest;
use crate::names;
use crate::selection::{OfflineVm, possible_keeps};

/// A plan and what applying it did.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The directory scanned.
    pub scan: ScannedDir,
    /// Keep or remove, with reasons, for every backup.
    pub plan: Plan,
    /// What was removed (or would be, on a dry run).
    pub applied: ApplyReport,
}

/// Plans `policy` over the backups in `vm_dir` and applies it (not on a `dry_run`). The
/// newest complete backup is never removed, whatever the policy. Backups that keep disks
/// on a backup SR are kept (only [`prune_vm_dir_in_pool`] can remove those disks).
pub fn prune_vm_dir(
    vm_dir: &Path,
    layout: &Layout,
    policy: &Policy,
    now: Timestamp,
    dry_run: bool,
) -> Result<Pruned> {
    prune_vm_dir_in_pool(None, vm_dir, layout, policy, now, dry_run)
}

/// [`prune_vm_dir`], with the pool: a backup that keeps disks on a backup SR has them
/// destroyed before its directory goes, and is kept when that fails
/// ([`crate::backup_sr::settle_plan`]).
pub fn prune_vm_dir_in_pool(
    session: Option<&xenapi::Session>,
    vm_dir: &Path,
    layout: &Layout,
    policy: &Policy,
    now: Timestamp,
    dry_run: bool,
) -> Result<Pruned> {
    let failed = |action: &str, source| {
        VmBackupError::retention(format!("{action} `{}`", vm_dir.display()), source)
    };
    let scan = scan_vm_dir(vm_dir, layout).map_err(|e| failed("scanning", e))?;
    let mut plan = plan(&scan.backups, policy, now);
    crate::backup_sr::settle_plan(session, &scan, &mut plan, dry_run);
    let applied = apply(&scan, &plan, dry_run).map_err(|e| failed("pruning", e))?;
    Ok(Pruned {
        scan,
        plan,
        applied,
    })
}

/// The VM whose backups `vm_dir` holds, as far as the disk tells: its name decoded from the
/// directory name ([`names::vm_name_of_dir`]) or, for a cut name, the one its manifests
/// record; and the uuids its manifests record. Unreadable entries are skipped.
pub fn vm_of_dir(vm_dir: &Path) -> OfflineVm {
    let manifests: Vec<Manifest> = fs::read_dir(vm_dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| Manifest::read(&entry.ok()?.path()).ok())
        .collect();
    let dir = vm_dir.file_name().and_then(|n| n.to_str());
    let name = dir.and_then(|dir| {
        names::vm_name_of_dir(dir).or_else(|| {
            let recorded: BTreeSet<&str> = manifests
                .iter()
                .map(|m| m.vm.name_label.as_str())
                .filter(|name| names::dir_name(name) == dir)
                .collect();
            match recorded.into_iter().collect::<Vec<_>>().as_slice() {
                [name] => Some((*name).to_owned()),
                _ => None,
            }
        })
    });
    OfflineVm {
        name,
        uuids: manifests.into_iter().map(|m| m.vm.uuid).collect(),
    }
}

/// The policy `vmbackup prune` applies to `vm`: the configured one, with the `keep_last` a
/// run would give the VM (its rule's `:N`, see [`possible_keeps`]). When that depends on
/// what only the pool knows, the one of the possible policies that keeps the most.
pub fn offline_policy(config: &Config, vm: &OfflineVm) -> Policy {
    let keeps = possible_keeps(&config.rules, vm);
    let policy = keeps
        .iter()
        .map(|&keep| config.policy_for(keep))
        .max_by_key(reach)
        .expect("at least one keep is possible");
    if keeps.len() > 1 {
        tracing::info!(
            vm = vm.name.as_deref().unwrap_or("?"),
            keep_last = %policy.keep_last,
            "the VM's keep depends on the pool: using the largest that may apply"
        );
    }
    policy
}

/// How far a policy that differs from others only in `keep_last` reaches: an empty policy
/// keeps every complete backup; otherwise more `keep_last` keeps more.
fn reach(policy: &Policy) -> (bool, u64) {
    let last = match policy.keep_last {
        KeepCount::Count(n) => u64::from(n),
        KeepCount::Unlimited => u64::MAX,
    };
    (policy.is_empty(), last)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Overrides;

    fn parsed(text: &str) -> Config {
        Config::parse(
            text,
            Path::new("t.cfg"),
            Path::new("/"),
            Overrides::default(),
        )
        .unwrap()
    }

    fn vm(name: &str) -> OfflineVm {
        OfflineVm {
            name: Some(name.to_owned()),
            uuids: BTreeSet::new(),
        }
    }

    #[test]
    fn the_rule_keep_replaces_max_backups_as_in_a_run() {
        let config = parsed("max_backups=4\nvm-export=db:10\nvm-export=web\n");
        assert_eq!(
            offline_policy(&config, &vm("db")).keep_last,
            KeepCount::Count(10)
        );
        assert_eq!(
            offline_policy(&config, &vm("web")).keep_last,
            KeepCount::Count(4)
        );
    }

    #[test]
    fn an_uncertain_keep_takes_the_policy_that_keeps_most() {
        let unknown = OfflineVm::default();
        let config = parsed("max_backups=4\nvm-export=db:2\nvm-export=web:6\n");
        assert_eq!(
            offline_policy(&config, &unknown).keep_last,
            KeepCount::Count(6)
        );
        let config = parsed("max_backups=8\nvm-export=db:2\n");
        assert_eq!(
            offline_policy(&config, &unknown).keep_last,
            KeepCount::Count(8)
        );
        // Without max_backups and with no other rule on, the policy keeps everything.
        let config = parsed("keep_daily=0\nvm-export=db:2\n");
        assert!(offline_policy(&config, &unknown).is_empty());
    }

    #[test]
    fn directories_give_names_and_manifests_uuids() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(names::dir_name("web/01"));
        fs::create_dir(&dir).unwrap();
        assert_eq!(vm_of_dir(&dir), vm("web/01"));
        let foreign = root.path().join("a%2fb");
        fs::create_dir(&foreign).unwrap();
        assert_eq!(vm_of_dir(&foreign), OfflineVm::default());

        // A cut name: the manifests say which VM it is.
        let long = "ü".repeat(200);
        let dir = root.path().join(names::dir_name(&long));
        let backup = crate::backup_dir::PartialBackup::create(
            &dir,
            Timestamp::UNIX_EPOCH,
            crate::backup_dir::FileMode::default(),
        )
        .unwrap();
        let manifest = Manifest {
            format: retention::layout::MANIFEST_FORMAT.to_owned(),
            state: crate::manifest::ManifestState::Complete,
            created: "1970-01-01T00:00:00Z".to_owned(),
            finished: "1970-01-01T00:00:00Z".to_owned(),
            parent: None,
            tags: Vec::new(),
            kind: "vm-export".to_owned(),
            vm: crate::manifest::ManifestVm {
                uuid: "u1".into(),
                name_label: long.clone(),
                directory: names::dir_name(&long),
            },
            pool: crate::manifest::ManifestPool {
                master: "https://xs".into(),
                host: "h".into(),
            },
            tool: "vmbackup".into(),
            files: Vec::new(),
            disks: Vec::new(),
            sr_copies: Vec::new(),
        };
        backup.commit(&manifest).unwrap();
        let found = vm_of_dir(&dir);
        assert_eq!(found.name, Some(long));
        assert_eq!(found.uuids, BTreeSet::from(["u1".to_owned()]));
    }
}
