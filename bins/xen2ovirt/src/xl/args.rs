//! The command-line flags of a plain Xen source.

use std::path::PathBuf;

use clap::Args;
use xenapi::dom0::HostFingerprint;

/// Where a plain Xen guest is.
#[derive(Debug, Args)]
#[command(next_help_heading = "Source (plain Xen: xl / xend)")]
pub struct XlArgs {
    /// The guest's xl / xend configuration file (read as data, never run), on this dom0 or,
    /// with --ssh, on that host; its `phy:`, `file:` and `tap:aio:` disks are read there.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["xva", "xen_url", "vm"])]
    pub xen_config: Option<PathBuf>,
    /// Read the configuration and the disks on this Xen host over SSH (`USER@HOST`, or
    /// `HOST` for root), and run `xl` there.
    #[arg(long, value_name = "USER@HOST", requires = "xen_config")]
    pub ssh: Option<String>,
    /// The SSH port.
    #[arg(long, value_name = "PORT", default_value_t = 22, requires = "ssh")]
    pub ssh_port: u16,
    /// The private key to log in with (without passphrase; default `~/.ssh/id_ed25519`,
    /// else `~/.ssh/id_rsa`). Passwords are not taken.
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub ssh_key: Option<PathBuf>,
    /// Check the host's key against this `known_hosts` file (default `~/.ssh/known_hosts`).
    #[arg(
        long,
        value_name = "FILE",
        requires = "ssh",
        conflicts_with = "ssh_fingerprint"
    )]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Trust the host's key only with this fingerprint, as `ssh-keygen -lf` prints it.
    #[arg(long, value_name = "SHA256:…", requires = "ssh", value_parser = parse_host_fingerprint)]
    pub ssh_fingerprint: Option<HostFingerprint>,
}

fn parse_host_fingerprint(text: &str) -> Result<HostFingerprint, String> {
    text.parse()
        .map_err(|e: xenapi::dom0::Dom0Error| e.to_string())
}
