//! The desired fleet: the selected nodes as libvirt should have them, with their rendered
//! Ignition, placed host and deploy wave; what deploy creates and status compares with.

use std::collections::BTreeMap;

use fleet_libvirt::{DesiredFleet, DesiredNode, FleetTarget};
use fleet_spec::{Fleet, Role};

use fleet_cli::pipeline;

use crate::placement::Placed;
use crate::targets::selection;

/// Render the selected nodes (all when `names` is empty) and describe them as libvirt should have
/// them, on their placed hosts: what deploy creates and status compares with.
pub(crate) fn rendered_desired_fleet(
    planned: &pipeline::PlannedFleet,
    target: &FleetTarget,
    placed: &Placed,
    names: &[String],
) -> anyhow::Result<DesiredFleet> {
    let rendered = pipeline::render_fleet(planned, selection(names), &|| {})?;
    let ignition: BTreeMap<&str, &[u8]> = rendered
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node.json.as_bytes()))
        .collect();
    Ok(desired_fleet(
        &planned.loaded.fleet,
        Some(&planned.plan),
        target,
        &placed.host_of,
        |name| ignition.get(name).map(|bytes| bytes.to_vec()),
    ))
}

/// The selected nodes as libvirt should have them; canaries (by the plan) form wave 0, the others
/// wave 1. `ignition` gives a node's rendered config (`None`: the node is not selected).
pub(crate) fn desired_fleet(
    fleet: &Fleet,
    plan: Option<&fleet_plan::Plan>,
    target: &FleetTarget,
    host_of: &BTreeMap<String, String>,
    ignition: impl Fn(&str) -> Option<Vec<u8>>,
) -> DesiredFleet {
    let nodes = fleet
        .nodes
        .iter()
        .filter_map(|node| {
            let ignition = ignition(&node.name)?;
            let role = plan
                .and_then(|plan| plan.node(&node.name))
                .map(|plan| plan.role);
            let wave = u32::from(role != Some(Role::Canary));
            let host = host_of.get(&node.name).map_or("", String::as_str);
            Some(DesiredNode::from_spec(fleet, node, host, wave, ignition))
        })
        .collect();
    DesiredFleet {
        target: target.clone(),
        nodes,
    }
}
