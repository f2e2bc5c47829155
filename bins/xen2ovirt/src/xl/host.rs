//! The host a plain Xen guest lives on: this dom0 ([`XenHost::Local`]), or another one over
//! SSH ([`XenHost::Ssh`], `xenapi::dom0`: the host key checked before logging in, files read
//! through SFTP as streams, commands run on an exec channel). Either way the same four
//! things: read the configuration, size a disk, open a disk as a stream, run `xl`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use disk_image::xend::{self, XendConfig};
use xenapi::dom0::{CommandOutput, Dom0, Dom0Options, Limits, Login, shell_quote};

/// The largest configuration file read over SSH (as disk-image's `xend::read` allows).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Where the guest is.
pub enum XenHost {
    /// This machine is the dom0.
    Local,
    /// A dom0 over SSH, and how to reach it again.
    Ssh(Dom0, SshTarget),
}

/// How to connect to a dom0 over SSH (again, when a connection was lost).
#[derive(Debug, Clone)]
pub struct SshTarget {
    /// The host name or address.
    pub host: String,
    /// Port, user and host key check.
    pub options: Dom0Options,
    /// The private key to log in with.
    pub key: PathBuf,
}

impl SshTarget {
    /// Connects, the host key checked before logging in.
    pub fn connect(&self) -> Result<XenHost> {
        let dom0 =
            Dom0::connect(&self.host, &self.options, Login::Key(&self.key)).with_context(|| {
                format!(
                    "connecting to {}@{} port {}",
                    self.options.user, self.host, self.options.port
                )
            })?;
        Ok(XenHost::Ssh(dom0, self.clone()))
    }
}

impl XenHost {
    /// How paths on the host are shown: `/etc/xen/web.cfg` or `root@xen1:/etc/xen/web.cfg`.
    pub fn show(&self, path: &Path) -> String {
        match self {
            XenHost::Local => path.display().to_string(),
            XenHost::Ssh(dom0, _) => format!("{}:{}", dom0.authority(), path.display()),
        }
    }

    /// Reads and parses the guest configuration at `path`.
    pub fn read_config(&self, path: &Path) -> Result<XendConfig> {
        match self {
            XenHost::Local => Ok(xend::read(path)?),
            XenHost::Ssh(dom0, _) => {
                let shown = self.show(path);
                let mut file = dom0.open(path)?;
                let mut bytes = Vec::new();
                file.by_ref()
                    .take(MAX_CONFIG_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("reading {shown}"))?;
                if bytes.len() as u64 > MAX_CONFIG_BYTES {
                    bail!("{shown} is larger than {MAX_CONFIG_BYTES} bytes: not a configuration");
                }
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("{shown} is not UTF-8 text"))?;
                Ok(xend::parse(&text, Path::new(&shown))?)
            }
        }
    }

    /// The size of the disk at `path` (a regular file or a block device).
    pub fn disk_size(&self, path: &Path) -> Result<u64> {
        match self {
            XenHost::Local => {
                let metadata = std::fs::metadata(path)
                    .with_context(|| format!("looking at disk `{}`", path.display()))?;
                if metadata.is_file() {
                    Ok(metadata.len())
                } else {
                    // A block device: its length is where its end is.
                    let mut file = File::open(path)
                        .with_context(|| format!("opening disk `{}`", path.display()))?;
                    Ok(file
                        .seek(SeekFrom::End(0))
                        .with_context(|| format!("sizing disk `{}`", path.display()))?)
                }
            }
            XenHost::Ssh(dom0, _) => Ok(dom0.stat(path)?.size),
        }
    }

    /// Opens the disk at `path` for reading, front to back.
    pub fn open(&self, path: &Path) -> Result<Box<dyn Read + '_>> {
        Ok(match self {
            XenHost::Local => Box::new(
                File::open(path).with_context(|| format!("opening disk `{}`", path.display()))?,
            ),
            XenHost::Ssh(dom0, _) => Box::new(dom0.open(path)?),
        })
    }

    /// Runs `xl` with `args` within `limits`.
    pub fn xl(&self, args: &[&str], limits: Limits<'_>) -> Result<CommandOutput> {
        match self {
            XenHost::Local => run_local("xl", args, limits),
            XenHost::Ssh(dom0, _) => {
                let line = std::iter::once("xl")
                    .chain(args.iter().copied())
                    .map(shell_quote)
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(dom0.run(&line, limits)?)
            }
        }
    }

    /// A new connection to the same host (this machine stays this machine).
    pub fn reconnect(&self) -> Result<XenHost> {
        match self {
            XenHost::Local => Ok(XenHost::Local),
            XenHost::Ssh(_, target) => target.connect(),
        }
    }

    /// Whether the domain `name` exists on the host (running, paused or shutting down):
    /// `xl list NAME` exits 0 for a domain it knows.
    pub fn domain_exists(&self, name: &str, stop: &AtomicBool) -> Result<bool> {
        let limits = Limits {
            deadline: Duration::from_secs(60),
            stop: Some(stop),
        };
        let output = self.xl(&["list", name], limits)?;
        Ok(output.success())
    }
}

/// Runs `program` here, its output captured, killed when `limits` run out.
fn run_local(program: &str, args: &[&str], limits: Limits<'_>) -> Result<CommandOutput> {
    let shown = format!("`{program} {}`", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = thread::spawn(move || read_capped(&mut stdout));
    let err = thread::spawn(move || read_capped(&mut stderr));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let stopped = limits.stop.is_some_and(|s| s.load(Ordering::SeqCst));
        if stopped || started.elapsed() > limits.deadline {
            let _ = child.kill();
            let _ = child.wait();
            if stopped {
                bail!("{shown}: stopped on request");
            }
            bail!("{shown} did not end within {} s", limits.deadline.as_secs());
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(CommandOutput {
        status: status.code().unwrap_or(-1),
        stdout,
        stderr,
    })
}

/// What a stream holds, up to `xenapi::dom0::MAX_OUTPUT` bytes kept (the rest drained).
fn read_capped(stream: &mut impl Read) -> String {
    let mut kept = Vec::new();
    let _ = stream
        .by_ref()
        .take(xenapi::dom0::MAX_OUTPUT as u64)
        .read_to_end(&mut kept);
    let _ = std::io::copy(stream, &mut std::io::sink());
    String::from_utf8_lossy(&kept).into_owned()
}

/// The default private key: `~/.ssh/id_ed25519`, else `~/.ssh/id_rsa`.
pub fn default_key() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    ["id_ed25519", "id_rsa"]
        .into_iter()
        .map(|name| home.join(".ssh").join(name))
        .find(|path| path.is_file())
}
