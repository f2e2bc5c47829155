//! Whole configurations: in the styles found in the wild (xen-tools, stacklet images, xm's
//! HVM examples, hand-written xm and xl files), and broken ones.

use std::path::{Path, PathBuf};

use super::*;
use crate::DiskSpec;

mod broken;
mod python;
mod real_world;

fn config(text: &str) -> XendConfig {
    parse(text, Path::new("/etc/xen/test.cfg")).unwrap_or_else(|e| panic!("{e}"))
}

fn spec(text: &str) -> VmSpec {
    config(text).to_vm_spec().unwrap_or_else(|e| panic!("{e}"))
}

fn disk(path: &str, device: &str, writable: bool) -> DiskSpec {
    DiskSpec {
        path: PathBuf::from(path),
        device: Some(device.to_owned()),
        writable,
    }
}

fn ignored(config: &XendConfig) -> Vec<&str> {
    config.ignored.iter().map(|i| i.key.as_str()).collect()
}

/// The line and message of a parse error.
fn parse_error(text: &str) -> (usize, String) {
    match parse(text, Path::new("/etc/xen/bad.cfg")) {
        Err(XendError::Line { line, problem, .. }) => (line, problem),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// The line and message of a mapping error.
fn spec_error(text: &str) -> (usize, String) {
    match config(text).to_vm_spec() {
        Err(XendError::Line { line, problem, .. }) => (line, problem),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
