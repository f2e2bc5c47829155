//! `xva-build verify`: every checksum and the structure of an XVA.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use cli_common::Outcome;
use disk_image::Progress;
use disk_image::xva::XvaReader;

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive (plain, gzip or zstd).
    file: PathBuf,
    /// Print a JSON report on standard output.
    #[arg(long)]
    json: bool,
}

/// Runs `verify`: exit 0 when the archive is sound, 1 (with the failing member named) when
/// it is not.
pub fn run(args: &VerifyArgs, progress: &dyn Progress) -> Result<Outcome> {
    let result = verify(args, progress);
    if args.json {
        let report = match &result {
            Ok(Verified::MetadataOnly) => serde_json::json!({
                "file": args.file, "ok": true, "metadata_only": true, "disks": []
            }),
            Ok(Verified::Disks(disks)) => serde_json::json!({
                "file": args.file, "ok": true, "metadata_only": false, "disks": disks
            }),
            Err(error) => {
                serde_json::json!({ "file": args.file, "ok": false, "error": format!("{error:#}") })
            }
        };
        cli_common::print_json(&report)?;
    }
    match result {
        Ok(Verified::MetadataOnly) => {
            if !args.json {
                writeln!(
                    cli_common::Stdout::lock(),
                    "{}: ok, a metadata-only archive (ova.xml alone, as XAPI's /export_metadata \
                     writes): its VM records parse; it holds no disk data to check",
                    args.file.display()
                )?;
            }
            Ok(Outcome::Success)
        }
        Ok(Verified::Disks(disks)) => {
            if !args.json {
                let mut out = cli_common::Stdout::lock();
                for disk in &disks {
                    writeln!(
                        out,
                        "{}: {} chunks, {} bytes of data, checksums ok",
                        disk.id, disk.chunks, disk.data_bytes
                    )?;
                }
                writeln!(out, "{}: ok", args.file.display())?;
                out.flush()?;
            }
            Ok(Outcome::Success)
        }
        Err(error) if args.json => {
            eprintln!("error: {error:#}");
            Ok(Outcome::PartialFailure)
        }
        Err(error) => Err(error),
    }
}

/// What a sound archive holds.
enum Verified {
    /// `ova.xml` alone, properly ended.
    MetadataOnly,
    /// Disks, every checksum compared.
    Disks(Vec<disk_image::xva::DiskReport>),
}

fn verify(args: &VerifyArgs, progress: &dyn Progress) -> Result<Verified> {
    let (mut reader, _) = XvaReader::open_path(&args.file)?;
    if reader.is_metadata_only() {
        reader.finish()?;
        return Ok(Verified::MetadataOnly);
    }
    let mut disks = Vec::new();
    while let Some(report) = reader.read_disk(None, true, progress)? {
        disks.push(report);
    }
    reader.finish()?;
    Ok(Verified::Disks(disks))
}
