//! Integration tests of the `xenapi` crate, in one binary.
//!
//! The codec tests need no feature. The client tests (`--features client`) run our client
//! against an independent peer: a fake XAPI pool written with Python's standard library
//! (`tests/integration/fake_xapi.py`), over real sockets, plain and TLS.

mod integration {
    #[cfg(feature = "client")]
    mod calls;
    mod codec;
    mod codec_properties;
    #[cfg(feature = "client")]
    mod keepalive;
    #[cfg(feature = "client")]
    mod session;
    #[cfg(feature = "client")]
    mod stalls;
    #[cfg(feature = "client")]
    mod support;
    #[cfg(feature = "client")]
    mod tls;
    #[cfg(feature = "client")]
    mod transfers;
}
