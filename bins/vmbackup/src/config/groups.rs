//! The settings read as groups, once every line is in: which combinations are allowed,
//! and the defaults that depend on other settings.

use cli_common::SecretSource;
use lettre::message::Mailbox;
use retention::{CalendarSpan, KeepCount, Policy};

use super::parse::{MAIL_KEYS, Reader};
use super::values::{keep_count, positive, smtp_server};
use disk_image::compress::Compression;

use super::{DEFAULT_MAX_BACKUPS, JobKind, Overrides, RuleAction, TlsChoice};
use crate::error::Location;
use crate::mail::{MailOn, MailSettings};

impl Reader {
    /// Warns about `pre_clean=true` (file or command line).
    pub(super) fn pre_clean(&mut self, overrides: Overrides) {
        let in_file = self
            .flag("pre_clean")
            .filter(|(_, on)| *on)
            .map(|(at, _)| at);
        let on_command_line = overrides
            .pre_clean
            .filter(|on| *on)
            .map(|_| Location::CommandLine);
        if let Some(at) = on_command_line.or(in_file) {
            self.warn(
                at,
                "pre_clean=true ignored: old backups are removed only after the new backup is complete",
            );
        }
    }

    /// `backup_sr`, which every `backup-sr-export=` rule needs.
    pub(super) fn backup_sr(&mut self) -> Option<String> {
        let backup_sr = self.take("backup_sr", |v| Ok(v.to_owned())).map(|(_, v)| v);
        let first = self
            .rules
            .iter()
            .find(|r| r.action == RuleAction::Export(JobKind::BackupSrExport));
        if let (None, Some(rule)) = (&backup_sr, first) {
            let at = rule.at.clone();
            self.error(
                at,
                "backup-sr-export needs `backup_sr=` (the name or uuid of the SR the disks are copied to)",
            );
        }
        backup_sr
    }

    /// `compress` (the command line wins over the file) and `compression`, which exclude
    /// each other.
    pub(super) fn compression(&mut self, overrides: Overrides) -> (bool, Compression) {
        let in_file = self.flag("compress").map(|(_, on)| on);
        let compress = overrides.compress.or(in_file).unwrap_or(false);
        let compression = self.take("compression", |v| {
            v.parse::<Compression>()
                .map_err(|_| format!("`{v}` is not none, zstd or gzip"))
        });
        match compression {
            Some((at, kind)) if compress && kind != Compression::None => {
                let message = "compression= and compress=true both compress the same export (compress=true has XAPI gzip it on the host): choose one";
                self.error(at, message);
                (compress, Compression::None)
            }
            Some((_, kind)) => (compress, kind),
            None => (compress, Compression::None),
        }
    }

    pub(super) fn password(&mut self) -> Option<SecretSource> {
        let plain = self.path("password_file");
        let base64 = self.path("password_file_base64");
        match (plain, base64) {
            (Some((first, _)), Some((at, _))) => {
                let message = format!(
                    "password_file_base64 and password_file (on {first}) both give the password: choose one"
                );
                self.error(at, message);
                None
            }
            (Some((_, path)), None) => Some(SecretSource::File(path)),
            (None, Some((_, path))) => Some(SecretSource::Base64File(path)),
            (None, None) => None,
        }
    }

    pub(super) fn tls(&mut self) -> TlsChoice {
        let ca_file = self.path("tls_ca_file");
        let insecure = self.flag("tls_insecure").filter(|(_, on)| *on);
        let pins = std::mem::take(&mut self.fingerprints);
        let mut chosen: Vec<(Location, &str, TlsChoice)> = Vec::new();
        if let Some((at, path)) = ca_file {
            chosen.push((at, "tls_ca_file", TlsChoice::CaFile(path)));
        }
        if let Some((first, _)) = pins.first() {
            let pinned = TlsChoice::Pinned(pins.iter().map(|(_, pin)| pin.clone()).collect());
            chosen.push((first.clone(), "tls_fingerprint", pinned));
        }
        if let Some((at, _)) = insecure {
            chosen.push((at, "tls_insecure", TlsChoice::Insecure));
        }
        if let [(first, first_key, _), .., (at, key, _)] = chosen.as_slice() {
            let message = format!(
                "{key} and {first_key} (on {first}) conflict: choose one way to trust the host"
            );
            self.error(at.clone(), message);
            return TlsChoice::default();
        }
        chosen.pop().map(|(_, _, tls)| tls).unwrap_or_default()
    }

