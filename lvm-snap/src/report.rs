//! lvm2's JSON reports (`--reportformat json --units b --nosuffix`), as lvm2 2.03 prints
//! them: `{"report": [{"lv": [{"lv_name": "…", …}, …]}]}`, every value a string (`""` when a
//! field does not apply), sizes in bytes. Keys other than `report` (the `log` array of
//! 2.03.26 and later) are ignored. Fields are read by name, so an lvm2 that adds fields still
//! parses; a field we asked for and did not get is an error.

use std::collections::HashMap;

use serde::Deserialize;

/// The fields asked of `lvs`.
pub(crate) const LV_FIELDS: &str = "lv_name,vg_name,lv_uuid,lv_path,lv_dm_path,lv_attr,lv_size,origin,origin_size,pool_lv,data_percent,snap_percent,metadata_percent,lv_tags,lv_active,lv_kernel_major,lv_kernel_minor,segtype,lv_time";

/// The fields asked of `vgs`.
pub(crate) const VG_FIELDS: &str = "vg_name,vg_uuid,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,lv_count,snap_count,vg_tags";

#[derive(Deserialize)]
struct Envelope {
    report: Vec<HashMap<String, Vec<HashMap<String, serde_json::Value>>>>,
}

/// One row of a report: field name to value.
#[derive(Debug)]
pub(crate) struct Row(HashMap<String, String>);

impl Row {
    /// The field's text.
    pub(crate) fn text(&self, field: &str) -> Result<&str, String> {
        self.0
            .get(field)
            .map(String::as_str)
            .ok_or_else(|| format!("field `{field}` is missing"))
    }

    /// The field's text, `None` when it is empty (not applicable).
    pub(crate) fn optional(&self, field: &str) -> Result<Option<&str>, String> {
        self.text(field).map(|t| Some(t).filter(|t| !t.is_empty()))
    }

    /// A byte count or other whole number.
    pub(crate) fn number(&self, field: &str) -> Result<u64, String> {
        let text = self.text(field)?;
        text.parse()
            .map_err(|_| format!("field `{field}` is `{text}`, not a whole number"))
    }

    /// A whole number, `None` when empty.
    pub(crate) fn optional_number(&self, field: &str) -> Result<Option<u64>, String> {
        match self.optional(field)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| format!("field `{field}` is `{text}`, not a whole number")),
        }
    }

    /// A percentage (`"3.34"`), `None` when empty.
    pub(crate) fn percent(&self, field: &str) -> Result<Option<f64>, String> {
        match self.optional(field)? {
            None => Ok(None),
            Some(text) => match text.parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(Some(p)),
                _ => Err(format!("field `{field}` is `{text}`, not a percentage")),
            },
        }
    }

    /// A comma-separated list (tags).
    pub(crate) fn list(&self, field: &str) -> Result<Vec<String>, String> {
        Ok(self
            .text(field)?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// The rows of every `kind` section (`lv`, `vg`) of a report.
pub(crate) fn rows(json: &str, kind: &str) -> Result<Vec<Row>, String> {
    let envelope: Envelope =
        serde_json::from_str(json).map_err(|e| format!("not an lvm2 JSON report: {e}"))?;
    let mut rows = Vec::new();
    let mut sections = 0;
    for section in envelope.report {
        for (key, entries) in section {
            if key != kind {
                return Err(format!("a `{key}` section where `{kind}` was expected"));
            }
            sections += 1;
            for entry in entries {
                let mut row = HashMap::with_capacity(entry.len());
                for (field, value) in entry {
                    let serde_json::Value::String(text) = value else {
                        return Err(format!("field `{field}` is {value}, not a string"));
                    };
                    row.insert(field, text);
                }
                rows.push(Row(row));
            }
        }
    }
    if sections == 0 {
        return Err(format!("no `{kind}` section"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_ignores_the_log_section() {
        let json = r#"{"report":[{"lv":[{"lv_name":"a","lv_size":"4194304","snap_percent":"","lv_tags":"x,y"}]}],
                      "log":[{"log_seq_num":"1"}]}"#;
        let rows = rows(json, "lv").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].text("lv_name").unwrap(), "a");
        assert_eq!(rows[0].number("lv_size").unwrap(), 4_194_304);
        assert_eq!(rows[0].percent("snap_percent").unwrap(), None);
        assert_eq!(rows[0].list("lv_tags").unwrap(), ["x", "y"]);
        assert!(rows[0].text("origin").unwrap_err().contains("missing"));
    }

    #[test]
    fn shapes_lvm2_does_not_print_are_errors() {
        assert!(rows("lvs: command not found", "lv").is_err());
        assert!(rows(r#"{"report":[]}"#, "lv").is_err());
        assert!(rows(r#"{"report":[{"vg":[]}]}"#, "lv").is_err());
        assert!(rows(r#"{"report":[{"lv":[{"lv_size":4194304}]}]}"#, "lv").is_err());
        let row = &rows(
            r#"{"report":[{"lv":[{"lv_size":"4.00m","data_percent":"101.5"}]}]}"#,
            "lv",
        )
        .unwrap()[0];
        assert!(row.number("lv_size").is_err());
        assert!(row.percent("data_percent").is_err());
        assert!(rows(r#"{"report":[{"lv":[]}]}"#, "lv").unwrap().is_empty());
    }
}
