//! Integration tests of the simulator over real sockets, against independent clients:
//! Python's `xmlrpc.client` and the official XenAPI Python client, `curl`, GNU tar, and raw HTTP written by hand. `client` runs
//! the other way round: the workspace's client library (`xenapi`) against the simulator,
//! for the behaviour its own fake pool does not model.

mod integration {
    pub mod support;

    mod binary;
    mod cbt;
    mod client;
    mod export;
    mod faults;
    mod import;
    mod official_client;
    mod python;
    mod rpc;
}
