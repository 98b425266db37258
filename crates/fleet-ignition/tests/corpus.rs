//! Every case of the Butane corpus (tests/data/butane: upstream butane v0.29.0's outputs and
//! errors, plus this project's own cases) through the library: outputs equal after decoding data
//! URLs and byte-identical where no gzip is involved; failures fail naming the same lines.

#![expect(
    clippy::disallowed_methods,
    reason = "tests read their fixture files; the rule (clippy.toml) is for the library"
)]

mod common;

use common::{CaseOutcome, corpus_dir, list_cases, run_case};

#[test]
fn corpus_cases_match_upstream() {
    let dir = corpus_dir();
    let cases = list_cases(&dir);
    assert!(cases.len() >= 30, "corpus not found in {}", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        if let CaseOutcome::Failed(why) = run_case(&dir, case) {
            failures.push(format!("{case}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `DUMP_CORPUS=dir cargo test -p fleet-ignition --test corpus dump` writes every output.
#[test]
fn dump() {
    let Some(out) = std::env::var_os("DUMP_CORPUS") else {
        return;
    };
    let dir = corpus_dir();
    for case in list_cases(&dir) {
        let input = std::fs::read(dir.join(format!("{case}.bu"))).unwrap();
        let files = common::DirFiles(dir.join("files"));
        let options = fleet_ignition::TranslateOptions {
            files_dir: Some(&files),
            ..Default::default()
        };
        let text = match fleet_ignition::translate(&input, &options) {
            Ok(t) => format!("{}{}", t.report.render_raw(), t.to_json(true)),
            Err(e) => format!(
                "{}{}Error translating config: {e}\n",
                e.report.render_raw(),
                e.report.render_pretty(
                    &format!("{case}.bu"),
                    &String::from_utf8_lossy(&input),
                    false
                )
            ),
        };
        std::fs::write(std::path::Path::new(&out).join(format!("{case}.out")), text).unwrap();
    }
}

/// `WRITE_EXPECTATIONS=x01,y02,... cargo test -p fleet-ignition --test corpus write_expectations`
/// writes the expected files of this project's own cases as `butane --pretty` would print them,
/// for review (see tests/data/butane/README.md).
#[test]
fn write_expectations() {
    let Ok(prefixes) = std::env::var("WRITE_EXPECTATIONS") else {
        return;
    };
    let dir = corpus_dir();
    let prefixes: Vec<&str> = prefixes.split(',').collect();
    for case in list_cases(&dir) {
        if !prefixes.iter().any(|p| case.starts_with(p)) {
            continue;
        }
        for ext in ["ign", "err", "raw.err", "nonstrict.ign"] {
            let _ = std::fs::remove_file(dir.join(format!("{case}.{ext}")));
        }
        let input = std::fs::read(dir.join(format!("{case}.bu"))).unwrap();
        let source = String::from_utf8_lossy(&input).into_owned();
        let args = std::fs::read_to_string(dir.join(format!("{case}.args"))).unwrap_or_default();
        let files = common::DirFiles(dir.join("files"));
        let options = fleet_ignition::TranslateOptions {
            files_dir: args
                .contains("-d files")
                .then_some(&files as &dyn fleet_ignition::FileSource),
            ..Default::default()
        };
        let file = format!("{case}.bu");
        match fleet_ignition::translate(&input, &options) {
            Ok(t) if t.report.is_empty() => {
                std::fs::write(dir.join(format!("{case}.ign")), t.to_json(true)).unwrap();
            }
            Ok(t) => {
                let tail = "Config produced warnings and --strict was specified\nexit=1\n";
                let pretty = format!("{}{tail}", t.report.render_pretty(&file, &source, false));
                let raw = format!("{}{tail}", t.report.render_raw());
                std::fs::write(dir.join(format!("{case}.err")), pretty).unwrap();
                std::fs::write(dir.join(format!("{case}.raw.err")), raw).unwrap();
                std::fs::write(dir.join(format!("{case}.nonstrict.ign")), t.to_json(true)).unwrap();
            }
            Err(e) => {
                let tail = format!("Error translating config: {e}\nexit=1\n");
                let pretty = format!("{}{tail}", e.report.render_pretty(&file, &source, false));
                let raw = format!("{}{tail}", e.report.render_raw());
                std::fs::write(dir.join(format!("{case}.err")), pretty).unwrap();
                std::fs::write(dir.join(format!("{case}.raw.err")), raw).unwrap();
            }
        }
    }
}
