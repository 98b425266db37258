//! From a fleet file to what every node should receive: load, plan, then render each node's
//! Ignition in parallel. `plan`, `render`, `deploy` and `status` all go through here, so they agree.
//!
//! What nodes receive depends on the fleet file alone; only `fleet plan` also predicts a rollout
//! (`RolloutArgs`), from the plan, and the prediction never flows back into it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use fleet_ignition::IgnitionVersion;
use fleet_ignition::render::{self, RenderWarning, SnippetLibrary, ZincatiFragmentFile};
use fleet_plan::{Plan, PredictOptions, Rollout};
use fleet_spec::LoadedFleet;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::fleet_file::{LocalFiles, load_fleet};

/// The rollout `fleet plan` predicts reboots for. It changes predictions only, never what nodes receive.
#[derive(Debug, Clone, clap::Args)]
pub struct RolloutArgs {
    /// When the rollout starts (RFC 3339). Default: the next Tuesday 14:00 UTC after --now. The
    /// predicted rollout must end by 9999-12-31, the last day RFC 3339 can write.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub rollout_start: Option<DateTime<Utc>>,

    /// How long the rollout takes to reach every node, e.g. 48h, 90m, 2d, 1d12h.
    #[arg(long, value_name = "DURATION", default_value = "48h", value_parser = parse_minutes, allow_hyphen_values = true)]
    pub rollout_duration: u32,

    /// The share of nodes (0.0..=1.0) offered the release as soon as the rollout starts.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fraction, allow_negative_numbers = true)]
    pub rollout_start_fraction: f64,

    /// Time from a node seeing a release to having it staged (Zincati's poll plus the download), for
    /// predictions; the plan itself assumes 15 minutes.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_minutes, allow_hyphen_values = true)]
    pub staging_allowance: u32,

    /// Predict as if it were this moment (RFC 3339) instead of now; it only chooses the default rollout.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
}

impl RolloutArgs {
    /// The prediction's options; the clock is read here, and only when no start is given.
    pub fn predict_options(&self) -> PredictOptions {
        let rollout = match self.rollout_start {
            Some(start) => Rollout {
                start,
                duration_minutes: self.rollout_duration,
                start_fraction: self.rollout_start_fraction,
            },
            None => Rollout {
                duration_minutes: self.rollout_duration,
                start_fraction: self.rollout_start_fraction,
                ..Rollout::typical_after(self.now.unwrap_or_else(Utc::now))
            },
        };
        PredictOptions {
            rollout,
            staging_allowance_minutes: self.staging_allowance,
        }
    }
}

/// A loaded fleet with its plan (what every node receives).
#[derive(Debug)]
pub struct PlannedFleet {
    pub path: PathBuf,
    pub loaded: LoadedFleet,
    pub files: LocalFiles,
    pub plan: Plan,
}

