//! Which distribution the guest runs: `/etc/os-release` first, then the older release files
//! (`redhat-release`, `centos-release`, `SuSE-release`, `debian_version`).

use serde::Serialize;

use crate::error::Result;
use crate::fs::GuestFs;

/// The family of a distribution: it decides the initramfs and grub tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Debian, Ubuntu and derivatives (initramfs-tools, update-grub).
    Debian,
    /// Debian, Ubuntu and derivatives (initramfs-tools, `update-grub`).
    RedHat,
    /// SUSE Linux Enterprise and openSUSE (dracut or SUSE's mkinitrd).
    Suse,
    /// Anything else: files are edited, tools are used when they exist.
    Other,
}

/// The guest's distribution and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    /// `ID` of os-release, or the name derived from an older release file (`centos`).
    pub id: String,
    /// `VERSION_ID`, or the version found in the older file (`5.3`).
    pub version: String,
    /// A human name (`PRETTY_NAME`, or the release file's first line).
    pub name: String,
    /// The family.
    pub family: Family,
    /// The file it was read from.
    pub source: String,
}

/// Reads the guest's distribution; `None` if no release file is there (not a Linux root).
pub fn detect(fs: &dyn GuestFs) -> Result<Option<OsInfo>> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(text) = fs.read_text(path)? {
            let value = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_owned())
            };
            let id = value("ID").unwrap_or_else(|| "linux".into());
            let like = value("ID_LIKE").unwrap_or_default();
            return Ok(Some(OsInfo {
                family: family_of(&format!("{id} {like}")),
                version: value("VERSION_ID").unwrap_or_default(),
                name: value("PRETTY_NAME")
                    .or_else(|| value("NAME"))
                    .unwrap_or_else(|| id.clone()),
                id,
                source: path.to_owned(),
            }));
        }
    }
    for (path, id) in [
        ("/etc/centos-release", "centos"),
        ("/etc/oracle-release", "ol"),
        ("/etc/fedora-release", "fedora"),
        ("/etc/redhat-release", "rhel"),
        ("/etc/SuSE-release", "sles"),
    ] {
        if let Some(text) = fs.read_text(path)? {
            let first = text.lines().next().unwrap_or_default().trim().to_owned();
            let mut id = id.to_owned();
            if id == "rhel" && first.starts_with("CentOS") {
                id = "centos".into();
            }
            if id == "sles" && first.to_lowercase().contains("opensuse") {
                id = "opensuse".into();
            }
            let version = release_version(&text);
            return Ok(Some(OsInfo {
                family: family_of(&id),
                version,
                name: first,
                id,
                source: path.to_owned(),
            }));
        }
    }
    if let Some(text) = fs.read_text("/etc/debian_version")? {
        return Ok(Some(OsInfo {
            id: "debian".into(),
            version: text.trim().to_owned(),
            name: format!("Debian {}", text.trim()),
            family: Family::Debian,
            source: "/etc/debian_version".into(),
        }));
    }
    Ok(None)
}

/// The version in an old release file: `release 5.3 (Final)`, or SUSE's `VERSION = 11` and
/// `PATCHLEVEL = 4`.
fn release_version(text: &str) -> String {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    if let Some(version) = field("VERSION") {
        return match field("PATCHLEVEL") {
            Some(patch) if patch != "0" => format!("{version}.{patch}"),
            _ => version,
        };
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "release")
        .map(|w| w[1].to_owned())
        .unwrap_or_default()
}

fn family_of(ids: &str) -> Family {
    let words: Vec<&str> = ids.split_whitespace().collect();
    let any = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if any(&["debian", "ubuntu", "linuxmint", "kali", "raspbian"]) {
        Family::Debian
    } else if any(&[
        "rhel",
        "centos",
        "fedora",
        "rocky",
        "almalinux",
        "ol",
        "scientific",
        "amzn",
    ]) {
        Family::RedHat
    } else if any(&["sles", "suse", "opensuse", "opensuse-leap", "sled"]) {
        Family::Suse
    } else {
        Family::Other
    }
}

impl OsInfo {
    /// Reads the guest's distribution; `None` if no release file is there.
    pub fn detect(fs: &dyn GuestFs) -> Result<Option<Self>> {
        detect(fs)
    }
}
