//! A harness for the REAL `ovirt-imageio` daemon (`ovirt-imageio` 2.5.1 from the Python index, in the venv that
//! `scripts/lib/install-ovirt-venv` makes): started as a plain process on `127.0.0.1`, port 0,
//! with a run directory of its own, and stopped (with any [`NbdExport`]) when dropped.
//!
//! It plays vdsm's part for the simulated engine, and any test may use it directly: install a
//! [`Ticket`] for a raw file (`file://`, the file backend) or for a `qemu-nbd` export
//! ([`NbdExport`]: qcow2, real extents, dirty bitmaps), then talk to
//! [`Imageio::image_url`] with an imageio client.
//!
//! The daemon runs with `local.enable = false` (no abstract unix socket, so daemons run in
//! parallel and the Python client always goes through HTTP), `drop_privileges = false` and
//! `systemd_enable = false`; TLS is optional ([`TlsFiles`]). Its port is read from its log.
//!
//! ```no_run
//! use ovirt_sim::imageio::{Imageio, ImageioOptions, Ticket, TicketOp, file_url};
//!
//! let daemon = Imageio::start(&ImageioOptions::default())?;
//! let disk = std::path::Path::new("/var/tmp/disk.raw");
//! daemon.add_ticket(&Ticket::new("t1", 1 << 20, file_url(disk), &[TicketOp::Write]))?;
//! println!("upload to {}", daemon.image_url("t1"));
//! daemon.remove_ticket("t1")?;
//! # Ok::<(), ovirt_sim::imageio::ImageioError>(())
//! ```

mod control;
mod nbd;
mod ticket;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use nbd::{NbdExport, NbdFormat, NbdOptions};
pub use ticket::{Ticket, TicketOp, TicketStatus, file_url};

/// The command that installs the venv, named in every "missing" error.
pub const INSTALL_VENV: &str = "scripts/lib/install-ovirt-venv";

/// How long the daemon may take to become ready (it takes about 0.5 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the stopping daemon gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The log line that carries the data port.
const LISTENING: &str = "remote.service listening on ('127.0.0.1', ";
/// The log line that says the daemon serves.
const READY: &str = "Ready for requests";

/// What went wrong with the daemon, qemu-nbd or a ticket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageioError {
    /// The oVirt Python venv (or a tool) is not installed.
    #[error("{tool} is missing ({detail}): install it with `{install}`")]
    Missing {
        /// What is missing.
        tool: String,
        /// Why it was judged missing.
        detail: String,
        /// The command that installs it.
        install: String,
    },
    /// A local file operation failed.
    #[error("{action}")]
    Io {
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The daemon exited or did not become ready.
    #[error("the ovirt-imageio daemon did not start: {detail}\n--- its log ---\n{log}")]
    Start {
        /// What was seen.
        detail: String,
        /// The end of the daemon's log.
        log: String,
    },
    /// A control request failed or was refused.
    #[error("imageio control request {request} failed: {detail}")]
    Control {
        /// The request, as `METHOD /path`.
        request: String,
        /// The status and body, or the transport error.
        detail: String,
    },
    /// qemu-nbd did not export an image.
    #[error("qemu-nbd for {}: {detail}", image.display())]
    Nbd {
        /// The image.
        image: PathBuf,
        /// What happened.
        detail: String,
    },
}

impl ImageioError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> ImageioError {
        ImageioError::Io {
            action: action.into(),
            source,
        }
    }
}

/// The PEM files of the daemon's TLS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM).
    pub key_file: PathBuf,
    /// The CA that signed it (PEM), which clients trust.
    pub ca_file: PathBuf,
}

impl TlsFiles {
    /// A new test CA and a certificate it signs for `127.0.0.1` and `localhost`, written as
    /// `ca.pem`, `host.pem` and `host.key` in `dir` (for a daemon of its own; the simulator
    /// signs the engine's and the daemon's certificates with one CA).
    pub fn generate(dir: &Path) -> Result<TlsFiles, ImageioError> {
        let tls = |e: sim_http::HttpError| ImageioError::Io {
            action: format!("making test certificates in {}", dir.display()),
            source: std::io::Error::other(e),
        };
        let ca = sim_http::tls::TestCa::new("ovirt-sim imageio CA").map_err(tls)?;
        let host = ca
            .issue(&["127.0.0.1", "localhost"], "imageio")
            .map_err(tls)?;
        let files = TlsFiles {
            cert_file: dir.join("host.pem"),
            key_file: dir.join("host.key"),
            ca_file: dir.join("ca.pem"),
        };
        host.write_pem(&files.cert_file, &files.key_file)
            .map_err(tls)?;
        fs::write(&files.ca_file, ca.pem())
            .map_err(|e| ImageioError::io(format!("writing {}", files.ca_file.display()), e))?;
        Ok(files)
    }
}

