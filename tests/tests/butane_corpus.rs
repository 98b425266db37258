//! `fleet butane` against the Butane corpus (tests/data/butane): upstream butane v0.29.0's
//! outputs and errors, plus this project's own cases. Runs the binary as users do:
//! `fleet butane --pretty --strict [ARGS] NAME.bu` in the case directory.
//!
//! Rules (tools/igncmp.py): outputs equal as JSON with data URLs decoded, and byte-identical
//! where no gzip is involved; a failing case exits 1 and names the line(s) the reference
//! names; a case that only warns also matches upstream's output without --strict.

use std::path::{Path, PathBuf};
use std::process::Output;

use fleet_ignition::ignition::semantic_difference;
use fleet_tests::binary::fleet_command;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/butane")
}

fn cases(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".bu"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

fn butane(dir: &Path, case: &str, strict: bool) -> Output {
    let mut args = vec!["butane".to_owned(), "--pretty".to_owned()];
    if strict {
        args.push("--strict".to_owned());
    }
    if let Ok(extra) = std::fs::read_to_string(dir.join(format!("{case}.args"))) {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    args.push(format!("{case}.bu"));
    fleet_command()
        .expect("fleet binary")
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("fleet runs")
}

fn named_lines(text: &str) -> Vec<u32> {
    let mut lines: Vec<u32> = text
        .match_indices("line ")
        .filter_map(|(i, _)| {
            let digits: String = text[i + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

fn compare(ours: &str, expected: &str) -> Option<String> {
    if let Some(difference) = semantic_difference(ours, expected) {
        return Some(difference);
    }
    let gzip = expected.contains("\"gzip\"") || ours.contains("\"gzip\"");
    (!gzip && ours != expected).then(|| "equal as JSON but not byte-identical".to_owned())
}

fn check(dir: &Path, case: &str) -> Option<String> {
    let strict = butane(dir, case, true);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    let stderr = String::from_utf8_lossy(&strict.stderr);
    if let Ok(expected) = std::fs::read_to_string(dir.join(format!("{case}.ign"))) {
        if strict.status.code() != Some(0) {
            return Some(format!(
                "exit {:?}, expected 0: {stderr}",
                strict.status.code()
            ));
        }
        return compare(&stdout, &expected);
    }
    if strict.status.code() != Some(1) {
        return Some(format!("exit {:?}, expected 1", strict.status.code()));
    }
    let reference =
        std::fs::read_to_string(dir.join(format!("{case}.raw.err"))).unwrap_or_default();
    // As tools/igncmp.py: the raw "line N" or a snippet's "FILE:N:COL".
    let names =
        |line: &u32| named_lines(&stderr).contains(line) || stderr.contains(&format!(":{line}:"));
    if let Some(line) = named_lines(&reference).iter().find(|l| !names(l)) {
        return Some(format!("does not name line {line}: {stderr}"));
    }
    let last = reference
        .lines()
        .rfind(|l| !l.starts_with("exit="))
        .unwrap_or("");
    if !stderr.contains(last) {
        return Some(format!("does not end with {last:?}: {stderr}"));
    }
    if let Ok(expected) = std::fs::read_to_string(dir.join(format!("{case}.nonstrict.ign"))) {
        let loose = butane(dir, case, false);
        if loose.status.code() != Some(0) {
            return Some("without --strict: expected exit 0 (warnings only)".to_owned());
        }
        return compare(&String::from_utf8_lossy(&loose.stdout), &expected)
            .map(|d| format!("without --strict: {d}"));
    }
    None
}

#[test]
fn every_corpus_case_matches_upstream() {
    let dir = corpus_dir();
    let names = cases(&dir);
    assert!(names.len() >= 31, "corpus missing in {}", dir.display());
    let failures: Vec<String> = names
        .iter()
        .filter_map(|case| check(&dir, case).map(|why| format!("{case}: {why}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn usage_errors_exit_2_and_stdin_is_read() {
    let bad = fleet_command()
        .expect("fleet binary")
        .args(["butane", "--no-such-flag"])
        .output()
        .expect("fleet runs");
    assert_eq!(bad.status.code(), Some(2));

    let mut child = fleet_command()
        .expect("fleet binary")
        .args(["butane"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("fleet runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"variant: fcos\nversion: 1.5.0\n")
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("fleet finishes");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"ignition\":{\"version\":\"3.4.0\"}}\n"
    );
}

#[test]
fn output_file_is_written_and_check_writes_nothing() {
    let dir = corpus_dir();
    let temp = tempfile::tempdir().expect("temporary directory");
    let out_path = temp.path().join("node.ign");
    let status = fleet_command()
        .expect("fleet binary")
        .args(["butane", "--pretty", "-o"])
        .arg(&out_path)
        .arg(dir.join("00-v140-seed-node.bu"))
        .status()
        .expect("fleet runs");
    assert!(status.success());
    let written = std::fs::read_to_string(&out_path).expect("output written");
    let expected = std::fs::read_to_string(dir.join("00-v140-seed-node.ign")).expect("reference");
    assert_eq!(written, expected);

    let checked = fleet_command()
        .expect("fleet binary")
        .args(["butane", "--check"])
        .arg(dir.join("00-v140-seed-node.bu"))
        .output()
        .expect("fleet runs");
    assert!(checked.status.success());
    assert!(checked.stdout.is_empty());
}
