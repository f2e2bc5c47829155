//! `xen2ovirt`: move a XenServer / XCP-ng VM into oVirt in one command.
//!
//! The source VM is found by name or UUID and read into a platform-neutral description
//! ([`source::SourceVm`]); a pure plan ([`plan::Plan`]) decides the target VM, maps every
//! source network to a vNIC profile and chooses the storage domain and cluster, and
//! `--dry-run` stops there. Then the VM is built through `ovirt_client::VmBuild` with its
//! NICs (MACs kept), and each disk streams from its source into an imageio upload from
//! pieces (data as `PUT`, unallocated and zero ranges as `PATCH zero`), its digest computed
//! on the way and, with `--verify`, compared with a download of the uploaded disk. The
//! sources: a pool VM (XAPI's `/export_raw_vdi?format=vhd` through disk-image's one-pass
//! VHD reader), an XVA ([`xva`]), a vmbackup backup ([`backup`]) or a plain Xen guest's
//! configuration and disks, on this dom0 or over SSH ([`xl`]); every one goes through
//! [`run::migrate_disks`]. The source is never changed; on failure the new VM and its disks
//! are removed.
//!
//! The guest is fixed up for KVM before its first boot by guest-fixup: `--fixup local`
//! ([`staged`], [`fixup`]) stages the disks in a sparse local directory, fixes them there
//! and uploads the result, the OS type taken from the inspection ([`os_type`]);
//! `--fixup appliance` ([`appliance`]) uploads first and fixes the new disks attached to
//! the oVirt VM xen2ovirt runs on.

mod appliance;
mod backup;
mod cli;
mod digest;
mod engine;
mod fixup;
mod migrate;
mod os_type;
mod plan;
mod run;
mod source;
mod staged;
mod xapi;
mod xl;
mod xva;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli_common::init_logging(cli.verbose);
    cli_common::run_reporting(|| run::run(&cli), |_| false, cli.json)
}
