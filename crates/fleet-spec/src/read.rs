//! A typed reader over toml's spanned document tree that records every problem instead of stopping at the first.
//!
//! serde stops at the first error; a user fixing a fleet file wants them all at once. So the raw structs
//! (see `raw.rs`) are filled by `FromToml`, which walks `toml::de::DeValue` and reports each wrong type,
//! unknown key or malformed value with its span, then carries on with the rest of the file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{Diagnostic, LineIndex, shown};
use crate::model::Location;

/// A byte range in the fleet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl From<std::ops::Range<usize>> for Span {
    fn from(range: std::ops::Range<usize>) -> Self {
        Span {
            start: range.start,
            end: range.end,
        }
    }
}

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// A key of a raw table: absent, present with a value that could not be read (already reported), or read.
///
/// Keeping "invalid" apart from "missing" avoids a second, misleading error such as "missing key `name`"
/// right after "`name` must be a string".
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Field<T> {
    #[default]
    Missing,
    Invalid,
    Present(Located<T>),
}

impl<T> Field<T> {
    pub(crate) fn get(&self) -> Option<&Located<T>> {
        match self {
            Field::Present(located) => Some(located),
            Field::Missing | Field::Invalid => None,
        }
    }

    pub(crate) fn value(&self) -> Option<&T> {
        self.get().map(|located| &located.value)
    }

    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }

    pub(crate) fn is_invalid(&self) -> bool {
        matches!(self, Field::Invalid)
    }

    pub(crate) fn span(&self) -> Option<Span> {
        self.get().map(|located| located.span)
    }
}

/// The path of keys leading to a value, built on the stack and only turned into text for a message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyPath<'a> {
    Root,
    Key(&'a KeyPath<'a>, &'a str),
    Index(&'a KeyPath<'a>, usize),
}

impl<'a> KeyPath<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> KeyPath<'a> {
        KeyPath::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> KeyPath<'a> {
        KeyPath::Index(self, index)
    }

    /// The table as a TOML header would name it: `[fleet.image]`, `[[group.node]]`, or `the top level`.
    pub(crate) fn table_name(&self) -> String {
        let mut keys = Vec::new();
        let mut in_array = false;
        let mut current = self;
        let mut first = true;
        loop {
            match current {
                KeyPath::Root => break,
                KeyPath::Key(parent, key) => {
                    keys.push(*key);
                    current = parent;
                }
                KeyPath::Index(parent, _) => {
                    if first {
                        in_array = true;
                    }
                    current = parent;
                }
            }
            first = false;
        }
        if keys.is_empty() {
            return "the top level".to_owned();
        }
        keys.reverse();
        let dotted = keys.join(".");
        if in_array {
            format!("[[{dotted}]]")
        } else {
            format!("[{dotted}]")
        }
    }
}

/// Dotted keys with array positions counted from 0: `group[1].network.cidr`.
impl fmt::Display for KeyPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyPath::Root => Ok(()),
            KeyPath::Key(parent, key) => {
                if matches!(parent, KeyPath::Root) {
                    write!(f, "{key}")
                } else {
                    write!(f, "{parent}.{key}")
                }
            }
            KeyPath::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Where problems go, with what turns spans into lines and columns.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) file: &'a str,
    pub(crate) lines: LineIndex<'a>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Context {
            file,
            lines: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        self.lines.location(span.start)
    }

    /// Report a problem at `span`. `message` starts with the key path when there is one.
    pub(crate) fn error(&mut self, span: Span, message: impl Into<String>) {
        let location = self.location(span);
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            location,
            message: message.into(),
        });
    }

    /// Report a problem at a location already resolved (a check made once levels are merged).
    pub(crate) fn error_at(&mut self, location: Location, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            location,
            message: message.into(),
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, path: &KeyPath<'_>, expected: &str) {
        let found = describe(value.get_ref());
        self.error(
            value.span().into(),
            format!("{path}: expected {expected}, found {found}"),
        );
    }

    /// An unknown key: name the table, suggest the closest known key or explain where it belongs.
    pub(crate) fn unknown_key(
        &mut self,
        key: &Spanned<Cow<'_, str>>,
        known: &[&str],
        table: &KeyPath<'_>,
    ) {
        let name = key.get_ref().as_ref();
        let table_name = table.table_name();
        let message = match crate::hints::unknown_key_hint(&table_name, name, known) {
            Some(hint) => format!(
                "unknown key `{name_shown}` in {table_name}; {hint}",
                name_shown = shown(name)
            ),
            None => format!(
                "unknown key `{name_shown}` in {table_name}",
                name_shown = shown(name)
            ),
        };
        self.error(key.span().into(), message);
    }
}

