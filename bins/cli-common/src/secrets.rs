//! Passwords: read from a file (plain text, or NAUbackup's base64 password file), an
//! environment variable, or a prompt on the terminal with echo off — never from the command
//! line, and never printed: a [`Secret`] shows as `***` in `{}` and `{:?}` alike.
//!
//! A password file that group or others may read is still used, with a `tracing` warning
//! saying how to fix it (`chmod 600`). A password file must be a regular file of at most
//! [`SECRET_LIMIT`](crate::files::SECRET_LIMIT) bytes (64 KiB).

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A password. Its `Display` and `Debug` print `***`; [`Secret::expose`] is the only way to
/// the text, so every use of it is visible in the code.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The password itself, for the one call that needs it (a login, an SMTP AUTH).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file holding the password as plain text; trailing line breaks are removed.
    File(PathBuf),
    /// A file holding the password in base64 (what NAUbackup's `create-password-file=`
    /// writes); white space around the base64 text is ignored.
    Base64File(PathBuf),
    /// An environment variable holding the password.
    Env(String),
    /// A prompt on the controlling terminal (`/dev/tty`), with echo off; the text is the
    /// prompt shown.
    Prompt(String),
}

impl SecretSource {
    /// Reads the password.
    pub fn read(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::File(path) => read_password_file(path),
            SecretSource::Base64File(path) => read_base64_password_file(path),
            SecretSource::Env(variable) => read_env(variable),
            SecretSource::Prompt(prompt) => prompt_password(prompt),
        }
    }
}

/// Why a password could not be obtained. Messages name the file or variable, never the
/// password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The password file cannot be read.
    #[error("cannot read the password file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The password (file content, decoded base64 or variable) is not UTF-8 text.
    #[error("{what} is not UTF-8 text")]
    NotText {
        /// For example "the password file `/root/pw`".
        what: String,
    },
    /// A base64 password file whose content is not base64.
    #[error("the password file `{}` is not base64 (as NAUbackup's create-password-file writes it)", path.display())]
    NotBase64 {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: base64::DecodeError,
    },
    /// The password is empty.
    #[error("{what} holds an empty password")]
    Empty {
        /// For example "the environment variable `VMBACKUP_PASSWORD`".
        what: String,
    },
    /// The environment variable is not set.
    #[error("the environment variable `{variable}` is not set")]
    EnvMissing {
        /// Its name.
        variable: String,
    },
    /// There is no terminal to ask on (cron, systemd), or reading from it failed.
    #[error(
        "cannot prompt for the password on the terminal (none under cron or systemd: use a password file or an environment variable)"
    )]
    Prompt {
        /// The error opening or reading `/dev/tty`.
        #[source]
        source: io::Error,
    },
}

/// Reads a plain-text password file: the whole content, trailing `\n` and `\r` removed.
fn read_password_file(path: &Path) -> Result<Secret, SecretError> {
    let bytes = read_checked(path)?;
    let what = || format!("the password file `{}`", path.display());
    let text = String::from_utf8(bytes).map_err(|_| SecretError::NotText { what: what() })?;
    non_empty(text.trim_end_matches(['\n', '\r']).to_owned(), what)
}

/// Reads NAUbackup's password file: base64 of the password (padding optional, white space
/// around it ignored).
fn read_base64_password_file(path: &Path) -> Result<Secret, SecretError> {
    let bytes = read_checked(path)?;
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let decoded = engine
        .decode(bytes.trim_ascii())
        .map_err(|source| SecretError::NotBase64 {
            path: path.to_owned(),
            source,
        })?;
    let what = || format!("the password file `{}`", path.display());
    let text = String::from_utf8(decoded).map_err(|_| SecretError::NotText { what: what() })?;
    non_empty(text, what)
}

/// Reads the password from an environment variable (used as is, nothing trimmed).
fn read_env(variable: &str) -> Result<Secret, SecretError> {
    let what = || format!("the environment variable `{variable}`");
    match std::env::var(variable) {
        Ok(text) => non_empty(text, what),
        Err(std::env::VarError::NotPresent) => Err(SecretError::EnvMissing {
            variable: variable.to_owned(),
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotText { what: what() }),
    }
}

/// Asks for the password on the controlling terminal, echo off, and returns the line typed
/// (without its line break).
fn prompt_password(prompt: &str) -> Result<Secret, SecretError> {
    let text =
        rpassword::prompt_password(prompt).map_err(|source| SecretError::Prompt { source })?;
    non_empty(text, || "the terminal".to_owned())
}

/// Reads a password file, warning when group or others have any access to it. The file is
/// opened once: the mode checked is that of the file read.
fn read_checked(path: &Path) -> Result<Vec<u8>, SecretError> {
    let read_error = |source| SecretError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file =
        crate::files::open_limited(path, crate::files::SECRET_LIMIT).map_err(read_error)?;
    let mode = file.metadata().map_err(read_error)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{:03o}", mode & 0o777),
            "the password file is accessible to group or others: `chmod 600` it"
        );
    }
    crate::files::read_limited(&mut file, crate::files::SECRET_LIMIT).map_err(read_error)
}

fn non_empty(text: String, what: impl FnOnce() -> String) -> Result<Secret, SecretError> {
    if text.is_empty() {
        Err(SecretError::Empty { what: what() })
    } else {
        Ok(Secret(text))
    }
}

#[cfg(test)]
mod tests;
