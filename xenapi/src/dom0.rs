//! Access to a host's dom0 over SSH and SFTP (feature `dom0`), for what the XAPI does not
//! offer: placing a PV guest's kernel in `/boot/guest/<uuid>/` (xva-build's
//! `--upload-kernel`), or reading the disks of a plain Xen host, which has no XAPI at all.
//!
//! - [`Dom0::connect`] opens the connection and checks the host's key *before* logging in:
//!   against a `known_hosts` file, a pinned SHA-256 fingerprint (as `ssh-keygen -lf` prints
//!   it), or not at all ([`HostKeyCheck::Insecure`], with a warning). The handshake offers
//!   host key algorithms in OpenSSH's order, so the key negotiated is the one `ssh`
//!   recorded in `known_hosts`. Login is by a private key file or a password.
//! - [`Dom0::upload`] copies local files to their places (`mkdir -p` first, never over an
//!   existing file, size checked after), and returns an [`Uploaded`] guard: dropped without
//!   [`Uploaded::keep`], it removes the files and the directories it created.
//! - [`Dom0::open`] reads a remote file as a stream ([`RemoteFile`] is a `Read`);
//!   [`Dom0::stat`] tells a regular file from a block device, with the size of either.
//! - [`Dom0::run`] runs a command over an exec channel: exit status, standard output and
//!   standard error captured, a deadline and a stop flag ([`Limits`]); [`shell_quote`]
//!   quotes its words.
//!
//! The SSH protocol is libssh2's (the `ssh2` crate, libssh2 built from its bundled source).
//! Every connect and every operation has a timeout ([`Dom0Options::timeout`]).

mod error;
mod exec;
mod host_key;
mod upload;

use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

pub use error::Dom0Error;
pub use exec::{CommandOutput, Limits, MAX_OUTPUT, shell_quote};
pub use host_key::{HostFingerprint, HostKeyCheck};
pub use upload::Uploaded;

/// The result of a dom0 operation.
pub type Result<T, E = Dom0Error> = std::result::Result<T, E>;

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dom0Options {
    /// The SSH port (22).
    pub port: u16,
    /// The user to log in as (`root`).
    pub user: String,
    /// How the host's key is checked.
    pub host_key: HostKeyCheck,
    /// How long connecting, and then any one SSH operation, may take (30 s).
    pub timeout: Duration,
}

impl Dom0Options {
    /// Port 22, user `root`, a 30-second timeout, and the host key checked as `host_key`
    /// says.
    pub fn new(host_key: HostKeyCheck) -> Self {
        Dom0Options {
            port: 22,
            user: "root".to_owned(),
            host_key,
            timeout: Duration::from_secs(30),
        }
    }
}

/// How to log in.
#[derive(Clone, Copy)]
pub enum Login<'a> {
    /// With this private key file (without passphrase).
    Key(&'a Path),
    /// With this password (the XAPI password of `root`, usually).
    Password(&'a str),
}

impl std::fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Key(path) => f.debug_tuple("Key").field(path).finish(),
            Login::Password(_) => f.write_str("Password(***)"),
        }
    }
}

/// A logged-in SSH connection to a dom0, with its SFTP channel.
pub struct Dom0 {
    // Declared before `session`: the SFTP channel closes before the connection.
    sftp: ssh2::Sftp,
    session: ssh2::Session,
    /// `user@host`, for messages.
    authority: String,
}

impl std::fmt::Debug for Dom0 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dom0({})", self.authority)
    }
}

impl Dom0 {
    /// Connects to `host`, checks its key as `options` say, logs in and starts SFTP.
    pub fn connect(host: &str, options: &Dom0Options, login: Login<'_>) -> Result<Dom0> {
        let port = options.port;
        let tcp = connect_tcp(host, port, options.timeout)?;
        let ssh = |action: String| move |source| Dom0Error::Ssh { action, source };
        let mut session = ssh2::Session::new().map_err(ssh("starting libssh2".to_owned()))?;
        session.set_timeout(options.timeout.as_millis().try_into().unwrap_or(u32::MAX));
        host_key::prefer_openssh_order(&session)?;
        session.set_tcp_stream(tcp);
        session
            .handshake()
            .map_err(ssh(format!("SSH handshake with {host} port {port}")))?;
        host_key::check(&session, &options.host_key, host, port)?;
        let user = &options.user;
        match login {
            Login::Key(key) => session
                .userauth_pubkey_file(user, None, key, None)
                .map_err(ssh(format!(
                    "logging in as {user} with the key `{}`",
                    key.display()
                )))?,
            Login::Password(password) => session
                .userauth_password(user, password)
                .map_err(ssh(format!("logging in as {user} with the password")))?,
        }
        if !session.authenticated() {
            return Err(Dom0Error::Refused(format!(
                "{host} did not accept the login of {user}"
            )));
        }
        let sftp = session
            .sftp()
            .map_err(ssh("starting the SFTP subsystem".to_owned()))?;
        Ok(Dom0 {
            sftp,
            session,
            authority: format!("{user}@{host}"),
        })
    }

