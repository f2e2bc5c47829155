//! xend (`xm`) and `xl` guest configurations, read as data and turned into a [`VmSpec`].
//!
//! xend configurations are Python scripts; xva.py ran them with `execfile`. Here they are
//! never executed: [`parse`] accepts the Python-literal subset real configurations are
//! written in (`key = value` lines; quoted strings, including triple-quoted and adjacent
//! ones; integers in decimal, hex and Python 2 octal; floats; `True` / `False` / `None`;
//! lists and tuples spanning lines; comments) and refuses anything else (imports,
//! expressions, calls, conditionals) with the line it is on.
//!
//! Every key must be one the xm or xl documentation defines: the keys a XenServer VM can use
//! are read into typed fields of [`XendConfig`], the other known keys (`vnc`, `serial`,
//! `keymap`, …) are listed in [`XendConfig::ignored`], and an unknown key is an error.
//! [`XendConfig::to_vm_spec`] then checks the whole (a name, at least one disk, `maxmem`
//! not below `memory`, …) and maps it; notes about what does not carry over are in
//! [`XendConfig::warnings`].
//!
//! ```
//! use std::path::Path;
//! use disk_image::{Boot, xend};
//!
//! let text = "name = 'web'\nmemory = 512\nbootloader = '/usr/bin/pygrub'\n\
//!             disk = ['phy:/dev/vg/web,xvda,w']\nvif = ['mac=00:16:3e:00:00:01,bridge=xenbr1']\n";
//! let config = xend::parse(text, Path::new("/etc/xen/web.cfg")).unwrap();
//! let spec = config.to_vm_spec().unwrap();
//! assert_eq!(spec.memory, 512 << 20);
//! assert!(matches!(spec.boot, Boot::Pv { bootloader: Some(_), .. }));
//! assert_eq!(spec.disks[0].device.as_deref(), Some("xvda"));
//! assert_eq!(spec.vifs[0].network, "xenbr1");
//! ```

mod disk;
mod error;
mod keys;
mod lexer;
mod literal;
mod to_spec;
mod vif;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::VmSpec;

pub use disk::{DiskFormat, XendDisk};
pub use error::{Result, XendError};
pub use to_spec::DEFAULT_NETWORK;
pub use vif::XendVif;

/// Files larger than this are not configurations (a disk image given by mistake, say).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A value read from the configuration, with the 1-based line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// The line the key is on.
    pub line: usize,
}

/// A documented xm / xl key that a XenServer VM has no use for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    /// The key, e.g. `vnc`.
    pub key: String,
    /// The line it is (last) set on.
    pub line: usize,
}

/// A parsed xend guest configuration. Keys set to `None` in the file count as unset; when
/// a key is set twice the last value wins, as in xend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct XendConfig {
    /// The file the configuration came from (for messages).
    pub path: PathBuf,
    /// The number of lines in the file: errors about a missing key point at the last line.
    pub lines: usize,
    /// `name`.
    pub name: Option<Setting<String>>,
    /// `description` (an xm key, rarely used).
    pub description: Option<Setting<String>>,
    /// `memory`, in MiB.
    pub memory: Option<Setting<i64>>,
    /// `maxmem`, in MiB.
    pub maxmem: Option<Setting<i64>>,
    /// `vcpus`.
    pub vcpus: Option<Setting<i64>>,
    /// `maxvcpus`.
    pub maxvcpus: Option<Setting<i64>>,
    /// `builder`: `linux`, `generic` or `hvm`.
    pub builder: Option<Setting<String>>,
    /// xl's `type`: `pv`, `pvh` or `hvm`.
    pub guest_type: Option<Setting<String>>,
    /// `kernel`: a dom0 path, or `hvmloader` for old-style HVM guests.
    pub kernel: Option<Setting<String>>,
    /// `ramdisk` (or its alias `initrd`).
    pub ramdisk: Option<Setting<String>>,
    /// `root`: the `root=` of the kernel command line.
    pub root: Option<Setting<String>>,
    /// `extra`: the rest of the kernel command line.
    pub extra: Option<Setting<String>>,
    /// xl's `cmdline`, which replaces `root` and `extra`.
    pub cmdline: Option<Setting<String>>,
    /// `bootloader`, always pygrub (any path to it).
    pub bootloader: Option<Setting<String>>,
    /// `boot`: HVM boot order letters (`c` disk, `d` CD, `n` network); floppies dropped.
    pub boot: Option<Setting<String>>,
    /// `acpi`.
    pub acpi: Option<Setting<bool>>,
    /// `apic`.
    pub apic: Option<Setting<bool>>,
    /// `pae`.
    pub pae: Option<Setting<bool>>,
    /// `nx`.
    pub nx: Option<Setting<bool>>,
    /// `viridian` (a flag, or xl's list of enlightenment groups: true when non-empty).
    pub viridian: Option<Setting<bool>>,
    /// `on_poweroff`, as written (`destroy`, `rename-restart`, …).
    pub on_poweroff: Option<Setting<String>>,
    /// `on_reboot`, as written.
    pub on_reboot: Option<Setting<String>>,
    /// `on_crash`, as written.
    pub on_crash: Option<Setting<String>>,
    /// `disk`: every entry, CD drives included, in list order.
    pub disk: Option<Setting<Vec<XendDisk>>>,
    /// `vif`: every entry, in list order.
    pub vif: Option<Setting<Vec<XendVif>>>,
    /// Known keys that do not carry over to XenServer.
    pub ignored: Vec<IgnoredKey>,
    /// Notes for the user, each starting with `line N:`.
    pub warnings: Vec<String>,
}

