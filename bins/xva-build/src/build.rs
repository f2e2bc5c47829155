//! `xva-build build`: disk images or a xend configuration in, an XVA out.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use cli_common::{Outcome, UsageError};
use disk_image::compress::Codec as Compression;
use disk_image::xva::XvaOptions;
use disk_image::{Boot, ChecksumKind, DiskSpec, Progress, VifSpec, VmSpec, xend};

use crate::archive::{Archive, KernelCopy, place_kernel, print_copy_instructions};
use crate::fix_guest::{FixGuestArgs, Fixed};
use crate::inputs::{Destination, check_output, open_disk};
use crate::server::ServerArgs;
use crate::sftp::SshArgs;

/// Options of `build`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // Command-line switches, each independent.
pub struct BuildArgs {
    /// A disk image or block device (repeatable; the first is the boot disk). Raw or VHD.
    #[arg(
        short,
        long = "disk",
        value_name = "PATH",
        required_unless_present = "config"
    )]
    disks: Vec<PathBuf>,
    /// Read the VM (name, memory, disks, vifs, boot, platform flags) from a xend guest
    /// configuration file. It is read as data, never executed.
    #[arg(short, long, value_name = "FILE", conflicts_with_all = ["disks", "name", "memory", "vcpus", "hvm", "pv", "kernel", "vifs"])]
    config: Option<PathBuf>,
    /// VM name (default: the first disk's file name).
    #[arg(short, long)]
    name: Option<String>,
    /// VM description.
    #[arg(long, default_value = "")]
    description: String,
    /// Memory in MiB.
    #[arg(short, long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    memory: u64,
    /// Virtual CPUs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    vcpus: u32,
    /// Fully virtualised guest (the default, unless --kernel or --bootloader is given).
    #[arg(long, conflicts_with = "pv")]
    hvm: bool,
    /// Paravirtualised guest (booted by --bootloader, pygrub by default, or --kernel).
    #[arg(long)]
    pv: bool,
    /// PV: boot this dom0 kernel; it must be copied to the hosts (the command says where).
    #[arg(short, long, value_name = "PATH", conflicts_with = "hvm")]
    kernel: Option<PathBuf>,
    /// PV: the initial ramdisk that goes with --kernel.
    #[arg(short, long, value_name = "PATH", requires = "kernel")]
    ramdisk: Option<PathBuf>,
    /// PV: kernel command line.
    #[arg(short, long, value_name = "TEXT", default_value = "")]
    args: String,
    /// PV: bootloader run in dom0 (implies --pv).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["kernel", "hvm"])]
    bootloader: Option<String>,
    /// HVM boot order (c = disk, d = CD, n = network).
    #[arg(long, default_value = "cd")]
    boot_order: String,
    /// Disable ACPI.
    #[arg(long)]
    no_acpi: bool,
    /// Disable the local APIC.
    #[arg(long)]
    no_apic: bool,
    /// Disable Viridian (Hyper-V) enlightenments.
    #[arg(long)]
    no_viridian: bool,
    /// Disable PAE.
    #[arg(long)]
    no_pae: bool,
    /// Enable NX.
    #[arg(long)]
    nx: bool,
    /// No empty CD drive (HVM guests get one by default).
    #[arg(long)]
    no_cd: bool,
    /// A network interface: `network=NAME[,mac=MAC]` or just NAME (repeatable).
    #[arg(long = "vif", value_name = "SPEC", value_parser = parse_vif)]
    vifs: Vec<VifSpec>,
    /// Checksum after each chunk: sha1 (every XenServer) or xxhash (8.1 and later, faster).
    #[arg(long, value_enum, default_value_t = ChecksumArg::Sha1)]
    checksum: ChecksumArg,
    /// Compress the archive (XAPI's importer reads both).
    #[arg(long, value_enum)]
    compress: Option<CompressArg>,
    /// Compression level (zstd 1-19, default 3; gzip 1-9, default 6).
    #[arg(long, value_name = "N")]
    compress_level: Option<i32>,
    /// Round disks whose size is not a multiple of 512 bytes up (XAPI needs whole sectors).
    #[arg(long)]
    pad: bool,
    /// Threads reading and hashing (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Output file, or `-` for standard output (or import straight into a host: --server).
    #[arg(short, long, value_name = "FILE", required_unless_present_any = ["server", "dry_run"])]
    output: Option<PathBuf>,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    ssh: SshArgs,
    #[command(flatten)]
    fix: FixGuestArgs,
}

