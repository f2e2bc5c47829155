//! The plan's invariants over random backups and policies.

use std::collections::HashMap;
use std::num::NonZeroU32;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use retention::{Backup, BackupState, BackupTime, CalendarSpan, KeepCount, Plan, Policy, plan};

const TAGS: [&str; 3] = ["a", "b", "c"];

/// Raw material of one backup: hours after the start, whether it shares the previous
/// backup's instant, offset in quarter hours, state, tag bits, parent choice.
type Raw = (i64, bool, i32, u8, u8, Option<usize>);

fn backups() -> impl Strategy<Value = Vec<Backup>> {
    let raw = (
        0..24 * 500i64,
        any::<bool>(),
        -14 * 4..=14 * 4,
        0..10u8,
        0..8u8,
        any::<Option<usize>>(),
    );
    prop::collection::vec(raw, 0..40).prop_map(|raws: Vec<Raw>| {
        let start: Timestamp = "2024-01-01T00:00:00Z".parse().expect("valid");
        let mut previous = start;
        let count = raws.len();
        raws.into_iter()
            .enumerate()
            .map(|(i, (hours, same, quarters, state, tags, parent))| {
                let time = if same && i > 0 {
                    previous
                } else {
                    start + SignedDuration::from_hours(hours)
                };
                previous = time;
                let offset = Offset::from_seconds(quarters * 900).expect("valid offset");
                let state = match state {
                    0..=5 => BackupState::Complete,
                    6 | 7 => BackupState::Incomplete,
                    _ => BackupState::Protected,
                };
                let mut backup = Backup::new(format!("b{i}"), BackupTime::new(time, offset), state)
                    .with_tags(
                        TAGS.iter()
                            .enumerate()
                            .filter(|(bit, _)| tags & (1 << bit) != 0)
                            .map(|(_, t)| *t),
                    );
                backup.parent = parent.map(|p| {
                    if p % 5 == 0 {
                        "missing".to_string()
                    } else {
                        format!("b{}", p % count)
                    }
                });
                backup
            })
            .collect()
    })
}

fn count() -> impl Strategy<Value = KeepCount> {
    prop_oneof![
        3 => Just(KeepCount::OFF),
        3 => (1..5u32).prop_map(KeepCount::Count),
        1 => Just(KeepCount::Unlimited),
    ]
}

fn span() -> impl Strategy<Value = Option<CalendarSpan>> {
    prop_oneof![
        2 => Just(None),
        1 => (0..2u32, 0..3u32, 0..20u32, 0..30u32)
            .prop_map(|(years, months, days, hours)| Some(CalendarSpan { years, months, days, hours })),
    ]
}

fn policies() -> impl Strategy<Value = Policy> {
    (
        [count(), count(), count(), count(), count(), count()],
        [span(), span(), span(), span(), span(), span()],
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(&TAGS[..]), 1..3),
            0..2,
        ),
        prop::option::of(1..400u32),
    )
        .prop_map(|(counts, spans, tags, max_age)| Policy {
            keep_last: counts[0],
            keep_hourly: counts[1],
            keep_daily: counts[2],
            keep_weekly: counts[3],
            keep_monthly: counts[4],
            keep_yearly: counts[5],
            keep_within: spans[0],
            keep_within_hourly: spans[1],
            keep_within_daily: spans[2],
            keep_within_weekly: spans[3],
            keep_within_monthly: spans[4],
            keep_within_yearly: spans[5],
            keep_tags: tags
                .into_iter()
                .map(|l| l.into_iter().map(str::to_string).collect())
                .collect(),
            max_age_days: max_age.and_then(NonZeroU32::new),
        })
}

fn now() -> impl Strategy<Value = Timestamp> {
    (0..24 * 600i64).prop_map(|h| {
        "2024-01-01T00:00:00Z".parse::<Timestamp>().expect("valid") + SignedDuration::from_hours(h)
    })
}

fn by_id(backups: &[Backup]) -> HashMap<&str, &Backup> {
    backups.iter().map(|b| (b.id.as_str(), b)).collect()
}

