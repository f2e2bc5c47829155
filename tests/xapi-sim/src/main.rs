//! `xapi-sim`: serve a simulated XenServer / XCP-ng pool until stopped.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use xapi_sim::{DiskContents, NewDisk, NewVm, SimConfig, Simulator};

const EXAMPLES: &str = "\
The first line of standard output is
  url=<URL> user=<USER> password=<PASSWORD> slave=<SLAVE URL>
and, with --tls, the second is fingerprint=<SHA-256 of the certificate>.
Both ports accept plain HTTP and TLS; --tls only makes the printed URLs https.

Examples:
  xapi-sim --listen 127.0.0.1:0 --demo
  xapi-sim --listen 127.0.0.1:8443 --tls --demo --state /var/tmp/pool
  xapi-sim --listen 127.0.0.1:0 --demo | head -1
  xapi-sim --vm big:4G:1G --vm small:64M      (a 4 GiB disk holding 1 GiB of data, a blank one)";

/// Serve a simulated XenServer / XCP-ng pool (XAPI over HTTP and HTTPS) until SIGINT or
/// SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "xapi-sim", version, after_help = EXAMPLES)]
struct Cli {
    /// Address of the pool master's listener (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the slave host's listener.
    #[arg(long, default_value = "127.0.0.1:0")]
    slave_listen: SocketAddr,
    /// Print https:// URLs and the certificate's fingerprint.
    #[arg(long)]
    tls: bool,
    /// Create the demo VMs (three VMs with real disk contents) in a new pool.
    #[arg(long)]
    demo: bool,
    /// Keep the pool (records and disks) in this directory across restarts.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// The user that may log in.
    #[arg(long, default_value = "root")]
    user: String,
    /// Also create a halted VM `NAME` with one disk of SIZE holding about DATA bytes of
    /// pseudo-random data (`K`, `M`, `G` suffixes; repeatable).
    #[arg(long = "vm", value_name = "NAME:SIZE[:DATA]", value_parser = parse_vm)]
    vms: Vec<NewVm>,
    /// More log output on standard error (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli_common::init_logging(cli.verbose);
    cli_common::run(|| serve(cli), |_| false)
}

fn serve(cli: Cli) -> anyhow::Result<cli_common::Outcome> {
    // Block the stop signals before any thread starts, so every thread inherits the mask
    // and the main thread alone receives them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals
        .thread_block()
        .context("blocking SIGINT and SIGTERM")?;

    let mut config = if cli.demo {
        SimConfig::demo()
    } else {
        SimConfig::new()
    };
    config.listen = cli.listen;
    config.slave_listen = cli.slave_listen;
    config.tls = cli.tls;
    config.state_dir = cli.state;
    config.user = cli.user;
    config.vms.extend(cli.vms);
    let sim = Simulator::start(config).context("starting the simulated pool")?;
    let (user, password) = sim.credentials();
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "url={} user={user} password={password} slave={}",
        sim.url(),
        sim.slave_url()
    )?;
    if cli.tls {
        writeln!(stdout, "fingerprint={}", sim.fingerprint())?;
    }
    stdout.flush()?;
    drop(stdout);
    let signal = signals.wait().context("waiting for a stop signal")?;
    tracing::info!(?signal, "stopping");
    drop(sim);
    Ok(cli_common::Outcome::Success)
}

/// `NAME:SIZE[:DATA]`.
fn parse_vm(text: &str) -> Result<NewVm, String> {
    let mut parts = text.split(':');
    let (Some(name), Some(size)) = (parts.next(), parts.next()) else {
        return Err("expected NAME:SIZE[:DATA]".to_owned());
    };
    let size = parse_size(size)?;
    let contents = match parts.next() {
        Some(data) => DiskContents::Pattern {
            seed: size,
            data_bytes: parse_size(data)?.min(size),
        },
        None => DiskContents::Empty,
    };
    if parts.next().is_some() {
        return Err("expected NAME:SIZE[:DATA]".to_owned());
    }
    Ok(NewVm::new(name)
        .disk(NewDisk::new(format!("{name} disk"), size, contents))
        .vif(""))
}

/// `4G`, `512M`, `64K` or bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        other => return Err(format!("unknown size unit `{other}`")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{text}` is not a size"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn vm_specs() {
        let vm = super::parse_vm("big:4G:1G").unwrap();
        assert_eq!((vm.name.as_str(), vm.disks[0].size), ("big", 4 << 30));
        assert!(super::parse_vm("big").is_err());
        assert!(super::parse_vm("big:4X").is_err());
        assert_eq!(super::parse_size("512"), Ok(512));
    }
}
