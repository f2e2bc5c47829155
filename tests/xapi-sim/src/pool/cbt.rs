//! Changed block tracking, as XAPI's storage manager keeps it.
//!
//! Each VDI with CBT enabled has a log: the 64 KiB blocks written since the snapshot it
//! descends from (`base`). Snapshotting a tracked VDI hands its log to the snapshot and
//! starts an empty one whose base is that snapshot, so the logs form a chain;
//! `list_changed_blocks(from, to)` merges the logs from `to` back to `from`. Destroying a
//! snapshot in the middle merges its log into the next one, as the storage manager does
//! when it coalesces.

use std::collections::BTreeSet;

use base64::prelude::{BASE64_STANDARD, Engine};
use serde::{Deserialize, Serialize};
use xenapi::Ref;

use super::Pool;
use crate::error::{XapiError, XapiResult};

/// CBT block size: 64 KiB.
pub(crate) const CBT_BLOCK: u64 = 64 * 1024;

/// The changed-block log of one VDI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CbtLog {
    /// Blocks written since `base`.
    pub changed: BTreeSet<u64>,
    /// The snapshot this log continues from (`None`: from when CBT was enabled).
    pub base: Option<Ref>,
}

impl Pool {
    /// `VDI.enable_cbt` (idempotent).
    pub(crate) fn enable_cbt(&mut self, vdi: &Ref) -> XapiResult<()> {
        self.vdi(vdi)?;
        self.cbt.entry(vdi.clone()).or_default();
        Ok(())
    }

    /// `VDI.disable_cbt` (idempotent).
    pub(crate) fn disable_cbt(&mut self, vdi: &Ref) -> XapiResult<()> {
        self.vdi(vdi)?;
        self.cbt.remove(vdi);
        Ok(())
    }

    /// Records a write of `len` bytes at `offset` in the VDI's log, if it is tracked.
    pub(crate) fn record_write(&mut self, vdi: &Ref, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        if let Some(log) = self.cbt.get_mut(vdi) {
            let first = offset / CBT_BLOCK;
            let last = (offset + len - 1) / CBT_BLOCK;
            log.changed.extend(first..=last);
        }
    }

    /// A snapshot `snapshot` of the tracked VDI `leaf` was taken: the snapshot takes the
    /// leaf's log, and the leaf starts an empty one based on it.
    pub(crate) fn cbt_snapshot_taken(&mut self, leaf: &Ref, snapshot: &Ref) {
        if let Some(log) = self.cbt.get_mut(leaf) {
            let handed = std::mem::replace(
                log,
                CbtLog {
                    changed: BTreeSet::new(),
                    base: Some(snapshot.clone()),
                },
            );
            self.cbt.insert(snapshot.clone(), handed);
        }
    }

    /// A tracked VDI is being destroyed: logs based on it absorb its log.
    pub(crate) fn cbt_forget(&mut self, vdi: &Ref) {
        let Some(gone) = self.cbt.remove(vdi) else {
            return;
        };
        for log in self.cbt.values_mut() {
            if log.base.as_ref() == Some(vdi) {
                log.changed.extend(gone.changed.iter().copied());
                log.base.clone_from(&gone.base);
            }
        }
    }

    /// `VDI.list_changed_blocks`: base64 of the bitmap of 64 KiB blocks written between
    /// `from` and `to` (block i = bit 7 - i mod 8 of byte i / 8).
    pub(crate) fn list_changed_blocks(&self, from: &Ref, to: &Ref) -> XapiResult<String> {
        self.vdi(from)?;
        let size = self.vdi(to)?.virtual_size.max(0).cast_unsigned();
        for vdi in [from, to] {
            if !self.cbt.contains_key(vdi) {
                return Err(XapiError::new("VDI_NO_CBT_METADATA", [vdi.as_str()]));
            }
        }
        if self.vdi_attached(to) {
            return Err(XapiError::new(
                "VDI_IN_USE",
                [to.as_str(), "list_changed_blocks"],
            ));
        }
        let mut changed = BTreeSet::new();
        let mut node = to.clone();
        while node != *from {
            let log = self
                .cbt
                .get(&node)
                .ok_or_else(|| XapiError::new("VDI_NO_CBT_METADATA", [node.as_str()]))?;
            changed.extend(log.changed.iter().copied());
            node = log
                .base
                .clone()
                .ok_or_else(|| XapiError::new("VDI_NO_CBT_METADATA", [from.as_str()]))?;
        }
        Ok(BASE64_STANDARD.encode(bitmap(&changed, size)))
    }
}

/// The MSB-first bitmap of `blocks` for a disk of `size` bytes.
pub(crate) fn bitmap(blocks: &BTreeSet<u64>, size: u64) -> Vec<u8> {
    let count = size.div_ceil(CBT_BLOCK);
    let mut bytes = vec![0u8; count.div_ceil(8) as usize];
    for &block in blocks.iter().filter(|&&b| b < count) {
        bytes[(block / 8) as usize] |= 0x80 >> (block % 8);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_is_msb_first() {
        let blocks = BTreeSet::from([0, 9, 15]);
        assert_eq!(bitmap(&blocks, 16 * CBT_BLOCK), [0x80, 0x41]);
        assert_eq!(bitmap(&BTreeSet::from([3]), 3 * CBT_BLOCK + 1), [0x10]);
    }
}
