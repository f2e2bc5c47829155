//! Fault injection: knobs a test turns through [`SimHandle::faults`](crate::SimHandle::faults)
//! to make the simulator fail the way a real pool or network does.
//!
//! One-shot faults (a failing call, a cut or stalled stream, a corrupt chunk, an error in a
//! 200 body) fire once and are gone; modes (redirects, keep-alive chunks, a delay of
//! asynchronous calls) stay until turned off or [`Faults::clear`]ed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::XapiError;

/// An HTTP transfer endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /export`.
    Export,
    /// `GET /export_metadata`.
    ExportMetadata,
    /// `GET /export_raw_vdi`.
    ExportRawVdi,
    /// `PUT /import`.
    Import,
    /// `PUT /import_raw_vdi`.
    ImportRawVdi,
    /// `GET /pool/xmldbdump`.
    XmlDbDump,
}

impl Endpoint {
    /// The endpoint's path (`/export`), which is also its name for [`Faults::fail_call`].
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Export => "/export",
            Endpoint::ExportMetadata => "/export_metadata",
            Endpoint::ExportRawVdi => "/export_raw_vdi",
            Endpoint::Import => "/import",
            Endpoint::ImportRawVdi => "/import_raw_vdi",
            Endpoint::XmlDbDump => "/pool/xmldbdump",
        }
    }

    /// The endpoint serving `path` (trailing slashes ignored, as XAPI's prefix routing does).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let path = path.trim_end_matches('/');
        [
            Endpoint::Export,
            Endpoint::ExportMetadata,
            Endpoint::ExportRawVdi,
            Endpoint::Import,
            Endpoint::ImportRawVdi,
            Endpoint::XmlDbDump,
        ]
        .into_iter()
        .find(|e| e.path() == path)
    }
}

/// A one-shot fault of the next transfer on an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferFault {
    /// Drop the connection after this many body bytes (sent, or for uploads received).
    Cut {
        /// Body bytes that pass before the cut.
        after_bytes: u64,
    },
    /// Sleep once when the body (sent, or for uploads received) reaches `at_byte` (0: before
    /// the first body byte).
    Stall {
        /// Body offset of the pause.
        at_byte: u64,
        /// Length of the pause.
        duration: Duration,
    },
    /// Flip a byte in the data of chunk `chunk` of the `disk`-th disk of an `/export`
    /// (archive order, from 0), so that its checksum no longer matches. Chunk 0 is always
    /// present in an XVA.
    CorruptChunk {
        /// Position of the disk in the archive.
        disk: usize,
        /// Chunk number.
        chunk: u64,
    },
    /// XAPI's bug: answer `200 OK` and put a whole `HTTP/1.1 500` response in the body.
    ErrorInBody,
    /// Send the body without a `Content-Length`, end it (cleanly, the connection closed as
    /// usual) after this many bytes, and report success in the task: what a client sees
    /// when a host's export stops early but its task does not notice. Applies to the
    /// endpoints that send a body of known length (`/export_raw_vdi`, `/pool/xmldbdump`,
    /// `/export_metadata`).
    Truncate {
        /// Body bytes sent before the body ends.
        after_bytes: u64,
    },
}

#[derive(Debug, Default)]
struct State {
    /// Per method: calls still to let through, and the error of the one after.
    call_failures: Vec<(String, u64, XapiError)>,
    calls: HashMap<String, u64>,
    transfers: Vec<(Endpoint, TransferFault)>,
    redirects: HashSet<Endpoint>,
    keepalive_every: Option<u64>,
    async_delay: Duration,
}

