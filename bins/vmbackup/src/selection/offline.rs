//! The `:N` keep a run would give a VM, worked out without the pool (for `vmbackup prune`).
//!
//! A run takes the `:N` of the last rule, in line order, that selects the VM and has one
//! (see the [module docs](super)). Offline, only the VM's name (its directory) and the
//! uuids its manifests record are known, so each rule with a `:N`:
//!
//! - **certainly selects** the VM when it is a pattern matching the name, or the name
//!   itself;
//! - **may select** it when it is another plain name that can be the VM's uuid (one of the
//!   recorded uuids, any case; when none is recorded, any uuid-shaped name), when it is a
//!   tag (`tag:NAME`: only the pool knows a VM's tags), or when the VM's name is unknown;
//! - otherwise does not select it.
//!
//! An exclude that certainly or possibly matches the VM makes `None` (the configured
//! `keep_last`) possible too: a run would leave the VM out and not prune it at all.
//! Duplicate names, which also stop a run, are not known offline.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use crate::config::{Rule, RuleAction};
use crate::pattern::Selector;

/// What is known of a VM without the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfflineVm {
    /// Its name, when known (from its directory's name or its backups' manifests).
    pub name: Option<String>,
    /// The uuids its backups' manifests record; empty when there is no manifest.
    pub uuids: BTreeSet<String>,
}

/// How a rule's selector relates to an [`OfflineVm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// It selects the VM whatever the pool holds.
    Certain,
    /// Whether it selects the VM depends on the pool.
    Possible,
    /// It never selects the VM.
    No,
}

/// Every keep a run could give `vm` under `rules` (see the module docs): a rule's `:N`, or
/// `None` for the configured `keep_last`. Never empty.
pub fn possible_keeps(rules: &[Rule], vm: &OfflineVm) -> BTreeSet<Option<NonZeroU32>> {
    let mut keeps = BTreeSet::from([None]);
    for rule in rules {
        let (RuleAction::Export(_), Some(keep)) = (rule.action, rule.keep) else {
            continue;
        };
        match matching(&rule.selector, vm) {
            Match::Certain => keeps = BTreeSet::from([Some(keep)]),
            Match::Possible => {
                keeps.insert(Some(keep));
            }
            Match::No => {}
        }
    }
    let excluded = rules.iter().any(|rule| {
        rule.action == RuleAction::Exclude && matching(&rule.selector, vm) != Match::No
    });
    if excluded {
        keeps.insert(None);
    }
    keeps
}

/// How `selector` relates to `vm` (see the module docs).
fn matching(selector: &Selector, vm: &OfflineVm) -> Match {
    let Some(name) = &vm.name else {
        return Match::Possible;
    };
    match selector {
        // Tags are known only to the pool.
        Selector::Tag(_) => Match::Possible,
        Selector::Pattern(pattern) if pattern.matches(name) => Match::Certain,
        Selector::Pattern(_) => Match::No,
        Selector::Name(selector) if selector == name => Match::Certain,
        Selector::Name(selector) => {
            let may_be_its_uuid = if vm.uuids.is_empty() {
                looks_like_uuid(selector)
            } else {
                vm.uuids
                    .iter()
                    .any(|uuid| uuid.eq_ignore_ascii_case(selector))
            };
            if may_be_its_uuid {
                Match::Possible
            } else {
                Match::No
            }
        }
    }
}

/// True for the 8-4-4-4-12 hex digit form every XAPI uuid has.
fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, Overrides};

    const UUID: &str = "44444444-0000-0000-0000-00000000000a";

    fn keeps(config: &str, name: Option<&str>, uuids: &[&str]) -> Vec<Option<u32>> {
        let config = Config::parse(
            config,
            Path::new("t.cfg"),
            Path::new("/"),
            Overrides::default(),
        )
        .unwrap();
        let vm = OfflineVm {
            name: name.map(str::to_owned),
            uuids: uuids.iter().map(|u| (*u).to_owned()).collect(),
        };
        possible_keeps(&config.rules, &vm)
            .into_iter()
            .map(|keep| keep.map(NonZeroU32::get))
            .collect()
    }

    #[test]
    fn the_last_rule_that_selects_by_name_or_pattern_decides() {
        let rules = "vm-export=db:10\nvm-export=d.*:3\nvm-export=web:7\nvdi-export=db\n";
        assert_eq!(keeps(rules, Some("db"), &[]), [Some(3)]);
        assert_eq!(keeps(rules, Some("web"), &[]), [Some(7)]);
        assert_eq!(keeps(rules, Some("other"), &[]), [None]);
        assert_eq!(keeps("vm-export=db:10\n", Some("db"), &[]), [Some(10)]);
    }

    #[test]
    fn what_only_the_pool_knows_adds_possibilities() {
        let by_uuid = format!("vm-export=db:2\nvm-export={UUID}:9\n");
        // A recorded uuid, in any case: the uuid rule may come last.
        assert_eq!(
            keeps(&by_uuid, Some("db"), &[&UUID.to_uppercase()]),
            [Some(2), Some(9)]
        );
        // Another recorded uuid: it does not select this VM.
        assert_eq!(
            keeps(
                &by_uuid,
                Some("db"),
                &["44444444-0000-0000-0000-00000000000b"]
            ),
            [Some(2)]
        );
        // No manifest: any uuid-shaped name may be its uuid, other names may not.
        assert_eq!(keeps(&by_uuid, Some("db"), &[]), [Some(2), Some(9)]);
        assert_eq!(keeps("vm-export=web:9\n", Some("db"), &[]), [None]);
        // An unknown name: every rule may select it, or none.
        assert_eq!(
            keeps("vm-export=db:2\nvm-export=web.*:5\n", None, &[]),
            [None, Some(2), Some(5)]
        );
    }

    #[test]
    fn an_exclude_that_may_apply_keeps_the_configured_count_possible() {
        assert_eq!(
            keeps("vm-export=.*:2\nexclude=db\n", Some("db"), &[]),
            [None, Some(2)]
        );
        assert_eq!(
            keeps("vm-export=.*:2\nexclude=db\n", Some("web"), &[]),
            [Some(2)]
        );
    }

    #[test]
    fn uuid_shapes() {
        assert!(looks_like_uuid(UUID));
        assert!(looks_like_uuid("ABCDEF01-2345-6789-abcd-ef0123456789"));
        for not in [
            "db",
            "44444444-0000-0000-0000",
            "4444444g-0000-0000-0000-00000000000a",
        ] {
            assert!(!looks_like_uuid(not), "{not}");
        }
    }
}
