//! Where the nodes go (deploy, status) and where to look for them (destroy): the planner's
//! placement, starting from where the nodes run now.

use std::collections::BTreeMap;

use anyhow::Context as _;
use fleet_libvirt::{FleetTarget, HostTarget, Session};
use fleet_plan::{Move, PlaceOptions, Placement, PlacementPlan, PlanError, UnknownCapacity};
use fleet_spec::{Fleet, HostCapacity};

/// Where every node goes, and which nodes move.
#[derive(Debug, Default)]
pub(crate) struct Placed {
    pub(crate) host_of: BTreeMap<String, String>,
    pub(crate) moves: Vec<Move>,
}

/// Place the nodes: the single connection for fleets without `[[host]]`; otherwise the planner,
/// starting from where the nodes run now, with capacities fleet.toml leaves out read from the
/// hosts (see `place_from` for a host that cannot be read).
pub(crate) fn place_nodes(
    fleet: &Fleet,
    session: &Session,
    hosts: &[HostTarget],
    target: &FleetTarget,
) -> anyhow::Result<Placed> {
    if fleet.hosts.is_empty() {
        let host = hosts
            .first()
            .map(|host| host.name.clone())
            .unwrap_or_default();
        return Ok(Placed {
            host_of: fleet
                .nodes
                .iter()
                .map(|node| (node.name.clone(), host.clone()))
                .collect(),
            moves: Vec::new(),
        });
    }
    let (located, _unreadable) = session.locate(&target.name);
    let previous: Placement = located.into_iter().collect();
    let mut measured: BTreeMap<String, HostCapacity> = BTreeMap::new();
    for host in &fleet.hosts {
        let capacity = host.capacity;
        if capacity.vcpus.is_some() && capacity.memory_mib.is_some() && capacity.disk_gib.is_some()
        {
            continue;
        }
        match fleet_libvirt::read_host_capacity(session, &host.name, target) {
            Ok(reading) => {
                measured.insert(host.name.clone(), reading.to_host_capacity());
            }
            Err(error) => tracing::info!(host = %host.name, %error, "capacity unknown"),
        }
    }
    let placed = place_from(fleet, &previous, &measured)
        .context("cannot place the nodes on the fleet's hosts")?;
    Ok(Placed {
        host_of: placed
            .placement
            .iter()
            .map(|(node, host)| (node.to_owned(), host.to_owned()))
            .collect(),
        moves: placed.moves,
    })
}

/// Where to look for each node: where its domain is now; otherwise where the planner would put
/// it (leftover volumes of a node that never ran are there); otherwise the first host. Teardown
/// also looks on every host where the fleet has a domain of the node's name.
pub(crate) fn teardown_hosts(
    fleet: &Fleet,
    session: &Session,
    hosts: &[HostTarget],
    fleet_name: &str,
) -> BTreeMap<String, String> {
    let first = hosts
        .first()
        .map(|host| host.name.clone())
        .unwrap_or_default();
    if fleet.hosts.is_empty() {
        return fleet
            .nodes
            .iter()
            .map(|node| (node.name.clone(), first.clone()))
            .collect();
    }
    let (located, _unreadable) = session.locate(fleet_name);
    let previous: Placement = located
        .iter()
        .map(|(node, host)| (node.clone(), host.clone()))
        .collect();
    let placed = place_from(fleet, &previous, &BTreeMap::new()).ok();
    fleet
        .nodes
        .iter()
        .map(|node| {
            let host = located
                .get(&node.name)
                .cloned()
                .or_else(|| {
                    placed
                        .as_ref()
                        .and_then(|placed| placed.placement.host_of(&node.name).map(str::to_owned))
                })
                .unwrap_or_else(|| first.clone());
            (node.name.clone(), host)
        })
        .collect()
}

/// The planner's placement from where the nodes run now. A host whose capacity is unknown (not in
/// the fleet file and not `measured`, e.g. unreachable) counts as unlimited: its nodes are placed
/// there and fail with the connection error, the others proceed.
fn place_from(
    fleet: &Fleet,
    previous: &Placement,
    measured: &BTreeMap<String, HostCapacity>,
) -> Result<PlacementPlan, PlanError> {
    fleet_plan::place(
        fleet,
        &PlaceOptions {
            previous,
            measured,
            unknown_capacity: UnknownCapacity::Unlimited,
        },
    )
}