/// How a found value is described in "expected X, found Y".
pub(crate) fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A value read from the spanned tree. Returns `None` after reporting why the value is unusable.
pub(crate) trait FromToml: Sized {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self>;
}

impl<T: FromToml> FromToml for Field<T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        Some(match T::from_toml(value, context, path) {
            Some(inner) => Field::Present(Located {
                value: inner,
                span: value.span().into(),
            }),
            None => Field::Invalid,
        })
    }
}

impl<T: FromToml> FromToml for Located<T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        T::from_toml(value, context, path).map(|inner| Located {
            value: inner,
            span: value.span().into(),
        })
    }
}

impl FromToml for String {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            _ => {
                context.wrong_type(value, path, "a string");
                None
            }
        }
    }
}

impl FromToml for bool {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            _ => {
                context.wrong_type(value, path, "true or false");
                None
            }
        }
    }
}

/// Integers are read as `i64`; each key's range is checked where its meaning is known.
impl FromToml for i64 {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Integer(integer) => {
                match i64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => Some(number),
                    Err(_) => {
                        context.error(
                            value.span().into(),
                            format!("{path}: the number is too large"),
                        );
                        None
                    }
                }
            }
            _ => {
                context.wrong_type(value, path, "an integer");
                None
            }
        }
    }
}

/// Floats accept integers too (`rollout_wariness = 1`); NaN and infinities are refused here.
impl FromToml for f64 {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let number = match value.get_ref() {
            DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
                .ok()
                .map(|number| number as f64),
            _ => {
                context.wrong_type(value, path, "a number");
                return None;
            }
        };
        match number {
            Some(number) if number.is_finite() => Some(number),
            _ => {
                context.error(
                    value.span().into(),
                    format!("{path}: expected a finite number"),
                );
                None
            }
        }
    }
}

/// Arrays keep the items that could be read; the others are reported.
impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Array(array) => {
                let mut items = Vec::with_capacity(array.len());
                let mut all_read = true;
                for (index, item) in array.iter().enumerate() {
                    let item_path = path.index(index);
                    match T::from_toml(item, context, &item_path) {
                        Some(read) => items.push(read),
                        None => all_read = false,
                    }
                }
                // A partly unreadable list is unusable: its problems are reported, and using the rest
                // would only produce misleading follow-up errors.
                all_read.then_some(items)
            }
            _ => {
                context.wrong_type(value, path, "an array");
                None
            }
        }
    }
}

/// A list whose readable items are kept even when others are not (each problem is reported): for lists
/// whose items stand alone, such as snippet paths or keys, so that one bad entry does not hide the
/// checks of the others.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Items<T>(pub(crate) Vec<T>);

impl<T: FromToml> FromToml for Items<T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Array(array) => Some(Items(
                array
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| T::from_toml(item, context, &path.index(index)))
                    .collect(),
            )),
            _ => {
                context.wrong_type(value, path, "an array");
                None
            }
        }
    }
}

/// Open tables keyed by any string, such as a host's `labels` or a container's `environment`.
impl<T: FromToml> FromToml for BTreeMap<String, T> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let table = expect_table(value, context, path)?;
        let mut map = BTreeMap::new();
        let mut all_read = true;
        for (key, item) in table.iter() {
            let item_path = path.key(key.get_ref());
            match T::from_toml(item, context, &item_path) {
                Some(read) => {
                    map.insert(key.get_ref().to_string(), read);
                }
                None => all_read = false,
            }
        }
        all_read.then_some(map)
    }
}

