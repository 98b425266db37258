//! Comparing two Ignition configs as the project's corpus tool (tools/igncmp.py) does: JSON
//! trees equal with key order ignored, `data:` URLs compared by their decoded (and un-gzipped)
//! contents, since gzip bytes and the shortest-encoding choice may differ between encoders.

use serde_json::Value;

use super::dataurl::data_url_contents;

/// The first difference between two configs (JSON text), or None when they are equivalent.
pub fn semantic_difference(ours: &str, reference: &str) -> Option<String> {
    let a: Value = match serde_json::from_str(ours) {
        Ok(v) => v,
        Err(e) => return Some(format!("first config is not JSON: {e}")),
    };
    let b: Value = match serde_json::from_str(reference) {
        Ok(v) => v,
        Err(e) => return Some(format!("second config is not JSON: {e}")),
    };
    first_difference(&normalise(&a), &normalise(&b), "$")
}

/// igncmp.py's normalisation: data URLs decoded, `compression` beside them and `null`s dropped.
fn normalise(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let source = map.get("source").and_then(Value::as_str);
            let is_data = source.is_some_and(|s| s.starts_with("data:"));
            let compression = map.get("compression").and_then(Value::as_str);
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if v.is_null() {
                    continue;
                }
                if k == "compression" && (is_data || v.as_str() == Some("")) {
                    continue;
                }
                if k == "source" && is_data {
                    let decoded = match data_url_contents(source.unwrap_or(""), compression) {
                        Ok(bytes) => match String::from_utf8(bytes) {
                            Ok(text) => format!("text:{text}"),
                            Err(e) => format!("bytes:{:?}", e.into_bytes()),
                        },
                        Err(e) => format!("undecodable:{e}"),
                    };
                    out.insert(k.clone(), Value::String(decoded));
                    continue;
                }
                out.insert(k.clone(), normalise(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (None, _) => return Some(format!("{path}.{k}: missing in ours")),
                    (_, None) => return Some(format!("{path}.{k}: missing in the reference")),
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: list length {} != {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} != {b}")),
    }
}