/// `--checksum`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChecksumArg {
    Sha1,
    Xxhash,
}

/// `--compress`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressArg {
    Zstd,
    Gzip,
}

fn parse_vif(text: &str) -> Result<VifSpec, String> {
    let mut vif = VifSpec {
        mac: None,
        network: String::new(),
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("network" | "bridge", value)) => value.clone_into(&mut vif.network),
            Some(("mac", value)) => vif.mac = Some(value.to_owned()),
            Some((key, _)) => {
                return Err(format!("unknown vif key `{key}` (use network= and mac=)"));
            }
            None => part.clone_into(&mut vif.network),
        }
    }
    if vif.network.is_empty() {
        return Err("a vif needs a network".to_owned());
    }
    if let Some(mac) = vif.mac.take() {
        vif.mac = Some(VifSpec::parse_mac(&mac).ok_or(format!("`{mac}` is not a MAC address"))?);
    }
    Ok(vif)
}

/// Runs `build`.
pub fn run(args: &BuildArgs, progress: &dyn Progress) -> Result<Outcome> {
    if args.output.is_some() && args.server.server.is_some() {
        bail!(UsageError(
            "-o and --server do not go together: write a file, or import into a host".into()
        ));
    }
    if args.json && args.output.as_deref() == Some(Path::new("-")) {
        bail!(UsageError(
            "--json prints on standard output; it cannot go with -o -".into()
        ));
    }
    let mut spec = match &args.config {
        Some(path) => {
            let config = xend::read(path)?;
            for warning in &config.warnings {
                eprintln!("note: {warning}");
            }
            config.to_vm_spec()?
        }
        None => spec_from_flags(args)?,
    };
    // The fixed copies (if any) must outlive the archive that reads them.
    let _fixed = match crate::fix_guest::run(&args.fix, &mut spec, args.output.as_deref())? {
        Some(Fixed::Planned(diff)) => {
            let mut out = cli_common::Stdout::lock();
            write!(out, "{diff}")?;
            out.flush()?;
            return Ok(Outcome::Success);
        }
        other => other,
    };
    let kernel_copies = place_kernel(&mut spec);
    if let Some(output) = &args.output {
        let inputs: Vec<&Path> = (args.config.iter().map(PathBuf::as_path))
            .chain(spec.disks.iter().map(|disk| disk.path.as_path()))
            .chain(kernel_copies.iter().map(|copy| copy.local.as_path()))
            .collect();
        check_output(output, &inputs)?;
    }
    let disks = spec
        .disks
        .iter()
        .map(|disk| open_disk(&disk.path, args.pad))
        .collect::<Result<Vec<_>>>()?;
    let archive = Archive {
        options: XvaOptions {
            checksum: match args.checksum {
                ChecksumArg::Sha1 => ChecksumKind::Sha1,
                ChecksumArg::Xxhash => ChecksumKind::Xxhash,
            },
            workers: args
                .workers
                .unwrap_or_else(disk_image::chunks::default_workers)
                .max(1),
            xapi_keepalive_every: None,
        },
        compression: compression(args)?,
        spec,
        disks,
    };
    match (&args.output, &args.server.server) {
        (Some(output), _) => write_file(&archive, output, &kernel_copies, args.json, progress),
        (None, Some(url)) => crate::server::run(
            url,
            &args.server,
            &args.ssh,
            &archive,
            &kernel_copies,
            args.json,
            progress,
        ),
        (None, None) => bail!(UsageError("give -o FILE or --server URL".into())),
    }
}

