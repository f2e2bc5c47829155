//! Selection by VM tag, as TINABS did it: `tag:NAME` selects the VMs whose `tags` (XAPI's
//! `VM.tags`, set with `xe vm-param-add param-name=tags param-key=NAME`) hold `NAME`
//! exactly (case-sensitive, as XAPI compares tags).
//!
//! `%a` in the name is the run's weekday, `Mon` … `Sun` (what TINABS's GUI selected by
//! default: a VM tagged `Tue` is backed up on Tuesdays); `%%` is a `%`; any other `%`
//! sequence is an error. The weekday is the caller's (the run's clock, in local time), never
//! read here. A `\` takes the next character literally (`\:` for a `:` in a tag).

use std::fmt;

use jiff::civil::Weekday;

/// A `tag:` selector (without its `:N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSelector {
    /// As written, `tag:` included.
    written: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Weekday,
}

impl TagSelector {
    /// The prefix that makes a selector a tag selector.
    pub const PREFIX: &'static str = "tag:";

    /// Reads the tag after `tag:` (`name`, escapes and `%a` included). The error says what
    /// is wrong, without the location.
    pub fn parse(name: &str) -> Result<TagSelector, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => text.push(next),
                    None => return Err(format!("tag `{name}` ends with a lone backslash")),
                },
                '%' => match chars.next() {
                    Some('a') => {
                        if !text.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut text)));
                        }
                        parts.push(Part::Weekday);
                    }
                    Some('%') => text.push('%'),
                    Some(other) => {
                        return Err(format!(
                            "tag `{name}`: `%{other}` is not known (only `%a`, the weekday, and `%%`)"
                        ));
                    }
                    None => return Err(format!("tag `{name}` ends with a lone `%`")),
                },
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if parts.is_empty() {
            return Err("`tag:` without a tag".to_owned());
        }
        Ok(TagSelector {
            written: format!("{}{name}", Self::PREFIX),
            parts,
        })
    }

    /// The selector as written (`tag:%a`).
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// Whether the tag depends on the day (`%a`).
    pub fn is_dated(&self) -> bool {
        self.parts.contains(&Part::Weekday)
    }

    /// Whether the tag is only digits (`tag:3`), which NAUbackup read as the VM named `tag`
    /// with a keep of 3.
    pub fn is_number(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Text(t)] if t.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The tag a VM must carry on `today`.
    pub fn tag_on(&self, today: Weekday) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Weekday => weekday_tag(today),
            })
            .collect()
    }

    /// Whether `tags` (a VM's) hold the tag of `today`.
    pub fn matches(&self, tags: &[String], today: Weekday) -> bool {
        let wanted = self.tag_on(today);
        tags.contains(&wanted)
    }
}

impl fmt::Display for TagSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// The weekday as `%a` writes it in the C locale and TINABS tagged VMs: `Mon` … `Sun`.
pub fn weekday_tag(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn every_day_of_a_week_gives_its_tinabs_tag() {
        // 2026-11-23 is a Monday.
        let week: Vec<&str> = (23..=29)
            .map(|day| weekday_tag(date(2026, 11, day).weekday()))
            .collect();
        assert_eq!(week, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    }

    #[test]
    fn the_weekday_comes_from_the_day_given() {
        let tag = TagSelector::parse("%a").unwrap();
        assert!(tag.is_dated());
        let on = |y, m, d| tag.tag_on(date(y, m, d).weekday());
        assert_eq!(on(2026, 12, 1), "Tue");
        assert_eq!(on(2024, 2, 29), "Thu");
        let vm = tags(&["prod", "Tue"]);
        assert!(tag.matches(&vm, Weekday::Tuesday));
        assert!(!tag.matches(&vm, Weekday::Wednesday));
        let prefixed = TagSelector::parse("backup-%a-%%").unwrap();
        assert_eq!(prefixed.tag_on(Weekday::Sunday), "backup-Sun-%");
    }

    #[test]
    fn plain_tags_match_exactly() {
        let tag = TagSelector::parse("nightly").unwrap();
        assert!(!tag.is_dated());
        assert_eq!(tag.as_str(), "tag:nightly");
        assert!(tag.matches(&tags(&["a", "nightly"]), Weekday::Monday));
        for other in [&["Nightly"][..], &["nightly2"], &["night"], &[]] {
            assert!(!tag.matches(&tags(other), Weekday::Monday), "{other:?}");
        }
        let escaped = TagSelector::parse(r"a\:b\%").unwrap();
        assert_eq!(escaped.tag_on(Weekday::Monday), "a:b%");
        assert!(TagSelector::parse("3").unwrap().is_number());
        assert!(!TagSelector::parse("3a").unwrap().is_number());
    }

    #[test]
    fn bad_tags_say_why() {
        for (bad, why) in [
            ("", "without a tag"),
            ("%d", "`%d` is not known"),
            ("x%", "lone `%`"),
            ("x\\", "lone backslash"),
        ] {
            let error = TagSelector::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
