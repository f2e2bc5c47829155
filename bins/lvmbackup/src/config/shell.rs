//! Shell variable assignments read as data, never sourced: xenbackup's `/etc/xenbackup.conf`
//! and backup-manager's `/etc/backup-manager.conf` are POSIX `sh` files that their tools
//! source. lvmbackup reads only their `NAME=value` lines (optionally `export`ed), with `sh`'s
//! quoting (`'…'` literal, `"…"` with `\` escapes, unquoted words with `\` escapes) and
//! `$NAME` / `${NAME}` expansion of variables set earlier in the same file (or given by the
//! caller, such as `HOSTNAME`). Nothing is executed: a value computed by a command
//! (`` `…` ``, `$(…)`, `$((…))`) or naming a variable the file does not set is kept as
//! [`Value::Unevaluated`], which is an error only when lvmbackup needs that variable. Lines
//! that are not assignments (`if`, function calls, …) are skipped and listed.
//!
//! Written by hand: no crate reads `sh` assignments without running a shell, and running one
//! is what this module exists to avoid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// A variable's value as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Plain text, quotes removed and variables expanded.
    Text(String),
    /// Computed when the file is sourced; `why` says by what.
    Unevaluated {
        /// What would have computed it.
        why: String,
    },
}

/// One assignment: its value and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The value.
    pub value: Value,
    /// Its line.
    pub line: usize,
}

/// The assignments of one file, the last one of each name winning (as when sourced).
#[derive(Debug, Clone)]
pub struct ShellFile {
    path: PathBuf,
    vars: BTreeMap<String, Assignment>,
    skipped: Vec<usize>,
}

impl ShellFile {
    /// Reads `text` (the contents of `path`, named in errors). `given` are variables set
    /// before the file (`HOSTNAME` for backup-manager's configuration).
    pub fn parse(path: &Path, text: &str, given: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let mut vars: BTreeMap<String, Assignment> = given
            .iter()
            .map(|(name, value)| {
                (
                    (*name).to_owned(),
                    Assignment {
                        value: Value::Text((*value).to_owned()),
                        line: 0,
                    },
                )
            })
            .collect();
        let mut skipped = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |problem: String| ConfigError::at(path, line, problem);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let statement = trimmed
                .strip_prefix("export")
                .filter(|rest| rest.starts_with([' ', '\t']))
                .map_or(trimmed, str::trim_start);
            // one or more assignments, separated by blanks or `;`; a line that runs a
            // command (`A=1 cmd` sets A for cmd only) sets nothing
            let mut found = Vec::new();
            let mut rest = statement;
            let mut command = false;
            while let Some((name, value_text)) = split_assignment(rest) {
                let (value, used) = parse_value(value_text, &vars).map_err(error)?;
                found.push((name, value));
                rest = value_text[used..].trim_start_matches([' ', '\t', ';']);
                // `X=… || cmd` / `X=… && cmd`: X is set, the command is not run
                if rest.is_empty()
                    || rest.starts_with('#')
                    || rest.starts_with("||")
                    || rest.starts_with("&&")
                {
                    rest = "";
                    break;
                }
                if split_assignment(rest).is_none() {
                    command = true;
                }
            }
            if found.is_empty() || command || !rest.is_empty() {
                skipped.push(line);
                continue;
            }
            for (name, value) in found {
                vars.insert(name.to_owned(), Assignment { value, line });
            }
        }
        Ok(ShellFile {
            path: path.to_owned(),
            vars,
            skipped,
        })
    }

    /// Reads the file at `path`.
    pub fn read(path: &Path, given: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        ShellFile::parse(path, &text, given)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lines that are not assignments (skipped, never run).
    pub fn skipped_lines(&self) -> &[usize] {
        &self.skipped
    }

    /// The assignment of `name`, if the file makes one.
    pub fn assignment(&self, name: &str) -> Option<&Assignment> {
        self.vars.get(name).filter(|a| a.line > 0)
    }

    /// The text of `name`: `None` if unset, an error naming file and line if it is computed
    /// by a command.
    pub fn text(&self, name: &str) -> Result<Option<(&str, usize)>, ConfigError> {
        match self.assignment(name) {
            None => Ok(None),
            Some(Assignment {
                value: Value::Text(text),
                line,
            }) => Ok(Some((text.as_str(), *line))),
            Some(Assignment {
                value: Value::Unevaluated { why },
                line,
            }) => Err(ConfigError::at(
                &self.path,
                *line,
                format!(
                    "{name} is computed by {why}; lvmbackup reads this file as data and never \
                     runs it: write the value itself"
                ),
            )),
        }
    }

    /// An error about `name`'s line.
    pub fn error(&self, name: &str, problem: impl Into<String>) -> ConfigError {
        let line = self.assignment(name).map_or(0, |a| a.line);
        ConfigError::at(&self.path, line, problem.into())
    }
}

