//! A config written back as Butane (`fleet render --butane`), so a person can review what a
//! node receives in the form they write: snake_case keys, text contents inline, modes in octal.
//! Translating the result gives the same Ignition again (the tests check this).

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::butane_version_for;
use crate::IgnitionVersion;
use crate::ignition::{self, Config, JsonOptions, UnsupportedFields};

/// The config as a Butane document (`variant: fcos`, the version that translates to `version`).
pub fn to_butane(config: &Config, version: IgnitionVersion) -> Result<String, UnsupportedFields> {
    let json = ignition::to_json(config, version, JsonOptions { pretty: false })?;
    // The JSON was written by this crate, so it always parses.
    let mut tree: Json = serde_json::from_str(&json).unwrap_or(Json::Object(Vec::new()));
    if let Json::Object(sections) = &mut tree {
        for (key, value) in sections.iter_mut() {
            if let ("ignition", Json::Object(fields)) = (key.as_str(), value) {
                fields.retain(|(field, _)| field != "version");
            }
        }
    }
    let mut out = format!(
        "# Composed by fleet: snippets merged, then what fleet.toml generates for this node.\n\
         variant: fcos\nversion: {}\n",
        butane_version_for(version).as_str()
    );
    if let Json::Object(sections) = butanify(tree) {
        for (key, value) in sections {
            if key == "ignition" && matches!(&value, Json::Object(fields) if fields.is_empty()) {
                continue;
            }
            write_entry(&mut out, 0, &key, &value);
        }
    }
    Ok(out)
}

/// A JSON tree that keeps key order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    /// A mode, written in octal as Butane users do.
    Mode(i64),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
                Ok(Json::Bool(value))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
                Ok(Json::Number(value.into()))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
                Ok(Json::Number(value.into()))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, value: &str) -> Result<Json, E> {
                Ok(Json::String(value.to_owned()))
            }
            fn visit_string<E>(self, value: String) -> Result<Json, E> {
                Ok(Json::String(value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Ignition's camelCase keys as Butane's snake_case (`sizeMiB` → `size_mib`), data URLs of text
/// as `inline`, modes marked for octal.
fn butanify(value: Json) -> Json {
    match value {
        Json::Object(entries) => {
            let inline = inline_text(&entries);
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                match (&inline, key.as_str()) {
                    (Some(_), "compression") => continue,
                    (Some(text), "source") => {
                        out.push(("inline".to_owned(), Json::String(text.clone())));
                        continue;
                    }
                    _ => {}
                }
                let value = match (key.as_str(), value) {
                    ("mode", Json::Number(number)) => {
                        number.as_i64().map_or(Json::Null, Json::Mode)
                    }
                    (_, value) => butanify(value),
                };
                out.push((snake_case(&key), value));
            }
            // People look for an entry by its name or path: put it first, as Butane is written.
            if let Some(position) = out
                .iter()
                .position(|(key, _)| matches!(key.as_str(), "name" | "path" | "device"))
            {
                let identity = out.remove(position);
                out.insert(0, identity);
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(items.into_iter().map(butanify).collect()),
        other => other,
    }
}

/// The text a resource's data URL holds, when it is one and the text is UTF-8.
fn inline_text(entries: &[(String, Json)]) -> Option<String> {
    let field = |name: &str| {
        entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let Some(Json::String(source)) = field("source") else {
        return None;
    };
    if !source.starts_with("data:") {
        return None;
    }
    let compression = match field("compression") {
        Some(Json::String(compression)) => Some(compression.as_str()),
        _ => None,
    };
    let bytes = ignition::data_url_contents(source, compression).ok()?;
    String::from_utf8(bytes).ok()
}

fn snake_case(key: &str) -> String {
    let key = key.replace("MiB", "Mib");
    let mut out = String::with_capacity(key.len() + 4);
    for character in key.chars() {
        if character.is_ascii_uppercase() {
            out.push('_');
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

fn write_entry(out: &mut String, indent: usize, key: &str, value: &Json) {
    let pad = " ".repeat(indent);
    let _ = write!(out, "{pad}{key}:");
    write_value(out, indent, value);
}

/// Write `value` after a `key:` or `-` already on the line.
fn write_value(out: &mut String, indent: usize, value: &Json) {
    match value {
        Json::Object(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Json::Array(items) if items.is_empty() => out.push_str(" []\n"),
        Json::Object(entries) => {
            out.push('\n');
            for (key, value) in entries {
                write_entry(out, indent + 2, key, value);
            }
        }
        Json::Array(items) => {
            out.push('\n');
            for item in items {
                write_item(out, indent + 2, item);
            }
        }
        Json::String(text) => write_string(out, indent + 2, text),
        scalar => {
            out.push(' ');
            write_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn write_item(out: &mut String, indent: usize, item: &Json) {
    let pad = " ".repeat(indent);
    match item {
        Json::Object(entries) if !entries.is_empty() => {
            for (position, (key, value)) in entries.iter().enumerate() {
                if position == 0 {
                    let _ = write!(out, "{pad}- {key}:");
                    write_value(out, indent + 2, value);
                } else {
                    write_entry(out, indent + 2, key, value);
                }
            }
        }
        Json::String(text) => {
            let _ = writeln!(out, "{pad}- {}", quoted(text));
        }
        other => {
            let _ = write!(out, "{pad}-");
            write_value(out, indent, other);
        }
    }
}

fn write_scalar(out: &mut String, scalar: &Json) {
    match scalar {
        Json::Null => out.push_str("null"),
        Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Json::Number(number) => out.push_str(&number.to_string()),
        Json::Mode(mode) => {
            let _ = write!(out, "0{mode:o}");
        }
        Json::String(text) => out.push_str(&quoted(text)),
        Json::Array(_) | Json::Object(_) => {}
    }
}

/// Multi-line text as a literal block when YAML can hold it verbatim, else a quoted string.
fn write_string(out: &mut String, indent: usize, text: &str) {
    let Some(chomping) = literal_chomping(text) else {
        let _ = writeln!(out, " {}", quoted(text));
        return;
    };
    let first_line_indented = text
        .split('\n')
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.starts_with(' '));
    let indicator = if first_line_indented { "2" } else { "" };
    let _ = writeln!(out, " |{indicator}{chomping}");
    let pad = " ".repeat(indent);
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
}

/// The chomping indicator for a literal block of `text`, or `None` when a quoted string is safer.
fn literal_chomping(text: &str) -> Option<&'static str> {
    if !text.contains('\n') {
        return None;
    }
    let printable = text
        .chars()
        .all(|character| character == '\n' || character == '\t' || !character.is_control())
        && !text.contains(['\u{feff}', '\u{2028}', '\u{2029}', '\u{85}']);
    let clean_lines = text.split('\n').all(|line| !line.ends_with([' ', '\t']));
    if !printable || !clean_lines {
        return None;
    }
    if text.ends_with("\n\n") {
        Some("+")
    } else if text.ends_with('\n') {
        Some("")
    } else {
        Some("-")
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}
