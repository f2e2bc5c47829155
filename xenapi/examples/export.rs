//! Exports a VM (halted, or a snapshot) as an XVA into a file, `-` for standard output:
//!
//! ```text
//! XAPI_PASSWORD=… cargo run -p xenapi --features client --example export -- \
//!     https://xs1.example root web01 web01.xva [SHA256-FINGERPRINT]
//! ```
//!
//! The VM is named by its name label or uuid; the task's outcome, not the HTTP status,
//! decides success.

use std::io::{self, Write};
use std::str::FromStr;

use xenapi::{ExportOptions, Fingerprint, Session, SessionOptions, TlsTrust};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, user, vm, out, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: export URL USER VM OUT [FINGERPRINT] (password in XAPI_PASSWORD)".into(),
        );
    };
    let password = std::env::var("XAPI_PASSWORD").map_err(|_| "set XAPI_PASSWORD")?;
    let tls = match rest.first() {
        Some(print) => TlsTrust::Pinned(vec![Fingerprint::from_str(print)?]),
        None => TlsTrust::SystemRoots,
    };
    let session = Session::login(
        url,
        user,
        &password,
        SessionOptions {
            tls,
            ..SessionOptions::default()
        },
    )?;
    let vm = match session.vm().get_by_uuid(vm) {
        Ok(vm) => vm,
        Err(_) => session
            .vm()
            .get_by_name_label(vm)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("no VM named {vm}"))?,
    };
    let mut download = session.export(&vm, &ExportOptions::default())?;
    let mut sink: Box<dyn Write> = if out == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(out)?,
        ))
    };
    let bytes = io::copy(&mut download, &mut sink)?;
    sink.flush()?;
    let outcome = download.finish()?;
    eprintln!(
        "{bytes} bytes, task {} done in {:.1} s",
        outcome.label,
        outcome.elapsed.as_secs_f64()
    );
    Ok(())
}
