//! Sending a plain-text e-mail (a run's report) over SMTP, with STARTTLS (rustls, the
//! system's roots or a CA file of the caller's) and AUTH PLAIN or LOGIN; the caller writes
//! the subject and the body.
//!
//! ```no_run
//! use backup_core::mail::{Mailer, SmtpAuth};
//!
//! let mailer = Mailer {
//!     from: "backup@example.org".parse()?,
//!     to: vec!["ops@example.org".parse()?],
//!     server: "mail.example.org".into(),
//!     port: 587,
//!     starttls: true,
//!     ca_file: None,
//!     auth: Some(SmtpAuth::new("backup", "secret read from a file")),
//! };
//! mailer.send("Success xs1 VmBackup.py", "VmBackup ended - Success - S:3 W:0 E:0\n")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// How long the SMTP client waits for the server at each step.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an e-mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The message could not be built (an address the headers refuse).
    #[error("building the message")]
    Build(#[source] lettre::error::Error),
    /// The CA file could not be read, or holds no certificate.
    #[error("reading the SMTP CA file `{}`", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// TLS could not be set up.
    #[error("setting up TLS")]
    Tls(#[source] lettre::transport::smtp::Error),
    /// The server refused the message, its certificate or the AUTH, or could not be reached.
    #[error("sending through `{server}`")]
    Send {
        /// `host:port`.
        server: String,
        /// What the SMTP client reported.
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

impl MailError {
    /// The cause alone (the SMTP client's or the file's error), for a caller that words the
    /// step itself.
    pub fn into_source(self) -> Box<dyn std::error::Error + Send + Sync> {
        match self {
            MailError::Build(source) => Box::new(source),
            MailError::CaFile { source, .. } => source,
            MailError::Tls(source) | MailError::Send { source, .. } => Box::new(source),
        }
    }
}

/// The SMTP AUTH user and password; `Debug` does not show the password.
#[derive(Clone)]
pub struct SmtpAuth {
    user: String,
    password: String,
}

impl SmtpAuth {
    /// AUTH as `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        SmtpAuth {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for SmtpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpAuth")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Mailer {
    /// Sender.
    pub from: Mailbox,
    /// Recipients.
    pub to: Vec<Mailbox>,
    /// SMTP server host name; also the name its certificate must carry.
    pub server: String,
    /// SMTP port (587 with STARTTLS, 25 without, usually).
    pub port: u16,
    /// Require STARTTLS.
    pub starttls: bool,
    /// Trust only the certificates of this PEM file instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH, if the server wants it.
    pub auth: Option<SmtpAuth>,
}

impl Mailer {
    /// Sends a plain-text message.
    pub fn send(&self, subject: &str, body: &str) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder.body(body.to_owned()).map_err(MailError::Build)?;
        let server = format!("{}:{}", self.server, self.port);
        let mut transport = SmtpTransport::builder_dangerous(&self.server)
            .port(self.port)
            .timeout(Some(SMTP_TIMEOUT));
        if self.starttls {
            transport = transport.tls(Tls::Required(self.tls_parameters()?));
        }
        if let Some(auth) = &self.auth {
            transport =
                transport.credentials(Credentials::new(auth.user.clone(), auth.password.clone()));
        }
        let response = transport
            .build()
            .send(&message)
            .map_err(|source| MailError::Send {
                server: server.clone(),
                source,
            })?;
        tracing::info!(server, code = %response.code(), "e-mail sent");
        Ok(())
    }

    fn tls_parameters(&self) -> Result<TlsParameters, MailError> {
        let mut builder = TlsParameters::builder(self.server.clone());
        if let Some(path) = &self.ca_file {
            let ca_error = |source: Box<dyn std::error::Error + Send + Sync>| MailError::CaFile {
                path: path.clone(),
                source,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.into()))?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| ca_error(e.into()))?;
            builder = builder
                .certificate_store(CertificateStore::None)
                .add_root_certificate(certificate);
        }
        builder.build_rustls().map_err(MailError::Tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows_in_debug() {
        let auth = SmtpAuth::new("backup", "Hunter2Secret");
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("backup") && !shown.contains("Hunter2Secret"),
            "{shown}"
        );
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let mailer = Mailer {
            from: "a@example.org".parse().unwrap(),
            to: vec!["b@example.org".parse().unwrap()],
            server: "127.0.0.1".into(),
            port: 1,
            starttls: true,
            ca_file: Some("/nonexistent/ca.pem".into()),
            auth: None,
        };
        let error = mailer.send("s", "b").unwrap_err();
        assert!(matches!(error, MailError::CaFile { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "reading the SMTP CA file `/nonexistent/ca.pem`"
        );
    }
}