/// Load and plan the fleet at `path`; problems are printed with their locations. The plan depends on
/// the fleet file alone: no clock, no rollout.
pub fn plan_fleet(path: &Path) -> anyhow::Result<PlannedFleet> {
    let loaded = load_fleet(path)?;
    let plan = fleet_plan::plan(&loaded.fleet).map_err(|error| {
        anyhow::anyhow!(
            "cannot plan {}:\n{}",
            path.display(),
            error
                .problems()
                .iter()
                .map(|problem| format!("  {problem}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    Ok(PlannedFleet {
        path: path.to_path_buf(),
        files: LocalFiles::beside(path),
        loaded,
        plan,
    })
}

/// One node's rendered Ignition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIgnition {
    pub name: String,
    pub json: String,
    /// Hex SHA-256 of `json`, as the manifest and libvirt metadata record it.
    pub sha256: String,
}

/// Every selected node's Ignition, in fleet order.
#[derive(Debug)]
pub struct RenderedFleet {
    pub version: IgnitionVersion,
    pub nodes: Vec<NodeIgnition>,
}

/// Which nodes to render.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    All,
    Named(&'a [String]),
}

/// Render the selected nodes in parallel. Warnings are printed once each on stderr (a warning
/// shared by many nodes is printed once with their count); errors name the node, the snippet and
/// the line, and every failing node is reported.
pub fn render_fleet(
    planned: &PlannedFleet,
    selection: Selection<'_>,
    on_node_done: &(dyn Fn() + Sync),
) -> anyhow::Result<RenderedFleet> {
    let fleet = &planned.loaded.fleet;
    let version = render::target_version(fleet)?;
    let snippets = SnippetLibrary::translate(&planned.loaded.snippets, Some(&planned.files))
        .map_err(|errors| {
            anyhow::anyhow!(
                "{}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
    let plans: BTreeMap<&str, &fleet_plan::NodePlan> = planned
        .plan
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node))
        .collect();
    let selected: Vec<&fleet_spec::Node> = match selection {
        Selection::All => fleet.nodes.iter().collect(),
        Selection::Named(names) => names
            .iter()
            .map(|name| {
                fleet.node(name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no node named {name:?} in {}; `fleet nodes` lists them",
                        planned.path.display()
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };

    let results: Vec<Result<(NodeIgnition, Vec<RenderWarning>), String>> = selected
        .par_iter()
        .map(|node| {
            let result = render_one(fleet, node, &plans, &snippets, version);
            on_node_done();
            result
        })
        .collect();

    let mut nodes = Vec::with_capacity(results.len());
    let mut warnings: Vec<RenderWarning> = snippets.warnings().to_vec();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok((node, node_warnings)) => {
                nodes.push(node);
                warnings.extend(node_warnings);
            }
            Err(error) => errors.push(error),
        }
    }
    print_warnings(&warnings);
    if !errors.is_empty() {
        anyhow::bail!(
            "{}\n{} of {} nodes could not be rendered; nothing was written",
            errors.join("\n"),
            errors.len(),
            selected.len()
        );
    }
    Ok(RenderedFleet { version, nodes })
}

fn render_one(
    fleet: &fleet_spec::Fleet,
    node: &fleet_spec::Node,
    plans: &BTreeMap<&str, &fleet_plan::NodePlan>,
    snippets: &SnippetLibrary,
    version: IgnitionVersion,
) -> Result<(NodeIgnition, Vec<RenderWarning>), String> {
    let node_plan = plans
        .get(node.name.as_str())
        .ok_or_else(|| format!("node {}: the planner gave it no plan", node.name))?;
    let fragments = zincati_fragment_files(node_plan)
        .map_err(|error| format!("node {}: {error}", node.name))?;
    let rendered = render::render_node(fleet, node, snippets, &fragments, version)
        .map_err(|error| error.to_string())?;
    let sha256 = hex_sha256(rendered.json.as_bytes());
    Ok((
        NodeIgnition {
            name: node.name.clone(),
            json: rendered.json,
            sha256,
        },
        rendered.warnings,
    ))
}

/// The planner's Zincati fragments for a node, as the files the renderer installs.
pub fn zincati_fragment_files(
    node_plan: &fleet_plan::NodePlan,
) -> Result<Vec<ZincatiFragmentFile>, fleet_plan::PlanError> {
    Ok(fleet_plan::zincati_fragments(node_plan)?
        .into_iter()
        .map(|fragment| ZincatiFragmentFile {
            file_name: fragment.file_name,
            contents: fragment.contents,
        })
        .collect())
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Each distinct warning once, with the nodes it concerns.
fn print_warnings(warnings: &[RenderWarning]) {
    let mut by_message: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for warning in warnings {
        let nodes = by_message.entry(warning.message.as_str()).or_default();
        if let Some(node) = &warning.node {
            nodes.push(node);
        }
    }
    let mut stderr = std::io::stderr().lock();
    for (message, nodes) in by_message {
        let _ = match nodes.as_slice() {
            // Snippet warnings already read `FILE:LINE:COL: warning: ...`.
            [] => writeln!(stderr, "{message}"),
            [node] => writeln!(stderr, "warning: node {node}: {message}"),
            [first, .., last] => writeln!(
                stderr,
                "warning: nodes {first} … {last} ({} nodes): {message}",
                nodes.len()
            ),
        };
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; write e.g. 2025-06-03T14:00:00Z"))
}

/// `48h`, `90m`, `2d`, `1d12h`, or a bare number of minutes.
pub fn parse_minutes(text: &str) -> Result<u32, String> {
    let hint = || format!("{text:?} is not a duration; write e.g. 48h, 90m, 2d or 1d12h");
    if let Ok(minutes) = text.parse::<u32>() {
        return if minutes > 0 {
            Ok(minutes)
        } else {
            Err(hint())
        };
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit = match character {
            'd' => 1440,
            'h' => 60,
            'm' => 1,
            _ => return Err(hint()),
        };
        let value: u64 = number.parse().map_err(|_| hint())?;
        total = total.saturating_add(value.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(hint());
    }
    u32::try_from(total).map_err(|_| hint())
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is not a fraction between 0.0 and 1.0")),
    }
}
