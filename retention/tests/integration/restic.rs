//! restic's reference scenarios for `forget` (its `TestApplyPolicy` input set and the kept
//! results its golden files record), replayed through `plan`. The data are written out
//! here as our own: times in UTC, ids by position. Where restic's input has several
//! backups at the same instant, only the instants of the kept ones are compared (restic
//! breaks such ties by input order, we by id). The one deliberate difference, keeping the
//! newest complete backup whatever the policy, is taken out before comparing.

use retention::{Backup, BackupState, plan};

use super::support::{at, instant, policy};

/// restic's input: (UTC time, tags).
const INPUT: &[(&str, &[&str])] = &[
    ("2014-09-01T10:20:30Z", &[]),
    ("2014-09-02T10:20:30Z", &[]),
    ("2014-09-05T10:20:30Z", &[]),
    ("2014-09-06T10:20:30Z", &[]),
    ("2014-09-08T10:20:30Z", &[]),
    ("2014-09-09T10:20:30Z", &[]),
    ("2014-09-10T10:20:30Z", &[]),
    ("2014-09-11T10:20:30Z", &[]),
    ("2014-09-20T10:20:30Z", &[]),
    ("2014-09-22T10:20:30Z", &[]),
    ("2014-08-08T10:20:30Z", &[]),
    ("2014-08-10T10:20:30Z", &[]),
    ("2014-08-12T10:20:30Z", &[]),
    ("2014-08-13T10:20:30Z", &[]),
    ("2014-08-13T10:20:30.1Z", &[]),
    ("2014-08-15T10:20:30Z", &[]),
    ("2014-08-18T10:20:30Z", &[]),
    ("2014-08-20T10:20:30Z", &[]),
    ("2014-08-21T10:20:30Z", &[]),
    ("2014-08-22T10:20:30Z", &[]),
    ("2014-10-01T10:20:30Z", &["foo"]),
    ("2014-10-02T10:20:30Z", &["foo"]),
    ("2014-10-05T10:20:30Z", &["foo"]),
    ("2014-10-06T10:20:30Z", &["foo"]),
    ("2014-10-08T10:20:30Z", &["foo"]),
    ("2014-10-09T10:20:30Z", &["foo"]),
    ("2014-10-10T10:20:30Z", &["foo"]),
    ("2014-10-11T10:20:30Z", &["foo"]),
    ("2014-10-20T10:20:30Z", &["foo"]),
    ("2014-10-22T10:20:30Z", &["foo"]),
    ("2014-11-08T10:20:30Z", &["foo"]),
    ("2014-11-10T10:20:30Z", &["foo"]),
    ("2014-11-12T10:20:30Z", &["foo"]),
    ("2014-11-13T10:20:30Z", &["foo"]),
    ("2014-11-13T10:20:30.1Z", &["bar"]),
    ("2014-11-15T10:20:30Z", &["foo", "bar"]),
    ("2014-11-18T10:20:30Z", &[]),
    ("2014-11-20T10:20:30Z", &[]),
    ("2014-11-21T10:20:30Z", &[]),
    ("2014-11-22T10:20:30Z", &[]),
    ("2015-09-01T10:20:30Z", &[]),
    ("2015-09-02T10:20:30Z", &[]),
    ("2015-09-05T10:20:30Z", &[]),
    ("2015-09-06T10:20:30Z", &[]),
    ("2015-09-08T10:20:30Z", &[]),
    ("2015-09-09T10:20:30Z", &[]),
    ("2015-09-10T10:20:30Z", &[]),
    ("2015-09-11T10:20:30Z", &[]),
    ("2015-09-20T10:20:30Z", &[]),
    ("2015-09-22T10:20:30Z", &[]),
    ("2015-08-08T10:20:30Z", &[]),
    ("2015-08-10T10:20:30Z", &[]),
    ("2015-08-12T10:20:30Z", &[]),
    ("2015-08-13T10:20:30Z", &[]),
    ("2015-08-13T10:20:30.1Z", &[]),
    ("2015-08-15T10:20:30Z", &[]),
    ("2015-08-18T10:20:30Z", &[]),
    ("2015-08-20T10:20:30Z", &[]),
    ("2015-08-21T10:20:30Z", &[]),
    ("2015-08-22T10:20:30Z", &[]),
    ("2015-10-01T10:20:30Z", &[]),
    ("2015-10-02T10:20:30Z", &[]),
    ("2015-10-05T10:20:30Z", &[]),
    ("2015-10-06T10:20:30Z", &[]),
    ("2015-10-08T10:20:30Z", &[]),
    ("2015-10-09T10:20:30Z", &[]),
    ("2015-10-10T10:20:30Z", &[]),
    ("2015-10-11T10:20:30Z", &[]),
    ("2015-10-20T10:20:30Z", &[]),
    ("2015-10-22T10:20:30Z", &[]),
    ("2015-10-22T10:20:30Z", &[]),
    ("2015-10-22T10:20:30Z", &["foo", "bar"]),
    ("2015-10-22T10:20:30Z", &["foo", "bar"]),
    ("2015-10-22T10:20:30Z", &["foo", "bar"]),
    ("2015-11-08T10:20:30Z", &[]),
    ("2015-11-10T10:20:30Z", &[]),
    ("2015-11-12T10:20:30Z", &[]),
    ("2015-11-13T10:20:30Z", &[]),
    ("2015-11-13T10:20:30.1Z", &[]),
    ("2015-11-15T10:20:30Z", &[]),
    ("2015-11-18T10:20:30Z", &[]),
    ("2015-11-20T10:20:30Z", &[]),
    ("2015-11-21T10:20:30Z", &[]),
    ("2015-11-22T10:20:30Z", &[]),
    ("2016-01-01T01:02:03Z", &[]),
    ("2016-01-01T01:03:03Z", &[]),
    ("2016-01-01T07:08:03Z", &[]),
    ("2016-01-03T07:02:03Z", &[]),
    ("2016-01-04T10:23:03Z", &[]),
    ("2016-01-04T11:23:03Z", &[]),
    ("2016-01-04T12:23:03Z", &[]),
    ("2016-01-04T12:24:03Z", &[]),
    ("2016-01-04T12:28:03Z", &[]),
    ("2016-01-04T12:30:03Z", &[]),
    ("2016-01-04T16:23:03Z", &[]),
    ("2016-01-05T09:02:03Z", &[]),
    ("2016-01-06T08:02:03Z", &[]),
    ("2016-01-07T10:02:03Z", &[]),
    ("2016-01-08T20:02:03Z", &[]),
    ("2016-01-09T21:02:03Z", &[]),
    ("2016-01-12T21:02:03Z", &[]),
    ("2016-01-12T21:08:03Z", &[]),
    ("2016-01-18T12:02:03Z", &[]),
];

