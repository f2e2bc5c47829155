//! `xva-build`: build, inspect, verify and extract XenServer `.xva` archives.

mod archive;
mod build;
mod convert;
mod extract;
mod fix_guest;
mod inputs;
mod inspect;
mod interrupt;
mod server;
mod sftp;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  xva-build build --disk web.img --name web --memory 2048 --vcpus 2 -o web.xva
  xva-build build --config /etc/xen/web.cfg --checksum xxhash --compress zstd -o web.xva.zst
  xva-build build --disk centos.img --pv --bootloader pygrub --name centos -o - | ssh host xe vm-import filename=/dev/stdin
  xva-build build --disk web.img --name web --server https://xs1 --tls-fingerprint AB:CD:... --password-file /root/xs-pw
  xva-build build --disk pv.img --kernel vmlinuz --ramdisk initrd.img --server https://xs1 --upload-kernel --ssh-key ~/.ssh/id_ed25519
  xva-build build --config /etc/xen/centos5.cfg --fix-guest xenserver-pv --dry-run
  xva-build build --config /etc/xen/centos5.cfg --fix-guest xenserver-pv -o centos5.xva
  xva-build inspect web.xva --json
  xva-build verify web.xva.zst
  xva-build extract web.xva --disk 0 -o web-disk0.vhd
  xva-build convert /dev/vg/web -o web.vhd";

/// Build, inspect, verify and extract XenServer / XCP-ng `.xva` archives.
#[derive(Debug, Parser)]
#[command(name = "xva-build", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress display.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Package disk images (or a xend guest configuration) as an XVA.
    Build(Box<build::BuildArgs>),
    /// Show the VM settings and disks of an XVA.
    Inspect(inspect::InspectArgs),
    /// Check every checksum and the structure of an XVA.
    Verify(verify::VerifyArgs),
    /// Write one disk of an XVA out as a raw or VHD image.
    Extract(extract::ExtractArgs),
    /// Convert a disk image between raw and VHD (dynamic or fixed), sparse.
    Convert(convert::ConvertArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli_common::init_logging(cli.verbose);
    let progress = cli_common::progress_for(cli.quiet);
    cli_common::run(
        || {
            interrupt::install()?;
            match cli.command {
                Command::Build(args) => build::run(&args, progress.as_ref()),
                Command::Inspect(args) => inspect::run(&args),
                Command::Verify(args) => verify::run(&args, progress.as_ref()),
                Command::Extract(args) => extract::run(&args, progress.as_ref()),
                Command::Convert(args) => convert::run(&args, progress.as_ref()),
            }
        },
        |error| {
            error.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<disk_image::xend::XendError>(),
                    Some(disk_image::xend::XendError::Line { .. })
                )
            })
        },
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
