//! When a node's containers are auto-updated: `podman-auto-update.timer` enabled for root and for each
//! rootless user whose containers update, with a drop-in that replaces the timer's daily midnight (plus a
//! random delay, the same on every node) by this node's own time.
//!
//! The time is the planner's (`NodePlan::container_update`, fleet-plan's `container_updates` and
//! `container_update_schedule`); a node without one (a `fleet_lock` or `immediate` group without a
//! `container_updates` schedule) keeps podman's own schedule, which is not staggered: `fleet check`
//! warns about it (`unstaggered_groups_warnings`).

use fleet_ignition::ini::{Dialect, IniError, IniFile};
use fleet_ignition::render::RenderWarning;
use fleet_ignition::render::{PayloadUnit, UnitDropin, UnitScope};
use fleet_plan::NodePlan;
use fleet_spec::{AutoUpdate, ContainerOwner, Fleet, Node, UpdateStrategy};

/// The timer podman ships, for the system and for every user.
pub const AUTO_UPDATE_TIMER: &str = "podman-auto-update.timer";
/// The drop-in fleet writes beside it.
pub const AUTO_UPDATE_DROPIN: &str = "10-fleet-schedule.conf";

/// The auto-update timers of `node`: none when none of its containers auto-update.
pub fn auto_update_timers(
    node: &Node,
    node_plan: Option<&NodePlan>,
) -> Result<Vec<PayloadUnit>, IniError> {
    let mut owners: Vec<&ContainerOwner> = Vec::new();
    for container in &node.settings.containers {
        if container.auto_update != AutoUpdate::Off && !owners.contains(&&container.owner) {
            owners.push(&container.owner);
        }
    }
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    owners.sort();
    let dropins = match node_plan.and_then(schedule) {
        Some(dropin) => vec![UnitDropin {
            name: AUTO_UPDATE_DROPIN.to_owned(),
            contents: dropin.to_text()?,
        }],
        None => Vec::new(),
    };
    Ok(owners
        .into_iter()
        .map(|owner| PayloadUnit {
            name: AUTO_UPDATE_TIMER.to_owned(),
            scope: match owner {
                ContainerOwner::Root => UnitScope::System {
                    enabled: Some(true),
                },
                ContainerOwner::User(user) => UnitScope::User {
                    user: user.clone(),
                    home: format!("/home/{user}"),
                    wanted_by: vec!["timers.target".to_owned()],
                },
            },
            contents: None,
            dropins: dropins.clone(),
        })
        .collect())
}

/// The drop-in for a node the planner gave a container update time.
fn schedule(node_plan: &NodePlan) -> Option<IniFile> {
    let time = node_plan.container_update.as_ref()?;
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet: node {} updates its containers at the time `fleet plan` shows.",
        node_plan.name
    ));
    file.section("Timer")
        // An empty value clears the shipped `OnCalendar=daily`, which would otherwise fire too.
        .entry("OnCalendar", "")
        .entry("OnCalendar", time.on_calendar())
        .entry("RandomizedDelaySec", 0)
        // A run missed while the node was down must not fire at boot, out of turn.
        .entry("Persistent", "false");
    Some(file)
}

/// A warning, at the group's line in the fleet file, for every group with more than one node that auto-updates
/// containers on podman's own unstaggered schedule: no reboot windows to take a time from and no
/// schedule of its own, so they all update at midnight, canaries or not.
pub fn unstaggered_groups_warnings(fleet: &Fleet) -> Vec<RenderWarning> {
    fleet
        .groups
        .iter()
        .filter(|group| {
            group.container_updates.is_none()
                && !matches!(group.maintenance.strategy, UpdateStrategy::Periodic)
        })
        .filter_map(|group| {
            let updating = fleet
                .group_nodes(group)
                .iter()
                .filter(|node| {
                    node.settings
                        .containers
                        .iter()
                        .any(|container| container.auto_update != AutoUpdate::Off)
                })
                .count();
            // One node alone cannot break the group's bound or order.
            (updating > 1).then(|| RenderWarning {
                at: Some(group.declared_at),
                node: None,
                message: format!(
                    "group {}: {updating} nodes auto-update containers, but the {} strategy has no reboot windows to stagger them by: their podman-auto-update.timer keeps podman's daily midnight, all at once; give the group a [group.container_updates] schedule with a [[group.container_updates.period]]",
                    group.name,
                    match group.maintenance.strategy {
                        UpdateStrategy::FleetLock { .. } => "fleet_lock",
                        _ => "immediate",
                    }
                ),
            })
        })
        .collect()
}
