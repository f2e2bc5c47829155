//! `lv_attr`, the ten-character state string of `lvs`, decoded as lvs(8) and lvm2's
//! `lv_attr_dup_with_info_and_seg_status` (lib/metadata/lv.c) define it. Every position is
//! checked: a character this crate does not know is an error, never a guess.

/// Position 1: what kind of volume this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolumeType {
    /// `-`: a plain volume.
    Plain,
    /// `o`: the origin of a snapshot.
    Origin,
    /// `O`: an origin with a merging snapshot.
    MergingOrigin,
    /// `s`: a copy-on-write snapshot.
    Snapshot,
    /// `S`: a merging snapshot.
    MergingSnapshot,
    /// `V`: a thin volume (a thin snapshot is one too, with an origin).
    Thin,
    /// `t`: a thin pool.
    ThinPool,
    /// `T`: a thin pool's data.
    ThinPoolData,
    /// `e`: pool or RAID metadata, or the pool metadata spare.
    Metadata,
    /// `C`: a cache volume or cache pool.
    Cache,
    /// `m` / `M`: a mirror (`M`: without initial sync).
    Mirror,
    /// `r` / `R`: a RAID volume (`R`: without initial sync).
    Raid,
    /// `i` / `I`: a mirror or RAID image (`I`: out of sync).
    Image,
    /// `l`: a mirror log.
    MirrorLog,
    /// `p`: a pvmove volume.
    Pvmove,
    /// `c`: a volume under conversion.
    Converting,
    /// `v`: a virtual volume (error, zero).
    Virtual,
    /// `d`: a VDO pool.
    VdoPool,
    /// `D`: a VDO pool's data.
    VdoPoolData,
}

/// Position 5: the device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LvState {
    /// `-`: not active.
    Inactive,
    /// `a`: active.
    Active,
    /// `h`: historical (removed, kept in the metadata's history).
    Historical,
    /// `s`: suspended.
    Suspended,
    /// `I`: an invalid snapshot (its copy-on-write space overflowed).
    InvalidSnapshot,
    /// `S`: an invalid snapshot, suspended.
    SuspendedInvalidSnapshot,
    /// `m`: a snapshot whose merge failed.
    MergeFailed,
    /// `M`: a snapshot whose merge failed, suspended.
    SuspendedMergeFailed,
    /// `d`: a mapped device without tables.
    NoTable,
    /// `i`: a mapped device with an inactive table.
    InactiveTable,
    /// `c`: a thin or cache pool whose check is needed.
    CheckNeeded,
    /// `C`: the same, suspended.
    SuspendedCheckNeeded,
    /// `X`: unknown.
    Unknown,
}

/// Position 9: the volume's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// `-`: nothing to report.
    Ok,
    /// `p`: partial (a physical volume is missing).
    Partial,
    /// `X`: unknown.
    Unknown,
    /// `r`: a RAID volume needs a refresh.
    RefreshNeeded,
    /// `m`: a RAID volume has mismatches.
    Mismatches,
    /// `w`: a write-mostly RAID image.
    WriteMostly,
    /// `s`: a RAID volume is reshaping.
    Reshaping,
    /// `R`: a RAID image to remove after a reshape.
    RemoveAfterReshape,
    /// `F`: a failed thin pool, thin volume or cache.
    Failed,
    /// `D`: a thin pool out of data space.
    OutOfData,
    /// `M`: a thin pool or cache whose metadata is read-only.
    MetadataReadOnly,
    /// `E`: a writecache error.
    Error,
}

/// Position 7: the kernel target the volume uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `-`: a plain linear or striped mapping.
    Plain,
    /// `s`: the snapshot target (origins and copy-on-write snapshots).
    Snapshot,
    /// `t`: the thin target (thin pools and volumes).
    Thin,
    /// `C`: the cache target.
    Cache,
    /// `r`: the RAID target.
    Raid,
    /// `m`: the mirror target.
    Mirror,
    /// `v`: a virtual target.
    Virtual,
    /// `u`: unknown.
    Unknown,
}

