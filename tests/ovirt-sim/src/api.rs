//! The REST API under `/ovirt-engine/api`: routing by path segments to the resource handlers.

mod attachments;
mod backups;
mod disks;
mod misc;
mod snapshots;
mod transfers;
mod vms;

use crate::engine::{Engine, Handled, Reply};
use crate::xml::{Node, Xml};

/// One API request, as the handlers see it.
pub(crate) struct ApiRequest<'a> {
    pub method: &'a str,
    /// The path below `/ovirt-engine/api`, split at `/`.
    pub segments: Vec<&'a str>,
    pub query: &'a [(String, String)],
    /// The body, parsed (POST and PUT).
    pub body: Option<Node>,
    /// `all_content=true` (query) or `All-Content: true` (header).
    pub all_content: bool,
}

impl ApiRequest<'_> {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, or the engine's fault for a missing one.
    pub(crate) fn body(&self) -> Result<&Node, Reply> {
        self.body
            .as_ref()
            .ok_or_else(|| Reply::bad_request("The request has no body"))
    }

    /// A boolean query parameter (absent: `default`).
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool, Reply> {
        match self.param(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(Reply::bad_request(&format!(
                "Invalid value '{other}' for parameter '{name}'"
            ))),
        }
    }
}

/// The id the engine gives every VM's `active` snapshot (stable per VM).
pub(crate) fn active_snapshot_id(vm: &str) -> String {
    let mut id: Vec<char> = vm.chars().collect();
    if let Some(first) = id.first_mut() {
        *first = if *first == 'a' { 'b' } else { 'a' };
    }
    id.into_iter().collect()
}

/// A collection body: `<name>…items…</name>`.
pub(crate) fn collection(name: &str, items: impl FnOnce(&mut Xml)) -> Reply {
    let mut x = Xml::new();
    x.open(name, &[]);
    items(&mut x);
    x.close(name);
    Reply::xml(200, x.finish())
}

/// Routes a request; the reply is the engine's answer, a fault included.
pub(crate) fn handle(engine: &mut Engine, request: &ApiRequest<'_>) -> Reply {
    engine.tick();
    route(engine, request).unwrap_or_else(|fault| fault)
}

fn route(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    let s = r.segments.as_slice();
    match (r.method, s) {
        ("GET", []) => Ok(misc::root(engine)),
        (
            _,
            [
                "clusters" | "datacenters" | "hosts" | "networks" | "vnicprofiles" | "users"
                | "storagedomains",
                ..,
            ],
        ) => misc::infrastructure(engine, r),
        (_, ["tags", ..]) => misc::tags(engine, r),
        (_, ["jobs", ..]) => misc::jobs(engine, r),
        (_, ["disks", ..]) => disks::route(engine, r),
        (_, ["imagetransfers", ..]) => transfers::route(engine, r),
        (_, ["vms", vm, "diskattachments", ..]) => attachments::route(engine, r, vm),
        (_, ["vms", vm, "snapshots", ..]) => snapshots::route(engine, r, vm),
        (_, ["vms", vm, "backups" | "checkpoints", ..]) => backups::route(engine, r, vm),
        (_, ["vms", ..]) => vms::route(engine, r),
        _ => Err(Reply::not_found()),
    }
}

/// A `search` parameter of the form `KEY=VALUE` (with `*` wildcards), the one form the
/// simulator supports; anything else is refused, never ignored.
pub(crate) fn search<'a>(r: &'a ApiRequest<'_>, key: &str) -> Result<Option<&'a str>, Reply> {
    let Some(search) = r.param("search") else {
        return Ok(None);
    };
    let search = search.trim();
    if search.is_empty() {
        return Ok(None);
    }
    match search.split_once('=') {
        Some((k, v)) if k.trim() == key && !v.contains(' ') => Ok(Some(v.trim())),
        _ => Err(Reply::bad_request(&format!(
            "The simulator supports only the search '{key}=VALUE', not '{search}'"
        ))),
    }
}

/// Whether `text` matches a search pattern (`*` matches anything).
pub(crate) fn matches(pattern: &str, text: &str, case_sensitive: bool) -> bool {
    let (pattern, text) = if case_sensitive {
        (pattern.to_owned(), text.to_owned())
    } else {
        (pattern.to_lowercase(), text.to_lowercase())
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// The id in `<name id="…"/>` under `node`, or a fault naming what is missing.
pub(crate) fn id_of<'a>(node: &'a Node, name: &str, what: &str) -> Result<&'a str, Reply> {
    node.child(name).and_then(|n| n.attr("id")).ok_or_else(|| {
        Reply::fault(
            400,
            "Incomplete parameters",
            &format!("{what} [{name}.id] required"),
        )
    })
}

/// A `u64` element, if present, or a fault.
pub(crate) fn number(node: &Node, path: &str) -> Result<Option<u64>, Reply> {
    node.text_at(path)
        .map(|t| {
            t.parse()
                .map_err(|_| Reply::bad_request(&format!("Invalid value '{t}' for '{path}'")))
        })
        .transpose()
}

/// A boolean element, if present, or a fault.
pub(crate) fn boolean(node: &Node, path: &str) -> Result<Option<bool>, Reply> {
    match node.text_at(path) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(t) => Err(Reply::bad_request(&format!(
            "Invalid value '{t}' for '{path}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns() {
        assert!(matches("myvm", "myvm", true));
        assert!(!matches("myvm", "MyVm", true));
        assert!(matches("myvm", "MyVm", false));
        assert!(matches("my*", "myvm2", true));
        assert!(matches("*vm*", "a-vm-b", true));
        assert!(!matches("my*x", "myvm", true));
        assert_ne!(active_snapshot_id("a1"), "a1");
    }
}
