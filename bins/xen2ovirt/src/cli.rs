//! The command line.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser};

use crate::fixup::FixupMode;
use crate::plan::DiskBus;

const EXAMPLES: &str = "\
Passwords come from --xen-password-file / --ovirt-password-file, else the environment
(XEN2OVIRT_XEN_PASSWORD, XEN2OVIRT_OVIRT_PASSWORD), else a prompt on the terminal.

Every network the VM has a NIC on must be mapped to a vNIC profile (by its name, or
NETWORK/PROFILE); a source network is named by its name, its UUID or its bridge.
The VM must be shut down, or be shut down by --shutdown (cleanly, within
--shutdown-timeout; hard after it only with --force-shutdown), and is started again if the
migration then fails. Nothing else of the source is ever changed; on failure the new VM and
its disks are removed.

A Linux guest from Xen needs a fix-up before it boots on KVM (PV guests always): --fixup
local. A Windows guest is refused by the fix-up: install its virtio drivers (virtio-win)
before the migration and give --no-fixup.

Examples:
  xen2ovirt --xen https://xs1.example --xen-fingerprint AB:CD:… \\
            --ovirt https://engine.example --ovirt-ca-file /etc/pki/ovirt-engine/ca.pem \\
            --network xenbr0=ovirtmgmt --storage-domain data1 web-01 --dry-run
  xen2ovirt … --network 'Pool-wide network associated with eth0=ovirtmgmt' --verify web-01
  xen2ovirt … --name web-01-new --no-keep-macs --disk-interface virtio-scsi --json 6c5e4d8f-…
  xen2ovirt --xva /backup/web-01.xva.zst --ovirt … --network xenbr0=ovirtmgmt --verify
  xen2ovirt --backup /backups/web-01/2026-11-22T013005Z --ovirt … --network xenbr0=ovirtmgmt
  xen2ovirt --xen-config /etc/xen/web.cfg --ssh root@xen1 --ssh-key ~/.ssh/id_ed25519 \\
            --ovirt … --network xenbr0=ovirtmgmt --shutdown
  xen2ovirt … --fixup local --work-dir /srv/stage --start web-01
  xen2ovirt … --fixup appliance web-01                (run on an oVirt VM)
  xen2ovirt … --fixup local --dry-run web-01      (shows the fix-up as a diff; needs the
                                                   VM halted, its disks are read)

Exit codes: 0 migrated (or planned), 1 the migration failed (nothing is left on the
target), 2 the migration cannot start as asked (unmapped networks, unknown names, a running
VM, bad options).";

