//! backup-manager's file names, so that existing restore habits and monitoring keep working:
//!
//! - archives: `<prefix><dir>.<YYYYMMDD>[.master].<filetype>`, where `<dir>` is the archived
//!   directory in the long format (trailing `/` removed, spaces to `_`, `/` to `-`, so it
//!   starts with `-`: `/4backup/web1/root` → `-4backup-web1-root`) or the short one (`-` and
//!   the last component: `-root`);
//! - raw images (lvmbackup's own, no backup-manager counterpart): the same
//!   `<prefix><dir>.<YYYYMMDD>` with `.img` (sparse raw) or `.img.zst`, never `.master`
//!   (each image is whole); its size and digest in `<image>.json` beside it;
//! - the listed-incremental state: `<prefix><dir>.incremental.bin`;
//! - the digests: `<prefix>-hashes.md5`, lines `<md5>  <archive file name>`.
//!
//! The date is the local calendar day of the run (backup-manager's `date +%Y%m%d`).

use std::fmt;
use std::path::Path;

use jiff::civil::Date;
use serde::Serialize;

/// The archive's format: tar, compressed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FileType {
    /// `tar`: uncompressed.
    #[serde(rename = "tar")]
    Tar,
    /// `tar.gz`: gzip.
    #[serde(rename = "tar.gz")]
    TarGz,
    /// `tar.zst`: zstd.
    #[serde(rename = "tar.zst")]
    TarZst,
    /// `img`: a raw image of the snapshot, stored sparse.
    #[serde(rename = "img")]
    Img,
    /// `img.zst`: a raw image, zstd-compressed.
    #[serde(rename = "img.zst")]
    ImgZst,
}

impl FileType {
    /// All of them, longer extensions before their suffixes (for parsing).
    const ALL: [FileType; 5] = [
        FileType::TarZst,
        FileType::TarGz,
        FileType::ImgZst,
        FileType::Tar,
        FileType::Img,
    ];

    /// The extension, as `BM_TARBALL_FILETYPE` spells it.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Tar => "tar",
            FileType::TarGz => "tar.gz",
            FileType::TarZst => "tar.zst",
            FileType::Img => "img",
            FileType::ImgZst => "img.zst",
        }
    }

    /// A raw image (a whole volume's blocks), not a tar archive.
    pub fn is_image(self) -> bool {
        matches!(self, FileType::Img | FileType::ImgZst)
    }

    /// The tar file type of an extension (`BM_TARBALL_FILETYPE`); images are not tarballs.
    pub fn tarball_from_extension(text: &str) -> Option<Self> {
        FileType::from_extension(text).filter(|t| !t.is_image())
    }

    /// The file type of an extension.
    pub fn from_extension(text: &str) -> Option<Self> {
        FileType::ALL.into_iter().find(|t| t.extension() == text)
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// `BM_TARBALL_NAMEFORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFormat {
    /// The whole path.
    Long,
    /// Its last component.
    Short,
}

/// The `<dir>` part of the names for archives of `target` (see the module docs).
pub fn dir_name(target: &Path, format: NameFormat) -> String {
    let text = target.to_string_lossy();
    match format {
        NameFormat::Long => {
            let trimmed = text.strip_suffix('/').unwrap_or(&text);
            trimmed.replace(' ', "_").replace('/', "-")
        }
        NameFormat::Short => {
            let last = text.split('/').rfind(|c| !c.is_empty()).unwrap_or_default();
            format!("-{last}")
        }
    }
}

/// The listed-incremental state file of `<prefix><dir>`.
pub fn state_file_name(prefix: &str, dir: &str) -> String {
    format!("{prefix}{dir}.incremental.bin")
}

/// The digest file of `prefix`.
pub fn hashes_file_name(prefix: &str) -> String {
    format!("{prefix}-hashes.md5")
}

/// One archive's name, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ArchiveName {
    /// `BM_ARCHIVE_PREFIX`.
    pub prefix: String,
    /// The `<dir>` part (starts with `-`).
    pub dir: String,
    /// The day of the run.
    #[serde(serialize_with = "iso_date")]
    pub date: Date,
    /// A full archive (`.master`), else an incremental one (always `false` for an image,
    /// which is whole without the word).
    pub master: bool,
    /// The format.
    pub filetype: FileType,
}

impl ArchiveName {
    /// The file name.
    pub fn file_name(&self) -> String {
        format!(
            "{}{}.{}{}.{}",
            self.prefix,
            self.dir,
            self.date.strftime("%Y%m%d"),
            if self.master { ".master" } else { "" },
            self.filetype.extension()
        )
    }

