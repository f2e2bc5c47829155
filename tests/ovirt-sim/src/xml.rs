//! XML in and out: request bodies are read into a small element tree (quick-xml; unknown
//! elements are kept and ignored by the handlers, as the engine ignores them), responses are
//! written with [`Xml`], which escapes every text and attribute.

use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::events::Event;

/// An element of a request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The children named `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The node at a `/`-separated path of child names.
    pub(crate) fn at(&self, path: &str) -> Option<&Node> {
        path.split('/')
            .try_fold(self, |node, name| node.child(name))
    }

    /// The trimmed text at `path`, if the element exists.
    pub(crate) fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path).map(|n| n.text.trim())
    }

    /// An attribute.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a request body into its root element.
pub(crate) fn parse(body: &[u8]) -> Result<Node, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let mut node = Node {
                    name: start.local_name().as_ref().to_owned(),
                    ..Node::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| format!("malformed attribute: {e}"))?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("malformed attribute value: {e}"))?;
                    node.attrs.push((
                        attr.key.local_name().as_ref().to_owned(),
                        value.into_owned(),
                    ));
                }
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => {
                        quick_xml::escape::resolve_predefined_entity(&reference).map(str::to_owned)
                    }
                };
                let resolved =
                    resolved.ok_or_else(|| format!("unknown entity &{};", &*reference))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => return Err("the body holds no complete XML element".to_owned()),
            _ => {}
        }
        buf.clear();
    }
}

/// Escapes text for an element or an attribute.
pub(crate) fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// A response body under construction.
#[derive(Debug, Default)]
pub(crate) struct Xml {
    out: String,
}

impl Xml {
    pub(crate) fn new() -> Xml {
        Xml::default()
    }

    /// Opens `<name attr="…">`.
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Xml {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            let _ = write!(self.out, " {key}=\"{}\"", escape(value));
        }
        self.out.push('>');
        self
    }

    /// Closes `</name>`.
    pub(crate) fn close(&mut self, name: &str) -> &mut Xml {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Xml {
        let text = escape(&text.to_string());
        let _ = write!(self.out, "<{name}>{text}</{name}>");
        self
    }

    /// `<name attr="…"/>`.
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Xml {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            let _ = write!(self.out, " {key}=\"{}\"", escape(value));
        }
        self.out.push_str("/>");
        self
    }

    /// A link to another resource: `<name href="/ovirt-engine/api/…" id="…"/>`.
    pub(crate) fn link(&mut self, name: &str, collection: &str, id: &str) -> &mut Xml {
        let href = format!("{}/{collection}/{id}", crate::API);
        self.empty(name, &[("href", &href), ("id", id)])
    }

    /// The body.
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bodies_with_nested_elements_attributes_and_entities() {
        let body = b"<?xml version='1.0'?>\n<snapshot>\n  <description>a &amp; b</description>\n  \
            <disk_attachments><disk_attachment><disk id=\"D1\"/></disk_attachment></disk_attachments>\n</snapshot>\n";
        let node = parse(body).unwrap();
        assert_eq!(node.name, "snapshot");
        assert_eq!(node.text_at("description"), Some("a & b"));
        let disk = node.at("disk_attachments/disk_attachment/disk").unwrap();
        assert_eq!(disk.attr("id"), Some("D1"));
        assert_eq!(parse(b"<action/>\n").unwrap().name, "action");
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn writes_escaped_text() {
        let body = Xml::new()
            .open("vm", &[("id", "1\"2")])
            .leaf("name", "<x>")
            .close("vm")
            .finish();
        assert_eq!(body, "<vm id=\"1&quot;2\"><name>&lt;x&gt;</name></vm>");
    }
}
