//! Where a guest goes: the [`Direction`] of a conversion, and the device renames it implies.
//!
//! Device names are the kernel's (`xvda1`, `sda`, `vdb2`), without `/dev/`. A prefix rule
//! keeps the disk letters and the partition number (`xvda1 -> vda1`, as virt-v2v does); the
//! xend-to-XenServer rule turns partition-named disks (`sda1`, `hda2`: each an unpartitioned
//! image on xend) into whole disks `xvda`, `xvdb`, … in name order, as xva.py's manual asks;
//! an explicit map renames exactly the names it lists.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::GuestFixupError;

/// The hypervisor a guest is converted for: it decides the drivers and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// KVM (oVirt, Proxmox, plain QEMU) with virtio disks and NICs, serial console `ttyS0`.
    KvmVirtio,
    /// Xen paravirtualised (xend, XenServer, XCP-ng): blkfront / netfront, console `hvc0`.
    XenPv,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KvmVirtio => "kvm-virtio",
            Self::XenPv => "xen-pv",
        })
    }
}

/// A conversion: from where to where, or an explicit device map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// A Xen PV guest (`xvdX`, console `hvc0`) to KVM with virtio (`vdX`).
    XenPvToKvmVirtio,
    /// A Xen HVM guest (`sdX` / `hdX`, or `xvdX` with PV drivers) to KVM with virtio.
    XenHvmToKvmVirtio,
    /// A KVM guest (`vdX`, or `sdX` on virtio-scsi) to Xen PV (`xvdX`, console `hvc0`).
    KvmToXenPv,
    /// A xend PV guest with partition-named disks (`sda1`, `hda2`) to XenServer's whole
    /// disks (`xvda`, `xvdb`).
    XendPvToXenServerPv,
    /// Exactly these renames (`sda1 -> xvda`); the target is implied by the new names.
    Map(BTreeMap<String, String>),
}

const HINT: &str = "use xen-pv->kvm-virtio, xen-hvm->kvm-virtio, kvm->xen-pv, xend-pv->xenserver-pv (or \
                    xenserver-pv), or a map such as sda1=xvda,sda2=xvdb";

impl FromStr for Direction {
    type Err = GuestFixupError;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let compact: String = given.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || GuestFixupError::Direction {
            given: given.to_owned(),
            hint: HINT,
        };
        Ok(match compact.as_str() {
            "xen-pv->kvm-virtio" => Self::XenPvToKvmVirtio,
            "xen-hvm->kvm-virtio" => Self::XenHvmToKvmVirtio,
            "kvm->xen-pv" | "kvm-virtio->xen-pv" => Self::KvmToXenPv,
            "xend-pv->xenserver-pv" | "xenserver-pv" => Self::XendPvToXenServerPv,
            map if map.contains('=') || map.contains("->") => {
                let mut renames = BTreeMap::new();
                for pair in map.split(',') {
                    let (from, to) = pair
                        .split_once("->")
                        .or_else(|| pair.split_once('='))
                        .ok_or_else(bad)?;
                    let (from, to) = (strip_dev(from), strip_dev(to));
                    if parse_name(from).is_none() || parse_name(to).is_none() {
                        return Err(bad());
                    }
                    renames.insert(from.to_owned(), to.to_owned());
                }
                Self::Map(renames)
            }
            _ => return Err(bad()),
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::XenPvToKvmVirtio => f.write_str("xen-pv->kvm-virtio"),
            Self::XenHvmToKvmVirtio => f.write_str("xen-hvm->kvm-virtio"),
            Self::KvmToXenPv => f.write_str("kvm->xen-pv"),
            Self::XendPvToXenServerPv => f.write_str("xend-pv->xenserver-pv"),
            Self::Map(map) => {
                let pairs: Vec<String> = map.iter().map(|(a, b)| format!("{a}={b}")).collect();
                f.write_str(&pairs.join(","))
            }
        }
    }
}

impl Direction {
    /// The hypervisor the guest is converted for, if the direction implies one.
    pub fn target(&self) -> Option<Target> {
        match self {
            Self::XenPvToKvmVirtio | Self::XenHvmToKvmVirtio => Some(Target::KvmVirtio),
            Self::KvmToXenPv | Self::XendPvToXenServerPv => Some(Target::XenPv),
            Self::Map(map) => {
                let targets: BTreeSet<Option<Target>> = map
                    .values()
                    .map(|name| match parse_name(name) {
                        Some(("xvd", _, _)) => Some(Target::XenPv),
                        Some(("vd", _, _)) => Some(Target::KvmVirtio),
                        _ => None,
                    })
                    .collect();
                match targets.into_iter().collect::<Vec<_>>()[..] {
                    [one] => one,
                    _ => None,
                }
            }
        }
    }

    /// Whether the console moves (`hvc0` to `ttyS0` or back); an explicit map leaves it.
    pub fn converts_console(&self) -> bool {
        !matches!(self, Self::Map(_) | Self::XendPvToXenServerPv)
    }

