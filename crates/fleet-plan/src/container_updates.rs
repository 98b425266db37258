//! When a node restarts its auto-updated containers: the weekly time `podman-auto-update.timer`
//! fires on it, written into the timer's drop-in by the CLI.
//!
//! A group with its own `container_updates` schedule gets its times from that schedule
//! (`container_update_schedule.rs`), whatever its strategy. Without one, the rule: a node with a
//! container whose `auto_update` is on updates when its first reboot window opens, on that window's
//! days, in the maintenance time zone. Reboot windows are planned so that at most `max_unavailable`
//! nodes of a group are in one at once, canaries' before cautious nodes' with the soak between, so
//! update times taken from their starts keep the same bound and order: two nodes whose update times
//! are less than a window apart have overlapping windows. Nodes without windows (`fleet_lock`,
//! `immediate`) and without a schedule get no time: their timers keep podman's schedule, which
//! `fleet check` warns about.

use chrono::Weekday;
use chrono_tz::Tz;
use fleet_spec::{AutoUpdate, Group, Node, WallTime};

use crate::planner::PlannedStrategy;

/// A weekly time: on each of `days` at `start`, on the wall clock of `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUpdateTime {
    /// Sorted Monday first.
    pub days: Vec<Weekday>,
    pub start: WallTime,
    pub time_zone: Tz,
    /// How long the update is given: the schedule's slot, or the reboot window it was taken from. No
    /// other node of the group beyond its `max_unavailable` starts within it.
    pub window_minutes: u32,
}

impl ContainerUpdateTime {
    /// systemd's calendar form: `Tue,Thu 01:00:00 Europe/Berlin`.
    pub fn on_calendar(&self) -> String {
        let days = self
            .days
            .iter()
            .map(|day| crate::week::day_abbreviation(*day))
            .collect::<Vec<_>>()
            .join(",");
        format!("{days} {}:00 {}", self.start, self.time_zone.name())
    }
}

/// The node's container update time, when it has containers to update, windows to take it from and
/// no schedule of its own (which `container_update_schedule` plans).
pub(crate) fn container_update_time(
    group: &Group,
    node: &Node,
    strategy: &PlannedStrategy,
) -> Option<ContainerUpdateTime> {
    let updates = node
        .settings
        .containers
        .iter()
        .any(|container| container.auto_update != AutoUpdate::Off);
    let PlannedStrategy::Periodic { time_zone, windows } = strategy else {
        return None;
    };
    let window = windows
        .first()
        .filter(|_| updates && group.container_updates.is_none())?;
    Some(ContainerUpdateTime {
        days: window.days.clone(),
        start: window.start,
        time_zone: *time_zone,
        window_minutes: window.length_minutes,
    })
}
