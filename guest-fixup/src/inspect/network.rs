//! Network configuration that pins a MAC address or an interface name to the old hardware:
//! udev persistent-net rules and `HWADDR=` in Red Hat / SUSE ifcfg files.

use serde::Serialize;

use crate::error::Result;
use crate::fs::GuestFs;

/// A file line that ties a NIC to the old hypervisor's MAC address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MacPin {
    /// The file.
    pub path: String,
    /// The line number (1-based).
    pub line: usize,
    /// The line itself.
    pub text: String,
}

/// The udev rules files that name interfaces by MAC.
pub const UDEV_RULES: [&str; 2] = [
    "/etc/udev/rules.d/70-persistent-net.rules",
    "/etc/udev/rules.d/z25_persistent-net.rules",
];
/// Where ifcfg files live (Red Hat, SUSE).
pub const IFCFG_DIRS: [&str; 2] = ["/etc/sysconfig/network-scripts", "/etc/sysconfig/network"];

/// Every MAC-pinning line in the guest.
pub fn detect(fs: &dyn GuestFs) -> Result<Vec<MacPin>> {
    let mut pins = Vec::new();
    for path in pin_files(fs)? {
        let Some(text) = fs.read_text(&path)? else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            if is_pin(&path, line) {
                pins.push(MacPin {
                    path: path.clone(),
                    line: index + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    Ok(pins)
}

/// The files that may pin MACs.
pub fn pin_files(fs: &dyn GuestFs) -> Result<Vec<String>> {
    let mut files: Vec<String> = UDEV_RULES.iter().map(|p| (*p).to_owned()).collect();
    for dir in IFCFG_DIRS {
        files.extend(
            fs.list(dir)?
                .into_iter()
                .filter(|n| n.starts_with("ifcfg-") && n != "ifcfg-lo")
                .map(|n| format!("{dir}/{n}")),
        );
    }
    Ok(files)
}

/// Whether `line` of `path` pins a MAC address.
pub fn is_pin(path: &str, line: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return false;
    }
    if path.contains("/rules.d/") {
        trimmed.contains("ATTR{address}==")
    } else {
        trimmed.starts_with("HWADDR=") || trimmed.starts_with("MACADDR=")
    }
}
