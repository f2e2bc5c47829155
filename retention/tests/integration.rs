//! Integration tests of the retention crate, in one test binary:
//! - `rules`: table-driven cases for every rule and the tricky combinations;
//! - `restic`: restic's reference scenarios, replayed;
//! - `properties`: the plan's invariants over random inputs (proptest).
//!
//! The directory model's tests (`dirs`) moved to backup-core with the code.

mod integration {
    mod properties;
    mod restic;
    mod rules;
    mod support;
}
