//! Integration tests of vmbackup against real peers: the simulated pool over real sockets,
//! a real SMTP server; the real binary end to end (one test binary).

mod integration {
    mod backups;
    mod cli;
    mod faults;
    mod inputs;
    mod mail;
    mod output;
    mod stops;
    mod support;
}
