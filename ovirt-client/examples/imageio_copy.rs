//! Upload a raw image to, or download one from, an imageio transfer URL (what
//! `scripts/bench-ovirt-imageio` times against the official Python client).
//!
//! ```text
//! imageio_copy upload   URL CA_FILE SOURCE.raw
//! imageio_copy download URL CA_FILE SIZE OUTPUT.raw
//! ```

use std::process::ExitCode;

use disk_image::{DiskInput, FileDisk, NoProgress, RawFileSink};
use ovirt_client::Trust;
use ovirt_client::imageio::{ExtentContext, ImageioClient, TransferOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("imageio_copy: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let usage = "usage: imageio_copy upload URL CA SOURCE | download URL CA SIZE OUTPUT";
    let (Some(command), Some(url), Some(ca)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(usage.into());
    };
    let client = ImageioClient::open(url, &Trust::CaFile(ca.into()))?;
    let options = TransferOptions::default();
    match (command.as_str(), &args[3..]) {
        ("upload", [source]) => {
            let disk = FileDisk::open(source)?;
            Ok(format!(
                "{:?}",
                client.upload(DiskInput::Random(&disk), &options, &NoProgress)?
            ))
        }
        ("download", [size, output]) => {
            let file = std::fs::File::create(output)?;
            let mut sink = RawFileSink::new(&file, output.as_str());
            let summary = client.download(
                size.parse()?,
                ExtentContext::Zero,
                &mut sink,
                &options,
                &NoProgress,
            )?;
            file.sync_all()?;
            Ok(format!("{:?}", summary.data_bytes))
        }
        _ => Err(usage.into()),
    }
}
