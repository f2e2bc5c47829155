//! The engine's OS type (`os.type`) from what guest-fixup's inspection found: the
//! distribution, its version and (from the kernels' names) whether it is 64-bit.
//!
//! The names are the engine's operating-system ids (`osinfo-defaults.properties`, the
//! `operatingsystems` collection; the web UI's list of oVirt 4.4/4.5): `rhel_3` … `rhel_6`
//! with `x64` variants, `rhel_7x64`, `rhel_8x64`, `rhel_9x64` (RHEL and its rebuilds:
//! `CentOS`, Rocky, `AlmaLinux`, Oracle Linux), `sles_11` ("SUSE Linux Enterprise Server
//! 11+"), `debian_7` ("Debian 7+") and `debian_9` ("Debian 9+"), `ubuntu_12_04` …
//! `ubuntu_14_04` ("Trusty Tahr LTS+") and `ubuntu_18_04` ("Bionic Beaver LTS+"). Anything
//! else is `other_linux`. The engine uses the type for its defaults and guest-agent
//! choices; `--os-type` overrides it.

use guest_fixup::Inspection;

/// The fallback for a Linux the table does not know.
pub const OTHER_LINUX: &str = "other_linux";

/// The engine's OS type for an inspected guest.
pub fn os_type(inspection: &Inspection) -> String {
    let os = &inspection.os;
    let bits64 = !inspection.kernels.iter().any(|k| is_32bit(&k.version));
    map(&os.id, &os.version, bits64)
}

/// Kernel release names that say 32-bit x86 (`2.6.32-754.el6.i686`, `4.19.0-21-686-pae`).
fn is_32bit(release: &str) -> bool {
    let release = release.to_ascii_lowercase();
    ["i386", "i486", "i586", "i686", "-686", "-486", "-586"]
        .iter()
        .any(|arch| release.contains(arch))
}

/// The mapping itself: os-release `ID`, `VERSION_ID`, and whether the guest is 64-bit.
pub fn map(id: &str, version: &str, bits64: bool) -> String {
    let mut parts = version.split('.').map(|p| p.trim().parse::<u32>().ok());
    let major = parts.next().flatten();
    let minor = parts.next().flatten().unwrap_or(0);
    let x64 = if bits64 { "x64" } else { "" };
    match (id, major) {
        ("rhel" | "centos" | "rocky" | "almalinux" | "ol" | "scientific", Some(major @ 3..=6)) => {
            format!("rhel_{major}{x64}")
        }
        ("rhel" | "centos" | "rocky" | "almalinux" | "ol", Some(major @ 7..=9)) if bits64 => {
            format!("rhel_{major}x64")
        }
        ("sles" | "sled" | "opensuse" | "opensuse-leap", Some(11..)) => "sles_11".to_owned(),
        ("debian", Some(7 | 8)) => "debian_7".to_owned(),
        ("debian", Some(9..)) => "debian_9".to_owned(),
        ("ubuntu", Some(12)) if minor == 4 => "ubuntu_12_04".to_owned(),
        ("ubuntu", Some(12)) if minor == 10 => "ubuntu_12_10".to_owned(),
        ("ubuntu", Some(13)) if minor == 4 => "ubuntu_13_04".to_owned(),
        ("ubuntu", Some(13)) if minor == 10 => "ubuntu_13_10".to_owned(),
        ("ubuntu", Some(14..=17)) => "ubuntu_14_04".to_owned(),
        ("ubuntu", Some(18..)) => "ubuntu_18_04".to_owned(),
        _ => OTHER_LINUX.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_map_to_the_engines_names() {
        assert_eq!(map("rhel", "8.7", true), "rhel_8x64");
        assert_eq!(map("rocky", "9.2", true), "rhel_9x64");
        assert_eq!(map("centos", "5.11", false), "rhel_5");
        assert_eq!(map("centos", "6", true), "rhel_6x64");
        assert_eq!(map("debian", "12", true), "debian_9");
        assert_eq!(map("debian", "7", true), "debian_7");
        assert_eq!(map("ubuntu", "22.04", true), "ubuntu_18_04");
        assert_eq!(map("ubuntu", "16.04", true), "ubuntu_14_04");
        assert_eq!(map("ubuntu", "12.04", true), "ubuntu_12_04");
        assert_eq!(map("sles", "12.5", true), "sles_11");
        assert_eq!(map("fedora", "39", true), OTHER_LINUX);
        assert_eq!(map("debian", "", true), OTHER_LINUX);
        // No 32-bit RHEL 7+ exists in the engine's list.
        assert_eq!(map("centos", "7", false), OTHER_LINUX);
    }

    #[test]
    fn kernel_names_tell_32_bit_guests() {
        assert!(is_32bit("2.6.32-754.el6.i686"));
        assert!(is_32bit("4.19.0-21-686-pae"));
        assert!(!is_32bit("6.1.0-50-amd64"));
        assert!(!is_32bit("2.6.18-398.el5xen"));
    }
}
