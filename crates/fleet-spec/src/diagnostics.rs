//! Problems found in a fleet file, each with the file, line and column it is about, printed as `FILE:LINE:COL: error: message`.

use std::fmt;

use crate::model::Location;

/// One problem in a fleet file (or in a file it names, such as an SSH key file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// The file the problem is in, as the caller named it (e.g. `fleet/fleet.toml`).
    pub file: String,
    /// Where in that file; line and column count from 1.
    pub location: Location,
    /// What is wrong, starting with the key path when there is one, and how to fix it when that is known.
    /// Never contains a secret (password hashes are not echoed).
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.location.line, self.location.column, self.message
        )
    }
}

/// Every problem found, sorted by file and position. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct Diagnostics {
    diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Sort by file, then position, then message, and drop exact repeats, so output is stable.
    pub(crate) fn from_unsorted(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort();
        diagnostics.dedup();
        Diagnostics { diagnostics }
    }

    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.diagnostics.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.iter()
    }
}

/// One line per problem, in order.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, diagnostic) in self.diagnostics.iter().enumerate() {
            if position > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// The most characters of one value a message shows.
pub const SHOWN_CHARACTERS: usize = 100;

/// A value from the user's input as messages echo it: control characters, quotes and backslashes
/// escaped (a message never moves the cursor or forges a line), and cut after [`SHOWN_CHARACTERS`]
/// characters with `…` (enough for any valid name, hostname or path), so that a 50 MB hostname costs a
/// line of stderr, not 50 MB of it.
///
/// Every message that repeats a value someone else wrote goes through here.
pub fn shown(value: &str) -> String {
    let mut characters = value.chars();
    let mut text = String::with_capacity(value.len().min(SHOWN_CHARACTERS) + 4);
    for character in characters.by_ref().take(SHOWN_CHARACTERS) {
        text.extend(character.escape_debug());
    }
    if characters.next().is_some() {
        text.push('…');
    }
    text
}

/// Maps byte offsets of one source text to 1-based lines and columns (columns count characters, not bytes).
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, byte)| byte == b'\n')
                .map(|(offset, _)| offset + 1),
        );
        LineIndex { text, line_starts }
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line).copied().unwrap_or(0);
        // Count characters up to the offset; an offset inside a character counts that character.
        let column = self
            .text
            .get(line_start..)
            .unwrap_or("")
            .char_indices()
            .take_while(|&(index, _)| line_start + index < offset)
            .count();
        Location {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let index = LineIndex::new("ab\nçd\n\nx");
        assert_eq!(index.location(0), Location { line: 1, column: 1 });
        assert_eq!(index.location(2), Location { line: 1, column: 3 });
        assert_eq!(index.location(3), Location { line: 2, column: 1 });
        // `ç` is two bytes: `d` is the second character.
        assert_eq!(index.location(5), Location { line: 2, column: 2 });
        assert_eq!(index.location(7), Location { line: 3, column: 1 });
        assert_eq!(index.location(8), Location { line: 4, column: 1 });
        assert_eq!(index.location(100), Location { line: 4, column: 2 });
    }

    #[test]
    fn values_are_escaped_and_cut_when_shown() {
        assert_eq!(shown("web-01"), "web-01");
        assert_eq!(shown("a\nb\u{1b}[2J\"c"), "a\\nb\\u{1b}[2J\\\"c");
        let long = "é".repeat(50_000_000 / 2);
        let text = shown(&long);
        assert_eq!(text.chars().count(), SHOWN_CHARACTERS + 1, "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(
            shown(&"x".repeat(SHOWN_CHARACTERS)),
            "x".repeat(SHOWN_CHARACTERS)
        );
    }

    #[test]
    fn diagnostics_print_one_line_each_in_order() {
        let diagnostics = Diagnostics::from_unsorted(vec![
            Diagnostic {
                file: "f.toml".into(),
                location: Location { line: 9, column: 1 },
                message: "second".into(),
            },
            Diagnostic {
                file: "f.toml".into(),
                location: Location { line: 2, column: 5 },
                message: "first".into(),
            },
        ]);
        assert_eq!(
            diagnostics.to_string(),
            "f.toml:2:5: error: first\nf.toml:9:1: error: second"
        );
    }
}
