//! Retention on one VM's directory with the pool at hand (the store's prune with the
//! backup-SR hook); and the policy `vmbackup prune` gives a VM without the pool.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use backup_core::store::{Layout, Manifest, Pruned, dir_name, prune_vm_dir, vm_name_of_dir};
use jiff::Timestamp;
use retention::{KeepCount, Policy};

use crate::backup_sr::BackupSrHook;
use crate::config::Config;
use crate::error::Result;
use crate::selection::{OfflineVm, possible_keeps};

/// The store's [`prune_vm_dir`] with the pool, when there is one: a backup that keeps disks
/// on a backup SR has them destroyed before its directory goes, and is kept when that fails
/// or there is no pool ([`crate::backup_sr::settle_plan`]). The caller holds the backup
/// directory's `StoreLock`.
pub fn prune_vm_dir_in_pool(
    session: Option<&xenapi::Session>,
    vm_dir: &Path,
    layout: &Layout,
    policy: &Policy,
    now: Timestamp,
    dry_run: bool,
) -> Result<Pruned> {
    let hook = BackupSrHook { session };
    Ok(prune_vm_dir(vm_dir, layout, policy, now, dry_run, &hook)?)
}

/// The VM whose backups `vm_dir` holds, as far as the disk tells: its name decoded from the
/// directory name ([`vm_name_of_dir`]) or, for a cut name, the one its manifests
/// record; and the uuids its manifests record. Unreadable entries are skipped.
pub fn vm_of_dir(vm_dir: &Path) -> OfflineVm {
    let manifests: Vec<Manifest> = fs::read_dir(vm_dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| Manifest::read(&entry.ok()?.path()).ok())
        .collect();
    let dir = vm_dir.file_name().and_then(|n| n.to_str());
    let name = dir.and_then(|dir| {
        vm_name_of_dir(dir).or_else(|| {
            let recorded: BTreeSet<&str> = manifests
                .iter()
                .map(|m| m.vm.name.as_str())
                .filter(|name| dir_name(name) == dir)
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
    use backup_core::store::{
        FileMode, MANIFEST_FORMAT, ManifestSource, ManifestState, ManifestVm, PartialBackup,
    };

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
        let dir = root.path().join(dir_name("web/01"));
        fs::create_dir(&dir).unwrap();
        assert_eq!(vm_of_dir(&dir), vm("web/01"));
        let foreign = root.path().join("a%2fb");
        fs::create_dir(&foreign).unwrap();
        assert_eq!(vm_of_dir(&foreign), OfflineVm::default());

        // A cut name: the manifests say which VM it is.
        let long = "ü".repeat(200);
        let dir = root.path().join(dir_name(&long));
        let backup =
            PartialBackup::create(&dir, Timestamp::UNIX_EPOCH, FileMode::default()).unwrap();
        let manifest = Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            state: ManifestState::Complete,
            created: "1970-01-01T00:00:00Z".to_owned(),
            finished: "1970-01-01T00:00:00Z".to_owned(),
            parent: None,
            tags: Vec::new(),
            kind: "vm-export".to_owned(),
            vm: ManifestVm {
                uuid: "u1".into(),
                name: long.clone(),
                directory: dir_name(&long),
            },
            source: ManifestSource {
                endpoint: "https://xs".into(),
                host: "h".into(),
            },
            tool: "vmbackup".into(),
            files: Vec::new(),
            disks: Vec::new(),
            extra: serde_json::Map::new(),
        };
        backup.commit(&manifest).unwrap();
        let found = vm_of_dir(&dir);
        assert_eq!(found.name, Some(long));
        assert_eq!(found.uuids, BTreeSet::from(["u1".to_owned()]));
    }
}
