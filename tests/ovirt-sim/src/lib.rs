//! `ovirt-sim`: a simulated oVirt engine for tests and demos, whose image transfers go through
//! the real `ovirt-imageio` daemon.
//!
//! [`imageio`] is the harness that runs the real daemon (and `qemu-nbd`) on loopback; any
//! test can use it on its own.

pub mod imageio;
