//! One entry of the `disk` list, in either syntax:
//! - xend's `PREFIX:PATH,VDEV[:cdrom|:disk],MODE[,BACKEND[,PROTOCOL]]`, e.g.
//!   `phy:/dev/vg/lv,xvda,w`, `tap:aio:/srv/web.img,xvda,w`, `,hdc:cdrom,r`;
//! - xl's positional and `key=value` form (xl-disk-configuration(5)), e.g.
//!   `/dev/vg/lv,raw,xvda,rw` or `format=raw, vdev=xvda, access=rw, target=/dev/vg/lv`.

use std::path::PathBuf;

use super::Problem;

/// The on-disk format of an image, from its prefix (`tap:qcow:`) or xl's `format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// Plain bytes: block devices, `file:`, `tap:aio:`, `tap:sync:`.
    Raw,
    /// QEMU copy-on-write version 1.
    Qcow,
    /// QEMU copy-on-write version 2.
    Qcow2,
    /// Virtual PC / blktap2 VHD.
    Vhd,
    /// `VMware` disk (VMDK).
    Vmdk,
    /// QEMU enhanced disk.
    Qed,
}

impl DiskFormat {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "raw" => DiskFormat::Raw,
            "qcow" => DiskFormat::Qcow,
            "qcow2" => DiskFormat::Qcow2,
            "vhd" => DiskFormat::Vhd,
            "vmdk" => DiskFormat::Vmdk,
            "qed" => DiskFormat::Qed,
            _ => return None,
        })
    }

    /// The format's usual name: `raw`, `qcow2`, …
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow => "qcow",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Qed => "qed",
        }
    }
}

/// One entry of the `disk` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XendDisk {
    /// The line the entry is on.
    pub line: usize,
    /// The entry as written.
    pub entry: String,
    /// The image or device, prefixes removed; a relative path after `phy:` or in xl's
    /// syntax is taken under `/dev` (`phy:sda5` is `/dev/sda5`), as xend and xl did.
    /// `None` for an empty CD drive.
    pub target: Option<PathBuf>,
    /// The guest device name (`xvda`, `hda`, `sda1`), without `ioemu:` or `:cdrom`.
    pub device: String,
    /// Whether this is a CD drive (`:cdrom`, `devtype=cdrom`).
    pub cdrom: bool,
    /// Whether the guest may write (`w`, `w!`, `rw`).
    pub writable: bool,
    /// The image format.
    pub format: DiskFormat,
}

/// Prefixes xend and old xl needed and that say nothing about the data (xl strips them).
const PLAIN_PREFIXES: [&str; 8] = [
    "phy", "file", "tap", "tap2", "tapdisk", "aio", "sync", "ioemu",
];
/// Prefixes naming a block script: the target is not a local path.
const SCRIPT_PREFIXES: [&str; 4] = ["iscsi", "nbd", "enbd", "drbd"];
/// xl's bare-word flags.
#[rustfmt::skip]
const XL_FLAGS: [&str; 7] = [
    "cdrom", "direct-io-safe", "discard", "no-discard", "trusted", "untrusted", "colo",
];
/// xl's `key=value` parameters.
#[rustfmt::skip]
const XL_KEYS: [&str; 15] = [
    "target", "format", "vdev", "access", "devtype", "backend", "backendtype", "script",
    "specification", "grant_usage", "colo-host", "colo-port", "colo-export", "active-disk",
    "hidden-disk",
];

/// The fields of an entry, before interpretation.
#[derive(Default)]
struct Fields {
    target: Option<String>,
    format: Option<String>,
    vdev: Option<String>,
    access: Option<String>,
    cdrom: bool,
    backend: Option<String>,
}

