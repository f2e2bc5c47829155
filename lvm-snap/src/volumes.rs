//! Volume groups and logical volumes as `vgs` and `lvs` report them, typed.

use std::path::PathBuf;

use crate::attr::{LvAttr, VolumeType};
use crate::owner::{OWNER_TAG_PREFIX, Owner, TAG};
use crate::report::Row;

/// A volume group.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeGroup {
    /// Its name.
    pub name: String,
    /// Its UUID.
    pub uuid: String,
    /// `vg_attr`, as lvm2 prints it.
    pub attr: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its unallocated space in bytes.
    pub free: u64,
    /// The physical extent size in bytes.
    pub extent_size: u64,
    /// How many extents it has.
    pub extent_count: u64,
    /// How many are free.
    pub free_count: u64,
    /// How many logical volumes it holds.
    pub lv_count: u64,
    /// How many of them are copy-on-write snapshots.
    pub snap_count: u64,
    /// Its tags.
    pub tags: Vec<String>,
}

impl VolumeGroup {
    pub(crate) fn from_row(row: &Row) -> Result<Self, String> {
        Ok(VolumeGroup {
            name: row.text("vg_name")?.to_owned(),
            uuid: row.text("vg_uuid")?.to_owned(),
            attr: row.text("vg_attr")?.to_owned(),
            size: row.number("vg_size")?,
            free: row.number("vg_free")?,
            extent_size: row.number("vg_extent_size")?,
            extent_count: row.number("vg_extent_count")?,
            free_count: row.number("vg_free_count")?,
            lv_count: row.number("lv_count")?,
            snap_count: row.number("snap_count")?,
            tags: row.list("vg_tags")?,
        })
    }
}

/// A logical volume.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalVolume {
    /// Its volume group.
    pub vg: String,
    /// Its name.
    pub name: String,
    /// Its UUID.
    pub uuid: String,
    /// `/dev/<vg>/<lv>` (empty for hidden volumes).
    pub path: PathBuf,
    /// `/dev/mapper/<vg>-<lv>`.
    pub dm_path: PathBuf,
    /// `lv_attr`, decoded.
    pub attr: LvAttr,
    /// `lv_attr`, as lvm2 printed it.
    pub attr_text: String,
    /// Its size in bytes (for a copy-on-write snapshot: its copy-on-write space).
    pub size: u64,
    /// The origin's name, for a snapshot.
    pub origin: Option<String>,
    /// The origin's size in bytes, for a snapshot.
    pub origin_size: Option<u64>,
    /// The thin pool, for a thin volume.
    pub pool: Option<String>,
    /// How full it is, in percent: a thin volume's or pool's data, a snapshot's
    /// copy-on-write space.
    pub data_percent: Option<f64>,
    /// A copy-on-write snapshot's fill, in percent (100 once it overflowed).
    pub snap_percent: Option<f64>,
    /// A thin pool's metadata fill, in percent.
    pub metadata_percent: Option<f64>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether it is active (its device exists).
    pub active: bool,
    /// Its device number (major, minor), when active.
    pub device_number: Option<(u32, u32)>,
    /// Its segment type (`linear`, `thin`, `thin-pool`, …).
    pub segtype: String,
    /// When it was made, as lvm2 prints it.
    pub created: String,
}

impl LogicalVolume {
    pub(crate) fn from_row(row: &Row) -> Result<Self, String> {
        let attr_text = row.text("lv_attr")?.to_owned();
        let attr = LvAttr::parse(&attr_text)?;
        let active = match row.text("lv_active")? {
            "active" | "local exclusively" | "locally" => true,
            "" => false,
            other => return Err(format!("field `lv_active` is `{other}`")),
        };
        let major = row.text("lv_kernel_major")?;
        let minor = row.text("lv_kernel_minor")?;
        let device_number = match (major, minor) {
            ("-1", "-1") | ("", "") => None,
            _ => match (major.parse(), minor.parse()) {
                (Ok(major), Ok(minor)) => Some((major, minor)),
                _ => return Err(format!("device number `{major}:{minor}`")),
            },
        };
        Ok(LogicalVolume {
            vg: row.text("vg_name")?.to_owned(),
            name: row.text("lv_name")?.to_owned(),
            uuid: row.text("lv_uuid")?.to_owned(),
            path: PathBuf::from(row.text("lv_path")?),
            dm_path: PathBuf::from(row.text("lv_dm_path")?),
            attr,
            attr_text,
            size: row.number("lv_size")?,
            origin: row.optional("origin")?.map(str::to_owned),
            origin_size: row.optional_number("origin_size")?,
            pool: row.optional("pool_lv")?.map(str::to_owned),
            data_percent: row.percent("data_percent")?,
            snap_percent: row.percent("snap_percent")?,
            metadata_percent: row.percent("metadata_percent")?,
            tags: row.list("lv_tags")?,
            active,
            device_number,
            segtype: row.text("segtype")?.to_owned(),
            created: row.text("lv_time")?.to_owned(),
        })
    }

    /// Whether it is a snapshot: copy-on-write (`s`, `S`) or a thin volume with an origin.
    pub fn is_snapshot(&self) -> bool {
        match self.attr.volume_type {
            VolumeType::Snapshot | VolumeType::MergingSnapshot => true,
            VolumeType::Thin => self.origin.is_some(),
            _ => false,
        }
    }

    /// Whether it is a thin volume (a thin snapshot is one).
    pub fn is_thin(&self) -> bool {
        self.attr.volume_type == VolumeType::Thin
    }

    /// Whether it carries the `vmtoolkit` tag: made by this crate.
    pub fn is_ours(&self) -> bool {
        self.tags.iter().any(|t| t == TAG)
    }

    /// The owner named by its owner tag, if it has a well-formed one.
    pub fn owner(&self) -> Option<Owner> {
        self.tags
            .iter()
            .find(|t| t.starts_with(OWNER_TAG_PREFIX))
            .and_then(|t| Owner::from_tag(t))
    }

    /// The device to open: `lv_path`, or the device-mapper path for volumes without one.
    pub fn device(&self) -> PathBuf {
        if self.path.as_os_str().is_empty() {
            self.dm_path.clone()
        } else {
            self.path.clone()
        }
    }
}
