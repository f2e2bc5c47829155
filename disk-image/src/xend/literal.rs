//! The statements of a xend configuration: `key = value` assignments whose values are
//! Python literals (strings, adjacent strings joined, numbers, `True` / `False` / `None`,
//! lists and tuples of those). Everything else Python allows (imports, expressions, calls,
//! conditionals) is refused with its line: the file is read as data, never executed.

use super::Problem;
use super::lexer::{Tok, Token};

/// Appended to every refusal of Python code.
const DATA_ONLY: &str = "the configuration is read as data, never executed: only `key = value` \
                         lines with literal values (quoted strings, numbers, True/False/None, \
                         lists) are supported";

/// Lists nested deeper than this are refused (real configurations nest at most twice).
const MAX_DEPTH: usize = 32;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// A list or a tuple.
    List(Vec<Item>),
}

/// A value and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub value: Value,
    pub line: usize,
}

/// `key = value`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Assignment {
    pub key: String,
    /// The line of the key.
    pub line: usize,
    pub value: Item,
}

impl Value {
    /// How the value is named in error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Value::Str(s) if s.chars().count() > 40 => {
                let head: String = s.chars().take(40).collect();
                format!("the string '{head}…'")
            }
            Value::Str(s) => format!("the string '{s}'"),
            Value::Int(n) => format!("the number {n}"),
            Value::Float(f) => format!("the number {f:?}"),
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::None => "None".to_owned(),
            Value::List(_) => "a list".to_owned(),
        }
    }
}

/// The assignments of a tokenized file, in file order.
pub(super) fn assignments(tokens: &[Token]) -> Result<Vec<Assignment>, Problem> {
    let mut parser = Parser { tokens, pos: 0 };
    let mut out = Vec::new();
    loop {
        while matches!(parser.peek(), Some(Tok::Newline | Tok::Punct(';'))) {
            parser.pos += 1;
        }
        let Some(token) = parser.next() else {
            return Ok(out);
        };
        let Tok::Name(key) = &token.tok else {
            return Err(Problem::new(
                token.line,
                format!("expected a `key = value` line, found {}", shown(&token.tok)),
            ));
        };
        match (parser.peek(), parser.peek_at(1)) {
            (Some(Tok::Punct('=')), next) if next != Some(&Tok::Punct('=')) => parser.pos += 1,
            (next, _) => return Err(not_an_assignment(key, next, token.line)),
        }
        let value = parser.value(0)?;
        match parser.next() {
            None
            | Some(Token {
                tok: Tok::Newline | Tok::Punct(';'),
                ..
            }) => {}
            Some(other) => return Err(after_value(other, "the end of the line")),
        }
        out.push(Assignment {
            key: key.clone(),
            line: token.line,
            value,
        });
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Tok> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Option<&'t Tok> {
        self.tokens.get(self.pos + ahead).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.pos)?;
        self.pos += 1;
        Some(token)
    }

    /// The line of the last token, for errors at the end of the file.
    fn last_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    fn value(&mut self, depth: usize) -> Result<Item, Problem> {
        let Some(token) = self.next() else {
            return Err(Problem::new(
                self.last_line(),
                "the file ends where a value was expected".to_owned(),
            ));
        };
        let line = token.line;
        let value = match &token.tok {
            Tok::Str(first) => {
                // Adjacent literals are one string, as in Python: 'a' "b" -> 'ab'.
                let mut joined = first.clone();
                while let Some(Tok::Str(more)) = self.peek() {
                    joined.push_str(more);
                    self.pos += 1;
                }
                Value::Str(joined)
            }
            Tok::Int(n) => Value::Int(*n),
            Tok::Float(f) => Value::Float(*f),
            Tok::Punct(sign @ ('-' | '+')) => match self.next().map(|t| &t.tok) {
                Some(Tok::Int(n)) if *sign == '-' => Value::Int(-n),
                Some(Tok::Float(f)) if *sign == '-' => Value::Float(-f),
                Some(Tok::Int(n)) => Value::Int(*n),
                Some(Tok::Float(f)) => Value::Float(*f),
                _ => {
                    return Err(Problem::new(
                        line,
                        format!("`{sign}` may only precede a number; {DATA_ONLY}"),
                    ));
                }
            },
            Tok::Name(name) => match name.as_str() {
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                "None" => Value::None,
                _ if self.peek() == Some(&Tok::Punct('(')) => {
                    return Err(Problem::new(
                        line,
                        format!(
                            "function calls such as `{name}(...)` are not supported; {DATA_ONLY}"
                        ),
                    ));
                }
                _ => {
                    return Err(Problem::new(
                        line,
                        format!(
                            "`{name}` is a variable, not a literal value (strings need quotes); \
                             {DATA_ONLY}"
                        ),
                    ));
                }
            },
            Tok::Punct(open @ ('[' | '(')) => {
                if depth >= MAX_DEPTH {
                    return Err(Problem::new(
                        line,
                        format!("lists nested more than {MAX_DEPTH} deep"),
                    ));
                }
                self.sequence(*open, line, depth + 1)?
            }
            Tok::Punct('{') => {
                return Err(Problem::new(
                    line,
                    format!("dictionaries are not supported; {DATA_ONLY}"),
                ));
            }
            Tok::Newline => {
                return Err(Problem::new(line, "`=` is followed by no value".to_owned()));
            }
            Tok::Punct(c) => {
                return Err(Problem::new(
                    line,
                    format!("unexpected `{c}` where a value was expected; {DATA_ONLY}"),
                ));
            }
        };
        Ok(Item { value, line })
    }

    /// The items of `[...]` or `(...)` after the opening bracket. `(x)` is just `x`.
    fn sequence(&mut self, open: char, open_line: usize, depth: usize) -> Result<Value, Problem> {
        let close = if open == '[' { ']' } else { ')' };
        let unclosed = |line| {
            Problem::new(
                line,
                format!(
                    "unbalanced bracket: the `{open}` opened on line {open_line} is never closed"
                ),
            )
        };
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            match self.peek() {
                None => return Err(unclosed(open_line)),
                Some(Tok::Punct(c)) if *c == close => {
                    self.pos += 1;
                    break;
                }
                Some(Tok::Punct(c @ (')' | ']' | '}'))) => {
                    let line = self.tokens[self.pos].line;
                    return Err(Problem::new(
                        line,
                        format!(
                            "unbalanced bracket: `{c}` does not close the `{open}` opened on \
                             line {open_line}"
                        ),
                    ));
                }
                Some(_) => {
                    items.push(self.value(depth)?);
                    match self.peek() {
                        Some(Tok::Punct(',')) => {
                            self.pos += 1;
                            saw_comma = true;
                        }
                        // The loop closes the list, or reports a mismatched bracket.
                        Some(Tok::Punct(')' | ']' | '}')) => {}
                        None => return Err(unclosed(open_line)),
                        Some(_) => {
                            let token = &self.tokens[self.pos];
                            let expected = format!(
                                "`,` or the `{close}` closing the `{open}` of line {open_line}"
                            );
                            return Err(after_value(token, &expected));
                        }
                    }
                }
            }
        }
        if open == '(' && items.len() == 1 && !saw_comma {
            return Ok(items.pop().expect("one item").value);
        }
        Ok(Value::List(items))
    }
}

