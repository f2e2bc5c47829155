//! `vmbackup`: back up XenServer / XCP-ng VMs (NAUbackup-compatible) and oVirt VMs
//! (oVirtSimpleBackup-compatible), and list, verify, restore and prune the backups.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vmbackup::VmBackupError;
use vmbackup::cancel::Cancel;

const EXAMPLES: &str = "\
Examples:
  vmbackup weekend.cfg                        back up what weekend.cfg selects (NAUbackup's format)
  vmbackup preview weekend.cfg                check the file and show the VMs it selects
  vmbackup run 'PROD-.*' --host https://xs1 --password-file /root/xs.pass
  vmbackup run vdi-export=DEV-mySql --host https://xs1 --tls-fingerprint AB:CD:...
  vmbackup list --config weekend.cfg --json
  vmbackup verify /snapshots/BACKUPS/web01
  vmbackup restore /snapshots/BACKUPS/web01/2026-11-22T013005Z --config weekend.cfg --check
  vmbackup restore /mnt/backups/web/<uuid>/BU_20190708_120001 --host https://engine \
      --tls-ca-file ca.pem --password-file engine.pass --storage-domain data1 --name web --keep-macs
  vmbackup prune --config weekend.cfg --dry-run
  vmbackup preview /etc/vmbackup/ovirt.cfg    an oVirt configuration (engine=https://engine...)
  vmbackup run /etc/vmbackup/ovirt.cfg --json (mode=imageio|appliance, layout=own|ovirtsimplebackup)
The password comes from password_file= in the configuration, --password-file, the
VMBACKUP_PASSWORD environment variable, or a prompt; never from the command line.";

/// Back up XenServer / XCP-ng and oVirt VMs, and list, verify, restore and prune the backups.
#[derive(Debug, Parser)]
#[command(name = "vmbackup", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress display.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print a JSON report on standard output (log lines go to standard error).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Back up the VMs a configuration file or selector picks (the default command).
    Run(cmd::run::RunArgs),
    /// Check a configuration against the pool and show what a run would back up, and which
    /// VMs its excludes leave out.
    Preview(cmd::run::RunArgs),
    /// Show the backups on disk, per VM, with their state and size.
    List(cmd::list::ListArgs),
    /// Re-read backups: every file's digest, every archive's checksums and structure.
    Verify(cmd::verify::VerifyArgs),
    /// Put a backup back: into a XenServer pool (a VM from an XVA, disks from raw or VHD
    /// images), or into oVirt (a new VM through imageio, from vmbackup's backups or
    /// oVirtSimpleBackup's).
    Restore(cmd::restore::RestoreArgs),
    /// Apply the retention policy to the backups on disk.
    Prune(cmd::prune::PruneArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(cmd::default_to_run(std::env::args_os()));
    cli_common::init_logging(cli.verbose);
    let cancel = Cancel::new();
    let output = cmd::Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    cli_common::run_reporting(
        || {
            cmd::stop_on_signals(&cancel)?;
            match &cli.command {
                Command::Run(args) => cmd::run::run(args, output, &cancel),
                Command::Preview(args) => cmd::run::preview(args, output, &cancel),
                Command::List(args) => cmd::list::run(args, output),
                Command::Verify(args) => cmd::verify::run(args, output),
                Command::Restore(args) => cmd::restore::run(args, output, &cancel),
                Command::Prune(args) => cmd::prune::run(args, output),
            }
        },
        |error| {
            error.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<VmBackupError>(),
                    Some(VmBackupError::Config { .. })
                )
            })
        },
        cli.json,
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
