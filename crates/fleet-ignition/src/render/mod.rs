//! Per-node Ignition: the fleet's, group's and node's Butane snippets merged in that order, then
//! what the fleet file generates for the node (hostname, time zone, network keyfile, users,
//! kernel arguments, Zincati fragments) laid over them.
//!
//! Precedence: a path the fleet file generates replaces any file, directory or link a snippet
//! writes at the same path, with a warning naming both. Users are merged by name with Ignition's
//! merge rules, the fleet file's fields winning. The output is written for one spec version.
//!
//! Snippets are translated once for the whole fleet ([`SnippetLibrary::translate`]); rendering a
//! node ([`render_node`]) only merges, generates and serialises, so thousands of nodes are cheap.

mod generated;
mod to_butane;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path as FsPath, PathBuf};

use fleet_spec::{Fleet, Node};

use crate::ignition::{self, Config, JsonOptions};
use crate::{ButaneVersion, FileSource, IgnitionVersion, Report, Severity, TranslateOptions};

pub use generated::{HOSTNAME_PATH, STATIC_KEYFILE_PATH, TIME_ZONE_PATH, ZINCATI_FRAGMENT_DIR};
pub use to_butane::to_butane;

/// A Zincati configuration fragment to install under `/etc/zincati/config.d/` (the planner
/// makes them; the renderer only places them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZincatiFragmentFile {
    /// E.g. `51-rollout-wariness.toml`.
    pub file_name: String,
    pub contents: String,
}

/// Every Butane snippet of a fleet, translated once.
#[derive(Debug, Clone, Default)]
pub struct SnippetLibrary {
    translated: BTreeMap<PathBuf, Config>,
    /// Warnings from translation, by snippet, already formatted with file, line and column.
    warnings: Vec<RenderWarning>,
}

/// A problem that does not stop rendering, worth showing to the user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RenderWarning {
    /// The node the warning is about, or `None` for a snippet's own translation warning.
    pub node: Option<String>,
    pub message: String,
}

impl fmt::Display for RenderWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node {node}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a node (or a snippet) could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A snippet failed to translate; `details` names the file, line and column of each problem,
    /// one per line, each starting with a newline.
    #[error("butane snippet {path}: {reason}{details}")]
    Snippet {
        path: String,
        reason: String,
        details: String,
    },
    /// The fleet names a snippet the library does not hold (the loader reads every one).
    #[error("butane snippet {path} was not loaded")]
    SnippetMissing { path: String },
    #[error(
        "fleet {fleet}: ignition_version {version:?} is not a spec this translator writes; use 3.0.0 to 3.6.0"
    )]
    UnknownVersion { fleet: String, version: String },
    /// The composed config uses fields the fleet's spec version lacks.
    #[error("node {node}: {source}")]
    UnsupportedFields {
        node: String,
        source: ignition::UnsupportedFields,
    },
    /// Ignition's own validation failed on the composed config (e.g. two snippets write the
    /// same unit differently is fine, but a relative path is not).
    #[error("node {node}: the composed Ignition config is invalid:\n{details}")]
    Invalid { node: String, details: String },
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

    fn get(&self, path: &FsPath) -> Result<&Config, RenderError> {
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

/// The spec version a fleet's nodes are written for: its `ignition_version`, or the newest
/// stable spec.
pub fn target_version(fleet: &Fleet) -> Result<IgnitionVersion, RenderError> {
    match &fleet.ignition_version {
        None => Ok(IgnitionVersion::LATEST_STABLE),
        Some(version) => version.parse().map_err(|_| RenderError::UnknownVersion {
            fleet: fleet.name.clone(),
            version: version.clone(),
        }),
    }
}

/// The Butane version whose output is `version` (the newest, when several map to it).
pub fn butane_version_for(version: IgnitionVersion) -> ButaneVersion {
    ButaneVersion::ALL
        .into_iter()
        .rev()
        .find(|butane| butane.ignition_version() == version)
        .unwrap_or(ButaneVersion::V1_0)
}

/// One node's composed config, before serialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedNode {
    pub config: Config,
    pub warnings: Vec<RenderWarning>,
}

