//! Network configuration that names an interface by the old hardware: systemd's predictable
//! names (`enX0` on Xen's netfront, `enp1s0` / `ens3` / `eno1` from a PCI path or slot,
//! `enx<mac>`) in ifupdown's `interfaces`, systemd-networkd's `Name=`, netplan and ifcfg
//! files. The new hypervisor's NIC gets another name, so such a configuration brings no
//! network up; the plan warns about each one (there is no name to rewrite it to before the
//! guest has booted on the target).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::error::Result;
use crate::fs::GuestFs;

/// A file line that names an interface by the old hardware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceName {
    /// The file.
    pub path: String,
    /// The line number (1-based).
    pub line: usize,
    /// The interface name.
    pub name: String,
}

/// systemd's hardware-derived names.
static HARDWARE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^en(X[0-9]+|[ops][0-9][0-9a-z]*|x[0-9a-f]{12})$").expect("a valid regex")
});

/// Where each kind of file is, and the pattern whose group 1 is the interface name.
fn sources() -> [(&'static str, Option<&'static str>, Regex); 4] {
    let re = |s: &str| Regex::new(s).expect("a valid regex");
    [
        (
            "/etc/network",
            Some("interfaces"),
            re(r"^\s*(?:auto|allow-hotplug|iface)\s+(\S+)"),
        ),
        (
            "/etc/network/interfaces.d",
            None,
            re(r"^\s*(?:auto|allow-hotplug|iface)\s+(\S+)"),
        ),
        ("/etc/systemd/network", None, re(r"^\s*Name\s*=\s*(\S+)")),
        (
            "/etc/netplan",
            None,
            re(r"^\s+([A-Za-z0-9]+):\s*(?:\{.*)?$"),
        ),
    ]
}

/// Every line that names an interface by hardware, in the guest's network configuration.
pub fn detect(fs: &dyn GuestFs) -> Result<Vec<InterfaceName>> {
    let mut files: Vec<(String, Regex)> = Vec::new();
    for (dir, only, pattern) in sources() {
        for name in fs.list(dir)? {
            if only.is_none_or(|o| o == name) && !name.starts_with('.') {
                files.push((format!("{dir}/{name}"), pattern.clone()));
            }
        }
    }
    let ifcfg = Regex::new(r#"^\s*(?:DEVICE|NAME)="?([^"\s]+)"?"#).expect("a valid regex");
    for dir in super::network::IFCFG_DIRS {
        for name in fs.list(dir)? {
            if name.starts_with("ifcfg-") {
                files.push((format!("{dir}/{name}"), ifcfg.clone()));
            }
        }
    }
    let mut found = Vec::new();
    for (path, pattern) in files {
        let Some(text) = fs.read_text(&path)? else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            if let Some(name) = pattern.captures(line).and_then(|c| c.get(1))
                && HARDWARE_NAME.is_match(name.as_str())
            {
                found.push(InterfaceName {
                    path: path.clone(),
                    line: index + 1,
                    name: name.as_str().to_owned(),
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_names_are_told_from_others() {
        for name in [
            "enX0",
            "enp1s0",
            "ens3",
            "eno1",
            "enp0s3f1",
            "enx525400123456",
        ] {
            assert!(HARDWARE_NAME.is_match(name), "{name}");
        }
        for name in ["eth0", "lo", "br0", "bond0", "enXa", "wlan0"] {
            assert!(!HARDWARE_NAME.is_match(name), "{name}");
        }
    }
}
