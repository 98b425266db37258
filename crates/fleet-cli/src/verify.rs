//! What `fleet check` adds to validating the file: everything `fleet plan`, `render` and `deploy` do
//! with a fleet before they touch anything (plan, placement, snippet translation, each node's composed
//! Ignition), run the same way and through the same code, without writing, so that "valid" means
//! they accept it.
//!
//! Composing a million nodes would take longer than the check is allowed (10 s), and most of them are
//! alike: nodes of one group that share their settings get the same snippets, users, kernel arguments,
//! time zone and addressing, and the same kind of Zincati fragments, so whether their configs are valid
//! cannot differ (only the hostname, address and fragment contents do). One node stands for each such
//! composition.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use fleet_ignition::render::RenderWarning;
use fleet_spec::{Diagnostic, LoadedFleet};
use rayon::prelude::*;

use crate::fleet_file::FleetFileError;
use crate::local_files::LocalFiles;
use crate::pipeline::{
    node_plan_at, place_as_written, plan_problems, render_node_at, target_version_at,
    translate_snippets,
};

/// What checking a fleet that validated found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Every problem plan, render and deploy would find, one line each: the fleet file's (planner,
    /// placement, composition) sorted by position, then the snippets' own.
    pub problems: Vec<String>,
    /// What render would warn about: the snippets' warnings, and each composition's once.
    pub warnings: Vec<RenderWarning>,
}

/// Check a fleet that validated the way plan, render and deploy use it.
pub fn check_fleet(path: &Path, loaded: &LoadedFleet) -> Result<Findings, FleetFileError> {
    let file = path.display().to_string();
    let fleet = &loaded.fleet;
    let mut located: Vec<Diagnostic> = Vec::new();

    let plan = match fleet_plan::plan(fleet) {
        Ok(plan) => Some(plan),
        Err(error) => {
            located.extend(plan_problems(&file, &error, fleet.declared_at.fleet));
            None
        }
    };
    if let Err(error) = place_as_written(fleet) {
        located.extend(plan_problems(&file, &error, fleet.declared_at.fleet));
    }

    let files: LocalFiles = crate::fleet_file::open_fleet_directory(path)?;
    let snippets = translate_snippets(loaded, &files);
    let mut warnings: Vec<RenderWarning> = snippets.library.warnings().to_vec();
    warnings.extend(crate::container_update_timers::unstaggered_groups_warnings(
        fleet,
    ));
    match target_version_at(&file, fleet) {
        Err(problem) => located.push(problem),
        Ok(version) => {
            // Nodes with a snippet that does not translate are already reported through it.
            let translated = |composition: &&Composition| {
                fleet.nodes[composition.first]
                    .settings
                    .butane
                    .iter()
                    .all(|snippet| !snippets.failed.contains(&snippet.path))
            };
            let composed: Vec<Result<Vec<RenderWarning>, Diagnostic>> = compositions(fleet)
                .par_iter()
                .filter(translated)
                .map(|composition| {
                    // Without a plan (it has problems of its own), nodes are composed without what
                    // the plan gives them (Zincati fragments), which never makes a config invalid.
                    let node_plan = plan
                        .as_ref()
                        .and_then(|plan| node_plan_at(plan, fleet, composition.first));
                    render_node_at(
                        &file,
                        fleet,
                        composition.first,
                        node_plan,
                        &snippets.library,
                        version,
                    )
                    .map(|(_, node_warnings)| {
                        node_warnings
                            .into_iter()
                            .map(|warning| composition.warned(warning, fleet))
                            .collect()
                    })
                    .map_err(|failure| composition.stands_for(failure.diagnostic(), fleet))
                })
                .collect();
            for result in composed {
                match result {
                    Ok(node_warnings) => warnings.extend(node_warnings),
                    Err(problem) => located.push(problem),
                }
            }
        }
    }

    located.sort();
    located.dedup();
    Ok(Findings {
        problems: located
            .iter()
            .map(ToString::to_string)
            .chain(snippets.problem_lines(&file))
            .collect(),
        warnings,
    })
}

/// Nodes that are composed alike: the first of them and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Composition {
    first: usize,
    nodes: usize,
}

impl Composition {
    /// The first node's problem, said of all the nodes it stands for.
    fn stands_for(self, mut problem: Diagnostic, fleet: &fleet_spec::Fleet) -> Diagnostic {
        problem.message.push_str(&self.alike(fleet));
        problem
    }

    /// A warning about the first node, said of all the nodes it stands for.
    fn warned(self, warning: RenderWarning, fleet: &fleet_spec::Fleet) -> RenderWarning {
        match &warning.node {
            Some(_) => RenderWarning {
                message: format!("{}{}", warning.message, self.alike(fleet)),
                ..warning
            },
            None => warning,
        }
    }

    /// ` (and so would the 9 other nodes of group web composed like web-01)`, or nothing for one node.
    fn alike(self, fleet: &fleet_spec::Fleet) -> String {
        let node = &fleet.nodes[self.first];
        let group = &fleet.group_of(node).name;
        match self.nodes {
            1 => String::new(),
            2 => format!(
                " (and so would the other node of group {group} composed like {})",
                node.name
            ),
            nodes => format!(
                " (and so would the {} other nodes of group {group} composed like {})",
                nodes - 1,
                node.name
            ),
        }
    }
}

/// One composition per group and shared settings, in fleet order.
fn compositions(fleet: &fleet_spec::Fleet) -> Vec<Composition> {
    let mut found: Vec<Composition> = Vec::new();
    let mut by_key: HashMap<(usize, *const fleet_spec::NodeSettings), usize> = HashMap::new();
    for (position, node) in fleet.nodes.iter().enumerate() {
        let key = (node.group, Arc::as_ptr(&node.settings));
        match by_key.get(&key) {
            Some(&index) => found[index].nodes += 1,
            None => {
                by_key.insert(key, found.len());
                found.push(Composition {
                    first: position,
                    nodes: 1,
                });
            }
        }
    }
    found
}
