//! Full or incremental: backup-manager's master-day rule. A full archive (`.master`) is made
//! on the configured weekday (`weekly`, 0 Sunday … 6 Saturday, as `date +%w`) or day of the
//! month (`monthly`, 1 … 31, as `date +%-d`; a month without that day has no master day), and
//! whenever there is no listed-incremental state to continue from (the first run, or a state
//! file that is gone), which backup-manager also names `.master`. lvmbackup adds one case: a
//! state file whose chain has no archive left in the repository starts a new chain too (an
//! incremental against it could not be restored).

use jiff::civil::{Date, Weekday};
use serde::Serialize;

/// When full archives are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterSchedule {
    /// Every week on this day.
    Weekly(Weekday),
    /// Every month on this day (1-31).
    Monthly(i8),
}

/// Why an archive is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MasterReason {
    /// Today is the master day.
    MasterDay,
    /// No listed-incremental state to continue from.
    NoState,
    /// A state file, but no archive of its chain in the repository.
    ChainMissing,
}

/// What to make today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "reason")]
pub enum ArchiveKind {
    /// A full archive, and a new chain.
    Master(MasterReason),
    /// Changes since the previous archive of the chain.
    Incremental,
    /// A raw image: whole, in no chain.
    Image,
}

impl ArchiveKind {
    /// Whether it is full.
    pub fn is_master(self) -> bool {
        matches!(self, ArchiveKind::Master(_))
    }
}

impl MasterSchedule {
    /// From `BM_TARBALLINC_MASTERDATETYPE` and `…VALUE`.
    pub fn new(kind: &str, value: &str) -> Result<Self, String> {
        let number: i64 = value
            .parse()
            .map_err(|_| format!("BM_TARBALLINC_MASTERDATEVALUE={value:?} is not a number"))?;
        match kind {
            "weekly" => match number {
                0 => Ok(MasterSchedule::Weekly(Weekday::Sunday)),
                1..=6 => Ok(MasterSchedule::Weekly(
                    Weekday::from_monday_one_offset(number as i8).expect("1-6 is a weekday"),
                )),
                _ => Err(format!(
                    "weekly masters need a weekday, 0 (Sunday) to 6 (Saturday), not {number}"
                )),
            },
            "monthly" => match number {
                1..=31 => Ok(MasterSchedule::Monthly(number as i8)),
                _ => Err(format!(
                    "monthly masters need a day of the month, 1 to 31, not {number}"
                )),
            },
            _ => Err(format!(
                "BM_TARBALLINC_MASTERDATETYPE={kind:?}: expected weekly or monthly"
            )),
        }
    }

    /// Whether `date` is a master day.
    pub fn is_master_day(self, date: Date) -> bool {
        match self {
            MasterSchedule::Weekly(day) => date.weekday() == day,
            MasterSchedule::Monthly(day) => date.day() == day,
        }
    }

    /// What to make on `today`: `state_exists` is whether the listed-incremental state file
    /// is there, `chain_present` whether the repository still holds an archive of its chain.
    pub fn decide(self, today: Date, state_exists: bool, chain_present: bool) -> ArchiveKind {
        if self.is_master_day(today) {
            ArchiveKind::Master(MasterReason::MasterDay)
        } else if !state_exists {
            ArchiveKind::Master(MasterReason::NoState)
        } else if !chain_present {
            ArchiveKind::Master(MasterReason::ChainMissing)
        } else {
            ArchiveKind::Incremental
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn weekly_and_monthly_master_days() {
        // 2026-11-21 is a Saturday: xenbackup's BM_TARBALLINC_MASTERDATEVALUE=6
        let saturday = MasterSchedule::new("weekly", "6").unwrap();
        assert!(saturday.is_master_day(date(2026, 11, 21)));
        assert!(!saturday.is_master_day(date(2026, 11, 22)));
        let sunday = MasterSchedule::new("weekly", "0").unwrap();
        assert!(sunday.is_master_day(date(2026, 11, 22)));
        let first = MasterSchedule::new("monthly", "1").unwrap();
        assert!(first.is_master_day(date(2026, 12, 1)));
        assert!(!first.is_master_day(date(2026, 12, 2)));
        let thirty_first = MasterSchedule::new("monthly", "31").unwrap();
        assert!(!(1..=30).any(|d| thirty_first.is_master_day(date(2026, 11, d))));
    }

    #[test]
    fn a_week_of_nights() {
        use ArchiveKind::{Incremental as I, Master as M};
        let schedule = MasterSchedule::new("weekly", "6").unwrap();
        // first run on a Wednesday: no state, so a full archive (named .master, as
        // backup-manager does)
        let mut state = false;
        let kinds: Vec<ArchiveKind> = (18..=25)
            .map(|d| {
                let kind = schedule.decide(date(2026, 11, d), state, state);
                state = true;
                kind
            })
            .collect();
        assert_eq!(
            kinds,
            [
                M(MasterReason::NoState),
                I,
                I,
                M(MasterReason::MasterDay),
                I,
                I,
                I,
                I
            ]
        );
        assert_eq!(
            schedule.decide(date(2026, 11, 23), true, false),
            M(MasterReason::ChainMissing)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(MasterSchedule::new("weekly", "7").is_err());
        assert!(MasterSchedule::new("monthly", "0").is_err());
        assert!(MasterSchedule::new("yearly", "1").is_err());
        assert!(MasterSchedule::new("weekly", "sat").is_err());
    }
}