/// A decoded `lv_attr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvAttr {
    /// Position 1.
    pub volume_type: VolumeType,
    /// Position 2: writeable (`w`); `r` and `R` are read-only.
    pub writeable: bool,
    /// Position 5.
    pub state: LvState,
    /// Position 6: the device is open (mounted, in use); `None` when lvm2 says unknown.
    pub open: Option<bool>,
    /// Position 7.
    pub target: Target,
    /// Position 9.
    pub health: Health,
    /// Position 10: `k`, the volume is skipped by plain activation.
    pub skip_activation: bool,
}

impl LvAttr {
    /// Decodes the ten characters, or says which one is not known.
    pub fn parse(attr: &str) -> Result<Self, String> {
        let chars: Vec<char> = attr.chars().collect();
        let [
            kind,
            perm,
            alloc,
            minor,
            state,
            open,
            target,
            zero,
            health,
            skip,
        ] = chars[..]
        else {
            return Err(format!("lv_attr `{attr}` is not 10 characters"));
        };
        let bad = |position: usize, c: char| {
            format!("lv_attr `{attr}`: unknown character `{c}` at position {position}")
        };
        let writeable = match perm {
            'w' => true,
            'r' | 'R' | '-' => false,
            c => return Err(bad(2, c)),
        };
        if !matches!(
            alloc.to_ascii_lowercase(),
            'a' | 'c' | 'i' | 'l' | 'n' | '-'
        ) {
            return Err(bad(3, alloc));
        }
        if !matches!(minor, 'm' | '-') {
            return Err(bad(4, minor));
        }
        let open = match open {
            'o' => Some(true),
            '-' => Some(false),
            'X' => None,
            c => return Err(bad(6, c)),
        };
        if !matches!(zero, 'z' | '-') {
            return Err(bad(8, zero));
        }
        let skip_activation = match skip {
            'k' => true,
            '-' => false,
            c => return Err(bad(10, c)),
        };
        Ok(LvAttr {
            volume_type: volume_type(kind).ok_or_else(|| bad(1, kind))?,
            writeable,
            state: lv_state(state).ok_or_else(|| bad(5, state))?,
            open,
            target: kernel_target(target).ok_or_else(|| bad(7, target))?,
            health: volume_health(health).ok_or_else(|| bad(9, health))?,
            skip_activation,
        })
    }

    /// Whether the snapshot is invalid: its copy-on-write space overflowed (`I`, `S`).
    pub fn invalid(&self) -> bool {
        matches!(
            self.state,
            LvState::InvalidSnapshot | LvState::SuspendedInvalidSnapshot
        )
    }

    /// Whether a snapshot merge failed (`m`, `M`).
    pub fn merge_failed(&self) -> bool {
        matches!(
            self.state,
            LvState::MergeFailed | LvState::SuspendedMergeFailed
        )
    }
}

fn volume_type(c: char) -> Option<VolumeType> {
    Some(match c {
        '-' => VolumeType::Plain,
        'o' => VolumeType::Origin,
        'O' => VolumeType::MergingOrigin,
        's' => VolumeType::Snapshot,
        'S' => VolumeType::MergingSnapshot,
        'V' => VolumeType::Thin,
        't' => VolumeType::ThinPool,
        'T' => VolumeType::ThinPoolData,
        'e' => VolumeType::Metadata,
        'C' => VolumeType::Cache,
        'm' | 'M' => VolumeType::Mirror,
        'r' | 'R' => VolumeType::Raid,
        'i' | 'I' => VolumeType::Image,
        'l' => VolumeType::MirrorLog,
        'p' => VolumeType::Pvmove,
        'c' => VolumeType::Converting,
        'v' => VolumeType::Virtual,
        'd' => VolumeType::VdoPool,
        'D' => VolumeType::VdoPoolData,
        _ => return None,
    })
}