/// How to start the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageioOptions {
    /// Serve HTTPS with these files (plain HTTP when `None`).
    pub tls: Option<TlsFiles>,
    /// Log at DEBUG (every READ / WRITE / ZERO with its offset and size).
    pub debug: bool,
    /// The venv holding the daemon; default [`venv_dir`].
    pub venv: Option<PathBuf>,
}

/// The oVirt Python venv: `$VMTOOLKIT_OVIRT_VENV`, else `~/.cache/vmtoolkit/ovirt-venv`.
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VMTOOLKIT_OVIRT_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/vmtoolkit/ovirt-venv")
}

/// A program of the venv (`ovirt-imageio`, `ovirt-img`, `python`), or a [`ImageioError::Missing`]
/// naming the install command.
pub fn venv_program(venv: &Path, name: &str) -> Result<PathBuf, ImageioError> {
    let program = venv.join("bin").join(name);
    if program.is_file() {
        Ok(program)
    } else {
        Err(ImageioError::Missing {
            tool: format!("the oVirt Python venv ({name})"),
            detail: format!("no {}", program.display()),
            install: INSTALL_VENV.to_owned(),
        })
    }
}

/// A running daemon, stopped (SIGTERM, then SIGKILL) and its run directory removed on drop.
#[derive(Debug)]
pub struct Imageio {
    child: Child,
    port: u16,
    tls: bool,
    ca_file: Option<PathBuf>,
    socket: PathBuf,
    log: PathBuf,
    dir: TempDir,
}

