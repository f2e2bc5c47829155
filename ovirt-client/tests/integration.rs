//! Integration tests: the parser against real engine bodies, the connection over real TLS,
//! every request type against the simulated engine (ovirt-sim), the data path against the
//! real ovirt-imageio daemon (file and NBD backends, TLS), results checked with `qemu-img`.

mod integration {
    mod backup;
    mod engine;
    mod engine_tls;
    mod imageio;
    mod pieces;
    mod restore;
    mod samples;
    mod simplebackup;
    mod support;
}
