//! The loader: everything `parse` does, plus the checks that need the files a fleet names (Butane snippets,
//! SSH key files), read through a `FileSource` so that this crate still does no I/O of its own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Diagnostics, LineIndex};
use crate::files::{FileError, FileSource, ReadLimit};
use crate::model::{Fleet, Location, NodeSettings};
use crate::validate::analyze;
use crate::values::check_ssh_public_key;

/// A valid fleet with the files it names already read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFleet {
    /// The fleet; every user's keys from `ssh_key_files` are already appended to `ssh_authorized_keys`
    /// (and `ssh_key_files` is empty).
    pub fleet: Fleet,
    /// Every Butane snippet the fleet names, keyed by `SnippetRef::path`, read once for all nodes.
    pub snippets: BTreeMap<PathBuf, String>,
}

/// Parse, validate and expand a fleet file and read what it names.
///
/// `source_name` names the fleet file in messages (e.g. `fleet/fleet.toml`); `files` reads paths relative to
/// the fleet file's directory. Reports every problem, in the fleet file and in the files it names.
pub fn load(
    source_name: &str,
    bytes: &[u8],
    files: &dyn FileSource,
) -> Result<LoadedFleet, Diagnostics> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            return Err(Diagnostics::from_unsorted(vec![not_utf8(
                source_name,
                bytes,
                &error,
                "the fleet file",
            )]));
        }
    };
    let analysis = analyze(source_name, text);
    let mut diagnostics = analysis.diagnostics;

    let mut snippets = BTreeMap::new();
    for (path, declarations) in group_declarations(&analysis.files.snippets) {
        match read_text(
            files,
            source_name,
            &path,
            "butane snippet",
            ReadLimit::BUTANE_CONFIG,
        ) {
            Ok(text) => {
                snippets.insert(path, text);
            }
            Err(message) => diagnostics.extend(declarations.iter().map(|&location| Diagnostic {
                file: source_name.to_owned(),
                location,
                message: message.clone(),
            })),
        }
    }

    let mut keys_by_file: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for (path, declarations) in group_declarations(&analysis.files.key_files) {
        match read_text(
            files,
            source_name,
            &path,
            "SSH key file",
            ReadLimit::SSH_KEY_FILE,
        ) {
            Ok(text) => {
                let display = display_path(source_name, &path);
                let mut keys = Vec::new();
                let mut malformed = false;
                for (line_number, line) in text.lines().enumerate() {
                    let trimmed = line.trim();
                    if trimmed.is_empty() || trimmed.starts_with('#') {
                        continue;
                    }
                    match check_ssh_public_key(trimmed) {
                        Ok(()) => keys.push(trimmed.to_owned()),
                        Err(problem) => {
                            malformed = true;
                            diagnostics.push(Diagnostic {
                                file: display.clone(),
                                location: Location {
                                    line: u32::try_from(line_number + 1).unwrap_or(u32::MAX),
                                    column: 1,
                                },
                                message: format!(
                                    "{problem} (named by {source_name} as `{}`)",
                                    path.display()
                                ),
                            });
                        }
                    }
                }
                if keys.is_empty() && !malformed {
                    diagnostics.extend(declarations.iter().map(|&location| Diagnostic {
                        file: source_name.to_owned(),
                        location,
                        message: format!("SSH key file `{}` contains no key", path.display()),
                    }));
                }
                keys_by_file.insert(path, keys);
            }
            Err(message) => diagnostics.extend(declarations.iter().map(|&location| Diagnostic {
                file: source_name.to_owned(),
                location,
                message: message.clone(),
            })),
        }
    }

    match analysis.fleet {
        Some(mut fleet) if diagnostics.is_empty() => {
            inline_key_files(&mut fleet, &keys_by_file);
            Ok(LoadedFleet { fleet, snippets })
        }
        _ => Err(Diagnostics::from_unsorted(diagnostics)),
    }
}

/// Each distinct path once, in first-declared order, with every place that names it.
fn group_declarations(declarations: &[(PathBuf, Location)]) -> Vec<(PathBuf, Vec<Location>)> {
    let mut grouped: Vec<(PathBuf, Vec<Location>)> = Vec::new();
    let mut positions: HashMap<&Path, usize> = HashMap::new();
    for (path, location) in declarations {
        match positions.get(path.as_path()) {
            Some(&position) => grouped[position].1.push(*location),
            None => {
                positions.insert(path, grouped.len());
                grouped.push((path.clone(), vec![*location]));
            }
        }
    }
    grouped
}

