//! Integration tests of the retention crate, in one test binary:
//! - `rules`: table-driven cases for every rule and the tricky combinations;
//! - `restic`: restic's reference scenarios, replayed;
//! - `properties`: the plan's invariants over random inputs (proptest);
//! - `dirs`: the directory model on real temporary directories.

mod integration {
    mod dirs;
    mod properties;
    mod restic;
    mod rules;
    mod support;
}
