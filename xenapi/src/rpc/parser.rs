//! The XML-RPC parser: quick-xml events turned into structural tokens, and the grammar of
//! `<value>` on top of them (into a [`Value`] tree, or, for the typed fast path, walked by
//! `stream`). Text is borrowed from the document unless entities had to be resolved.

use std::borrow::Cow;
use std::collections::VecDeque;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{CodecError, Value};

/// An element name: XML-RPC's own names are borrowed, so parsing allocates only for text.
type Name = Cow<'static, str>;

/// A structural token: text runs (entities resolved) are merged into one `Text`, borrowed
/// from the document when no entity had to be resolved.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token<'a> {
    Open(Name),
    Close(Name),
    Empty(Name),
    Text(Cow<'a, str>),
    Eof,
}

pub(super) struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    /// Tokens read ahead, with their byte positions.
    pending: VecDeque<(Token<'a>, u64)>,
    position: u64,
}

impl<'a> Parser<'a> {
    pub(super) fn new(xml: &'a str) -> Self {
        let mut reader = Reader::from_str(xml);
        // Every close is checked against what the XML-RPC grammar expects, which is stricter.
        reader.config_mut().check_end_names = false;
        Parser {
            reader,
            pending: VecDeque::new(),
            position: 0,
        }
    }