/// The error for `token` following a complete value where `expected` should be.
fn after_value(token: &Token, expected: &str) -> Problem {
    let message = match &token.tok {
        Tok::Punct(c @ ('+' | '-' | '*' | '/' | '%' | '.' | '&' | '|' | '^' | '<' | '>' | '@')) => {
            format!("expressions (`{c}`) are not supported; {DATA_ONLY}")
        }
        Tok::Punct('(' | '[') => format!("calls and indexing are not supported; {DATA_ONLY}"),
        Tok::Punct('=') => format!("unexpected `=`: one `key = value` per line; {DATA_ONLY}"),
        Tok::Name(word) if word == "if" || word == "for" || word == "else" => {
            format!("`{word}` expressions are not supported; {DATA_ONLY}")
        }
        other => format!("expected {expected}, found {}", shown(other)),
    };
    Problem::new(token.line, message)
}

/// The error for a line starting with `key` that is not followed by `=`.
fn not_an_assignment(key: &str, next: Option<&Tok>, line: usize) -> Problem {
    const STATEMENTS: [&str; 20] = [
        "import", "from", "if", "elif", "else", "for", "while", "def", "class", "print", "try",
        "except", "finally", "with", "return", "del", "pass", "assert", "global", "exec",
    ];
    let message = if STATEMENTS.contains(&key) {
        format!("`{key}` statements are not supported; {DATA_ONLY}")
    } else {
        match next {
            Some(Tok::Punct('(')) => {
                format!("function calls such as `{key}(...)` are not supported; {DATA_ONLY}")
            }
            Some(Tok::Punct('.' | '[')) => {
                format!(
                    "`{key}` is not a plain key: attributes and indexing are not supported; {DATA_ONLY}"
                )
            }
            Some(Tok::Punct('=')) => format!("`{key} == ...` is a comparison; {DATA_ONLY}"),
            Some(Tok::Punct(c)) if "+-*/%&|^<>".contains(*c) => {
                format!("`{key} {c}...` is an expression, not a setting; {DATA_ONLY}")
            }
            Some(tok) => format!("expected `=` after `{key}`, found {}", shown(tok)),
            None => format!("expected `=` after `{key}`, found the end of the file"),
        }
    };
    Problem::new(line, message)
}

