//! Tokens of the Python-literal subset xend configurations are written in: names, strings
//! (single, double and triple quoted, with `r` / `u` / `b` prefixes and escapes), numbers,
//! punctuation, and logical line ends. Comments and blank lines vanish here; line ends inside
//! brackets and after a backslash are joined, as Python does.

use super::Problem;

/// One lexical element.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier: a key, `True`, `False`, `None`, or a Python keyword such as `import`.
    Name(String),
    /// A string literal, escapes resolved.
    Str(String),
    /// An integer literal (never negative: `-` is a separate token).
    Int(i64),
    /// A floating-point literal.
    Float(f64),
    /// Any other single character: `=`, brackets, `,`, `;`, operators.
    Punct(char),
    /// The end of a logical line (never emitted inside brackets).
    Newline,
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// Splits `text` into tokens.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, Problem> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        depth: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    /// Open brackets: line ends inside them do not end the statement.
    depth: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn push(&mut self, tok: Tok, line: usize) {
        self.tokens.push(Token { tok, line });
    }

    fn run(&mut self) -> Result<(), Problem> {
        while let Some(c) = self.peek(0) {
            match c {
                '\n' => {
                    let ends_statement = self.depth == 0
                        && self.tokens.last().is_some_and(|t| t.tok != Tok::Newline);
                    if ends_statement {
                        self.push(Tok::Newline, self.line);
                    }
                    self.line += 1;
                    self.pos += 1;
                }
                ' ' | '\t' | '\r' | '\x0c' => self.pos += 1,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\\' if self.peek(1) == Some('\n') => {
                    self.pos += 2;
                    self.line += 1;
                }
                '\\' if self.peek(1) == Some('\r') && self.peek(2) == Some('\n') => {
                    self.pos += 3;
                    self.line += 1;
                }
                '\'' | '"' => {
                    let line = self.line;
                    let s = self.string(false)?;
                    self.push(Tok::Str(s), line);
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    let line = self.line;
                    let tok = self.number()?;
                    self.push(tok, line);
                }
                c if c.is_ascii_alphabetic() || c == '_' => self.name_or_prefixed_string()?,
                c => {
                    match c {
                        '(' | '[' | '{' => self.depth += 1,
                        ')' | ']' | '}' => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                    self.push(Tok::Punct(c), self.line);
                    self.pos += 1;
                }
            }
        }
        Ok(())
    }

    /// A name, or a string with a prefix such as `r'...'` or `u"..."`.
    fn name_or_prefixed_string(&mut self) -> Result<(), Problem> {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let is_prefix = matches!(
            name.to_ascii_lowercase().as_str(),
            "r" | "u" | "b" | "ur" | "ru" | "br" | "rb"
        );
        if is_prefix && matches!(self.peek(0), Some('\'' | '"')) {
            let line = self.line;
            let raw = name.to_ascii_lowercase().contains('r');
            let s = self.string(raw)?;
            self.push(Tok::Str(s), line);
        } else {
            self.push(Tok::Name(name), self.line);
        }
        Ok(())
    }

    /// A quoted string starting at the current quote character.
    fn string(&mut self, raw: bool) -> Result<String, Problem> {
        let start_line = self.line;
        let quote = self.peek(0).expect("called on a quote");
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(Problem::new(
                    start_line,
                    format!("unterminated string: the {quote} opened here is never closed"),
                ));
            };
            if c == quote
                && (!triple || (self.peek(1) == Some(quote) && self.peek(2) == Some(quote)))
            {
                self.pos += if triple { 3 } else { 1 };
                return Ok(out);
            }
            match c {
                '\n' if !triple => {
                    return Err(Problem::new(
                        start_line,
                        format!("unterminated string: the line ends before its closing {quote}"),
                    ));
                }
                '\n' => {
                    self.line += 1;
                    out.push('\n');
                    self.pos += 1;
                }
                '\\' => self.escape(raw, &mut out)?,
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A backslash sequence inside a string, as Python resolves it.
    fn escape(&mut self, raw: bool, out: &mut String) -> Result<(), Problem> {
        let Some(next) = self.peek(1) else {
            self.pos += 1;
            return Ok(()); // The missing closing quote is reported by the caller.
        };
        if next == '\n' {
            self.line += 1;
        }
        if raw {
            // A raw string keeps the backslash, and the next character cannot close it.
            out.push('\\');
            out.push(next);
            self.pos += 2;
            return Ok(());
        }
        self.pos += 2;
        let simple = match next {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(resolved) = simple {
            out.extend(resolved);
            return Ok(());
        }
        match next {
            '0'..='7' => {
                let mut value = next.to_digit(8).expect("octal digit");
                for _ in 0..2 {
                    match self.peek(0).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).expect("at most 0o777"));
            }
            'x' => out.push(self.hex_escape(2, 'x')?),
            'u' => out.push(self.hex_escape(4, 'u')?),
            'U' => out.push(self.hex_escape(8, 'U')?),
            'N' => {
                return Err(Problem::new(
                    self.line,
                    "named escapes (\\N{...}) are not supported".to_owned(),
                ));
            }
            other => {
                // Python keeps unknown escapes as they are.
                out.push('\\');
                out.push(other);
            }
        }
        Ok(())
    }

    fn hex_escape(&mut self, digits: usize, letter: char) -> Result<char, Problem> {
        let hex: String = (0..digits).filter_map(|i| self.peek(i)).collect();
        let bad = || {
            Problem::new(
                self.line,
                format!("bad \\{letter} escape: it needs {digits} hexadecimal digits"),
            )
        };
        if hex.len() != digits || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        self.pos += digits;
        let value = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
        char::from_u32(value).ok_or_else(bad)
    }

    /// A number in any of Python 2's spellings: `42`, `0x2a`, `052`, `0o52`, `0b101010`,
    /// `42L`, `4.2`, `.5`, `1e3`.
    fn number(&mut self) -> Result<Tok, Problem> {
        let start = self.pos;
        while let Some(c) = self.peek(0) {
            let exponent_sign = matches!(c, '+' | '-')
                && matches!(self.chars[self.pos - 1], 'e' | 'E')
                && !matches!(self.chars.get(start + 1), Some('x' | 'X'));
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        parse_number(&text).ok_or_else(|| {
            Problem::new(
                self.line,
                format!(
                    "`{text}` is not a number (write plain numbers, e.g. 512, or quote strings)"
                ),
            )
        })
    }
}

/// The value of a number token, `None` if it is not a valid Python number or too large.
fn parse_number(text: &str) -> Option<Tok> {
    let int = text.strip_suffix(['L', 'l']).unwrap_or(text);
    let lower = int.to_ascii_lowercase();
    let (digits, radix) = if let Some(hex) = lower.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = lower.strip_prefix("0o") {
        (oct, 8)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        (bin, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (&lower[1..], 8) // Python 2 octal, as xend read it.
    } else {
        (lower.as_str(), 10)
    };
    if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) {
        return i64::from_str_radix(digits, radix).ok().map(Tok::Int);
    }
    let is_float = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().any(|b| b"eE.".contains(&b));
    if is_float {
        return text.parse::<f64>().ok().map(Tok::Float);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn string(text: &str) -> String {
        match toks(text).as_slice() {
            [Tok::Str(s)] => s.clone(),
            other => panic!("expected one string, got {other:?}"),
        }
    }

    #[test]
    fn numbers_in_every_python_spelling() {
        let cases: [(&str, Tok); 9] = [
            ("42", Tok::Int(42)),
            ("0x2A", Tok::Int(42)),
            ("052", Tok::Int(42)),
            ("0o52", Tok::Int(42)),
            ("0b101010", Tok::Int(42)),
            ("42L", Tok::Int(42)),
            ("0", Tok::Int(0)),
            ("1.5", Tok::Float(1.5)),
            ("1e-3", Tok::Float(0.001)),
        ];
        for (text, want) in cases {
            assert_eq!(toks(text), vec![want], "{text}");
        }
    }

    #[test]
    fn bad_numbers_are_errors_on_their_line() {
        for text in ["\n512M", "\n09", "\n0x", "\n1j", "\n99999999999999999999"] {
            let err = tokenize(text).unwrap_err();
            assert_eq!(err.line, 2, "{text}");
            assert!(err.message.contains("is not a number"), "{}", err.message);
        }
    }

    #[test]
    fn string_escapes_and_prefixes() {
        assert_eq!(string(r"'a\tb\\c\'d'"), "a\tb\\c'd");
        assert_eq!(string(r#""\x41\101\u00e9\q""#), "AAé\\q");
        assert_eq!(string(r"r'C:\dir\'x'"), r"C:\dir\'x");
        assert_eq!(string(r"u'plain'"), "plain");
        assert_eq!(string("'joined \\\nline'"), "joined line");
    }

    #[test]
    fn triple_quoted_strings_span_lines() {
        let tokens = tokenize("a = '''one\n'two'\nthree'''\nb = 1").unwrap();
        assert_eq!(tokens[2].tok, Tok::Str("one\n'two'\nthree".to_owned()));
        assert_eq!(tokens[2].line, 1);
        assert_eq!(tokens[4].tok, Tok::Name("b".to_owned()));
        assert_eq!(tokens[4].line, 4);
    }

    #[test]
    fn unterminated_strings_name_the_opening_line() {
        let err = tokenize("a = 1\nb = 'open\nc = 2").unwrap_err();
        assert_eq!((err.line, err.message.contains("line ends")), (2, true));
        let err = tokenize("a = 1\nb = \"\"\"open\nc = 2").unwrap_err();
        assert_eq!((err.line, err.message.contains("never closed")), (2, true));
        assert!(tokenize(r"x = '\x4'").is_err());
    }

    #[test]
    fn newlines_end_statements_only_outside_brackets() {
        let got = toks("# c\n\na = [1, # c\n 2]\n\\\nb = 3 # end");
        let want = [
            Tok::Name("a".into()),
            Tok::Punct('='),
            Tok::Punct('['),
            Tok::Int(1),
            Tok::Punct(','),
            Tok::Int(2),
            Tok::Punct(']'),
            Tok::Newline,
            Tok::Name("b".into()),
            Tok::Punct('='),
            Tok::Int(3),
        ];
        assert_eq!(got, want);
    }
}
