//! Names on disk: our own backup layout and NAUbackup's.
//!
//! Our layout: `<backup_dir>/<vm dir>/<stamp>/`, `<stamp>` being the UTC start time as
//! `YYYY-MM-DDTHHMMSSZ` (no `:`, so every filesystem and NAS accepts it), optionally
//! followed by `.N` (N = 1, 2, …) when several backups start in the same second. A complete
//! backup holds [`MANIFEST_FILE`]; a backup being written lives in
//! `<vm dir>/.partial-<stamp>/`; a [`PROTECTED_MARKER`] file pins a backup.
//!
//! NAUbackup's layout: `<backup_dir>/<vm>/backup-YYYY-MM-DD-(HH:MM:SS)` in the backup host's
//! local time, complete when it holds one of [`NAUBACKUP_SUCCESS_MARKERS`].
//!
//! Another platform's layout (oVirtSimpleBackup's `<VM>/<uuid>/<label><stamp>/`, say) is
//! one more [`Layout`] variant with its name parser here and its reader in `scan`.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// Which naming scheme a per-VM backup directory follows (see the module docs).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Layout {
    /// Ours: UTC stamps, `manifest.json`, `.partial-<stamp>` while being written.
    Own,
    /// NAUbackup's `backup-YYYY-MM-DD-(HH:MM:SS)` with success markers. The names carry
    /// no offset: they are read as local times of `time_zone` (a time that occurs twice
    /// when clocks go back is taken as the earlier one; one skipped when clocks go forward
    /// is moved forward by the gap).
    NauBackup {
        /// The time zone of the host that wrote the backups.
        time_zone: TimeZone,
    },
    /// oVirtSimpleBackup's `<label><YYYYmmdd_HHMMSS>` directories, the per-VM directory
    /// being `<backup_dir>/<VM>/<VM uuid>/`; the names are local times of `time_zone`.
    /// A directory with our manifest is read as ours are; one without (written by
    /// oVirtSimpleBackup itself, which keeps no marker) is complete when it holds its
    /// `data.xml` and `Disk1.dat`. `.partial-<name>` is a backup being written.
    OvirtSimpleBackup {
        /// The label the names start with (`BU_`).
        label: String,
        /// The time zone of the host that wrote the backups.
        time_zone: TimeZone,
    },
}

impl Layout {
    /// NAUbackup's layout in this system's time zone.
    pub fn naubackup_local() -> Self {
        Layout::NauBackup {
            time_zone: TimeZone::system(),
        }
    }

    /// A short name for listings: `ours`, `naubackup` or `ovirtsimplebackup`.
    pub fn label(&self) -> &'static str {
        match self {
            Layout::Own => "ours",
            Layout::NauBackup { .. } => "naubackup",
            Layout::OvirtSimpleBackup { .. } => "ovirtsimplebackup",
        }
    }
}

/// The manifest of a backup in our layout ([`crate::store::Manifest`]).
pub const MANIFEST_FILE: &str = "manifest.json";
/// The `format` value of the manifests this version reads and writes.
pub const MANIFEST_FORMAT: &str = "vmtoolkit-backup/1";
/// A file of this name inside a backup directory protects it from removal (both layouts).
pub const PROTECTED_MARKER: &str = "protected";
/// Prefix of a backup being written (our layout): `.partial-<stamp>`.
pub const PARTIAL_PREFIX: &str = ".partial-";
/// Prefix a backup is renamed to before it is deleted: `.deleting-<name>`.
pub const DELETING_PREFIX: &str = ".deleting-";
/// The success marker VmBackup.py writes in a backup it finished (the first of
/// [`NAUBACKUP_SUCCESS_MARKERS`]).
pub const NAUBACKUP_SUCCESS_MARKER: &str = "success";
/// The files whose presence makes a NAUbackup directory a successful backup.
pub const NAUBACKUP_SUCCESS_MARKERS: [&str; 4] = [
    NAUBACKUP_SUCCESS_MARKER,
    "success_restore",
    "success_compress",
    "success_compressing",
];

/// The directory name of a backup started at `start` in our layout: the UTC second as
/// `YYYY-MM-DDTHHMMSSZ`, plus `.{sequence}` when `sequence` is not 0 (the second, third, …
/// backup started in the same second). Sub-second precision is dropped.
pub fn backup_stamp(start: Timestamp, sequence: u32) -> String {
    let stamp = Offset::UTC
        .to_datetime(start)
        .strftime("%Y-%m-%dT%H%M%SZ")
        .to_string();
    match sequence {
        0 => stamp,
        n => format!("{stamp}.{n}"),
    }
}

