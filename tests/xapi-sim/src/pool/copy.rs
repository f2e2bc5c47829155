//! `VDI.copy` into any SR of the pool (the bytes copied, sparse), `VDI.set_other_config`,
//! and more SRs than the default one (a backup SR, as TINABS 2.0 copies disks to).

use xenapi::Ref;
use xenapi::records::{SrRecord, VdiRecord};

use super::{Pool, new_ref, new_uuid};
use crate::disks;
use crate::error::{XapiError, XapiResult};

impl Pool {
    /// `VDI.copy(vdi, sr, base_vdi, into_vdi)`: as XAPI's `Xapi_vdi.copy`, a new VDI in `sr`
    /// with the source's name, description, size, type, sharing, tags and `other_config`
    /// (never read-only), holding the source's bytes; or, when `into` is a VDI, the bytes
    /// written into it (`VDI_READONLY`, `VDI_TOO_SMALL`). A copy this call created is
    /// destroyed again if the bytes cannot be copied. Differential copies (`base_vdi`) are
    /// not simulated and refused.
    pub(crate) fn copy_vdi(
        &mut self,
        vdi: &Ref,
        sr: &Ref,
        base: &Ref,
        into: &Ref,
    ) -> XapiResult<Ref> {
        let source = self.vdi(vdi)?.clone();
        if !base.is_null() {
            return Err(XapiError::not_allowed(
                "VDI.copy with a base_vdi (a differential copy) is not simulated",
            ));
        }
        let (target, created) = if into.is_null() {
            self.sr(sr)?;
            let record = VdiRecord {
                name_label: source.name_label.clone(),
                name_description: source.name_description.clone(),
                sr: sr.clone(),
                virtual_size: source.virtual_size,
                kind: source.kind.clone(),
                sharable: source.sharable,
                read_only: false,
                other_config: source.other_config.clone(),
                tags: source.tags.clone(),
                ..VdiRecord::default()
            };
            (self.create_vdi(record)?, true)
        } else {
            let target = self.vdi(into)?;
            if target.read_only {
                return Err(XapiError::new("VDI_READONLY", [into.as_str()]));
            }
            if target.virtual_size < source.virtual_size {
                return Err(XapiError::new(
                    "VDI_TOO_SMALL",
                    [into.as_str().to_owned(), source.virtual_size.to_string()],
                ));
            }
            (into.clone(), false)
        };
        let (from, to) = (self.vdi_path(vdi)?, self.vdi_path(&target)?);
        let size = self.vdi(&target)?.virtual_size.max(0).cast_unsigned();
        let copied = disks::copy_sparse(&from, &to).and_then(|()| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&to)
                .and_then(|file| file.set_len(size))
        });
        if let Err(error) = copied {
            if created {
                let _ = self.destroy_vdi(&target);
            }
            return Err(XapiError::internal(format!(
                "copying {} to {}: {error}",
                from.display(),
                to.display()
            )));
        }
        Ok(target)
    }

    /// Adds an SR of `size` bytes named `name` (not the pool's default); returns it.
    pub(crate) fn add_sr(&mut self, name: &str, size: u64) -> Ref {
        let sr = new_ref();
        self.srs.insert(
            sr.clone(),
            SrRecord {
                uuid: new_uuid(),
                name_label: name.to_owned(),
                name_description: "Simulated SR: one sparse file per VDI".to_owned(),
                physical_size: i64::try_from(size).unwrap_or(i64::MAX),
                kind: "nfs".to_owned(),
                content_type: "user".to_owned(),
                shared: true,
                ..SrRecord::default()
            },
        );
        sr
    }
}