/// Parses the entry `entry` found on `line`.
pub(super) fn parse_entry(
    entry: &str,
    line: usize,
    warnings: &mut Vec<String>,
) -> Result<XendDisk, Problem> {
    let bad = |why: String| Problem::new(line, format!("disk entry '{entry}': {why}"));
    if entry.trim().is_empty() {
        return Err(bad("empty entry".to_owned()));
    }
    let tokens: Vec<&str> = entry.split(',').map(str::trim).collect();
    let xend_syntax = is_xend_syntax(&tokens);
    let fields = if xend_syntax {
        xend_fields(&tokens).map_err(bad)?
    } else {
        xl_fields(entry).map_err(bad)?
    };
    if let Some(backend) = fields
        .backend
        .as_deref()
        .filter(|b| !matches!(*b, "" | "0" | "Domain-0"))
    {
        warnings.push(format!(
            "line {line}: disk '{entry}' is served by domain `{backend}`: its path is read here, in \
             this domain"
        ));
    }
    let mut format = match fields.format.as_deref() {
        None | Some("") => DiskFormat::Raw,
        Some(name) => {
            DiskFormat::from_name(name).ok_or_else(|| bad(format!("unknown format `{name}`")))?
        }
    };
    let target = fields.target.as_deref().unwrap_or("");
    let (target, prefix_format) = strip_prefixes(target, !xend_syntax).map_err(bad)?;
    if let Some(f) = prefix_format {
        format = f;
    }
    let (device, suffix_cdrom) = device_name(fields.vdev.as_deref().unwrap_or("")).map_err(bad)?;
    let cdrom = fields.cdrom || suffix_cdrom;
    let writable = match fields.access.as_deref() {
        None | Some("") => !cdrom,
        Some("w" | "w!" | "rw") => true,
        Some("r" | "ro") => false,
        Some(other) => {
            return Err(bad(format!(
                "mode `{other}` is not one of w, w!, r, ro, rw"
            )));
        }
    };
    if target.is_none() && !cdrom {
        return Err(bad("no image or device path".to_owned()));
    }
    if let (Some(path), true) = (&target, cdrom) {
        warnings.push(format!(
            "line {line}: CD `{}` on {device} is not packaged; the VM gets an empty CD drive",
            path.display()
        ));
    }
    if device.ends_with(|c: char| c.is_ascii_digit()) && !device.bytes().all(|b| b.is_ascii_digit())
    {
        warnings.push(format!(
            "line {line}: `{device}` is a partition name; XenServer attaches whole disks (xvda, \
             xvdb, …): the guest's fstab and bootloader may need editing"
        ));
    }
    Ok(XendDisk {
        line,
        entry: entry.to_owned(),
        target,
        device,
        cdrom,
        writable,
        format,
    })
}

/// Whether `tokens` are xend's `PREFIX:PATH,VDEV,MODE` rather than xl's syntax.
fn is_xend_syntax(tokens: &[&str]) -> bool {
    let keyed_or_flag = tokens.iter().any(|t| {
        XL_FLAGS.contains(t)
            || t.split_once('=')
                .is_some_and(|(k, _)| XL_KEYS.contains(&k.trim()))
    });
    let prefixed = tokens[0]
        .split_once(':')
        .is_some_and(|(prefix, _)| !prefix.is_empty() && !prefix.contains('/'));
    let empty_cd = tokens[0].is_empty() && tokens.get(1).is_some_and(|t| t.contains(':'));
    // xl's positional `TARGET,FORMAT,VDEV,ACCESS` may still carry a deprecated prefix.
    let second_is_format = tokens
        .get(1)
        .is_some_and(|t| t.is_empty() || DiskFormat::from_name(t).is_some());
    !keyed_or_flag && (prefixed || empty_cd) && !second_is_format
}

fn xend_fields(tokens: &[&str]) -> Result<Fields, String> {
    let [uname, vdev, mode, rest @ ..] = tokens else {
        return Err(format!(
            "expected 3 comma-separated fields (PREFIX:PATH,DEVICE,MODE), found {}",
            tokens.len()
        ));
    };
    if rest.len() > 2 {
        return Err(format!(
            "expected at most 5 comma-separated fields (PREFIX:PATH,DEVICE,MODE,BACKEND,PROTOCOL), \
             found {}",
            tokens.len()
        ));
    }
    if mode.is_empty() {
        return Err("the mode (w or r) is empty".to_owned());
    }
    Ok(Fields {
        target: Some((*uname).to_owned()),
        vdev: Some((*vdev).to_owned()),
        access: Some((*mode).to_owned()),
        backend: rest.first().map(|b| (*b).to_owned()),
        ..Fields::default()
    })
}

