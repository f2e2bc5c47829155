//! The engine a restore goes to: logging in with the shared connection flags' choices,
//! and the names a restore's options give (cluster, vNIC profile) looked up there.

use cli_common::TlsChoice;
use cli_common::secrets::Secret;
use std::time::Duration;

use ovirt_client::{ConnectOptions, Connection, PollPolicy};

use super::error::{self, Result};

/// The user an oVirt restore logs in as when none is given.
pub const DEFAULT_USER: &str = "admin@internal";

/// Where and how to log in.
#[derive(Debug, Clone)]
pub struct EngineLogin {
    /// The engine (`https://engine.example`).
    pub url: String,
    /// The user, with its profile (`admin@internal`).
    pub user: String,
    /// Whom to trust.
    pub tls: TlsChoice,
}

/// Logs in. A restore waits for many short steps (a new disk, a transfer starting and
/// finalizing, per disk): its status polls start at 100 ms and back off to 1 s.
pub fn connect(login: &EngineLogin, password: &Secret) -> Result<Connection> {
    let mut options = ConnectOptions::new(&login.url, &login.user);
    options.poll = PollPolicy {
        min: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    options.trust = crate::ovirt::ovirt_trust(&login.tls)?;
    Connection::connect(options, password.expose()).map_err(error::engine(format!(
        "logging in to {} as {}",
        login.url, login.user
    )))
}

/// The cluster named `name`, or the engine's only cluster when `name` is `None`.
pub fn cluster(connection: &Connection, name: Option<&str>) -> Result<String> {
    let clusters = connection
        .clusters()
        .map_err(error::engine("listing the clusters"))?;
    let names: Vec<String> = clusters.into_iter().filter_map(|c| c.name).collect();
    match name {
        Some(name) if names.iter().any(|n| n == name) => Ok(name.to_owned()),
        Some(name) => Err(error::usage(format!(
            "no cluster `{name}` on the engine (it has: {})",
            names.join(", ")
        ))),
        None => match names.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(error::usage(format!(
                "the engine has {} clusters: choose one with --cluster ({})",
                names.len(),
                names.join(", ")
            ))),
        },
    }
}

/// Every vNIC profile of the engine, as (network name, profile name, profile id).
fn profiles(connection: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut all = Vec::new();
    for network in connection
        .networks()
        .map_err(error::engine("listing the networks"))?
    {
        let (Some(network_id), Some(network_name)) = (network.id, network.name) else {
            continue;
        };
        for profile in connection
            .vnic_profiles(&network_id)
            .map_err(error::engine("listing the vNIC profiles"))?
        {
            if let (Some(id), Some(name)) = (profile.id, profile.name) {
                all.push((network_name.clone(), name, id));
            }
        }
    }
    Ok(all)
}

/// The id of the vNIC profile `name` (a profile name, `network/profile`, or an id).
pub fn profile_by_name(connection: &Connection, name: &str) -> Result<String> {
    let all = profiles(connection)?;
    let found: Vec<&(String, String, String)> = all
        .iter()
        .filter(|(network, profile, id)| {
            id == name || profile == name || format!("{network}/{profile}") == name
        })
        .collect();
    match found.as_slice() {
        [(_, _, id)] => Ok(id.clone()),
        [] => Err(error::usage(format!(
            "no vNIC profile `{name}` on the engine"
        ))),
        _ => Err(error::usage(format!(
            "several vNIC profiles are named `{name}`: write NETWORK/PROFILE"
        ))),
    }
}

/// The profile of a NIC that was on network `network` (known by name only): the network's
/// profile of the same name (what the engine makes with every network).
pub fn profile_for_network(connection: &Connection, network: Option<&str>) -> Result<String> {
    let Some(network) = network else {
        return Err(error::usage(
            "a NIC of the backup names no network: choose a vNIC profile with --vnic-profile",
        ));
    };
    profiles(connection)?
        .into_iter()
        .find(|(net, profile, _)| net == network && profile == network)
        .map(|(_, _, id)| id)
        .ok_or_else(|| {
            error::usage(format!(
                "a NIC of the backup was on network `{network}`, which has no profile of that \
                 name here: choose one with --vnic-profile"
            ))
        })
}
