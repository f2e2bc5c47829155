//! Parsers for single values; each error is a sentence without the location.

use std::num::{IntErrorKind, NonZeroU32};

use retention::KeepCount;

/// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case (VmBackup.py writes
/// `True`).
pub(super) fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("`{value}` is not true or false")),
    }
}

/// A whole number at least 1.
pub(super) fn positive(value: &str) -> Result<NonZeroU32, String> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| format!("{value} is too large")),
        Ok(_) => Err(format!("{value} is not at least 1")),
        Err(e) if overflows(&e) => Err(format!("{value} is too large")),
        Err(_) => Err(format!("`{value}` is not a whole number")),
    }
}

/// A keep count: a whole number (0 switches the rule off), or `-1` / `unlimited`.
pub(super) fn keep_count(value: &str) -> Result<KeepCount, String> {
    if value == "unlimited" || value == "-1" {
        return Ok(KeepCount::Unlimited);
    }
    value.parse::<u32>().map(KeepCount::Count).map_err(|e| {
        if overflows(&e) {
            format!("{value} is too large (at most {})", u32::MAX)
        } else {
            format!("`{value}` is not a count (a whole number, or -1 or `unlimited` for no limit)")
        }
    })
}

/// Whether a number failed to parse only because it is out of range (all digits).
fn overflows(error: &std::num::ParseIntError) -> bool {
    matches!(
        error.kind(),
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow
    )
}

/// Splits a selection value into its selector and its `:N` suffix. The suffix starts at
/// the last `:` that is outside parentheses and brackets and not escaped, so patterns such
/// as `(?:a|b)` keep their colons.
pub(super) fn split_keep(value: &str) -> Result<(&str, Option<NonZeroU32>), String> {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut escaped = false;
    let mut split = None;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            ':' if !in_class && depth == 0 => split = Some(i),
            _ => {}
        }
    }
    let Some(i) = split else {
        return Ok((value, None));
    };
    let (selector, count) = (value[..i].trim_end(), value[i + 1..].trim());
    match count.parse::<i64>() {
        Ok(n) if n >= 1 => u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .map(|n| (selector, Some(n)))
            .ok_or_else(|| format!("`:{count}` is too large a number of backups")),
        Ok(_) => Err(format!(
            "`:{count}`: the number of backups to keep must be at least 1 (NAUbackup silently used max_backups instead)"
        )),
        Err(e) if overflows(&e) => Err(format!("`:{count}` is too large a number of backups")),
        Err(_) => Err(format!(
            "`:{count}` is not a number of backups (to match a `:` in a name, write it `\\:` or `\\x3a`)"
        )),
    }
}

/// The XAPI URL: `https://host[:port]`, `http://host[:port]`, or a bare `host[:port]`
/// (https). Returns the URL and whether it is plain http.
pub(super) fn host_url(value: &str) -> Result<(String, bool), String> {
    if value.contains('@') {
        // Never echoed: what precedes the `@` may be a password.
        return Err(format!(
            "`{}`: credentials do not belong in the URL (the password comes from password_file=, --password-file or {})",
            xenapi::redact_credentials(value),
            crate::connect::PASSWORD_ENV
        ));
    }
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_owned(), value),
    };
    if scheme != "https" && scheme != "http" {
        return Err(format!("`{value}`: the scheme must be https or http"));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty()
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '@'))
    {
        return Err(format!(
            "`{value}` is not a host URL (https://host or https://host:port)"
        ));
    }
    Ok((format!("{scheme}://{authority}"), scheme == "http"))
}

/// A SHA-256 certificate fingerprint: 64 hex digits, with or without `:` between bytes,
/// optionally prefixed `sha256:` (the spellings `openssl x509 -fingerprint` and XenServer
/// print). Returned as written.
pub(super) fn fingerprint(value: &str) -> Result<String, String> {
    let digits = value
        .strip_prefix("sha256:")
        .or_else(|| value.strip_prefix("SHA256:"))
        .unwrap_or(value);
    let hex: Vec<char> = digits.chars().filter(|&c| c != ':').collect();
    if hex.len() == 64 && hex.iter().all(char::is_ascii_hexdigit) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a SHA-256 fingerprint (64 hex digits, `:` between bytes allowed)"
        ))
    }
}

