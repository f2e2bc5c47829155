//! Kernel command lines, wherever the guest keeps them: grub legacy `kernel` lines and the
//! `# kopt=` template of Debian's update-grub, grub2 `linux` lines, BLS `options`, the
//! `GRUB_CMDLINE_LINUX[_DEFAULT]` settings, extlinux `append`, `/etc/kernel/cmdline`, and
//! RHEL 8's `kernelopts=` in grub2's environment block (which BLS entries expand as
//! `options $kernelopts`).
//!
//! [`locate`] finds the command line part of a configuration line; [`Rewrite`] changes its
//! tokens (`root=`, `resume=`, `console=`) and says why.

use crate::direction::Target;
use crate::error::Result;
use crate::fs::GuestFs;
use crate::inspect::{Bootloader, BootloaderKind};

/// The files that hold a command line besides the boot loader's own configuration.
pub const EXTRA_FILES: [&str; 1] = ["/etc/kernel/cmdline"];

/// Where a line keeps its command line: `(before, cmdline, after)`, or `None`.
pub fn locate<'a>(kind: LineKind, line: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let keyword_then_rest =
        |keywords: &[&str], skip_path: bool| -> Option<(&'a str, &'a str, &'a str)> {
            let word_end = trimmed.find(char::is_whitespace)?;
            let word = &trimmed[..word_end];
            if !keywords.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                return None;
            }
            let mut start = indent + word_end;
            start += line[start..].len() - line[start..].trim_start().len();
            if skip_path {
                start = line[start..]
                    .find(char::is_whitespace)
                    .map_or(line.len(), |e| start + e);
                start += line[start..].len() - line[start..].trim_start().len();
            }
            let end = line.trim_end().len().max(start);
            Some((&line[..start], &line[start..end], &line[end..]))
        };
    match kind {
        LineKind::GrubLegacy => {
            if let Some(rest) = trimmed.strip_prefix("# kopt=") {
                let start = line.len() - rest.len();
                return Some((
                    &line[..start],
                    rest.trim_end(),
                    &line[start + rest.trim_end().len()..],
                ));
            }
            keyword_then_rest(&["kernel"], true)
        }
        LineKind::Grub2Cfg => keyword_then_rest(&["linux", "linux16", "linuxefi"], true),
        LineKind::Bls => keyword_then_rest(&["options"], false),
        LineKind::Extlinux => keyword_then_rest(&["append"], false),
        LineKind::GrubDefaults => {
            let (key, value) = trimmed.split_once('=')?;
            if !matches!(key, "GRUB_CMDLINE_LINUX" | "GRUB_CMDLINE_LINUX_DEFAULT") {
                return None;
            }
            let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
            let start = indent + key.len() + 1 + usize::from(quote.is_some());
            let end = match quote {
                Some(q) => line[start..].find(q).map_or(line.len(), |e| start + e),
                None => line.trim_end().len(),
            };
            Some((&line[..start], &line[start..end], &line[end..]))
        }
        LineKind::Whole => Some(("", line.trim_end(), &line[line.trim_end().len()..])),
        LineKind::Grubenv => {
            let rest = line.strip_prefix("kernelopts=")?;
            let start = line.len() - rest.len();
            Some((&line[..start], rest, ""))
        }
    }
}

/// The kind of file a command line sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `menu.lst` / `grub.conf`.
    GrubLegacy,
    /// A generated `grub.cfg`.
    Grub2Cfg,
    /// A BLS entry.
    Bls,
    /// `extlinux.conf` / `syslinux.cfg`.
    Extlinux,
    /// `/etc/default/grub` or `/etc/sysconfig/grub`.
    GrubDefaults,
    /// A file that is one command line (`/etc/kernel/cmdline`).
    Whole,
    /// grub2's environment block (its `kernelopts=` variable).
    Grubenv,
}

/// Every file holding a command line, with its kind.
pub fn files(fs: &dyn GuestFs, bootloaders: &[Bootloader]) -> Result<Vec<(String, LineKind)>> {
    let mut files = Vec::new();
    for loader in bootloaders {
        let kind = match loader.kind {
            BootloaderKind::GrubLegacy => LineKind::GrubLegacy,
            BootloaderKind::Grub2 => LineKind::Grub2Cfg,
            BootloaderKind::Extlinux => LineKind::Extlinux,
        };
        files.push((loader.config.clone(), kind));
        if let Some(defaults) = &loader.defaults {
            files.push((defaults.clone(), LineKind::GrubDefaults));
        }
        if let Some(grubenv) = &loader.grubenv {
            files.push((grubenv.clone(), LineKind::Grubenv));
        }
        files.extend(
            loader
                .bls_entries
                .iter()
                .map(|e| (e.clone(), LineKind::Bls)),
        );
    }
    if !bootloaders.iter().any(|b| b.defaults.is_some()) {
        for defaults in ["/etc/default/grub", "/etc/sysconfig/grub"] {
            if fs.exists(defaults)? {
                files.push((defaults.to_owned(), LineKind::GrubDefaults));
                break;
            }
        }
    }
    for extra in EXTRA_FILES {
        if fs.exists(extra)? {
            files.push((extra.to_owned(), LineKind::Whole));
        }
    }
    Ok(files)
}

/// Every command line in the guest's boot configuration.
pub fn command_lines(fs: &dyn GuestFs, bootloaders: &[Bootloader]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for (path, kind) in files(fs, bootloaders)? {
        let text = fs.read_text(&path)?.unwrap_or_default();
        lines.extend(
            text.lines()
                .filter_map(|l| locate(kind, l))
                .map(|(_, c, _)| c.to_owned()),
        );
    }
    Ok(lines)
}

