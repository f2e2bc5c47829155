//! Times `retention::plan` over 100,000 backups (the target: well under a second).
//!
//! `cargo bench -p retention --bench plan` prints the median of a few runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use retention::{Backup, BackupState, BackupTime, CalendarSpan, KeepCount, Policy, plan};

const BACKUPS: usize = 100_000;
const RUNS: usize = 7;

/// One backup every 15 minutes from 2023 on, recorded at a few different offsets, with
/// incremental chains (a full backup every 96), some incomplete, protected and tagged ones.
fn backups() -> Vec<Backup> {
    let start: Timestamp = "2023-01-01T00:00:00Z".parse().expect("valid time");
    let offsets = [0, 1, 2, -5].map(Offset::constant);
    (0..BACKUPS)
        .map(|i| {
            let minutes = i64::try_from(i).expect("small") * 15;
            let time = start + SignedDuration::from_mins(minutes);
            let state = match i {
                _ if i % 97 == 0 => BackupState::Incomplete,
                _ if i % 1000 == 0 => BackupState::Protected,
                _ => BackupState::Complete,
            };
            let mut backup = Backup::new(
                format!("b{i:06}"),
                BackupTime::new(time, offsets[i % 4]),
                state,
            );
            if i % 500 == 0 {
                backup = backup.with_tags(["monthly"]);
            }
            if i % 96 != 0 {
                backup = backup.with_parent(format!("b{:06}", i - 1));
            }
            backup
        })
        .collect()
}

fn main() {
    let backups = backups();
    let span = |text: &str| Some(text.parse::<CalendarSpan>().expect("valid span"));
    let policy = Policy {
        keep_last: KeepCount::Count(10),
        keep_hourly: KeepCount::Count(48),
        keep_daily: KeepCount::Count(30),
        keep_weekly: KeepCount::Count(12),
        keep_monthly: KeepCount::Count(24),
        keep_yearly: KeepCount::Unlimited,
        keep_within: span("2d"),
        keep_within_daily: span("1m"),
        keep_tags: vec![vec!["monthly".into()]],
        max_age_days: std::num::NonZeroU32::new(700),
        ..Policy::default()
    };
    let now = backups.last().expect("backups").time.timestamp();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let plan = plan(black_box(&backups), black_box(&policy), now);
            let elapsed = started.elapsed();
            assert_eq!(plan.decisions.len(), BACKUPS);
            black_box(plan);
            elapsed
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "plan() over {BACKUPS} backups: median {:.3} s of {RUNS} runs (min {:.3} s, max {:.3} s)",
        median.as_secs_f64(),
        times[0].as_secs_f64(),
        times[RUNS - 1].as_secs_f64()
    );
}
