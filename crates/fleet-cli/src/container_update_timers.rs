//! When a node's containers are auto-updated: `podman-auto-update.timer` enabled for root and for each
//! rootless user whose containers update, with a drop-in that replaces the timer's daily midnight (plus a
//! random delay, the same on every node) by this node's own time.
//!
//! Interim rule, until the planner gives container updates times of their own (issue 14, part 4): a
//! node updates its containers when its first reboot window opens, on that window's days, in the
//! maintenance time zone. Those windows already keep at most `max_unavailable` nodes of a group down at
//! once, canaries first, so container restarts inherit the same bound. Nodes without windows
//! (`fleet_lock` and `immediate` groups) keep podman's own schedule, which is not staggered.

use fleet_ignition::ini::{Dialect, IniError, IniFile};
use fleet_ignition::render::{PayloadUnit, UnitDropin, UnitScope};
use fleet_plan::{NodePlan, PlannedStrategy};
use fleet_spec::{AutoUpdate, ContainerOwner, Node};

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

/// The drop-in for a node with windows: its first window's days and start, in the policy's zone.
fn schedule(node_plan: &NodePlan) -> Option<IniFile> {
    let PlannedStrategy::Periodic { time_zone, windows } = &node_plan.strategy else {
        return None;
    };
    let window = windows.first()?;
    let days = window
        .days
        .iter()
        .map(|day| fleet_plan::day_abbreviation(*day))
        .collect::<Vec<_>>()
        .join(",");
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet: node {} updates its containers when its first reboot window opens.",
        node_plan.name
    ));
    file.section("Timer")
        // An empty value clears the shipped `OnCalendar=daily`, which would otherwise fire too.
        .entry("OnCalendar", "")
        .entry(
            "OnCalendar",
            format!("{days} {}:00 {}", window.start_time(), time_zone.name()),
        )
        .entry("RandomizedDelaySec", 0)
        // A run missed while the node was down must not fire at boot, out of turn.
        .entry("Persistent", "false");
    Some(file)
}