/// Move a XenServer / XCP-ng VM into oVirt: its settings, NICs (with their MACs) and disks,
/// streamed from XAPI's VHD export straight into imageio uploads.
#[derive(Debug, Parser)]
#[command(name = "xen2ovirt", version, after_help = EXAMPLES)]
#[allow(clippy::struct_excessive_bools)] // the flags of a command line
pub struct Cli {
    /// The source VM: its name (unique among VMs) or its UUID.
    #[arg(required_unless_present_any = ["xva", "xen_config", "backup"], conflicts_with_all = ["xva", "backup"])]
    pub vm: Option<String>,
    /// Migrate the VM of this XVA file (plain, gzip or zstd; an export or a vmbackup backup)
    /// instead of one of a pool: no source host needed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["xen_url", "shutdown", "live"])]
    pub xva: Option<PathBuf>,
    /// Migrate the VM of this vmbackup backup (a vm-export or vdi-export backup directory,
    /// read as its manifest says, every byte checked against its digests): no source host
    /// needed.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["xva", "xen_url", "xen_config", "shutdown", "live"])]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub xen: XenArgs,
    #[command(flatten)]
    pub xl: crate::xl::args::XlArgs,
    #[command(flatten)]
    pub ovirt: OvirtArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Show the plan (source settings, target VM, network and storage mapping) and stop:
    /// nothing is created or changed.
    #[arg(long)]
    pub dry_run: bool,
    /// Shut a running source VM down cleanly first (it is started again if the migration
    /// fails, and stays off when it succeeds).
    #[arg(long)]
    pub shutdown: bool,
    /// Copy a running source VM from a snapshot, without stopping it (crash-consistent: as
    /// after a power cut); the snapshot is always destroyed.
    #[arg(long, conflicts_with = "shutdown")]
    pub live: bool,
    /// How long the clean shutdown may take.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300,
        requires = "shutdown"
    )]
    pub shutdown_timeout: u64,
    /// After the deadline, shut the VM down hard (pull the plug).
    #[arg(long, requires = "shutdown")]
    pub force_shutdown: bool,
    /// Fix the guest up for KVM before its first boot (virtio drivers in the initramfs, device
    /// names, grub, console, swap): `local` stages the disks in --work-dir, fixes them on
    /// loop devices and uploads the result; `appliance` uploads first, then fixes the new
    /// disks attached to the oVirt VM this runs on. A guest without Linux (Windows) is
    /// refused.
    #[arg(long, value_name = "HOW", value_enum, conflicts_with = "no_fixup")]
    pub fixup: Option<FixupMode>,
    /// The guest needs no fix-up (an HVM guest already on virtio, or a Windows guest whose
    /// virtio drivers were installed before the migration).
    #[arg(long)]
    pub no_fixup: bool,
    /// Where --fixup local stages the disks: it needs free space for their data (not their
    /// virtual size), and is checked before anything is read.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/tmp",
        requires = "fixup"
    )]
    pub work_dir: PathBuf,
    /// `--fixup appliance`: the id of the oVirt VM xen2ovirt runs on (default: its SMBIOS
    /// uuid, `/sys/class/dmi/id/product_uuid`).
    #[arg(long, value_name = "ID", requires = "fixup")]
    pub appliance_vm: Option<String>,
    /// `--fixup appliance`: where attached disks appear by serial.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/dev/disk/by-id",
        requires = "fixup"
    )]
    pub by_id_dir: PathBuf,
    /// Where the guest's root is mounted for the fix-up (a private mount point).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/mnt/linux",
        requires = "fixup"
    )]
    pub fixup_root: PathBuf,
    /// Start the new VM once migrated and wait until the engine says it is up (a PV guest
    /// boots there only after its fix-up: give --fixup).
    #[arg(long)]
    pub start: bool,
    /// How long the new VM may take to come up with --start.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 600,
        requires = "start"
    )]
    pub start_timeout: u64,
    /// Keep the new VM and its disks when the migration fails (to look at them); they are
    /// removed otherwise.
    #[arg(long)]
    pub keep_failed: bool,
    /// After each disk's upload, download it again and compare digests.
    #[arg(long)]
    pub verify: bool,
    /// imageio connections per disk.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,
    /// Print the plan and the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// More log output on standard error (-v info, -vv debug).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

/// The XenServer / XCP-ng pool.
#[derive(Debug, Args)]
#[command(next_help_heading = "Source (XenServer / XCP-ng)")]
pub struct XenArgs {
    /// The pool master, `https://host[:port]`.
    #[arg(
        id = "xen_url",
        long = "xen",
        value_name = "URL",
        required_unless_present_any = ["xva", "xen_config", "backup"]
    )]
    pub url: Option<String>,
    /// The XAPI user.
    #[arg(
        id = "xen_user",
        long = "xen-user",
        value_name = "USER",
        default_value = "root"
    )]
    pub user: String,
    /// A file holding the XAPI password (plain text; keep it `chmod 600`).
    #[arg(
        id = "xen_password_file",
        long = "xen-password-file",
        value_name = "FILE"
    )]
    pub password_file: Option<PathBuf>,
    /// Trust the host's certificate by its SHA-256 fingerprint (repeatable: every host of
    /// the pool).
    #[arg(id = "xen_fingerprints", long = "xen-fingerprint", value_name = "HEX", value_parser = parse_xen_fingerprint)]
    pub fingerprints: Vec<xenapi::Fingerprint>,
    /// Trust the certificates in this PEM file.
    #[arg(id = "xen_ca_file", long = "xen-ca-file", value_name = "FILE", conflicts_with_all = ["xen_fingerprints", "xen_insecure"])]
    pub ca_file: Option<PathBuf>,
    /// Do not check the host's certificate (warns).
    #[arg(
        id = "xen_insecure",
        long = "xen-insecure",
        conflicts_with = "xen_fingerprints"
    )]
    pub insecure: bool,
}

