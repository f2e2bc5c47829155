//! The expressions of `<class>.get_all_records_where`, XAPI's database filter language
//! (`ocaml/database/db_filter_parse.mly`): `field "NAME" = "VALUE"`, `"A" = "B"`, `true`,
//! `false`, `not E`, `E and E`, `E or E`, `( E )`. `and` and `or` bind equally, left to
//! right; `not` takes everything to its right. Field names are the database's, where
//! XAPI's dots are doubled underscores (`name__label` is `name_label`); values compare as
//! the database's strings (`true`, `42`, `Halted`, `OpaqueRef:…`).

use xenapi::rpc::Value;

use crate::error::{XapiError, XapiResult};

/// A parsed expression.
#[derive(Debug, PartialEq)]
pub(crate) enum Expr {
    True,
    False,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Operand, Operand),
}

/// One side of `=`.
#[derive(Debug, PartialEq)]
pub(crate) enum Operand {
    Field(String),
    Literal(String),
}

#[derive(Debug, PartialEq)]
enum Token {
    Eq,
    True,
    False,
    Field,
    And,
    Or,
    Not,
    Open,
    Close,
    Text(String),
}

fn bad(expression: &str, problem: &str) -> XapiError {
    XapiError::internal(format!(
        "get_all_records_where: {problem} in `{expression}`"
    ))
}

fn tokens(expression: &str) -> XapiResult<Vec<Token>> {
    let mut out = Vec::new();
    let mut rest = expression;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n']);
        let Some(c) = rest.chars().next() else {
            return Ok(out);
        };
        let (token, len) = match c {
            '=' => (Token::Eq, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            '"' => {
                let end = rest[1..]
                    .find('"')
                    .ok_or_else(|| bad(expression, "an unterminated string"))?;
                (Token::Text(rest[1..=end].to_owned()), end + 2)
            }
            _ => {
                let word = rest
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .next()
                    .unwrap_or_default();
                let token = match word {
                    "true" => Token::True,
                    "false" => Token::False,
                    "field" => Token::Field,
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    _ => return Err(bad(expression, "an unknown word")),
                };
                (token, word.len())
            }
        };
        out.push(token);
        rest = &rest[len..];
    }
}

/// Parses an expression.
pub(crate) fn parse(expression: &str) -> XapiResult<Expr> {
    let tokens = tokens(expression)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        expression,
    };
    let expr = parser.expr()?;
    if parser.at != tokens.len() {
        return Err(bad(expression, "text after the expression"));
    }
    Ok(expr)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    expression: &'a str,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    fn expr(&mut self) -> XapiResult<Expr> {
        let mut left = self.unit()?;
        loop {
            let combine = match self.tokens.get(self.at) {
                Some(Token::And) => Expr::And,
                Some(Token::Or) => Expr::Or,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.unit()?;
            left = combine(Box::new(left), Box::new(right));
        }
    }

    fn unit(&mut self) -> XapiResult<Expr> {
        let expression = self.expression;
        match self.next() {
            Some(Token::True) => Ok(Expr::True),
            Some(Token::False) => Ok(Expr::False),
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.expr()?))),
            Some(Token::Open) => {
                let inner = self.expr()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(bad(expression, "a missing `)`")),
                }
            }
            Some(_) => {
                self.at -= 1;
                let left = self.operand()?;
                if self.next() != Some(&Token::Eq) {
                    return Err(bad(expression, "a missing `=`"));
                }
                Ok(Expr::Eq(left, self.operand()?))
            }
            None => Err(bad(expression, "a missing operand")),
        }
    }

    fn operand(&mut self) -> XapiResult<Operand> {
        let expression = self.expression;
        match self.next() {
            Some(Token::Text(text)) => Ok(Operand::Literal(text.clone())),
            Some(Token::Field) => match self.next() {
                Some(Token::Text(name)) => Ok(Operand::Field(name.clone())),
                _ => Err(bad(expression, "`field` without a quoted name")),
            },
            _ => Err(bad(expression, "a missing operand")),
        }
    }
}

impl Expr {
    /// Whether `record` (a struct of XAPI's field names) matches. A field the class does
    /// not have is an error, as in XAPI's database.
    pub(crate) fn matches(&self, record: &Value) -> XapiResult<bool> {
        Ok(match self {
            Expr::True => true,
            Expr::False => false,
            Expr::Not(inner) => !inner.matches(record)?,
            Expr::And(a, b) => a.matches(record)? && b.matches(record)?,
            Expr::Or(a, b) => a.matches(record)? || b.matches(record)?,
            Expr::Eq(a, b) => a.text(record)? == b.text(record)?,
        })
    }
}

impl Operand {
    fn text(&self, record: &Value) -> XapiResult<String> {
        match self {
            Operand::Literal(text) => Ok(text.clone()),
            Operand::Field(name) => record
                .member(&name.replace("__", "_"))
                .map(database_text)
                .ok_or_else(|| XapiError::internal(format!("missing field {name}"))),
        }
    }
}

/// A value as XAPI's database stores it: scalars as text, sets and maps as S-expressions.
fn database_text(value: &Value) -> String {
    let quoted = |v: &Value| format!("'{}'", database_text(v));
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(x) => x.to_string(),
        Value::Array(items) => {
            format!(
                "({})",
                items.iter().map(quoted).collect::<Vec<_>>().join(" ")
            )
        }
        Value::Struct(members) => format!(
            "({})",
            members
                .iter()
                .map(|(k, v)| format!("('{k}' {})", quoted(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Value {
        Value::Struct(vec![
            ("name_label".into(), Value::String("web".into())),
            ("is_a_template".into(), Value::Bool(false)),
            ("VCPUs_max".into(), Value::Int(2)),
        ])
    }

    fn matches(expression: &str) -> bool {
        parse(expression).unwrap().matches(&record()).unwrap()
    }

    #[test]
    fn expressions_as_xapi_reads_them() {
        assert!(matches(r#"field "name__label" = "web""#));
        assert!(matches(
            r#"field "is_a_template" = "false" and field "VCPUs__max" = "2""#
        ));
        assert!(!matches(r#"field "name__label" = "db""#));
        assert!(matches(r#"not field "name__label" = "db""#));
        assert!(matches(r#"(false or true) and "a" = "a""#));
        // `not` takes everything to its right: not (false and …), not ((not false) …).
        assert!(matches("not false and false"));
        assert!(matches("true"));
        assert!(!matches("false"));
        for broken in [
            r#"field "name__label" ="#,
            "field name",
            "(true",
            "true true",
            "maybe",
        ] {
            assert!(parse(broken).is_err(), "{broken}");
        }
        let unknown = parse(r#"field "nope" = "x""#).unwrap();
        assert!(unknown.matches(&record()).is_err());
    }
}
