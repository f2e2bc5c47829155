//! Integration tests of the simulated engine and of the imageio harness, against real
//! components: the ovirt-imageio daemon, qemu-nbd, qemu-img and the official Python client.

mod integration {
    mod imageio;
    mod support;
}
