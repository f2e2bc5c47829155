//! The API root, the infrastructure (data center, cluster, host, storage domains, networks,
//! vNIC profiles, users), tags and jobs.

use super::{ApiRequest, collection, matches, search};
use crate::API;
use crate::engine::{Engine, Handled, Reply, new_id};
use crate::model::Tag;
use crate::views;
use crate::xml::Xml;

/// `GET /ovirt-engine/api`.
pub(super) fn root(engine: &Engine) -> Reply {
    let mut x = Xml::new();
    x.open("api", &[]);
    for rel in [
        "clusters",
        "datacenters",
        "disks",
        "hosts",
        "imagetransfers",
        "jobs",
        "networks",
        "storagedomains",
        "tags",
        "users",
        "vms",
        "vnicprofiles",
    ] {
        x.empty("link", &[("href", &format!("{API}/{rel}")), ("rel", rel)]);
    }
    x.open("product_info", &[])
        .leaf("name", "oVirt Engine (ovirt-sim)")
        .leaf("vendor", "ovirt.org");
    x.open("version", &[])
        .leaf("build", 0)
        .leaf("full_version", "4.5.6-ovirt-sim");
    x.leaf("major", 4)
        .leaf("minor", 5)
        .leaf("revision", 0)
        .close("version")
        .close("product_info");
    x.open("special_objects", &[]);
    x.empty(
        "blank_template",
        &[
            (
                "href",
                &format!("{API}/templates/{}", crate::BLANK_TEMPLATE),
            ),
            ("id", crate::BLANK_TEMPLATE),
        ],
    );
    x.close("special_objects");
    x.open("summary", &[])
        .open("vms", &[])
        .leaf("total", engine.vms.len())
        .close("vms");
    x.close("summary")
        .leaf("time", crate::engine::now_text())
        .close("api");
    Reply::xml(200, x.finish())
}

fn named(
    x: &mut Xml,
    element: &str,
    collection_name: &str,
    id: &str,
    name: &str,
    extra: &dyn Fn(&mut Xml),
) {
    x.open(
        element,
        &[
            ("href", &format!("{API}/{collection_name}/{id}")),
            ("id", id),
        ],
    );
    x.leaf("name", name);
    extra(x);
    x.close(element);
}

/// Clusters, data centers, hosts, networks, vNIC profiles, users, storage domains: one
/// table of the fixed objects, read by kind.
#[allow(clippy::too_many_lines)] // one match arm per kind of fixed object
pub(super) fn infrastructure(engine: &Engine, r: &ApiRequest<'_>) -> Handled {
    if r.method != "GET" {
        return Err(Reply::fault(
            405,
            "Method Not Allowed",
            "The simulator's infrastructure is fixed",
        ));
    }
    let dc = engine.data_center.0.clone();
    let cluster = engine.cluster.0.clone();
    let one = |x: &mut Xml, kind: &str, id: &str| -> bool {
        match kind {
            "clusters" if id == engine.cluster.0 => {
                named(x, "cluster", kind, id, &engine.cluster.1, &|x| {
                    x.link("data_center", "datacenters", &dc);
                });
            }
            "datacenters" if id == engine.data_center.0 => {
                named(x, "data_center", kind, id, &engine.data_center.1, &|x| {
                    x.leaf("local", "false").leaf("status", "up");
                });
            }
            "hosts" if id == engine.host.0 => named(x, "host", kind, id, &engine.host.1, &|x| {
                x.leaf("address", "127.0.0.1").leaf("status", "up");
                x.link("cluster", "clusters", &cluster);
            }),
            "users" if id == crate::ADMIN_USER_ID => {
                named(x, "user", kind, id, "admin", &|x| {
                    x.leaf("domain_entry_id", "admin")
                        .leaf("principal", "admin");
                    x.leaf("user_name", &engine.user);
                });
            }
            "networks" => {
                let Some(n) = engine.networks.iter().find(|n| n.id == id) else {
                    return false;
                };
                named(x, "network", kind, id, &n.name, &|x| {
                    x.link("data_center", "datacenters", &dc);
                });
            }
            "vnicprofiles" => {
                let Some(n) = engine.networks.iter().find(|n| n.profile_id == id) else {
                    return false;
                };
                named(x, "vnic_profile", kind, id, &n.name, &|x| {
                    x.link("network", "networks", &n.id);
                });
            }
            "storagedomains" => {
                let Some(sd) = engine.sd(id) else {
                    return false;
                };
                views::storage_domain(engine, sd, x);
            }
            _ => return false,
        }
        true
    };
    let ids = |kind: &str| -> Vec<String> {
        match kind {
            "clusters" => vec![engine.cluster.0.clone()],
            "datacenters" => vec![engine.data_center.0.clone()],
            "hosts" => vec![engine.host.0.clone()],
            "users" => vec![crate::ADMIN_USER_ID.to_owned()],
            "networks" => engine.networks.iter().map(|n| n.id.clone()).collect(),
            "vnicprofiles" => engine
                .networks
                .iter()
                .map(|n| n.profile_id.clone())
                .collect(),
            _ => engine
                .storage_domains
                .iter()
                .map(|s| s.id.clone())
                .collect(),
        }
    };
    let names = |kind: &str, id: &str| -> String {
        match kind {
            "clusters" => engine.cluster.1.clone(),
            "datacenters" => engine.data_center.1.clone(),
            "hosts" => engine.host.1.clone(),
            "users" => engine.user.clone(),
            "networks" => engine
                .networks
                .iter()
                .find(|n| n.id == id)
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            "vnicprofiles" => engine
                .networks
                .iter()
                .find(|n| n.profile_id == id)
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            _ => engine.sd(id).map(|s| s.name.clone()).unwrap_or_default(),
        }
    };
    match r.segments.as_slice() {
        [kind] => {
            let pattern = search(r, "name")?;
            let case_sensitive = r.flag("case_sensitive", true)?;
            let element = match *kind {
                "clusters" => "clusters",
                "datacenters" => "data_centers",
                "hosts" => "hosts",
                "users" => "users",
                "networks" => "networks",
                "vnicprofiles" => "vnic_profiles",
                _ => "storage_domains",
            };
            Ok(collection(element, |x| {
                for id in ids(kind) {
                    if pattern.is_none_or(|p| matches(p, &names(kind, &id), case_sensitive)) {
                        one(x, kind, &id);
                    }
                }
            }))
        }
        [kind, id] => {
            let mut x = Xml::new();
            if one(&mut x, kind, id) {
                Ok(Reply::xml(200, x.finish()))
            } else {
                Err(Reply::not_found())
            }
        }
        ["networks", id, "vnicprofiles"] => {
            let network = engine
                .networks
                .iter()
                .find(|n| n.id == *id)
                .ok_or_else(Reply::not_found)?;
            Ok(collection("vnic_profiles", |x| {
                one(x, "vnicprofiles", &network.profile_id);
            }))
        }
        _ => Err(Reply::not_found()),
    }
}

