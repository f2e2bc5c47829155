use std::num::NonZeroU32;

use super::*;
use crate::mail::MailOn;

fn parse(text: &str) -> Result<Config> {
    Config::parse(
        text,
        Path::new("test.cfg"),
        Path::new("/etc/vmbackup"),
        Overrides::default(),
    )
}

/// The configuration's errors as `(line, message)`.
fn errors(text: &str) -> Vec<(usize, String)> {
    match parse(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(VmBackupError::Config { issues }) => issues
            .into_iter()
            .map(|issue| match issue.at {
                Location::Line { line, .. } => (line, issue.message),
                Location::CommandLine => (0, issue.message),
            })
            .collect(),
        Err(other) => panic!("{other}"),
    }
}

/// The rules as `(key, selector, keep)`.
fn rules(config: &Config) -> Vec<(String, String, Option<u32>)> {
    config
        .rules
        .iter()
        .map(|rule| {
            let key = match rule.action {
                RuleAction::Export(kind) => kind.as_str(),
                RuleAction::Exclude => "exclude",
            };
            (
                key.to_owned(),
                rule.selector.to_string(),
                rule.keep.map(NonZeroU32::get),
            )
        })
        .collect()
}

fn rule(key: &str, selector: &str, keep: Option<u32>) -> (String, String, Option<u32>) {
    (key.to_owned(), selector.to_owned(), keep)
}

