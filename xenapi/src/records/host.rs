//! Pool-level records: host and pool.

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::types::Ref;

/// `host.get_record`: a physical host of the pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Fields are XAPI's, documented by XAPI.
pub struct HostRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub hostname: String,
    pub address: String,
    pub enabled: bool,
    #[serde(rename = "API_version_major")]
    pub api_version_major: i64,
    #[serde(rename = "API_version_minor")]
    pub api_version_minor: i64,
    pub software_version: StringMap,
    #[serde(rename = "resident_VMs")]
    pub resident_vms: Vec<Ref>,
    pub control_domain: Ref,
    pub other_config: StringMap,
}

/// `pool.get_record`: the pool (every host belongs to exactly one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Fields are XAPI's, documented by XAPI.
pub struct PoolRecord {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub master: Ref,
    #[serde(rename = "default_SR")]
    pub default_sr: Ref,
    pub other_config: StringMap,
}
