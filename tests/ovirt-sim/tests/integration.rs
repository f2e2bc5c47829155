//! Integration tests of the simulated engine and of the imageio harness, against real
//! components: the ovirt-imageio daemon, qemu-nbd, qemu-img and the official Python client.

mod integration {
    mod appliance;
    mod binary;
    mod faults;
    mod imageio;
    mod sdk;
    mod support;
    mod transfers;
}