fn check_invariants(backups: &[Backup], plan: &Plan) -> Result<(), TestCaseError> {
    let backup = by_id(backups);
    // Keep and remove partition the input.
    let mut planned: Vec<&str> = plan.decisions.iter().map(|d| d.id.as_str()).collect();
    let mut given: Vec<&str> = backups.iter().map(|b| b.id.as_str()).collect();
    planned.sort_unstable();
    given.sort_unstable();
    prop_assert_eq!(planned, given);
    // Newest first, every decision explained.
    let times: Vec<Timestamp> = plan
        .decisions
        .iter()
        .map(|d| backup[d.id.as_str()].time.timestamp())
        .collect();
    prop_assert!(times.windows(2).all(|w| w[0] >= w[1]));
    prop_assert!(plan.decisions.iter().all(|d| !d.reasons.is_empty()));
    let own_parent = plan
        .decisions
        .iter()
        .find(|d| d.reasons.contains(&format!("parent of {}", d.id)));
    prop_assert!(
        own_parent.is_none(),
        "a backup kept as its own parent: {:?}",
        own_parent
    );
    // Protected backups and the newest complete backup stay.
    for d in &plan.decisions {
        if backup[d.id.as_str()].state == BackupState::Protected {
            prop_assert!(d.keep, "protected {} removed", d.id);
        }
    }
    let newest_complete = plan
        .decisions
        .iter()
        .find(|d| backup[d.id.as_str()].state.is_complete());
    if let Some(d) = newest_complete {
        let newest = backups
            .iter()
            .filter(|b| b.state.is_complete())
            .map(|b| b.time.timestamp())
            .max();
        prop_assert_eq!(Some(backup[d.id.as_str()].time.timestamp()), newest);
        prop_assert!(d.keep, "newest complete {} removed", d.id);
    }
    // What a kept backup depends on is kept.
    for d in plan.kept() {
        if let Some(parent) = &backup[d.id.as_str()].parent
            && let Some(p) = plan.decision(parent)
        {
            prop_assert!(p.keep, "{} kept but its parent {} removed", d.id, parent);
        }
    }
    // Incomplete backups stay only as the newest (if newer than every complete one) or as
    // a parent.
    let newest_complete_time = newest_complete.map(|d| backup[d.id.as_str()].time.timestamp());
    let mut newer_incomplete_kept = 0;
    for d in plan
        .kept()
        .filter(|d| !backup[d.id.as_str()].state.is_complete())
    {
        if d.reasons.iter().any(|r| r.starts_with("parent of")) {
            continue;
        }
        newer_incomplete_kept += 1;
        prop_assert!(
            newest_complete_time.is_none_or(|t| backup[d.id.as_str()].time.timestamp() > t)
        );
    }
    prop_assert!(newer_incomplete_kept <= 1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold(backups in backups(), policy in policies(), now in now()) {
        check_invariants(&backups, &plan(&backups, &policy, now))?;
    }

    #[test]
    fn the_plan_does_not_depend_on_input_order(
        (backups, shuffled) in backups().prop_flat_map(|b| (Just(b.clone()), Just(b).prop_shuffle())),
        policy in policies(),
        now in now(),
    ) {
        prop_assert_eq!(plan(&backups, &policy, now), plan(&shuffled, &policy, now));
    }

    #[test]
    fn incomplete_backups_fill_no_slot(backups in backups(), policy in policies(), now in now()) {
        // Without chains, the complete backups are planned exactly as if the incomplete
        // ones did not exist.
        let unchained: Vec<Backup> = backups.into_iter().map(|mut b| { b.parent = None; b }).collect();
        let complete: Vec<Backup> = unchained.iter().filter(|b| b.state.is_complete()).cloned().collect();
        let with = plan(&unchained, &policy, now);
        let without = plan(&complete, &policy, now);
        let state: HashMap<&str, BackupState> = unchained.iter().map(|b| (b.id.as_str(), b.state)).collect();
        let with: Vec<_> = with.decisions.into_iter().filter(|d| state[d.id.as_str()].is_complete()).collect();
        prop_assert_eq!(with, without.decisions);
    }

    #[test]
    fn json_round_trip_plans_the_same(backups in backups(), policy in policies(), now in now()) {
        let input = serde_json::json!({
            "policy": policy,
            "now": now.to_string(),
            "backups": backups.iter().map(|b| serde_json::json!({
                "id": b.id,
                "time": b.time.to_string(),
                "state": b.state,
                "tags": b.tags,
                "parent": b.parent,
            })).collect::<Vec<_>>(),
        });
        let output: serde_json::Value = serde_json::from_str(&retention::plan_json(&input.to_string()).expect("valid input")).expect("JSON output");
        let direct = serde_json::to_value(plan(&backups, &policy, now)).expect("serializes");
        prop_assert_eq!(output, direct);
    }
}