/// Reads and parses the configuration at `path`.
pub fn read(path: &Path) -> Result<XendConfig> {
    let reading = |source| XendError::Read {
        path: path.to_owned(),
        source,
    };
    let not_a_config = |problem: String| XendError::NotAConfig {
        path: path.to_owned(),
        problem,
    };
    let metadata = fs::metadata(path).map_err(reading)?;
    // Checked before opening: opening a FIFO would wait for a writer, and a device's
    // length says nothing of what reading it yields (`/dev/zero` never ends).
    if !metadata.is_file() {
        return Err(not_a_config("is not a regular file".to_owned()));
    }
    let too_large = |size: u64| not_a_config(format!("is {size} bytes"));
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(reading)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut config = parse(&text, path)?;
    if let std::borrow::Cow::Owned(_) = text {
        let line = text
            .lines()
            .position(|l| l.contains(char::REPLACEMENT_CHARACTER))
            .map_or(1, |i| i + 1);
        config.warnings.push(format!(
            "line {line}: bytes that are not UTF-8 were replaced by U+FFFD"
        ));
    }
    tracing::debug!(
        path = %path.display(),
        ignored = config.ignored.len(),
        warnings = config.warnings.len(),
        "read xend configuration"
    );
    Ok(config)
}

/// Parses configuration `text`; `path` names it in errors and warnings.
pub fn parse(text: &str, path: &Path) -> Result<XendConfig> {
    let at = |problem: Problem| XendError::Line {
        path: path.to_owned(),
        line: problem.line,
        problem: problem.message,
    };
    let tokens = lexer::tokenize(text).map_err(at)?;
    let mut config = XendConfig {
        path: path.to_owned(),
        lines: text.lines().count().max(1),
        ..XendConfig::default()
    };
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for assignment in literal::assignments(&tokens).map_err(at)? {
        let key = keys::canonical(&assignment.key).to_owned();
        if let Some(first) = first_line.insert(key.clone(), assignment.line) {
            config.warnings.push(format!(
                "line {}: `{}` is set again (before on line {first}); the last value wins, as \
                 in xend",
                assignment.line, assignment.key
            ));
        }
        keys::apply(&mut config, assignment).map_err(at)?;
    }
    keys::cross_check(&mut config);
    Ok(config)
}

impl XendConfig {
    /// Whether the guest is HVM: `builder = 'hvm'`, xl's `type = 'hvm'`, or (old style) a
    /// kernel ending in `hvmloader`.
    pub fn is_hvm(&self) -> bool {
        let is =
            |s: &Option<Setting<String>>, want: &str| s.as_ref().is_some_and(|s| s.value == want);
        is(&self.builder, "hvm")
            || is(&self.guest_type, "hvm")
            || self
                .kernel
                .as_ref()
                .is_some_and(|k| k.value.ends_with("hvmloader"))
    }

    /// The VM this configuration describes:
    /// - `name` is required; `description` is copied.
    /// - `memory` (MiB, default 256 as in xva.py) and `maxmem` (not below `memory`) become
    ///   bytes; `vcpus` (default 1, or `maxvcpus` when only that is set) and `maxvcpus`
    ///   (not below `vcpus`). Counts must be positive.
    /// - HVM when [`is_hvm`](Self::is_hvm): boot order from `boot` (default `cd`). Otherwise
    ///   PV: with pygrub when `bootloader` is set or no `kernel` is; else the dom0 `kernel`
    ///   and `ramdisk` paths as written (the XVA writer moves them to
    ///   `/boot/guest/<uuid>/`). The command line is `cmdline`, or `root=<root> <extra>` as
    ///   xend built it. xl's `type = 'pvh'` is refused.
    /// - Platform flags default to [`Platform::default`](crate::Platform); each key that is
    ///   set overrides its flag.
    /// - `on_*` map to XAPI actions (`rename-restart` to `rename_restart`, …); after
    ///   shutdown and reboot XAPI only destroys or restarts, so the nearest is taken there
    ///   (and [`warnings`](Self::warnings) says so).
    /// - Disks in list order, CD entries left out; at least one is required, and each must
    ///   be raw (qcow, vhd, … are refused). A CD entry, or an HVM guest, gives the VM an
    ///   empty CD drive.
    /// - VIFs in list order, on the network named by `bridge`, or [`DEFAULT_NETWORK`].
    ///
    /// Errors name the line of the key at fault, or the last line for a missing key.
    pub fn to_vm_spec(&self) -> Result<VmSpec> {
        to_spec::vm_spec(self).map_err(|problem| XendError::Line {
            path: self.path.clone(),
            line: problem.line,
            problem: problem.message,
        })
    }
}

/// What is wrong, and on which line; the caller adds the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    line: usize,
    message: String,
}

impl Problem {
    fn new(line: usize, message: String) -> Self {
        Problem { line, message }
    }
}