/// An SMTP server `host`, `host:port`, `[v6]` or `[v6]:port`.
pub(super) fn smtp_server(value: &str) -> Result<(String, Option<u16>), String> {
    let bad = || format!("`{value}` is not host or host:port");
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return Err(bad()),
            None => (value, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(bad());
    }
    let port = port
        .map(|p| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad))
        .transpose()?;
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_are_too_large_not_not_numbers() {
        let huge = "99999999999999999999";
        assert_eq!(positive(huge).unwrap_err(), format!("{huge} is too large"));
        assert_eq!(
            positive("5000000000").unwrap_err(),
            "5000000000 is too large"
        );
        assert!(
            keep_count("5000000000")
                .unwrap_err()
                .contains("is too large")
        );
        assert_eq!(
            split_keep(&format!("web:{huge}")).unwrap_err(),
            format!("`:{huge}` is too large a number of backups")
        );
        assert!(positive("12x").unwrap_err().contains("not a whole number"));
    }

    #[test]
    fn splits_keep_suffixes() {
        let n = |n| NonZeroU32::new(n);
        for (value, selector, keep) in [
            ("my-vm", "my-vm", None),
            ("my-third-vm:3", "my-third-vm", n(3)),
            ("DEV.*:2", "DEV.*", n(2)),
            (".*SAVE$:5", ".*SAVE$", n(5)),
            (r"PRD-.*print[\d{1,}]$:8", r"PRD-.*print[\d{1,}]$", n(8)),
            ("DEV mySql : 7", "DEV mySql", n(7)),
            ("(?:a|b).*", "(?:a|b).*", None),
            ("(?:a|b).*:4", "(?:a|b).*", n(4)),
            ("[:x]y", "[:x]y", None),
            (r"web\:1", r"web\:1", None),
        ] {
            assert_eq!(split_keep(value), Ok((selector, keep)), "{value}");
        }
        for (value, why) in [
            ("vm:0", "at least 1"),
            ("vm:-2", "at least 1"),
            ("vm:abc", "not a number"),
            ("vm:", "not a number"),
            ("vm:1.5", "not a number"),
            ("vm:99999999999", "too large"),
        ] {
            let err = split_keep(value).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
        }
    }

    #[test]
    fn reads_scalars() {
        assert_eq!(boolean("True"), Ok(true));
        assert_eq!(boolean("off"), Ok(false));
        assert!(boolean("maybe").is_err());
        assert_eq!(positive("3").map(NonZeroU32::get), Ok(3));
        assert!(positive("0").unwrap_err().contains("at least 1"));
        assert!(positive("x").unwrap_err().contains("whole number"));
        assert_eq!(keep_count("-1"), Ok(KeepCount::Unlimited));
        assert_eq!(keep_count("0"), Ok(KeepCount::OFF));
        assert_eq!(keep_count("7"), Ok(KeepCount::Count(7)));
        assert!(keep_count("-2").is_err());
    }

    #[test]
    fn reads_urls_fingerprints_and_servers() {
        assert_eq!(
            host_url("xs1.example"),
            Ok(("https://xs1.example".into(), false))
        );
        assert_eq!(
            host_url("HTTP://10.0.0.1:80/"),
            Ok(("http://10.0.0.1:80".into(), true))
        );
        assert_eq!(
            host_url("https://[::1]:8443"),
            Ok(("https://[::1]:8443".into(), false))
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://a b",
            "https://u@h",
            "https://h/path",
        ] {
            assert!(host_url(bad).is_err(), "{bad}");
        }
        let hex = "AB".repeat(32);
        assert!(fingerprint(&hex).is_ok());
        let colons = vec!["ab"; 32].join(":");
        assert!(fingerprint(&format!("sha256:{colons}")).is_ok());
        assert!(fingerprint(&hex[..62]).is_err());
        assert!(fingerprint(&"zz".repeat(32)).is_err());
        assert_eq!(
            smtp_server("mail.example"),
            Ok(("mail.example".into(), None))
        );
        assert_eq!(
            smtp_server("mail.example:2525"),
            Ok(("mail.example".into(), Some(2525)))
        );
        assert_eq!(smtp_server("[::1]:25"), Ok(("::1".into(), Some(25))));
        for bad in ["", "mail:", "mail:0", "mail:99999", "::1:25", "[::1", "a b"] {
            assert!(smtp_server(bad).is_err(), "{bad}");
        }
    }
}
