//! `fleet schema`: print the JSON Schema of fleet.toml for editors.

use std::io::Write as _;
use std::process::ExitCode;

/// Print the JSON Schema of fleet.toml.
///
/// Editors that understand TOML with JSON Schema (taplo, VS Code with "Even Better TOML") then check
/// keys, types and values and complete them as you type. Save the schema beside the fleet file and
/// point the file at it with a directive on its first line:
///
///     #:schema ./fleet.schema.json
///
/// The schema is generated from the same declarations `fleet check` reads with, so it never lags
/// behind; `fleet check` still checks more (cross-key rules, duplicates, files).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet schema > fleet/fleet.schema.json
  fleet schema | jq '.properties | keys'")]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    let schema = serde_json::to_string_pretty(&fleet_spec::json_schema())?;
    let mut stdout = crate::stdout::stdout();
    writeln!(stdout, "{schema}")?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
