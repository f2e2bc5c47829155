//! What every resource shares: references to other objects, faults, action bodies.

use super::wire_struct;

wire_struct! {
    /// A reference to another object: by `id` (what the engine sends), or by `name` (what a
    /// request may send instead, e.g. `<cluster><name>Default</name></cluster>`).
    Ref "ref" {
        /// The object's id.
        #[serde(rename = "@id")]
        id: String,
        /// The object's API path.
        #[serde(rename = "@href")]
        href: String,
        /// The object's name.
        name: String,
    }
}

impl Ref {
    /// A reference by id.
    pub fn id(id: impl Into<String>) -> Self {
        Ref {
            id: Some(id.into()),
            ..Ref::default()
        }
    }

    /// A reference by name.
    pub fn name(name: impl Into<String>) -> Self {
        Ref {
            name: Some(name.into()),
            ..Ref::default()
        }
    }
}

wire_struct! {
    /// An error body: `<fault><reason/><detail/></fault>`.
    Fault "fault" {
        /// The short reason ("Operation Failed").
        reason: String,
        /// The details ("[Cannot remove VM. Disk is locked.]").
        detail: String,
    }
}

wire_struct! {
    /// The body of an action (`POST …/start`) and of its answer.
    Action "action" {
        /// Override a running backup or a guest that does not shut down.
        force: bool,
        /// The action's outcome (`complete`, `failed`, …), in answers.
        status: String,
        /// A fault the engine put inside an accepted action.
        fault: Fault,
    }
}
