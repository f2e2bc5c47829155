//! Integration tests of vmbackup against real peers: the simulated pool over real sockets,
//! a real SMTP server; the real binary end to end (one test binary).

mod integration {
    mod backup_sr;
    mod backups;
    mod before_move;
    mod broken_pipe;
    mod cli;
    mod connect_flags;
    mod cut_streams;
    mod damaged_backups;
    mod faults;
    mod hostile_pool;
    mod inputs;
    mod mail;
    mod modes;
    mod output;
    mod ovirt_backups;
    mod ovirt_faults;
    mod ovirt_names;
    mod ovirt_ours;
    mod ovirt_restore_faults;
    mod ovirt_restore_support;
    mod ovirt_seed;
    mod ovirt_support;
    mod restore_checks;
    mod snapshots;
    mod stops;
    mod store_lock;
    mod support;
    mod tags;
}