fn xl_fields(entry: &str) -> Result<Fields, String> {
    let mut fields = Fields::default();
    let mut rest = entry;
    while !rest.is_empty() {
        let (token, tail) = rest.split_once(',').unwrap_or((rest, ""));
        let token = token.trim_start();
        rest = tail;
        if let Some(target) = token.strip_prefix("target=") {
            // `target=` takes the rest of the entry, commas included.
            let whole = if tail.is_empty() {
                target.to_owned()
            } else {
                format!("{target},{tail}")
            };
            set(&mut fields.target, "target", whole)?;
            break;
        }
        if let Some((key, value)) = token.split_once('=') {
            let value = value.trim().to_owned();
            match key.trim() {
                "format" => set(&mut fields.format, "format", value)?,
                "vdev" => set(&mut fields.vdev, "vdev", value)?,
                "access" => set(&mut fields.access, "access", value)?,
                "devtype" if value == "cdrom" => fields.cdrom = true,
                "devtype" => return Err(format!("devtype `{value}` is not cdrom")),
                "backend" => fields.backend = Some(value),
                "script" => {
                    return Err(format!(
                        "the target is handled by script `{value}`, not a local path"
                    ));
                }
                key if XL_KEYS.contains(&key) => {}
                key => return Err(format!("unknown parameter `{key}`")),
            }
            continue;
        }
        match token.trim() {
            "cdrom" => fields.cdrom = true,
            flag if XL_FLAGS.contains(&flag) => {}
            value => {
                let slots = [
                    &mut fields.target,
                    &mut fields.format,
                    &mut fields.vdev,
                    &mut fields.access,
                ];
                let Some(slot) = slots.into_iter().find(|s| s.is_none()) else {
                    return Err(format!("too many positional fields at `{value}`"));
                };
                *slot = Some(value.to_owned());
            }
        }
    }
    if fields.vdev.as_deref().unwrap_or("").is_empty() {
        return Err("no guest device name (vdev)".to_owned());
    }
    Ok(fields)
}

fn set(slot: &mut Option<String>, name: &str, value: String) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("`{name}` is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// The path behind `target` with its prefixes removed, and the format a prefix names. A
/// relative path is taken under `/dev` after `phy:` (as xend's block script did) and always
/// in xl's syntax (as xl does).
fn strip_prefixes(target: &str, xl: bool) -> Result<(Option<PathBuf>, Option<DiskFormat>), String> {
    let mut rest = target;
    let mut format = None;
    let mut under_dev = xl;
    while let Some((prefix, tail)) = rest.split_once(':') {
        if prefix.is_empty() || prefix.contains('/') {
            break;
        }
        if SCRIPT_PREFIXES.contains(&prefix) {
            return Err(format!(
                "`{prefix}:` targets are reached through a block script, not a local path: \
                 package the device it provides instead"
            ));
        }
        if let Some(f) = DiskFormat::from_name(prefix) {
            format = Some(f);
        } else if PLAIN_PREFIXES.contains(&prefix) {
            under_dev |= prefix == "phy";
        } else {
            return Err(format!("unknown prefix `{prefix}:`"));
        }
        rest = tail;
    }
    if rest.is_empty() {
        return Ok((None, format));
    }
    let path = if under_dev && !rest.starts_with('/') {
        PathBuf::from("/dev").join(rest)
    } else {
        PathBuf::from(rest)
    };
    Ok((Some(path), format))
}

/// The device name without `ioemu:`, and whether a `:cdrom` suffix marks a CD drive.
fn device_name(vdev: &str) -> Result<(String, bool), String> {
    let vdev = vdev.strip_prefix("ioemu:").unwrap_or(vdev);
    let (name, cdrom) = match vdev.split_once(':') {
        Some((name, "cdrom")) => (name, true),
        Some((name, "disk")) => (name, false),
        Some((_, other)) => return Err(format!("device type `{other}` is not cdrom or disk")),
        None => (vdev, false),
    };
    if name.is_empty() {
        return Err("no guest device name".to_owned());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("`{name}` is not a device name such as xvda or hda"));
    }
    Ok((name.to_owned(), cdrom))
}