fn write_file(
    archive: &Archive,
    output: &Path,
    kernel_copies: &[KernelCopy],
    json: bool,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let destination = Destination::create(output)?;
    let name = destination.name();
    let (_, summary) = archive.write(destination.writer(), &name, progress)?;
    destination.commit()?;
    print_copy_instructions(kernel_copies);
    let spec = &archive.spec;
    if json {
        let report = serde_json::json!({ "output": name, "vm": spec, "summary": summary });
        cli_common::print_json(&report)?;
    } else if output.as_os_str() != "-" {
        let mut out = cli_common::Stdout::lock();
        writeln!(
            out,
            "{name}: VM `{}`, {} disk(s), {} bytes",
            spec.name,
            summary.disks.len(),
            summary.archive_bytes
        )?;
        out.flush()?;
    }
    Ok(Outcome::Success)
}

fn compression(args: &BuildArgs) -> Result<Compression> {
    Ok(match (args.compress, args.compress_level) {
        (None, None) => Compression::None,
        (None, Some(_)) => bail!(UsageError("--compress-level needs --compress".into())),
        (Some(CompressArg::Zstd), level) => {
            let level = level.unwrap_or(3);
            if !(1..=19).contains(&level) {
                bail!(UsageError(format!("zstd level {level} is not in 1-19")));
            }
            let threads = u32::try_from(disk_image::chunks::default_workers()).unwrap_or(2);
            Compression::Zstd { level, threads }
        }
        (Some(CompressArg::Gzip), level) => {
            let level = level.unwrap_or(6);
            if !(1..=9).contains(&level) {
                bail!(UsageError(format!("gzip level {level} is not in 1-9")));
            }
            Compression::Gzip {
                level: level.cast_unsigned(),
            }
        }
    })
}

fn spec_from_flags(args: &BuildArgs) -> Result<VmSpec> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args.disks[0].file_stem().map_or_else(
            || "Unnamed".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        ),
    };
    let mut spec = VmSpec::new(name);
    spec.description.clone_from(&args.description);
    spec.memory = args
        .memory
        .checked_mul(1 << 20)
        .ok_or_else(|| UsageError(format!("{} MiB is too much memory", args.memory)))?;
    spec.vcpus = args.vcpus;
    let pv = args.pv || args.kernel.is_some() || args.bootloader.is_some();
    spec.boot = if pv {
        Boot::Pv {
            bootloader: match &args.kernel {
                Some(_) => None,
                None => Some(
                    args.bootloader
                        .clone()
                        .unwrap_or_else(|| "pygrub".to_owned()),
                ),
            },
            kernel: args.kernel.as_ref().map(|p| p.display().to_string()),
            ramdisk: args.ramdisk.as_ref().map(|p| p.display().to_string()),
            args: args.args.clone(),
        }
    } else {
        Boot::Hvm {
            order: args.boot_order.clone(),
        }
    };
    spec.platform.acpi = !args.no_acpi;
    spec.platform.apic = !args.no_apic;
    spec.platform.viridian = !args.no_viridian;
    spec.platform.pae = !args.no_pae;
    spec.platform.nx = args.nx;
    spec.cd_drive = !pv && !args.no_cd;
    spec.disks = args
        .disks
        .iter()
        .map(|path| DiskSpec {
            path: path.clone(),
            device: None,
            writable: true,
        })
        .collect();
    spec.vifs.clone_from(&args.vifs);
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vif_specs() {
        let vif = parse_vif("network=xenbr1,mac=00:16:3e:aa:bb:cc").unwrap();
        assert_eq!(vif.network, "xenbr1");
        assert_eq!(vif.mac.as_deref(), Some("00:16:3e:aa:bb:cc"));
        assert_eq!(parse_vif("xenbr0").unwrap().network, "xenbr0");
        assert!(
            parse_vif("mac=00:16:3e:aa:bb")
                .unwrap_err()
                .contains("network")
        );
        assert!(
            parse_vif("xenbr0,mac=zz:16:3e:aa:bb:cc")
                .unwrap_err()
                .contains("not a MAC")
        );
        assert!(
            parse_vif("xenbr0,speed=1")
                .unwrap_err()
                .contains("unknown vif key")
        );
    }
}
