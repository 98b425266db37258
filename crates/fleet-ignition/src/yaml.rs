//! YAML loading for Butane: a node tree with the positions, tags and scalar rules of Go's
//! gopkg.in/yaml.v3 (which upstream Butane uses), so that values decode the same way and
//! diagnostics name the same lines and columns.
//!
//! The tokens come from `saphyr-parser`; this module turns its events into yaml.v3's node
//! tree (anchors registered before their children, like yaml.v3), moves a few positions to
//! where libyaml puts them (block scalar indicators, empty values) and words syntax errors the
//! way yaml.v3 does, including its habit of counting parser-error lines from zero.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// Index of a node in [`Document::nodes`].
pub(crate) type NodeId = usize;

/// How a scalar was written; only the distinction yaml.v3 makes matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarStyle3 {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug)]
pub(crate) enum NodeKind<'a> {
    /// `tag` is yaml.v3's short tag after composition: explicit tags shortened, quoted and
    /// block scalars `!!str`, plain scalars resolved (`!!int`, `!!null`, ...).
    Scalar {
        value: Cow<'a, str>,
        tag: Cow<'a, str>,
        style: ScalarStyle3,
    },
    Mapping {
        pairs: Vec<(NodeId, NodeId)>,
        tag: Cow<'a, str>,
    },
    Sequence {
        items: Vec<NodeId>,
        tag: Cow<'a, str>,
    },
    /// `name` is the anchor name (yaml.v3 keeps it as the alias node's value).
    Alias { target: NodeId, name: Cow<'a, str> },
}

#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub(crate) kind: NodeKind<'a>,
    /// 1-based line, as yaml.v3's `Node.Line`.
    pub(crate) line: u32,
    /// 1-based column in characters, as yaml.v3's `Node.Column`.
    pub(crate) column: u32,
}

impl Node<'_> {
    /// yaml.v3's `Node.Value`: the scalar text, or the anchor name of an alias, else empty.
    pub(crate) fn value(&self) -> &str {
        match &self.kind {
            NodeKind::Scalar { value, .. } => value,
            NodeKind::Alias { name, .. } => name,
            _ => "",
        }
    }

    /// A number standing for yaml.v3's `Node.Kind`, for its duplicate-key comparison.
    pub(crate) fn kind_code(&self) -> u8 {
        match self.kind {
            NodeKind::Sequence { .. } => 2,
            NodeKind::Mapping { .. } => 4,
            NodeKind::Scalar { .. } => 8,
            NodeKind::Alias { .. } => 16,
        }
    }
}

/// The first document of a YAML stream (yaml.v3 decodes only the first one).
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) nodes: Vec<Node<'a>>,
    pub(crate) root: Option<NodeId>,
}

impl<'a> Document<'a> {
    pub(crate) fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id]
    }

    /// yaml.v3's `Node.ShortTag()`.
    pub(crate) fn short_tag(&self, id: NodeId) -> &str {
        self.short_tag_depth(id, 0)
    }

    fn short_tag_depth(&self, id: NodeId, depth: usize) -> &str {
        match &self.nodes[id].kind {
            NodeKind::Scalar { tag, .. } => tag,
            NodeKind::Mapping { tag, .. } => tag,
            NodeKind::Sequence { tag, .. } => tag,
            NodeKind::Alias { target, .. } => {
                // An alias can point at a node that contains it; stop rather than recurse forever.
                if depth > 64 {
                    ""
                } else {
                    self.short_tag_depth(*target, depth + 1)
                }
            }
        }
    }

    pub(crate) fn is_null(&self, id: NodeId) -> bool {
        self.short_tag(id) == NULL_TAG
    }
}

/// A YAML syntax error, worded as yaml.v3 words it (`yaml: line 5: did not find expected key`),
/// with the position where the parser actually stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

