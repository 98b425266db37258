//! The JSON Schema of fleet.toml, generated from the raw table declarations (the same ones the reader uses).

/// The JSON Schema (draft 2020-12) describing fleet.toml, for editors such as taplo or VS Code's Even Better TOML.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(crate::raw::FleetFile);
    schema.insert("title".to_owned(), "fleet.toml".into());
    schema.to_value()
}
