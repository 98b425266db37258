//! Cross-check with Fedora CoreOS's own Rust types (the `ignition-config` crate, specs 3.0.0 to
//! 3.6.0): every config the translator writes parses without warnings, and reads back as the
//! same config. 3.7.0-experimental has the same types as 3.6.0; it is checked as 3.6.0.

#![expect(
    clippy::disallowed_methods,
    reason = "tests read their fixture files; the rule (clippy.toml) is for the library"
)]

mod common;

use common::{DirFiles, corpus_dir, list_cases};
use fleet_ignition::ignition::semantic_difference;
use fleet_ignition::{FileSource, TranslateOptions, translate};

/// Parse with ignition-config; Err describes an error or warnings.
pub fn cross_check(json: &str) -> Result<(), String> {
    let as_stable = json.replace("\"3.7.0-experimental\"", "\"3.6.0\"");
    let (parsed, warnings) = ignition_config::Config::parse_str(&as_stable)
        .map_err(|e| format!("ignition-config refuses it: {e}"))?;
    if !warnings.is_empty() {
        let listed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        return Err(format!("ignition-config warns: {}", listed.join(", ")));
    }
    let reserialised = serde_json::to_string(&parsed).map_err(|e| e.to_string())?;
    match semantic_difference(&reserialised, &as_stable) {
        None => Ok(()),
        Some(difference) => Err(format!("reads back differently: {difference}")),
    }
}

#[test]
fn every_translated_corpus_case_parses_with_ignition_config() {
    let dir = corpus_dir();
    let files = DirFiles(dir.join("files"));
    let options = TranslateOptions {
        files_dir: Some(&files as &dyn FileSource),
        ..TranslateOptions::default()
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in list_cases(&dir) {
        let input = std::fs::read(dir.join(format!("{case}.bu"))).expect("case input");
        let Ok(translation) = translate(&input, &options) else {
            continue;
        };
        for pretty in [false, true] {
            if let Err(why) = cross_check(&translation.to_json(pretty)) {
                failures.push(format!("{case}: {why}"));
            }
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} cases translated");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