/// `/tags`.
pub(super) fn tags(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    match (r.method, r.segments.as_slice()) {
        ("GET", [_]) => Ok(collection("tags", |x| {
            for t in &engine.tags {
                views::tag(t, x);
            }
        })),
        ("POST", [_]) => {
            let body = r.body()?;
            let name = body
                .text_at("name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    Reply::fault(400, "Incomplete parameters", "Tag [name] required for add")
                })?;
            if engine.tags.iter().any(|t| t.name == name) {
                return Err(Reply::fault(
                    409,
                    "Operation Failed",
                    &format!("Tag {name} already exists"),
                ));
            }
            let tag = Tag {
                id: new_id(),
                name: name.to_owned(),
                description: body.text_at("description").unwrap_or_default().to_owned(),
            };
            let mut x = Xml::new();
            views::tag(&tag, &mut x);
            engine.tags.push(tag);
            Ok(Reply::xml(201, x.finish()))
        }
        ("GET", [_, id]) => {
            let tag = engine
                .tags
                .iter()
                .find(|t| t.id == *id)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::tag(tag, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", [_, id]) => {
            let before = engine.tags.len();
            engine.tags.retain(|t| t.id != *id);
            if engine.tags.len() == before {
                return Err(Reply::not_found());
            }
            for vm in &mut engine.vms {
                vm.tags.retain(|t| t != id);
            }
            Ok(Reply::removed())
        }
        _ => Err(Reply::not_found()),
    }
}

/// `/jobs`, searchable by `correlation_id`.
pub(super) fn jobs(engine: &Engine, r: &ApiRequest<'_>) -> Handled {
    match (r.method, r.segments.as_slice()) {
        ("GET", [_]) => {
            let correlation = search(r, "correlation_id")?;
            Ok(collection("jobs", |x| {
                for job in &engine.jobs {
                    if correlation.is_none_or(|c| matches(c, &job.correlation_id, true)) {
                        views::job(job, x);
                    }
                }
            }))
        }
        ("GET", [_, id]) => {
            let job = engine
                .jobs
                .iter()
                .find(|j| j.id == *id)
                .ok_or_else(Reply::not_found)?;
            let mut x = Xml::new();
            views::job(job, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        _ => Err(Reply::not_found()),
    }
}
