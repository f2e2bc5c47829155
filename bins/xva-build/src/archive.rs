//! The VM and its disks, opened and checked before anything is written, and the PV boot
//! files that go with it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use disk_image::compress::{Codec as Compression, CompressWriter};
use disk_image::xva::{XvaOptions, XvaSummary, write_xva};
use disk_image::{Boot, DiskInput, Progress, RandomAccessDisk, VmSpec};

/// A PV boot file to copy to the hosts: the local file and where the VM looks for it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCopy {
    /// The file here.
    pub local: PathBuf,
    /// Its path on the hosts (`/boot/guest/<uuid>/vmlinuz` or `initrd`).
    pub host: String,
}

/// The VM and its disks, opened and checked: everything needed to write its XVA.
pub struct Archive {
    /// The VM, with PV boot files already pointing where they go on the hosts.
    pub spec: VmSpec,
    /// Its disks, in the order of `spec.disks`.
    pub disks: Vec<Box<dyn RandomAccessDisk>>,
    /// How the XVA is written.
    pub options: XvaOptions,
    /// How the XVA is compressed.
    pub compression: Compression,
}

impl Archive {
    /// Writes the XVA, compressed as asked, into `out` (named `name` in errors); returns
    /// `out` and what was written.
    pub fn write<W: Write>(
        &self,
        out: W,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<(W, XvaSummary)> {
        let mut out = CompressWriter::new(out, self.compression)
            .with_context(|| format!("starting compression into `{name}`"))?;
        let inputs = self
            .disks
            .iter()
            .map(|d| DiskInput::Random(d.as_ref()))
            .collect();
        let summary = write_xva(&self.spec, inputs, &mut out, name, &self.options, progress)
            .with_context(|| format!("building `{name}`"))?;
        let out = out
            .finish()
            .with_context(|| format!("finishing `{name}`"))?;
        Ok((out, summary))
    }
}

/// Says where the PV boot files must go (when they are not uploaded).
pub fn print_copy_instructions(kernel_copies: &[KernelCopy]) {
    for copy in kernel_copies {
        eprintln!(
            "PV boot file: copy `{}` to `{}` on every host of the pool",
            copy.local.display(),
            copy.host
        );
    }
}

/// A PV guest booting a dom0 kernel needs it on the host, where XAPI looks for it (as xva.py
/// did): rewrite the kernel and ramdisk paths to `/boot/guest/<uuid>/` and return the files
/// to copy there.
pub fn place_kernel(spec: &mut VmSpec) -> Vec<KernelCopy> {
    let Boot::Pv {
        kernel: Some(kernel),
        ramdisk,
        ..
    } = &mut spec.boot
    else {
        return Vec::new();
    };
    let dir = format!("/boot/guest/{}", uuid::Uuid::new_v4());
    let place = |path: &mut String, name: &str| {
        let host = format!("{dir}/{name}");
        KernelCopy {
            local: PathBuf::from(std::mem::replace(path, host.clone())),
            host,
        }
    };
    let mut copies = vec![place(kernel, "vmlinuz")];
    if let Some(ramdisk) = ramdisk {
        copies.push(place(ramdisk, "initrd"));
    }
    copies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_boot_files_go_to_one_directory_per_build() {
        let mut spec = VmSpec::new("pv");
        spec.boot = Boot::Pv {
            bootloader: None,
            kernel: Some("k/vmlinuz-6.1".into()),
            ramdisk: Some("/srv/initrd.img".into()),
            args: String::new(),
        };
        let copies = place_kernel(&mut spec);
        let Boot::Pv {
            kernel: Some(kernel),
            ramdisk: Some(ramdisk),
            ..
        } = &spec.boot
        else {
            panic!("still PV with a kernel and a ramdisk: {:?}", spec.boot);
        };
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].local, PathBuf::from("k/vmlinuz-6.1"));
        assert_eq!(&copies[0].host, kernel);
        assert_eq!(copies[1].local, PathBuf::from("/srv/initrd.img"));
        assert_eq!(&copies[1].host, ramdisk);
        let dir = kernel.strip_suffix("/vmlinuz").unwrap();
        assert_eq!(ramdisk.strip_suffix("/initrd").unwrap(), dir);
        let id = dir.strip_prefix("/boot/guest/").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{dir}");
        assert!(place_kernel(&mut VmSpec::new("hvm")).is_empty());
    }
}
