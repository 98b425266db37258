//! `[[group]]`: one group's name, settings, network, maintenance, spread and rollout, and its nodes.
//! Each of its tables has its own module; this wires them together.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostics::shown;
use crate::model::{Addressing, Group, Host, Node, NodeSettings};
use crate::names::check_group_name;
use crate::raw::RawGroup;
use crate::read::{Field, Span};
use crate::values::MAX_FLEET_NODES;

use super::checker::Checker;
use super::container_update_schedule::{self, ScheduleDraft};
use super::maintenance::{self, MaintenanceDraft, Origin};
use super::naming::Naming;
use super::network::{self, GroupAddressing};
use super::nodes::{self, GroupExpansion, NodeOrigin};
use super::{containers, health, rollout, settings};

/// What every group needs from the fleet level.
pub(super) struct FleetLevel<'a> {
    /// The [fleet] table, or the start of the file without one.
    pub(super) span: Span,
    pub(super) settings: &'a NodeSettings,
    pub(super) maintenance: &'a MaintenanceDraft,
    pub(super) container_updates: &'a ScheduleDraft,
    pub(super) hosts: &'a [Host],
}

/// The groups in file order, with every node they expand to and where each came from.
pub(super) struct ExpandedGroups {
    pub(super) groups: Vec<Group>,
    pub(super) nodes: Vec<Node>,
    pub(super) origins: Vec<NodeOrigin>,
}

/// Every `[[group]]`: names unique, at least one group, each group validated and expanded.
pub(super) fn validate_all(
    checker: &mut Checker<'_, '_>,
    naming: &mut Naming,
    raw_groups: &Field<Vec<RawGroup>>,
    fleet: &FleetLevel<'_>,
) -> ExpandedGroups {
    let mut groups = Vec::new();
    // Reserve once for every node the groups will generate.
    let expected_nodes = raw_groups
        .value()
        .map(|groups| {
            groups
                .iter()
                .map(|group| match group.count.value() {
                    Some(count) => count.as_u32() as usize,
                    None => group.node.value().map_or(0, Vec::len),
                })
                .sum::<usize>()
                .min(MAX_FLEET_NODES)
        })
        .unwrap_or(0);
    let mut nodes = Vec::with_capacity(expected_nodes);
    let mut origins = Vec::with_capacity(expected_nodes);
    match raw_groups.get() {
        Some(written) if !written.value.is_empty() => {
            let mut group_names: HashMap<&str, Span> = HashMap::new();
            for (group_index, raw_group) in written.value.iter().enumerate() {
                if let Some(group_name) = raw_group.name.get()
                    && let Some(first) = group_names.insert(&group_name.value, group_name.span)
                {
                    let line = checker.location(first).line;
                    checker.error(
                        group_name.span,
                        format!(
                            "group[{group_index}].name: duplicate group name `{}`: the first is on line {line}",
                            shown(&group_name.value)
                        ),
                    );
                }
                let group = validate(
                    checker,
                    naming,
                    group_index,
                    raw_group,
                    fleet,
                    &mut nodes,
                    &mut origins,
                );
                groups.push(group);
            }
        }
        Some(written) => checker.error(
            written.span,
            "a fleet needs at least one [[group]]: add one with a `name` and a `count`",
        ),
        None if raw_groups.is_missing() => checker.error(
            fleet.span,
            "a fleet needs at least one [[group]]: add one with a `name` and a `count`",
        ),
        None => {}
    }
    ExpandedGroups {
        groups,
        nodes,
        origins,
    }
}

/// The containers of each distinct composition of settings among the group's nodes, once merged,
/// and the containers its health checks name.
fn check_node_containers(checker: &mut Checker<'_, '_>, nodes: &[Node]) {
    let mut checked: Vec<&Arc<NodeSettings>> = Vec::new();
    for node in nodes {
        if (node.settings.containers.is_empty()
            && node.settings.podman.is_empty()
            && node.settings.health.containers.is_empty())
            || checked
                .iter()
                .any(|settings| Arc::ptr_eq(settings, &node.settings))
        {
            continue;
        }
        checked.push(&node.settings);
        containers::check_node(checker, &node.settings, &node.name);
        health::check_node_containers(checker, &node.settings, &node.name);
    }
}