/// A token as named in error messages.
fn shown(tok: &Tok) -> String {
    match tok {
        Tok::Name(name) => format!("`{name}`"),
        Tok::Str(s) => Value::Str(s.clone()).describe(),
        Tok::Int(n) => format!("the number {n}"),
        Tok::Float(f) => format!("the number {f:?}"),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Newline => "the end of the line".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse(text: &str) -> Result<Vec<Assignment>, Problem> {
        assignments(&tokenize(text)?)
    }

    fn only_value(text: &str) -> Value {
        let mut all = parse(text).unwrap();
        assert_eq!(all.len(), 1);
        all.pop().unwrap().value.value
    }

    fn strs(items: &[&str]) -> Value {
        Value::List(
            items
                .iter()
                .map(|s| Item {
                    value: Value::Str((*s).to_owned()),
                    line: 0,
                })
                .collect(),
        )
    }

    /// Lines are checked separately; this compares values only.
    fn without_lines(value: Value) -> Value {
        match value {
            Value::List(items) => Value::List(
                items
                    .into_iter()
                    .map(|i| Item {
                        value: without_lines(i.value),
                        line: 0,
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    #[test]
    fn literals() {
        assert_eq!(only_value("a = -5"), Value::Int(-5));
        assert_eq!(only_value("a = + 5"), Value::Int(5));
        assert_eq!(only_value("a = -0.5"), Value::Float(-0.5));
        assert_eq!(only_value("a = True"), Value::Bool(true));
        assert_eq!(only_value("a = None"), Value::None);
        assert_eq!(only_value("a = ('x')"), Value::Str("x".into()));
        assert_eq!(only_value("a = ()"), Value::List(Vec::new()));
        assert_eq!(without_lines(only_value("a = ('x',)")), strs(&["x"]));
        assert_eq!(
            only_value("a = 'x' \"y\" '''z'''"),
            Value::Str("xyz".into())
        );
    }

    #[test]
    fn multi_line_lists_keep_item_lines() {
        let text = "disk = [\n  'a', # first\n  'b' 'c',\n  ['d'],\n]\nname = 'n'; vcpus = 2\n";
        let all = parse(text).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].key.as_str(), all[0].line), ("disk", 1));
        let Value::List(items) = &all[0].value.value else {
            panic!("not a list")
        };
        let lines: Vec<usize> = items.iter().map(|i| i.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(items[1].value, Value::Str("bc".into()));
        assert_eq!((all[2].key.as_str(), all[2].line), ("vcpus", 6));
    }

    #[test]
    fn python_code_is_refused_with_its_line() {
        let cases = [
            ("name = 'a'\nimport os\n", 2, "`import` statements"),
            ("memory = 256 * 2\n", 1, "expressions (`*`)"),
            (
                "\nkernel = '/boot/vmlinuz-' + os.uname()[2]\n",
                2,
                "expressions (`+`)",
            ),
            ("name = 'a' % 3\n", 1, "expressions (`%`)"),
            ("arch = os.uname()[4]\n", 1, "`os` is a variable"),
            ("name = str(3)\n", 1, "function calls such as `str(...)`"),
            ("\n\nif memory > 2:\n  vcpus = 2\n", 3, "`if` statements"),
            ("name = yes\n", 1, "`yes` is a variable"),
            ("vcpus = 1 if a else 2\n", 1, "`if` expressions"),
            ("a = b = 1\n", 1, "`b` is a variable"),
            ("os.x = 1\n", 1, "attributes and indexing"),
            ("memory += 1\n", 1, "is an expression"),
            ("a = {'k': 1}\n", 1, "dictionaries"),
            (
                "a = 1 2\n",
                1,
                "expected the end of the line, found the number 2",
            ),
            ("a =\nb = 2\n", 1, "followed by no value"),
            ("'orphan'\n", 1, "expected a `key = value` line"),
            ("a = -'x'\n", 1, "may only precede a number"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {}", err.message);
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn unbalanced_brackets() {
        let err = parse("name = 'x'\ndisk = [ 'a',\n 'b'\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("opened on line 2 is never closed"),
            "{}",
            err.message
        );

        let err = parse("disk = [ 'a',\n 'b'\nname = 'x'\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("closing the `[` of line 1"),
            "{}",
            err.message
        );

        let err = parse("disk = [ 'a'\n )\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("does not close the `[`"),
            "{}",
            err.message
        );

        let err = parse("vif = ]\n").unwrap_err();
        assert!(err.message.contains("unexpected `]`"), "{}", err.message);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("a = {}", "[".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
    }
}