    /// Reads a file name as an archive of `prefix`; `None` for anything else (other prefixes,
    /// state and digest files, temporary files, strays), which lvmbackup never touches.
    pub fn parse(prefix: &str, file_name: &str) -> Option<Self> {
        let rest = file_name.strip_prefix(prefix)?;
        if !rest.starts_with('-') {
            return None;
        }
        let (rest, filetype) = FileType::ALL.into_iter().find_map(|t| {
            rest.strip_suffix(t.extension())
                .and_then(|r| r.strip_suffix('.'))
                .map(|r| (r, t))
        })?;
        let (rest, master) = match rest.strip_suffix(".master") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (dir, digits) = rest.rsplit_once('.')?;
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) || dir.len() < 2 {
            return None;
        }
        if master && filetype.is_image() {
            return None;
        }
        let date = Date::strptime("%Y%m%d", digits).ok()?;
        Some(ArchiveName {
            prefix: prefix.to_owned(),
            dir: dir.to_owned(),
            date,
            master,
            filetype,
        })
    }
}

/// Serializes a date as `YYYY-MM-DD`.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference
pub(crate) fn iso_date<S: serde::Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(date)
}

impl fmt::Display for ArchiveName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn dir_names_follow_backup_managers_get_dir_name() {
        let path = Path::new("/4backup/mydomu1/root");
        assert_eq!(dir_name(path, NameFormat::Long), "-4backup-mydomu1-root");
        assert_eq!(
            dir_name(Path::new("/4backup/my domu/root/"), NameFormat::Long),
            "-4backup-my_domu-root"
        );
        assert_eq!(dir_name(path, NameFormat::Short), "-root");
        assert_eq!(
            dir_name(Path::new("/4backup/web/var/"), NameFormat::Short),
            "-var"
        );
    }

    #[test]
    fn names_are_backup_managers() {
        let name = ArchiveName {
            prefix: "xenhost".into(),
            dir: "-4backup-mydomu1-root".into(),
            date: date(2025, 1, 4),
            master: true,
            filetype: FileType::TarGz,
        };
        assert_eq!(
            name.file_name(),
            "xenhost-4backup-mydomu1-root.20250104.master.tar.gz"
        );
        let incremental = ArchiveName {
            date: date(2025, 1, 5),
            master: false,
            ..name.clone()
        };
        assert_eq!(
            incremental.file_name(),
            "xenhost-4backup-mydomu1-root.20250105.tar.gz"
        );
        assert_eq!(
            state_file_name("xenhost", "-4backup-mydomu1-root"),
            "xenhost-4backup-mydomu1-root.incremental.bin"
        );
        assert_eq!(hashes_file_name("xenhost"), "xenhost-hashes.md5");
        for n in [&name, &incremental] {
            assert_eq!(
                ArchiveName::parse("xenhost", &n.file_name()).as_ref(),
                Some(n)
            );
        }
        let zst = ArchiveName {
            filetype: FileType::TarZst,
            dir: "-root.back".into(),
            ..name
        };
        assert_eq!(
            ArchiveName::parse("xenhost", &zst.file_name()).as_ref(),
            Some(&zst)
        );
        for filetype in [FileType::Img, FileType::ImgZst] {
            let image = ArchiveName {
                filetype,
                master: false,
                ..zst.clone()
            };
            assert!(
                image
                    .file_name()
                    .ends_with(&format!(".20250104.{filetype}"))
            );
            assert_eq!(
                ArchiveName::parse("xenhost", &image.file_name()),
                Some(image)
            );
        }
    }

    #[test]
    fn other_files_are_not_archives() {
        for file in [
            "xenhost-4backup-a-root.incremental.bin",
            "xenhost-hashes.md5",
            "otherhost-etc.20261107.tar.gz",
            "xenhost-4backup-a-root.20261107.tar.gz.tmp-123",
            "xenhost-4backup-a-root.2026110.tar.gz",
            "xenhost-4backup-a-root.20261340.tar.gz",
            "xenhost-4backup-a-root.20261107.tar.bz2",
            "xenhost-4backup-a-root.20261107.master.img",
            "xenhost-4backup-a-root.20261107.img.json",
            "xenhost-4backup-a-root.20261107.img.zst.partial",
            "xenhostx-a.20261107.tar.gz",
            "xenhost.20261107.tar.gz",
            "notes.txt",
        ] {
            assert_eq!(ArchiveName::parse("xenhost", file), None, "{file}");
        }
    }
}
