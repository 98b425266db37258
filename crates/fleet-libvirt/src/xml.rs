//! A small XML element tree on top of quick-xml: fleet builds every libvirt document from it and reads libvirt's answers into it.
//!
//! Building through elements and attributes (never string templates) means every value is
//! escaped by quick-xml, whatever a node name or path contains. The documents libvirt exchanges
//! are a few kilobytes, so a tree is simpler than streaming and fast enough for thousands of nodes.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

/// One element: its qualified name as written (`fleet:node`), attributes in order, children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) children: Vec<Content>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    Element(Element),
    Text(String),
}

impl Element {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder: add an attribute.
    pub(crate) fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((name.into(), value.into()));
        self
    }

    /// Builder: add a child element.
    pub(crate) fn child(mut self, child: Element) -> Self {
        self.children.push(Content::Element(child));
        self
    }

    /// Builder: add a child element when there is one.
    pub(crate) fn child_if(self, child: Option<Element>) -> Self {
        match child {
            Some(child) => self.child(child),
            None => self,
        }
    }

    /// Builder: add text content.
    pub(crate) fn text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Content::Text(text.into()));
        self
    }

    /// Builder: a child element holding only text, e.g. `<name>web-01</name>`.
    pub(crate) fn text_child(self, name: &str, text: impl Into<String>) -> Self {
        self.child(Element::new(name).text(text))
    }

    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Child elements in order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|content| match content {
            Content::Element(element) => Some(element),
            Content::Text(_) => None,
        })
    }

    /// The first child element with this name.
    pub(crate) fn first(&self, name: &str) -> Option<&Element> {
        self.elements().find(|element| element.name == name)
    }

    /// Every child element with this name.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element> + 's {
        self.elements().filter(move |element| element.name == name)
    }

    /// Follow a path of first children: `domain.path(&["devices", "disk"])`.
    pub(crate) fn path(&self, names: &[&str]) -> Option<&Element> {
        names
            .iter()
            .try_fold(self, |element, name| element.first(name))
    }

    /// All text directly inside this element, trimmed.
    pub(crate) fn text_content(&self) -> String {
        let mut text = String::new();
        for content in &self.children {
            if let Content::Text(part) = content {
                text.push_str(part);
            }
        }
        text.trim_matches(is_xml_whitespace).to_owned()
    }

    /// The document as a string, indented by two spaces.
    pub(crate) fn to_xml(&self) -> String {
        let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
        write_element(&mut writer, self);
        // Only strings go in, so the bytes are UTF-8.
        String::from_utf8(writer.into_inner()).unwrap_or_default()
    }

    /// Parse a document; comments, declarations and processing instructions are dropped.
    pub(crate) fn parse(xml: &str) -> Result<Element, String> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|error| format!("{error} at byte {}", reader.error_position()))?;
            match event {
                Event::Start(start) => stack.push(start_element(&start)?),
                Event::Empty(start) => {
                    let element = start_element(&start)?;
                    attach(&mut stack, &mut root, element);
                }
                Event::End(_) => {
                    let element = stack.pop().ok_or("closing tag without opening tag")?;
                    attach(&mut stack, &mut root, element);
                }
                Event::Text(text) => push_text(&mut stack, text.xml10_content()),
                Event::CData(data) => push_text(&mut stack, data.xml10_content()),
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(character)) => character.to_string(),
                        Ok(None) => resolve_predefined_entity(&reference.xml10_content())
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                format!("unknown entity &{};", reference.xml10_content())
                            })?,
                        Err(error) => return Err(error.to_string()),
                    };
                    push_text(&mut stack, Cow::Owned(resolved));
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err("document ends inside an element".to_owned());
        }
        root.ok_or_else(|| "document has no element".to_owned())
    }
}

/// XML's own whitespace (not Unicode's: a no-break space is content).
fn is_xml_whitespace(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r')
}

fn start_element(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut element = Element::new(start.name().as_ref());
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|error| error.to_string())?;
        element
            .attributes
            .push((attribute.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(element)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Content::Element(element)),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: Cow<'_, str>) {
    let Some(parent) = stack.last_mut() else {
        return;
    };
    match parent.children.last_mut() {
        // Text continues across entity references: `a &amp; b` arrives as `a `, `&`, ` b`, and
        // a space between two references is content too.
        Some(Content::Text(previous)) => previous.push_str(&text),
        // Whitespace between elements is layout, not content.
        _ if text.chars().all(is_xml_whitespace) => {}
        _ => parent.children.push(Content::Text(text.into_owned())),
    }
}

