//! `xapi-sim`: serve a simulated XenServer / XCP-ng pool until stopped.

mod switches;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::stat::Mode;
use xapi_sim::{DiskContents, NewDisk, NewVm, SimConfig, SimHandle, Simulator};

use crate::switches::Switch;

const EXAMPLES: &str = "\
The first line of standard output is
  url=<URL> user=<USER> password=<PASSWORD> slave=<SLAVE URL>
and, with --tls, the second is fingerprint=<SHA-256 of the certificate>.
Both ports accept plain HTTP and TLS; --tls only makes the printed URLs https.
The simulator serves until SIGINT or SIGTERM; SIGUSR1 prints the audit (what clients
created and left behind) as one JSON line: {\"clean\":…,\"audit\":{\"snapshots\":[…],…}}.
The fault switches arm the library's knobs once at start: one-shot faults fire on the next matching call or transfer.
Files written under --state are private to the user (0700 folder, 0600 files).

Examples:
  xapi-sim --listen 127.0.0.1:0 --demo
  xapi-sim --listen 127.0.0.1:8443 --tls --demo --state /var/tmp/pool
  exec 3< <(xapi-sim --listen 127.0.0.1:0 --demo); read -r line <&3; echo \"$line\"   (bash: the first line; the pool serves on)
  xapi-sim --vm big:4G:1G --vm small:64M      (a 4 GiB disk holding 1 GiB of data, a blank one)
  xapi-sim --demo --fail-call VM.snapshot:2=SR_FULL --cut /export:1048576 --audit
  kill -USR1 <PID>                             (prints the audit on standard output, one JSON line)";

/// Serve a simulated XenServer / XCP-ng pool (XAPI over HTTP and HTTPS) until SIGINT or
/// SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "xapi-sim", version, after_help = EXAMPLES)]
struct Cli {
    /// Address of the pool master's listener (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the slave host's listener (port 0: the master's port if free there, so that
    /// its `HOST_IS_SLAVE` names the master by address alone, as XAPI does).
    #[arg(long, default_value = "127.0.0.2:0")]
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
    /// Make the Nth call (default: the next) of METHOD (an RPC method without `Async.`, or an
    /// endpoint path) fail with XAPI's error CODE and parameters (repeatable).
    #[arg(long = "fail-call", value_name = "METHOD[:N]=CODE[,PARAM...]", value_parser = switches::fail_call)]
    fail_calls: Vec<Switch>,
    /// Cut the next transfer on ENDPOINT (`/export`, `/import`, …) after BYTES body bytes.
    #[arg(long = "cut", value_name = "ENDPOINT:BYTES", value_parser = switches::cut)]
    cuts: Vec<Switch>,
    /// Pause the next transfer on ENDPOINT once, at body byte BYTE, for SECONDS.
    #[arg(long = "stall", value_name = "ENDPOINT:BYTE:SECONDS", value_parser = switches::stall)]
    stalls: Vec<Switch>,
    /// Flip a byte in chunk CHUNK of the DISK-th disk (archive order) of the next `/export`.
    #[arg(long = "corrupt-chunk", value_name = "DISK:CHUNK", value_parser = switches::corrupt_chunk)]
    corrupt_chunks: Vec<Switch>,
    /// Answer the next transfer on ENDPOINT `200 OK` with a whole `HTTP/1.1 500` response as
    /// its body (XAPI's bug).
    #[arg(long = "error-in-body", value_name = "ENDPOINT", value_parser = switches::error_in_body)]
    errors_in_body: Vec<Switch>,
    /// Answer transfers on ENDPOINT with a 302 to the slave host, which serves them.
    #[arg(long = "redirect", value_name = "ENDPOINT", value_parser = switches::redirect)]
    redirects: Vec<Switch>,
    /// Make `/export` send a 0-byte keep-alive chunk after every N chunks, as XAPI does.
    #[arg(long, value_name = "N", value_parser = switches::keepalive_chunks)]
    keepalive_chunks: Option<Switch>,
    /// Delay the work of every `Async.*` call by SECONDS (fractions allowed).
    #[arg(long, value_name = "SECONDS", value_parser = switches::async_delay)]
    async_delay: Option<Switch>,
    /// At stop, print the audit on standard output and exit 1 unless it is clean.
    #[arg(long)]
    audit: bool,
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
    // Block the signals before any thread starts, so every thread inherits the mask and the
    // main thread alone receives them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGUSR1);
    signals
        .thread_block()
        .context("blocking SIGINT, SIGTERM and SIGUSR1")?;
    // The TLS key, the password (in pool.json) and the disks are private to the user.
    nix::sys::stat::umask(Mode::from_bits_truncate(0o077));

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
    let switches = [
        &cli.fail_calls,
        &cli.cuts,
        &cli.stalls,
        &cli.corrupt_chunks,
        &cli.errors_in_body,
        &cli.redirects,
    ];
    let modes = [&cli.keepalive_chunks, &cli.async_delay];
    for switch in switches
        .into_iter()
        .flatten()
        .chain(modes.into_iter().flatten())
    {
        switch.arm(sim.faults());
    }
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
    loop {
        let signal = signals.wait().context("waiting for a signal")?;
        if signal == Signal::SIGUSR1 {
            print_audit(&sim);
            continue;
        }
        tracing::info!(?signal, "stopping");
        break;
    }
    let outcome = if cli.audit {
        if print_audit(&sim) {
            cli_common::Outcome::Success
        } else {
            cli_common::Outcome::PartialFailure
        }
    } else {
        cli_common::Outcome::Success
    };
    drop(sim);
    Ok(outcome)
}

/// Prints the audit on standard output as one JSON line (`{"clean": true, "snapshots": [],
/// …}`); returns whether it is clean. A standard output nobody reads any more is no reason
/// to stop serving: a warning.
fn print_audit(sim: &SimHandle) -> bool {
    let audit = sim.audit();
    let clean = audit.is_clean();
    let line = serde_json::json!({ "clean": clean, "audit": audit });
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "could not print the audit on standard output");
    }
    clean
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
