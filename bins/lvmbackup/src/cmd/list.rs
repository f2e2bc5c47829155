//! `lvmbackup list`: the archives per volume, oldest first, each chain starting at a master;
//! raw images shown as `image`.

use std::io::Write as _;

use cli_common::Outcome;
use lvmbackup::config::Config;
use serde::Serialize;

#[derive(Serialize)]
struct Volume<'a> {
    dir: &'a str,
    archives: &'a [lvmbackup::repository::ArchiveFile],
}

/// Lists the archives.
pub fn run(config: &Config, json: bool) -> anyhow::Result<Outcome> {
    let repository = super::repository(config);
    let volumes = repository.scan()?;
    if json {
        let list: Vec<Volume<'_>> = volumes
            .iter()
            .map(|(dir, archives)| Volume { dir, archives })
            .collect();
        cli_common::print_json(&list)?;
        return Ok(Outcome::Success);
    }
    let mut out = cli_common::Stdout::lock();
    for (dir, archives) in &volumes {
        writeln!(out, "{}{dir}:", repository.prefix())?;
        for archive in archives {
            let kind = if archive.name.filetype.is_image() {
                "image"
            } else if archive.name.master {
                "master"
            } else {
                "  incremental"
            };
            writeln!(
                out,
                "  {}  {kind:<13}  {:>12} bytes  {}",
                archive.name.date,
                archive.bytes,
                archive.path.display()
            )?;
        }
    }
    Ok(Outcome::Success)
}