impl Imageio {
    /// Starts a daemon on `127.0.0.1`, port 0, and waits until it serves.
    pub fn start(options: &ImageioOptions) -> Result<Imageio, ImageioError> {
        let venv = options.venv.clone().unwrap_or_else(venv_dir);
        let program = venv_program(&venv, "ovirt-imageio")?;
        let dir = tempfile::Builder::new()
            .prefix("ovirt-sim-imageio-")
            .tempdir()
            .map_err(|e| ImageioError::io("creating the daemon's directory", e))?;
        let run = dir.path().join("run");
        let conf = dir.path().join("conf.d");
        for path in [&run, &conf] {
            fs::create_dir_all(path)
                .map_err(|e| ImageioError::io(format!("creating {}", path.display()), e))?;
        }
        let socket = run.join("sock");
        let log = run.join("daemon.log");
        let config = config_text(options, &run, &socket, &log);
        let config_file = conf.join("50-ovirt-sim.conf");
        fs::write(&config_file, config)
            .map_err(|e| ImageioError::io(format!("writing {}", config_file.display()), e))?;
        let output = run.join("stderr.log");
        let stderr = fs::File::create(&output)
            .map_err(|e| ImageioError::io(format!("creating {}", output.display()), e))?;
        let child = Command::new(&program)
            .arg("-c")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| ImageioError::Missing {
                tool: "the ovirt-imageio daemon".to_owned(),
                detail: format!("running {}: {e}", program.display()),
                install: INSTALL_VENV.to_owned(),
            })?;
        let mut daemon = Imageio {
            child,
            port: 0,
            tls: options.tls.is_some(),
            ca_file: options.tls.as_ref().map(|tls| tls.ca_file.clone()),
            socket,
            log,
            dir,
        };
        daemon.port = daemon.wait_ready(&output)?;
        tracing::debug!(
            port = daemon.port,
            pid = daemon.pid(),
            "ovirt-imageio started"
        );
        Ok(daemon)
    }

    fn wait_ready(&mut self, stderr: &Path) -> Result<u16, ImageioError> {
        let started = Instant::now();
        loop {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            let port = text.lines().find_map(|line| {
                let rest = &line[line.find(LISTENING)? + LISTENING.len()..];
                rest[..rest.find(')')?].trim().parse::<u16>().ok()
            });
            if let Some(port) = port
                && text.contains(READY)
            {
                return Ok(port);
            }
            let failure = match self.child.try_wait() {
                Ok(Some(status)) => Some(format!("it exited with {status}")),
                _ if started.elapsed() > START_TIMEOUT => {
                    Some(format!("not ready after {START_TIMEOUT:?}"))
                }
                _ => None,
            };
            if let Some(detail) = failure {
                let mut log = tail(&text);
                let _ = write!(
                    log,
                    "\n--- stderr ---\n{}",
                    tail(&fs::read_to_string(stderr).unwrap_or_default())
                );
                return Err(ImageioError::Start { detail, log });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The data port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http(s)://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The transfer URL of a ticket: `<base>/images/<ticket>`.
    pub fn image_url(&self, ticket: &str) -> String {
        format!("{}/images/{ticket}", self.base_url())
    }

    /// The CA file clients trust, when TLS is on.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The control socket (plain HTTP).
    pub fn control_socket(&self) -> &Path {
        &self.socket
    }

    /// The daemon's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's run directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Installs (or replaces) a ticket.
    pub fn add_ticket(&self, ticket: &Ticket) -> Result<(), ImageioError> {
        let body = serde_json::to_vec(ticket).expect("a ticket serializes");
        self.control_expect("PUT", &ticket.uuid, &body, &[200])?;
        tracing::debug!(ticket = %ticket.uuid, url = %ticket.url, "ticket added");
        Ok(())
    }

    /// Removes a ticket; removing an absent one succeeds (the daemon's DELETE is idempotent).
    pub fn remove_ticket(&self, id: &str) -> Result<(), ImageioError> {
        self.control_expect("DELETE", id, &[], &[200, 204])?;
        tracing::debug!(ticket = %id, "ticket removed");
        Ok(())
    }

    /// Sets a ticket's remaining lifetime to `timeout` seconds (0 expires it now).
    pub fn extend_ticket(&self, id: &str, timeout: u64) -> Result<(), ImageioError> {
        let body = serde_json::json!({ "timeout": timeout }).to_string();
        self.control_expect("PATCH", id, body.as_bytes(), &[200])
    }

    /// The daemon's view of a ticket, `None` if it has none by that id.
    pub fn ticket(&self, id: &str) -> Result<Option<TicketStatus>, ImageioError> {
        let path = format!("/tickets/{id}");
        let reply = control::request(&self.socket, "GET", &path, &[])?;
        match reply.status {
            200 => {
                serde_json::from_slice(&reply.body)
                    .map(Some)
                    .map_err(|e| ImageioError::Control {
                        request: format!("GET {path}"),
                        detail: format!("bad JSON: {e}"),
                    })
            }
            404 => Ok(None),
            status => Err(refused("GET", &path, status, &reply.body)),
        }
    }

    fn control_expect(
        &self,
        method: &str,
        id: &str,
        body: &[u8],
        ok: &[u16],
    ) -> Result<(), ImageioError> {
        let path = format!("/tickets/{id}");
        let reply = control::request(&self.socket, method, &path, body)?;
        if ok.contains(&reply.status) {
            Ok(())
        } else {
            Err(refused(method, &path, reply.status, &reply.body))
        }
    }
}

impl Drop for Imageio {
    fn drop(&mut self) {
        stop_child(&mut self.child, STOP_GRACE);
    }
}

fn refused(method: &str, path: &str, status: u16, body: &[u8]) -> ImageioError {
    ImageioError::Control {
        request: format!("{method} {path}"),
        detail: format!("HTTP {status}: {}", String::from_utf8_lossy(body).trim()),
    }
}

/// The daemon's configuration (INI; unknown keys would be ignored silently, so every key here
/// is one of `ovirt_imageio/_internal/config.py`).
fn config_text(options: &ImageioOptions, run: &Path, socket: &Path, log: &Path) -> String {
    let tls = match &options.tls {
        Some(tls) => format!(
            "enable = true\nkey_file = {}\ncert_file = {}\nca_file = {}\n",
            tls.key_file.display(),
            tls.cert_file.display(),
            tls.ca_file.display()
        ),
        None => "enable = false\n".to_owned(),
    };
    let level = if options.debug { "DEBUG" } else { "INFO" };
    format!(
        "[daemon]\nrun_dir = {run}\ndrop_privileges = false\nsystemd_enable = false\n\
         poll_interval = 0.2\n\n[tls]\n{tls}\n[remote]\nhost = 127.0.0.1\nport = 0\n\n\
         [local]\nenable = false\n\n[control]\ntransport = unix\nsocket = {socket}\n\n\
         [handler_logfile]\nargs = (\"{log}\",)\nkwargs = {{}}\n\n[logger_root]\nlevel = {level}\n",
        run = run.display(),
        socket = socket.display(),
        log = log.display(),
    )
}

/// The last lines of a log, for error messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Stops a child: SIGTERM, up to `grace`, then SIGKILL; always reaped.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let started = Instant::now();
    while started.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}
