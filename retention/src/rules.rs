//! The keep rules proper (tags, within, counted and per-period buckets), with restic's
//! semantics, over the complete backups in planning order.

use jiff::Timestamp;
use jiff::civil::DateTime;

use crate::backup::Backup;
use crate::policy::{KeepCount, Period, Policy};
use crate::reason::Reason;
use crate::span::CalendarSpan;

/// A counted rule's state: the count left and the period of the last backup it kept.
struct Bucket {
    period: Period,
    left: KeepCount,
    last: Option<i64>,
}

/// A per-period within rule's state.
struct WithinBucket {
    period: Period,
    span: CalendarSpan,
    cutoff: Timestamp,
    last: Option<i64>,
}

/// Appends the rule reasons of every complete backup to `reasons`.
///
/// `sorted` is in planning order (newest first); `latest` is the instant `within` rules
/// measure from.
pub(crate) fn apply<'a>(
    sorted: &[&'a Backup],
    policy: &'a Policy,
    latest: Option<&Backup>,
    reasons: &mut [Vec<Reason<'a>>],
) {
    let total = sorted.iter().filter(|b| b.state.is_complete()).count();
    if policy.is_empty() {
        for (position, backup) in sorted.iter().enumerate() {
            if backup.state.is_complete() {
                reasons[position].push(Reason::PolicyEmpty);
            }
        }
        return;
    }
    let cutoff = |span: Option<CalendarSpan>| {
        let span = span.filter(|s| !s.is_zero())?;
        Some((span, span.before(latest?.time)))
    };
    let within = cutoff(policy.keep_within);
    let mut buckets: Vec<Bucket> = policy
        .counted_rules()
        .into_iter()
        .filter(|(_, count)| count.is_active())
        .map(|(period, left)| Bucket {
            period,
            left,
            last: None,
        })
        .collect();
    let mut within_buckets: Vec<WithinBucket> = policy
        .within_rules()
        .into_iter()
        .filter_map(|(period, span)| {
            let (span, cutoff) = cutoff(span)?;
            Some(WithinBucket {
                period,
                span,
                cutoff,
                last: None,
            })
        })
        .collect();

    let mut nr = 0;
    for (position, backup) in sorted.iter().enumerate() {
        if !backup.state.is_complete() {
            continue;
        }
        let out = &mut reasons[position];
        let civil = backup.time.civil();
        let time = backup.time.timestamp();
        let oldest = nr + 1 == total;
        for list in &policy.keep_tags {
            if list.iter().all(|tag| backup.tags.contains(tag)) {
                out.push(Reason::Tags(list));
            }
        }
        if let Some((span, cutoff)) = within
            && time > cutoff
        {
            out.push(Reason::Within(span));
        }
        for bucket in &mut buckets {
            if !bucket.left.is_active() {
                continue;
            }
            let key = period_key(bucket.period, civil, nr);
            if bucket.last != Some(key) || oldest {
                out.push(Reason::Counted {
                    period: bucket.period,
                    oldest: bucket.last == Some(key),
                });
                bucket.last = Some(key);
                bucket.left = bucket.left.decremented();
            }
        }
        for bucket in &mut within_buckets {
            if time <= bucket.cutoff {
                continue;
            }
            let key = period_key(bucket.period, civil, nr);
            if bucket.last != Some(key) || oldest {
                out.push(Reason::WithinPeriod {
                    period: bucket.period,
                    span: bucket.span,
                    oldest: bucket.last == Some(key),
                });
                bucket.last = Some(key);
            }
        }
        nr += 1;
    }
}

/// The period a backup falls in, as a number unique per period: YYYYMMDDHH, YYYYMMDD,
/// ISO year * 100 + ISO week, YYYYMM, YYYY; for `Last`, the backup's rank.
fn period_key(period: Period, civil: DateTime, nr: usize) -> i64 {
    let (y, m, d, h) = (
        i64::from(civil.year()),
        i64::from(civil.month()),
        i64::from(civil.day()),
        i64::from(civil.hour()),
    );
    match period {
        Period::Last => i64::try_from(nr).expect("fewer than 2^63 backups"),
        Period::Hour => ((y * 100 + m) * 100 + d) * 100 + h,
        Period::Day => (y * 100 + m) * 100 + d,
        Period::Week => {
            let week = civil.date().iso_week_date();
            i64::from(week.year()) * 100 + i64::from(week.week())
        }
        Period::Month => y * 100 + m,
        Period::Year => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn iso_weeks_cross_year_boundaries() {
        // 2016-01-03 (Sunday) is in ISO week 53 of 2015; 2021-01-01 in week 53 of 2020;
        // 2024-12-30 (Monday) is in week 1 of 2025.
        let key = |y, m, d| period_key(Period::Week, date(y, m, d).at(12, 0, 0, 0), 0);
        assert_eq!(key(2016, 1, 3), 201_553);
        assert_eq!(key(2015, 12, 28), 201_553);
        assert_eq!(key(2016, 1, 4), 201_601);
        assert_eq!(key(2021, 1, 1), 202_053);
        assert_eq!(key(2024, 12, 30), 202_501);
    }

    #[test]
    fn keys_are_unique_per_period() {
        let at = date(2026, 11, 22).at(1, 30, 5, 0);
        assert_eq!(period_key(Period::Hour, at, 0), 2_026_112_201);
        assert_eq!(period_key(Period::Day, at, 0), 20_261_122);
        assert_eq!(period_key(Period::Month, at, 0), 202_611);
        assert_eq!(period_key(Period::Year, at, 0), 2026);
        assert_eq!(period_key(Period::Last, at, 7), 7);
    }
}
