//! From a fleet file to what every node should receive: load, plan, then render each node's
//! Ignition in parallel. `plan`, `render`, `deploy` and `status` all go through here, so they agree.
//!
//! What nodes receive depends on the fleet file alone; only `fleet plan` also predicts a rollout
//! (`RolloutArgs`), from the plan, and the prediction never flows back into it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use fleet_ignition::IgnitionVersion;
use fleet_ignition::render::{self, RenderError, RenderWarning, SnippetLibrary};
use fleet_plan::{
    NodePlan, PlaceOptions, Placement, PlacementPlan, Plan, PlanError, PredictOptions, Rollout,
    UnknownCapacity,
};
use fleet_spec::{Diagnostic, LoadedFleet, Location};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::fleet_file::{
    FleetFileError, InvalidFleet, load_fleet, open_fleet_directory, print_problems, refuse,
};
use crate::local_files::LocalFiles;
use crate::node_payload::node_payload;

/// The rollout `fleet plan` predicts reboots for. It changes predictions only, never what nodes receive.
#[derive(Debug, Clone, clap::Args)]
pub struct RolloutArgs {
    /// When the rollout starts (RFC 3339). Default: the next Tuesday 14:00 UTC after --now. The
    /// predicted rollout must end by 9999-12-31, the last day RFC 3339 can write.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub rollout_start: Option<DateTime<Utc>>,

    /// How long the rollout takes to reach every node, e.g. 48h, 90m, 2d, 1d12h.
    ///
    /// A duration is one to three parts, each a number and its unit, d (24 hours), h or m, in that
    /// order and each at most once: the form of durations in fleet.toml.
    #[arg(long, value_name = "DURATION", default_value = "48h", value_parser = parse_minutes, allow_hyphen_values = true)]
    pub rollout_duration: u32,

    /// The share of nodes (0.0..=1.0) offered the release as soon as the rollout starts.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fraction, allow_negative_numbers = true)]
    pub rollout_start_fraction: f64,

