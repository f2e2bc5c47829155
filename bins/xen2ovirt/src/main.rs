//! `xen2ovirt`: move a XenServer / XCP-ng VM into oVirt in one command.
//!
//! The source VM is found by name or UUID and read into a platform-neutral description
//! ([`source::SourceVm`]); a pure plan ([`plan::Plan`]) decides the target VM, maps every
//! source network to a vNIC profile and chooses the storage domain and cluster, and
//! `--dry-run` stops there. Then the VM is created with its NICs (MACs kept) and empty disks
//! (boot disk first), and each disk streams from XAPI's `/export_raw_vdi?format=vhd`
//! through disk-image's one-pass VHD reader into an imageio upload (data as `PUT`, unallocated and
//! zero ranges as `PATCH zero`), its digest computed on the way and, with `--verify`,
//! compared with a download of the uploaded disk. Nothing is held whole in memory or
//! written locally. The source is never changed; on failure the new VM and its disks are
//! removed.

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
