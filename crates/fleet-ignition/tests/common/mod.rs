//! Shared test support: a real-directory file source and the corpus comparison rules of
//! tools/igncmp.py (JSON trees equal key order aside, data URLs compared decoded).

#![expect(
    clippy::disallowed_methods,
    reason = "test helpers read the fixture files; the rule (clippy.toml) is for the library"
)]
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]

use std::path::{Path, PathBuf};

use fleet_ignition::{FileSource, TranslateOptions, translate};
use fleet_spec::{FileError, FileMetadata, ReadLimit};

/// A directory on disk, read plainly (the CLI's `LocalFiles` adds confinement and special-file
/// checks; the corpus holds only regular files, small ones).
pub struct DirFiles(pub PathBuf);

impl FileSource for DirFiles {
    fn read(&self, path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
        let contents = std::fs::read(self.0.join(path))?;
        if contents.len() as u64 > limit.bytes {
            return Err(FileError::TooLarge { limit });
        }
        Ok(contents)
    }

    fn metadata(&self, path: &Path) -> Result<FileMetadata, FileError> {
        use std::os::unix::fs::MetadataExt as _;
        let mode = std::fs::symlink_metadata(self.0.join(path))?.mode();
        FileMetadata::from_mode(mode).ok_or_else(|| {
            FileError::Io(std::io::Error::other(format!("unknown file mode {mode:o}")))
        })
    }

    fn read_dir(&self, path: &Path) -> Result<Vec<String>, FileError> {
        Ok(std::fs::read_dir(self.0.join(path))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?)
    }

    fn read_link(&self, path: &Path) -> Result<String, FileError> {
        Ok(std::fs::read_link(self.0.join(path))?
            .to_string_lossy()
            .into_owned())
    }

    fn display_path(&self, path: &Path) -> String {
        self.0.join(path).display().to_string()
    }
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/butane")
}

pub fn list_cases(dir: &Path) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".bu"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

pub enum CaseOutcome {
    Passed,
    Failed(String),
}

/// The corpus comparison: equivalent configs, and byte-identical where no gzip is involved.
pub fn compare(ours: &str, expected: &str) -> Option<String> {
    if let Some(d) = fleet_ignition::ignition::semantic_difference(ours, expected) {
        return Some(d);
    }
    if !expected.contains("\"gzip\"") && !ours.contains("\"gzip\"") && ours != expected {
        return Some("equal as JSON but not byte-identical".to_owned());
    }
    None
}

fn args_of(dir: &Path, case: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{case}.args")))
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// "line N" numbers named in an upstream error text.
pub fn named_lines(text: &str) -> Vec<u32> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("line ") {
        rest = &rest[i + 5..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            lines.push(n);
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Translate `dir/case.bu` as `butane --pretty [--strict] [args]` would and compare.
pub fn run_case(dir: &Path, case: &str) -> CaseOutcome {
    let input = std::fs::read(dir.join(format!("{case}.bu"))).expect("case input");
    let args = args_of(dir, case);
    let files = args
        .iter()
        .position(|a| a == "-d" || a == "--files-dir")
        .and_then(|i| args.get(i + 1))
        .map(|d| DirFiles(dir.join(d)));
    let options = TranslateOptions {
        files_dir: files.as_ref().map(|f| f as &dyn FileSource),
        ..TranslateOptions::default()
    };
    let result = translate(&input, &options);
    let expected = std::fs::read_to_string(dir.join(format!("{case}.ign"))).ok();
    let fail = |why: String| CaseOutcome::Failed(why);
    if let Some(expected) = expected {
        return match result {
            Err(e) => fail(format!(
                "failed, expected success: {e}\n{}",
                e.report.render_raw()
            )),
            Ok(t) if !t.report.is_empty() => fail(format!(
                "warnings under --strict:\n{}",
                t.report.render_raw()
            )),
            Ok(t) => match compare(&t.to_json(true), &expected) {
                None => CaseOutcome::Passed,
                Some(d) => fail(d),
            },
        };
    }
    let stderr = match &result {
        Ok(t) if t.report.is_empty() => return fail("succeeded, expected a failure".to_owned()),
        Ok(t) => format!(
            "{}Config produced warnings and --strict was specified",
            t.report.render_raw()
        ),
        Err(e) => format!("{}Error translating config: {e}", e.report.render_raw()),
    };
    let raw = std::fs::read_to_string(dir.join(format!("{case}.raw.err"))).unwrap_or_default();
    let wanted = named_lines(&raw);
    let ours = named_lines(&stderr);
    if let Some(missing) = wanted.iter().find(|l| !ours.contains(l)) {
        return fail(format!(
            "does not name line {missing} (reference {wanted:?}):\n{stderr}"
        ));
    }
    // The reference's own first line (message) should appear too, at least for raw reports.
    if let Ok(nonstrict) = std::fs::read_to_string(dir.join(format!("{case}.nonstrict.ign"))) {
        return match result {
            Ok(t) => match compare(&t.to_json(true), &nonstrict) {
                None => CaseOutcome::Passed,
                Some(d) => fail(format!("without --strict: {d}")),
            },
            Err(e) => fail(format!("without --strict: failed: {e}")),
        };
    }
    CaseOutcome::Passed
}
