//! The INI writer against the real readers: every key file it writes from awkward text (line breaks,
//! backslashes, edge whitespace, `;`, `#`, brackets, control characters) is read back exactly by the
//! real GLib (`GLib.KeyFile`, which NetworkManager reads keyfiles with, through python3-gi), and
//! every unit it writes with awkward values passes `systemd-analyze verify` without a word (a line
//! break or a continuation that slipped through would leave "Missing '='" or swallow the next line).
//! `crates/fleet-ignition/tests/ini.rs` holds the same properties against models of both readers.
//!
//! Needs `/usr/bin/python3` with python3-gi and `systemd-analyze` (`cargo xtask setup --e2e`
//! installs them); without them the tests say so and pass, except in CI.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use fleet_ignition::ini::{Dialect, IniFile};
use proptest::prelude::*;
use serde_json::{Value, json};

const PYTHON: &str = "/usr/bin/python3";

/// Reads each key file of a JSON list on stdin with GLib and prints, for each, its groups with
/// every key's string (and the `lists` group's string lists), or GLib's error.
const READ_WITH_GLIB: &str = r#"
import json, sys
import gi
gi.require_version("GLib", "2.0")
from gi.repository import GLib
out = []
for text in json.load(sys.stdin):
    key_file = GLib.KeyFile()
    try:
        data = text.encode()
        key_file.load_from_data(text, len(data), GLib.KeyFileFlags.NONE)
        groups = []
        for group in key_file.get_groups()[0]:
            keys = []
            for key in key_file.get_keys(group)[0]:
                if group == "lists":
                    keys.append([key, key_file.get_string_list(group, key)])
                else:
                    keys.append([key, key_file.get_string(group, key)])
            groups.append([group, keys])
        out.append({"groups": groups})
    except GLib.Error as error:
        out.append({"error": error.message})
json.dump(out, sys.stdout)
"#;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Whether the tool runs here; a missing one is a failure in CI and a notice elsewhere.
fn available(test: &str, what: &str, mut probe: Command) -> bool {
    let works = probe
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        assert!(
            !in_ci(),
            "test `{test}` cannot be skipped in CI: it needs {what}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED test `{test}`: it needs {what} (`cargo xtask setup --e2e` installs it)"
        );
    }
    works
}

fn awkward_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\\', '=', '[', ']', ';', '#', '"', 's',
                'n', '\u{7}', '\u{85}', '\u{2028}', 'é', '✓',
            ]),
            any::<char>().prop_filter("NUL ends a C string", |c| *c != '\0'),
            prop::char::range('a', 'z'),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Key files with awkward values in `[values]` and an awkward list in `[lists]`, as written, with
/// what they hold.
fn key_files() -> impl Strategy<Value = Vec<(String, Vec<String>, Vec<String>)>> {
    prop::collection::vec(
        (
            prop::collection::vec(awkward_text(12), 1..5),
            prop::collection::vec(awkward_text(8), 0..4),
        ),
        100,
    )
    .prop_map(|files| {
        files
            .into_iter()
            .filter_map(|(values, list)| {
                let mut file = IniFile::new(Dialect::KeyFile);
                let section = file.section("values");
                for (index, value) in values.iter().enumerate() {
                    section.entry(format!("key{index}"), value);
                }
                file.section("lists").list("items", &list);
                Some((file.to_text().ok()?, values, list))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5))]

    #[test]
    fn glib_reads_every_key_file_the_writer_writes_as_it_was_given(files in key_files()) {
        let test = "glib_reads_every_key_file_the_writer_writes_as_it_was_given";
        let mut probe = Command::new(PYTHON);
        probe.args(["-c", "import gi; gi.require_version('GLib', '2.0')"]);
        if !available(test, "/usr/bin/python3 with python3-gi", probe) {
            return Ok(());
        }
        let texts: Vec<&str> = files.iter().map(|(text, _, _)| text.as_str()).collect();
        let mut python = Command::new(PYTHON)
            .args(["-c", READ_WITH_GLIB])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        python
            .stdin
            .take()
            .expect("stdin")
            .write_all(serde_json::to_string(&texts).unwrap().as_bytes())
            .expect("python3 reads the files");
        let output = python.wait_with_output().expect("python3 runs");
        prop_assert!(output.status.success());
        let read: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON from python3");
        prop_assert_eq!(read.len(), files.len());
        for ((text, values, list), read) in files.iter().zip(&read) {
            let keys: Vec<Value> = values
                .iter()
                .enumerate()
                .map(|(index, value)| json!([format!("key{index}"), value]))
                .collect();
            let expected = json!({"groups": [["values", keys], ["lists", [["items", list]]]]});
            prop_assert_eq!(read, &expected, "{:?}", text);
        }
    }
}

/// Units the writer accepts, awkward values in `X-` keys (which systemd keeps without comment)
/// ahead of the lines a service needs.
fn units() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec(awkward_text(16), 1..4), 60).prop_map(|units| {
        units
            .into_iter()
            .filter_map(|values| {
                let mut unit = IniFile::new(Dialect::Systemd);
                unit.comment("written by the INI writer's test");
                let section = unit.section("Unit");
                section.entry("Description", "INI writer test");
                for (index, value) in values.iter().enumerate() {
                    section.entry(format!("X-Fleet-{index}"), value);
                }
                unit.section("Service")
                    .entry("Type", "oneshot")
                    .entry("ExecStart", "/bin/true");
                unit.to_text().ok()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]

    #[test]
    fn systemd_analyze_verifies_every_unit_the_writer_writes_without_a_word(units in units()) {
        let test = "systemd_analyze_verifies_every_unit_the_writer_writes_without_a_word";
        let mut probe = Command::new("systemd-analyze");
        probe.arg("--version");
        if !available(test, "systemd-analyze", probe) {
            return Ok(());
        }
        let directory = tempfile::tempdir().unwrap();
        let paths: Vec<_> = units
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let path = directory.path().join(format!("ini-writer-{index}.service"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect();
        let output = Command::new("systemd-analyze")
            .arg("verify")
            .args(&paths)
            .output()
            .expect("systemd-analyze runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = |path: &Path| {
            std::fs::read_to_string(path).unwrap_or_default()
        };
        prop_assert!(
            output.status.success() && stderr.trim().is_empty(),
            "{stderr}\n{}",
            paths.iter().map(|path| shown(path)).collect::<Vec<_>>().join("\n---\n")
        );
    }
}