/// Refuses two entries with the same device name.
pub(super) fn check_unique_devices(disks: &[XendDisk]) -> Result<(), Problem> {
    for (i, disk) in disks.iter().enumerate() {
        if let Some(first) = disks[..i].iter().find(|d| d.device == disk.device) {
            return Err(Problem::new(
                disk.line,
                format!(
                    "device `{}` is used twice (first on line {})",
                    disk.device, first.line
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(entry: &str) -> Result<XendDisk, Problem> {
        parse_entry(entry, 7, &mut Vec::new())
    }

    /// Target ("" for none), device, CD, writable, format.
    /// An entry and what it should parse to: (target, device, cdrom, writable, format).
    type Case<'a> = (&'a str, (&'a str, &'a str, bool, bool, DiskFormat));

    fn check_summaries(cases: &[Case<'_>]) {
        for &(entry, (target, device, cdrom, writable, format)) in cases {
            let d = parse(entry).unwrap_or_else(|e| panic!("{entry}: {}", e.message));
            let parsed_target = d
                .target
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            assert_eq!(
                (
                    parsed_target.as_str(),
                    d.device.as_str(),
                    d.cdrom,
                    d.writable,
                    d.format
                ),
                (target, device, cdrom, writable, format),
                "{entry}"
            );
        }
    }

    #[test]
    fn xend_entries() {
        use DiskFormat::{Qcow, Raw, Vhd};
        let cases = [
            (
                "phy:/dev/vg/web,xvda,w",
                ("/dev/vg/web", "xvda", false, true, Raw),
            ),
            ("phy:sda5,sda1,w", ("/dev/sda5", "sda1", false, true, Raw)),
            (
                "file:/srv/xen/web.img,xvda2,w!",
                ("/srv/xen/web.img", "xvda2", false, true, Raw),
            ),
            (
                "tap:aio:/srv/a.img, xvdb, r",
                ("/srv/a.img", "xvdb", false, false, Raw),
            ),
            (
                "tap2:tapdisk:aio:/srv/b.img,xvdc,w",
                ("/srv/b.img", "xvdc", false, true, Raw),
            ),
            (
                "tap:tapdisk:aio:/srv/c.img,xvdd,rw",
                ("/srv/c.img", "xvdd", false, true, Raw),
            ),
            (
                "tap:qcow:/srv/d.qcow,xvde,w",
                ("/srv/d.qcow", "xvde", false, true, Qcow),
            ),
            (
                "tap:vhd:/srv/e.vhd,xvdf,w",
                ("/srv/e.vhd", "xvdf", false, true, Vhd),
            ),
            (
                "phy:/dev/vg/win,ioemu:hda,w",
                ("/dev/vg/win", "hda", false, true, Raw),
            ),
            (
                "file:/iso/w.iso,hdc:cdrom,r",
                ("/iso/w.iso", "hdc", true, false, Raw),
            ),
            (",hdc:cdrom,r", ("", "hdc", true, false, Raw)),
            (
                "phy:/dev/vg/x,hdb:disk,w,0,x86_32-abi",
                ("/dev/vg/x", "hdb", false, true, Raw),
            ),
        ];
        check_summaries(&cases);
    }

    #[test]
    fn xl_entries() {
        use DiskFormat::{Qcow2, Raw};
        let cases = [
            (
                "/dev/vg/guest-volume,,hda",
                ("/dev/vg/guest-volume", "hda", false, true, Raw),
            ),
            (
                "/dev/vg/guest-volume,raw,hda,rw",
                ("/dev/vg/guest-volume", "hda", false, true, Raw),
            ),
            (
                "format=raw, vdev=xvda, access=rw, target=/dev/vg/lv",
                ("/dev/vg/lv", "xvda", false, true, Raw),
            ),
            (
                "vdev=xvdb, target=/srv/odd,name.img",
                ("/srv/odd,name.img", "xvdb", false, true, Raw),
            ),
            (
                "/root/image.iso,,hdc,cdrom",
                ("/root/image.iso", "hdc", true, false, Raw),
            ),
            (
                "/root/image.iso,raw,hdc,devtype=cdrom",
                ("/root/image.iso", "hdc", true, false, Raw),
            ),
            (
                "raw:/root/image.iso,hdc:cdrom,ro",
                ("/root/image.iso", "hdc", true, false, Raw),
            ),
            (
                "/srv/q.qcow2,qcow2,xvda,w",
                ("/srv/q.qcow2", "xvda", false, true, Qcow2),
            ),
            (
                "phy:/dev/vg/lv,raw,xvda,w",
                ("/dev/vg/lv", "xvda", false, true, Raw),
            ),
            (",,hdc,cdrom", ("", "hdc", true, false, Raw)),
        ];
        check_summaries(&cases);
    }

    #[test]
    fn bad_entries_name_the_entry_and_line() {
        let cases = [
            ("phy:/dev/vg/lv,xvda", "found 2"),
            ("file:/srv/a.img", "found 1"),
            ("phy:/dev/vg/lv,xvda,w,0,abi,extra", "at most 5"),
            ("phy:/dev/vg/lv,xvda,x", "mode `x`"),
            ("phy:/dev/vg/lv,xvda,", "mode (w or r) is empty"),
            ("floppy:/dev/fd0,xvda,w", "unknown prefix `floppy:`"),
            ("drbd:res0,xvda,w", "block script"),
            ("phy:/dev/vg/lv,xvda:tape,w", "device type `tape`"),
            ("phy:/dev/vg/lv,xv-da,w", "not a device name"),
            ("file:,xvda,w", "no image or device path"),
            ("/srv/a.img,raw", "no guest device name"),
            ("/srv/a.img,raw,xvda,w,extra", "too many positional"),
            ("/srv/a.img,foo,xvda,w", "unknown format `foo`"),
            ("vdev=xvda,vdev=xvdb,target=/x", "`vdev` is given twice"),
            (
                "vdev=xvda,colour=red,target=/x",
                "unknown parameter `colour`",
            ),
            (
                "vdev=xvda,script=block-iscsi,target=iqn",
                "script `block-iscsi`",
            ),
            ("", "empty entry"),
        ];
        for (entry, needle) in cases {
            let err = parse(entry).unwrap_err();
            assert_eq!(err.line, 7);
            assert!(
                err.message.contains(&format!("'{entry}'")),
                "{}",
                err.message
            );
            assert!(err.message.contains(needle), "{entry}: {}", err.message);
        }
    }

    #[test]
    fn warnings_for_cds_partitions_and_driver_domains() {
        let mut warnings = Vec::new();
        parse_entry("file:/iso/w.iso,hdc:cdrom,r", 3, &mut warnings).unwrap();
        parse_entry("phy:/dev/vg/a,sda1,w", 4, &mut warnings).unwrap();
        parse_entry("phy:/dev/vg/b,xvdb,w,storage-dom", 5, &mut warnings).unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("line 3: CD `/iso/w.iso` on hdc is not packaged"));
        assert!(warnings[1].starts_with("line 4: `sda1` is a partition name"));
        assert!(warnings[1].ends_with("may need editing"));
        assert!(warnings[2].contains("served by domain `storage-dom`"));
    }

    #[test]
    fn duplicate_devices_are_refused() {
        let a = parse_entry("phy:/dev/a,xvda,w", 2, &mut Vec::new()).unwrap();
        let b = parse_entry("phy:/dev/b,xvda,w", 3, &mut Vec::new()).unwrap();
        let err = check_unique_devices(&[a, b]).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message
                .contains("`xvda` is used twice (first on line 2)")
        );
    }
}