pub(crate) const NULL_TAG: &str = "!!null";
pub(crate) const BOOL_TAG: &str = "!!bool";
pub(crate) const STR_TAG: &str = "!!str";
pub(crate) const INT_TAG: &str = "!!int";
pub(crate) const FLOAT_TAG: &str = "!!float";
pub(crate) const TIMESTAMP_TAG: &str = "!!timestamp";
pub(crate) const SEQ_TAG: &str = "!!seq";
pub(crate) const MAP_TAG: &str = "!!map";
pub(crate) const BINARY_TAG: &str = "!!binary";
pub(crate) const MERGE_TAG: &str = "!!merge";

const LONG_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// yaml.v3's `shortTag`.
fn short_tag(tag: &str) -> Cow<'static, str> {
    match tag.strip_prefix(LONG_TAG_PREFIX) {
        Some(rest) => Cow::Owned(format!("!!{rest}")),
        None => Cow::Owned(tag.to_owned()),
    }
}

/// A scalar after yaml.v3's `resolve`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Timestamp,
    Str,
}

/// yaml.v3's `resolve(tag, in)`: the resolved short tag and value, or the message of a fatal
/// "cannot decode" failure when an explicit tag does not fit the text.
pub(crate) fn resolve(tag: &str, value: &str) -> Result<(Cow<'static, str>, Resolved), String> {
    let tag = short_tag(tag);
    let resolvable = matches!(
        tag.as_ref(),
        "" | STR_TAG | BOOL_TAG | INT_TAG | FLOAT_TAG | TIMESTAMP_TAG
    );
    if !resolvable {
        return Ok((tag, Resolved::Str));
    }
    let (rtag, resolved) = resolve_plain(&tag, value);
    match tag.as_ref() {
        "" => Ok((Cow::Borrowed(rtag), resolved)),
        t if t == rtag || t == STR_TAG || t == BINARY_TAG => Ok((Cow::Borrowed(rtag), resolved)),
        FLOAT_TAG if rtag == INT_TAG => {
            let as_float = match resolved {
                Resolved::Int(i) => i as f64,
                Resolved::Uint(u) => u as f64,
                _ => 0.0,
            };
            Ok((Cow::Borrowed(FLOAT_TAG), Resolved::Float(as_float)))
        }
        t => Err(format!("cannot decode {rtag} `{value}` as a {t}")),
    }
}

