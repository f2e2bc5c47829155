//! The files a plan edits, staged in memory: each rule edits the current text of a file and
//! adds its reasons; the plan keeps the first text read as `before`.

use std::collections::BTreeMap;

use super::FileEdit;
use crate::error::Result;
use crate::fs::GuestFs;

/// Staged edits over a guest's files, in first-touched order.
pub struct Staging<'a> {
    fs: &'a dyn GuestFs,
    order: Vec<String>,
    files: BTreeMap<String, Staged>,
}

struct Staged {
    before: Option<String>,
    current: Option<String>,
    reasons: Vec<String>,
}

impl<'a> Staging<'a> {
    /// Nothing staged yet.
    pub fn new(fs: &'a dyn GuestFs) -> Self {
        Self {
            fs,
            order: Vec::new(),
            files: BTreeMap::new(),
        }
    }

    fn entry(&mut self, path: &str) -> Result<&mut Staged> {
        if !self.files.contains_key(path) {
            let before = self.fs.read_text(path)?;
            self.order.push(path.to_owned());
            self.files.insert(
                path.to_owned(),
                Staged {
                    current: before.clone(),
                    before,
                    reasons: Vec::new(),
                },
            );
        }
        Ok(self.files.get_mut(path).expect("just inserted"))
    }

    /// The current (possibly already edited) text of `path`, `None` if it does not exist.
    pub fn text(&mut self, path: &str) -> Result<Option<String>> {
        Ok(self.entry(path)?.current.clone())
    }

    /// Edits every line of an existing file; `edit` returns the new line and its reasons.
    pub fn edit_lines(
        &mut self,
        path: &str,
        mut edit: impl FnMut(&str) -> Option<(String, Vec<String>)>,
    ) -> Result<()> {
        let Some(text) = self.text(path)? else {
            return Ok(());
        };
        let mut reasons = Vec::new();
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            match edit(body) {
                Some((new, why)) => {
                    out.push_str(&new);
                    reasons.extend(why);
                }
                None => out.push_str(body),
            }
            out.push_str(newline);
        }
        if out != text {
            self.set(path, Some(out), reasons)?;
        }
        Ok(())
    }

    /// Replaces (or creates, or with `None` removes) the file's text.
    pub fn set(&mut self, path: &str, text: Option<String>, reasons: Vec<String>) -> Result<()> {
        let staged = self.entry(path)?;
        staged.current = text;
        staged.reasons.extend(reasons);
        Ok(())
    }

    /// Whether anything changes.
    pub fn is_empty(&self) -> bool {
        self.files.values().all(|s| s.before == s.current)
    }

    /// The edits that change something, in first-touched order.
    pub fn finish(mut self) -> Vec<FileEdit> {
        self.order
            .iter()
            .filter_map(|path| {
                let staged = self.files.remove(path)?;
                (staged.before != staged.current).then(|| FileEdit {
                    path: path.clone(),
                    before: staged.before,
                    after: staged.current,
                    reasons: staged.reasons,
                })
            })
            .collect()
    }
}

impl<'a> Staging<'a> {
    /// The guest the staged files belong to.
    pub fn fs(&self) -> &'a dyn GuestFs {
        self.fs
    }
}