/// The oVirt engine.
#[derive(Debug, Args)]
#[command(next_help_heading = "Target (oVirt)")]
pub struct OvirtArgs {
    /// The engine, `https://engine.example`.
    #[arg(id = "ovirt_url", long = "ovirt", value_name = "URL")]
    pub url: String,
    /// The engine user, with its profile.
    #[arg(
        id = "ovirt_user",
        long = "ovirt-user",
        value_name = "USER",
        default_value = "admin@internal"
    )]
    pub user: String,
    /// A file holding the engine password (plain text; keep it `chmod 600`).
    #[arg(
        id = "ovirt_password_file",
        long = "ovirt-password-file",
        value_name = "FILE"
    )]
    pub password_file: Option<PathBuf>,
    /// Trust the engine's CA in this PEM file (`/etc/pki/ovirt-engine/ca.pem`).
    #[arg(id = "ovirt_ca_file", long = "ovirt-ca-file", value_name = "FILE", conflicts_with_all = ["ovirt_ca_fingerprint", "ovirt_insecure"])]
    pub ca_file: Option<PathBuf>,
    /// Fetch the engine's CA from its pki-resource and trust it only with this SHA-256
    /// fingerprint.
    #[arg(id = "ovirt_ca_fingerprint", long = "ovirt-ca-fingerprint", value_name = "HEX", value_parser = parse_ovirt_fingerprint, conflicts_with = "ovirt_insecure")]
    pub ca_fingerprint: Option<ovirt_client::Fingerprint>,
    /// Do not check the engine's and the hosts' certificates (warns).
    #[arg(id = "ovirt_insecure", long = "ovirt-insecure")]
    pub insecure: bool,
}

/// The target VM.
#[derive(Debug, Args)]
#[command(next_help_heading = "Target VM")]
pub struct TargetArgs {
    /// Map a source network to a vNIC profile: `SOURCE=PROFILE` (repeatable; SOURCE is a
    /// network's name, UUID or bridge; PROFILE is `NAME` or `NETWORK/NAME`).
    #[arg(long = "network", value_name = "SOURCE=PROFILE", value_parser = parse_mapping)]
    pub networks: Vec<(String, String)>,
    /// The storage domain of the disks (default: the only data domain).
    #[arg(long, value_name = "NAME")]
    pub storage_domain: Option<String>,
    /// The cluster (default: the only one).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The new VM's name (default: the source's).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Keep the source's MAC addresses (the default).
    #[arg(long, overrides_with = "no_keep_macs")]
    pub keep_macs: bool,
    /// Let the engine choose new MAC addresses.
    #[arg(long, overrides_with = "keep_macs")]
    pub no_keep_macs: bool,
    /// The disk bus of the new VM.
    #[arg(long, value_name = "BUS", value_enum, default_value_t = DiskBus::Virtio)]
    pub disk_interface: DiskBus,
    /// The engine's OS type (`other_linux`, `debian_12`, `rhel_9x64`, `windows_2022`, …).
    #[arg(long, value_name = "TYPE")]
    pub os_type: Option<String>,
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.rsplit_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.to_owned(), to.to_owned()))
        }
        _ => Err(format!("`{text}` is not SOURCE=PROFILE")),
    }
}

fn parse_xen_fingerprint(text: &str) -> Result<xenapi::Fingerprint, String> {
    text.parse().map_err(|e: xenapi::XenApiError| e.to_string())
}

fn parse_ovirt_fingerprint(text: &str) -> Result<ovirt_client::Fingerprint, String> {
    text.parse()
        .map_err(|e: ovirt_client::OvirtError| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn mappings_split_at_the_last_equals_sign() {
        assert_eq!(
            parse_mapping("a=b=c").unwrap(),
            ("a=b".to_owned(), "c".to_owned())
        );
        assert!(parse_mapping("xenbr0").is_err());
        assert!(parse_mapping("=x").is_err());
    }

    #[test]
    fn macs_are_kept_unless_told_otherwise() {
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "xen2ovirt",
                "--xen",
                "http://x",
                "--ovirt",
                "https://e",
                "vm",
            ];
            args.extend_from_slice(extra);
            let cli = Cli::try_parse_from(args).unwrap();
            !cli.target.no_keep_macs
        };
        assert!(parse(&[]));
        assert!(parse(&["--keep-macs"]));
        assert!(!parse(&["--no-keep-macs"]));
    }
}