fn write_element(writer: &mut quick_xml::Writer<Vec<u8>>, element: &Element) {
    let start = BytesStart::new(element.name.as_str()).with_attributes(
        element
            .attributes
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    );
    // Writing into a Vec cannot fail.
    if element.children.is_empty() {
        let _ = writer.write_event(Event::Empty(start));
        return;
    }
    let _ = writer.write_event(Event::Start(start));
    for content in &element.children {
        match content {
            Content::Element(child) => write_element(writer, child),
            Content::Text(text) => {
                let _ = writer.write_event(Event::Text(BytesText::new(text)));
            }
        }
    }
    let _ = writer.write_event(Event::End(BytesEnd::new(element.name.as_str())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_read_back() {
        let element = Element::new("domain")
            .attr("type", "qemu")
            .text_child("name", "a<b>&\"c'")
            .child(Element::new("source").attr("file", "/p/x&y'z\".ign"));
        let xml = element.to_xml();
        assert!(!xml.contains("a<b>"), "{xml}");
        let parsed = Element::parse(&xml).unwrap();
        assert_eq!(parsed, element);
    }

    #[test]
    fn spaces_between_references_are_kept() {
        // Found by `written_values_read_back`: the space between two references was dropped.
        let element = Element::new("a").child(Element::new("b").text("¡& &¡"));
        let parsed = Element::parse(&element.to_xml()).unwrap();
        assert_eq!(
            parsed.first("b").map(Element::text_content).as_deref(),
            Some("¡& &¡")
        );
        let parsed = Element::parse("<a>x &amp; &lt; y</a>").unwrap();
        assert_eq!(parsed.text_content(), "x & < y");
    }

    #[test]
    fn entities_and_char_refs_are_resolved() {
        let parsed = Element::parse("<a x='1&amp;2'>p &lt; q &#65;</a>").unwrap();
        assert_eq!(parsed.attribute("x"), Some("1&2"));
        assert_eq!(parsed.text_content(), "p < q A");
    }

    #[test]
    fn broken_documents_are_errors() {
        for xml in ["", "<a>", "<a></b>", "</a>", "<a>&nope;</a>"] {
            assert!(Element::parse(xml).is_err(), "{xml:?}");
        }
    }

    proptest::proptest! {
        /// Whatever libvirt (or anything else) hands back, reading it never panics.
        #[test]
        fn reading_anything_never_panics(text in ".{0,300}") {
            let _ = Element::parse(&text);
            let _ = crate::domain_xml::ObservedDomain::parse(&text);
            let _ = crate::storage_xml::ObservedVolume::parse(&text);
            let _ = crate::storage_xml::ObservedPool::parse(&text);
            let _ = crate::network_xml::ObservedNetwork::parse(&text);
        }

        /// Any values fleet writes come back unchanged (escaping is complete). Control characters
        /// are left out: XML normalises line ends and attribute whitespace by definition.
        #[test]
        fn written_values_read_back(
            value in "[^\\u{0}-\\u{1f}\\u{fffe}\\u{ffff}]{0,40}",
            text in "[^\\u{0}-\\u{20}\\u{fffe}\\u{ffff}]([^\\u{0}-\\u{1f}\\u{fffe}\\u{ffff}]{0,30}[^\\u{0}-\\u{20}\\u{fffe}\\u{ffff}])?",
        ) {
            let element = Element::new("a")
                .attr("v", value.clone())
                .child(Element::new("b").text(text.clone()));
            let parsed = Element::parse(&element.to_xml()).unwrap();
            proptest::prop_assert_eq!(parsed.attribute("v"), Some(value.as_str()));
            proptest::prop_assert_eq!(parsed.first("b").map(Element::text_content), Some(text));
        }
    }

    #[test]
    fn paths_find_nested_elements() {
        let parsed =
            Element::parse("<domain><devices><disk n='1'/><disk n='2'/></devices></domain>")
                .unwrap();
        assert_eq!(
            parsed
                .path(&["devices", "disk"])
                .and_then(|d| d.attribute("n")),
            Some("1")
        );
        let devices = parsed.first("devices").unwrap();
        assert_eq!(devices.all("disk").count(), 2);
    }
}
