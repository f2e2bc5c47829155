//! `xen2ovirt`: move a XenServer / XCP-ng VM into oVirt in one command.
//!
//! The source VM is found by name or UUID and read into a platform-neutral description
//! ([`source::SourceVm`]); a pure plan ([`plan::Plan`]) decides the target VM, maps every
//! source network to a vNIC profile and chooses the storage domain and cluster, and
//! `--dry-run` stops there. Then the VM is built through `ovirt_client::VmBuild` with its
//! NICs (MACs kept), and each disk streams from XAPI's `/export_raw_vdi?format=vhd`
//! through a one-pass VHD reader into an imageio upload from pieces (data as `PUT`,
//! unallocated and zero ranges as `PATCH zero`), its digest computed on the way and, with
//! `--verify`, compared with a download of the uploaded disk. The source is never changed;
//! on failure the new VM and its disks are removed.
//!
//! The guest is fixed up for KVM before its first boot by guest-fixup: `--fixup local`
//! ([`staged`], [`fixup`]) stages the disks in a sparse local directory, fixes them there
//! and uploads the result, the OS type taken from the inspection ([`os_type`]);
//! `--fixup appliance` ([`appliance`]) uploads first and fixes the new disks attached to
//! the oVirt VM xen2ovirt runs on.

mod appliance;
mod cli;
mod digest;
mod engine;
mod fixup;
mod migrate;
mod os_type;
mod plan;
mod power;
mod run;
mod snapshot;
mod source;
mod staged;
mod vhd_stream;
mod xapi;
mod xva;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli_common::init_logging(cli.verbose);
    cli_common::run_reporting(|| run::run(&cli), |_| false, cli.json)
}
