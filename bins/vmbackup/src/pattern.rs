//! VM selectors as NAUbackup writes them: a plain name (or a VM uuid), or a Python regular
//! expression applied with `re.match` (anchored at the start only), translated to the
//! `regex` crate.
//!
//! The translation rules are on [`Pattern`].

use std::fmt::{self, Write as _};

use regex::Regex;

use crate::tag::TagSelector;

/// A selector from a `vm-export=`, `vdi-export=`, `metadata-export=`, `skeleton-export=`
/// or `exclude=` line (without its `:N`).
#[derive(Debug, Clone)]
pub enum Selector {
    /// `tag:NAME`: the VMs carrying this tag (see [`TagSelector`]).
    Tag(TagSelector),
    /// A plain name: it matches the VM with exactly this name, or (when no VM has this
    /// name) the VM with this uuid.
    Name(String),
    /// A regular expression, matched against names from their start.
    Pattern(Pattern),
}

impl Selector {
    /// Classifies and compiles `text`: a plain name when [`is_plain_name`], a pattern
    /// otherwise. The error explains why the pattern cannot be used.
    pub fn parse(text: &str) -> Result<Selector, String> {
        if is_plain_name(text) {
            Ok(Selector::Name(text.to_owned()))
        } else {
            Pattern::new(text).map(Selector::Pattern)
        }
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        match self {
            Selector::Tag(tag) => tag.as_str(),
            Selector::Name(name) => name,
            Selector::Pattern(pattern) => pattern.as_str(),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// NAUbackup's `isNormalVmName`, `^[\w\s\-\_]+$` with Python 3's Unicode classes: letters,
/// digits, `_`, white space and `-` only. Such names are compared exactly, never as
/// patterns. A uuid is a plain name.
pub fn is_plain_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || c == '_' || c == '-')
}

/// A Python regular expression, compiled with `re.match` semantics.
///
/// Translation (Python 3 `re` → `regex`):
/// - the pattern is wrapped as `^(?:…)`: anchored at the start, free at the end (`$` ends
///   it);
/// - `\Z` becomes `\z`; `\<` and `\>` are Python's literal `<` and `>` (word boundaries in
///   `regex`); `\0` and octal escapes become `\x{…}`; any other escaped punctuation is the
///   literal character;
/// - `{` that does not start a repetition is a literal (`a{`, `{}`, `{x}`), and `{,n}`
///   means `{0,n}`, as in Python; a lone `}` or `]` is a literal;
/// - inside `[…]`: `[`, `&` and `~` are literals (`regex` reads nested classes and set
///   operations there), `\b` is a backspace, and a `]` right after `[` or `[^` is a
///   literal;
/// - `(?#…)` comments are removed.
///
/// Constructs `regex` lacks are errors that say so: look-around (`(?=`, `(?!`, `(?<=`,
/// `(?<!`), backreferences (`\1`, `(?P=name)`), conditionals (`(?(1)…)`), `\N{…}`,
/// and Python 3.11's atomic groups (`(?>…)`) and possessive quantifiers (`a++`). Matching
/// is Unicode-aware in both (Python 3 semantics, not VmBackup.py's Python 2 byte strings).
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Translates and compiles a Python pattern. The error says what is wrong, without the
    /// location.
    pub fn new(python: &str) -> Result<Pattern, String> {
        let translated = translate(python)?;
        let regex = Regex::new(&format!("^(?:{translated})"))
            .map_err(|e| format!("invalid regular expression `{python}`: {e}"))?;
        Ok(Pattern {
            source: python.to_owned(),
            regex,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when Python's `re.match(pattern, name)` would match.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }
}

/// The `regex` syntax for a Python pattern (without the anchoring wrapper).
fn translate(python: &str) -> Result<String, String> {
    let unsupported = |what: &str| {
        format!(
            "`{python}` uses {what}, which the regex engine does not support (rewrite it without)"
        )
    };
    let chars: Vec<char> = python.chars().collect();
    let mut out = String::with_capacity(python.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => i = escape(&chars, i, false, &mut out, python)?,
            '[' => i = class(&chars, i, &mut out, python)?,
            '(' if chars.get(i) == Some(&'?') => {
                let rest: String = chars[i..].iter().take(4).collect();
                if rest.starts_with("?#") {
                    let end = chars[i..]
                        .iter()
                        .position(|&c| c == ')')
                        .ok_or_else(|| format!("`{python}`: unterminated comment `(?#`"))?;
                    i += end + 1;
                } else if ["?=", "?!", "?<=", "?<!"]
                    .iter()
                    .any(|p| rest.starts_with(p))
                {
                    return Err(unsupported("look-around"));
                } else if rest.starts_with("?P=") {
                    return Err(unsupported("a backreference"));
                } else if rest.starts_with("?(") {
                    return Err(unsupported("a conditional group"));
                } else if rest.starts_with("?>") {
                    return Err(unsupported("an atomic group"));
                } else {
                    out.push('(');
                }
            }
            '{' => match repetition(&chars[i..]) {
                Some((text, used)) => {
                    out.push_str(&text);
                    i += used;
                    possessive_check(&chars, i, python)?;
                }
                None => out.push_str("\\{"),
            },
            '*' | '+' | '?' => {
                out.push(c);
                possessive_check(&chars, i, python)?;
            }
            '}' => out.push_str("\\}"),
            ']' => out.push_str("\\]"),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Python 3.11's possessive quantifiers (`a*+`, `a{2}+`): `chars[i]` follows a quantifier.
fn possessive_check(chars: &[char], i: usize, python: &str) -> Result<(), String> {
    if chars.get(i) == Some(&'+') {
        Err(format!(
            "`{python}` uses a possessive quantifier, which the regex engine does not support (rewrite it without)"
        ))
    } else {
        Ok(())
    }
}

/// Translates the escape whose backslash was just read (`chars[i]` is the escaped
/// character); returns the index after it.
fn escape(
    chars: &[char],
    i: usize,
    in_class: bool,
    out: &mut String,
    python: &str,
) -> Result<usize, String> {
    let Some(&c) = chars.get(i) else {
        return Err(format!("`{python}` ends with a lone backslash"));
    };
    let bad = || format!("`{python}`: bad escape `\\{c}`");
    let mut next = i + 1;
    match c {
        'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'a' | 'f' | 'n' | 'r' | 't' | 'v' | 'x' | 'u' | 'U' => {
            out.push('\\');
            out.push(c);
        }
        'A' | 'B' if !in_class => {
            out.push('\\');
            out.push(c);
        }
        'b' if in_class => out.push_str("\\x08"),
        'b' => out.push_str("\\b"),
        'Z' if !in_class => out.push_str("\\z"),
        '0' => {
            let digits: String = chars[next..]
                .iter()
                .take(2)
                .take_while(|d| d.is_digit(8))
                .collect();
            next += digits.len();
            let value = u32::from_str_radix(&format!("0{digits}"), 8).expect("octal digits");
            let _ = write!(out, "\\x{{{value:X}}}");
        }
        '1'..='9' if !in_class => {
            return Err(format!(
                "`{python}` uses a backreference, which the regex engine does not support (rewrite it without)"
            ));
        }
        'N' => {
            return Err(format!(
                "`{python}` uses a named character `\\N{{…}}`, which the regex engine does not support (rewrite it without)"
            ));
        }
        c if c.is_ascii_alphanumeric() => return Err(bad()),
        c => push_literal(c, in_class, out),
    }
    Ok(next)
}

/// Translates a character class whose `[` was just read; returns the index after its `]`.
fn class(chars: &[char], mut i: usize, out: &mut String, python: &str) -> Result<usize, String> {
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            ']' => {
                out.push(']');
                return Ok(i);
            }
            '\\' => i = escape(chars, i, true, out, python)?,
            '[' | '&' | '~' => push_literal(c, true, out),
            other => out.push(other),
        }
    }
    Err(format!(
        "`{python}`: unterminated character set (a `[` without its `]`)"
    ))
}

/// A literal character, escaped if `regex` gives it a meaning (in a class: also `-`, `[`,
/// `&`, `~`).
fn push_literal(c: char, in_class: bool, out: &mut String) {
    if regex_syntax_meta(c) || (in_class && matches!(c, '-' | '[' | ']' | '&' | '~' | '^')) {
        out.push('\\');
    }
    out.push(c);
}

fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#'
    )
}

/// Python's reading of `{` (just consumed) at the start of `rest`: a repetition `{m}`,
/// `{m,}`, `{,n}`, `{m,n}` or `{,}`, returned in `regex` syntax with the number of chars
/// it used; `None` when Python reads a literal `{`.
fn repetition(rest: &[char]) -> Option<(String, usize)> {
    let lo: String = rest.iter().take_while(|c| c.is_ascii_digit()).collect();
    let mut used = lo.len();
    let hi = if rest.get(used) == Some(&',') {
        used += 1;
        let hi: String = rest[used..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        used += hi.len();
        Some(hi)
    } else {
        None
    };
    if rest.get(used) != Some(&'}') || (lo.is_empty() && hi.is_none()) {
        return None;
    }
    used += 1;
    let lo = if lo.is_empty() { "0".to_owned() } else { lo };
    let text = match hi {
        None => format!("{{{lo}}}"),
        Some(hi) => format!("{{{lo},{hi}}}"),
    };
    Some((text, used))
}

#[cfg(test)]
mod tests;
