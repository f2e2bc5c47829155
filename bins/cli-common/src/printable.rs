//! Text from a pool or an archive made safe to print: a VM name holding a line break, a
//! carriage return or an escape sequence could otherwise forge a line of output
//! (`VmBackup ended - Success`) or drive the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (C0, DEL, C1) and Unicode line or paragraph
/// separator written as an escape: `\n`, `\r`, `\t`, `\x1b`, `\u{2028}`. Other text, a
/// backslash included, is unchanged; text without such characters is not copied.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && u32::from(c) < 0x100 => {
                // Infallible: writing to a String.
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("web01 (prod) é"), "web01 (prod) é");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(
            printable("x\nVmBackup ended - Success\r\t\u{1b}[31m\u{7f}\u{85}\u{2028}"),
            "x\\nVmBackup ended - Success\\r\\t\\x1b[31m\\x7f\\x85\\u{2028}"
        );
        assert_eq!(printable("a\\nb"), "a\\nb");
    }
}