/// The values of `key=` tokens on a command line.
pub fn values(cmdline: &str, key: &str) -> Vec<String> {
    cmdline
        .split_whitespace()
        .filter_map(|t| t.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
        .collect()
}

/// How to rewrite the tokens of a command line.
pub struct Rewrite<'a> {
    /// The new value for a `root=` / `resume=` device value (`/dev/xvda1`, `UUID=…`), with why.
    pub device: &'a dyn Fn(&str) -> Option<(String, String)>,
    /// Move the console to this target's console, if set.
    pub console: Option<Target>,
}

const KVM_CONSOLES: [&str; 2] = ["console=tty0", "console=ttyS0,115200"];

impl Rewrite<'_> {
    /// The rewritten command line and the reasons, or `None` if nothing changes.
    pub fn apply(&self, cmdline: &str) -> Option<(String, Vec<String>)> {
        let mut out: Vec<String> = Vec::new();
        let mut reasons = Vec::new();
        let mut console_done = false;
        for token in cmdline.split_whitespace() {
            if let Some((key, value)) = token.split_once('=')
                && matches!(key, "root" | "resume")
                && let Some((new, why)) = (self.device)(value)
            {
                reasons.push(format!("{key}={value} -> {key}={new}: {why}"));
                out.push(format!("{key}={new}"));
                continue;
            }
            match (self.console, token.strip_prefix("console=")) {
                (Some(Target::KvmVirtio), Some(value)) if is_xen_console(value) => {
                    reasons.push(format!(
                        "{token} -> {}: KVM has no Xen console; tty0 and the serial port instead",
                        KVM_CONSOLES.join(" ")
                    ));
                    if !console_done {
                        out.retain(|t| {
                            !KVM_CONSOLES
                                .iter()
                                .any(|k| t.split(',').next() == k.split(',').next())
                        });
                        out.extend(KVM_CONSOLES.iter().map(|c| (*c).to_owned()));
                        console_done = true;
                    }
                }
                (Some(Target::KvmVirtio), _) if token.starts_with("xencons=") => {
                    reasons.push(format!("{token} dropped: a Xen-only option"));
                }
                (Some(Target::XenPv), Some(value))
                    if value.starts_with("ttyS") || value == "tty0" =>
                {
                    reasons.push(format!(
                        "{token} -> console=hvc0: a Xen PV guest's console is hvc0"
                    ));
                    if !console_done {
                        out.push("console=hvc0".to_owned());
                        console_done = true;
                    }
                }
                _ => out.push(token.to_owned()),
            }
        }
        let joined = out.join(" ");
        (!reasons.is_empty() && joined != cmdline).then_some((joined, reasons))
    }
}

/// Whether a console is Xen's (`hvc0`, `xvc0`, with or without options).
pub fn is_xen_console(value: &str) -> bool {
    let name = value.split(',').next().unwrap_or(value);
    name.starts_with("hvc") || name.starts_with("xvc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_the_command_line_in_each_kind_of_line() {
        let cases = [
            (
                LineKind::GrubLegacy,
                "\tkernel /vmlinuz-2.6.18 ro root=/dev/sda1",
                "ro root=/dev/sda1",
            ),
            (
                LineKind::GrubLegacy,
                "# kopt=root=/dev/xvda1 ro console=hvc0",
                "root=/dev/xvda1 ro console=hvc0",
            ),
            (
                LineKind::Grub2Cfg,
                "\tlinux\t/boot/vmlinuz-6.1 root=/dev/xvda1 ro  quiet",
                "root=/dev/xvda1 ro  quiet",
            ),
            (
                LineKind::Bls,
                "options root=/dev/mapper/rl-root ro",
                "root=/dev/mapper/rl-root ro",
            ),
            (
                LineKind::GrubDefaults,
                "GRUB_CMDLINE_LINUX=\"console=hvc0 resume=/dev/xvda5\"",
                "console=hvc0 resume=/dev/xvda5",
            ),
            (
                LineKind::Extlinux,
                "  APPEND root=/dev/xvda1",
                "root=/dev/xvda1",
            ),
            (
                LineKind::Grubenv,
                "kernelopts=root=/dev/xvda1 ro console=hvc0",
                "root=/dev/xvda1 ro console=hvc0",
            ),
        ];
        for (kind, line, expected) in cases {
            let (before, cmdline, after) = locate(kind, line).unwrap();
            assert_eq!(cmdline, expected, "{line}");
            assert_eq!(format!("{before}{cmdline}{after}"), line);
        }
        assert!(locate(LineKind::Grub2Cfg, "\tinitrd /boot/initrd.img").is_none());
        assert!(locate(LineKind::GrubDefaults, "GRUB_TIMEOUT=5").is_none());
        assert!(locate(LineKind::Grubenv, "saved_entry=abc").is_none());
    }

    #[test]
    fn rewrites_devices_and_consoles_both_ways() {
        let device =
            |v: &str| (v == "/dev/xvda1").then(|| ("/dev/vda1".to_owned(), "renamed".to_owned()));
        let to_kvm = Rewrite {
            device: &device,
            console: Some(Target::KvmVirtio),
        };
        let (line, reasons) = to_kvm
            .apply("root=/dev/xvda1 ro console=hvc0 xencons=tty")
            .unwrap();
        assert_eq!(line, "root=/dev/vda1 ro console=tty0 console=ttyS0,115200");
        assert_eq!(reasons.len(), 3);
        assert!(to_kvm.apply("root=UUID=abc ro").is_none());
        let none = |_: &str| None;
        let to_xen = Rewrite {
            device: &none,
            console: Some(Target::XenPv),
        };
        assert_eq!(
            to_xen
                .apply("ro console=tty0 console=ttyS0,115200")
                .unwrap()
                .0,
            "ro console=hvc0"
        );
    }
}