    /// Time from a node seeing a release to having it staged (Zincati's poll plus the download), for
    /// predictions; the plan itself assumes 15 minutes. A duration, as for --rollout-duration.
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

/// Why the pipeline stopped. Problems located in the fleet file were printed, one a line, before
/// this is returned.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    FleetFile(#[from] FleetFileError),
    #[error(transparent)]
    Invalid(#[from] InvalidFleet),
    #[error("no node named \"{}\" in {}; `fleet nodes` lists them", fleet_spec::shown(.name), .file)]
    NoSuchNode { name: String, file: String },
    /// Every failing node's problem was printed.
    #[error("{failed} of {} could not be rendered; nothing was written", count_of(*.selected, "node", "nodes"))]
    NodesFailed { failed: usize, selected: usize },
}

/// Why one node could not be rendered, reported at the line of its group in the fleet file.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.diagnostic())]
pub struct NodeFailure {
    pub file: String,
    pub location: Location,
    /// Boxed: failures are rare, and every node's result carries room for one.
    pub cause: Box<NodeFailureCause>,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeFailureCause {
    #[error("node {node}: the planner gave it no plan")]
    NoPlan { node: String },
    /// The planner's Zincati fragments for the node are refused.
    #[error("node {node}: {problem}")]
    Fragments {
        node: String,
        problem: crate::node_payload::NodePayloadError,
    },
    #[error(transparent)]
    Render(RenderError),
}

impl NodeFailure {
    /// The failure as a line of the fleet file: `FILE:LINE:COL: error: MESSAGE`, on one line.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            location: self.location,
            message: one_line(&self.cause.to_string()),
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

impl PlannedFleet {
    /// How messages name the fleet file.
    pub fn file_name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Load and plan the fleet at `path`. Problems are printed one a line with their locations
/// (`FILE:LINE:COL: error: ...`), as `fleet check` prints them. The plan depends on the fleet file
/// alone: no clock, no rollout.
pub fn plan_fleet(path: &Path) -> Result<PlannedFleet, PipelineError> {
    let loaded = load_fleet(path)?;
    let file = path.display().to_string();
    let plan = fleet_plan::plan(&loaded.fleet).map_err(|error| {
        refuse(
            &file,
            plan_problems(&file, &error, loaded.fleet.declared_at.fleet)
                .iter()
                .map(ToString::to_string),
        )
    })?;
    Ok(PlannedFleet {
        path: path.to_path_buf(),
        files: open_fleet_directory(path)?,
        loaded,
        plan,
    })
}

/// The planner's problems as lines of the fleet file `file`: each at the group or key that causes it,
/// or at `otherwise` when the planner knows no place.
pub fn plan_problems(file: &str, error: &PlanError, otherwise: Location) -> Vec<Diagnostic> {
    error
        .problems()
        .into_iter()
        .map(|problem| Diagnostic {
            file: file.to_owned(),
            location: problem.location().unwrap_or(otherwise),
            message: one_line(&problem.to_string()),
        })
        .collect()
}

/// Hosts for the nodes as `fleet plan` shows them and `fleet check` checks them: capacities from the
/// fleet file, those it leaves out unlimited (deploy reads them from the hosts), nobody placed yet.
pub fn place_as_written(fleet: &fleet_spec::Fleet) -> Result<PlacementPlan, PlanError> {
    fleet_plan::place(
        fleet,
        &PlaceOptions {
            previous: &Placement::new(),
            measured: &BTreeMap::new(),
            unknown_capacity: UnknownCapacity::Unlimited,
        },
    )
}

/// [`place_as_written`], with the planner's problems printed as lines of the fleet file `file`.
pub fn place_as_written_or_refuse(
    file: &str,
    fleet: &fleet_spec::Fleet,
) -> Result<PlacementPlan, InvalidFleet> {
    place_as_written(fleet).map_err(|error| {
        refuse(
            file,
            plan_problems(file, &error, fleet.declared_at.fleet)
                .iter()
                .map(ToString::to_string),
        )
    })
}

/// A message of several lines (an indented list after a colon) as one line, for `FILE:LINE:COL` output.
pub fn one_line(message: &str) -> String {
    let mut lines = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty());
    let mut text = lines.next().unwrap_or_default().to_owned();
    for (position, line) in lines.enumerate() {
        text.push_str(if position == 0 { " " } else { "; " });
        text.push_str(line);
    }
    text
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

/// The fleet's Butane snippets, translated.
#[derive(Debug, Default)]
pub struct TranslatedSnippets {
    /// Every snippet that translates, so that the nodes using only those can still be checked.
    pub library: SnippetLibrary,
    /// The snippets that do not.
    pub failed: BTreeSet<PathBuf>,
    /// Why, for each of them, in snippet order.
    pub failures: Vec<SnippetFailure>,
}

/// A snippet that does not translate, and the line of the fleet file that first names it.
#[derive(Debug)]
pub struct SnippetFailure {
    pub error: RenderError,
    pub named_at: Location,
}

impl TranslatedSnippets {
    /// Every failure's problems, one line each, as `file` (the fleet file) reports them.
    pub fn problem_lines(&self, file: &str) -> Vec<String> {
        self.failures
            .iter()
            .flat_map(|failure| failure.problem_lines(file))
            .collect()
    }
}

impl SnippetFailure {
    /// The snippet's own `FILE:LINE:COL` lines or, when the translator gives no position, the line of
    /// the fleet file `file` that names the snippet.
    pub fn problem_lines(&self, file: &str) -> Vec<String> {
        let located: Vec<String> = match &self.error {
            RenderError::Snippet { details, .. } => details
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        if !located.is_empty() {
            return located;
        }
        vec![
            Diagnostic {
                file: file.to_owned(),
                location: self.named_at,
                message: one_line(&self.error.to_string()),
            }
            .to_string(),
        ]
    }
}

/// Every Butane snippet of the fleet translated once, with what fails for each one that does not.
pub fn translate_snippets(loaded: &LoadedFleet, files: &LocalFiles) -> TranslatedSnippets {
    if let Ok(library) = SnippetLibrary::translate(&loaded.snippets, Some(files)) {
        return TranslatedSnippets {
            library,
            ..TranslatedSnippets::default()
        };
    }
    // Some snippet failed: find which, one at a time (only on this path), and keep the others.
    let declared = snippet_declarations(&loaded.fleet);
    let mut good = BTreeMap::new();
    let mut failed = BTreeSet::new();
    let mut failures = Vec::new();
    for (path, text) in &loaded.snippets {
        let single = BTreeMap::from([(path.clone(), text.clone())]);
        match SnippetLibrary::translate(&single, Some(files)) {
            Ok(_) => {
                good.insert(path.clone(), text.clone());
            }
            Err(errors) => {
                failed.insert(path.clone());
                let named_at = declared
                    .get(path.as_path())
                    .copied()
                    .unwrap_or(loaded.fleet.declared_at.fleet);
                failures.extend(
                    errors
                        .into_iter()
                        .map(|error| SnippetFailure { error, named_at }),
                );
            }
        }
    }
    TranslatedSnippets {
        library: SnippetLibrary::translate(&good, Some(files)).unwrap_or_default(),
        failed,
        failures,
    }
}

/// Where the fleet file first names each snippet.
fn snippet_declarations(fleet: &fleet_spec::Fleet) -> BTreeMap<&Path, Location> {
    let mut declared: BTreeMap<&Path, Location> = BTreeMap::new();
    let mut seen: Option<*const fleet_spec::NodeSettings> = None;
    for node in &fleet.nodes {
        // Nodes that share their settings share one `Arc`: look at each only once in a row.
        let settings = std::sync::Arc::as_ptr(&node.settings);
        if seen == Some(settings) {
            continue;
        }
        seen = Some(settings);
        for snippet in &node.settings.butane {
            let at = declared
                .entry(snippet.path.as_path())
                .or_insert(snippet.declared_at);
            *at = (*at).min(snippet.declared_at);
        }
    }
    declared
}

/// Render the selected nodes in parallel. Warnings are printed once each on stderr (a warning
/// shared by many nodes is printed once with their count); every failing node is reported, at the
/// line of its group, and every failing snippet with its own file, line and column.
pub fn render_fleet(
    planned: &PlannedFleet,
    selection: Selection<'_>,
    on_node_done: &(dyn Fn() + Sync),
) -> Result<RenderedFleet, PipelineError> {
    let fleet = &planned.loaded.fleet;
    let file = planned.file_name();
    let version =
        target_version_at(&file, fleet).map_err(|problem| refuse(&file, [problem.to_string()]))?;
    let translated = translate_snippets(&planned.loaded, &planned.files);
    if !translated.failures.is_empty() {
        return Err(refuse(&file, translated.problem_lines(&file)).into());
    }
    let snippets = translated.library;
    let selected: Vec<usize> = match selection {
        Selection::All => (0..fleet.nodes.len()).collect(),
        Selection::Named(names) => {
            let positions: HashMap<&str, usize> = fleet
                .nodes
                .iter()
                .enumerate()
                .map(|(position, node)| (node.name.as_str(), position))
                .collect();
            names
                .iter()
                .map(|name| {
                    positions
                        .get(name.as_str())
                        .copied()
                        .ok_or_else(|| PipelineError::NoSuchNode {
                            name: name.clone(),
                            file: planned.path.display().to_string(),
                        })
                })
                .collect::<Result<_, _>>()?
        }
    };

    let results: Vec<Result<(NodeIgnition, Vec<RenderWarning>), NodeFailure>> = selected
        .par_iter()
        .map(|&position| {
            let node_plan = node_plan_at(&planned.plan, fleet, position);
            let result = match node_plan {
                Some(node_plan) => {
                    render_node_at(&file, fleet, position, Some(node_plan), &snippets, version)
                }
                None => Err(NodeFailure {
                    file: file.clone(),
                    location: fleet.group_of(&fleet.nodes[position]).declared_at,
                    cause: Box::new(NodeFailureCause::NoPlan {
                        node: fleet.nodes[position].name.clone(),
                    }),
                }),
            };
            on_node_done();
            result
        })
        .collect();

    let mut nodes = Vec::with_capacity(results.len());
    let mut warnings: Vec<RenderWarning> = snippets.warnings().to_vec();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok((node, node_warnings)) => {
                nodes.push(node);
                warnings.extend(node_warnings);
            }
            Err(failure) => failures.push(failure),
        }
    }
    print_warnings(&file, &warnings);
    if !failures.is_empty() {
        let failed = print_problems(failures.iter().map(ToString::to_string));
        return Err(PipelineError::NodesFailed {
            failed,
            selected: selected.len(),
        });
    }
    Ok(RenderedFleet { version, nodes })
}

/// The Ignition version the fleet's nodes are written for, or the problem at `ignition_version`.
pub fn target_version_at(
    file: &str,
    fleet: &fleet_spec::Fleet,
) -> Result<IgnitionVersion, Diagnostic> {
    render::target_version(fleet).map_err(|error| Diagnostic {
        file: file.to_owned(),
        location: fleet
            .declared_at
            .ignition_version
            .unwrap_or(fleet.declared_at.fleet),
        message: error.to_string(),
    })
}

/// The plan of the node at `position` in `Fleet::nodes`: at the same position in `Plan::nodes`.
pub fn node_plan_at<'a>(
    plan: &'a Plan,
    fleet: &fleet_spec::Fleet,
    position: usize,
) -> Option<&'a NodePlan> {
    let name = &fleet.nodes.get(position)?.name;
    plan.nodes
        .get(position)
        .filter(|node_plan| node_plan.name == *name)
        // The plan keeps fleet order; should that ever change, the name still finds it.
        .or_else(|| plan.node(name))
}

/// Render the node at `position` in `Fleet::nodes` of the fleet file `file`, with the payload of its
/// plan (`None`: without the plan's files, for `fleet check` of a fleet the planner refuses: they never
/// make a config invalid). A problem is reported at the line of the node's group.
pub fn render_node_at(
    file: &str,
    fleet: &fleet_spec::Fleet,
    position: usize,
    node_plan: Option<&NodePlan>,
    snippets: &SnippetLibrary,
    version: IgnitionVersion,
) -> Result<(NodeIgnition, Vec<RenderWarning>), NodeFailure> {
    let node = &fleet.nodes[position];
    let failure = |cause| NodeFailure {
        file: file.to_owned(),
        location: fleet.group_of(node).declared_at,
        cause: Box::new(cause),
    };
    let payload = node_payload(node, node_plan).map_err(|problem| {
        failure(NodeFailureCause::Fragments {
            node: node.name.clone(),
            problem,
        })
    })?;
    let rendered = render::render_node(fleet, node, snippets, &payload, version)
        .map_err(|error| failure(NodeFailureCause::Render(error)))?;
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

/// `1 node`, `3 nodes`.
pub fn count_of(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Each distinct warning once, with the nodes it concerns: `FILE:LINE:COL: warning: ...` when it
/// points into the fleet file `file`, as problems do; a snippet's own warnings are located in it.
pub fn print_warnings(file: &str, warnings: &[RenderWarning]) {
    let mut by_message: BTreeMap<(Option<fleet_spec::Location>, &str), Vec<&str>> = BTreeMap::new();
    for warning in warnings {
        let nodes = by_message
            .entry((warning.at, warning.message.as_str()))
            .or_default();
        if let Some(node) = &warning.node {
            nodes.push(node);
        }
    }
    let mut stderr = std::io::stderr().lock();
    for ((at, message), nodes) in by_message {
        let about = match nodes.as_slice() {
            [] => String::new(),
            [node] => format!("node {node}: "),
            [first, .., last] => format!("nodes {first} … {last} ({} nodes): ", nodes.len()),
        };
        let _ = match at {
            Some(at) => writeln!(
                stderr,
                "{file}:{}:{}: warning: {about}{message}",
                at.line, at.column
            ),
            // Snippet warnings already read `FILE:LINE:COL: warning: ...`.
            None if about.is_empty() => writeln!(stderr, "{message}"),
            None => writeln!(stderr, "warning: {about}{message}"),
        };
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; write e.g. 2025-06-03T14:00:00Z"))
}

/// A duration argument (`48h`, `90m`, `2d`, `1d12h`) in minutes, read by the grammar fleet.toml's
/// durations use (`fleet_spec::duration`); what the plan can use is at least a minute and fits in 32 bits.
pub fn parse_minutes(text: &str) -> Result<u32, String> {
    use fleet_spec::duration::{DurationError, parse_minutes};

    let not_a_duration = || format!("{text:?} is not a duration; write e.g. 48h, 90m, 2d or 1d12h");
    let out_of_range = || format!("{text:?} is not in 1m..={}m", u32::MAX);
    let in_range = |minutes: u64| u32::try_from(minutes).ok().filter(|&minutes| minutes > 0);
    match parse_minutes(text) {
        Ok(minutes) => in_range(minutes).ok_or_else(out_of_range),
        Err(DurationError::Misspelt {
            suggestion,
            minutes,
        }) => match in_range(minutes) {
            Some(_) => Err(format!("{}; did you mean {suggestion}?", not_a_duration())),
            None => Err(out_of_range()),
        },
        Err(DurationError::TooLong) => Err(out_of_range()),
        Err(DurationError::Malformed) => Err(not_a_duration()),
    }
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is not a fraction between 0.0 and 1.0")),
    }
}
