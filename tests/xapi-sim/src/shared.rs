//! State shared by the listeners, the connection threads and the handle: the pool behind
//! one lock, the fault knobs, the audit baseline and where the pool is saved.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use xenapi::Ref;

use crate::audit::Baseline;
use crate::error::XapiResult;
use crate::faults::Faults;
use crate::persist;
use crate::pool::Pool;

/// Everything the simulator's threads share.
pub(crate) struct Shared {
    pool: Mutex<Pool>,
    pub faults: Faults,
    pub baseline: Mutex<Baseline>,
    state_file: Option<PathBuf>,
    pub tls: Arc<rustls::ServerConfig>,
}

/// One listener's view: the shared state and the host it serves.
#[derive(Clone)]
pub(crate) struct HostCtx {
    pub shared: Arc<Shared>,
    pub host: Ref,
}

impl Shared {
    pub(crate) fn new(
        pool: Pool,
        state_file: Option<PathBuf>,
        tls: Arc<rustls::ServerConfig>,
    ) -> Self {
        let baseline = Baseline::of(&pool);
        Shared {
            pool: Mutex::new(pool),
            faults: Faults::default(),
            baseline: Mutex::new(baseline),
            state_file,
            tls,
        }
    }

    /// The pool, locked. A panic in another thread does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a change on the pool and saves it (with `--state`) when it succeeds.
    pub(crate) fn mutate<T>(
        &self,
        change: impl FnOnce(&mut Pool) -> XapiResult<T>,
    ) -> XapiResult<T> {
        let mut pool = self.lock();
        let result = change(&mut pool)?;
        self.save(&pool);
        Ok(result)
    }

    /// Saves the pool's records, with `--state`; a failure is logged (the pool in memory
    /// stays right).
    pub(crate) fn save(&self, pool: &Pool) {
        if let Some(path) = &self.state_file
            && let Err(error) = persist::save(pool, path)
        {
            tracing::error!(%error, "could not save the pool");
        }
    }
}
