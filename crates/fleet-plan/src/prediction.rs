//! Predictions for one rollout: when each node of a plan first sees the release and may reboot, when each
//! group's canaries are back and have soaked, and a warning for every group whose cautious nodes this
//! rollout could let reboot before that. Predicting never changes the plan.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use fleet_spec::{Role, Tz};

use crate::PlanError;
use crate::planner::{DEFAULT_STAGING_ALLOWANCE_MINUTES, Plan, PlannedStrategy, soak_end};
use crate::rollout::{Rollout, minute_to_time, seconds_to_minute_ceiling};
use crate::week::{MINUTES_PER_DAY, WeekSpan};
use crate::zone::ZoneTable;

/// The rollout to predict and how long a node takes from seeing it to having it staged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictOptions {
    pub rollout: Rollout,
    /// Minutes from eligibility to a staged update (poll delay plus download); the plan itself is made
    /// with `DEFAULT_STAGING_ALLOWANCE_MINUTES`.
    pub staging_allowance_minutes: u32,
}

impl PredictOptions {
    pub fn new(rollout: Rollout) -> Self {
        PredictOptions {
            rollout,
            staging_allowance_minutes: DEFAULT_STAGING_ALLOWANCE_MINUTES,
        }
    }
}

/// What a plan means in one rollout: one entry per group and per node, in the plan's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub rollout: Rollout,
    pub staging_allowance_minutes: u32,
    pub groups: Vec<GroupPrediction>,
    pub nodes: Vec<NodePrediction>,
    /// Groups whose cautious nodes this rollout could let reboot before their canaries have soaked.
    pub warnings: Vec<RolloutWarning>,
}

