//! Starting a simulator and driving it from a test: URLs, credentials, the CA, the fault
//! knobs, the audit, and a look at disks' files.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sim_http::tls::TestCa;
use tempfile::TempDir;

use crate::audit::Audit;
use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::Faults;
use crate::imageio::{Imageio, ImageioOptions, TlsFiles};
use crate::server::{self, Shared};

/// The names in the engine's and the daemon's certificates.
const NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// A running simulated engine with its imageio daemon; stops everything (daemon, qemu-nbd,
/// loop devices, temporary files) when dropped.
pub struct Simulator {
    api_url: String,
    user: String,
    password: String,
    ca_file: PathBuf,
    faults: Faults,
    shared: Arc<Shared>,
    server: sim_http::Server,
    _dir: TempDir,
}

impl Simulator {
    /// Starts an engine over HTTPS (the port also takes plain HTTP), signed by a CA of its
    /// own that also signs the imageio daemon's certificate, as an engine's CA does.
    pub fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let dir = tempfile::Builder::new()
            .prefix("ovirt-sim-")
            .tempdir()
            .map_err(|e| SimError::io("creating a temporary directory", e))?;
        let pki = dir.path().join("pki");
        std::fs::create_dir_all(&pki)
            .map_err(|e| SimError::io(format!("creating {}", pki.display()), e))?;
        let ca = TestCa::new("ovirt-sim CA")?;
        let ca_file = pki.join("ca.pem");
        std::fs::write(&ca_file, ca.pem())
            .map_err(|e| SimError::io(format!("writing {}", ca_file.display()), e))?;
        let engine_cert = ca.issue(&NAMES, "engine")?;
        let host_cert = ca.issue(&NAMES, "host1")?;
        let tls = TlsFiles {
            cert_file: pki.join("host.pem"),
            key_file: pki.join("host.key"),
            ca_file: ca_file.clone(),
        };
        host_cert.write_pem(&tls.cert_file, &tls.key_file)?;
        let imageio = Imageio::start(&ImageioOptions {
            tls: Some(tls),
            debug: config.imageio_debug,
            venv: None,
        })?;
        let faults = Faults::default();
        let engine = crate::demo::engine(&config, dir.path(), imageio, faults.clone())?;
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            tls: engine_cert.server_config()?,
            ca_pem: ca.pem(),
        });
        let listener = sim_http::bind(config.listen)?;
        let address = listener
            .local_addr()
            .map_err(|e| SimError::io("reading the listener's address", e))?;
        let mut server = sim_http::Server::new();
        let handler = Arc::clone(&shared);
        server.serve(listener, "ovirt-sim", move |tcp| {
            server::serve_connection(&handler, tcp)
        })?;
        tracing::info!(%address, "ovirt-sim serving");
        Ok(Simulator {
            api_url: format!("https://{address}/ovirt-engine/api"),
            user: config.user,
            password: config.password,
            ca_file,
            faults,
            shared,
            server,
            _dir: dir,
        })
    }

    /// The API URL, `https://127.0.0.1:PORT/ovirt-engine/api` (what the SDK's `url` is).
    pub fn url(&self) -> &str {
        &self.api_url
    }

    /// The engine URL, `https://127.0.0.1:PORT` (what `ovirt-img --engine-url` is).
    pub fn engine_url(&self) -> &str {
        self.api_url.trim_end_matches("/ovirt-engine/api")
    }

    /// The user and password SSO accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.user, &self.password)
    }

    /// The CA (PEM) that signed the engine's and the imageio daemon's certificates.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What clients left behind.
    pub fn audit(&self) -> Audit {
        let mut engine = self.shared.lock();
        engine.tick();
        Audit::of(&engine)
    }

    /// How many SSO logins succeeded so far.
    pub fn logins(&self) -> u64 {
        self.shared.lock().logins
    }

    /// The imageio daemon's log so far.
    pub fn imageio_log(&self) -> String {
        self.shared
            .lock()
            .imageio
            .as_ref()
            .map(Imageio::log)
            .unwrap_or_default()
    }

    /// The id of the VM named `name`.
    pub fn vm_id(&self, name: &str) -> Option<String> {
        self.shared
            .lock()
            .vms
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.id.clone())
    }

    /// The ids of the disks attached to the VM named `name`, in attachment order.
    pub fn disk_ids(&self, vm: &str) -> Vec<String> {
        let engine = self.shared.lock();
        engine
            .vms
            .iter()
            .find(|v| v.name == vm)
            .map(|v| v.attachments.iter().map(|a| a.disk.clone()).collect())
            .unwrap_or_default()
    }

    /// The file of a disk's active volume (raw, or qcow2 whose chain holds the disk).
    pub fn disk_file(&self, id: &str) -> Option<PathBuf> {
        let engine = self.shared.lock();
        engine
            .disks
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.active().path.clone())
    }

    /// The names of all VMs.
    pub fn vm_names(&self) -> Vec<String> {
        self.shared
            .lock()
            .vms
            .iter()
            .map(|v| v.name.clone())
            .collect()
    }

    /// The ids of all disks.
    pub fn disk_list(&self) -> Vec<String> {
        self.shared
            .lock()
            .disks
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    /// Removes the imageio tickets of every open transfer, as an engine does when it
    /// pauses or cancels one behind the client's back: the next request of the data path
    /// gets 403. The transfers themselves stay open (their owner must end them).
    pub fn revoke_tickets(&self) {
        let engine = self.shared.lock();
        if let Some(daemon) = &engine.imageio {
            for t in engine.transfers.iter().filter(|t| !t.phase.is_over()) {
                if let Err(error) = daemon.remove_ticket(&t.ticket) {
                    tracing::warn!(%error, transfer = %t.id, "cannot revoke a ticket");
                }
            }
        }
    }

    /// Whether a disk exists.
    pub fn has_disk(&self, id: &str) -> bool {
        self.shared.lock().disks.iter().any(|d| d.id == id)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.shutdown();
        let mut engine = self.shared.lock();
        // Loop devices, qemu-nbd exports, then the daemon.
        for vm in &mut engine.vms {
            vm.attachments.clear();
        }
        engine.transfers.clear();
        engine.imageio = None;
    }
}