fn lv_state(c: char) -> Option<LvState> {
    Some(match c {
        '-' => LvState::Inactive,
        'a' => LvState::Active,
        'h' => LvState::Historical,
        's' => LvState::Suspended,
        'I' => LvState::InvalidSnapshot,
        'S' => LvState::SuspendedInvalidSnapshot,
        'm' => LvState::MergeFailed,
        'M' => LvState::SuspendedMergeFailed,
        'd' => LvState::NoTable,
        'i' => LvState::InactiveTable,
        'c' => LvState::CheckNeeded,
        'C' => LvState::SuspendedCheckNeeded,
        'X' => LvState::Unknown,
        _ => return None,
    })
}

fn kernel_target(c: char) -> Option<Target> {
    Some(match c {
        '-' => Target::Plain,
        's' => Target::Snapshot,
        't' => Target::Thin,
        'C' => Target::Cache,
        'r' => Target::Raid,
        'm' => Target::Mirror,
        'v' => Target::Virtual,
        'u' => Target::Unknown,
        _ => return None,
    })
}

fn volume_health(c: char) -> Option<Health> {
    Some(match c {
        '-' => Health::Ok,
        'p' => Health::Partial,
        'X' => Health::Unknown,
        'r' => Health::RefreshNeeded,
        'm' => Health::Mismatches,
        'w' => Health::WriteMostly,
        's' => Health::Reshaping,
        'R' => Health::RemoveAfterReshape,
        'F' => Health::Failed,
        'D' => Health::OutOfData,
        'M' => Health::MetadataReadOnly,
        'E' => Health::Error,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_lvm2_printed_in_the_guest_decode() {
        let origin = LvAttr::parse("owi-aos---").unwrap();
        assert_eq!(origin.volume_type, VolumeType::Origin);
        assert_eq!(origin.state, LvState::Active);
        assert_eq!(origin.open, Some(true));
        assert!(origin.target == Target::Snapshot && origin.writeable && !origin.invalid());

        let overflowed = LvAttr::parse("swi-I-s---").unwrap();
        assert_eq!(overflowed.volume_type, VolumeType::Snapshot);
        assert!(overflowed.invalid());
        assert_eq!(overflowed.open, Some(false));

        let thin_snapshot = LvAttr::parse("Vwi---tz-k").unwrap();
        assert_eq!(thin_snapshot.volume_type, VolumeType::Thin);
        assert_eq!(thin_snapshot.state, LvState::Inactive);
        assert!(thin_snapshot.skip_activation && thin_snapshot.target == Target::Thin);

        let pool = LvAttr::parse("twi-aotzD-").unwrap();
        assert_eq!(pool.volume_type, VolumeType::ThinPool);
        assert_eq!(pool.health, Health::OutOfData);

        let merge_failed = LvAttr::parse("Swi-M-s---").unwrap();
        assert!(merge_failed.merge_failed() && !merge_failed.invalid());
        assert_eq!(
            LvAttr::parse("swi-m-s---").unwrap().state,
            LvState::MergeFailed
        );
        assert_eq!(LvAttr::parse("owi-XXs-X-").unwrap().open, None);
    }

    #[test]
    fn unknown_characters_and_lengths_are_errors() {
        for (attr, position) in [
            ("qwi-a-----", "position 1"),
            ("oxi-a-----", "position 2"),
            ("owq-a-----", "position 3"),
            ("owi-Q-----", "position 5"),
            ("owi-aq----", "position 6"),
            ("owi-a-q---", "position 7"),
            ("owi-a--q--", "position 8"),
            ("owi-a---q-", "position 9"),
            ("owi-a----q", "position 10"),
        ] {
            let error = LvAttr::parse(attr).unwrap_err();
            assert!(error.contains(position), "{attr}: {error}");
        }
        assert!(LvAttr::parse("owi-a").is_err());
        assert!(LvAttr::parse("").is_err());
    }
}