/// The instant a stamp names, if `name` is a stamp (with or without `.N`).
pub fn parse_stamp(name: &str) -> Option<Timestamp> {
    let (base, sequence) = match name.split_once('.') {
        Some((base, sequence)) => (base, Some(sequence)),
        None => (name, None),
    };
    if let Some(sequence) = sequence
        && (sequence.is_empty()
            || sequence.starts_with('0')
            || !sequence.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let b = base.as_bytes();
    if b.len() != 18 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[17] != b'Z' {
        return None;
    }
    let civil = civil_from(
        &base[0..4],
        &base[5..7],
        &base[8..10],
        [&base[11..13], &base[13..15], &base[15..17]],
    )?;
    Offset::UTC.to_timestamp(civil).ok()
}

/// The local time an oVirtSimpleBackup directory name (`<label><YYYYmmdd_HHMMSS>`) gives,
/// if `name` is one with this label.
pub fn parse_simplebackup_name(name: &str, label: &str) -> Option<DateTime> {
    let rest = name.strip_prefix(label)?;
    let b = rest.as_bytes();
    if b.len() != 15 || b[8] != b'_' {
        return None;
    }
    civil_from(
        &rest[0..4],
        &rest[4..6],
        &rest[6..8],
        [&rest[9..11], &rest[11..13], &rest[13..15]],
    )
}

/// The local time a NAUbackup directory name gives, if `name` is one.
pub fn parse_naubackup_name(name: &str) -> Option<DateTime> {
    let rest = name.strip_prefix("backup-")?;
    let b = rest.as_bytes();
    if b.len() != 21
        || b[4] != b'-'
        || b[7] != b'-'
        || &rest[10..12] != "-("
        || b[14] != b':'
        || b[17] != b':'
        || b[20] != b')'
    {
        return None;
    }
    civil_from(
        &rest[0..4],
        &rest[5..7],
        &rest[8..10],
        [&rest[12..14], &rest[15..17], &rest[18..20]],
    )
}

/// A valid civil date and time from exact-width decimal fields.
fn civil_from(year: &str, month: &str, day: &str, hms: [&str; 3]) -> Option<DateTime> {
    fn number(digits: &str) -> Option<i16> {
        if digits.bytes().all(|c| c.is_ascii_digit()) {
            digits.parse().ok()
        } else {
            None
        }
    }
    let small = |digits: &str| i8::try_from(number(digits)?).ok();
    let [hour, minute, second] = hms.map(small);
    DateTime::new(
        number(year)?,
        small(month)?,
        small(day)?,
        hour?,
        minute?,
        second?,
        0,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn stamps_round_trip() {
        let t: Timestamp = "2026-11-22T01:30:05.75Z".parse().unwrap();
        assert_eq!(backup_stamp(t, 0), "2026-11-22T013005Z");
        assert_eq!(backup_stamp(t, 2), "2026-11-22T013005Z.2");
        let whole: Timestamp = "2026-11-22T01:30:05Z".parse().unwrap();
        assert_eq!(parse_stamp("2026-11-22T013005Z"), Some(whole));
        assert_eq!(parse_stamp("2026-11-22T013005Z.12"), Some(whole));
    }

    #[test]
    fn rejects_near_miss_stamps() {
        for bad in [
            "2026-11-22T01:30:05Z",
            "2026-11-22T013005",
            "2026-11-22T013005Z.",
            "2026-11-22T013005Z.0",
            "2026-11-22T013005Z.01",
            "2026-11-22T013005Z.x",
            "2026-02-30T013005Z",
            "2026-11-22T253005Z",
            "2026-11-22t013005Z",
            "+026-11-22T013005Z",
            "notes.txt",
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn simplebackup_names_parse() {
        assert_eq!(
            parse_simplebackup_name("BU_20190708_120001", "BU_"),
            Some(date(2019, 7, 8).at(12, 0, 1, 0))
        );
        for bad in [
            "BU_20190708_12000",
            "XX_20190708_120001",
            "BU_20191308_120001",
            "BU_20190708-120001",
            "BU_20190708_120001.1",
        ] {
            assert_eq!(parse_simplebackup_name(bad, "BU_"), None, "{bad}");
        }
    }

    #[test]
    fn naubackup_names_parse() {
        assert_eq!(
            parse_naubackup_name("backup-2019-09-05-(10:33:49)"),
            Some(date(2019, 9, 5).at(10, 33, 49, 0))
        );
        for bad in [
            "backup-2019-09-05-(10:33:49",
            "backup-2019-09-05-10:33:49)",
            "backup-2019-13-05-(10:33:49)",
            "backup-2019-09-05-(10:33:60)",
            "Backup-2019-09-05-(10:33:49)",
            "backup-2019-09-05-(10:33:49).tmp",
        ] {
            assert_eq!(parse_naubackup_name(bad), None, "{bad}");
        }
    }
}
