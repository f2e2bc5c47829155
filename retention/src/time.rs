//! The time of a backup: an instant plus the UTC offset it was recorded with.
//!
//! Calendar rules put a backup in the hour, day, ISO week, month and year of its *own*
//! recorded offset (as restic does), so a backup made at 00:30+02:00 belongs to that day,
//! not to the previous UTC day.

use std::fmt;
use std::str::FromStr;

use jiff::civil::DateTime;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;
use jiff::{Timestamp, Zoned};

use crate::error::RetentionError;

/// An instant and the UTC offset it was recorded with.
///
/// Parsed from and displayed as RFC 3339 with an offset (`2026-11-22T01:30:05+01:00`;
/// `Z` means UTC). Two values are equal when both the instant and the offset are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BackupTime {
    timestamp: Timestamp,
    offset: Offset,
}

impl BackupTime {
    /// The instant `timestamp` as recorded at `offset`.
    pub fn new(timestamp: Timestamp, offset: Offset) -> Self {
        BackupTime { timestamp, offset }
    }

    /// The instant `timestamp` recorded in UTC.
    pub fn utc(timestamp: Timestamp) -> Self {
        BackupTime::new(timestamp, Offset::UTC)
    }

    /// The instant of `zoned` with the offset in force there at that instant.
    pub fn from_zoned(zoned: &Zoned) -> Self {
        BackupTime::new(zoned.timestamp(), zoned.offset())
    }

    /// The instant.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The recorded UTC offset.
    pub fn offset(&self) -> Offset {
        self.offset
    }

    /// The wall-clock date and time at the recorded offset, which the calendar rules use.
    pub fn civil(&self) -> DateTime {
        self.offset.to_datetime(self.timestamp)
    }
}

impl fmt::Display for BackupTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.timestamp.display_with_offset(self.offset))
    }
}

impl FromStr for BackupTime {
    type Err = RetentionError;

    /// Parses RFC 3339 with a mandatory offset, such as `2026-11-22T01:30:05.25+01:00` or
    /// `2026-11-22T00:30:05Z`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |problem: String| {
            RetentionError::invalid(
                format!("time `{text}`"),
                format!(
                    "{problem} (expected RFC 3339 with an offset, such as 2026-11-22T01:30:05+01:00)"
                ),
            )
        };
        let pieces = Pieces::parse(text).map_err(|e| invalid(e.to_string()))?;
        if pieces.time_zone_annotation().is_some() {
            return Err(invalid("time zone annotations are not supported".into()));
        }
        let Some(time) = pieces.time() else {
            return Err(invalid("no time of day".into()));
        };
        let Some(offset) = pieces.offset() else {
            return Err(invalid("no UTC offset".into()));
        };
        let offset = offset.to_numeric_offset();
        let timestamp = offset
            .to_timestamp(pieces.date().to_datetime(time))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(BackupTime::new(timestamp, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::offset;

    #[test]
    fn parses_offsets_and_keeps_them() {
        let t: BackupTime = "2026-11-22T00:30:05+02:00".parse().unwrap();
        assert_eq!(t.offset(), offset(2));
        assert_eq!(t.civil(), date(2026, 11, 22).at(0, 30, 5, 0));
        assert_eq!(t.timestamp().to_string(), "2026-11-21T22:30:05Z");
        assert_eq!(t.to_string(), "2026-11-22T00:30:05+02:00");
        let z: BackupTime = "2026-11-21T22:30:05.5Z".parse().unwrap();
        assert_eq!(z.offset(), Offset::UTC);
        assert_eq!(z.to_string(), "2026-11-21T22:30:05.5+00:00");
    }

    #[test]
    fn rejects_times_without_offset_or_time() {
        for bad in [
            "2026-11-22T00:30:05",
            "2026-11-22",
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-11-22T00:30:05+01:00[Europe/Paris]",
        ] {
            let err = bad.parse::<BackupTime>().unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains("RFC 3339"), "{err}");
        }
    }

    #[test]
    fn from_zoned_records_the_offset_in_force() {
        let tz = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let summer = date(2026, 7, 1).at(12, 0, 0, 0).to_zoned(tz).unwrap();
        assert_eq!(BackupTime::from_zoned(&summer).offset(), offset(2));
    }
}