/// A file named by the fleet, relative to the fleet file's directory, for messages.
fn display_path(source_name: &str, path: &Path) -> String {
    match Path::new(source_name).parent() {
        Some(directory) if !directory.as_os_str().is_empty() => {
            directory.join(path).display().to_string()
        }
        _ => path.display().to_string(),
    }
}

fn read_text(
    files: &dyn FileSource,
    source_name: &str,
    path: &Path,
    kind: &str,
    limit: ReadLimit,
) -> Result<String, String> {
    let shown = display_path(source_name, path);
    // Where the file was looked for, when that is not the path as the fleet file writes it.
    let looked_at = if Path::new(&shown) == path {
        String::new()
    } else {
        format!(" ({shown})")
    };
    let bytes = files.read(path, limit).map_err(|error| match error {
        error if error.is_not_found() && looked_at.is_empty() => {
            format!("{kind} `{}` does not exist", path.display())
        }
        error if error.is_not_found() => format!(
            "{kind} `{}` does not exist (looked for {shown})",
            path.display()
        ),
        FileError::Io(error) => format!(
            "{kind} `{}` cannot be read ({shown}): {error}",
            path.display()
        ),
        FileError::NotRegular { .. } => format!(
            "{kind} `{}`{looked_at} {error}; name a regular file",
            path.display()
        ),
        refused @ (FileError::TooLarge { .. } | FileError::OutsideDirectory { .. }) => {
            format!("{kind} `{}`{looked_at} {refused}", path.display())
        }
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let (_, problem) = first_bad_byte(error.as_bytes(), &error.utf8_error());
        format!("{kind} `{}` is not UTF-8 text: {problem}", path.display())
    })
}

fn not_utf8(file: &str, bytes: &[u8], error: &std::str::Utf8Error, what: &str) -> Diagnostic {
    let (location, problem) = first_bad_byte(bytes, error);
    Diagnostic {
        file: file.to_owned(),
        location,
        message: format!("{what} is not UTF-8 text: {problem}; save it as UTF-8"),
    }
}

/// Where the first byte that is not UTF-8 is, and a sentence naming it.
fn first_bad_byte(bytes: &[u8], error: &std::str::Utf8Error) -> (Location, String) {
    let valid_up_to = error.valid_up_to();
    let prefix = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or("");
    let location = LineIndex::new(prefix).location(valid_up_to);
    let problem = format!(
        "the byte 0x{:02x} at line {}, column {} is not valid UTF-8",
        bytes.get(valid_up_to).copied().unwrap_or(0),
        location.line,
        location.column
    );
    (location, problem)
}

