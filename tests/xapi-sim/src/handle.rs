//! Starting a simulator and driving it from a test: URLs, credentials, the TLS fingerprint,
//! fault knobs, the audit, and direct access to VMs and disk bytes.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use xenapi::Ref;
use xenapi::records::{VbdType, VdiRecord, VmRecord};

use crate::audit::{Audit, Baseline};
use crate::config::{NewVm, SimConfig};
use crate::disks::{self, DiskStore};
use crate::error::{Result, SimError, XapiError};
use crate::faults::Faults;
use crate::http::{self, Server, tls};
use crate::persist;
use crate::pool::{CreatedVm, Pool};
use crate::shared::{HostCtx, Shared};

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Starts a pool as `config` says: binds the master's and the slave's listeners, makes
    /// (or loads) the pool, and serves on background threads until the handle is dropped.
    pub fn start(config: SimConfig) -> Result<SimHandle> {
        let (temp, root) = if let Some(dir) = &config.state_dir {
            persist::create_dir(dir)?;
            (None, dir.clone())
        } else {
            let temp = tempfile::Builder::new()
                .prefix("xapi-sim-")
                .tempdir()
                .map_err(|e| SimError::io("creating a temporary directory", e))?;
            let root = temp.path().to_path_buf();
            (Some(temp), root)
        };
        let identity = tls::identity(config.state_dir.as_deref())?;
        let state_file = config.state_dir.as_deref().map(persist::state_file);
        let store = DiskStore::new(root.clone());
        let loaded = state_file.as_deref().map(persist::load).transpose()?;
        let mut pool = if let Some(mut pool) = loaded.flatten() {
            pool.store = Some(store);
            pool
        } else {
            let mut pool = Pool::fresh(&config.user, &config.password, config.sr_size, store);
            for vm in &config.vms {
                pool.create_vm(vm)?;
            }
            pool
        };
        pool.session_timeout = config.session_timeout;
        let password = pool
            .users
            .entry(config.user.clone())
            .or_insert_with(|| config.password.clone())
            .clone();

        let master_listener = http::bind(config.listen)?;
        let slave_listener = bind_slave(config.slave_listen, &master_listener)?;
        let address = |l: &std::net::TcpListener| {
            l.local_addr()
                .map_err(|e| SimError::io("reading a listener's address", e))
        };
        let (master_address, slave_address) =
            (address(&master_listener)?, address(&slave_listener)?);
        let mut hosts = Vec::new();
        for (listener, address) in [("master", master_address), ("slave", slave_address)] {
            let host = pool
                .host_of_listener(listener)
                .ok_or_else(|| SimError::State {
                    path: root.clone(),
                    message: format!("no host for the {listener} listener"),
                })?;
            pool.host_mut(&host)?.address = address.ip().to_string();
            pool.listeners.insert(host.clone(), address);
            hosts.push(host);
        }
        let shared = Arc::new(Shared::new(pool, state_file, identity.config));
        shared.save(&shared.lock());
        let mut server = Server::new();
        server.serve(
            master_listener,
            HostCtx {
                shared: Arc::clone(&shared),
                host: hosts[0].clone(),
            },
        )?;
        server.serve(
            slave_listener,
            HostCtx {
                shared: Arc::clone(&shared),
                host: hosts[1].clone(),
            },
        )?;
        let scheme = if config.tls { "https" } else { "http" };
        tracing::info!(%master_address, %slave_address, "xapi-sim serving");
        Ok(SimHandle {
            url: format!("{scheme}://{master_address}"),
            slave_url: format!("{scheme}://{slave_address}"),
            user: config.user,
            password,
            fingerprint: identity.fingerprint,
            certificate_pem: identity.pem,
            shared,
            server,
            root,
            _temp: temp,
        })
    }
}

/// The slave's listener: at `asked`, or with port 0 at the master's port when it is free
/// there (so `HOST_IS_SLAVE` can name the master by address alone, as XAPI does), else at
/// any free port.
fn bind_slave(asked: SocketAddr, master: &TcpListener) -> Result<TcpListener> {
    if asked.port() == 0 {
        let port = master
            .local_addr()
            .map_err(|e| SimError::io("reading a listener's address", e))?
            .port();
        if let Ok(listener) = http::bind(SocketAddr::new(asked.ip(), port)) {
            return Ok(listener);
        }
    }
    http::bind(asked)
}

/// A running simulator; stops (and removes its temporary directory) when dropped.
pub struct SimHandle {
    url: String,
    slave_url: String,
    user: String,
    password: String,
    fingerprint: String,
    certificate_pem: String,
    shared: Arc<Shared>,
    server: Server,
    root: PathBuf,
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("url", &self.url)
            .field("slave_url", &self.slave_url)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The master's URL (`http://127.0.0.1:PORT`, or `https://` with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The slave's URL (it answers logins with `HOST_IS_SLAVE`).
    pub fn slave_url(&self) -> &str {
        &self.slave_url
    }