/// One group, validated; its nodes are added to `nodes` (and where each came from to `origins`).
fn validate(
    checker: &mut Checker<'_, '_>,
    naming: &mut Naming,
    group_index: usize,
    raw: &RawGroup,
    fleet: &FleetLevel<'_>,
    nodes: &mut Vec<Node>,
    origins: &mut Vec<NodeOrigin>,
) -> Group {
    let path = format!("group[{group_index}]");
    let mut name_usable = false;
    let name = checker
        .required(&raw.name, raw.span, &path, "name", "")
        .map(|name| {
            match check_group_name(&name.value) {
                Ok(()) => name_usable = true,
                Err(problem) => checker.error(name.span, format!("{path}.name: {problem}")),
            }
            name.value.clone()
        })
        .unwrap_or_default();

    let mut settings = NodeSettings::clone(fleet.settings);
    settings::apply_level(checker, &mut settings, raw.settings(), &path);
    let settings = Arc::new(settings);

    let network_path = format!("{path}.network");
    let GroupAddressing {
        addressing,
        first_address,
        usable: addresses_checkable,
    } = if raw.network.is_invalid() {
        GroupAddressing {
            addressing: Addressing::Dhcp,
            first_address: None,
            usable: false,
        }
    } else {
        network::validate(checker, raw.network.value(), &network_path)
    };

    let mut maintenance = fleet.maintenance.clone();
    if let Some(group_maintenance) = raw.maintenance.value() {
        let maintenance_path = format!("{path}.maintenance");
        maintenance::apply(
            checker,
            &mut maintenance,
            &group_maintenance.level(&maintenance_path),
        );
    }
    // Problems of a policy nobody wrote belong to the fleet, once, not to every group.
    let unwritten = Origin {
        span: fleet.span,
        path: "maintenance".to_owned(),
    };
    let maintenance = maintenance::policy(checker, &maintenance, &unwritten);
    let mut schedule = fleet.container_updates.clone();
    if let Some(group_schedule) = raw.container_updates.value() {
        container_update_schedule::apply(
            checker,
            &mut schedule,
            group_schedule,
            &format!("{path}.container_updates"),
        );
    }
    let container_updates =
        container_update_schedule::schedule(checker, &schedule, maintenance.time_zone);

    let spread_over = raw.spread_over.get().map(|label| {
        if !fleet.hosts.is_empty()
            && !fleet
                .hosts
                .iter()
                .any(|host| host.labels.contains_key(&label.value))
        {
            let known: Vec<&str> = fleet
                .hosts
                .iter()
                .flat_map(|host| host.labels.keys().map(String::as_str))
                .collect();
            let mut message = format!(
                "{path}.spread_over: no [[host]] has the label `{}`",
                shown(&label.value)
            );
            if let Some(closest) = crate::hints::closest(&label.value, known.iter().copied()) {
                message.push_str(&format!("; did you mean `{closest}`?"));
            } else {
                message.push_str(&format!(
                    "; add labels = {{ {} = \"...\" }} to the hosts",
                    shown(&label.value)
                ));
            }
            checker.error(label.span, message);
        }
        label.value.clone()
    });

    let first_node = nodes.len();
    let expansion = GroupExpansion {
        group_index,
        group_name: &name,
        name_usable,
        path: &path,
        settings: &settings,
        addressing: &addressing,
        first_address,
        addresses_checkable,
        hosts: fleet.hosts,
    };
    nodes::expand(checker, naming, raw, &expansion, nodes, origins);
    let group_size = nodes.len() - first_node;
    check_node_containers(checker, &nodes[first_node..]);

    let rollout = rollout::validate(checker, raw.rollout.value(), &path, &name, group_size);
    let declared_at = checker.location(raw.name.span().unwrap_or(raw.span));
    Group {
        name,
        rollout,
        maintenance,
        container_updates,
        addressing,
        spread_over,
        nodes: first_node..nodes.len(),
        declared_at,
    }
}
