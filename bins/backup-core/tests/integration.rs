//! Integration tests of backup-core, in one test binary:
//! - `dirs`: the store's directory model (scan and apply) on real temporary directories,
//!   in our layout and NAUbackup's;
//! - `fixture`: backups written by vmbackup before the store moved: read, listed,
//!   verified, pruned.

mod integration {
    mod dirs;
    mod fixture;
    mod support;
}