impl Prediction {
    pub fn node(&self, name: &str) -> Option<&NodePrediction> {
        self.nodes.iter().find(|node| node.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&GroupPrediction> {
        self.groups.iter().find(|group| group.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePrediction {
    pub name: String,
    /// When the update server first offers this node the release.
    pub eligible_at: DateTime<Utc>,
    /// The first moment the node may reboot: inside one of its windows, at or after eligibility plus the
    /// staging allowance (Zincati reboots within `ZINCATI_RECHECK_MINUTES` after it).
    pub reboot_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupPrediction {
    pub name: String,
    /// When the last canary is back and has soaked (groups with canaries and cautious nodes).
    pub soak_ends_at: Option<DateTime<Utc>>,
    pub first_reboot_at: Option<DateTime<Utc>>,
    pub last_reboot_at: Option<DateTime<Utc>>,
}

/// In this rollout, cautious nodes of a group could reboot before the group's canaries are back and have
/// soaked. The plan keeps that order for the typical rollout of every week; another rollout may not.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutWarning {
    pub group: String,
    /// The cautious nodes that could reboot too early, in fleet order.
    pub nodes: Vec<String>,
    pub soak_ends_at: DateTime<Utc>,
    /// The earliest any of them could reboot (eligible and staged at once).
    pub earliest_reboot_at: DateTime<Utc>,
    /// The zone the group's times are read in.
    pub time_zone: Tz,
}

impl fmt::Display for RolloutWarning {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = match self.nodes.as_slice() {
            [one] => format!("cautious node {one}"),
            [first, second] => format!("cautious nodes {first} and {second}"),
            [first, .., last] => format!("{} cautious nodes ({first} … {last})", self.nodes.len()),
            [] => "no cautious node".to_owned(),
        };
        write!(
            formatter,
            "group {}: in this rollout {nodes} could reboot from {}, before the canaries finish soaking at \
             {}; the plan keeps canaries first in the typical rollout (Tuesday 14:00 UTC, 48 hours, from \
             0, {DEFAULT_STAGING_ALLOWANCE_MINUTES}-minute staging), not in this one",
            self.group,
            describe_time(self.earliest_reboot_at, self.time_zone),
            describe_time(self.soak_ends_at, self.time_zone),
        )
    }
}

/// `Wed 2025-06-04 03:44 CEST`.
fn describe_time(time: DateTime<Utc>, zone: Tz) -> String {
    zone.from_utc_datetime(&time.naive_utc())
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Predict `plan` in `options.rollout`: eligibility by the server's formula, reboots by the windows as
/// Zincati reads them on the zone's wall clock, and a warning for every group whose canaries would not
/// soak before its cautious nodes could reboot.
pub fn predict(plan: &Plan, options: &PredictOptions) -> Result<Prediction, PlanError> {
    options.rollout.validate()?;
    let rollout = options.rollout;
    let staging = i64::from(options.staging_allowance_minutes);
    // Offsets from a week before the start to three weeks after the last node is staged: a reboot waits
    // at most a week for its window.
    let table_from = rollout.start_minute() - 8 * MINUTES_PER_DAY;
    let table_to = seconds_to_minute_ceiling(rollout.latest_eligible_second())
        + staging
        + 21 * MINUTES_PER_DAY;
    let mut tables: Vec<ZoneTable> = Vec::new();

    // Per node: eligibility (second), reboot (minute) and the earliest minute it could reboot if staged at once.
    let mut node_minutes = Vec::with_capacity(plan.nodes.len());
    for node in &plan.nodes {
        let eligible_second = rollout.eligible_second(node.rollout_wariness);
        let eligible_minute = seconds_to_minute_ceiling(eligible_second);
        let staged = eligible_minute + staging;
        let (reboot, earliest) = match &node.strategy {
            PlannedStrategy::Periodic { time_zone, windows } => {
                let index = match tables.iter().position(|table| table.zone == *time_zone) {
                    Some(index) => index,
                    None => {
                        tables.push(ZoneTable::build(*time_zone, table_from, table_to));
                        tables.len() - 1
                    }
                };
                let spans: Vec<WeekSpan> = windows
                    .iter()
                    .flat_map(|window| window.admitted_spans())
                    .collect();
                let table = &tables[index];
                (
                    table
                        .first_admitted_minute(&spans, staged)
                        .unwrap_or(staged),
                    table
                        .first_admitted_minute(&spans, eligible_minute)
                        .unwrap_or(eligible_minute),
                )
            }
            PlannedStrategy::FleetLock { .. } | PlannedStrategy::Immediate => {
                (staged, eligible_minute)
            }
        };
        node_minutes.push((eligible_second, reboot, earliest));
    }

    let group_index: HashMap<&str, usize> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| (group.name.as_str(), index))
        .collect();
    // Per group: the reboots of its canaries, of all its nodes, and its cautious nodes.
    let mut canary_reboots: Vec<Option<i64>> = vec![None; plan.groups.len()];
    let mut all_reboots: Vec<Vec<i64>> = vec![Vec::new(); plan.groups.len()];
    let mut cautious: Vec<Vec<usize>> = vec![Vec::new(); plan.groups.len()];
    for (node_index, (node, &(_, reboot, _))) in plan.nodes.iter().zip(&node_minutes).enumerate() {
        let Some(&group) = group_index.get(node.group.as_str()) else {
            continue;
        };
        all_reboots[group].push(reboot);
        match node.role {
            Role::Canary => {
                canary_reboots[group] =
                    Some(canary_reboots[group].map_or(reboot, |last| last.max(reboot)));
            }
            Role::Cautious => cautious[group].push(node_index),
        }
    }

    let mut groups = Vec::with_capacity(plan.groups.len());
    let mut warnings = Vec::new();
    for (index, group) in plan.groups.iter().enumerate() {
        let soak_ends = if cautious[index].is_empty() {
            None
        } else {
            soak_end(
                canary_reboots[index],
                group.reboot_allowance_minutes,
                group.soak_minutes,
            )
        };
        if let Some(soak_ends) = soak_ends {
            let early: Vec<usize> = cautious[index]
                .iter()
                .copied()
                .filter(|&node| node_minutes[node].2 < soak_ends)
                .collect();
            if let Some(earliest) = early.iter().map(|&node| node_minutes[node].2).min() {
                warnings.push(RolloutWarning {
                    group: group.name.clone(),
                    nodes: early
                        .iter()
                        .map(|&node| plan.nodes[node].name.clone())
                        .collect(),
                    soak_ends_at: minute_to_time(soak_ends),
                    earliest_reboot_at: minute_to_time(earliest),
                    time_zone: group.time_zone,
                });
            }
        }
        groups.push(GroupPrediction {
            name: group.name.clone(),
            soak_ends_at: soak_ends.map(minute_to_time),
            first_reboot_at: all_reboots[index].iter().min().copied().map(minute_to_time),
            last_reboot_at: all_reboots[index].iter().max().copied().map(minute_to_time),
        });
    }

    let nodes = plan
        .nodes
        .iter()
        .zip(&node_minutes)
        .map(|(node, &(eligible_second, reboot, _))| NodePrediction {
            name: node.name.clone(),
            eligible_at: DateTime::from_timestamp(eligible_second, 0).unwrap_or(rollout.start),
            reboot_at: minute_to_time(reboot),
        })
        .collect();
    Ok(Prediction {
        rollout,
        staging_allowance_minutes: options.staging_allowance_minutes,
        groups,
        nodes,
        warnings,
    })
}
