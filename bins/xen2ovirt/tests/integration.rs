//! End-to-end tests of the real binary: a VM of xapi-sim (a simulated XenServer pool over
//! real HTTP) moved into ovirt-sim (a simulated engine whose transfers go through the real
//! ovirt-imageio daemon), the bytes checked with `qemu-img compare`, both simulators'
//! audits clean, faults at each step.

mod integration {
    mod backup;
    mod dry_run;
    mod faults;
    mod fixup;
    mod migrate;
    mod shutdown;
    mod support;
    mod xl;
    mod xl_host;
    mod xva;
}
