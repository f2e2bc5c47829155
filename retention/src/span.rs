//! Calendar durations such as `1y2m3d4h`, as `keep_within` rules take them.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::RetentionError;
use crate::time::BackupTime;

/// Years, months, days and hours, written `1y2m3d4h` (restic's syntax).
///
/// Each unit is optional and appears at most once, in any order (`1d1y` is `1y1d`); `m` is
/// months (there is no unit for weeks or minutes). Displayed in the order y, m, d, h
/// without zero parts; a span of zero displays as `0h` and keeps nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CalendarSpan {
    /// Calendar years.
    pub years: u32,
    /// Calendar months.
    pub months: u32,
    /// Calendar days.
    pub days: u32,
    /// Hours of 3600 seconds.
    pub hours: u32,
}

impl CalendarSpan {
    /// True when every part is zero.
    pub fn is_zero(&self) -> bool {
        *self == CalendarSpan::default()
    }

    /// The instant this span before `latest`: years, months and days are subtracted on the
    /// calendar at `latest`'s own offset (a day of month that does not exist in the target
    /// month is clamped to the month's last day: March 31 minus one month is February 28 or
    /// 29), then the hours as elapsed time. A span reaching past the representable range
    /// gives the earliest representable instant.
    pub fn before(&self, latest: BackupTime) -> Timestamp {
        let calendar = Span::new()
            .try_years(self.years)
            .and_then(|s| s.try_months(self.months))
            .and_then(|s| s.try_days(self.days));
        let Ok(calendar) = calendar else {
            return Timestamp::MIN;
        };
        latest
            .civil()
            .checked_sub(calendar)
            .and_then(|civil| latest.offset().to_timestamp(civil))
            .and_then(|t| t.checked_sub(SignedDuration::from_hours(i64::from(self.hours))))
            .unwrap_or(Timestamp::MIN)
    }
}

impl fmt::Display for CalendarSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (value, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if value != 0 {
                write!(f, "{value}{unit}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for CalendarSpan {
    type Err = RetentionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |problem: String| {
            RetentionError::invalid(
                format!("duration `{text}`"),
                format!("{problem} (expected numbers with units y, m, d, h, such as 1y2m3d4h)"),
            )
        };
        if text.is_empty() {
            return Err(invalid("empty".into()));
        }
        let mut span = CalendarSpan::default();
        let mut seen = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid(format!("expected a number at `{rest}`")));
            }
            let value: u32 = rest[..digits]
                .parse()
                .map_err(|_| invalid(format!("`{}` is too large", &rest[..digits])))?;
            let Some(unit) = rest[digits..].chars().next() else {
                return Err(invalid(format!("no unit after {value}")));
            };
            let field = match unit {
                'y' => &mut span.years,
                'm' => &mut span.months,
                'd' => &mut span.days,
                'h' => &mut span.hours,
                other => return Err(invalid(format!("unknown unit `{other}`"))),
            };
            if seen.contains(unit) {
                return Err(invalid(format!("unit `{unit}` given twice")));
            }
            seen.push(unit);
            *field = value;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(span)
    }
}

impl Serialize for CalendarSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CalendarSpan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str) -> CalendarSpan {
        text.parse().unwrap()
    }

    #[test]
    fn parses_units_in_any_order_and_displays_canonically() {
        let s = span("1y2m3d4h");
        assert_eq!((s.years, s.months, s.days, s.hours), (1, 2, 3, 4));
        assert_eq!(span("1d1y1m").to_string(), "1y1m1d");
        assert_eq!(span("13d23h").to_string(), "13d23h");
        assert_eq!(span("0d").to_string(), "0h");
        assert!(span("0y0d").is_zero());
    }

    #[test]
    fn rejects_malformed_durations() {
        for (bad, why) in [
            ("", "empty"),
            ("1w", "unknown unit `w`"),
            ("d", "expected a number"),
            ("12", "no unit after 12"),
            ("1d2d", "given twice"),
            ("-1d", "expected a number"),
            ("99999999999y", "too large"),
            ("1 d", "unknown unit ` `"),
        ] {
            let err = bad.parse::<CalendarSpan>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn subtracts_on_the_calendar_with_clamping() {
        let at = |s: &str| s.parse::<BackupTime>().unwrap();
        let ts = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            span("1m").before(at("2026-03-31T12:00:00Z")),
            ts("2026-02-28T12:00:00Z")
        );
        assert_eq!(
            span("1m").before(at("2024-03-31T12:00:00Z")),
            ts("2024-02-29T12:00:00Z")
        );
        assert_eq!(
            span("1y2m3d3h").before(at("2016-01-18T12:02:03Z")),
            ts("2014-11-15T09:02:03Z")
        );
        // The calendar is the one at the recorded offset: 00:30+02:00 is still the 1st.
        assert_eq!(
            span("1d").before(at("2026-03-01T00:30:00+02:00")),
            ts("2026-02-27T22:30:00Z")
        );
        assert_eq!(
            span("4294967295y").before(at("2026-03-01T00:30:00Z")),
            Timestamp::MIN
        );
    }
}
