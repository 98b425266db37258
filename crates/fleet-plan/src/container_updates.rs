//! When a node restarts its auto-updated containers: the weekly time `podman-auto-update.timer`
//! fires on it, written into the timer's drop-in by the CLI.
//!
//! The rule: a node with a container whose `auto_update` is on updates when its first reboot window
//! opens, on that window's days, in the maintenance time zone. Reboot windows are planned so that
//! at most `max_unavailable` nodes of a group are in one at once, canaries' before cautious nodes'
//! with the soak between, so update times taken from their starts keep the same bound and order: two
//! nodes whose update times are less than a window apart have overlapping windows. Nodes without
//! windows (`fleet_lock`, `immediate`) get no time, and their timers keep podman's schedule. A
//! group's own `container_updates` schedule, planned apart from its reboots, is still to come.

use chrono::Weekday;
use chrono_tz::Tz;
use fleet_spec::{AutoUpdate, Node, WallTime};

use crate::planner::PlannedStrategy;

/// A weekly time: on each of `days` at `start`, on the wall clock of `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUpdateTime {
    /// Sorted Monday first.
    pub days: Vec<Weekday>,
    pub start: WallTime,
    pub time_zone: Tz,
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

/// The node's container update time, when it has containers to update and windows to take it from.
pub(crate) fn container_update_time(
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
    let window = windows.first().filter(|_| updates)?;
    Some(ContainerUpdateTime {
        days: window.days.clone(),
        start: window.start,
        time_zone: *time_zone,
    })
}
