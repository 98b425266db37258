//! A typed writer for the INI-style files a node reads: systemd units, drop-ins and quadlets
//! (systemd.syntax(7)) and NetworkManager keyfiles (GLib's `GKeyFile`, which NetworkManager reads
//! them with). Text is built from sections and entries, never by formatting strings, and whatever
//! the reader would read differently from what was given is refused instead of written.
//!
//! The two readers differ, so every file names its [`Dialect`]:
//!
//! - **systemd** has no escapes at the file level: a value cannot hold a line break, whitespace
//!   around it is stripped, and a line ending in `\` continues on the next line. So such values are
//!   refused. Keys may repeat (`After=` several times is a list; an empty value resets it), and so
//!   may sections. Comments start with `#` (or `;`). What a value means beyond that (specifiers
//!   such as `%n`, C-style quoting in `ExecStart=`) depends on the setting, and is the caller's.
//! - **keyfile** (GKeyFile) escapes values: a leading space or tab (`\s`, `\t`), line breaks
//!   (`\n`, `\r`) and `\` (`\\`); list items are joined by `;`, which an item escapes as `\;`. A key
//!   appearing twice keeps only its last value, and a repeated group merges into the first, so
//!   both are refused. Key names exclude `=`, `[`, `]` and leading or trailing spaces (GLib's
//!   `g_key_file_is_key_name`), group names `[`, `]` and control characters. Comments start with `#`.
//!   A value may not start with a vertical tab or form feed, which GLib skips and cannot escape.

use std::fmt;

/// Which program reads the file, and so which rules it is written by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// systemd units, drop-ins, quadlets and daemon configuration (systemd.syntax(7)).
    Systemd,
    /// GLib key files, as NetworkManager reads `.nmconnection` files.
    KeyFile,
}

/// An INI-style file being built: comments at the top, then sections in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniFile {
    dialect: Dialect,
    header: Vec<String>,
    sections: Vec<Section>,
}

/// One `[Name]` section and its lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    name: String,
    lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Entry { key: String, value: Value },
    Comment(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    /// Keyfile lists: every item followed by `;`.
    List(Vec<String>),
}