    /// The next token, with whitespace-only text between elements skipped.
    pub(super) fn next(&mut self) -> Result<Token<'a>, CodecError> {
        loop {
            match self.next_raw()? {
                Token::Text(t) if t.trim().is_empty() => {}
                other => return Ok(other),
            }
        }
    }

    /// The next token, text kept even when it is only whitespace (for element content).
    pub(super) fn next_raw(&mut self) -> Result<Token<'a>, CodecError> {
        let (token, position) = match self.pending.pop_front() {
            Some(pending) => pending,
            None => self.read_token()?,
        };
        self.position = position;
        Ok(token)
    }

    /// Hands a token back: the next read returns it again.
    pub(super) fn push_back(&mut self, token: Token<'a>) {
        self.pending.push_front((token, self.position));
    }

    pub(super) fn peek_open(&mut self, name: &str) -> Result<bool, CodecError> {
        let token = self.next()?;
        let is_open = matches!(&token, Token::Open(n) if n == name);
        self.pending.push_front((token, self.position));
        Ok(is_open)
    }

    fn read_token(&mut self) -> Result<(Token<'a>, u64), CodecError> {
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            let position = self.reader.buffer_position();
            let event = self.reader.read_event().map_err(|e| CodecError::Xml {
                position: self.reader.error_position(),
                message: e.to_string(),
            })?;
            let structural = match event {
                Event::Text(t) => {
                    match &mut text {
                        Some(run) => run.to_mut().push_str(&t.xml10_content()),
                        None => text = Some(t.xml10_content()),
                    }
                    continue;
                }
                Event::CData(c) => {
                    text.get_or_insert_with(Cow::default)
                        .to_mut()
                        .push_str(&c.into_inner());
                    continue;
                }
                Event::GeneralRef(r) => {
                    let resolved = resolve_reference(&r).ok_or_else(|| CodecError::Xml {
                        position,
                        message: format!("unknown entity &{};", &*r),
                    })?;
                    text.get_or_insert_with(Cow::default)
                        .to_mut()
                        .push_str(&resolved);
                    continue;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
                Event::Start(e) => Token::Open(element_name(e.name().as_ref())),
                Event::End(e) => Token::Close(element_name(e.name().as_ref())),
                Event::Empty(e) => Token::Empty(element_name(e.name().as_ref())),
                Event::Eof => Token::Eof,
            };
            if let Some(text) = text {
                // The text run ended at this element: hand it back on the next read.
                self.pending.push_back((structural, position));
                return Ok((Token::Text(text), position));
            }
            return Ok((structural, position));
        }
    }

    pub(super) fn open(&mut self, name: &str) -> Result<(), CodecError> {
        match self.next()? {
            Token::Open(n) if n == name => Ok(()),
            other => Err(self.unexpected(&format!("<{name}>"), &other)),
        }
    }

    pub(super) fn close(&mut self, name: &str) -> Result<(), CodecError> {
        match self.next()? {
            Token::Close(n) if n == name => Ok(()),
            other => Err(self.unexpected(&format!("</{name}>"), &other)),
        }
    }

    /// The text content of an element whose start tag was just read.
    pub(super) fn text_until_close(&mut self, name: &str) -> Result<Cow<'a, str>, CodecError> {
        match self.next_raw()? {
            Token::Close(n) if n == name => Ok(Cow::Borrowed("")),
            Token::Text(text) => {
                self.close(name)?;
                Ok(text)
            }
            other => Err(self.unexpected(&format!("text or </{name}>"), &other)),
        }
    }

    pub(super) fn end_of_document(&mut self) -> Result<(), CodecError> {
        match self.next()? {
            Token::Eof => Ok(()),
            other => Err(self.unexpected("the end of the document", &other)),
        }
    }

    pub(super) fn value(&mut self) -> Result<Value, CodecError> {
        match self.next()? {
            Token::Empty(n) if n == "value" => Ok(Value::String(String::new())),
            Token::Open(n) if n == "value" => self.value_content(),
            other => Err(self.unexpected("<value>", &other)),
        }
    }

    /// Content of `<value>` after its start tag, through its end tag.
    pub(super) fn value_content(&mut self) -> Result<Value, CodecError> {
        let value = match self.next_raw()? {
            Token::Close(n) if n == "value" => return Ok(Value::String(String::new())),
            Token::Text(text) => match self.next()? {
                Token::Close(n) if n == "value" => return Ok(Value::String(text.into_owned())),
                Token::Open(tag) if text.trim().is_empty() => self.typed(&tag)?,
                Token::Empty(tag) if text.trim().is_empty() => empty_typed(&tag)
                    .ok_or_else(|| self.structure(format!("unsupported empty <{tag}/>")))?,
                other => return Err(self.unexpected("</value>", &other)),
            },
            Token::Open(tag) => self.typed(&tag)?,
            Token::Empty(tag) => empty_typed(&tag)
                .ok_or_else(|| self.structure(format!("unsupported empty <{tag}/>")))?,
            other => return Err(self.unexpected("a value", &other)),
        };
        self.close("value")?;
        Ok(value)
    }

    fn typed(&mut self, tag: &str) -> Result<Value, CodecError> {
        match tag {
            "string" => Ok(Value::String(self.text_until_close(tag)?.into_owned())),
            "int" | "i4" | "i8" => {
                let text = self.text_until_close(tag)?;
                text.trim()
                    .parse()
                    .map(Value::Int)
                    .map_err(|_| self.structure(format!("<{tag}> holds `{text}`, not an integer")))
            }
            "boolean" => {
                let text = self.text_until_close(tag)?;
                match text.trim() {
                    "1" | "true" => Ok(Value::Bool(true)),
                    "0" | "false" => Ok(Value::Bool(false)),
                    other => Err(self.structure(format!("<boolean> holds `{other}`"))),
                }
            }
            "double" => {
                let text = self.text_until_close(tag)?;
                text.trim()
                    .parse()
                    .map(Value::Double)
                    .map_err(|_| self.structure(format!("<double> holds `{text}`")))
            }
            "dateTime.iso8601" => Ok(Value::DateTime(self.text_until_close(tag)?.trim().into())),
            "array" => self.array(),
            "struct" => self.structure_members(),
            other => Err(self.structure(format!("unsupported XML-RPC type <{other}>"))),
        }
    }

    pub(super) fn array(&mut self) -> Result<Value, CodecError> {
        let mut items = Vec::new();
        match self.next()? {
            Token::Empty(n) if n == "data" => {}
            Token::Open(n) if n == "data" => loop {
                match self.next()? {
                    Token::Close(n) if n == "data" => break,
                    Token::Empty(n) if n == "value" => items.push(Value::String(String::new())),
                    Token::Open(n) if n == "value" => items.push(self.value_content()?),
                    other => return Err(self.unexpected("<value> or </data>", &other)),
                }
            },
            other => return Err(self.unexpected("<data>", &other)),
        }
        self.close("array")?;
        Ok(Value::Array(items))
    }

    pub(super) fn structure_members(&mut self) -> Result<Value, CodecError> {
        let mut members = Vec::new();
        loop {
            match self.next()? {
                Token::Close(n) if n == "struct" => break,
                Token::Open(n) if n == "member" => {
                    self.open("name")?;
                    let name = self.text_until_close("name")?;
                    let value = self.value()?;
                    self.close("member")?;
                    members.push((name.into_owned(), value));
                }
                other => return Err(self.unexpected("<member> or </struct>", &other)),
            }
        }
        Ok(Value::Struct(members))
    }

    pub(super) fn unexpected(&self, expected: &str, found: &Token<'_>) -> CodecError {
        let found = match found {
            Token::Open(n) => format!("<{n}>"),
            Token::Close(n) => format!("</{n}>"),
            Token::Empty(n) => format!("<{n}/>"),
            Token::Text(t) => format!("text `{}`", t.chars().take(40).collect::<String>()),
            Token::Eof => "the end of the document".to_owned(),
        };
        self.structure(format!("expected {expected}, found {found}"))
    }

    pub(super) fn structure(&self, message: String) -> CodecError {
        CodecError::Structure {
            position: self.position,
            message,
        }
    }
}

fn empty_typed(tag: &str) -> Option<Value> {
    match tag {
        "string" => Some(Value::String(String::new())),
        "array" => Some(Value::Array(Vec::new())),
        "struct" => Some(Value::Struct(Vec::new())),
        _ => None,
    }
}

/// The names of XML-RPC's elements, shared instead of allocated for every element.
const KNOWN_NAMES: [&str; 19] = [
    "value",
    "member",
    "name",
    "struct",
    "array",
    "data",
    "boolean",
    "string",
    "int",
    "i4",
    "i8",
    "double",
    "dateTime.iso8601",
    "param",
    "params",
    "methodResponse",
    "methodCall",
    "methodName",
    "fault",
];

fn element_name(raw: &str) -> Name {
    KNOWN_NAMES
        .iter()
        .find(|known| **known == raw)
        .map_or_else(|| Cow::Owned(raw.to_owned()), |known| Cow::Borrowed(*known))
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(reference).map(str::to_owned)
}