fn resolve_plain(tag: &str, value: &str) -> (&'static str, Resolved) {
    let hint = match value.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint == 0 || tag == STR_TAG || tag == BINARY_TAG {
        return (STR_TAG, Resolved::Str);
    }
    match value {
        "true" | "True" | "TRUE" => return (BOOL_TAG, Resolved::Bool(true)),
        "false" | "False" | "FALSE" => return (BOOL_TAG, Resolved::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => return (NULL_TAG, Resolved::Null),
        ".nan" | ".NaN" | ".NAN" => return (FLOAT_TAG, Resolved::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return (FLOAT_TAG, Resolved::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return (FLOAT_TAG, Resolved::Float(f64::NEG_INFINITY)),
        "<<" => return (MERGE_TAG, Resolved::Str),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(value) {
                return (FLOAT_TAG, Resolved::Float(f));
            }
        }
        b'D' | b'S' => {
            if (tag.is_empty() || tag == TIMESTAMP_TAG) && is_timestamp(value) {
                return (TIMESTAMP_TAG, Resolved::Timestamp);
            }
            let plain: Cow<'_, str> = if value.contains('_') {
                Cow::Owned(value.replace('_', ""))
            } else {
                Cow::Borrowed(value)
            };
            if let Some(i) = go_parse_int(&plain, 0) {
                return (INT_TAG, Resolved::Int(i));
            }
            if let Some(u) = go_parse_uint(&plain, 0) {
                return (INT_TAG, Resolved::Uint(u));
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return (FLOAT_TAG, Resolved::Float(f));
            }
            if let Some(digits) = plain.strip_prefix("0b") {
                if let Some(i) = go_parse_int(digits, 2) {
                    return (INT_TAG, Resolved::Int(i));
                }
                if let Some(u) = go_parse_uint(digits, 2) {
                    return (INT_TAG, Resolved::Uint(u));
                }
            } else if let Some(digits) = plain.strip_prefix("-0b")
                && let Some(i) = go_parse_int(&format!("-{digits}"), 2)
            {
                return (INT_TAG, Resolved::Int(i));
            }
            if let Some(digits) = plain.strip_prefix("0o") {
                if let Some(i) = go_parse_int(digits, 8) {
                    return (INT_TAG, Resolved::Int(i));
                }
                if let Some(u) = go_parse_uint(digits, 8) {
                    return (INT_TAG, Resolved::Uint(u));
                }
            } else if let Some(digits) = plain.strip_prefix("-0o")
                && let Some(i) = go_parse_int(&format!("-{digits}"), 8)
            {
                return (INT_TAG, Resolved::Int(i));
            }
        }
        _ => {}
    }
    (STR_TAG, Resolved::Str)
}

/// Go's `strconv.ParseUint(s, base, 64)` for base 0 (prefixes 0x, 0o, 0b, 0), 2 and 8.
pub(crate) fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if base == 0 {
        let lower = s.as_bytes();
        if lower.len() >= 2 && lower[0] == b'0' {
            match lower[1] {
                b'x' | b'X' => (&s[2..], 16),
                b'o' | b'O' => (&s[2..], 8),
                b'b' | b'B' => (&s[2..], 2),
                _ => (&s[1..], 8),
            }
        } else {
            (s, 10)
        }
    } else {
        (s, base)
    };
    if digits.is_empty() {
        // "0" alone is a valid octal zero; "0x" is not a number.
        return if base == 0 && s == "0" { Some(0) } else { None };
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// Go's `strconv.ParseInt(s, base, 64)`.
pub(crate) fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(unsigned, base)?;
    if negative {
        if magnitude <= i64::MAX as u64 {
            Some(-(magnitude as i64))
        } else if magnitude == i64::MAX as u64 + 1 {
            Some(i64::MIN)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// yaml.v3's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach it with.
fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        return match (unsigned, lower.starts_with('-')) {
            ("nan", _) => Some(f64::NAN),
            (_, true) => Some(f64::NEG_INFINITY),
            _ => Some(f64::INFINITY),
        };
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    // Go accepts an out-of-range value only with an error; treat that as "not a float".
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// yaml.v3's `parseTimestamp`: YYYY-M-D, optionally followed by a time.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let number = |i: &mut usize, max: usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        *i - start
    };
    if number(&mut i, 2) == 0 || i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    if number(&mut i, 2) == 0 {
        return false;
    }
    if i == b.len() {
        return true;
    }
    // A time: [Tt ]H:M:S(.fraction)?(Z|±hh:mm)? ; the space form takes no zone.
    let separator = b[i];
    if !matches!(separator, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    for part in 0..3 {
        if number(&mut i, 2) == 0 {
            return false;
        }
        if part < 2 {
            if i >= b.len() || b[i] != b':' {
                return false;
            }
            i += 1;
        }
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if number(&mut i, 9) == 0 {
            return false;
        }
    }
    if i == b.len() {
        return separator == b' ';
    }
    if separator == b' ' {
        return false;
    }
    match b[i] {
        b'Z' => i + 1 == b.len(),
        b'+' | b'-' => {
            i += 1;
            number(&mut i, 2) == 2 && i < b.len() && b[i] == b':' && {
                i += 1;
                number(&mut i, 2) == 2 && i == b.len()
            }
        }
        _ => false,
    }
}

/// Where positions are computed lazily: only adjusted nodes and errors need them.
struct SourceIndex<'a> {
    source: &'a str,
    ascii: bool,
    /// byte offset of each char, built on first use for non-ASCII text
    char_offsets: Option<Vec<usize>>,
}

impl<'a> SourceIndex<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            source,
            ascii: source.is_ascii(),
            char_offsets: None,
        }
    }

    fn byte_of_char(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.source.len());
        }
        let source = self.source;
        let offsets = self
            .char_offsets
            .get_or_insert_with(|| source.char_indices().map(|(b, _)| b).collect());
        offsets.get(char_index).copied().unwrap_or(source.len())
    }

    /// 1-based line and char column of a byte offset.
    fn line_column(&self, byte: usize) -> (u32, u32) {
        let before = &self.source.as_bytes()[..byte.min(self.source.len())];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let column = self.source[line_start..byte.min(self.source.len())]
            .chars()
            .count()
            + 1;
        (to_u32(line), to_u32(column))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Frame {
    node: NodeId,
    mapping: bool,
    children: Vec<NodeId>,
    pairs: Vec<(NodeId, NodeId)>,
    pending_key: Option<NodeId>,
    start_line: u32,
}

/// Parse the first document of `source` into yaml.v3's node tree.
pub(crate) fn load(source: &str) -> Result<Document<'_>, SyntaxError> {
    let mut index = SourceIndex::new(source);
    let mut parser = Parser::new_from_str(source);
    let mut nodes: Vec<Node<'_>> = Vec::with_capacity(64);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<Option<NodeId>> = Vec::new();
    let mut root: Option<NodeId> = None;
    let mut previous_end: usize = 0;
    let mut in_document = false;

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(error)) => return Err(syntax_error(&error, &stack, &mut index)),
        };
        let start_line = to_u32(span.start.line());
        let start_column = to_u32(span.start.col() + 1);
        let node_id = nodes.len();
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => in_document = true,
            Event::DocumentEnd => {
                if in_document {
                    break;
                }
            }
            Event::Scalar(value, style, anchor_id, tag) => {
                let style3 = match style {
                    ScalarStyle::Plain => ScalarStyle3::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => ScalarStyle3::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => ScalarStyle3::Block,
                };
                let explicit = tag.as_ref().map(|t| format!("{}{}", t.handle, t.suffix));
                let node_tag: Cow<'_, str> = match explicit.as_deref() {
                    Some(t) if !t.is_empty() && t != "!" => short_tag(t),
                    _ => match style3 {
                        ScalarStyle3::Quoted | ScalarStyle3::Block => Cow::Borrowed(STR_TAG),
                        ScalarStyle3::Plain if value == "<<" => Cow::Borrowed(MERGE_TAG),
                        ScalarStyle3::Plain => Cow::Borrowed(resolve_plain("", &value).0),
                    },
                };
                let (line, column) = if explicit.is_none() && anchor_id == 0 {
                    adjusted_scalar_position(
                        &mut index,
                        &span,
                        style3,
                        value.is_empty(),
                        previous_end,
                    )
                    .unwrap_or((start_line, start_column))
                } else {
                    (start_line, start_column)
                };
                nodes.push(Node {
                    kind: NodeKind::Scalar {
                        value,
                        tag: node_tag,
                        style: style3,
                    },
                    line,
                    column,
                });
                register_anchor(&mut anchors, anchor_id, node_id);
                attach(&mut stack, &mut root, node_id);
            }
            Event::Alias(anchor_id) => {
                let Some(target) = anchors.get(anchor_id).copied().flatten() else {
                    let name = alias_name(source, &mut index, &span);
                    return Err(SyntaxError {
                        message: format!("yaml: unknown anchor '{name}' referenced"),
                        line: start_line,
                        column: start_column,
                    });
                };
                let name = alias_name(source, &mut index, &span);
                nodes.push(Node {
                    kind: NodeKind::Alias {
                        target,
                        name: Cow::Owned(name),
                    },
                    line: start_line,
                    column: start_column,
                });
                attach(&mut stack, &mut root, node_id);
            }
            Event::MappingStart(anchor_id, ref tag) | Event::SequenceStart(anchor_id, ref tag) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let explicit = tag.as_ref().map(|t| format!("{}{}", t.handle, t.suffix));
                let node_tag: Cow<'_, str> = match explicit.as_deref() {
                    Some(t) if !t.is_empty() && t != "!" => short_tag(t),
                    _ if mapping => Cow::Borrowed(MAP_TAG),
                    _ => Cow::Borrowed(SEQ_TAG),
                };
                let kind = if mapping {
                    NodeKind::Mapping {
                        pairs: Vec::new(),
                        tag: node_tag,
                    }
                } else {
                    NodeKind::Sequence {
                        items: Vec::new(),
                        tag: node_tag,
                    }
                };
                nodes.push(Node {
                    kind,
                    line: start_line,
                    column: start_column,
                });
                register_anchor(&mut anchors, anchor_id, node_id);
                attach(&mut stack, &mut root, node_id);
                stack.push(Frame {
                    node: node_id,
                    mapping,
                    children: Vec::new(),
                    pairs: Vec::new(),
                    pending_key: None,
                    start_line,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = stack.pop() {
                    match &mut nodes[frame.node].kind {
                        NodeKind::Mapping { pairs, .. } => *pairs = frame.pairs,
                        NodeKind::Sequence { items, .. } => *items = frame.children,
                        _ => {}
                    }
                }
            }
        }
        previous_end = span.end.index();
    }
    Ok(Document { nodes, root })
}

