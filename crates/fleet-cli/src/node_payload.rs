//! What each node receives from the plan, as the renderer's payload: assembled here, once per
//! node, because the planner and the renderer know nothing of each other: the node's Zincati
//! fragments, and the schedule of its containers' auto-updates (`container_update_timers`).

use fleet_ignition::ini::IniError;
use fleet_ignition::render::{ClaimedDirectory, NodePayload, PayloadFile};
use fleet_plan::{NodePlan, PlanError, ZINCATI_CONFIG_DIR};
use fleet_spec::Node;

use crate::container_update_timers::auto_update_timers;

/// Why a node's payload could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum NodePayloadError {
    /// The planner's Zincati fragments for the node are refused.
    #[error(transparent)]
    Fragments(#[from] PlanError),
    /// The auto-update timer's drop-in could not be written as systemd reads it.
    #[error("cannot write the podman-auto-update.timer drop-in: {0}")]
    Timer(#[from] IniError),
}

/// Zincati reads its fragments as root; they hold nothing secret.
const ZINCATI_FRAGMENT_MODE: u32 = 0o644;

/// The payload of a node with its plan, or without one (`fleet check` of a fleet the planner
/// refuses: the fragments never make a config invalid). Either way the payload claims Zincati's
/// directory, so that a snippet writing its own fragments there is warned about.
pub fn node_payload(
    node: &Node,
    node_plan: Option<&NodePlan>,
) -> Result<NodePayload, NodePayloadError> {
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
        units: auto_update_timers(node, node_plan)?,
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
