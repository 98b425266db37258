//! Every Butane snippet of a fleet translated once, with each translation warning located in its
//! file, so that rendering a node only merges.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};

use super::{RenderError, RenderWarning};
use crate::ignition::Config;
use crate::{FileSource, TranslateOptions};

/// Every Butane snippet of a fleet, translated once.
#[derive(Debug, Clone, Default)]
pub struct SnippetLibrary {
    translated: BTreeMap<PathBuf, Config>,
    /// Warnings from translation, by snippet, already formatted with file, line and column.
    warnings: Vec<RenderWarning>,
}

impl SnippetLibrary {
    /// Translate every snippet in `snippets` (path → Butane text, as `fleet_spec::LoadedFleet`
    /// holds them). `files` resolves Butane `local` paths: the fleet file's directory.
    /// Every failing snippet is reported, not just the first.
    pub fn translate(
        snippets: &BTreeMap<PathBuf, String>,
        files: Option<&dyn FileSource>,
    ) -> Result<SnippetLibrary, Vec<RenderError>> {
        let options = TranslateOptions {
            files_dir: files,
            ..TranslateOptions::default()
        };
        let mut library = SnippetLibrary::default();
        let mut errors = Vec::new();
        for (path, text) in snippets {
            // Named as the user reaches the file (beside the fleet file), not relative to it.
            let name = files.map_or_else(
                || path.display().to_string(),
                |files| files.display_path(path),
            );
            match crate::translate(text.as_bytes(), &options) {
                Ok(translation) => {
                    for entry in &translation.report.entries {
                        library.warnings.push(RenderWarning {
                            at: None,
                            node: None,
                            message: located_entry(&name, entry),
                        });
                    }
                    library.translated.insert(path.clone(), translation.config);
                }
                Err(error) => {
                    let mut details: Vec<String> = error
                        .report
                        .entries
                        .iter()
                        .map(|entry| located_entry(&name, entry))
                        .collect();
                    if let (Some(position), true) = (error.position, details.is_empty()) {
                        details.push(format!(
                            "{name}:{}:{}: error: {}",
                            position.line, position.column, error.kind
                        ));
                    }
                    errors.push(RenderError::Snippet {
                        path: name,
                        reason: error.kind.to_string(),
                        details: details.iter().map(|line| format!("\n  {line}")).collect(),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(library)
        } else {
            Err(errors)
        }
    }

    /// Warnings from translating the snippets (unused keys, decimal modes, ...).
    pub fn warnings(&self) -> &[RenderWarning] {
        &self.warnings
    }

    pub(super) fn get(&self, path: &FsPath) -> Result<&Config, RenderError> {
        self.translated
            .get(path)
            .ok_or_else(|| RenderError::SnippetMissing {
                path: path.display().to_string(),
            })
    }
}

/// `butane/web.bu:12:5: warning: unused key colour`
fn located_entry(file: &str, entry: &crate::Entry) -> String {
    let severity = entry.severity;
    let at = if entry.path.is_root() {
        String::new()
    } else {
        format!(" (at {})", entry.path)
    };
    match entry.position {
        Some(position) => format!(
            "{file}:{}:{}: {severity}: {}{at}",
            position.line, position.column, entry.message
        ),
        None => format!("{file}: {severity}: {}{at}", entry.message),
    }
}
