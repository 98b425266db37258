//! Diagnostics as upstream Butane reports them (coreos/vcontext): entries with a kind, a message,
//! a path like `$.storage.files.0.path` and a YAML position, printed either as
//! `error at $.path, line L col C: msg` (`--raw-errors`) or as a rustc-style snippet.

use std::borrow::Cow;
use std::fmt;

/// One step of a path into a Butane (YAML) or Ignition (JSON) document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// A field of an object, by its name in the document (`files`, `sshAuthorizedKeys`).
    Field(Cow<'static, str>),
    /// An element of a list.
    Index(usize),
    /// A mapping key itself rather than its value (unused-key warnings point at the key).
    Key(String),
}

impl PathElement {
    pub(crate) fn field(name: &'static str) -> Self {
        Self::Field(Cow::Borrowed(name))
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => f.write_str(name),
            Self::Index(index) => write!(f, "{index}"),
            Self::Key(key) => f.write_str(key),
        }
    }
}

/// A path from the document root, printed as `$.a.0.b` (`$` alone for the root).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path {
    pub elements: Vec<PathElement>,
}

impl Path {
    pub fn root() -> Self {
        Self::default()
    }

    pub(crate) fn from_elements(elements: Vec<PathElement>) -> Self {
        Self { elements }
    }

    /// A copy with `element` appended.
    pub fn join(&self, element: PathElement) -> Self {
        let mut elements = Vec::with_capacity(self.elements.len() + 1);
        elements.extend(self.elements.iter().cloned());
        elements.push(element);
        Self { elements }
    }

    pub(crate) fn field(&self, name: &'static str) -> Self {
        self.join(PathElement::field(name))
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        self.join(PathElement::Index(index))
    }

    pub fn is_root(&self) -> bool {
        self.elements.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for element in &self.elements {
            write!(f, ".{element}")?;
        }
        Ok(())
    }
}

/// How serious an entry is. Errors make a translation fail; warnings fail it only under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        })
    }
}

/// A 1-based line and column (in characters) in the Butane source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// Which document a path of an entry refers to before it is mapped back to the Butane source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathTag {
    Yaml,
    Json,
}

/// One diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub severity: Severity,
    pub message: String,
    /// Where in the Butane document (YAML field names), as upstream prints it.
    pub path: Path,
    /// The YAML position the path resolves to, when the source has it.
    pub position: Option<Position>,
    pub(crate) tag: PathTag,
}

impl Entry {
    pub(crate) fn new(severity: Severity, path: Path, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            path,
            position: None,
            tag: PathTag::Yaml,
        }
    }

    pub(crate) fn json(severity: Severity, path: Path, message: impl Into<String>) -> Self {
        Self {
            tag: PathTag::Json,
            ..Self::new(severity, path, message)
        }
    }
}

/// vcontext's `Entry.String()`: `error at $.a.b, line 3 col 5: message`.
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.severity)?;
        match (self.position, self.path.is_root()) {
            (Some(p), false) => write!(f, " at {}, line {} col {}", self.path, p.line, p.column)?,
            (Some(p), true) => write!(f, " at line {} col {}", p.line, p.column)?,
            (None, false) => write!(f, " at {}", self.path)?,
            (None, true) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// All diagnostics of one translation, in upstream's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when any entry is an error.
    pub fn is_fatal(&self) -> bool {
        self.entries.iter().any(|e| e.severity == Severity::Error)
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub(crate) fn error(&mut self, path: Path, message: impl Into<String>) {
        self.push(Entry::new(Severity::Error, path, message));
    }

    pub(crate) fn warn(&mut self, path: Path, message: impl Into<String>) {
        self.push(Entry::new(Severity::Warning, path, message));
    }

    pub(crate) fn merge(&mut self, other: Report) {
        self.entries.extend(other.entries);
    }

    /// Every entry on its own line in vcontext's format (`--raw-errors`).
    pub fn render_raw(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            out.push_str(&entry.to_string());
            out.push('\n');
        }
        out
    }

    /// Every entry as a snippet of the source with the position underlined, like upstream's
    /// default output; `color` adds ANSI colours.
    pub fn render_pretty(&self, file_name: &str, source: &str, color: bool) -> String {
        let lines: Vec<&str> = source.split('\n').collect();
        let mut out = String::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            render_entry(&mut out, entry, file_name, &lines, color);
        }
        out
    }
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";
const BLUE: &str = "\x1b[1;34m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

fn render_entry(out: &mut String, entry: &Entry, file_name: &str, lines: &[&str], color: bool) {
    use std::fmt::Write as _;
    let Some(position) = entry.position else {
        out.push_str(&entry.to_string());
        out.push('\n');
        return;
    };
    let line = position.line as usize;
    let column = position.column as usize;
    let line_chars = lines.get(line.wrapping_sub(1)).map(|l| l.chars().count());
    if line < 1 || column < 1 || line_chars.is_none_or(|n| column > n) {
        out.push_str(&entry.to_string());
        out.push('\n');
        return;
    }
    let kind_color = match entry.severity {
        Severity::Error => RED,
        Severity::Warning => YELLOW,
        Severity::Info => CYAN,
    };
    let kind = paint(&entry.severity.to_string(), kind_color, color);
    if entry.path.is_root() {
        let _ = writeln!(out, "{kind}:");
    } else {
        let _ = writeln!(out, "{kind}[{}]:", entry.path);
    }
    let _ = writeln!(
        out,
        "  {} {}:{}:{}",
        paint("-->", BLUE, color),
        file_name,
        line,
        column
    );
    let first = line.saturating_sub(2).max(1);
    let last = (line + 2).min(lines.len());
    let gutter = last.to_string().len();
    let blank = " ".repeat(gutter);
    let _ = writeln!(out, " {blank} |");
    for number in first..=last {
        let text = lines[number - 1];
        let label = paint(&format!("{number:>gutter$}"), BLUE, color);
        let _ = writeln!(out, " {label} | {text}");
        if number == line {
            let rest: String = text.chars().skip(column - 1).collect();
            let width = rest
                .chars()
                .position(char::is_whitespace)
                .unwrap_or(rest.chars().count());
            let underline = paint(&"^".repeat(width), BLUE, color);
            let padding = " ".repeat(column - 1);
            let _ = writeln!(out, " {blank} | {padding}{underline} {}", entry.message);
        }
    }
    let _ = writeln!(out, " {blank} |");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: u32, column: u32) -> Entry {
        Entry {
            position: Some(Position { line, column }),
            ..Entry::new(
                Severity::Warning,
                Path::root()
                    .field("storage")
                    .join(PathElement::Key("filez".into())),
                "unused key filez",
            )
        }
    }

    #[test]
    fn raw_format_matches_vcontext() {
        let report = Report {
            entries: vec![entry(5, 3)],
        };
        assert_eq!(
            report.render_raw(),
            "warning at $.storage.filez, line 5 col 3: unused key filez\n"
        );
    }

    #[test]
    fn pretty_format_matches_upstream() {
        let source =
            "variant: fcos\nversion: 1.4.0\nstorage:\n  filez:\n    - path: /etc/x\n  files:\n";
        let report = Report {
            entries: vec![entry(4, 3)],
        };
        let expected = "warning[$.storage.filez]:\n  --> x.bu:4:3\n   |\n 2 | version: 1.4.0\n 3 | storage:\n 4 |   filez:\n   |   ^^^^^^ unused key filez\n 5 |     - path: /etc/x\n 6 |   files:\n   |\n";
        assert_eq!(report.render_pretty("x.bu", source, false), expected);
    }
}