fn input() -> Vec<Backup> {
    INPUT
        .iter()
        .enumerate()
        .map(|(i, (time, tags))| {
            Backup::new(format!("r{i:03}"), at(time), BackupState::Complete)
                .with_tags(tags.iter().copied())
        })
        .collect()
}

/// The kept backups as (time, reasons), newest first, without our newest-complete
/// guarantee.
fn kept(policy_json: &str) -> Vec<(String, Vec<String>)> {
    let backups = input();
    let plan = plan(
        &backups,
        &policy(policy_json),
        instant("2026-01-01T00:00:00Z"),
    );
    plan.kept()
        .map(|d| {
            let backup = backups
                .iter()
                .find(|b| b.id == d.id)
                .expect("planned backup");
            let time = backup.time.timestamp().to_string();
            let reasons: Vec<String> = d
                .reasons
                .iter()
                .filter(|r| *r != "newest complete backup")
                .cloned()
                .collect();
            (time, reasons)
        })
        .filter(|(_, reasons)| !reasons.is_empty())
        .collect()
}

fn want(rows: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    rows.iter()
        .map(|(t, r)| {
            (
                (*t).to_string(),
                r.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

const DAILY: &[&str] = &["daily snapshot"];
const MONTHLY: &[&str] = &["monthly snapshot"];
const WEEKLY_WITHIN: &[&str] = &["weekly within 1y2m3d3h"];
const WITHIN: &[&str] = &["within 1m14d"];

#[test]
fn daily_10() {
    let times = [
        "2016-01-18T12:02:03Z",
        "2016-01-12T21:08:03Z",
        "2016-01-09T21:02:03Z",
        "2016-01-08T20:02:03Z",
        "2016-01-07T10:02:03Z",
        "2016-01-06T08:02:03Z",
        "2016-01-05T09:02:03Z",
        "2016-01-04T16:23:03Z",
        "2016-01-03T07:02:03Z",
        "2016-01-01T07:08:03Z",
    ];
    let rows: Vec<(&str, &[&str])> = times.iter().map(|t| (*t, DAILY)).collect();
    assert_eq!(kept(r#"{"keep_daily": 10}"#), want(&rows));
}

#[test]
fn daily_2_weekly_2_monthly_6() {
    assert_eq!(
        kept(r#"{"keep_daily": 2, "keep_weekly": 2, "keep_monthly": 6}"#),
        want(&[
            (
                "2016-01-18T12:02:03Z",
                &["daily snapshot", "weekly snapshot", "monthly snapshot"]
            ),
            (
                "2016-01-12T21:08:03Z",
                &["daily snapshot", "weekly snapshot"]
            ),
            ("2015-11-22T10:20:30Z", MONTHLY),
            ("2015-10-22T10:20:30Z", MONTHLY),
            ("2015-09-22T10:20:30Z", MONTHLY),
            ("2015-08-22T10:20:30Z", MONTHLY),
            ("2014-11-22T10:20:30Z", MONTHLY),
        ])
    );
}

#[test]
fn yearly_10_keeps_the_oldest() {
    assert_eq!(
        kept(r#"{"keep_yearly": 10}"#),
        want(&[
            ("2016-01-18T12:02:03Z", &["yearly snapshot"]),
            ("2015-11-22T10:20:30Z", &["yearly snapshot"]),
            ("2014-11-22T10:20:30Z", &["yearly snapshot"]),
            ("2014-08-08T10:20:30Z", &["oldest yearly snapshot"]),
        ])
    );
}

#[test]
fn tag_lists_foo_or_bar() {
    let foo: &[&str] = &["has tags [foo]"];
    let both: &[&str] = &["has tags [foo]", "has tags [bar]"];
    let mut rows: Vec<(&str, &[&str])> = vec![
        ("2015-10-22T10:20:30Z", both),
        ("2015-10-22T10:20:30Z", both),
        ("2015-10-22T10:20:30Z", both),
        ("2014-11-15T10:20:30Z", both),
        ("2014-11-13T10:20:30.1Z", &["has tags [bar]"]),
    ];
    for t in [
        "2014-11-13T10:20:30Z",
        "2014-11-12T10:20:30Z",
        "2014-11-10T10:20:30Z",
        "2014-11-08T10:20:30Z",
        "2014-10-22T10:20:30Z",
        "2014-10-20T10:20:30Z",
        "2014-10-11T10:20:30Z",
        "2014-10-10T10:20:30Z",
        "2014-10-09T10:20:30Z",
        "2014-10-08T10:20:30Z",
        "2014-10-06T10:20:30Z",
        "2014-10-05T10:20:30Z",
        "2014-10-02T10:20:30Z",
        "2014-10-01T10:20:30Z",
    ] {
        rows.push((t, foo));
    }
    assert_eq!(kept(r#"{"keep_tags": [["foo"], ["bar"]]}"#), want(&rows));
}

#[test]
fn within_1m14d() {
    let times = [
        "2016-01-18T12:02:03Z",
        "2016-01-12T21:08:03Z",
        "2016-01-12T21:02:03Z",
        "2016-01-09T21:02:03Z",
        "2016-01-08T20:02:03Z",
        "2016-01-07T10:02:03Z",
        "2016-01-06T08:02:03Z",
        "2016-01-05T09:02:03Z",
        "2016-01-04T16:23:03Z",
        "2016-01-04T12:30:03Z",
        "2016-01-04T12:28:03Z",
        "2016-01-04T12:24:03Z",
        "2016-01-04T12:23:03Z",
        "2016-01-04T11:23:03Z",
        "2016-01-04T10:23:03Z",
        "2016-01-03T07:02:03Z",
        "2016-01-01T07:08:03Z",
        "2016-01-01T01:03:03Z",
        "2016-01-01T01:02:03Z",
    ];
    let rows: Vec<(&str, &[&str])> = times.iter().map(|t| (*t, WITHIN)).collect();
    assert_eq!(kept(r#"{"keep_within": "1m14d"}"#), want(&rows));
}

#[test]
fn within_weekly_crosses_iso_week_53() {
    // 2016-01-03 is the Sunday of ISO week 53 of 2015; 2016-01-09 is in week 1 of 2016.
    let times = [
        "2016-01-18T12:02:03Z",
        "2016-01-12T21:08:03Z",
        "2016-01-09T21:02:03Z",
        "2016-01-03T07:02:03Z",
        "2015-11-22T10:20:30Z",
        "2015-11-15T10:20:30Z",
        "2015-11-08T10:20:30Z",
        "2015-10-22T10:20:30Z",
        "2015-10-11T10:20:30Z",
        "2015-10-02T10:20:30Z",
        "2015-09-22T10:20:30Z",
        "2015-09-20T10:20:30Z",
        "2015-09-11T10:20:30Z",
        "2015-09-06T10:20:30Z",
        "2015-08-22T10:20:30Z",
        "2015-08-15T10:20:30Z",
        "2015-08-08T10:20:30Z",
        "2014-11-22T10:20:30Z",
        "2014-11-15T10:20:30Z",
    ];
    let rows: Vec<(&str, &[&str])> = times.iter().map(|t| (*t, WEEKLY_WITHIN)).collect();
    assert_eq!(kept(r#"{"keep_within_weekly": "1y2m3d3h"}"#), want(&rows));
}

#[test]
fn daily_3_weekly_2_unlimited_monthly_and_yearly() {
    assert_eq!(
        kept(r#"{"keep_daily": 3, "keep_weekly": 2, "keep_monthly": -1, "keep_yearly": -1}"#),
        want(&[
            (
                "2016-01-18T12:02:03Z",
                &[
                    "daily snapshot",
                    "weekly snapshot",
                    "monthly snapshot",
                    "yearly snapshot"
                ]
            ),
            (
                "2016-01-12T21:08:03Z",
                &["daily snapshot", "weekly snapshot"]
            ),
            ("2016-01-09T21:02:03Z", DAILY),
            (
                "2015-11-22T10:20:30Z",
                &["monthly snapshot", "yearly snapshot"]
            ),
            ("2015-10-22T10:20:30Z", MONTHLY),
            ("2015-09-22T10:20:30Z", MONTHLY),
            ("2015-08-22T10:20:30Z", MONTHLY),
            (
                "2014-11-22T10:20:30Z",
                &["monthly snapshot", "yearly snapshot"]
            ),
            ("2014-10-22T10:20:30Z", MONTHLY),
            ("2014-09-22T10:20:30Z", MONTHLY),
            ("2014-08-22T10:20:30Z", MONTHLY),
            (
                "2014-08-08T10:20:30Z",
                &["oldest monthly snapshot", "oldest yearly snapshot"]
            ),
        ])
    );
}
