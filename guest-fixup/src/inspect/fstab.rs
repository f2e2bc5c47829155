//! `/etc/fstab`, read as lines so that an edit changes one field and keeps the rest.

use serde::Serialize;

/// One mount line of fstab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FstabEntry {
    /// The line number (1-based).
    pub line: usize,
    /// What is mounted: `/dev/xvda1`, `UUID=…`, `LABEL=…`, `/swapfile`.
    pub spec: String,
    /// Where (`/`, `/boot`, `none` or `swap` for swap).
    pub mount_point: String,
    /// The filesystem type (`ext4`, `swap`, …).
    pub fs_type: String,
    /// The options field.
    pub options: String,
}

impl FstabEntry {
    /// Whether this line is a swap area.
    pub fn is_swap(&self) -> bool {
        self.fs_type == "swap"
    }
}

/// The mount lines of an fstab text (comments and blank lines skipped).
pub fn parse(text: &str) -> Vec<FstabEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.first().is_none_or(|f| f.starts_with('#')) || fields.len() < 3 {
                return None;
            }
            Some(FstabEntry {
                line: index + 1,
                spec: fields[0].to_owned(),
                mount_point: fields[1].to_owned(),
                fs_type: fields[2].to_owned(),
                options: fields.get(3).copied().unwrap_or("defaults").to_owned(),
            })
        })
        .collect()
}

/// Replaces the first whitespace-separated field of `line` with `spec`, keeping the spacing.
pub fn replace_spec(line: &str, spec: &str) -> String {
    let start = line.len() - line.trim_start().len();
    let rest = &line[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    format!("{}{}{}", &line[..start], spec, &rest[end..])
}

/// The kernel device name of a `/dev/NAME` spec (`/dev/xvda1` -> `xvda1`).
pub fn dev_name(spec: &str) -> Option<&str> {
    spec.strip_prefix("/dev/").filter(|n| !n.contains('/'))
}