    /// The user and password that may log in.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.user, &self.password)
    }

    /// SHA-256 fingerprint of the hosts' certificate, as `AB:CD:…`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The hosts' certificate in PEM (a CA file for clients that verify).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// What exists beyond the baseline.
    pub fn audit(&self) -> Audit {
        let pool = self.shared.lock();
        let baseline = self
            .shared
            .baseline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Audit::of(&pool, &baseline)
    }

    /// Makes the pool as it is now the baseline of the audit.
    pub fn mark_baseline(&self) {
        let pool = self.shared.lock();
        *self
            .shared
            .baseline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Baseline::of(&pool);
    }

    /// Adds a VM with its disks (holding their contents), VBDs and VIFs; it joins the
    /// baseline (the audit does not count it).
    pub fn add_vm(&self, vm: &NewVm) -> Result<CreatedVm> {
        let mut pool = self.shared.lock();
        let created = pool.create_vm(vm)?;
        self.shared.save(&pool);
        *self
            .shared
            .baseline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Baseline::of(&pool);
        Ok(created)
    }

    /// Every VM (templates, snapshots and control domains included), with its record.
    pub fn vms(&self) -> Vec<(Ref, VmRecord)> {
        self.shared.lock().vm_views()
    }

    /// The VMs named `name` (snapshots and templates included, as XAPI's lookup does).
    pub fn vms_by_name(&self, name: &str) -> Vec<Ref> {
        self.shared
            .lock()
            .vms
            .iter()
            .filter(|(_, vm)| vm.name_label == name)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// A VM's record (back-references filled in), if it exists.
    pub fn vm(&self, vm: &Ref) -> Option<VmRecord> {
        self.shared.lock().vm_view(vm).ok()
    }

    /// A VDI's record, if it exists.
    pub fn vdi(&self, vdi: &Ref) -> Option<VdiRecord> {
        self.shared.lock().vdi_view(vdi).ok()
    }

    /// The VDIs of a VM's disk VBDs, in `userdevice` order.
    pub fn vdis_of(&self, vm: &Ref) -> Vec<Ref> {
        let pool = self.shared.lock();
        pool.vbds_of(vm)
            .iter()
            .filter_map(|vbd| pool.vbd(vbd).ok())
            .filter(|vbd| vbd.kind == VbdType::Disk && !vbd.vdi.is_null())
            .map(|vbd| vbd.vdi.clone())
            .collect()
    }

    /// The sparse file holding a VDI's bytes.
    pub fn vdi_path(&self, vdi: &Ref) -> Result<PathBuf> {
        Ok(self.shared.lock().vdi_path(vdi)?)
    }

    /// Writes into a VDI as a guest would (CBT records the blocks written).
    pub fn write_vdi(&self, vdi: &Ref, offset: u64, bytes: &[u8]) -> Result<()> {
        let mut pool = self.shared.lock();
        let size = pool.vdi(vdi)?.virtual_size.max(0).cast_unsigned();
        if offset.saturating_add(bytes.len() as u64) > size {
            return Err(XapiError::new("VDI_IO_ERROR", ["write past the end of the disk"]).into());
        }
        let path = pool.vdi_path(vdi)?;
        disks::write_at(&path, offset, bytes)
            .map_err(|e| SimError::io(format!("writing {}", path.display()), e))?;
        pool.record_write(vdi, offset, bytes.len() as u64);
        self.shared.save(&pool);
        Ok(())
    }

    /// The whole contents of a VDI (for small disks).
    pub fn vdi_bytes(&self, vdi: &Ref) -> Result<Vec<u8>> {
        let path = self.vdi_path(vdi)?;
        std::fs::read(&path).map_err(|e| SimError::io(format!("reading {}", path.display()), e))
    }

    /// Knob: every open session becomes invalid (calls answer `SESSION_INVALID`).
    pub fn invalidate_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    /// Knob: one session becomes invalid.
    pub fn invalidate_session(&self, session: &Ref) {
        self.shared.lock().logout(session);
    }

    /// Knob: the other host becomes the pool master, so that logins at [`SimHandle::url`]
    /// answer `HOST_IS_SLAVE` with the address of [`SimHandle::slave_url`]'s host (and logins
    /// there succeed). Calling it again swaps back.
    pub fn swap_master(&self) {
        let mut pool = self.shared.lock();
        let current = pool.master().clone();
        if let Some(other) = pool.hosts.keys().find(|h| **h != current).cloned() {
            pool.record.master = other;
        }
        self.shared.save(&pool);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}
