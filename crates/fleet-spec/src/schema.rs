//! The JSON Schema of fleet.toml, generated from the raw table declarations (the same ones the reader uses).

use serde_json::{Map, Value};

/// The JSON Schema (draft 2020-12) describing fleet.toml, for editors such as taplo or VS Code's Even Better TOML.
pub fn json_schema() -> Value {
    let mut schema = schemars::schema_for!(crate::raw::FleetFile).to_value();
    remove_null(&mut schema);
    if let Value::Object(root) = &mut schema {
        root.insert("title".to_owned(), "fleet.toml".into());
    }
    schema
}

/// TOML has no null: an optional key is simply absent. schemars describes `Option<T>` as "T or null";
/// drop the null alternative everywhere so editors do not offer it.
fn remove_null(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|kind| kind != "null");
                if types.len() == 1 {
                    let single = types.remove(0);
                    object.insert("type".to_owned(), single);
                }
            }
            if let Some(Value::Array(alternatives)) = object.get_mut("anyOf") {
                alternatives.retain(|alternative| !is_null_schema(alternative));
                if alternatives.len() == 1
                    && let Some(Value::Object(only)) = alternatives.pop()
                {
                    object.remove("anyOf");
                    merge_into(object, only);
                }
            }
            for child in object.values_mut() {
                remove_null(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(remove_null),
        _ => {}
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").is_some_and(|kind| kind == "null")
        && schema.as_object().is_some_and(|object| object.len() == 1)
}

/// Keys already on the outer schema (such as its description) win.
fn merge_into(outer: &mut Map<String, Value>, inner: Map<String, Value>) {
    for (key, value) in inner {
        outer.entry(key).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_keys_are_not_nullable() {
        let schema = json_schema().to_string();
        assert!(
            !schema.contains("\"null\""),
            "the schema offers null somewhere"
        );
    }

    /// The example fleet points editors at this file with `#:schema ./fleet.schema.json`.
    #[test]
    fn the_example_fleet_ships_the_current_schema() {
        let text = serde_json::to_string_pretty(&json_schema()).expect("schema serialises") + "\n";
        expect_test::expect_file!["../../../fleet/fleet.schema.json"].assert_eq(&text);
    }

    /// Every table of the schema, as a dotted TOML path (`group.node`), with its keys.
    fn tables(schema: &Value) -> Vec<(String, Vec<String>)> {
        fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let name = reference.trim_start_matches("#/$defs/");
                    resolve(root, &root["$defs"][name])
                }
                None => schema,
            }
        }
        fn walk(root: &Value, schema: &Value, path: &str, out: &mut Vec<(String, Vec<String>)>) {
            let schema = resolve(root, schema);
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            out.push((path.to_owned(), properties.keys().cloned().collect()));
            for (key, property) in properties {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let property = resolve(root, property);
                walk(root, property, &child, out);
                if let Some(items) = property.get("items") {
                    walk(root, items, &child, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(schema, schema, "", &mut out);
        out
    }

    /// Each `##` section of docs/fleet-toml.md whose heading names tables (`[x]` or `[[x]]` in backticks),
    /// with the keys in the first column of its table rows.
    fn documented_sections(markdown: &str) -> Vec<(Vec<String>, Vec<String>)> {
        let mut sections: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for line in markdown.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                let tables = heading
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|span| span.starts_with('['))
                    .map(|span| span.trim_matches(|c| c == '[' || c == ']').to_owned())
                    .collect();
                sections.push((tables, Vec::new()));
            } else if let Some(row) = line.strip_prefix("| `")
                && let (Some((key, _)), Some(section)) = (row.split_once('`'), sections.last_mut())
            {
                section.1.push(key.to_owned());
            }
        }
        sections.retain(|(tables, _)| !tables.is_empty());
        sections
    }

    #[test]
    fn every_key_is_documented_and_every_documented_key_exists() {
        let markdown = include_str!("../../../docs/fleet-toml.md");
        let sections = documented_sections(markdown);
        let tables = tables(&json_schema());
        let mut missing = Vec::new();
        for (path, keys) in &tables {
            if path.is_empty() {
                continue;
            }
            match sections
                .iter()
                .find(|(documented, _)| documented.contains(path))
            {
                Some((_, documented_keys)) => {
                    for key in keys {
                        if !documented_keys.contains(key) {
                            missing.push(format!("{path}.{key}"));
                        }
                    }
                }
                None => missing.push(format!("[{path}]")),
            }
        }
        assert!(
            missing.is_empty(),
            "not documented in docs/fleet-toml.md: {missing:?}"
        );
        for (documented_tables, documented_keys) in &sections {
            for table in documented_tables {
                let keys = tables
                    .iter()
                    .find(|(path, _)| path == table)
                    .map(|(_, keys)| keys)
                    .unwrap_or_else(|| {
                        panic!("docs/fleet-toml.md documents [{table}], which does not exist")
                    });
                for key in documented_keys {
                    assert!(
                        keys.contains(key),
                        "docs/fleet-toml.md documents {table}.{key}, which does not exist"
                    );
                }
            }
        }
    }

    #[test]
    fn the_schema_refuses_unknown_keys_and_requires_the_fleet() {
        let schema = json_schema();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        assert_eq!(schema["required"], serde_json::json!(["fleet"]));
        assert_eq!(
            schema["properties"]["fleet"]["required"],
            serde_json::json!(["name", "image"])
        );
    }
}
