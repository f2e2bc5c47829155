//! `--xva FILE`: an exported VM (plain, gzip or zstd XVA, as XAPI's `/export` or vmbackup
//! writes it) as the source, no host needed. Its `ova.xml` holds XAPI's own records, so the
//! VM maps onto a [`SourceVm`] exactly as a live one does; its disks stream from the archive,
//! in archive order, each checksum verified, into the uploads.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use disk_image::pieces::split;
use disk_image::xva::{XvaMetadata, XvaReader};
use disk_image::{DiskSink, NoProgress, Piece};
use xenapi::records::VbdRecord;

use crate::source::{Power, SourceVm, XapiDisk};

/// Opens the archive and maps its VM.
pub fn open(path: &Path) -> Result<(XvaReader<Box<dyn Read + Send>>, SourceVm)> {
    let (reader, _) = XvaReader::open_path(path)?;
    let source = source_vm(reader.metadata())
        .with_context(|| format!("reading the VM of {}", path.display()))?;
    Ok((reader, source))
}

/// The archive's VM (the one that is not a snapshot) with its disks and NICs.
pub fn source_vm(metadata: &XvaMetadata) -> Result<SourceVm> {
    // An export of a snapshot (what vmbackup writes) holds that one VM; an export of a VM
    // with snapshots holds the VM and them.
    let vms: Vec<_> = if metadata.vms.len() == 1 {
        metadata.vms.iter().collect()
    } else {
        metadata
            .vms
            .iter()
            .filter(|(_, vm)| !vm.is_a_snapshot)
            .collect()
    };
    let [(id, vm)] = vms.as_slice() else {
        bail!(
            "the archive holds {} VMs that are not snapshots, not one",
            vms.len()
        );
    };
    let attached = |vbd: &VbdRecord| vbd.vm.as_str() == id.as_str();
    let slots: Vec<XapiDisk> = metadata
        .disks
        .iter()
        .filter(|d| d.vbd.as_ref().is_some_and(attached))
        .map(|d| XapiDisk {
            vbd: d.vbd.clone().expect("filtered"),
            vdi: Some(d.vdi.clone()),
            sr_name: metadata
                .srs
                .iter()
                .find(|(sr, _)| sr.as_str() == d.vdi.sr.as_str())
                .map(|(_, sr)| sr.name_label.clone())
                .unwrap_or_default(),
        })
        .collect();
    let mut nics = Vec::new();
    for (_, vif) in metadata
        .vifs
        .iter()
        .filter(|(_, v)| v.vm.as_str() == id.as_str())
    {
        let Some((_, network)) = metadata
            .networks
            .iter()
            .find(|(n, _)| n.as_str() == vif.network.as_str())
        else {
            bail!(
                "VIF {} names a network the archive does not hold",
                vif.device
            );
        };
        nics.push((vif.clone(), network.clone()));
    }
    let mut source = SourceVm::from_xapi(vm, &slots, &nics)?;
    // A copy in a file never runs, whatever the record says.
    source.power = Power::Halted;
    Ok(source)
}

/// A [`DiskSink`] that hands what an XVA disk holds to the upload as pieces: its chunks as
/// data (all-zero runs as zeros), the chunks it skips as zeros.
pub struct PieceSink<'a> {
    push: &'a mut dyn FnMut(Piece) -> Result<()>,
    position: u64,
    /// The first failure of the upload, kept whole (a `DiskSink` error is a string).
    failure: Option<anyhow::Error>,
}

impl<'a> PieceSink<'a> {
    /// Pushes into `push`.
    pub fn new(push: &'a mut dyn FnMut(Piece) -> Result<()>) -> Self {
        PieceSink {
            push,
            position: 0,
            failure: None,
        }
    }

    /// The upload's failure, if the sink met one.
    pub fn failure(self) -> Option<anyhow::Error> {
        self.failure
    }

    fn give(&mut self, result: Result<()>) -> disk_image::Result<()> {
        result.map_err(|error| {
            let text = format!("{error:#}");
            self.failure.get_or_insert(error);
            disk_image::DiskImageError::Invalid(text)
        })
    }

    fn zeros_to(&mut self, to: u64) -> disk_image::Result<()> {
        if to > self.position {
            let piece = Piece::Zero {
                offset: self.position,
                len: to - self.position,
            };
            let result = (self.push)(piece);
            self.give(result)?;
            self.position = to;
        }
        Ok(())
    }
}

impl DiskSink for PieceSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        self.zeros_to(offset)?;
        let result = split(offset, data, self.push);
        self.give(result)?;
        self.position = offset + data.len() as u64;
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.zeros_to(size)
    }
}

/// Skips the archive's next disk (one the plan does not migrate), verifying its checksums.
pub fn skip_disk<R: Read>(reader: &mut XvaReader<R>) -> Result<()> {
    reader.read_disk(None, true, &NoProgress)?;
    Ok(())
}
