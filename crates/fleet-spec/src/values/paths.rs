//! Paths the fleet file names: files that travel with it (confined to its directory) and images anywhere.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

string_value!(
    /// A path relative to the fleet file's directory that stays inside it (snippets, key files).
    RelativeFile(PathBuf),
    schema "RelativePath" { "type": "string", "minLength": 1 },
    parse check_relative_path
);

/// The longest path Linux opens (PATH_MAX, with its final NUL): a longer one names no file.
const LONGEST_PATH: usize = 4095;

/// A path any file can have: not empty, and not longer than Linux allows.
fn check_path_length(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if text.len() > LONGEST_PATH {
        return Err(format!(
            "`{}` is {} bytes long; Linux opens no path longer than {LONGEST_PATH} bytes",
            shown(text),
            text.len()
        ));
    }
    Ok(())
}

/// Snippets and key files travel with the fleet file: they must be relative and stay inside its directory.
fn check_relative_path(text: &str) -> Result<PathBuf, String> {
    check_path_length(text)?;
    let path = Path::new(text);
    if path.is_absolute() || text.starts_with('/') {
        return Err(format!(
            "`{text_shown}` is absolute; write it relative to the fleet file's directory",
            text_shown = shown(text)
        ));
    }
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "`{text_shown}` leaves the fleet file's directory; keep snippets and keys beside the fleet file",
                        text_shown = shown(text)
                    ));
                }
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "`{text_shown}` is absolute; write it relative to the fleet file's directory",
                    text_shown = shown(text)
                ));
            }
        }
    }
    Ok(path.to_path_buf())
}

string_value!(
    /// A path that may be absolute or relative to the fleet file's directory (images, kernels).
    AnyPath(PathBuf),
    schema "Path" { "type": "string", "minLength": 1 },
    parse |text: &str| check_path_length(text).map(|()| PathBuf::from(text))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_fleet_directory() {
        assert!(check_relative_path("butane/web.bu").is_ok());
        assert!(check_relative_path("a/../b.bu").is_ok());
        assert!(check_relative_path("../b.bu").is_err());
        assert!(check_relative_path("a/../../b.bu").is_err());
        assert!(check_relative_path("/etc/passwd").is_err());
        assert!(check_relative_path("").is_err());
        let long = "a/".repeat(2048);
        let problem = check_relative_path(&long).expect_err("longer than PATH_MAX");
        assert!(
            problem.ends_with("is 4096 bytes long; Linux opens no path longer than 4095 bytes"),
            "{problem}"
        );
        assert!(problem.len() < 300, "{problem}");
    }
}
