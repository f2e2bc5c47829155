//! Serves two tickets from the real ovirt-imageio daemon over TLS for the benchmark
//! (`scripts/bench-ovirt-imageio`): `up` writes into TARGET (a raw file behind qemu-nbd, as
//! vdsm serves a `format=raw` transfer), `down` reads SOURCE the same way. Prints
//! `up=URL down=URL ca=FILE` and serves until its standard input closes.
//!
//! ```text
//! imageio_bench_serve WORKDIR SOURCE.raw TARGET.raw
//! ```

use std::io::Read;

use ovirt_sim::imageio::{
    Imageio, ImageioOptions, NbdExport, NbdFormat, NbdOptions, Ticket, TicketOp, TlsFiles,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [work, source, target] = &args[..] else {
        return Err("usage: imageio_bench_serve WORKDIR SOURCE TARGET".into());
    };
    let work = std::path::Path::new(work);
    let ca = sim_http::tls::TestCa::new("bench engine CA")?;
    let cert_file = work.join("cert.pem");
    let key_file = work.join("key.pem");
    let ca_file = work.join("ca.pem");
    ca.issue(&["127.0.0.1"], "host")?
        .write_pem(&cert_file, &key_file)?;
    std::fs::write(&ca_file, ca.pem())?;
    let tls = TlsFiles {
        cert_file,
        key_file,
        ca_file: ca_file.clone(),
    };
    let daemon = Imageio::start(&ImageioOptions {
        tls: Some(tls),
        debug: false,
        venv: None,
    })?;
    let size = std::fs::metadata(source)?.len();
    let up = NbdExport::start(target.as_ref(), &NbdOptions::new(NbdFormat::Raw))?;
    let down = NbdExport::start(
        source.as_ref(),
        &NbdOptions {
            read_only: true,
            ..NbdOptions::new(NbdFormat::Raw)
        },
    )?;
    let mut up_ticket = Ticket::new("up", size, up.url(), &[TicketOp::Write]);
    let mut down_ticket = Ticket::new("down", size, down.url(), &[TicketOp::Read]);
    up_ticket.inactivity_timeout = 3600;
    down_ticket.inactivity_timeout = 3600;
    daemon.add_ticket(&up_ticket)?;
    daemon.add_ticket(&down_ticket)?;
    println!(
        "up={} down={} ca={}",
        daemon.image_url("up"),
        daemon.image_url("down"),
        ca_file.display()
    );
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    Ok(())
}