/// A node's Ignition, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedNode {
    /// Compact JSON with a final newline, exactly as `butane` writes it.
    pub json: String,
    pub warnings: Vec<RenderWarning>,
}

/// Compose a node's config: its snippets in order, merged, with the generated parts laid over.
/// `version` decides how generated contents are encoded (spec 3.0.0 takes only percent-encoding).
pub fn compose_node(
    fleet: &Fleet,
    node: &Node,
    snippets: &SnippetLibrary,
    zincati_fragments: &[ZincatiFragmentFile],
    version: IgnitionVersion,
) -> Result<ComposedNode, RenderError> {
    let mut warnings = Vec::new();
    let generated = generated::generate(fleet, node, zincati_fragments, version);
    let generated_paths: BTreeSet<&str> = generated_node_paths(&generated).collect();

    let mut merged = Config::default();
    for snippet in &node.settings.butane {
        let translated = snippets.get(&snippet.path)?;
        let snippet_name = snippet.path.display();
        for path in generated_node_paths(translated).filter(|path| generated_paths.contains(path)) {
            warnings.push(RenderWarning {
                node: Some(node.name.clone()),
                message: format!(
                    "{path} from {snippet_name} is replaced by what {} generates for this node",
                    "fleet.toml"
                ),
            });
        }
        for file in &translated.storage.files {
            let path = file.node.path.as_str();
            if path.starts_with(ZINCATI_FRAGMENT_DIR) && !generated_paths.contains(path) {
                warnings.push(RenderWarning {
                    node: Some(node.name.clone()),
                    message: format!(
                        "{snippet_name} writes the Zincati fragment {path}, which the rollout plan does not \
                         account for: windows or a strategy set there break the max-unavailable bound; \
                         set the policy in fleet.toml [maintenance] instead"
                    ),
                });
            }
        }
        merged = if merged == Config::default() {
            translated.clone()
        } else {
            ignition::merge(&merged, translated)
        };
    }
    remove_paths(&mut merged, &generated_paths);
    let config = ignition::merge(&merged, &generated);
    warnings.sort();
    warnings.dedup();
    Ok(ComposedNode { config, warnings })
}

/// Render a node's Ignition for `version`, validated by Ignition's own rules.
pub fn render_node(
    fleet: &Fleet,
    node: &Node,
    snippets: &SnippetLibrary,
    zincati_fragments: &[ZincatiFragmentFile],
    version: IgnitionVersion,
) -> Result<RenderedNode, RenderError> {
    let composed = compose_node(fleet, node, snippets, zincati_fragments, version)?;
    let report = ignition::validate(&composed.config, version);
    check_report(&node.name, &report)?;
    let json = ignition::to_json(&composed.config, version, JsonOptions { pretty: false })
        .map_err(|source| RenderError::UnsupportedFields {
            node: node.name.clone(),
            source,
        })?;
    Ok(RenderedNode {
        json,
        warnings: composed.warnings,
    })
}

fn check_report(node: &str, report: &Report) -> Result<(), RenderError> {
    if !report.is_fatal() {
        return Ok(());
    }
    let details = report
        .entries
        .iter()
        .filter(|entry| entry.severity == Severity::Error)
        .map(|entry| format!("  {entry}"))
        .collect::<Vec<_>>()
        .join("\n");
    Err(RenderError::Invalid {
        node: node.to_owned(),
        details,
    })
}

/// The paths of every file, directory and link of a config (one key space in Ignition).
fn generated_node_paths(config: &Config) -> impl Iterator<Item = &str> {
    let storage = &config.storage;
    storage
        .files
        .iter()
        .map(|file| file.node.path.as_str())
        .chain(
            storage
                .directories
                .iter()
                .map(|directory| directory.node.path.as_str()),
        )
        .chain(storage.links.iter().map(|link| link.node.path.as_str()))
}

fn remove_paths(config: &mut Config, paths: &BTreeSet<&str>) {
    let storage = &mut config.storage;
    storage
        .files
        .retain(|file| !paths.contains(file.node.path.as_str()));
    storage
        .directories
        .retain(|directory| !paths.contains(directory.node.path.as_str()));
    storage
        .links
        .retain(|link| !paths.contains(link.node.path.as_str()));
}

#[cfg(test)]
mod tests;
