//! Which VMs a run backs up, and how: the configuration's rules resolved against the
//! pool's VMs, with NAUbackup's checks. Pure: the VMs are given as data.
//!
//! # Semantics
//!
//! 1. **Candidates.** Templates, snapshots and control domains are never selected, by any
//!    rule.
//! 2. **Matching.** A plain name ([`is_plain_name`](crate::is_plain_name)) matches the
//!    candidates with exactly that name (case-sensitive); if none has it and it is a uuid
//!    (any case), the candidate with that uuid. A pattern matches the candidates whose name
//!    it matches from the start (Python's `re.match`). A tag (`tag:NAME`, see
//!    [`TagSelector`]) matches the candidates whose `tags` hold it, `%a`
//!    being the weekday given to [`resolve`] (the run's, in local time).
//! 3. **Excludes** drop the candidates they match from every rule, whatever the order of
//!    the lines. An exclude that matches nothing is a warning.
//! 4. **Export rules.** A plain name that matches nothing is an error ("vm(s) List does
//!    not exist"); one that matches several non-excluded VMs is an error naming their
//!    uuids (select one by uuid, or exclude the others by uuid). A pattern or a tag that
//!    matches nothing (once excludes are applied) is a warning: on most days no VM carries
//!    some weekday's tag. A
//!    VM selected by name or pattern whose name another non-excluded candidate also
//!    carries is an error: both would back up into one directory (NAUbackup's
//!    duplicate-name check); selecting it by uuid is allowed.
//! 5. **One job per VM.** When rules of several kinds select a VM, the kind first in
//!    [`JobKind`]'s order wins: vdi-export, skeleton-export, vm-export, metadata-export.
//!    Its keep override is the `:N` of the last rule (in line order, any kind) that
//!    selects it and has one.
//! 6. **Distinct directories.** Two jobs whose VMs have the same name (both selected by
//!    uuid) are errors, and neither runs.
//! 7. **Order.** Jobs are sorted by VM name, then uuid; errors and warnings by line.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use jiff::civil::Weekday;

use crate::config::{JobKind, Rule, RuleAction};
use crate::error::{Issue, Location};
use crate::pattern::Selector;
use crate::tag::TagSelector;

mod offline;
pub use offline::{OfflineVm, possible_keeps};

/// A VM of the pool, as selection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmInfo {
    /// The VM's uuid.
    pub uuid: String,
    /// Its name (`name_label`).
    pub name_label: String,
    /// Templates are never selected.
    pub is_a_template: bool,
    /// Snapshots are never selected.
    pub is_a_snapshot: bool,
    /// Control domains (dom0) are never selected.
    pub is_control_domain: bool,
    /// Its tags (`VM.tags`), for `tag:` rules.
    pub tags: Vec<String>,
}

/// A VM to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The VM's uuid.
    pub uuid: String,
    /// The VM's name.
    pub name: String,
    /// How to back it up.
    pub kind: JobKind,
    /// How many backups of it to keep (the rule's `:N`), replacing `keep_last`.
    pub keep: Option<NonZeroU32>,
    /// The last rule of the winning kind that selected it.
    pub rule: Location,
}

/// A VM left out by an `exclude=` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// The VM's uuid.
    pub uuid: String,
    /// The VM's name.
    pub name: String,
}

/// The resolved selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The VMs to back up, by name then uuid.
    pub jobs: Vec<Job>,
    /// Candidates left out by excludes, by name then uuid (`preview` shows them).
    pub excluded: Vec<Excluded>,
    /// Problems that leave a rule without effect, each at its rule.
    pub errors: Vec<Issue>,
    /// Things worth a look, each at its rule.
    pub warnings: Vec<Issue>,
}