    pub(super) fn mail(&mut self) -> Option<MailSettings> {
        let from = self.take("mail_from", |v| {
            v.parse::<Mailbox>()
                .map_err(|e| format!("`{v}` is not an e-mail address ({e})"))
        });
        let server = self.take("smtp_server", smtp_server);
        let user = self.take("smtp_user", |v| Ok(v.to_owned()));
        let password = self.path("smtp_password_file");
        let ca_file = self.path("smtp_ca_file");
        let starttls = self.flag("smtp_starttls");
        let on = self.take("mail_on", |v| match v {
            "always" => Ok(MailOn::Always),
            "failure" => Ok(MailOn::Failure),
            _ => Err(format!("`{v}` is not always or failure")),
        });
        let to = std::mem::take(&mut self.mail_to);
        let Some((first_to, _)) = to.first().cloned() else {
            if let Some(at) = [
                from.as_ref().map(|(at, _)| at),
                server.as_ref().map(|(at, _)| at),
                user.as_ref().map(|(at, _)| at),
                password.as_ref().map(|(at, _)| at),
                ca_file.as_ref().map(|(at, _)| at),
                starttls.as_ref().map(|(at, _)| at),
                on.as_ref().map(|(at, _)| at),
            ]
            .into_iter()
            .flatten()
            .next()
            {
                let message = format!("e-mail settings ({}) without mail_to", MAIL_KEYS.join(", "));
                self.error(at.clone(), message);
            }
            return None;
        };
        let (Some((_, from)), Some((_, (host, port)))) = (from, server) else {
            self.error(first_to, "mail_to needs mail_from and smtp_server");
            return None;
        };
        let starttls = starttls.is_none_or(|(_, on)| on);
        let (user, password) = match (user, password) {
            (Some((at, user)), Some((_, path))) => {
                if !starttls {
                    self.warn(
                        at,
                        "smtp_starttls=false sends the SMTP password in clear text",
                    );
                }
                (Some(user), Some(SecretSource::File(path)))
            }
            (None, None) => (None, None),
            (Some((at, _)), None) | (None, Some((at, _))) => {
                self.error(at, "smtp_user and smtp_password_file go together");
                return None;
            }
        };
        Some(MailSettings {
            to: to.into_iter().map(|(_, mailbox)| mailbox).collect(),
            from,
            port: port.unwrap_or(if starttls { 587 } else { 25 }),
            server: host,
            starttls,
            user,
            password,
            ca_file: ca_file.map(|(_, path)| path),
            on: on.map(|(_, on)| on).unwrap_or_default(),
        })
    }

    pub(super) fn retention(&mut self) -> Policy {
        let max_backups = self.take("max_backups", positive);
        let mut policy = Policy::default();
        let mut other_rules = false;
        for (key, field) in [
            ("keep_hourly", &mut policy.keep_hourly),
            ("keep_daily", &mut policy.keep_daily),
            ("keep_weekly", &mut policy.keep_weekly),
            ("keep_monthly", &mut policy.keep_monthly),
            ("keep_yearly", &mut policy.keep_yearly),
        ] {
            other_rules |= self.scalars.contains_key(key);
            if let Some((_, count)) = self.take(key, keep_count) {
                *field = count;
            }
        }
        for (key, field) in [
            ("keep_within", &mut policy.keep_within),
            ("keep_within_hourly", &mut policy.keep_within_hourly),
            ("keep_within_daily", &mut policy.keep_within_daily),
            ("keep_within_weekly", &mut policy.keep_within_weekly),
            ("keep_within_monthly", &mut policy.keep_within_monthly),
            ("keep_within_yearly", &mut policy.keep_within_yearly),
        ] {
            other_rules |= self.scalars.contains_key(key);
            *field = self
                .take(key, |v| {
                    v.parse::<CalendarSpan>().map_err(|e| e.to_string())
                })
                .map(|(_, span)| span);
        }
        other_rules |= self.scalars.contains_key("max_age_days");
        policy.max_age_days = self.take("max_age_days", positive).map(|(_, days)| days);
        policy.keep_last = match max_backups {
            Some((_, n)) => KeepCount::Count(n.get()),
            None if other_rules => KeepCount::OFF,
            None => KeepCount::Count(DEFAULT_MAX_BACKUPS),
        };
        policy
    }
}
