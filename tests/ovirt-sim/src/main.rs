//! `ovirt-sim`: serve a simulated oVirt engine (with the real imageio daemon) until stopped.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use ovirt_sim::{SimConfig, Simulator, Timing};

const EXAMPLES: &str = "\
The first line of standard output is
  url=<API URL> user=<USER> password=<PASSWORD> ca=<CA FILE>
The port accepts HTTPS (signed by the CA file, which also signs the imageio daemon) and plain
HTTP. Needs the oVirt venv (scripts/lib/install-ovirt-venv) and qemu-utils.

Examples:
  ovirt-sim --listen 127.0.0.1:0 --demo
  ovirt-sim --demo --by-id-dir /tmp/by-id --lock-ms 2000
  ovirt-sim --listen 127.0.0.1:0 --demo | head -1
  ovirt-sim --demo --audit        (at SIGTERM: one JSON line of leftovers; exit 1 unless none)";

/// A simulated oVirt engine over HTTPS whose image transfers go through the real
/// ovirt-imageio daemon.
#[derive(Debug, Parser)]
#[command(name = "ovirt-sim", version, after_help = EXAMPLES)]
struct Cli {
    /// Where to listen (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Create the demo VMs and the backup appliance.
    #[arg(long)]
    demo: bool,
    /// The user SSO accepts.
    #[arg(long, default_value = "admin@internal")]
    user: String,
    /// Where disks attached to the appliance are linked by serial.
    #[arg(long, value_name = "DIR", default_value = "/dev/disk/by-id")]
    by_id_dir: PathBuf,
    /// At stop, print the audit of leftovers as one JSON line, and exit 1 unless it is clean.
    #[arg(long)]
    audit: bool,
    /// How long disks and snapshots stay locked, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    lock_ms: u64,
    /// Log more (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli_common::init_logging(cli.verbose);
    cli_common::run(|| serve(cli), |_| false)
}

fn serve(cli: Cli) -> anyhow::Result<cli_common::Outcome> {
    // Block the stop signals before any thread starts, so that the main thread alone
    // receives them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals
        .thread_block()
        .context("blocking SIGINT and SIGTERM")?;
    let lock = Duration::from_millis(cli.lock_ms);
    let config = SimConfig {
        listen: cli.listen,
        user: cli.user,
        password: uuid::Uuid::new_v4().simple().to_string(),
        timing: Timing {
            disk_lock: lock,
            snapshot_lock: lock,
            ..Timing::default()
        },
        by_id_dir: cli.by_id_dir,
        demo: cli.demo,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).context("starting the simulated engine")?;
    let (user, password) = sim.credentials();
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "url={} user={user} password={password} ca={}",
        sim.url(),
        sim.ca_file().display()
    )?;
    stdout.flush()?;
    drop(stdout);
    let signal = signals.wait().context("waiting for a stop signal")?;
    tracing::info!(?signal, "stopping");
    let audit = sim.audit();
    drop(sim);
    if !cli.audit {
        return Ok(cli_common::Outcome::Success);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string(&audit)?)?;
    stdout.flush()?;
    Ok(if audit.is_clean() {
        cli_common::Outcome::Success
    } else {
        cli_common::Outcome::PartialFailure
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
