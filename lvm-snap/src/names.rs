//! Volume group and logical volume names, checked before they reach a command line: lvm2's
//! character set (`A-Z a-z 0-9 + _ . -`), no leading `-` (it would read as an option), not
//! `.` or `..`, at most 127 characters, and none of the suffixes lvm2 reserves for hidden
//! sub-volumes.

use std::fmt;

use crate::error::{LvmError, Result};

/// Substrings lvm2 refuses in LV names (they name hidden sub-volumes).
const RESERVED: &[&str] = &[
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_iorig", "_mimage", "_mlog", "_pmspare",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
];

/// Checks a VG or LV name.
pub fn check_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 127 {
        Some("it is longer than 127 characters")
    } else if name.starts_with('-') {
        Some("it starts with `-`")
    } else if name == "." || name == ".." {
        Some("it is `.` or `..`")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'_' | b'.' | b'-'))
    {
        Some("only A-Z a-z 0-9 + _ . - are allowed")
    } else if RESERVED.iter().any(|r| name.contains(r))
        || name.starts_with("snapshot")
        || name.starts_with("pvmove")
    {
        Some("lvm2 reserves it for its own sub-volumes")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(LvmError::InvalidName {
            name: name.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

/// A logical volume, named by its volume group and its name (`vg0/web-root`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeRef {
    vg: String,
    lv: String,
}

impl VolumeRef {
    /// The volume `lv` of `vg`, both names checked.
    pub fn new(vg: &str, lv: &str) -> Result<Self> {
        check_name(vg)?;
        check_name(lv)?;
        Ok(VolumeRef {
            vg: vg.to_owned(),
            lv: lv.to_owned(),
        })
    }

    /// Reads `vg/lv` or the device path `/dev/vg/lv` (the form xenbackup's volume list uses).
    pub fn parse(text: &str) -> Result<Self> {
        let rest = text.strip_prefix("/dev/").unwrap_or(text);
        match rest.split_once('/') {
            Some((vg, lv)) => VolumeRef::new(vg, lv),
            None => Err(LvmError::InvalidName {
                name: text.to_owned(),
                problem: "expected `vg/lv` or `/dev/vg/lv`",
            }),
        }
    }

    /// The volume group.
    pub fn vg(&self) -> &str {
        &self.vg
    }

    /// The logical volume's name.
    pub fn lv(&self) -> &str {
        &self.lv
    }

    /// Another volume of the same group, its name checked.
    pub fn sibling(&self, lv: &str) -> Result<Self> {
        VolumeRef::new(&self.vg, lv)
    }
}

impl fmt::Display for VolumeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.vg, self.lv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lvm2_accepts_pass() {
        for name in ["vg0", "dom1-root.back", "a+b_c.d-e", "x"] {
            check_name(name).unwrap();
        }
    }

    #[test]
    fn names_lvm2_refuses_or_that_could_be_options_fail() {
        for name in [
            "",
            "-y",
            ".",
            "..",
            "a/b",
            "a b",
            "web;rm",
            "x_tmeta",
            "snapshot1",
            "pvmove0",
            &"a".repeat(128),
        ] {
            assert!(
                matches!(check_name(name), Err(LvmError::InvalidName { .. })),
                "{name:?} passed"
            );
        }
    }

    #[test]
    fn parses_both_forms() {
        let a = VolumeRef::parse("vgxen/mydomu1-root").unwrap();
        let b = VolumeRef::parse("/dev/vgxen/mydomu1-root").unwrap();
        assert_eq!(a, b);
        assert_eq!((a.vg(), a.lv()), ("vgxen", "mydomu1-root"));
        assert_eq!(a.to_string(), "vgxen/mydomu1-root");
        assert!(VolumeRef::parse("/dev/sda1").is_err());
        assert!(VolumeRef::parse("/dev/vg/a/b").is_err());
    }
}
