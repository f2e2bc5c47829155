//! `xva-build inspect`: what an XVA holds, without reading its disks.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use cli_common::Outcome;
use disk_image::xva::{XvaMetadata, XvaReader};
use serde::Serialize;

/// Options of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The archive (plain, gzip or zstd).
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The facts `inspect` prints.
#[derive(Debug, Serialize)]
struct Inspection {
    file: String,
    compression: disk_image::compress::Detected,
    checksum: Option<disk_image::ChecksumKind>,
    /// `ova.xml` alone, as XAPI's `/export_metadata` writes: records, no disk data.
    metadata_only: bool,
    version: disk_image::xva::ExportVersion,
    vms: Vec<VmFacts>,
    disks: Vec<DiskFacts>,
}

#[derive(Debug, Serialize)]
struct VmFacts {
    id: String,
    name: String,
    description: String,
    is_snapshot: bool,
    memory: i64,
    memory_max: i64,
    vcpus: i64,
    vcpus_max: i64,
    boot: String,
    platform: std::collections::BTreeMap<String, String>,
    vifs: Vec<VifFacts>,
}

#[derive(Debug, Serialize)]
struct VifFacts {
    device: String,
    mac: String,
    network: String,
}

#[derive(Debug, Serialize)]
struct DiskFacts {
    index: usize,
    id: String,
    device: String,
    userdevice: String,
    name: String,
    size: u64,
    read_only: bool,
    uuid: String,
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> Result<Outcome> {
    let (mut reader, compression) = XvaReader::open_path(&args.file)?;
    let metadata_only = reader.is_metadata_only();
    let (version, vms, disks) = {
        let metadata = reader.metadata();
        (
            metadata.version.clone(),
            vm_facts(metadata),
            disk_facts(metadata),
        )
    };
    let inspection = Inspection {
        file: args.file.display().to_string(),
        compression,
        checksum: reader.into_checksum_kind()?,
        metadata_only,
        version,
        vms,
        disks,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
    } else {
        print_text(&inspection);
    }
    Ok(Outcome::Success)
}

fn vm_facts(metadata: &XvaMetadata) -> Vec<VmFacts> {
    metadata
        .vms
        .iter()
        .map(|(id, vm)| {
            let boot = if vm.is_hvm() {
                format!(
                    "HVM, order {}",
                    vm.hvm_boot_params.get("order").map_or("-", String::as_str)
                )
            } else if !vm.pv_bootloader.is_empty() {
                format!("PV, bootloader {}", vm.pv_bootloader)
            } else {
                format!("PV, kernel {} args `{}`", vm.pv_kernel, vm.pv_args)
            };
            let vifs = metadata
                .vifs
                .iter()
                .filter(|(_, vif)| vif.vm.as_str() == id)
                .map(|(_, vif)| VifFacts {
                    device: vif.device.clone(),
                    mac: if vif.mac.is_empty() {
                        "(generated on import)".into()
                    } else {
                        vif.mac.clone()
                    },
                    network: metadata
                        .networks
                        .iter()
                        .find(|(nid, _)| nid == vif.network.as_str())
                        .map_or_else(String::new, |(_, n)| n.name_label.clone()),
                })
                .collect();
            VmFacts {
                id: id.clone(),
                name: vm.name_label.clone(),
                description: vm.name_description.clone(),
                is_snapshot: vm.is_a_snapshot,
                memory: vm.memory_dynamic_min,
                memory_max: vm.memory_static_max,
                vcpus: vm.vcpus_at_startup,
                vcpus_max: vm.vcpus_max,
                boot,
                platform: vm.platform.clone(),
                vifs,
            }
        })
        .collect()
}

fn disk_facts(metadata: &XvaMetadata) -> Vec<DiskFacts> {
    metadata
        .listing()
        .into_iter()
        .enumerate()
        .map(|(index, disk)| DiskFacts {
            index,
            id: disk.id.clone(),
            device: disk
                .vbd
                .as_ref()
                .map_or_else(String::new, |v| v.device.clone()),
            userdevice: disk
                .vbd
                .as_ref()
                .map_or_else(String::new, |v| v.userdevice.clone()),
            name: disk.vdi.name_label.clone(),
            size: disk.size(),
            read_only: disk.vdi.read_only,
            uuid: disk.vdi.uuid.clone(),
        })
        .collect()
}

fn print_text(inspection: &Inspection) {
    let v = &inspection.version;
    println!(
        "file:        {} ({:?})",
        inspection.file, inspection.compression
    );
    println!(
        "exported by: {} {} (xapi {}.{}, format {})",
        v.product_brand, v.product_version, v.xapi_major, v.xapi_minor, v.export_vsn
    );
    if inspection.metadata_only {
        println!(
            "contents:    metadata only (ova.xml alone, as XAPI's /export_metadata writes): no disk data"
        );
    } else {
        let checksum = inspection
            .checksum
            .map_or_else(|| "none (no disks)".to_owned(), |c| c.to_string());
        println!("checksums:   {checksum}");
    }
    for vm in &inspection.vms {
        println!();
        println!(
            "VM {}{}",
            vm.name,
            if vm.is_snapshot { " (snapshot)" } else { "" }
        );
        if !vm.description.is_empty() {
            println!("  description: {}", vm.description);
        }
        println!(
            "  memory:      {} MiB (max {} MiB)",
            vm.memory >> 20,
            vm.memory_max >> 20
        );
        println!("  vcpus:       {} (max {})", vm.vcpus, vm.vcpus_max);
        println!("  boot:        {}", vm.boot);
        let flags: Vec<String> = vm
            .platform
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("  platform:    {}", flags.join(" "));
        for vif in &vm.vifs {
            println!("  vif {}:       {} on {}", vif.device, vif.mac, vif.network);
        }
    }
    println!();
    println!("disks:");
    for d in &inspection.disks {
        println!(
            "  {}: {:<6} slot {:<2} {:>14} bytes  {}{}  ({}, {})",
            d.index,
            d.device,
            d.userdevice,
            d.size,
            d.name,
            if d.read_only { " [read-only]" } else { "" },
            d.id,
            d.uuid
        );
    }
}