/// `NAME=rest` with a valid shell name, else `None`.
fn split_assignment(statement: &str) -> Option<(&str, &str)> {
    let (name, rest) = statement.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, rest))
}

/// Reads one shell word (the value), up to unquoted whitespace or `;`; returns it and the
/// number of bytes of `rest` it used.
fn parse_value(rest: &str, vars: &BTreeMap<String, Assignment>) -> Result<(Value, usize), String> {
    let mut out = String::new();
    let mut unevaluated: Option<String> = None;
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut expand = |name: &str, out: &mut String, unevaluated: &mut Option<String>| match vars
        .get(name)
        .map(|a| &a.value)
    {
        Some(Value::Text(text)) => out.push_str(text),
        Some(Value::Unevaluated { why }) => {
            unevaluated.get_or_insert_with(|| format!("${name}, which is computed by {why}"));
        }
        None => {
            unevaluated.get_or_insert_with(|| format!("${name}, which this file does not set"));
        }
    };
    while i < chars.len() {
        match chars[i] {
            ' ' | '\t' | ';' => break,
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or("a single quote is not closed on this line")?;
                out.extend(&chars[i + 1..i + 1 + end]);
                i += end + 2;
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a double quote is not closed on this line".into()),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            out.push(chars[i + 1]);
                            i += 2;
                        }
                        Some('$') => i = dollar(&chars, i, &mut out, &mut unevaluated, &mut expand),
                        Some('`') => {
                            unevaluated.get_or_insert_with(|| "a command (`…`)".into());
                            let end = chars[i + 1..]
                                .iter()
                                .position(|&c| c == '`')
                                .ok_or("a backquote is not closed on this line")?;
                            i += end + 2;
                        }
                        Some(&c) => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
            }
            '\\' => {
                if let Some(&c) = chars.get(i + 1) {
                    out.push(c);
                }
                i += 2;
            }
            '`' => {
                unevaluated.get_or_insert_with(|| "a command (`…`)".into());
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or("a backquote is not closed on this line")?;
                i += end + 2;
            }
            '$' => i = dollar(&chars, i, &mut out, &mut unevaluated, &mut expand),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    let used: usize = chars[..i.min(chars.len())]
        .iter()
        .map(|c| c.len_utf8())
        .sum();
    let value = match unevaluated {
        Some(why) => Value::Unevaluated { why },
        None => Value::Text(out),
    };
    Ok((value, used))
}