pub(crate) fn expect_table<'v, 'i>(
    value: &'v Spanned<DeValue<'i>>,
    context: &mut Context<'_>,
    path: &KeyPath<'_>,
) -> Option<&'v DeTable<'i>> {
    match value.get_ref() {
        DeValue::Table(table) => Some(table),
        _ => {
            context.wrong_type(value, path, "a table");
            None
        }
    }
}

/// Read a string that must be one of `choices`, suggesting the closest on a typo.
pub(crate) fn read_choice<'c>(
    value: &Spanned<DeValue<'_>>,
    context: &mut Context<'_>,
    path: &KeyPath<'_>,
    choices: &[&'c str],
) -> Option<&'c str> {
    let text = String::from_toml(value, context, path)?;
    if let Some(choice) = choices.iter().find(|choice| **choice == text) {
        return Some(choice);
    }
    let listed = choices
        .iter()
        .map(|choice| format!("`{choice}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!(
        "{path}: unknown value `{text_shown}`; expected one of {listed}",
        text_shown = shown(&text)
    );
    if let Some(closest) = crate::hints::closest(&text, choices.iter().copied()) {
        message.push_str(&format!("; did you mean `{closest}`?"));
    }
    context.error(value.span().into(), message);
    None
}

/// Declares a raw table: the struct the reader fills (every key optional, unknown keys refused) and its
/// schema twin from which `fleet schema` is generated, so key names live in exactly one place.
///
/// Attributes on a key (doc comments, `#[schemars(...)]`) go to the schema twin only.
macro_rules! raw_table {
    (
        $(#[$table_meta:meta])*
        struct $raw:ident, schema $schema:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        #[derive(Debug, Clone, Default)]
        pub(crate) struct $raw {
            $( pub(crate) $field: $crate::read::Field<$ty>, )*
            /// Where the table is declared: its header, or the inline table.
            // `allow`, not `expect`: some tables use their span and some do not.
            #[allow(dead_code, reason = "only some raw tables report problems at their header")]
            pub(crate) span: $crate::read::Span,
        }

        impl $raw {
            /// Every key this table accepts, for "did you mean" and for the docs test.
            pub(crate) const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl $crate::read::FromToml for $raw {
            fn from_toml(
                value: &toml::Spanned<toml::de::DeValue<'_>>,
                context: &mut $crate::read::Context<'_>,
                path: &$crate::read::KeyPath<'_>,
            ) -> Option<Self> {
                let table = $crate::read::expect_table(value, context, path)?;
                let mut raw = $raw {
                    span: value.span().into(),
                    ..Default::default()
                };
                for (key, item) in table.iter() {
                    let key_path = path.key(key.get_ref());
                    match key.get_ref().as_ref() {
                        $(
                            stringify!($field) => {
                                raw.$field = $crate::read::FromToml::from_toml(item, context, &key_path)
                                    .unwrap_or($crate::read::Field::Invalid);
                            }
                        )*
                        _ => context.unknown_key(key, Self::KEYS, path),
                    }
                }
                Some(raw)
            }
        }

        $(#[$table_meta])*
        #[derive(schemars::JsonSchema)]
        #[schemars(deny_unknown_fields)]
        #[expect(dead_code, reason = "only its JSON Schema is used")]
        pub(crate) struct $schema {
            $( $(#[$field_meta])* $field: Option<<$ty as $crate::values::SchemaOf>::Schema>, )*
        }

        impl $crate::values::SchemaOf for $raw {
            type Schema = $schema;
        }
    };
}

pub(crate) use raw_table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_print_dotted_with_positions() {
        let root = KeyPath::Root;
        let group = root.key("group");
        let first = group.index(1);
        let network = first.key("network");
        let cidr = network.key("cidr");
        assert_eq!(cidr.to_string(), "group[1].network.cidr");
        assert_eq!(network.table_name(), "[group.network]");
        assert_eq!(first.table_name(), "[[group]]");
        assert_eq!(root.table_name(), "the top level");
    }
}
