//! Why a backup is kept or removed, before it is rendered as the text a user reads.

use std::fmt;

use crate::policy::Period;
use crate::span::CalendarSpan;

/// One reason attached to a decision. Those for which [`Reason::keeps`] is true keep the
/// backup; the others explain a removal or add a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reason<'a> {
    /// The policy has no keep rule, so every complete backup is kept.
    PolicyEmpty,
    /// The backup has every tag of this `keep_tags` list.
    Tags(&'a [String]),
    /// Taken within this span of the newest complete backup.
    Within(CalendarSpan),
    /// Kept by a counted rule; `oldest` when only because it is the oldest backup.
    Counted {
        period: Period,
        oldest: bool,
    },
    /// Kept by a per-period within rule.
    WithinPeriod {
        period: Period,
        span: CalendarSpan,
        oldest: bool,
    },
    Protected,
    NewestComplete,
    /// The newest incomplete backup, newer than every complete one.
    IncompleteNewest,
    /// A kept backup depends on this one.
    ParentOf(&'a str),
    /// Older than `max_age_days`: the rules above no longer keep it.
    OlderThanMaxAge(u32),
    Incomplete,
    /// A complete backup that no rule keeps.
    NoRule,
    /// The backup's parent is not among the backups planned (a note).
    ParentMissing(&'a str),
}

impl Reason<'_> {
    /// True when this reason keeps the backup.
    pub(crate) fn keeps(&self) -> bool {
        match self {
            Reason::PolicyEmpty
            | Reason::Tags(_)
            | Reason::Within(_)
            | Reason::Counted { .. }
            | Reason::WithinPeriod { .. }
            | Reason::Protected
            | Reason::NewestComplete
            | Reason::IncompleteNewest
            | Reason::ParentOf(_) => true,
            Reason::OlderThanMaxAge(_)
            | Reason::Incomplete
            | Reason::NoRule
            | Reason::ParentMissing(_) => false,
        }
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let oldest = |oldest: bool| if oldest { "oldest " } else { "" };
        match self {
            Reason::PolicyEmpty => f.write_str("policy is empty"),
            Reason::Tags(tags) => write!(f, "has tags [{}]", tags.join(", ")),
            Reason::Within(span) => write!(f, "within {span}"),
            Reason::Counted { period, oldest: o } => {
                write!(f, "{}{} snapshot", oldest(*o), period.adjective())
            }
            Reason::WithinPeriod {
                period,
                span,
                oldest: o,
            } => write!(f, "{}{} within {span}", oldest(*o), period.adjective()),
            Reason::Protected => f.write_str("protected"),
            Reason::NewestComplete => f.write_str("newest complete backup"),
            Reason::IncompleteNewest => {
                f.write_str("incomplete, newer than the newest complete backup")
            }
            Reason::ParentOf(child) => write!(f, "parent of {child}"),
            Reason::OlderThanMaxAge(1) => f.write_str("older than max age 1 day"),
            Reason::OlderThanMaxAge(days) => write!(f, "older than max age {days} days"),
            Reason::Incomplete => f.write_str("incomplete"),
            Reason::NoRule => f.write_str("no keep rule matches"),
            Reason::ParentMissing(parent) => write!(f, "parent {parent} is missing"),
        }
    }
}