/// Resolves `rules` (in line order) against the pool's `vms` on the day `today` (for
/// `tag:%a`: the weekday of the run's clock, in local time); see the module docs.
pub fn resolve(rules: &[Rule], vms: &[VmInfo], today: Weekday) -> Selection {
    let candidates: Vec<&VmInfo> = vms
        .iter()
        .filter(|vm| !vm.is_a_template && !vm.is_a_snapshot && !vm.is_control_domain)
        .collect();
    let mut resolver = Resolver {
        vms,
        excluded: BTreeSet::new(),
        name_count: BTreeMap::new(),
        chosen: BTreeMap::new(),
        selection: Selection::default(),
        candidates,
        today,
    };
    for rule in rules.iter().filter(|r| r.action == RuleAction::Exclude) {
        resolver.exclude(rule);
    }
    for (i, vm) in resolver.candidates.iter().enumerate() {
        if !resolver.excluded.contains(&i) {
            *resolver
                .name_count
                .entry(vm.name_label.as_str())
                .or_default() += 1;
        }
    }
    for rule in rules {
        if let RuleAction::Export(kind) = rule.action {
            resolver.export(rule, kind);
        }
    }
    resolver.finish()
}

/// The state of a resolution; candidates are referred to by index.
struct Resolver<'a> {
    vms: &'a [VmInfo],
    candidates: Vec<&'a VmInfo>,
    excluded: BTreeSet<usize>,
    /// The number of non-excluded candidates carrying each name.
    name_count: BTreeMap<&'a str, usize>,
    /// Per selected candidate: the kinds selecting it (with the last rule of each) and
    /// the last keep.
    chosen: BTreeMap<usize, (BTreeMap<JobKind, Location>, Option<NonZeroU32>)>,
    selection: Selection,
    /// The day `tag:%a` is resolved for.
    today: Weekday,
}

impl Resolver<'_> {
    fn error(&mut self, at: &Location, message: String) {
        self.selection.errors.push(Issue::new(at.clone(), message));
    }

    fn warn(&mut self, at: &Location, message: String) {
        self.selection
            .warnings
            .push(Issue::new(at.clone(), message));
    }

    /// The uuids of the candidates named `name`, sorted, comma-separated.
    fn uuids_named(&self, name: &str) -> String {
        let mut uuids: Vec<&str> = self
            .candidates
            .iter()
            .filter(|vm| vm.name_label == name)
            .map(|vm| vm.uuid.as_str())
            .collect();
        uuids.sort_unstable();
        uuids.join(", ")
    }

    fn exclude(&mut self, rule: &Rule) {
        let matched = matches(&rule.selector, &self.candidates, self.today);
        if matched.is_empty() {
            let message = match &rule.selector {
                Selector::Tag(tag) => {
                    format!("exclude {} matches no VM", shown_tag(tag, self.today))
                }
                Selector::Name(name) => format!("vm(s) Exclude does not exist: {name}"),
                Selector::Pattern(p) => format!("exclude pattern `{}` matches no VM", p.as_str()),
            };
            self.warn(&rule.at, message);
        }
        self.excluded.extend(matched);
    }

    fn export(&mut self, rule: &Rule, kind: JobKind) {
        let matched = matches(&rule.selector, &self.candidates, self.today);
        let kept: Vec<usize> = matched
            .iter()
            .copied()
            .filter(|i| !self.excluded.contains(i))
            .collect();
        let by_uuid = match &rule.selector {
            Selector::Name(name) => {
                if matched.is_empty() {
                    let hint = if self.vms.iter().any(|vm| &vm.name_label == name) {
                        " (only a template, snapshot or control domain has this name)"
                    } else {
                        ""
                    };
                    return self
                        .error(&rule.at, format!("vm(s) List does not exist: {name}{hint}"));
                }
                if kept.len() > 1 {
                    let message = format!(
                        "{} VMs are named `{name}` ({}): select one by its uuid",
                        kept.len(),
                        self.uuids_named(name)
                    );
                    return self.error(&rule.at, message);
                }
                self.candidates[matched[0]].name_label != *name
            }
            Selector::Pattern(p) => {
                if kept.is_empty() {
                    let message = format!(
                        "pattern `{}` matches no VM that is not excluded",
                        p.as_str()
                    );
                    self.warn(&rule.at, message);
                }
                false
            }
            Selector::Tag(tag) => {
                if kept.is_empty() {
                    let message = format!(
                        "{} is on no VM that is not excluded",
                        shown_tag(tag, self.today)
                    );
                    self.warn(&rule.at, message);
                }
                false
            }
        };
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        for i in kept {
            let name = self.candidates[i].name_label.as_str();
            let count = self.name_count.get(name).copied().unwrap_or(0);
            if !by_uuid && count > 1 {
                if reported.insert(name) {
                    let message = format!(
                        "{count} VMs are named `{name}` ({}): their backups would share a directory; select one by its uuid or rename one",
                        self.uuids_named(name)
                    );
                    self.error(&rule.at, message);
                }
                continue;
            }
            let (kinds, keep) = self.chosen.entry(i).or_default();
            kinds.insert(kind, rule.at.clone());
            if rule.keep.is_some() {
                *keep = rule.keep;
            }
        }
    }

    fn finish(mut self) -> Selection {
        let mut jobs: Vec<Job> = std::mem::take(&mut self.chosen)
            .into_iter()
            .map(|(i, (kinds, keep))| {
                let (&kind, at) = kinds.iter().next().expect("a selected VM has a kind");
                Job {
                    uuid: self.candidates[i].uuid.clone(),
                    name: self.candidates[i].name_label.clone(),
                    kind,
                    keep,
                    rule: at.clone(),
                }
            })
            .collect();
        jobs.sort_by(|a, b| (&a.name, &a.uuid).cmp(&(&b.name, &b.uuid)));
        let mut dropped = Vec::with_capacity(jobs.len());
        for group in jobs.chunk_by(|a, b| a.name == b.name) {
            let shared = group.len() > 1;
            if shared {
                let uuids: Vec<&str> = group.iter().map(|job| job.uuid.as_str()).collect();
                let message = format!(
                    "the selected VMs {} are all named `{}`: their backups would share a directory; rename one",
                    uuids.join(", "),
                    group[0].name
                );
                self.error(&group[0].rule, message);
            }
            dropped.extend(std::iter::repeat_n(shared, group.len()));
        }
        let mut dropped = dropped.into_iter();
        jobs.retain(|_| !dropped.next().expect("one flag per job"));
        let mut selection = self.selection;
        selection.jobs = jobs;
        selection.excluded = self
            .excluded
            .iter()
            .map(|&i| Excluded {
                uuid: self.candidates[i].uuid.clone(),
                name: self.candidates[i].name_label.clone(),
            })
            .collect();
        selection
            .excluded
            .sort_by(|a, b| (&a.name, &a.uuid).cmp(&(&b.name, &b.uuid)));
        selection.errors.sort_by(|a, b| a.at.cmp(&b.at));
        selection.warnings.sort_by(|a, b| a.at.cmp(&b.at));
        selection
    }
}

