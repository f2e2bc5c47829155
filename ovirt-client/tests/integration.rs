//! Integration tests: the parser against real engine bodies, the client against the
//! simulated engine, the data path against the real ovirt-imageio daemon.

mod integration {
    mod samples;
}