/// Handles a `$` at `chars[i]`; returns the index after what it consumed.
fn dollar(
    chars: &[char],
    i: usize,
    out: &mut String,
    unevaluated: &mut Option<String>,
    expand: &mut impl FnMut(&str, &mut String, &mut Option<String>),
) -> usize {
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    match chars.get(i + 1) {
        Some('(') => {
            unevaluated.get_or_insert_with(|| "a command ($(…))".into());
            // skip to the matching parenthesis
            let mut depth = 0usize;
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            j
        }
        Some('{') => {
            let Some(end) = chars[i + 2..].iter().position(|&c| c == '}') else {
                unevaluated.get_or_insert_with(|| "an unclosed ${".into());
                return chars.len();
            };
            let inner: String = chars[i + 2..i + 2 + end].iter().collect();
            if inner.chars().all(|c| is_name(&c)) && !inner.is_empty() {
                expand(&inner, out, unevaluated);
            } else {
                unevaluated.get_or_insert_with(|| format!("a parameter expansion (${{{inner}}})"));
            }
            i + 3 + end
        }
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let name: String = chars[i + 1..].iter().take_while(|c| is_name(c)).collect();
            expand(&name, out, unevaluated);
            i + 1 + name.chars().count()
        }
        _ => {
            out.push('$');
            i + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ShellFile {
        ShellFile::parse(Path::new("/etc/test.conf"), text, &[("HOSTNAME", "xen1")]).unwrap()
    }

    fn text<'a>(file: &'a ShellFile, name: &str) -> &'a str {
        file.text(name).unwrap().unwrap().0
    }

    #[test]
    fn quoting_and_expansion_follow_sh() {
        let file = parse(
            "# comment\n\
             BCKDEV=\"/dev/sdb3\"  BCKDEV_FS=ext4\n\
             export BCKMNTP='/backup/$guests'\n\
             NICEOPT=\"-n 19\" # trailing comment\n\
             A=x\\ y\"z\"'w'\n\
             B=\"$BCKMNTP/sub\"\n\
             C=${A}-$HOSTNAME\n\
             D=\"say \\\"hi\\\" \\$HOME\"\n\
             E=\n\
             E2=\"\"\n\
             F=100$\n",
        );
        assert_eq!(text(&file, "BCKDEV"), "/dev/sdb3");
        assert_eq!(text(&file, "BCKDEV_FS"), "ext4");
        assert_eq!(text(&file, "BCKMNTP"), "/backup/$guests");
        assert_eq!(text(&file, "NICEOPT"), "-n 19");
        assert_eq!(text(&file, "A"), "x yzw");
        assert_eq!(text(&file, "B"), "/backup/$guests/sub");
        assert_eq!(text(&file, "C"), "x yzw-xen1");
        assert_eq!(text(&file, "D"), "say \"hi\" $HOME");
        assert_eq!(text(&file, "E"), "");
        assert_eq!(text(&file, "E2"), "");
        assert_eq!(text(&file, "F"), "100$");
        assert_eq!(file.text("NOPE").unwrap(), None);
        assert_eq!(file.text("NICEOPT").unwrap().unwrap().1, 4);
    }

    #[test]
    fn commands_are_never_run_and_are_errors_only_when_needed() {
        let file = parse(
            "HOSTN=`hostname`\n\
             BIN_SENDMAIL=$(which sendmail) || $(which ssmtp)\n\
             SUBJECT=\"backup of $HOSTN\"\n\
             N=$((1+2))\n\
             U=$UNSET_ONE\n\
             P=${X:-default}\n\
             if [ -x /bin/true ]; then\n\
             LANG=C touch /tmp/should-not-exist\n\
             touch /tmp/should-not-exist\n\
             fi\n\
             OK=yes\n",
        );
        assert_eq!(text(&file, "OK"), "yes");
        for (name, why) in [
            ("HOSTN", "a command (`…`)"),
            ("BIN_SENDMAIL", "a command ($(…))"),
            ("SUBJECT", "$HOSTN, which is computed by a command"),
            ("N", "a command ($(…))"),
            ("U", "$UNSET_ONE, which this file does not set"),
            ("P", "a parameter expansion (${X:-default})"),
        ] {
            let error = file.text(name).unwrap_err().to_string();
            assert!(error.starts_with("/etc/test.conf:"), "{error}");
            assert!(error.contains(why), "{name}: {error}");
        }
        assert_eq!(file.skipped_lines(), [7, 8, 9, 10]);
        assert_eq!(file.text("LANG").unwrap(), None);
        assert!(!Path::new("/tmp/should-not-exist").exists());
    }

    #[test]
    fn unclosed_quotes_name_file_and_line() {
        let error = ShellFile::parse(Path::new("/etc/x.conf"), "A=1\nB=\"open\n", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "/etc/x.conf:2: a double quote is not closed on this line"
        );
    }

    #[test]
    fn the_last_assignment_wins_and_given_variables_are_not_the_files() {
        let file = parse("X=1\nX=2\n");
        assert_eq!(file.text("X").unwrap(), Some(("2", 2)));
        assert_eq!(file.text("HOSTNAME").unwrap(), None);
    }
}