#[test]
fn reads_the_readme_example_config() {
    // `VmBackup.py config`, verbatim (trailing and leading spaces included).
    let text = "\
# Example config file for VmBackup.py

#### high level VmBackup settings ################
# Take Xen Pool DB backup: 0=No, 1=Yes (script default to 0=No)
pool_db_backup=0

# How many backups to keep for each vm (script default to 4)
max_backups=3

#Backup Directory path (script default /snapshots/BACKUPS)
backup_dir=/path/to/backupspace

#Log file Directory path
status_log=/path/to/backupspace/logs/status.log

# vdi_export_format either raw or vhd (script default to raw)
vdi_export_format=raw

#### ALL excludes must currently be defined BEFORE any VM selections ####
exclude=PROD-WinDomainController
exclude=DEV-DestructiveTest 
exclude=TEMP-.*

# vm-export VM name-label of vm to backup. One per line - notice :max_backups override.
vm-export=my-vm-name
vm-export=my-second-vm
vm-export=my-third-vm:3

# special vdi-export - only backs up first disk. See README Documenation!
vdi-export=my-vm-name

vm-export=PROD.*
vm-export=DEV.*:2
# metadata-export using the same regex principle than vm-export
 \tmetadata-export=WEB.*
";
    let config = parse(text).unwrap();
    assert!(!config.pool_db_backup);
    assert_eq!(config.retention.keep_last, KeepCount::Count(3));
    assert_eq!(config.backup_dir, Path::new("/path/to/backupspace"));
    assert_eq!(
        config.status_log,
        Path::new("/path/to/backupspace/logs/status.log")
    );
    assert_eq!(config.vdi_export_format, ImageFormat::Raw);
    assert_eq!(
        rules(&config),
        [
            rule("exclude", "PROD-WinDomainController", None),
            rule("exclude", "DEV-DestructiveTest", None),
            rule("exclude", "TEMP-.*", None),
            rule("vm-export", "my-vm-name", None),
            rule("vm-export", "my-second-vm", None),
            rule("vm-export", "my-third-vm", Some(3)),
            rule("vdi-export", "my-vm-name", None),
            rule("vm-export", "PROD.*", None),
            rule("vm-export", "DEV.*", Some(2)),
            rule("metadata-export", "WEB.*", None),
        ]
    );
    assert!(matches!(config.rules[2].selector, Selector::Pattern(_)));
    assert!(matches!(config.rules[1].selector, Selector::Name(_)));
    assert_eq!(
        config.rules[9].at,
        Location::Line {
            file: "test.cfg".into(),
            line: 35
        }
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn reads_the_readme_regex_examples() {
    let text = r"
exclude=DEV-phishing-test
exclude=PRD-PRINTER1
exclude=PRD-PRINT$
exclude=PRD-a.*
exclude=DEV-V.*TEMP$
vdi-export=DEV-web3
vdi-export=DEV-web3:7
vdi-export=DEV-.*(TEST|test).*
vdi-export=DEV-.*[Tt]est.*
vm-export=.*SAVE$:5
vm-export=PRD-.*print[4-5]$:5
vm-export=PRD-.*print[6-8]$:10
vm-export=PRD-.*print[\d{1,}]$:8
";
    let config = parse(text).unwrap();
    let keeps: Vec<Option<u32>> = rules(&config).into_iter().map(|r| r.2).collect();
    assert_eq!(
        keeps,
        [
            None,
            None,
            None,
            None,
            None,
            None,
            Some(7),
            None,
            None,
            Some(5),
            Some(5),
            Some(10),
            Some(8)
        ]
    );
    // The README's broken example is reported with its line.
    let errors = errors("max_backups=2\nvm-export=PRD-[aA.*\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 2);
    assert!(
        errors[0].1.contains("unterminated character set"),
        "{}",
        errors[0].1
    );
}

#[test]
fn defaults_are_naubackups() {
    let config = parse("# nothing but a comment\n\n").unwrap();
    assert_eq!(config.config_file.as_deref(), Some(Path::new("test.cfg")));
    assert!(config.rules.is_empty());
    assert_eq!(config.backup_dir, Path::new(DEFAULT_BACKUP_DIR));
    assert_eq!(config.status_log, Path::new(DEFAULT_STATUS_LOG));
    assert_eq!(config.vdi_export_format, ImageFormat::Raw);
    assert!(!config.pool_db_backup && !config.compress && !config.all_disks);
    assert_eq!(config.host, None);
    assert_eq!(config.user, "root");
    assert_eq!(config.password, None);
    assert_eq!(config.tls, TlsChoice::SystemRoots);
    assert_eq!(config.checksum, DigestKind::Xxh64);
    assert_eq!(config.compression, Compression::None);
    assert_eq!(config.concurrency.get(), 1);
    assert!(config.mail.is_none());
    assert_eq!(
        config.retention,
        Policy {
            keep_last: KeepCount::Count(4),
            ..Policy::default()
        }
    );
}

#[test]
fn reads_every_key_of_ours() {
    let fp1 = "AB".repeat(32);
    let fp2 = vec!["cd"; 32].join(":");
    let text = format!(
        "host=xs1.example.org:8443
user=backup
password_file_base64=secrets/VmBackup.pass
tls_fingerprint={fp1}, sha256:{fp2}
checksum=sha256
compression=zstd
concurrency=3
all_disks=yes
skeleton-export=APP-.*:2
mail_to=ops@example.org, Backup Team <team@example.org>
mail_to=boss@example.org
mail_from=vmbackup@example.org
smtp_server=mail.example.org
smtp_user=vmbackup
smtp_password_file=/etc/vmbackup/smtp.pass
smtp_ca_file=ca.pem
mail_on=failure
keep_daily=7
keep_weekly=unlimited
keep_monthly=-1
keep_within=1y2m
keep_within_daily=14d
max_age_days=400
pre_clean=false
ignore_extra_keys=false
"
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.host.as_deref(), Some("https://xs1.example.org:8443"));
    assert_eq!(config.user, "backup");
    assert_eq!(
        config.password,
        Some(SecretSource::Base64File(
            "/etc/vmbackup/secrets/VmBackup.pass".into()
        ))
    );
    assert_eq!(
        config.tls,
        TlsChoice::Pinned(vec![fp1, format!("sha256:{fp2}")])
    );
    assert_eq!(config.checksum, DigestKind::Sha256);
    assert_eq!(config.compression, Compression::Zstd);
    assert_eq!(config.concurrency.get(), 3);
    assert!(config.all_disks);
    assert_eq!(rules(&config), [rule("skeleton-export", "APP-.*", Some(2))]);
    let mail = config.mail.as_ref().unwrap();
    let to: Vec<String> = mail.to.iter().map(ToString::to_string).collect();
    assert_eq!(
        to,
        [
            "ops@example.org",
            "Backup Team <team@example.org>",
            "boss@example.org"
        ]
    );
    assert_eq!(mail.from.to_string(), "vmbackup@example.org");
    assert_eq!(
        (mail.server.as_str(), mail.port, mail.starttls),
        ("mail.example.org", 587, true)
    );
    assert_eq!(mail.user.as_deref(), Some("vmbackup"));
    assert_eq!(
        mail.password,
        Some(SecretSource::File("/etc/vmbackup/smtp.pass".into()))
    );
    assert_eq!(
        mail.ca_file.as_deref(),
        Some(Path::new("/etc/vmbackup/ca.pem"))
    );
    assert_eq!(mail.on, MailOn::Failure);
    let policy = &config.retention;
    assert_eq!(
        policy.keep_last,
        KeepCount::OFF,
        "no max_backups with calendar rules"
    );
    assert_eq!(policy.keep_daily, KeepCount::Count(7));
    assert_eq!(policy.keep_weekly, KeepCount::Unlimited);
    assert_eq!(policy.keep_monthly, KeepCount::Unlimited);
    assert_eq!(
        policy.keep_within.map(|s| s.to_string()).as_deref(),
        Some("1y2m")
    );
    assert_eq!(
        policy.keep_within_daily.map(|s| s.to_string()).as_deref(),
        Some("14d")
    );
    assert_eq!(policy.max_age_days.map(NonZeroU32::get), Some(400));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn other_settings_and_retention() {
    let config = parse(
        "host=http://localhost\ntls_ca_file=/etc/pki/pool.pem\npassword_file=pw\n\
         compress=True\nkeep_last=10\nkeep_weekly=4\n",
    )
    .unwrap();
    assert_eq!(config.host.as_deref(), Some("http://localhost"));
    assert_eq!(config.tls, TlsChoice::CaFile("/etc/pki/pool.pem".into()));
    assert_eq!(
        config.password,
        Some(SecretSource::File("/etc/vmbackup/pw".into()))
    );
    assert!(config.compress);
    assert_eq!(config.retention.keep_last, KeepCount::Count(10));
    assert_eq!(config.retention.keep_weekly, KeepCount::Count(4));
    assert_eq!(config.warnings.len(), 1);
    assert!(config.warnings[0].message.contains("clear text"));
    let keep = NonZeroU32::new(2);
    assert_eq!(config.policy_for(keep).keep_last, KeepCount::Count(2));
    assert_eq!(config.policy_for(keep).keep_weekly, KeepCount::Count(4));
    assert_eq!(config.policy_for(None).keep_last, KeepCount::Count(10));

    assert_eq!(
        parse("tls_insecure=true\n").unwrap().tls,
        TlsChoice::Insecure
    );
    assert_eq!(
        parse("tls_insecure=false\n").unwrap().tls,
        TlsChoice::SystemRoots
    );
    let mail =
        parse("mail_to=a@b.c\nmail_from=d@e.f\nsmtp_server=[::1]:2525\nsmtp_starttls=false\n")
            .unwrap()
            .mail
            .unwrap();
    assert_eq!(
        (mail.server.as_str(), mail.port, mail.starttls),
        ("::1", 2525, false)
    );
    assert_eq!(
        parse("mail_to=a@b.c\nmail_from=d@e.f\nsmtp_server=m\nsmtp_starttls=no\n")
            .unwrap()
            .mail
            .unwrap()
            .port,
        25
    );
}

#[test]
fn fixes_naubackups_traps() {
    // A `=` in a value is kept (VmBackup.py crashed).
    let config = parse("backup_dir=/mnt/nfs/a=b\nvm-export=x\\=y\n").unwrap();
    assert_eq!(config.backup_dir, Path::new("/mnt/nfs/a=b"));
    assert_eq!(rules(&config), [rule("vm-export", "x\\=y", None)]);

    for (text, line, why) in [
        // A repeated setting names both lines.
        (
            "max_backups=3\n\nmax_backups=4\n",
            3,
            "`max_backups` is set twice, on test.cfg line 1 and here",
        ),
        (
            "max_backups=3\nkeep_last=4\n",
            2,
            "`max_backups` and `keep_last` are the same setting",
        ),
        ("backup_dir=/a\nbackup_dir=/a\n", 2, "set twice"),
        // `:N` must be a number ≥ 1 (VmBackup.py silently used max_backups).
        ("vm-export=web:0\n", 1, "at least 1"),
        ("vdi-export=web:-3\n", 1, "at least 1"),
        ("vm-export=PROD.*:many\n", 1, "not a number"),
        ("vm-export=:3\n", 1, "no VM name or pattern"),
        ("exclude=web:3\n", 1, "no meaning on exclude"),
        // Unknown keys, with a hint for near misses.
        ("max_backup=3\n", 1, "unknown key `max_backup`"),
        ("vm_export=web\n", 1, "did you mean `vm-export`?"),
        ("Max_Backups=3\n", 1, "did you mean `max_backups`?"),
        // Lines and values.
        ("just some words\n", 1, "`just some words` is not key=value"),
        ("=value\n", 1, "is not key=value"),
        ("vm-export=\n", 1, "write `vm-export=.*`"),
        ("backup_dir=\n", 1, "`backup_dir` has no value"),
        ("pool_db_backup=2\n", 1, "`2` is not 0 or 1"),
        ("pool_db_backup=true\n", 1, "is not 0 or 1"),
        ("max_backups=0\n", 1, "0 is not at least 1"),
        ("max_backups=four\n", 1, "`four` is not a whole number"),
        ("vdi_export_format=qcow2\n", 1, "`qcow2` is not raw or vhd"),
        ("compress=perhaps\n", 1, "`perhaps` is not true or false"),
        ("checksum=md5\n", 1, "`md5` is not xxh64 or sha256"),
        ("compression=xz\n", 1, "`xz` is not none, zstd or gzip"),
        ("concurrency=0\n", 1, "not at least 1"),
        ("keep_daily=lots\n", 1, "is not a count"),
        ("keep_within=1w\n", 1, "unknown unit `w`"),
        ("max_age_days=0\n", 1, "not at least 1"),
        ("host=ftp://x\n", 1, "the scheme must be https or http"),
        ("tls_fingerprint=abcd\n", 1, "not a SHA-256 fingerprint"),
        ("vm-export=(?<=x)y\n", 1, "look-around"),
        ("vm-export=(a)\\1\n", 1, "backreference"),
        // Settings that contradict each other.
        (
            "compress=true\ncompression=gzip\n",
            2,
            "both compress the same export",
        ),
        ("password_file=a\npassword_file_base64=b\n", 2, "choose one"),
        (
            "tls_ca_file=ca.pem\ntls_insecure=true\n",
            2,
            "tls_insecure and tls_ca_file (on test.cfg line 1) conflict",
        ),
        (
            "mail_to=a@b.c\n",
            1,
            "mail_to needs mail_from and smtp_server",
        ),
        ("mail_to=not an address\n", 1, "is not an e-mail address"),
        ("mail_from=a@b.c\n", 1, "without mail_to"),
        ("smtp_starttls=false\n", 1, "without mail_to"),
        (
            "mail_to=a@b.c\nmail_from=d@e.f\nsmtp_server=m\nsmtp_user=u\n",
            4,
            "smtp_user and smtp_password_file go together",
        ),
        (
            "mail_to=a@b.c\nmail_from=d@e.f\nsmtp_server=m:0\n",
            3,
            "is not host or host:port",
        ),
        (
            "mail_to=a@b.c\nmail_from=d@e.f\nsmtp_server=m\nmail_on=never\n",
            4,
            "not always or failure",
        ),
    ] {
        let errors = errors(text);
        assert!(
            errors.iter().any(|(l, m)| *l == line && m.contains(why)),
            "{text:?}: {errors:?}"
        );
    }
}

#[test]
fn every_error_is_reported_in_line_order() {
    let text =
        "vm-export=a:0\nmax_backups=x\nbogus=1\nmax_backups=3\ncompression=zstd\ncompress=1\n";
    let errors = errors(text);
    let lines: Vec<usize> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5]);
    // The message of a file that fails to load names the file and the line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.cfg");
    std::fs::write(&file, text).unwrap();
    let message = Config::load(&file, Overrides::default())
        .unwrap_err()
        .to_string();
    let want = format!("{} line 3: unknown key `bogus`", file.display());
    assert!(message.contains(&want), "{message}");
}

#[test]
fn excludes_and_unknown_keys_do_not_depend_on_line_order() {
    // ignore_extra_keys may come after the unknown key.
    let config = parse("extra=1\nvm-export=web\nignore_extra_keys=True\n").unwrap();
    assert_eq!(config.warnings.len(), 1);
    assert_eq!(config.warnings[0].message, "unknown key `extra` ignored");
    let overrides = Overrides {
        ignore_extra_keys: Some(true),
        ..Overrides::default()
    };
    let config = Config::parse("extra=1\n", Path::new("t.cfg"), Path::new("/"), overrides).unwrap();
    assert_eq!(config.warnings.len(), 1);
    // Excludes are rules like the others; their order is irrelevant to selection.
    let vm = |name: &str| crate::VmInfo {
        uuid: format!("uuid-{name}"),
        name_label: name.into(),
        is_a_template: false,
        is_a_snapshot: false,
        is_control_domain: false,
        tags: Vec::new(),
    };
    let pool = [vm("PROD-db"), vm("PROD-web")];
    let selected = |text: &str| -> Vec<String> {
        let config = parse(text).unwrap();
        crate::resolve(&config.rules, &pool, jiff::civil::Weekday::Monday)
            .jobs
            .into_iter()
            .map(|job| job.name)
            .collect()
    };
    let after = parse("vm-export=PROD.*\nexclude=PROD-db\n").unwrap();
    assert_eq!(after.rules[1].action, RuleAction::Exclude);
    assert_eq!(
        selected("vm-export=PROD.*\nexclude=PROD-db\n"),
        ["PROD-web"]
    );
    assert_eq!(
        selected("exclude=PROD-db\nvm-export=PROD.*\n"),
        ["PROD-web"]
    );
}

#[test]
fn warnings_for_ignored_settings() {
    let config = parse("exclude=\nvdi-export=\npre_clean=true\n").unwrap();
    let messages: Vec<&str> = config.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(messages[0], "empty `exclude=` ignored");
    assert_eq!(messages[1], "empty `vdi-export=` ignored");
    assert!(
        messages[2].starts_with("pre_clean=true ignored"),
        "{messages:?}"
    );
    assert!(config.rules.is_empty());
}

#[test]
fn load_resolves_paths_against_the_file_and_finds_bad_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weekend.cfg");
    std::fs::write(
        &file,
        "backup_dir=backups\nstatus_log=/var/log/status.log\n",
    )
    .unwrap();
    let config = Config::load(&file, Overrides::default()).unwrap();
    assert_eq!(config.backup_dir, dir.path().join("backups"));
    assert_eq!(config.status_log, Path::new("/var/log/status.log"));

    std::fs::write(&file, b"max_backups=3\nvm-export=caf\xe9\n").unwrap();
    let err = Config::load(&file, Overrides::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("weekend.cfg line 2: not UTF-8 text"),
        "{err}"
    );
    let missing = dir.path().join("missing.cfg");
    let err = Config::load(&missing, Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("missing.cfg"), "{err}");
}

#[test]
fn reads_vm_selectors_like_vmbackup_py() {
    for (selector, expected) in [
        ("DEV-mySql", rule("vm-export", "DEV-mySql", None)),
        (
            "vdi-export=DEV-mySql",
            rule("vdi-export", "DEV-mySql", None),
        ),
        ("DEV mySql", rule("vm-export", "DEV mySql", None)),
        ("DEV-my.*", rule("vm-export", "DEV-my.*", None)),
        (".*", rule("vm-export", ".*", None)),
        ("vm-export=PROD.*:2", rule("vm-export", "PROD.*", Some(2))),
        (
            "metadata-export=WEB.*",
            rule("metadata-export", "WEB.*", None),
        ),
        ("skeleton-export=APP", rule("skeleton-export", "APP", None)),
        (r"a\=b", rule("vm-export", r"a\=b", None)),
    ] {
        let config = Config::from_selector(selector, Overrides::default()).unwrap();
        assert_eq!(rules(&config), [expected], "{selector}");
        assert_eq!(config.rules[0].at, Location::CommandLine);
        assert_eq!(config.config_file, None);
        assert_eq!(config.backup_dir, Path::new(DEFAULT_BACKUP_DIR));
        assert_eq!(config.retention.keep_last, KeepCount::Count(4));
    }
    for (selector, why) in [
        ("", "write `vm-export=.*`"),
        ("exclude=web", "is not a vm-selector form"),
        ("backup_dir=/x", "is not a vm-selector form"),
        ("vm-export=web:0", "at least 1"),
        ("PRD-[a", "unterminated character set"),
    ] {
        let err = Config::from_selector(selector, Overrides::default()).unwrap_err();
        assert!(err.to_string().contains(why), "{selector}: {err}");
        assert!(
            err.to_string().contains("the command line"),
            "{selector}: {err}"
        );
    }
}

#[test]
fn command_line_overrides() {
    let mut overrides = Overrides::default();
    overrides.set_from_arg("compress=True").unwrap();
    overrides.set_from_arg("IGNORE_EXTRA_KEYS=false").unwrap();
    overrides.set_from_arg("pre_clean=False").unwrap();
    assert_eq!(
        overrides,
        Overrides {
            compress: Some(true),
            ignore_extra_keys: Some(false),
            pre_clean: Some(false),
        }
    );
    assert!(
        overrides
            .set_from_arg("preview")
            .unwrap_err()
            .contains("not key=value")
    );
    assert!(
        overrides
            .set_from_arg("colour=true")
            .unwrap_err()
            .contains("unknown parameter")
    );
    assert!(
        overrides
            .set_from_arg("compress=maybe")
            .unwrap_err()
            .contains("not true or false")
    );
    // The command line wins over the file.
    let file = Config::parse(
        "compress=false\nextra=1\n",
        Path::new("t"),
        Path::new("/"),
        {
            let mut o = Overrides::default();
            o.set_from_arg("compress=true").unwrap();
            o.set_from_arg("ignore_extra_keys=true").unwrap();
            o
        },
    )
    .unwrap();
    assert!(file.compress);
    let selector = Config::from_selector(
        "web",
        Overrides {
            pre_clean: Some(true),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(selector.warnings[0].at, Location::CommandLine);
}