    /// The renames for a guest that refers to `names` (kernel names, no `/dev/`).
    pub fn renames<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Renames {
        let mut map = BTreeMap::new();
        let names: BTreeSet<&str> = names.into_iter().collect();
        let prefix_rule = |from: &[&str], to: &str, map: &mut BTreeMap<String, String>| {
            for name in &names {
                if let Some((prefix, letters, part)) = parse_name(name)
                    && from.contains(&prefix)
                {
                    map.insert((*name).to_owned(), format!("{to}{letters}{part}"));
                }
            }
        };
        match self {
            Self::XenPvToKvmVirtio => prefix_rule(&["xvd"], "vd", &mut map),
            Self::XenHvmToKvmVirtio => prefix_rule(&["sd", "hd", "xvd"], "vd", &mut map),
            Self::KvmToXenPv => prefix_rule(&["vd", "sd"], "xvd", &mut map),
            Self::XendPvToXenServerPv => {
                let mut partition_named: Vec<(&str, &str, u32)> = names
                    .iter()
                    .filter_map(|name| {
                        let (prefix, letters, part) = parse_name(name)?;
                        let part: u32 = part.parse().ok()?;
                        matches!(prefix, "sd" | "hd" | "xvd").then_some((*name, letters, part))
                    })
                    .collect();
                partition_named.sort_by(|a, b| (a.1.len(), a.1, a.2).cmp(&(b.1.len(), b.1, b.2)));
                for (index, (name, _, _)) in partition_named.into_iter().enumerate() {
                    map.insert(name.to_owned(), format!("xvd{}", drive_letters(index)));
                }
                // Whole-disk hd/sd names (a CD-ROM or an unpartitioned data disk) keep their letter.
                for name in &names {
                    if let Some((prefix @ ("sd" | "hd"), letters, "")) = parse_name(name) {
                        let _ = prefix;
                        map.entry((*name).to_owned())
                            .or_insert_with(|| format!("xvd{letters}"));
                    }
                }
            }
            Self::Map(explicit) => {
                for (from, to) in explicit {
                    map.insert(from.clone(), to.clone());
                }
            }
        }
        map.retain(|from, to| from != to);
        Renames { map }
    }
}

/// The device renames of one conversion, kernel name to kernel name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Renames {
    map: BTreeMap<String, String>,
}

impl Renames {
    /// The new name of `name`, if it changes.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Every rename, old to new.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// Whether nothing is renamed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn strip_dev(name: &str) -> &str {
    name.strip_prefix("/dev/").unwrap_or(name)
}

/// Splits a disk or partition name into (bus prefix, disk letters, partition digits):
/// `xvda1` -> (`xvd`, `a`, `1`); names of other kinds (`dm-0`, `loop0`, `md0`) give `None`.
pub fn parse_name(name: &str) -> Option<(&'static str, &str, &str)> {
    const PREFIXES: [&str; 4] = ["xvd", "vd", "sd", "hd"];
    let prefix = PREFIXES.into_iter().find(|p| name.starts_with(p))?;
    let rest = &name[prefix.len()..];
    let letters_end = rest
        .find(|c: char| !c.is_ascii_lowercase())
        .unwrap_or(rest.len());
    let (letters, part) = rest.split_at(letters_end);
    let valid =
        !letters.is_empty() && letters.len() <= 3 && part.chars().all(|c| c.is_ascii_digit());
    valid.then_some((prefix, letters, part))
}

/// The disk letters of the disk at `index`: 0 -> `a`, 25 -> `z`, 26 -> `aa`.
pub fn drive_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        letters.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// The disk index of disk letters: `a` -> 0, `aa` -> 26.
pub fn drive_index(letters: &str) -> Option<usize> {
    letters
        .bytes()
        .try_fold(0usize, |acc, b| {
            b.is_ascii_lowercase()
                .then(|| acc * 26 + usize::from(b - b'a') + 1)
        })
        .map(|n| n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules_keep_letters_and_partitions() {
        let renames = Direction::XenPvToKvmVirtio.renames(["xvda1", "xvdb", "sda1", "dm-0"]);
        assert_eq!(renames.get("xvda1"), Some("vda1"));
        assert_eq!(renames.get("xvdb"), Some("vdb"));
        assert_eq!(renames.get("sda1"), None);
        let back = Direction::KvmToXenPv.renames(["vda5", "sdb"]);
        assert_eq!(back.get("vda5"), Some("xvda5"));
        assert_eq!(back.get("sdb"), Some("xvdb"));
    }

    #[test]
    fn xend_partition_names_become_whole_disks_in_order() {
        let renames = Direction::XendPvToXenServerPv.renames(["sda2", "sda1", "hdc"]);
        assert_eq!(renames.get("sda1"), Some("xvda"));
        assert_eq!(renames.get("sda2"), Some("xvdb"));
        assert_eq!(renames.get("hdc"), Some("xvdc"));
    }

    #[test]
    fn directions_parse_and_print() {
        for text in [
            "xen-pv->kvm-virtio",
            "xen-hvm->kvm-virtio",
            "kvm->xen-pv",
            "xend-pv->xenserver-pv",
        ] {
            assert_eq!(text.parse::<Direction>().unwrap().to_string(), text);
        }
        let map: Direction = "/dev/sda1 -> xvda, sda2=xvdb".parse().unwrap();
        assert_eq!(map.to_string(), "sda1=xvda,sda2=xvdb");
        assert_eq!(map.target(), Some(Target::XenPv));
        assert!("sideways".parse::<Direction>().is_err());
        assert!("sda1=loop0".parse::<Direction>().is_err());
    }

    #[test]
    fn drive_letters_round_trip() {
        for (index, letters) in [(0, "a"), (25, "z"), (26, "aa"), (701, "zz"), (702, "aaa")] {
            assert_eq!(drive_letters(index), letters);
            assert_eq!(drive_index(letters), Some(index));
        }
    }
}
