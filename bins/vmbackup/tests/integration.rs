//! Integration tests of vmbackup's foundations against real peers (one test binary).

mod integration {
    mod mail;
}
