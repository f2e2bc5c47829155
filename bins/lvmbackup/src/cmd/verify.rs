//! `lvmbackup verify`: re-read every archive (md5 against the digest list, GNU tar reading
//! the whole decompressed archive); exit 1 if any is damaged.

use std::io::Write as _;

use cli_common::Outcome;
use lvmbackup::archive::GnuTar;
use lvmbackup::config::Config;
use lvmbackup::restore::verify;

/// Verifies the repository.
pub fn run(config: &Config, json: bool) -> anyhow::Result<Outcome> {
    let checked = verify(&GnuTar::default(), &super::repository(config))?;
    let bad = checked.iter().filter(|c| !c.ok()).count();
    if json {
        cli_common::print_json(&checked)?;
    } else {
        let mut out = cli_common::Stdout::lock();
        for c in &checked {
            let digest = match c.digest_ok {
                Some(true) => "md5 ok",
                Some(false) => "md5 WRONG",
                None => "no md5 line",
            };
            let structure = if c.structure_ok {
                "tar ok"
            } else {
                "tar DAMAGED"
            };
            write!(out, "{}: {digest}, {structure}", c.path.display())?;
            if let Some(problem) = &c.problem {
                write!(out, " ({problem})")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "{} archive(s), {bad} damaged", checked.len())?;
    }
    Ok(if bad > 0 {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}