    /// `user@host`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Copies each `(local, remote)` file to its place, creating the directories above it
    /// that are missing; a remote file that exists already is an error (never overwritten).
    /// What was created is removed again when the returned guard is dropped without
    /// [`Uploaded::keep`], also when a copy fails half-way.
    pub fn upload<L: AsRef<Path>, R: AsRef<Path>>(self, files: &[(L, R)]) -> Result<Uploaded> {
        let mut uploaded = Uploaded::new(self);
        for (local, remote) in files {
            uploaded.copy(local.as_ref(), remote.as_ref())?;
        }
        Ok(uploaded)
    }

    /// Opens the remote file at `path` for reading, as a stream.
    pub fn open(&self, path: &Path) -> Result<RemoteFile> {
        let file = self.sftp.open(path).map_err(|source| Dom0Error::Ssh {
            action: format!("opening {}:{}", self.authority, path.display()),
            source,
        })?;
        Ok(RemoteFile {
            file,
            name: format!("{}:{}", self.authority, path.display()),
        })
    }

    /// What `path` is (links followed) and its size: a regular file's from SFTP, a block
    /// device's from `blockdev --getsize64`; anything else is refused.
    pub fn stat(&self, path: &Path) -> Result<RemoteStat> {
        const KIND: u32 = 0o170_000;
        const REGULAR: u32 = 0o100_000;
        const BLOCK: u32 = 0o060_000;
        let name = format!("{}:{}", self.authority, path.display());
        let stat = self.sftp.stat(path).map_err(|source| Dom0Error::Ssh {
            action: format!("looking at {name}"),
            source,
        })?;
        match stat.perm.map(|p| p & KIND) {
            Some(REGULAR) => Ok(RemoteStat {
                block_device: false,
                size: stat.size.ok_or_else(|| {
                    Dom0Error::Refused(format!("{name}: the host did not report its size"))
                })?,
            }),
            Some(BLOCK) => {
                let command = format!(
                    "blockdev --getsize64 {}",
                    shell_quote(&path.to_string_lossy())
                );
                let output = self.run(
                    &command,
                    Limits {
                        deadline: Duration::from_secs(30),
                        stop: None,
                    },
                )?;
                let size = output
                    .stdout
                    .trim()
                    .parse()
                    .ok()
                    .filter(|_| output.success());
                let size = size.ok_or_else(|| {
                    Dom0Error::Refused(format!(
                        "{name}: `{command}` exited with {}: {}{}",
                        output.status,
                        output.stdout.trim(),
                        output.stderr.trim()
                    ))
                })?;
                Ok(RemoteStat {
                    block_device: true,
                    size,
                })
            }
            _ => Err(Dom0Error::Refused(format!(
                "{name} is neither a regular file nor a block device"
            ))),
        }
    }

    /// The SFTP channel, for the upload guard.
    fn sftp(&self) -> &ssh2::Sftp {
        &self.sftp
    }
}

impl Drop for Dom0 {
    fn drop(&mut self) {
        if let Err(error) = self.session.disconnect(None, "done", None) {
            tracing::debug!(%error, host = %self.authority, "closing the SSH connection");
        }
    }
}

/// What [`Dom0::stat`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteStat {
    /// A block device (else a regular file).
    pub block_device: bool,
    /// Its size in bytes.
    pub size: u64,
}

/// A remote file open for reading.
pub struct RemoteFile {
    file: ssh2::File,
    /// `user@host:path`, for messages.
    name: String,
}

impl RemoteFile {
    /// `user@host:path`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's size in bytes, as the host reports it.
    pub fn size(&mut self) -> Result<u64> {
        let stat = self.file.stat().map_err(|source| Dom0Error::Ssh {
            action: format!("checking {}", self.name),
            source,
        })?;
        stat.size.ok_or_else(|| {
            Dom0Error::Refused(format!("{} did not report the file's size", self.name))
        })
    }
}

impl std::fmt::Debug for RemoteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteFile({})", self.name)
    }
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

/// The first address of `host` that accepts a TCP connection on `port`.
fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let io = |action: String| move |source| Dom0Error::Io { action, source };
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(io(format!("resolving {host}")))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(io(format!("connecting to {host} port {port}"))(last))
}