/// Append each user's keys from files after its inline keys; nodes that shared settings still share them.
fn inline_key_files(fleet: &mut Fleet, keys_by_file: &HashMap<PathBuf, Vec<String>>) {
    // Keyed by address; the original is kept in the map so that its address cannot be reused meanwhile.
    let mut replaced: HashMap<*const NodeSettings, (Arc<NodeSettings>, Arc<NodeSettings>)> =
        HashMap::new();
    for node in &mut fleet.nodes {
        if !node
            .settings
            .users
            .iter()
            .any(|user| !user.ssh_key_files.is_empty())
        {
            continue;
        }
        let key = Arc::as_ptr(&node.settings);
        let (_, updated) = replaced.entry(key).or_insert_with(|| {
            let mut settings = NodeSettings::clone(&node.settings);
            for user in &mut settings.users {
                for file in std::mem::take(&mut user.ssh_key_files) {
                    if let Some(keys) = keys_by_file.get(&file.path) {
                        user.ssh_authorized_keys.extend(keys.iter().cloned());
                    }
                }
            }
            (Arc::clone(&node.settings), Arc::new(settings))
        });
        node.settings = Arc::clone(updated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::MemoryFiles;

    const KEY_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw a@example.com";
    const KEY_B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw b@example.com";

    fn fleet_text() -> String {
        format!(
            r#"[fleet]
name = "t"
[fleet.image]
path = "fcos.qcow2"
[defaults]
butane = ["butane/base.bu"]
[[defaults.users]]
name = "core"
ssh_authorized_keys = ["{KEY_A}"]
ssh_key_files = ["keys/ops.pub"]
[[maintenance.period]]
days = ["Sat"]
start = "02:00"
length_minutes = 120
[[group]]
name = "g"
count = 3
[[group.node]]
name = "g-3"
vcpus = 4
"#
        )
    }

    fn files() -> MemoryFiles {
        let mut files = MemoryFiles::new();
        files
            .insert("butane/base.bu", "variant: fcos\nversion: 1.5.0\n")
            .insert("keys/ops.pub", format!("# ops\n\n{KEY_B}\n"));
        files
    }

    #[test]
    fn key_files_are_appended_after_inline_keys_and_snippets_read_once() {
        let loaded = match load("dir/fleet.toml", fleet_text().as_bytes(), &files()) {
            Ok(loaded) => loaded,
            Err(diagnostics) => panic!("{diagnostics}"),
        };
        for node in &loaded.fleet.nodes {
            let core = &node.settings.users[0];
            assert_eq!(core.ssh_authorized_keys, [KEY_A, KEY_B]);
            assert!(core.ssh_key_files.is_empty());
        }
        // Nodes that shared settings before still share them.
        let nodes = &loaded.fleet.nodes;
        assert!(Arc::ptr_eq(&nodes[0].settings, &nodes[1].settings));
        assert!(!Arc::ptr_eq(&nodes[0].settings, &nodes[2].settings));
        assert_eq!(
            loaded
                .snippets
                .get(Path::new("butane/base.bu"))
                .map(String::as_str),
            Some("variant: fcos\nversion: 1.5.0\n")
        );
        assert_eq!(loaded.snippets.len(), 1);
    }

    #[test]
    fn missing_and_broken_files_are_reported_where_they_are_named() {
        let mut files = MemoryFiles::new();
        files
            .insert("butane/base.bu", vec![0x66, 0xff, 0x0a])
            .insert("keys/ops.pub", "ssh-ed25519 AAAA broken\n");
        let diagnostics =
            load("dir/fleet.toml", fleet_text().as_bytes(), &files).expect_err("broken files");
        assert_eq!(
            diagnostics.to_string(),
            "dir/fleet.toml:6:11: error: butane snippet `butane/base.bu` is not UTF-8 text: the byte 0xff at line 1, column 2 is not valid UTF-8\n\
             dir/keys/ops.pub:1:1: error: not a valid SSH public key (invalid key format) (named by dir/fleet.toml as `keys/ops.pub`)"
        );
        let diagnostics =
            load("fleet.toml", fleet_text().as_bytes(), &MemoryFiles::new()).expect_err("no files");
        assert_eq!(
            diagnostics.to_string(),
            "fleet.toml:6:11: error: butane snippet `butane/base.bu` does not exist\n\
             fleet.toml:10:18: error: SSH key file `keys/ops.pub` does not exist"
        );
    }

    #[test]
    fn files_that_are_too_large_or_not_files_are_refused_where_they_are_named() {
        let mut files = MemoryFiles::new();
        files
            .insert("butane/base.bu/inner", "a directory, not a snippet")
            .insert(
                "keys/ops.pub",
                format!("{KEY_B}\n").repeat(1024 * 1024 / KEY_B.len() + 1),
            );
        let diagnostics =
            load("dir/fleet.toml", fleet_text().as_bytes(), &files).expect_err("refused files");
        assert_eq!(
            diagnostics.to_string(),
            "dir/fleet.toml:6:11: error: butane snippet `butane/base.bu` (dir/butane/base.bu) is a directory, not a regular file; name a regular file\n\
             dir/fleet.toml:10:18: error: SSH key file `keys/ops.pub` (dir/keys/ops.pub) is larger than 1 MiB, the limit for an SSH key file"
        );
    }

    #[test]
    fn a_fleet_file_that_is_not_utf8_names_the_first_bad_byte() {
        let diagnostics = load(
            "f.toml",
            b"[fleet]\nname = \"a\xc3(\"\n",
            &MemoryFiles::new(),
        )
        .expect_err("not UTF-8");
        assert_eq!(
            diagnostics.to_string(),
            "f.toml:2:10: error: the fleet file is not UTF-8 text: the byte 0xc3 at line 2, column 10 is not valid UTF-8; save it as UTF-8"
        );
    }
}
