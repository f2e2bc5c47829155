//! Integration tests of the simulator over real sockets, against independent clients:
//! Python's `xmlrpc.client`, `curl`, GNU tar, and raw HTTP written by hand.

mod integration {
    pub mod support;

    mod binary;
    mod cbt;
    mod export;
    mod faults;
    mod import;
    mod python;
    mod rpc;
}
