//! Integration tests of backup-core, in one test binary:
//! - `dirs`: the store's directory model (scan and apply) on real temporary directories,
//!   in our layout and NAUbackup's.

mod integration {
    mod dirs;
    mod support;
}
