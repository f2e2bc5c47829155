//! The retention policy: which rules keep backups, as data (JSON, TOML, or built in code).

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::span::CalendarSpan;

/// How many backups a counted rule keeps: a number, or all of them.
///
/// In data it is an integer, `-1` meaning unlimited (restic's convention); the string
/// `"unlimited"` is accepted too. `0` switches the rule off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepCount {
    /// At most this many (0: the rule is off).
    Count(u32),
    /// No limit.
    Unlimited,
}

impl Default for KeepCount {
    /// Off.
    fn default() -> Self {
        KeepCount::OFF
    }
}

impl KeepCount {
    /// Off: keeps nothing.
    pub const OFF: KeepCount = KeepCount::Count(0);

    /// True unless the count is zero.
    pub fn is_active(self) -> bool {
        self != KeepCount::OFF
    }

    /// The count after one more backup was kept.
    pub(crate) fn decremented(self) -> KeepCount {
        match self {
            KeepCount::Count(n) => KeepCount::Count(n.saturating_sub(1)),
            KeepCount::Unlimited => KeepCount::Unlimited,
        }
    }
}

impl fmt::Display for KeepCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepCount::Count(n) => write!(f, "{n}"),
            KeepCount::Unlimited => f.write_str("unlimited"),
        }
    }
}

impl Serialize for KeepCount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KeepCount::Count(n) => serializer.serialize_u32(*n),
            KeepCount::Unlimited => serializer.serialize_i64(-1),
        }
    }
}

impl<'de> Deserialize<'de> for KeepCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = KeepCount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count: an integer >= 0, or -1 or \"unlimited\" for no limit")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KeepCount, E> {
                match v {
                    -1 => Ok(KeepCount::Unlimited),
                    _ => u32::try_from(v)
                        .map(KeepCount::Count)
                        .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KeepCount, E> {
                u32::try_from(v)
                    .map(KeepCount::Count)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeepCount, E> {
                if v == "unlimited" {
                    Ok(KeepCount::Unlimited)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Which backups to keep. Every rule is off by default; see the crate docs for how the
/// rules combine.
///
/// In data (JSON, TOML) the keys are the field names; unknown keys are rejected so that
/// a misspelt rule is an error rather than a silently removed backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// The N newest complete backups (NAUbackup's `max_backups`).
    pub keep_last: KeepCount,
    /// The newest complete backup of each of the N newest hours that have one.
    pub keep_hourly: KeepCount,
    /// The newest complete backup of each of the N newest days that have one.
    pub keep_daily: KeepCount,
    /// The newest complete backup of each of the N newest ISO weeks that have one.
    pub keep_weekly: KeepCount,
    /// The newest complete backup of each of the N newest months that have one.
    pub keep_monthly: KeepCount,
    /// The newest complete backup of each of the N newest years that have one.
    pub keep_yearly: KeepCount,
    /// Every complete backup taken less than this before the newest complete backup.
    pub keep_within: Option<CalendarSpan>,
    /// The newest complete backup of every hour within this span of the newest.
    pub keep_within_hourly: Option<CalendarSpan>,
    /// The newest complete backup of every day within this span of the newest.
    pub keep_within_daily: Option<CalendarSpan>,
    /// The newest complete backup of every ISO week within this span of the newest.
    pub keep_within_weekly: Option<CalendarSpan>,
    /// The newest complete backup of every month within this span of the newest.
    pub keep_within_monthly: Option<CalendarSpan>,
    /// The newest complete backup of every year within this span of the newest.
    pub keep_within_yearly: Option<CalendarSpan>,
    /// Complete backups carrying every tag of at least one of these lists.
    pub keep_tags: Vec<Vec<String>>,
    /// Remove backups older than this many days (24 hours each) before the `now` given to
    /// [`plan`](crate::plan), whatever the rules above say (backup-manager's TTL).
    pub max_age_days: Option<NonZeroU32>,
}

impl Policy {
    /// True when no rule keeps anything (`max_age_days` is not a keep rule).
    /// [`plan`](crate::plan) then keeps every complete backup, as restic does.
    pub fn is_empty(&self) -> bool {
        self.counted_rules()
            .iter()
            .all(|(_, count)| !count.is_active())
            && self.keep_within.is_none_or(|s| s.is_zero())
            && self
                .within_rules()
                .iter()
                .all(|(_, span)| span.is_none_or(|s| s.is_zero()))
            && self.keep_tags.is_empty()
    }

    /// The counted rules in restic's order.
    pub(crate) fn counted_rules(&self) -> [(Period, KeepCount); 6] {
        [
            (Period::Last, self.keep_last),
            (Period::Hour, self.keep_hourly),
            (Period::Day, self.keep_daily),
            (Period::Week, self.keep_weekly),
            (Period::Month, self.keep_monthly),
            (Period::Year, self.keep_yearly),
        ]
    }

    /// The per-period within rules in restic's order.
    pub(crate) fn within_rules(&self) -> [(Period, Option<CalendarSpan>); 5] {
        [
            (Period::Hour, self.keep_within_hourly),
            (Period::Day, self.keep_within_daily),
            (Period::Week, self.keep_within_weekly),
            (Period::Month, self.keep_within_monthly),
            (Period::Year, self.keep_within_yearly),
        ]
    }
}

/// The period a counted or per-period rule buckets backups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Period {
    /// Every backup is its own period (`keep_last`).
    Last,
    Hour,
    Day,
    /// ISO 8601 week (Monday to Sunday, numbered within its ISO year).
    Week,
    Month,
    Year,
}

impl Period {
    /// The adjective the reasons use ("daily snapshot", "weekly within 1m").
    pub(crate) fn adjective(self) -> &'static str {
        match self {
            Period::Last => "last",
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_json_keys_with_unlimited_counts() {
        let p: Policy = serde_json::from_str(
            r#"{"keep_last": 3, "keep_daily": -1, "keep_weekly": "unlimited",
                "keep_within": "1y2m", "keep_within_daily": "7d",
                "keep_tags": [["a", "b"], ["c"]], "max_age_days": 30}"#,
        )
        .unwrap();
        assert_eq!(p.keep_last, KeepCount::Count(3));
        assert_eq!(p.keep_daily, KeepCount::Unlimited);
        assert_eq!(p.keep_weekly, KeepCount::Unlimited);
        assert_eq!(p.keep_within.unwrap().to_string(), "1y2m");
        assert_eq!(p.keep_tags, [vec!["a", "b"], vec!["c"]]);
        assert_eq!(p.max_age_days.map(NonZeroU32::get), Some(30));
        let back: Policy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn rejects_bad_counts_and_unknown_keys() {
        for (bad, why) in [
            (r#"{"keep_daily": -2}"#, "integer `-2`"),
            (r#"{"keep_daily": 1.5}"#, "floating point"),
            (r#"{"keep_daily": "all"}"#, "string \"all\""),
            (r#"{"keep_dayly": 7}"#, "unknown field `keep_dayly`"),
            (r#"{"max_age_days": 0}"#, "nonzero"),
            (r#"{"keep_within": "1w"}"#, "unknown unit `w`"),
        ] {
            let err = serde_json::from_str::<Policy>(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn emptiness_ignores_zero_rules_and_max_age() {
        let mut p: Policy =
            serde_json::from_str(r#"{"keep_daily": 0, "keep_within": "0d", "max_age_days": 3}"#)
                .unwrap();
        assert!(p.is_empty());
        p.keep_tags.push(vec!["x".into()]);
        assert!(!p.is_empty());
    }
}
