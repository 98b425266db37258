//! Per-node Ignition: the fleet's, group's and node's Butane snippets merged in that order, then
//! what fleet gives the node laid over them: what the renderer generates from the fleet file
//! (hostname, time zone, network keyfile, users, kernel arguments; `generated`) and the payload the
//! CLI assembles from the plan (Zincati fragments), both one [`NodePayload`] type, placed as Ignition
//! by one module (`placement`).
//!
//! Precedence (`precedence`): a path fleet writes replaces any file, directory or link a snippet
//! writes at the same path, and a unit's contents or drop-in fleet writes replace a snippet's of the
//! same name, each with a warning naming both. Users are merged by name with Ignition's merge rules,
//! the fleet file's fields winning. The output is written for one spec version.
//!
//! Snippets are translated once for the whole fleet ([`SnippetLibrary::translate`]); rendering a
//! node ([`render_node`]) only merges, generates and serialises, so thousands of nodes are cheap.

mod generated;
mod payload;
mod placement;
mod precedence;
mod snippets;
mod to_butane;

use std::fmt;

use fleet_spec::{Fleet, Location, Node};

use crate::ignition::{self, Config, JsonOptions};
use crate::ini::IniError;
use crate::{ButaneVersion, IgnitionVersion, Report, Severity};

pub use generated::{
    HEALTH_CHECK_FILE, HEALTH_CHECK_SCRIPT, HEALTH_COMMON_SCRIPT, HEALTH_DIRECTORY, HEALTH_SERVICE,
    HOSTNAME_PATH, ROLLBACK_SCRIPT, ROLLBACK_SERVICE, ROOTFUL_QUADLET_DIRECTORY,
    STATIC_KEYFILE_PATH, TIME_ZONE_PATH, ZINCATI_HEALTH_DROPIN, updates_without_health_check,
};
pub use payload::{
    ClaimedDirectory, NodePayload, Owner, PayloadDirectory, PayloadFile, PayloadLink, PayloadUnit,
    UnitDropin, UnitScope,
};
pub use snippets::SnippetLibrary;
pub use to_butane::to_butane;

/// A problem that does not stop rendering, worth showing to the user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RenderWarning {
    /// Where in the fleet file it points (the table or entry it is about), or `None` for a
    /// snippet's own translation warning, whose message is located in the snippet already.
    pub at: Option<Location>,
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
    /// A snippet writes a quadlet at the path of one fleet writes for a container (or a declared
    /// pod, volume or network) of fleet.toml: both would define the same service.
    #[error(
        "node {node}: butane snippet {snippet} writes {path}, the quadlet fleet writes for a container, pod, volume or network of fleet.toml; rename the snippet's quadlet or remove its namesake from fleet.toml"
    )]
    QuadletClash {
        node: String,
        snippet: String,
        path: String,
    },
    /// A file the renderer generates could not be written as its reader reads it.
    #[error("node {node}: cannot write {path}: {problem}")]
    Generated {
        node: String,
        path: String,
        problem: Box<IniError>,
    },
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

/// Compose a node's config: its snippets in order, merged, with what fleet gives it laid over:
/// what the fleet file generates, then `payload`. `version` decides how contents are encoded
/// (spec 3.0.0 takes only percent-encoding).
pub fn compose_node(
    fleet: &Fleet,
    node: &Node,
    snippets: &SnippetLibrary,
    payload: &NodePayload,
    version: IgnitionVersion,
) -> Result<ComposedNode, RenderError> {
    let generated = generated::generate(fleet, node)?;
    let mut laid_over = placement::place(&[&generated.payload, payload], version);
    laid_over.passwd.users = generated.users;
    laid_over.kernel_arguments = generated.kernel_arguments;
    let precedence =
        precedence::Precedence::new(&laid_over, [&generated.payload, payload].into_iter());

    let mut warnings: Vec<RenderWarning> = generated::updates_without_health_check(&node.settings)
        .map(|container| RenderWarning {
            at: Some(container.declared_at.table),
            node: Some(node.name.clone()),
            message: format!(
                "container `{}` has auto_update = \"{}\" but no health check: podman auto-update rolls back only an update whose service fails to start, and without `health` a container that starts but does not work counts as started; add `health = {{ command = \"...\" }}`",
                container.name,
                container.auto_update.as_str()
            ),
        })
        .collect();
    let mut merged = Config::default();
    for snippet in &node.settings.butane {
        let translated = snippets.get(&snippet.path)?;
        check_quadlet_clash(&node.name, &snippet.path, translated, &generated.payload)?;
        precedence.warn(&node.name, snippet, translated, &mut warnings);
        merged = if merged == Config::default() {
            translated.clone()
        } else {
            ignition::merge(&merged, translated)
        };
    }
    precedence.remove_replaced(&mut merged);
    let config = ignition::merge(&merged, &laid_over);
    warnings.sort();
    warnings.dedup();
    Ok(ComposedNode { config, warnings })
}

/// Render a node's Ignition for `version`, validated by Ignition's own rules.
pub fn render_node(
    fleet: &Fleet,
    node: &Node,
    snippets: &SnippetLibrary,
    payload: &NodePayload,
    version: IgnitionVersion,
) -> Result<RenderedNode, RenderError> {
    let composed = compose_node(fleet, node, snippets, payload, version)?;
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

/// Snippets may carry quadlets of their own beside fleet's, but not at the same path.
fn check_quadlet_clash(
    node: &str,
    snippet: &std::path::Path,
    translated: &Config,
    generated: &NodePayload,
) -> Result<(), RenderError> {
    let quadlets = generated
        .files
        .iter()
        .filter(|file| file.path.starts_with(generated::ROOTFUL_QUADLET_DIRECTORY));
    for quadlet in quadlets {
        if translated
            .storage
            .files
            .iter()
            .any(|file| file.node.path == quadlet.path)
        {
            return Err(RenderError::QuadletClash {
                node: node.to_owned(),
                snippet: snippet.display().to_string(),
                path: quadlet.path.clone(),
            });
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests;