/// What a reader would not read back as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    #[error("section name {name:?} {reason}")]
    SectionName { name: String, reason: &'static str },
    #[error("[{section}] key {key:?} {reason}")]
    Key {
        section: String,
        key: String,
        reason: &'static str,
    },
    #[error("[{section}] {key}= value {value:?} {reason}")]
    Value {
        section: String,
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("comment {text:?} {reason}")]
    Comment { text: String, reason: &'static str },
    #[error("[{section}] {key}= appears twice; a key file keeps only the last value")]
    RepeatedKey { section: String, key: String },
    #[error("section [{section}] appears twice; a key file merges it into the first")]
    RepeatedSection { section: String },
    #[error("[{section}] {key}= is a list, which only key files have")]
    ListInSystemd { section: String, key: String },
}

impl IniFile {
    pub fn new(dialect: Dialect) -> IniFile {
        IniFile {
            dialect,
            header: Vec::new(),
            sections: Vec::new(),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A comment line before the first section (`# text`).
    pub fn comment(&mut self, text: impl Into<String>) -> &mut IniFile {
        self.header.push(text.into());
        self
    }

    /// A new section at the end of the file, to add entries to.
    pub fn section(&mut self, name: impl Into<String>) -> &mut Section {
        self.sections.push(Section {
            name: name.into(),
            lines: Vec::new(),
        });
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }

    /// The file's text: the header comments, then each section after a blank line (none before
    /// the first when there is no header), every line ending in a newline.
    pub fn to_text(&self) -> Result<String, IniError> {
        self.check()?;
        let mut text = String::new();
        for comment in &self.header {
            push_comment(&mut text, comment);
        }
        for (index, section) in self.sections.iter().enumerate() {
            if index > 0 || !self.header.is_empty() {
                text.push('\n');
            }
            text.push('[');
            text.push_str(&section.name);
            text.push_str("]\n");
            for line in &section.lines {
                match line {
                    Line::Comment(comment) => push_comment(&mut text, comment),
                    Line::Entry { key, value } => {
                        text.push_str(key);
                        text.push('=');
                        match (self.dialect, value) {
                            (Dialect::Systemd, Value::Text(value)) => text.push_str(value),
                            (Dialect::KeyFile, Value::Text(value)) => {
                                escape_keyfile(&mut text, value, false);
                            }
                            (_, Value::List(items)) => {
                                for item in items {
                                    escape_keyfile(&mut text, item, true);
                                    text.push(';');
                                }
                            }
                        }
                        text.push('\n');
                    }
                }
            }
        }
        Ok(text)
    }

    fn check(&self) -> Result<(), IniError> {
        for comment in &self.header {
            check_comment(comment)?;
        }
        let mut seen_sections: Vec<&str> = Vec::new();
        for section in &self.sections {
            check_section_name(&section.name)?;
            if self.dialect == Dialect::KeyFile {
                if seen_sections.contains(&section.name.as_str()) {
                    return Err(IniError::RepeatedSection {
                        section: section.name.clone(),
                    });
                }
                seen_sections.push(&section.name);
            }
            let mut seen_keys: Vec<&str> = Vec::new();
            for line in &section.lines {
                match line {
                    Line::Comment(comment) => check_comment(comment)?,
                    Line::Entry { key, value } => {
                        self.check_key(&section.name, key)?;
                        self.check_value(&section.name, key, value)?;
                        if self.dialect == Dialect::KeyFile {
                            if seen_keys.contains(&key.as_str()) {
                                return Err(IniError::RepeatedKey {
                                    section: section.name.clone(),
                                    key: key.clone(),
                                });
                            }
                            seen_keys.push(key);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn check_key(&self, section: &str, key: &str) -> Result<(), IniError> {
        let refuse = |reason| {
            Err(IniError::Key {
                section: section.to_owned(),
                key: key.to_owned(),
                reason,
            })
        };
        if key.is_empty() {
            return refuse("is empty");
        }
        if key.chars().any(char::is_control) {
            return refuse("holds a control character");
        }
        if key.contains('=') {
            return refuse("holds '=', which ends a key");
        }
        if key.starts_with(['#', ';', '[']) {
            return refuse("starts like a comment or a section");
        }
        match self.dialect {
            Dialect::Systemd if key.chars().any(char::is_whitespace) => {
                refuse("holds whitespace, which systemd strips or splits at")
            }
            Dialect::KeyFile if key.contains(['[', ']']) => {
                refuse("holds a bracket, which a key file reads as a locale")
            }
            Dialect::KeyFile if key.starts_with(' ') || key.ends_with(' ') => {
                refuse("starts or ends with a space, which a key file strips")
            }
            _ => Ok(()),
        }
    }

    fn check_value(&self, section: &str, key: &str, value: &Value) -> Result<(), IniError> {
        let refuse = |value: &str, reason| {
            Err(IniError::Value {
                section: section.to_owned(),
                key: key.to_owned(),
                value: value.to_owned(),
                reason,
            })
        };
        match (self.dialect, value) {
            (Dialect::Systemd, Value::List(_)) => Err(IniError::ListInSystemd {
                section: section.to_owned(),
                key: key.to_owned(),
            }),
            (Dialect::Systemd, Value::Text(value)) => {
                if value.contains(['\n', '\r']) {
                    refuse(value, "holds a line break, which systemd cannot escape")
                } else if value.contains('\0') {
                    refuse(value, "holds a NUL character")
                } else if value.ends_with('\\') {
                    refuse(
                        value,
                        "ends in a backslash, which continues the line in systemd",
                    )
                } else if value.trim() != value {
                    refuse(
                        value,
                        "starts or ends with whitespace, which systemd strips",
                    )
                } else {
                    Ok(())
                }
            }
            (Dialect::KeyFile, Value::Text(value)) => check_keyfile_text(value, &refuse),
            (Dialect::KeyFile, Value::List(items)) => items
                .iter()
                .try_for_each(|item| check_keyfile_text(item, &refuse)),
        }
    }
}

impl Section {
    /// `key=value`. In the systemd dialect a key may be given again (a list, or a reset with an
    /// empty value); in a key file it may not.
    pub fn entry(&mut self, key: impl Into<String>, value: impl fmt::Display) -> &mut Section {
        self.lines.push(Line::Entry {
            key: key.into(),
            value: Value::Text(value.to_string()),
        });
        self
    }

    /// `key=a;b;`: a key file's string list (GLib's `g_key_file_set_string_list`).
    pub fn list<I>(&mut self, key: impl Into<String>, items: I) -> &mut Section
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        self.lines.push(Line::Entry {
            key: key.into(),
            value: Value::List(items.into_iter().map(|item| item.to_string()).collect()),
        });
        self
    }

    /// A comment line among the entries (`# text`).
    pub fn comment(&mut self, text: impl Into<String>) -> &mut Section {
        self.lines.push(Line::Comment(text.into()));
        self
    }
}

/// Key files escape what they must, except NUL (which ends a C string) and a leading vertical tab or
/// form feed: GLib skips every ASCII space after the `=` but has escapes only for space and tab.
fn check_keyfile_text(
    value: &str,
    refuse: &impl Fn(&str, &'static str) -> Result<(), IniError>,
) -> Result<(), IniError> {
    if value.contains('\0') {
        refuse(value, "holds a NUL character")
    } else if value.starts_with(['\u{b}', '\u{c}']) {
        refuse(
            value,
            "starts with a vertical tab or form feed, which a key file strips and cannot escape",
        )
    } else {
        Ok(())
    }
}

fn check_section_name(name: &str) -> Result<(), IniError> {
    let refuse = |reason| {
        Err(IniError::SectionName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        refuse("is empty")
    } else if name.contains(['[', ']']) {
        refuse("holds a bracket")
    } else if name.chars().any(char::is_control) {
        refuse("holds a control character")
    } else {
        Ok(())
    }
}

fn check_comment(text: &str) -> Result<(), IniError> {
    let refuse = |reason| {
        Err(IniError::Comment {
            text: text.to_owned(),
            reason,
        })
    };
    if text.contains(['\n', '\r', '\0']) {
        refuse("holds a line break or NUL; give each line its own comment")
    } else if text.ends_with('\\') {
        refuse("ends in a backslash, which continues a line in systemd")
    } else {
        Ok(())
    }
}

fn push_comment(text: &mut String, comment: &str) {
    text.push('#');
    if !comment.is_empty() {
        text.push(' ');
        text.push_str(comment);
    }
    text.push('\n');
}

/// GLib's `g_key_file_parse_string_as_value`: leading blanks, line breaks and backslashes escaped,
/// and in a list item the separator too.
fn escape_keyfile(text: &mut String, value: &str, list_item: bool) {
    let mut leading = true;
    for character in value.chars() {
        match character {
            ' ' if leading => text.push_str("\\s"),
            '\t' if leading => text.push_str("\\t"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\\' => text.push_str("\\\\"),
            ';' if list_item => text.push_str("\\;"),
            other => text.push(other),
        }
        if character != ' ' && character != '\t' {
            leading = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_is_written_with_repeated_keys_and_comments() {
        let mut unit = IniFile::new(Dialect::Systemd);
        unit.comment("Written by fleet");
        unit.section("Unit")
            .entry("Description", "Health check")
            .entry("After", "network-online.target")
            .entry("After", "podman.service");
        unit.section("Service")
            .comment("reset, then set")
            .entry("ExecStart", "")
            .entry("ExecStart", "/usr/local/bin/check --all");
        assert_eq!(
            unit.to_text().unwrap(),
            "# Written by fleet\n\n[Unit]\nDescription=Health check\nAfter=network-online.target\n\
             After=podman.service\n\n[Service]\n# reset, then set\nExecStart=\nExecStart=/usr/local/bin/check --all\n"
        );
    }

    #[test]
    fn a_key_file_escapes_what_glib_unescapes() {
        let mut file = IniFile::new(Dialect::KeyFile);
        file.section("connection")
            .entry("id", "  two spaces\tand a tab")
            .entry("note", "line\nbreak and \\ backslash\r")
            .list("dns", ["10.0.0.1", "odd;item"]);
        assert_eq!(
            file.to_text().unwrap(),
            "[connection]\nid=\\s\\stwo spaces\tand a tab\nnote=line\\nbreak and \\\\ backslash\\r\n\
             dns=10.0.0.1;odd\\;item;\n"
        );
    }

    #[test]
    fn what_a_reader_would_misread_is_refused() {
        let cases: [(Dialect, &str, &str, &str); 9] = [
            (Dialect::Systemd, "Service", "ExecStart", "a\nb"),
            (Dialect::Systemd, "Service", "ExecStart", "continued \\"),
            (Dialect::Systemd, "Service", "ExecStart", " padded"),
            (Dialect::Systemd, "Service", "Exec Start", "x"),
            (Dialect::Systemd, "Service", "#x", "x"),
            (Dialect::Systemd, "Ser]vice", "x", "x"),
            (Dialect::KeyFile, "ipv4", "dns[0]", "x"),
            (Dialect::KeyFile, "ipv4", "a=b", "x"),
            (Dialect::KeyFile, "", "x", "x"),
        ];
        for (dialect, section, key, value) in cases {
            let mut file = IniFile::new(dialect);
            file.section(section).entry(key, value);
            assert!(
                file.to_text().is_err(),
                "{dialect:?} [{section}] {key}={value:?} was written"
            );
        }
        let mut repeated = IniFile::new(Dialect::KeyFile);
        repeated.section("ipv4").entry("dns", "a").entry("dns", "b");
        assert_eq!(
            repeated.to_text().unwrap_err().to_string(),
            "[ipv4] dns= appears twice; a key file keeps only the last value"
        );
        let mut list = IniFile::new(Dialect::Systemd);
        list.section("Unit").list("After", ["a"]);
        assert!(list.to_text().is_err());
        let mut comment = IniFile::new(Dialect::Systemd);
        comment.comment("two\nlines");
        assert!(comment.to_text().is_err());
    }
}
