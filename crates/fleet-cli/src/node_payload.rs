//! What each node receives from the plan, as the renderer's payload: assembled here, once per
//! node, because the planner and the renderer know nothing of each other. Today that is the node's
//! Zincati fragments; whatever else the plan decides per node (a container update time, say, as a
//! timer drop-in) becomes more entries of the same payload.

use fleet_ignition::render::{ClaimedDirectory, NodePayload, PayloadFile};
use fleet_plan::{NodePlan, PlanError, ZINCATI_CONFIG_DIR};

/// Zincati reads its fragments as root; they hold nothing secret.
const ZINCATI_FRAGMENT_MODE: u32 = 0o644;

/// The payload of a node with its plan, or without one (`fleet check` of a fleet the planner
/// refuses: the fragments never make a config invalid). Either way the payload claims Zincati's
/// directory, so that a snippet writing its own fragments there is warned about.
pub fn node_payload(node_plan: Option<&NodePlan>) -> Result<NodePayload, PlanError> {
    let files = match node_plan {
        Some(node_plan) => fleet_plan::zincati_fragments(node_plan)?
            .into_iter()
            .map(|fragment| {
                PayloadFile::new(fragment.path(), ZINCATI_FRAGMENT_MODE, fragment.contents)
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(NodePayload {
        files,
        claimed_directories: vec![ClaimedDirectory {
            path: ZINCATI_CONFIG_DIR.to_owned(),
            what: "the Zincati fragment".to_owned(),
            why: "which the rollout plan does not account for: windows or a strategy set there break \
                  the max-unavailable bound; set the policy in fleet.toml [maintenance] instead"
                .to_owned(),
        }],
        ..NodePayload::default()
    })
}
