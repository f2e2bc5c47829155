//! What each attached disk holds: its partition table (`sfdisk --json`), each volume's
//! signature (`blkid -p`, a low-level probe that reads the device, not a cache), and whether
//! the first sector carries boot code.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::attach::Attached;
use crate::error::{GuestFixupError, Result};
use crate::facts::{Content, DiskFact, DiskFacts, Volume};
use crate::runner::{CommandRunner, HostRunner};

const GPT_SWAP: &str = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";

#[derive(Deserialize)]
struct Sfdisk {
    partitiontable: Table,
}

#[derive(Deserialize)]
struct Table {
    #[serde(default)]
    partitions: Vec<Partition>,
}

#[derive(Deserialize)]
struct Partition {
    node: String,
    #[serde(rename = "type")]
    kind: String,
}

/// Probes every disk.
pub fn probe(disks: &[Attached]) -> Result<DiskFacts> {
    let mut facts = DiskFacts::default();
    for (index, disk) in disks.iter().enumerate() {
        let device = disk.device();
        let nodes = disk.partitions()?;
        let types = partition_types(device);
        facts.disks.push(DiskFact {
            partitioned: !nodes.is_empty(),
            boot_code: boot_code(device)?,
            host_device: Some(device.to_path_buf()),
        });
        if nodes.is_empty() {
            facts.volumes.push(volume(index, None, device, false));
        }
        for (number, node) in nodes {
            let swap_type = types.iter().any(|(n, t)| {
                Path::new(n) == node && (t == "82" || t.eq_ignore_ascii_case(GPT_SWAP))
            });
            facts
                .volumes
                .push(volume(index, Some(number), &node, swap_type));
        }
    }
    Ok(facts)
}

/// `(node, type)` of each partition, or nothing if there is no readable table.
fn partition_types(device: &Path) -> Vec<(String, String)> {
    let argv = ["sfdisk", "--json", &*device.to_string_lossy()].map(str::to_owned);
    let Ok(json) = HostRunner.run(&argv) else {
        return Vec::new();
    };
    serde_json::from_str::<Sfdisk>(&json)
        .map(|s| {
            s.partitiontable
                .partitions
                .into_iter()
                .map(|p| (p.node, p.kind))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn volume(
    disk: usize,
    partition: Option<u32>,
    device: &Path,
    swap_type: bool,
) -> Volume {
    let argv = ["blkid", "-p", "-o", "export", &*device.to_string_lossy()].map(str::to_owned);
    // blkid exits 2 when it finds no signature at all.
    let export = HostRunner.run(&argv).unwrap_or_default();
    let value = |key: &str| {
        export
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let content = match value("TYPE").as_deref() {
        None if value("PTTYPE").is_some() => Content::Other(format!(
            "a {} partition table",
            value("PTTYPE").unwrap_or_default()
        )),
        None => Content::Empty,
        Some("swap") => Content::Swap,
        Some("LVM2_member") => Content::LvmMember,
        Some(fs @ ("ext2" | "ext3" | "ext4" | "xfs" | "btrfs")) => {
            Content::Filesystem(fs.to_owned())
        }
        Some(other) => Content::Other(other.to_owned()),
    };
    Volume {
        disk,
        partition,
        content,
        uuid: value("UUID"),
        label: value("LABEL"),
        swap_type,
        host_device: Some(device.to_path_buf()),
        lv: None,
    }
}

/// Whether the first 440 bytes (the MBR's code area) are not all zero.
fn boot_code(device: &Path) -> Result<bool> {
    let mut sector = [0u8; 440];
    File::open(device)
        .and_then(|mut f| f.read_exact(&mut sector))
        .map_err(|e| GuestFixupError::io("reading the first sector of", device, e))?;
    Ok(sector.iter().any(|b| *b != 0))
}