/// A tag rule in messages: the rule quoted, and for `tag:%a` the tag of today.
fn shown_tag(tag: &TagSelector, today: Weekday) -> String {
    if tag.is_dated() {
        format!("`{tag}` (today `{}`)", tag.tag_on(today))
    } else {
        format!("`{tag}`")
    }
}

/// Whether `selector` matches `vm` on `today`, by the rules of [`resolve`] (a plain name
/// matches the name, else the uuid).
pub fn selector_matches(selector: &Selector, vm: &VmInfo, today: Weekday) -> bool {
    !matches(selector, &[vm], today).is_empty()
}

/// The indexes of the candidates a selector matches on `today`.
fn matches(selector: &Selector, candidates: &[&VmInfo], today: Weekday) -> Vec<usize> {
    let indexes = |keep: &dyn Fn(&VmInfo) -> bool| -> Vec<usize> {
        (0..candidates.len())
            .filter(|&i| keep(candidates[i]))
            .collect()
    };
    match selector {
        Selector::Name(name) => {
            let by_name = indexes(&|vm| vm.name_label == *name);
            if by_name.is_empty() {
                indexes(&|vm| vm.uuid.eq_ignore_ascii_case(name))
            } else {
                by_name
            }
        }
        Selector::Pattern(pattern) => indexes(&|vm| pattern.matches(&vm.name_label)),
        Selector::Tag(tag) => indexes(&|vm| tag.matches(&vm.tags, today)),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tag_tests;
