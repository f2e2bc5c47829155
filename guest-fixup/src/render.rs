//! Renders a plan as text: a unified diff per edited file (its reasons as `#` lines above
//! it), then the steps, then the warnings. This is what `--dry-run` prints and what the
//! golden plans in the tests hold.

use std::fmt::Write as _;

use similar::TextDiff;

use crate::plan::{Arg, Plan, Step};

/// The plan as text.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# guest-fixup plan: {}", plan.direction);
    for (from, to) in plan.renames.iter() {
        let _ = writeln!(out, "# rename /dev/{from} -> /dev/{to}");
    }
    for edit in &plan.edits {
        for reason in &edit.reasons {
            let _ = writeln!(out, "# {reason}");
        }
        let before = edit.before.as_deref().unwrap_or("");
        let after = edit.after.as_deref().unwrap_or("");
        let old = if edit.before.is_some() {
            format!("a{}", edit.path)
        } else {
            "/dev/null".to_owned()
        };
        let new = if edit.after.is_some() {
            format!("b{}", edit.path)
        } else {
            "/dev/null".to_owned()
        };
        let diff = TextDiff::from_lines(before, after);
        let _ = write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(2)
                .header(&old, &new)
                .missing_newline_hint(true)
        );
    }
    for step in &plan.steps {
        let (reason, line) = describe(step);
        let _ = writeln!(out, "# {reason}\n$ {line}");
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "# warning: {warning}");
    }
    out
}

/// A step's reason and its command as one line.
pub fn describe(step: &Step) -> (&str, String) {
    match step {
        Step::MakeSwap {
            disk,
            partition,
            uuid,
            label,
            reason,
            host_device,
        } => {
            let mut line = String::from("mkswap");
            if let Some(uuid) = uuid {
                let _ = write!(line, " -U {uuid}");
            }
            if let Some(label) = label {
                let _ = write!(line, " -L {label}");
            }
            match host_device {
                Some(device) => {
                    let _ = write!(line, " {}", device.display());
                }
                None => {
                    let _ = write!(
                        line,
                        " <disk {disk}{}>",
                        partition
                            .map(|p| format!(" partition {p}"))
                            .unwrap_or_default()
                    );
                }
            }
            (reason, line)
        }
        Step::MakeSwapFile {
            path,
            size,
            uuid,
            reason,
        } => {
            let uuid = uuid
                .as_ref()
                .map(|u| format!(" -U {u}"))
                .unwrap_or_default();
            (
                reason,
                format!("(write {size} zero bytes to {path}) mkswap{uuid} {path}"),
            )
        }
        Step::Chroot { argv, reason, .. } => {
            let words: Vec<String> = argv
                .iter()
                .map(|a| match a {
                    Arg::Text(t) if t.contains(' ') => format!("'{t}'"),
                    Arg::Text(t) => t.clone(),
                    Arg::Disk(i) => format!("<disk {i}>"),
                })
                .collect();
            (reason, format!("chroot: {}", words.join(" ")))
        }
    }
}