/// The fault knobs of one simulator (cheap to clone; clones share the knobs).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes the `nth` call (1: the next one) of `method` fail with `error` (`[code,
    /// params…]`). `method` is an RPC method without its `Async.` prefix (`VM.snapshot`
    /// fails both the call and `Async.VM.snapshot`'s task) or an endpoint path (`/export`:
    /// the transfer's task fails and the response is a 500).
    pub fn fail_call(&self, method: &str, nth: u64, error: &[&str]) {
        self.lock().call_failures.push((
            method.to_owned(),
            nth.saturating_sub(1),
            XapiError::from_description(error),
        ));
    }

    /// Arms a one-shot fault of the next transfer on `endpoint`.
    pub fn transfer(&self, endpoint: Endpoint, fault: TransferFault) {
        self.lock().transfers.push((endpoint, fault));
    }

    /// Answers transfers on `endpoint` with a `302` to the slave host (which serves them
    /// over https, in the same task), or stops doing so.
    pub fn redirect(&self, endpoint: Endpoint, on: bool) {
        let mut state = self.lock();
        if on {
            state.redirects.insert(endpoint);
        } else {
            state.redirects.remove(&endpoint);
        }
    }

    /// Makes `/export` emit XAPI's 0-byte keep-alive chunks (through disk-image's writer):
    /// after every `every` chunks of a disk, an empty chunk that takes the next number, so
    /// that later numbers no longer match offsets, as in XAPI's exports; `None` turns it off.
    pub fn keepalive_chunks(&self, every: Option<u64>) {
        self.lock().keepalive_every = every.filter(|n| *n > 0);
    }

    /// Delays the work of every `Async.*` call (its task stays pending meanwhile).
    pub fn async_delay(&self, delay: Duration) {
        self.lock().async_delay = delay;
    }

    /// Turns every fault and mode off.
    pub fn clear(&self) {
        let mut state = self.lock();
        let calls = std::mem::take(&mut state.calls);
        *state = State {
            calls,
            ..State::default()
        };
    }

    /// How many calls of `method` (as named for [`Faults::fail_call`]) were made so far.
    pub fn call_count(&self, method: &str) -> u64 {
        self.lock().calls.get(method).copied().unwrap_or(0)
    }

    /// Counts a call of `method` and returns the error it must fail with, if armed.
    pub(crate) fn on_call(&self, method: &str) -> Option<XapiError> {
        let mut state = self.lock();
        *state.calls.entry(method.to_owned()).or_default() += 1;
        let position = state
            .call_failures
            .iter()
            .position(|(m, _, _)| m == method)?;
        let entry = &mut state.call_failures[position];
        if entry.1 > 0 {
            entry.1 -= 1;
            return None;
        }
        Some(state.call_failures.remove(position).2)
    }

    /// Takes the one-shot faults armed for the next transfer on `endpoint`.
    pub(crate) fn take_transfer(&self, endpoint: Endpoint) -> Vec<TransferFault> {
        let mut state = self.lock();
        let (taken, kept) = std::mem::take(&mut state.transfers)
            .into_iter()
            .partition(|(e, _)| *e == endpoint);
        state.transfers = kept;
        taken.into_iter().map(|(_, fault)| fault).collect()
    }

    pub(crate) fn redirects(&self, endpoint: Endpoint) -> bool {
        self.lock().redirects.contains(&endpoint)
    }

    pub(crate) fn keepalive_every(&self) -> Option<u64> {
        self.lock().keepalive_every
    }

    pub(crate) fn delay(&self) -> Duration {
        self.lock().async_delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_call_fails_once() {
        let faults = Faults::default();
        faults.fail_call("VM.snapshot", 2, &["SR_FULL", "1", "2"]);
        assert_eq!(faults.on_call("VM.snapshot"), None);
        let error = faults.on_call("VM.snapshot").unwrap();
        assert_eq!(error.description(), ["SR_FULL", "1", "2"]);
        assert_eq!(faults.on_call("VM.snapshot"), None);
        assert_eq!(faults.call_count("VM.snapshot"), 3);
    }

    #[test]
    fn transfer_faults_are_one_shot() {
        let faults = Faults::default();
        faults.transfer(Endpoint::Export, TransferFault::ErrorInBody);
        assert!(faults.take_transfer(Endpoint::Import).is_empty());
        assert_eq!(
            faults.take_transfer(Endpoint::Export),
            [TransferFault::ErrorInBody]
        );
        assert!(faults.take_transfer(Endpoint::Export).is_empty());
        assert_eq!(Endpoint::from_path("/import/"), Some(Endpoint::Import));
    }
}
