//! Table-driven cases: every rule, and the combinations that are easy to get wrong. Each
//! case lists the whole plan (ids newest first, keep, reasons) and is also planned from
//! reversed input, which must not change anything.

use retention::{Backup, plan};

use super::support::{complete, expected, incomplete, instant, policy, protected, summary};

type Row = (&'static str, bool, &'static [&'static str]);

struct Case {
    name: &'static str,
    policy: &'static str,
    now: &'static str,
    backups: Vec<Backup>,
    expect: &'static [Row],
}

const NOW: &str = "2026-11-22T12:00:00Z";
const NEWEST: &str = "newest complete backup";
const NO_RULE: &str = "no keep rule matches";

fn chained(id: &str, time: &str, parent: &str) -> Backup {
    complete(id, time).with_parent(parent)
}

#[allow(clippy::too_many_lines)] // one table
fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "keep_last counts backups started in the same second, later suffix first",
            policy: r#"{"keep_last": 2}"#,
            now: NOW,
            backups: vec![
                complete("2026-11-22T013005Z", "2026-11-22T01:30:05Z"),
                complete("2026-11-22T013005Z.2", "2026-11-22T01:30:05Z"),
                complete("2026-11-22T013005Z.1", "2026-11-22T01:30:05Z"),
                complete("2026-11-21T013005Z", "2026-11-21T01:30:05Z"),
            ],
            expect: &[
                ("2026-11-22T013005Z.2", true, &["last snapshot", NEWEST]),
                ("2026-11-22T013005Z.1", true, &["last snapshot"]),
                ("2026-11-22T013005Z", false, &[NO_RULE]),
                ("2026-11-21T013005Z", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "keep_daily keeps each day's newest, and the oldest while count is left",
            policy: r#"{"keep_daily": 4}"#,
            now: NOW,
            backups: vec![
                complete("2026-11-22T013005Z", "2026-11-22T01:30:05Z"),
                complete("2026-11-22T013005Z.1", "2026-11-22T01:30:05Z"),
                complete("evening", "2026-11-22T20:00:00Z"),
                complete("fri", "2026-11-21T10:00:00Z"),
                complete("thu-10", "2026-11-20T10:00:00Z"),
                complete("thu-09", "2026-11-20T09:00:00Z"),
            ],
            expect: &[
                ("evening", true, &["daily snapshot", NEWEST]),
                ("2026-11-22T013005Z.1", false, &[NO_RULE]),
                ("2026-11-22T013005Z", false, &[NO_RULE]),
                ("fri", true, &["daily snapshot"]),
                ("thu-10", true, &["daily snapshot"]),
                ("thu-09", true, &["oldest daily snapshot"]),
            ],
        },
        Case {
            name: "keep_hourly stops when its count is used up",
            policy: r#"{"keep_hourly": 3}"#,
            now: NOW,
            backups: vec![
                complete("10:05", "2026-11-22T10:05:00Z"),
                complete("10:40", "2026-11-22T10:40:00Z"),
                complete("11:10", "2026-11-22T11:10:00Z"),
                complete("12:59", "2026-11-22T12:59:00Z"),
                complete("13:00", "2026-11-22T13:00:00Z"),
            ],
            expect: &[
                ("13:00", true, &["hourly snapshot", NEWEST]),
                ("12:59", true, &["hourly snapshot"]),
                ("11:10", true, &["hourly snapshot"]),
                ("10:40", false, &[NO_RULE]),
                ("10:05", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "ISO week 53 spans the new year; calendar years do not",
            policy: r#"{"keep_weekly": 3, "keep_yearly": 2}"#,
            now: NOW,
            backups: vec![
                complete("2021-01-04 mon w1", "2021-01-04T12:00:00Z"),
                complete("2021-01-03 sun w53", "2021-01-03T12:00:00Z"),
                complete("2020-12-31 thu w53", "2020-12-31T12:00:00Z"),
                complete("2020-12-28 mon w53", "2020-12-28T12:00:00Z"),
                complete("2020-12-27 sun w52", "2020-12-27T12:00:00Z"),
                complete("2020-12-21 mon w52", "2020-12-21T12:00:00Z"),
            ],
            expect: &[
                (
                    "2021-01-04 mon w1",
                    true,
                    &["weekly snapshot", "yearly snapshot", NEWEST],
                ),
                ("2021-01-03 sun w53", true, &["weekly snapshot"]),
                ("2020-12-31 thu w53", true, &["yearly snapshot"]),
                ("2020-12-28 mon w53", false, &[NO_RULE]),
                ("2020-12-27 sun w52", true, &["weekly snapshot"]),
                ("2020-12-21 mon w52", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "a month with fewer days: within 1m of March 31 reaches back to February 28",
            policy: r#"{"keep_within": "1m", "keep_monthly": 2}"#,
            now: NOW,
            backups: vec![
                complete("01-31", "2026-01-31T12:00:00Z"),
                complete("02-27", "2026-02-27T12:00:00Z"),
                complete("02-28", "2026-02-28T12:00:00Z"),
                complete("03-01", "2026-03-01T12:00:00Z"),
                complete("03-02", "2026-03-02T12:00:00Z"),
                complete("03-31", "2026-03-31T12:00:00Z"),
            ],
            expect: &[
                ("03-31", true, &["within 1m", "monthly snapshot", NEWEST]),
                ("03-02", true, &["within 1m"]),
                ("03-01", true, &["within 1m"]),
                ("02-28", true, &["monthly snapshot"]),
                ("02-27", false, &[NO_RULE]),
                ("01-31", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "unlimited yearly keeps one per year, the oldest included",
            policy: r#"{"keep_yearly": -1}"#,
            now: NOW,
            backups: vec![
                complete("2026-05", "2026-05-01T00:00:00Z"),
                complete("2026-01", "2026-01-01T00:00:00Z"),
                complete("2025-07", "2025-07-01T00:00:00Z"),
                complete("2024-12", "2024-12-01T00:00:00Z"),
                complete("2024-01", "2024-01-01T00:00:00Z"),
                complete("2023-06", "2023-06-01T00:00:00Z"),
            ],
            expect: &[
                ("2026-05", true, &["yearly snapshot", NEWEST]),
                ("2026-01", false, &[NO_RULE]),
                ("2025-07", true, &["yearly snapshot"]),
                ("2024-12", true, &["yearly snapshot"]),
                ("2024-01", false, &[NO_RULE]),
                ("2023-06", true, &["yearly snapshot"]),
            ],
        },
        Case {
            name: "unlimited keep_last keeps every complete backup",
            policy: r#"{"keep_last": "unlimited"}"#,
            now: NOW,
            backups: vec![
                complete("a", "2026-11-20T00:00:00Z"),
                complete("b", "2026-11-21T00:00:00Z"),
                incomplete("c", "2026-11-20T12:00:00Z"),
            ],
            expect: &[
                ("b", true, &["last snapshot", NEWEST]),
                ("c", false, &["incomplete"]),
                ("a", true, &["last snapshot"]),
            ],
        },
        Case {
            name: "days are those of each backup's own offset",
            policy: r#"{"keep_daily": 2}"#,
            now: NOW,
            backups: vec![
                complete("tokyo 22nd", "2026-11-22T07:00:00+09:00"),
                complete("utc 21st", "2026-11-21T23:00:00Z"),
                complete("new york 21st", "2026-11-21T20:30:00-05:00"),
            ],
            expect: &[
                ("new york 21st", true, &["daily snapshot", NEWEST]),
                ("utc 21st", false, &[NO_RULE]),
                ("tokyo 22nd", true, &["daily snapshot"]),
            ],
        },
        Case {
            name: "tag lists: all tags of one list; incomplete backups are not kept by tags",
            policy: r#"{"keep_tags": [["a", "b"], ["c"]]}"#,
            now: NOW,
            backups: vec![
                complete("n", "2026-11-22T00:00:00Z"),
                complete("ab", "2026-11-21T00:00:00Z").with_tags(["b", "a"]),
                complete("abc", "2026-11-20T00:00:00Z").with_tags(["a", "b", "c"]),
                complete("a", "2026-11-19T00:00:00Z").with_tags(["a"]),
                incomplete("c", "2026-11-18T00:00:00Z").with_tags(["c"]),
            ],
            expect: &[
                ("n", true, &[NEWEST]),
                ("ab", true, &["has tags [a, b]"]),
                ("abc", true, &["has tags [a, b]", "has tags [c]"]),
                ("a", false, &[NO_RULE]),
                ("c", false, &["incomplete"]),
            ],
        },
        Case {
            name: "within and within-daily measure from the newest backup, not from now",
            policy: r#"{"keep_within": "12h", "keep_within_daily": "3d"}"#,
            now: "2027-06-01T00:00:00Z",
            backups: vec![
                complete("22 12:00", "2026-11-22T12:00:00Z"),
                complete("22 06:00", "2026-11-22T06:00:00Z"),
                complete("21 23:00", "2026-11-21T23:00:00Z"),
                complete("21 10:00", "2026-11-21T10:00:00Z"),
                complete("20 10:00", "2026-11-20T10:00:00Z"),
                complete("19 13:00", "2026-11-19T13:00:00Z"),
                complete("18 10:00", "2026-11-18T10:00:00Z"),
            ],
            expect: &[
                ("22 12:00", true, &["within 12h", "daily within 3d", NEWEST]),
                ("22 06:00", true, &["within 12h"]),
                ("21 23:00", true, &["daily within 3d"]),
                ("21 10:00", false, &[NO_RULE]),
                ("20 10:00", true, &["daily within 3d"]),
                ("19 13:00", true, &["daily within 3d"]),
                ("18 10:00", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "a backup dated in the future is not the reference of within",
            policy: r#"{"keep_within": "2d"}"#,
            now: NOW,
            backups: vec![
                complete("future", "2030-01-01T00:00:00Z"),
                complete("today", "2026-11-22T00:00:00Z"),
                complete("yesterday", "2026-11-21T00:00:00Z"),
                complete("last week", "2026-11-15T00:00:00Z"),
            ],
            expect: &[
                ("future", true, &["within 2d", NEWEST]),
                ("today", true, &["within 2d"]),
                ("yesterday", true, &["within 2d"]),
                ("last week", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "max_age_days caps the rules",
            policy: r#"{"keep_daily": 10, "max_age_days": 2}"#,
            now: NOW,
            backups: vec![
                complete("22", "2026-11-22T01:00:00Z"),
                complete("21", "2026-11-21T01:00:00Z"),
                complete("20", "2026-11-20T01:00:00Z"),
                complete("19", "2026-11-19T01:00:00Z"),
            ],
            expect: &[
                ("22", true, &["daily snapshot", NEWEST]),
                ("21", true, &["daily snapshot"]),
                ("20", false, &["older than max age 2 days"]),
                ("19", false, &["older than max age 2 days"]),
            ],
        },
        Case {
            name: "max_age_days alone is a TTL",
            policy: r#"{"max_age_days": 2}"#,
            now: NOW,
            backups: vec![
                complete("22", "2026-11-22T01:00:00Z"),
                complete("21", "2026-11-21T01:00:00Z"),
                complete("20", "2026-11-20T01:00:00Z"),
            ],
            expect: &[
                ("22", true, &["policy is empty", NEWEST]),
                ("21", true, &["policy is empty"]),
                ("20", false, &["older than max age 2 days"]),
            ],
        },
        Case {
            name: "the newest complete backup survives any policy, max age included",
            policy: r#"{"keep_tags": [["never"]], "max_age_days": 1}"#,
            now: "2027-01-01T00:00:00Z",
            backups: vec![
                complete("x", "2026-11-01T00:00:00Z"),
                complete("y", "2026-10-01T00:00:00Z"),
            ],
            expect: &[
                ("x", true, &["older than max age 1 day", NEWEST]),
                ("y", false, &["older than max age 1 day"]),
            ],
        },
        Case {
            name: "protected backups are kept, and fill slots like complete ones",
            policy: r#"{"keep_last": 2, "max_age_days": 30}"#,
            now: NOW,
            backups: vec![
                complete("new", "2026-11-22T00:00:00Z"),
                protected("pinned", "2026-11-21T00:00:00Z"),
                complete("mid", "2026-11-20T00:00:00Z"),
                protected("ancient", "2026-01-01T00:00:00Z"),
            ],
            expect: &[
                ("new", true, &["last snapshot", NEWEST]),
                ("pinned", true, &["last snapshot", "protected"]),
                ("mid", false, &[NO_RULE]),
                (
                    "ancient",
                    true,
                    &["older than max age 30 days", "protected"],
                ),
            ],
        },
        Case {
            name: "incomplete backups fill no slot; only the newest, if newer, is kept",
            policy: r#"{"keep_last": 2}"#,
            now: NOW,
            backups: vec![
                incomplete("run3", "2026-11-22T03:00:00Z"),
                incomplete("run2", "2026-11-22T02:00:00Z"),
                complete("c1", "2026-11-22T01:00:00Z"),
                incomplete("failed", "2026-11-21T12:00:00Z"),
                complete("c0", "2026-11-21T01:00:00Z"),
                complete("c-1", "2026-11-20T01:00:00Z"),
            ],
            expect: &[
                (
                    "run3",
                    true,
                    &["incomplete, newer than the newest complete backup"],
                ),
                ("run2", false, &["incomplete"]),
                ("c1", true, &["last snapshot", NEWEST]),
                ("failed", false, &["incomplete"]),
                ("c0", true, &["last snapshot"]),
                ("c-1", false, &[NO_RULE]),
            ],
        },
        Case {
            name: "an incomplete backup older than the newest complete one goes",
            policy: r#"{"keep_last": 5}"#,
            now: NOW,
            backups: vec![
                complete("c", "2026-11-22T00:00:00Z"),
                incomplete("i", "2026-11-21T00:00:00Z"),
            ],
            expect: &[
                ("c", true, &["last snapshot", NEWEST]),
                ("i", false, &["incomplete"]),
            ],
        },
        Case {
            name: "without complete backups the newest incomplete one stays",
            policy: r#"{"keep_last": 3}"#,
            now: NOW,
            backups: vec![
                incomplete("i1", "2026-11-21T00:00:00Z"),
                incomplete("i2", "2026-11-22T00:00:00Z"),
            ],
            expect: &[
                (
                    "i2",
                    true,
                    &["incomplete, newer than the newest complete backup"],
                ),
                ("i1", false, &["incomplete"]),
            ],
        },
        Case {
            name: "a chain whose base is old is kept whole; an expired chain goes whole",
            policy: r#"{"keep_last": 2, "max_age_days": 3}"#,
            now: NOW,
            backups: vec![
                complete("oldfull", "2026-11-09T01:00:00Z"),
                chained("oldinc", "2026-11-10T01:00:00Z", "oldfull"),
                complete("full", "2026-11-17T01:00:00Z"),
                chained("inc1", "2026-11-18T01:00:00Z", "full"),
                chained("inc2", "2026-11-19T01:00:00Z", "inc1"),
                chained("inc3", "2026-11-20T01:00:00Z", "inc2"),
                chained("inc4", "2026-11-21T01:00:00Z", "inc3"),
                chained("inc5", "2026-11-22T01:00:00Z", "inc4"),
            ],
            expect: &[
                ("inc5", true, &["last snapshot", NEWEST]),
                ("inc4", true, &["last snapshot", "parent of inc5"]),
                ("inc3", true, &["parent of inc4"]),
                (
                    "inc2",
                    true,
                    &["older than max age 3 days", "parent of inc3"],
                ),
                (
                    "inc1",
                    true,
                    &["older than max age 3 days", "parent of inc2"],
                ),
                (
                    "full",
                    true,
                    &["older than max age 3 days", "parent of inc1"],
                ),
                ("oldinc", false, &["older than max age 3 days"]),
                ("oldfull", false, &["older than max age 3 days"]),
            ],
        },
        Case {
            name: "a kept backup's incomplete parent is kept; a missing parent is noted",
            policy: r#"{"keep_last": 1}"#,
            now: NOW,
            backups: vec![
                chained("c", "2026-11-22T00:00:00Z", "base"),
                incomplete("base", "2026-11-21T00:00:00Z"),
                chained("orphan", "2026-11-20T00:00:00Z", "gone"),
            ],
            expect: &[
                ("c", true, &["last snapshot", NEWEST]),
                ("base", true, &["incomplete", "parent of c"]),
                ("orphan", false, &[NO_RULE, "parent gone is missing"]),
            ],
        },
        Case {
            name: "a policy without rules keeps every complete backup",
            policy: "{}",
            now: NOW,
            backups: vec![
                complete("c1", "2026-11-20T00:00:00Z"),
                incomplete("i", "2026-11-21T00:00:00Z"),
                complete("c2", "2026-11-22T00:00:00Z"),
                incomplete("running", "2026-11-22T06:00:00Z"),
            ],
            expect: &[
                (
                    "running",
                    true,
                    &["incomplete, newer than the newest complete backup"],
                ),
                ("c2", true, &["policy is empty", NEWEST]),
                ("i", false, &["incomplete"]),
                ("c1", true, &["policy is empty"]),
            ],
        },
        Case {
            name: "a counted rule that is used up keeps nothing more while the others go on",
            policy: r#"{"keep_daily": 2, "keep_monthly": -1}"#,
            now: NOW,
            backups: vec![
                complete("a", "2026-11-22T00:00:00Z"),
                complete("b", "2026-11-21T00:00:00Z"),
                complete("c", "2026-10-21T00:00:00Z"),
            ],
            expect: &[
                ("a", true, &["daily snapshot", "monthly snapshot", NEWEST]),
                ("b", true, &["daily snapshot"]),
                ("c", true, &["monthly snapshot"]),
            ],
        },
    ]
}

#[test]
fn every_case_plans_as_expected() {
    let mut failures = Vec::new();
    for case in cases() {
        let policy = policy(case.policy);
        let now = instant(case.now);
        let got = summary(&plan(&case.backups, &policy, now));
        if got != expected(case.expect) {
            failures.push(format!(
                "{}:\n  got  {got:?}\n  want {:?}",
                case.name, case.expect
            ));
        }
        let mut reversed = case.backups.clone();
        reversed.reverse();
        if summary(&plan(&reversed, &policy, now)) != got {
            failures.push(format!("{}: depends on input order", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