fn register_anchor(anchors: &mut Vec<Option<NodeId>>, anchor_id: usize, node: NodeId) {
    if anchor_id == 0 {
        return;
    }
    if anchors.len() <= anchor_id {
        anchors.resize(anchor_id + 1, None);
    }
    anchors[anchor_id] = Some(node);
}

fn attach(stack: &mut [Frame], root: &mut Option<NodeId>, node: NodeId) {
    match stack.last_mut() {
        None => {
            if root.is_none() {
                *root = Some(node);
            }
        }
        Some(frame) if frame.mapping => match frame.pending_key.take() {
            None => frame.pending_key = Some(node),
            Some(key) => frame.pairs.push((key, node)),
        },
        Some(frame) => frame.children.push(node),
    }
}

fn alias_name(source: &str, index: &mut SourceIndex<'_>, span: &Span) -> String {
    let start = index.byte_of_char(span.start.index());
    let end = index.byte_of_char(span.end.index()).max(start);
    source
        .get(start..end)
        .unwrap_or("")
        .trim_start_matches('*')
        .trim()
        .to_owned()
}

/// libyaml (and so yaml.v3) places a block scalar at its `|`/`>` indicator and an empty value
/// right after the `:` or `-` before it; saphyr places them at the content.
fn adjusted_scalar_position(
    index: &mut SourceIndex<'_>,
    span: &Span,
    style: ScalarStyle3,
    empty: bool,
    previous_end: usize,
) -> Option<(u32, u32)> {
    let bytes = index.source.as_bytes();
    match style {
        ScalarStyle3::Block => {
            let mut i = index.byte_of_char(previous_end);
            while i < bytes.len() {
                match bytes[i] {
                    b' ' | b'\t' | b'\r' | b'\n' | b':' | b'-' | b'?' => i += 1,
                    b'#' => {
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                    }
                    b'|' | b'>' => return Some(index.line_column(i)),
                    _ => return None,
                }
            }
            None
        }
        ScalarStyle3::Plain if empty && span.start.index() == span.end.index() => {
            let at = index.byte_of_char(span.start.index());
            if bytes.get(at) == Some(&b':') {
                return Some(index.line_column(at + 1));
            }
            let mut i = at;
            while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
                i -= 1;
            }
            match i.checked_sub(1).map(|p| bytes[p]) {
                Some(b'-' | b':') => Some(index.line_column(i)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Word a saphyr error as yaml.v3 would, with yaml.v3's line numbering: parser errors name the
/// 0-based line of the enclosing collection (or of the problem), scanner errors the 1-based line
/// of the problem, and errors on the first line name none.
fn syntax_error(error: &ScanError, open: &[Frame], index: &mut SourceIndex<'_>) -> SyntaxError {
    let info = error.info();
    let marker = error.marker();
    let problem_line = to_u32(marker.line());
    let column = to_u32(marker.col() + 1);
    let parser_error = info.starts_with("while parsing");
    let mut message = match info.split_once(", ") {
        Some((context, problem)) if context.starts_with("while ") => problem.to_owned(),
        _ => info.to_owned(),
    };
    if message.starts_with("expected ',' or") {
        message = format!("did not find {message}");
    }
    if message.starts_with("unexpected character") {
        message = "found character that cannot start any token".to_owned();
    }
    if message == "found unknown anchor" {
        let start = index.byte_of_char(marker.index());
        let name: String = index.source[start..]
            .trim_start_matches('*')
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
            .collect();
        return SyntaxError {
            message: format!("yaml: unknown anchor '{name}' referenced"),
            line: problem_line,
            column,
        };
    }
    let go_line = if parser_error {
        let context_line0 = open.last().map_or(0, |f| f.start_line.saturating_sub(1));
        if context_line0 != 0 {
            context_line0
        } else {
            problem_line.saturating_sub(1)
        }
    } else if problem_line > 1 {
        problem_line
    } else {
        0
    };
    let message = if go_line == 0 {
        format!("yaml: {message}")
    } else {
        format!("yaml: line {go_line}: {message}")
    };
    SyntaxError {
        message,
        line: problem_line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_at(doc: &Document<'_>, value: &str) -> (u32, u32) {
        let node = doc
            .nodes
            .iter()
            .find(|n| matches!(&n.kind, NodeKind::Scalar { value: v, .. } if v == value))
            .expect("scalar present");
        (node.line, node.column)
    }

    #[test]
    fn resolves_integers_like_yaml_v3() {
        let int = |s: &str| resolve("", s).map(|(_, r)| r);
        assert_eq!(int("0644"), Ok(Resolved::Int(420)));
        assert_eq!(int("0o755"), Ok(Resolved::Int(493)));
        assert_eq!(int("0x1ed"), Ok(Resolved::Int(493)));
        assert_eq!(int("420"), Ok(Resolved::Int(420)));
        assert_eq!(int("-0o17"), Ok(Resolved::Int(-15)));
        assert_eq!(int("1_000"), Ok(Resolved::Int(1000)));
        assert_eq!(int("0b101"), Ok(Resolved::Int(5)));
        assert_eq!(int("09"), Ok(Resolved::Float(9.0)));
        assert_eq!(int("1.5"), Ok(Resolved::Float(1.5)));
        assert_eq!(int("yes"), Ok(Resolved::Str));
        assert_eq!(int("true"), Ok(Resolved::Bool(true)));
        assert_eq!(int("~"), Ok(Resolved::Null));
        assert_eq!(int("2001-12-14"), Ok(Resolved::Timestamp));
        assert_eq!(int("18446744073709551615"), Ok(Resolved::Uint(u64::MAX)));
        assert!(resolve("!!int", "abc").is_err());
        assert_eq!(
            resolve("!!float", "3").map(|(t, r)| (t.into_owned(), r)),
            Ok(("!!float".to_owned(), Resolved::Float(3.0)))
        );
    }

    #[test]
    fn positions_follow_libyaml() {
        let doc = load("a:\n  b: |\n    text\n  c:\n  d:\n  - \n  - x\n").expect("parses");
        assert_eq!(scalar_at(&doc, "text\n"), (2, 6));
        let empties: Vec<_> = doc
            .nodes
            .iter()
            .filter(|n| matches!(&n.kind, NodeKind::Scalar { value, .. } if value.is_empty()))
            .map(|n| (n.line, n.column))
            .collect();
        assert_eq!(empties, vec![(4, 5), (6, 4)]);
    }

    #[test]
    fn syntax_errors_count_lines_like_yaml_v3() {
        let source = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/x\n     contents:\n        inline: x\n";
        let error = load(source).expect_err("bad indentation");
        assert_eq!(
            error.message,
            "yaml: line 4: did not find expected '-' indicator"
        );
        let error = load("a: b: c\n").expect_err("bad mapping");
        assert_eq!(
            error.message,
            "yaml: mapping values are not allowed in this context"
        );
        let error = load("x: 1\na: b: c\n").expect_err("bad mapping");
        assert_eq!(
            error.message,
            "yaml: line 2: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn anchors_and_aliases_share_nodes() {
        let doc = load("a: &x {b: 1}\nc: *x\n").expect("parses");
        let alias = doc
            .nodes
            .iter()
            .find_map(|n| match &n.kind {
                NodeKind::Alias { target, name } => Some((*target, name.to_string())),
                _ => None,
            })
            .expect("alias");
        assert_eq!(alias.1, "x");
        assert!(matches!(doc.node(alias.0).kind, NodeKind::Mapping { .. }));
        assert!(load("a: *nope\n").is_err());
    }
}
