//! The rollout planner's assignment: roles, explicit wariness and staggered Zincati windows that keep every
//! group within its max-unavailable bound (and the fleet within its reboot cap) on real instants, and let
//! every group's canaries reboot and soak before its cautious nodes in the typical rollout of every week.
//!
//! The assignment depends on the fleet alone, never on when fleet runs: it is what every node receives.
//! Predictions for one particular rollout are made from it in `prediction.rs`.
//! The reasoning behind every choice here is written down in docs/planner.md.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeZone;
use fleet_spec::{Fleet, Group, MaintenancePolicy, Node, Role, Tz, UpdateStrategy};

use crate::PlanError;
use crate::error::{SoakShortage, SoakWindowShortage, WindowShortage};
use crate::name_index::NameIndex;
use crate::reboot_load::{RebootLoad, deepest_overlap};
use crate::roles::assign_roles;
use crate::rollout::{Rollout, minute_to_time, round_up_thousandths, seconds_to_minute_ceiling};
use crate::slots::{SlotClass, SlotLayout, cut_slots, single_slot_classes, slot_classes};
use crate::typical::{reference_week, representative_weeks, zone_table_span};
use crate::week::{MINUTES_PER_DAY, WeekSpan, ZincatiWindow, days_label, wall_time_of, weekday_of};
use crate::zone::ZoneTable;

/// Time from a node first seeing a release to having it staged: Zincati polls every 300 s plus up to
/// 10 % jitter (5.5 minutes), then downloads and stages the update (allowed 9.5 minutes). The assignment
/// is made with this allowance; predictions may use another.
pub const DEFAULT_STAGING_ALLOWANCE_MINUTES: u32 = 15;

/// A staged update waiting for a window is re-checked every 300 s plus up to 10 % jitter: a node reboots
/// at most this long after its window opens.
pub const ZINCATI_RECHECK_MINUTES: u32 = 6;

/// The wariness of canaries that are not pinned: they see a release as soon as it is published.
pub const CANARY_WARINESS: f64 = 0.0;

/// The least wariness of a cautious node, so that no cautious node is as eager as a canary.
pub const CAUTIOUS_MIN_WARINESS: f64 = 0.1;

/// A cautious node is made eligible this long before its first window (plus the staging allowance), so a
/// slow download still makes the window.
pub const ELIGIBILITY_LEAD_MINUTES: u32 = 60;

/// The whole assignment: one entry per group with nodes and one per node, in fleet order (`nodes[i]` is the
/// plan of `Fleet::nodes[i]`). It depends on the fleet alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The fleet-wide cap on concurrent reboots, if the fleet sets one.
    pub max_concurrent_reboots: Option<u32>,
    /// The most nodes of the whole fleet that can be down at one instant under this plan.
    pub worst_concurrent_reboots: u64,
    pub groups: Vec<GroupPlan>,
    pub nodes: Vec<NodePlan>,
    node_index: NameIndex,
    group_index: NameIndex,
}

impl Plan {
    /// A node's plan by name, in constant time.
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.node_index
            .find(name, |position| self.nodes[position].name.as_str())
            .map(|position| &self.nodes[position])
    }

    /// A group's plan by name, in constant time.
    pub fn group(&self, name: &str) -> Option<&GroupPlan> {
        self.group_index
            .find(name, |position| self.groups[position].name.as_str())
            .map(|position| &self.groups[position])
    }

    /// The plan with its lookups by name made ready.
    fn indexed(mut self) -> Plan {
        self.node_index = NameIndex::new(self.nodes.iter().map(|node| node.name.as_str()));
        self.group_index = NameIndex::new(self.groups.iter().map(|group| group.name.as_str()));
        self
    }

    /// The largest reboot allowance of any group (each group's own is in `GroupPlan`).
    pub fn reboot_allowance_minutes(&self) -> u32 {
        self.groups
            .iter()
            .map(|group| group.reboot_allowance_minutes)
            .max()
            .unwrap_or(0)
    }
}

/// How Zincati decides when a node reboots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedStrategy {
    /// Only inside the node's windows, read on the wall clock of `time_zone`.
    Periodic {
        time_zone: Tz,
        /// Shared by the nodes of a set: one copy for all of them.
        windows: Arc<[ZincatiWindow]>,
    },
    /// When the FleetLock server at `base_url` grants the node's group (`group`) a slot.
    FleetLock { base_url: String, group: String },
    /// As soon as the update is staged.
    Immediate,
}

impl PlannedStrategy {
    pub fn name(&self) -> &'static str {
        match self {
            PlannedStrategy::Periodic { .. } => "periodic",
            PlannedStrategy::FleetLock { .. } => "fleet_lock",
            PlannedStrategy::Immediate => "immediate",
        }
    }

    pub fn windows(&self) -> &[ZincatiWindow] {
        match self {
            PlannedStrategy::Periodic { windows, .. } => windows,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub name: String,
    pub nodes: usize,
    pub canaries: usize,
    /// The policy's bound resolved to a node count.
    pub max_unavailable: usize,
    pub soak_minutes: u32,
    pub strategy: &'static str,
    /// The zone the group's windows are written in.
    pub time_zone: Tz,
    pub window_minutes: u32,
    pub reboot_allowance_minutes: u32,
    /// How many disjoint windows the maintenance periods hold (windowed groups only).
    pub windows_available: Option<usize>,
    /// The most nodes of this group that can be down at one instant under this plan.
    pub worst_concurrent_down: u64,
}

/// What one node receives: its role, its wariness and its strategy with its windows.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePlan {
    pub name: String,
    pub hostname: String,
    /// The group's name (also Zincati's `[identity] group` under fleet_lock).
    pub group: String,
    pub role: Role,
    /// Whether the role was pinned in fleet.toml.
    pub role_pinned: bool,
    pub rollout_wariness: f64,
    pub wariness_pinned: bool,
    pub strategy: PlannedStrategy,
    /// When the node's auto-updated containers update (`container_updates`), if any.
    pub container_update: Option<crate::container_updates::ContainerUpdateTime>,
}

impl NodePlan {
    pub fn time_zone(&self) -> Option<Tz> {
        match &self.strategy {
            PlannedStrategy::Periodic { time_zone, .. } => Some(*time_zone),
            _ => None,
        }
    }

    pub fn windows(&self) -> &[ZincatiWindow] {
        self.strategy.windows()
    }
}

/// Plan every group of `fleet`: roles, wariness and windows, from the fleet alone.
///
/// On failure, every problem of every group is reported at once (`PlanError::Several`), each with the
/// location of what causes it.
pub fn plan(fleet: &Fleet) -> Result<Plan, PlanError> {
    let cap = fleet.max_concurrent_reboots.map(u64::from);
    let unwindowed = unwindowed_reboots(fleet);
    let unwindowed_total: u64 = unwindowed.iter().map(|(_, count)| count).sum();
    let mut fleet_problems = Vec::new();
    let windowed_cap = match cap {
        Some(cap)
            if unwindowed_total > cap || unwindowed_total == cap && has_windowed_group(fleet) =>
        {
            fleet_problems.push(PlanError::FleetCapTooSmall {
                cap: u32::try_from(cap).unwrap_or(u32::MAX),
                unwindowed: unwindowed_total,
                detail: unwindowed
                    .iter()
                    .map(|(name, count)| format!("{name} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                at: fleet
                    .declared_at
                    .max_concurrent_reboots
                    .unwrap_or(fleet.declared_at.fleet),
            });
            // No plan can come of it, but each group is still planned on its own, so that its own
            // problems are reported with this one rather than after it is fixed.
            u64::MAX
        }
        Some(cap) => cap - unwindowed_total,
        None => u64::MAX,
    };
    let zones = ZoneCatalog::for_fleet(fleet);
    let attempt = |alignment: Alignment| {
        // Multi-day windows (same time on several days) read best, but under a binding fleet cap the groups
        // planned first would take whole classes and starve the later ones: then plan single days throughout.
        match plan_fleet(
            fleet,
            &zones,
            windowed_cap,
            unwindowed_total,
            ClassMode::SameTimeAcrossDays,
            alignment,
        ) {
            Err(error)
                if error
                    .problems()
                    .iter()
                    .any(|problem| matches!(problem, PlanError::FleetCapExceeded { .. })) =>
            {
                plan_fleet(
                    fleet,
                    &zones,
                    windowed_cap,
                    unwindowed_total,
                    ClassMode::SingleDays,
                    alignment,
                )
            }
            result => result,
        }
    };
    // Windows on 5-minute boundaries read better, but must never cost a plan: a fleet that cannot be
    // planned with them is planned (or refused, with the numbers) without.
    let planned =
        attempt(Alignment::FiveMinutesWhereTheyFit).or_else(|_| attempt(Alignment::AnyMinute));
    // Container update schedules are planned apart from reboots, and their problems reported with the
    // others.
    let schedules = crate::container_update_schedule::plan_container_schedules(fleet);
    match (planned, schedules) {
        (Ok(mut plan), Ok(times)) if fleet_problems.is_empty() => {
            for (node_index, time) in times {
                plan.nodes[node_index].container_update = Some(time);
            }
            Ok(plan.indexed())
        }
        (planned, schedules) => {
            if let Err(error) = planned {
                fleet_problems.extend(error.problems().into_iter().cloned());
            }
            if let Err(problems) = schedules {
                fleet_problems.extend(problems);
            }
            Err(PlanError::all(fleet_problems))
        }
    }
}

/// The minutes a window may open on, when the group's periods hold enough windows that way.
pub const WINDOW_ALIGNMENT_MINUTES: u32 = 5;

/// Where windows may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alignment {
    /// On multiples of `WINDOW_ALIGNMENT_MINUTES` for every group whose periods still hold all its windows
    /// that way (and whose windows can be assigned), at any minute for the others.
    FiveMinutesWhereTheyFit,
    /// At any minute.
    AnyMinute,
}

/// How slots are gathered into window entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassMode {
    /// Slots at the same time of day share one entry (split only when there are too few).
    SameTimeAcrossDays,
    /// Every slot is its own entry.
    SingleDays,
}

/// The zones of the fleet's windowed groups, each with its offsets over the planning horizon and the
/// typical rollouts that stand for every week in it.
struct ZoneCatalog {
    tables: Vec<ZoneTable>,
    /// For each table, one typical rollout per class of weeks with the same offsets (never empty).
    weeks: Vec<Vec<Rollout>>,
}

impl ZoneCatalog {
    fn for_fleet(fleet: &Fleet) -> Self {
        let staging = i64::from(DEFAULT_STAGING_ALLOWANCE_MINUTES);
        let (from, to) = zone_table_span(staging);
        let mut catalog = ZoneCatalog {
            tables: Vec::new(),
            weeks: Vec::new(),
        };
        for group in &fleet.groups {
            let zone = group.maintenance.time_zone;
            if group.nodes.is_empty()
                || !matches!(group.maintenance.strategy, UpdateStrategy::Periodic)
                || catalog.index(zone).is_some()
            {
                continue;
            }
            let table = ZoneTable::build(zone, from, to);
            let mut weeks = representative_weeks(&table, staging);
            if weeks.is_empty() {
                weeks.push(reference_week());
            }
            catalog.tables.push(table);
            catalog.weeks.push(weeks);
        }
        catalog
    }

    fn index(&self, zone: Tz) -> Option<usize> {
        self.tables.iter().position(|table| table.zone == zone)
    }
}

fn plan_fleet(
    fleet: &Fleet,
    zones: &ZoneCatalog,
    windowed_cap: u64,
    unwindowed_total: u64,
    mode: ClassMode,
    alignment: Alignment,
) -> Result<Plan, PlanError> {
    let mut planner = Planner::new(fleet, zones, mode, alignment, windowed_cap);
    let mut errors = Vec::new();
    let mut groups = Vec::with_capacity(fleet.groups.len());
    let mut node_plans: Vec<Option<NodePlan>> = vec![None; fleet.nodes.len()];
    let cap = fleet.max_concurrent_reboots.map(u64::from);

    let mut earlier_windowed: Vec<String> = Vec::new();
    for group in &fleet.groups {
        if group.nodes.is_empty() {
            continue;
        }
        let outcome = planner.plan_group(group, &earlier_windowed, cap);
        match outcome {
            Ok((group_plan, nodes)) => {
                if matches!(group.maintenance.strategy, UpdateStrategy::Periodic) {
                    earlier_windowed.push(group.name.clone());
                }
                groups.push(group_plan);
                for (node_index, node_plan) in nodes {
                    node_plans[node_index] = Some(node_plan);
                }
            }
            Err(mut group_errors) => errors.append(&mut group_errors),
        }
    }
    if let Some(error) = PlanError::from_list(errors) {
        return Err(error);
    }
    let worst_concurrent_reboots = planner.reboot_load.worst() + unwindowed_total;
    Ok(Plan {
        max_concurrent_reboots: fleet.max_concurrent_reboots,
        worst_concurrent_reboots,
        groups,
        nodes: node_plans.into_iter().flatten().collect(),
        node_index: NameIndex::default(),
        group_index: NameIndex::default(),
    })
}

fn has_windowed_group(fleet: &Fleet) -> bool {
    fleet.groups.iter().any(|group| {
        !group.nodes.is_empty() && matches!(group.maintenance.strategy, UpdateStrategy::Periodic)
    })
}

/// The most nodes each group without windows may have down at any time: fleet_lock holds its group to
/// its slots, immediate to nothing.
fn unwindowed_reboots(fleet: &Fleet) -> Vec<(String, u64)> {
    fleet
        .groups
        .iter()
        .filter(|group| !group.nodes.is_empty())
        .filter_map(|group| {
            let size = group.nodes.len();
            match group.maintenance.strategy {
                UpdateStrategy::Periodic => None,
                UpdateStrategy::FleetLock { .. } => {
                    Some((group.name.clone(), resolved_bound(group, size) as u64))
                }
                UpdateStrategy::Immediate => Some((group.name.clone(), size as u64)),
            }
        })
        .collect()
}

pub(crate) fn resolved_bound(group: &Group, size: usize) -> usize {
    group
        .rollout
        .max_unavailable
        .resolve(size)
        .clamp(1, size.max(1))
}

/// Nodes that share a role, a wariness rule and (for windowed groups) the same windows.
#[derive(Debug, Clone)]
struct NodeSet {
    role: Role,
    /// Indices into `Fleet::nodes`.
    members: Vec<usize>,
    /// The pinned wariness of every member, or `None` when no member is pinned.
    pinned: Option<Vec<f64>>,
}

/// Split a group's nodes into sets of at most `bound`: canaries first, then cautious nodes; within a role,
/// unpinned nodes in index order, then pinned ones by wariness. Canaries never share a set with cautious nodes.
fn form_sets(fleet: &Fleet, group: &Group, roles: &[Role], bound: usize) -> Vec<NodeSet> {
    let mut sets = Vec::new();
    for role in [Role::Canary, Role::Cautious] {
        let members: Vec<usize> = group
            .nodes
            .clone()
            .zip(roles)
            .filter(|(_, node_role)| **node_role == role)
            .map(|(index, _)| index)
            .collect();
        let unpinned: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&index| fleet.nodes[index].pinned_wariness.is_none())
            .collect();
        let mut pinned: Vec<(f64, usize)> = members
            .iter()
            .filter_map(|&index| {
                fleet.nodes[index]
                    .pinned_wariness
                    .map(|wariness| (wariness, index))
            })
            .collect();
        pinned.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for chunk in unpinned.chunks(bound.max(1)) {
            sets.push(NodeSet {
                role,
                members: chunk.to_vec(),
                pinned: None,
            });
        }
        for chunk in pinned.chunks(bound.max(1)) {
            sets.push(NodeSet {
                role,
                members: chunk.iter().map(|(_, index)| *index).collect(),
                pinned: Some(chunk.iter().map(|(wariness, _)| *wariness).collect()),
            });
        }
    }
    sets
}

/// A group's decisions for one set, before they become node plans.
#[derive(Debug, Clone)]
struct SetDecision {
    set: NodeSet,
    class: Option<SlotClass>,
    /// Wariness of each member, in member order.
    wariness: Vec<f64>,
}

struct Planner<'a> {
    fleet: &'a Fleet,
    zones: &'a ZoneCatalog,
    /// Layouts already cut, by policy and alignment.
    layouts: Vec<(MaintenancePolicy, i64, SlotLayout)>,
    reboot_load: RebootLoad,
    mode: ClassMode,
    alignment: Alignment,
}

type GroupOutcome = Result<(GroupPlan, Vec<(usize, NodePlan)>), Vec<PlanError>>;

impl<'a> Planner<'a> {
    fn new(
        fleet: &'a Fleet,
        zones: &'a ZoneCatalog,
        mode: ClassMode,
        alignment: Alignment,
        windowed_cap: u64,
    ) -> Self {
        let tables: Vec<&ZoneTable> = zones.tables.iter().collect();
        Planner {
            fleet,
            zones,
            layouts: Vec::new(),
            reboot_load: RebootLoad::new(windowed_cap, &tables),
            mode,
            alignment,
        }
    }

    fn layout(
        &mut self,
        policy: &MaintenancePolicy,
        zone_index: usize,
        alignment_minutes: i64,
    ) -> SlotLayout {
        if let Some((_, _, layout)) = self
            .layouts
            .iter()
            .find(|(known, alignment, _)| known == policy && *alignment == alignment_minutes)
        {
            return layout.clone();
        }
        let unsafe_spans = self.zones.tables[zone_index].unsafe_spans();
        let layout = cut_slots(
            &policy.periods,
            policy.window_minutes,
            policy.reboot_allowance_minutes,
            &unsafe_spans,
            alignment_minutes,
        );
        self.layouts
            .push((policy.clone(), alignment_minutes, layout.clone()));
        layout
    }

    fn plan_group(
        &mut self,
        group: &Group,
        earlier_windowed: &[String],
        cap: Option<u64>,
    ) -> GroupOutcome {
        let nodes = self.fleet.group_nodes(group);
        let roles = assign_roles(group.rollout.canaries, nodes);
        let bound = resolved_bound(group, nodes.len());
        match &group.maintenance.strategy {
            UpdateStrategy::Periodic => {
                self.plan_windowed_group(group, &roles, bound, earlier_windowed, cap)
            }
            UpdateStrategy::FleetLock { .. } => self.plan_unwindowed_group(group, &roles, bound),
            UpdateStrategy::Immediate => {
                if bound < nodes.len() {
                    return Err(vec![PlanError::UnboundedStrategy {
                        group: group.name.clone(),
                        strategy: "immediate",
                        nodes: nodes.len(),
                        max_unavailable: bound,
                        at: group.declared_at,
                    }]);
                }
                self.plan_unwindowed_group(group, &roles, bound)
            }
        }
    }

    fn plan_windowed_group(
        &mut self,
        group: &Group,
        roles: &[Role],
        bound: usize,
        earlier_windowed: &[String],
        cap: Option<u64>,
    ) -> GroupOutcome {
        let policy = &group.maintenance;
        if policy.periods.is_empty() {
            return Err(vec![PlanError::NoMaintenancePeriod {
                group: group.name.clone(),
                at: group.declared_at,
            }]);
        }
        let Some(zone_index) = self.zones.index(policy.time_zone) else {
            // Every windowed group's zone is in the catalog; this only guards the lookup.
            return Err(vec![PlanError::ZincatiWouldReject {
                node: group.name.clone(),
                reason: format!("unknown time zone {:?}", policy.time_zone.name()),
            }]);
        };
        // Windows may open at any minute: what the periods hold.
        let layout = self.layout(policy, zone_index, 1);
        let set_bound = bound
            .min(usize::try_from(self.reboot_load.cap()).unwrap_or(usize::MAX))
            .max(1);
        let sets = form_sets(self.fleet, group, roles, set_bound);
        if sets.len() > layout.slot_starts.len() {
            return Err(vec![
                self.not_enough_windows(group, roles, bound, &sets, &layout),
            ]);
        }
        let needed = sets.len();
        // Windows on 5-minute boundaries read better (03:45 rather than 03:44): used when the periods still
        // hold every window the group needs that way and they can be assigned.
        let mut layouts = Vec::with_capacity(2);
        if self.alignment == Alignment::FiveMinutesWhereTheyFit {
            let aligned = self.layout(policy, zone_index, i64::from(WINDOW_ALIGNMENT_MINUTES));
            if aligned.slot_starts.len() >= needed && aligned != layout {
                layouts.push(aligned);
            }
        }
        layouts.push(layout.clone());
        let mut outcome = Err(None);
        for candidate in layouts {
            match self.assign_in_layout(group, &candidate, zone_index, &sets) {
                Ok(decisions) => {
                    outcome = Ok((candidate, decisions));
                    break;
                }
                Err(failure) => outcome = Err(Some(failure)),
            }
        }
        let (used, decisions) = match outcome {
            Ok(chosen) => chosen,
            Err(failure) => {
                let failure = failure.unwrap_or(AssignFailure::FleetCap { placed: 0 });
                return Err(vec![self.describe_failure(
                    failure,
                    group,
                    (needed, bound),
                    earlier_windowed,
                    cap,
                )]);
            }
        };

        // Commit this group's windows to the fleet-wide load.
        for decision in &decisions {
            if let Some(class) = &decision.class {
                let footprints = footprints_of(class, used.footprint_minutes);
                self.reboot_load
                    .add(zone_index, &footprints, decision.set.members.len() as u32);
            }
        }
        Ok(self.finish_group(
            group,
            roles,
            bound,
            decisions,
            Some((&used, layout.slot_starts.len())),
        ))
    }

    /// Assign windows of `layout` to the sets: classes as the mode gathers them, or, when whole classes do
    /// not fit (soak or fleet cap), single-day windows, which are more flexible.
    fn assign_in_layout(
        &self,
        group: &Group,
        layout: &SlotLayout,
        zone_index: usize,
        sets: &[NodeSet],
    ) -> Result<Vec<SetDecision>, AssignFailure> {
        let grouped = match self.mode {
            ClassMode::SameTimeAcrossDays => slot_classes(layout, sets.len()),
            ClassMode::SingleDays => single_slot_classes(layout),
        };
        match self.assign_windows(group, layout, zone_index, sets.to_vec(), &grouped) {
            Ok(decisions) => Ok(decisions),
            Err(_) if grouped.len() < layout.slot_starts.len() => self.assign_windows(
                group,
                layout,
                zone_index,
                sets.to_vec(),
                &single_slot_classes(layout),
            ),
            Err(failure) => Err(failure),
        }
    }

    /// Choose a class of windows and a wariness for every set, so that in the typical rollout of every week
    /// the group's canaries reboot and soak before any cautious node can reboot.
    ///
    /// Canary sets take the classes whose windows open first after the rollout starts, in the week where
    /// they open latest. Cautious sets take, in the same sense, the first classes after the canaries' soak,
    /// with wariness raised until just before their window (never below the soak) and never below an
    /// earlier cautious set's, and raised further when needed so that, in every week, they reboot no
    /// earlier than the cautious sets before them: nodes with earlier windows are less wary.
    fn assign_windows(
        &self,
        group: &Group,
        layout: &SlotLayout,
        zone_index: usize,
        sets: Vec<NodeSet>,
        classes: &[SlotClass],
    ) -> Result<Vec<SetDecision>, AssignFailure> {
        let zone = &self.zones.tables[zone_index];
        let weeks = &self.zones.weeks[zone_index];
        let staging = i64::from(DEFAULT_STAGING_ALLOWANCE_MINUTES);
        let admitted: Vec<Vec<WeekSpan>> = classes
            .iter()
            .map(|class| {
                class
                    .iter()
                    .map(|&start| WeekSpan::new(start, layout.admitted_minutes))
                    .collect()
            })
            .collect();
        let footprints: Vec<Vec<WeekSpan>> = classes
            .iter()
            .map(|class| footprints_of(class, layout.footprint_minutes))
            .collect();
        let mut taken = vec![false; classes.len()];
        let start_of = |week: usize| weeks[week].start_minute();
        let eligible = |week: usize, wariness: f64| {
            seconds_to_minute_ceiling(weeks[week].eligible_second(wariness))
        };
        // Per week: the minute a node of `wariness` first sees the release, plus `extra` minutes.
        let eligible_each_week = |wariness: f64, extra: i64| -> Vec<i64> {
            (0..weeks.len())
                .map(|week| eligible(week, wariness) + extra)
                .collect()
        };
        let first_admitted = |class: usize, from_minute: i64| -> i64 {
            zone.first_admitted_minute(&admitted[class], from_minute)
                .unwrap_or(i64::MAX / 2)
        };
        // Sets are offered the windows that open soonest after they are staged: a node staged before its
        // window opens reboots at the opening (plus Zincati's re-check), not in the last minutes of a window.
        let first_opening = |class: usize, from_minute: i64| -> i64 {
            zone.first_opening_minute(&admitted[class], from_minute)
                .unwrap_or(i64::MAX / 2)
        };
        // When a class first opens after `from` (one minute per week), relative to each week's rollout
        // start: the latest and the earliest over the weeks.
        let openings = |class: usize, from: &[i64]| -> (i64, i64) {
            from.iter()
                .enumerate()
                .map(|(week, &from_minute)| first_opening(class, from_minute) - start_of(week))
                .fold((i64::MIN, i64::MAX), |(latest, earliest), relative| {
                    (latest.max(relative), earliest.min(relative))
                })
        };
        // Every week's reboot minute for a set of `wariness` in `class`.
        let reboots = |class: usize, wariness: f64| -> Vec<i64> {
            eligible_each_week(wariness, staging)
                .into_iter()
                .map(|from_minute| first_admitted(class, from_minute))
                .collect()
        };
        let fits = |class: usize, nodes: usize| -> bool {
            self.reboot_load
                .fits(zone_index, &footprints[class], nodes as u32)
        };
        // Classes by their latest first opening over the weeks (then their earliest, then their order).
        let ranking = |from: &[i64], valid: &dyn Fn(usize) -> bool| -> Vec<usize> {
            let mut order: Vec<(i64, i64, usize)> = (0..classes.len())
                .filter(|&class| valid(class))
                .map(|class| {
                    let (latest, earliest) = openings(class, from);
                    (latest, earliest, class)
                })
                .collect();
            order.sort_unstable();
            order.into_iter().map(|(_, _, class)| class).collect()
        };
        let mut canary_rankings: HashMap<Vec<i64>, Vec<usize>> = HashMap::new();

        let mut decisions = Vec::with_capacity(sets.len());
        // Per week, the reboot minute of every canary.
        let mut canary_reboots: Vec<Vec<i64>> = vec![Vec::new(); weeks.len()];
        let (canary_sets, cautious_sets): (Vec<NodeSet>, Vec<NodeSet>) =
            sets.into_iter().partition(|set| set.role == Role::Canary);

        for set in canary_sets {
            let wariness: Vec<f64> = set
                .pinned
                .clone()
                .unwrap_or_else(|| vec![CANARY_WARINESS; set.members.len()]);
            let latest = wariness.iter().copied().fold(0.0, f64::max);
            let from = eligible_each_week(latest, staging);
            let order = canary_rankings
                .entry(from.clone())
                .or_insert_with(|| ranking(&from, &|_| true));
            let choice = order
                .iter()
                .copied()
                .find(|&class| !taken[class] && fits(class, set.members.len()));
            let Some(class) = choice else {
                return Err(AssignFailure::FleetCap {
                    placed: decisions.len(),
                });
            };
            taken[class] = true;
            for &member_wariness in &wariness {
                for (week, member_reboot) in reboots(class, member_wariness).into_iter().enumerate()
                {
                    canary_reboots[week].push(member_reboot);
                }
            }
            decisions.push(SetDecision {
                set,
                class: Some(classes[class].clone()),
                wariness,
            });
        }

        // Per week, when the canaries are back and have soaked (none without canaries or cautious nodes).
        let soak_ends: Vec<Option<i64>> = canary_reboots
            .iter()
            .map(|week_reboots| {
                if cautious_sets.is_empty() {
                    None
                } else {
                    self.soak_end(group, week_reboots)
                }
            })
            .collect();
        // The week whose soak ends latest after its rollout starts: the one errors describe.
        let worst_week = (0..weeks.len())
            .max_by_key(|&week| {
                (
                    soak_ends[week].map_or(i64::MIN, |end| end - start_of(week)),
                    std::cmp::Reverse(week),
                )
            })
            .unwrap_or(0);
        let floor = soak_ends
            .iter()
            .enumerate()
            .filter_map(|(week, end)| end.map(|end| weeks[week].wariness_not_before(end * 60)))
            .fold(0.0, f64::max);
        let lowest = floor.clamp(CAUTIOUS_MIN_WARINESS, 1.0);
        // A class is safe for a cautious set when in no week could even an instantly staged update reboot
        // in it before the soak ends (`eligible`: per week, the set's first minute of eligibility).
        let safe_from = |class: usize, eligible: &[i64]| {
            eligible.iter().zip(&soak_ends).all(|(&from_minute, end)| {
                end.is_none_or(|end| first_admitted(class, from_minute) >= end)
            })
        };
        let lowest_eligible = eligible_each_week(lowest, 0);
        let lowest_staged = eligible_each_week(lowest, staging);
        let unpinned_order = ranking(&lowest_staged, &|class| safe_from(class, &lowest_eligible));
        // A wariness that makes the set eligible about the lead plus staging before the class first opens
        // in the week where it opens earliest, never below `base`.
        let target_wariness = |class: usize, base: f64| -> f64 {
            let (_, earliest) = openings(class, &eligible_each_week(base, staging));
            let target = earliest - staging - i64::from(ELIGIBILITY_LEAD_MINUTES);
            weeks[0]
                .wariness_not_before((start_of(0) + target) * 60)
                .max(base)
                .min(1.0)
        };
        // The unpinned cautious sets placed so far, so that in every week a set reboots no earlier than
        // every set less wary than it.
        let mut order_so_far = OrderSoFar::new(lowest, weeks.len());
        let keeps_order = |class: usize, wariness: f64, order: &OrderSoFar| {
            reboots(class, wariness)
                .iter()
                .zip(order.required(wariness))
                .all(|(reboot, earliest)| *reboot >= earliest)
        };

        let cautious_nodes: usize = cautious_sets.iter().map(|set| set.members.len()).sum();
        let cautious_needed = cautious_sets.len();
        let few_after_soak = |safe: usize| AssignFailure::FewAfterSoak {
            rollout: weeks[worst_week],
            soak_end: soak_ends[worst_week].unwrap_or_default(),
            safe,
            cautious: cautious_nodes,
            needed: cautious_needed,
        };
        for set in cautious_sets {
            let (class, wariness) = match &set.pinned {
                None => {
                    let available: Vec<usize> = unpinned_order
                        .iter()
                        .copied()
                        .filter(|&class| !taken[class] && fits(class, set.members.len()))
                        .collect();
                    let Some(&first_available) = available.first() else {
                        return Err(if unpinned_order.is_empty() {
                            AssignFailure::Soak {
                                rollout: weeks[worst_week],
                                soak_end: soak_ends[worst_week].unwrap_or_default(),
                                canaries_back: canary_reboots[worst_week]
                                    .iter()
                                    .max()
                                    .copied()
                                    .unwrap_or_default(),
                            }
                        } else if unpinned_order.iter().all(|&class| taken[class]) {
                            few_after_soak(unpinned_order.len())
                        } else {
                            AssignFailure::FleetCap {
                                placed: decisions.len(),
                            }
                        });
                    };
                    // The first class (in rank order) where the set can keep the order in every week,
                    // raising its wariness as little as needed; else the first class, out of order.
                    let ordered = available.iter().find_map(|&class| {
                        let target = target_wariness(class, order_so_far.wariness);
                        if keeps_order(class, target, &order_so_far) {
                            return Some((class, target));
                        }
                        // As wary as the most wary set so far, it need not reboot after that set.
                        let level = order_so_far.wariness;
                        if keeps_order(class, level, &order_so_far) {
                            return Some((class, level));
                        }
                        if !keeps_order(class, 1.0, &order_so_far) {
                            return None;
                        }
                        // Above `target` the requirement no longer changes with the wariness: search it.
                        let (mut low, mut high) = (round_up_thousandths(target), 1000);
                        while high - low > 1 {
                            let middle = low + (high - low) / 2;
                            if keeps_order(class, middle as f64 / 1000.0, &order_so_far) {
                                high = middle;
                            } else {
                                low = middle;
                            }
                        }
                        Some((class, high as f64 / 1000.0))
                    });
                    let (class, value) = ordered.unwrap_or_else(|| {
                        (
                            first_available,
                            target_wariness(first_available, order_so_far.wariness),
                        )
                    });
                    order_so_far.record(value, reboots(class, value));
                    (class, vec![value; set.members.len()])
                }
                Some(pinned) => {
                    let earliest = pinned.iter().copied().fold(f64::INFINITY, f64::min);
                    let latest = pinned.iter().copied().fold(0.0, f64::max);
                    let earliest_eligible = eligible_each_week(earliest, 0);
                    let safe = ranking(&eligible_each_week(latest, staging), &|class| {
                        safe_from(class, &earliest_eligible)
                    });
                    if safe.is_empty() {
                        let node = &self.fleet.nodes[set.members[0]];
                        return Err(AssignFailure::PinnedTooEager {
                            rollout: weeks[worst_week],
                            node: node.name.clone(),
                            wariness: earliest,
                            eligible_minute: earliest_eligible[worst_week],
                            soak_end: soak_ends[worst_week].unwrap_or_default(),
                            minimum: lowest,
                        });
                    }
                    let Some(class) = safe
                        .iter()
                        .copied()
                        .find(|&class| !taken[class] && fits(class, set.members.len()))
                    else {
                        return Err(if safe.iter().all(|&class| taken[class]) {
                            few_after_soak(safe.len())
                        } else {
                            AssignFailure::FleetCap {
                                placed: decisions.len(),
                            }
                        });
                    };
                    (class, pinned.clone())
                }
            };
            taken[class] = true;
            decisions.push(SetDecision {
                set,
                class: Some(classes[class].clone()),
                wariness,
            });
        }
        Ok(decisions)
    }

    /// When the canaries of a group are back and have soaked: the latest canary reboot, plus Zincati's
    /// re-check delay and the reboot allowance, plus the soak.
    fn soak_end(&self, group: &Group, canary_reboots: &[i64]) -> Option<i64> {
        soak_end(
            canary_reboots.iter().copied().max(),
            group.maintenance.reboot_allowance_minutes,
            group.rollout.soak_minutes,
        )
    }

    fn describe_failure(
        &self,
        failure: AssignFailure,
        group: &Group,
        (needed, bound): (usize, usize),
        earlier_windowed: &[String],
        cap: Option<u64>,
    ) -> PlanError {
        let zone = group.maintenance.time_zone;
        match failure {
            AssignFailure::FleetCap { placed } => PlanError::FleetCapExceeded {
                group: group.name.clone(),
                cap: cap.map_or(u32::MAX, |cap| u32::try_from(cap).unwrap_or(u32::MAX)),
                placed,
                needed,
                earlier: if earlier_windowed.is_empty() {
                    "none".to_owned()
                } else {
                    earlier_windowed.join(", ")
                },
                at: group.declared_at,
            },
            AssignFailure::FewAfterSoak {
                rollout,
                soak_end,
                safe,
                cautious,
                needed,
            } => PlanError::NotEnoughWindowsAfterSoak(Box::new(SoakWindowShortage {
                group: group.name.clone(),
                soak_end: describe_in_rollout(soak_end, zone, &rollout),
                safe,
                cautious,
                max_unavailable: bound,
                needed,
                at: group.declared_at,
            })),
            AssignFailure::Soak {
                rollout,
                soak_end,
                canaries_back,
            } => {
                let latest = seconds_to_minute_ceiling(rollout.latest_eligible_second());
                PlanError::SoakImpossible(Box::new(SoakShortage {
                    group: group.name.clone(),
                    canaries_back: describe_in_rollout(
                        canaries_back
                            + i64::from(ZINCATI_RECHECK_MINUTES)
                            + i64::from(group.maintenance.reboot_allowance_minutes),
                        zone,
                        &rollout,
                    ),
                    soak_minutes: group.rollout.soak_minutes,
                    soak_end: describe_in_rollout(soak_end, zone, &rollout),
                    latest_eligible: describe_in_rollout(latest, zone, &rollout),
                    window_note: " and every window left for the cautious nodes opens between then and the end \
                                  of the soak"
                        .to_owned(),
                    remedy: "shorten soak_minutes or widen the maintenance periods",
                    at: group.declared_at,
                }))
            }
            AssignFailure::PinnedTooEager {
                rollout,
                node,
                wariness,
                eligible_minute,
                soak_end,
                minimum,
            } => PlanError::PinnedWarinessTooEager {
                node,
                group: group.name.clone(),
                wariness,
                eligible: describe_in_rollout(eligible_minute, zone, &rollout),
                soak_end: describe_in_rollout(soak_end, zone, &rollout),
                minimum,
                at: group.declared_at,
            },
        }
    }

    fn not_enough_windows(
        &self,
        group: &Group,
        roles: &[Role],
        bound: usize,
        sets: &[NodeSet],
        layout: &SlotLayout,
    ) -> PlanError {
        let policy = &group.maintenance;
        let nodes = roles.len();
        let canaries = roles.iter().filter(|role| **role == Role::Canary).count();
        let plain = nodes.div_ceil(bound.max(1));
        let canary_note = if sets.len() > plain {
            format!(
                " ({canaries} canar{} and {} cautious nodes never share a window)",
                if canaries == 1 { "y" } else { "ies" },
                nodes - canaries
            )
        } else {
            String::new()
        };
        let cap_note = match self.reboot_load.cap() {
            cap if (cap as usize) < bound => {
                format!(" (at most {cap} per window under the fleet-wide max_concurrent_reboots)")
            }
            _ => String::new(),
        };
        let periods = describe_periods(&policy.periods);
        let left_out_note = if layout.left_out.is_empty() {
            String::new()
        } else {
            format!(
                " ({} left out: daylight-saving changes in {} skip or repeat {})",
                layout
                    .left_out
                    .iter()
                    .map(|span| describe_span(*span))
                    .collect::<Vec<_>>()
                    .join(", "),
                policy.time_zone.name(),
                if layout.left_out.len() == 1 {
                    "it"
                } else {
                    "them"
                }
            )
        };
        PlanError::NotEnoughWindows(Box::new(WindowShortage {
            group: group.name.clone(),
            nodes,
            max_unavailable: bound,
            needed: sets.len(),
            canary_note: format!("{canary_note}{cap_note}"),
            periods: format!(
                "the maintenance period{} {} ({})",
                if policy.periods.len() == 1 { "" } else { "s" },
                periods,
                policy.time_zone.name()
            ),
            window_minutes: policy.window_minutes,
            allowance_minutes: policy.reboot_allowance_minutes,
            hold: if policy.periods.len() == 1 {
                "holds"
            } else {
                "hold"
            },
            available: layout.slot_starts.len(),
            left_out_note,
            at: group.declared_at,
        }))
    }

    /// Groups without windows (fleet_lock, immediate): wariness alone orders canaries before cautious nodes.
    /// Without windows nothing depends on the zone's offsets, so one typical week stands for all.
    fn plan_unwindowed_group(
        &mut self,
        group: &Group,
        roles: &[Role],
        bound: usize,
    ) -> GroupOutcome {
        let rollout = reference_week();
        let staging = i64::from(DEFAULT_STAGING_ALLOWANCE_MINUTES);
        let zone = group.maintenance.time_zone;
        let members: Vec<(usize, Role)> = group.nodes.clone().zip(roles.iter().copied()).collect();
        let canary_reboots: Vec<i64> = members
            .iter()
            .filter(|(_, role)| *role == Role::Canary)
            .map(|(index, _)| {
                let wariness = self.fleet.nodes[*index]
                    .pinned_wariness
                    .unwrap_or(CANARY_WARINESS);
                seconds_to_minute_ceiling(rollout.eligible_second(wariness)) + staging
            })
            .collect();
        let has_cautious = roles.contains(&Role::Cautious);
        let soak_end = if has_cautious {
            self.soak_end(group, &canary_reboots)
        } else {
            None
        };
        let floor = soak_end.map_or(0.0, |end| rollout.wariness_not_before(end * 60));
        let lowest = floor.clamp(CAUTIOUS_MIN_WARINESS, 1.0);
        if let Some(end) = soak_end
            && seconds_to_minute_ceiling(rollout.eligible_second(1.0)) < end
        {
            let latest = seconds_to_minute_ceiling(rollout.latest_eligible_second());
            return Err(vec![PlanError::SoakImpossible(Box::new(SoakShortage {
                group: group.name.clone(),
                canaries_back: describe_in_rollout(
                    canary_reboots.iter().max().copied().unwrap_or_default()
                        + i64::from(ZINCATI_RECHECK_MINUTES)
                        + i64::from(group.maintenance.reboot_allowance_minutes),
                    zone,
                    &rollout,
                ),
                soak_minutes: group.rollout.soak_minutes,
                soak_end: describe_in_rollout(end, zone, &rollout),
                latest_eligible: describe_in_rollout(latest, zone, &rollout),
                window_note: String::new(),
                remedy: "shorten soak_minutes",
                at: group.declared_at,
            }))]);
        }
        let mut errors = Vec::new();
        let sets = form_sets(self.fleet, group, roles, 1);
        let unpinned_cautious = sets
            .iter()
            .filter(|set| set.role == Role::Cautious && set.pinned.is_none())
            .count();
        let mut cautious_position = 0;
        let mut decisions = Vec::new();
        for set in sets {
            let wariness = match (&set.pinned, set.role) {
                (Some(pinned), Role::Cautious) => {
                    let eligible = seconds_to_minute_ceiling(rollout.eligible_second(pinned[0]));
                    if let Some(end) = soak_end
                        && eligible < end
                    {
                        errors.push(PlanError::PinnedWarinessTooEager {
                            node: self.fleet.nodes[set.members[0]].name.clone(),
                            group: group.name.clone(),
                            wariness: pinned[0],
                            eligible: describe_in_rollout(eligible, zone, &rollout),
                            soak_end: describe_in_rollout(end, zone, &rollout),
                            minimum: lowest,
                            at: group.declared_at,
                        });
                    }
                    pinned.clone()
                }
                (Some(pinned), Role::Canary) => pinned.clone(),
                (None, Role::Canary) => vec![CANARY_WARINESS; set.members.len()],
                (None, Role::Cautious) => {
                    // Spread evenly over lowest..=1.0 so the group trickles through the rollout.
                    let step = if unpinned_cautious > 1 {
                        (1.0 - lowest) / (unpinned_cautious - 1) as f64
                    } else {
                        0.0
                    };
                    let value = lowest + step * cautious_position as f64;
                    cautious_position += 1;
                    let rounded = round_up_thousandths(value).clamp(0, 1000) as f64 / 1000.0;
                    vec![rounded.max(lowest).min(1.0); set.members.len()]
                }
            };
            decisions.push(SetDecision {
                set,
                class: None,
                wariness,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(self.finish_group(group, roles, bound, decisions, None))
    }

    /// Turn decisions into node plans and the group's summary.
    fn finish_group(
        &self,
        group: &Group,
        roles: &[Role],
        bound: usize,
        decisions: Vec<SetDecision>,
        windowed: Option<(&SlotLayout, usize)>,
    ) -> (GroupPlan, Vec<(usize, NodePlan)>) {
        let layout = windowed.map(|(layout, _)| layout);
        let policy = &group.maintenance;
        let mut nodes = Vec::with_capacity(roles.len());
        let mut overlap_spans = Vec::new();
        for decision in &decisions {
            let windows: Arc<[ZincatiWindow]> = decision
                .class
                .as_ref()
                .map(|class| zincati_windows(class, policy.window_minutes))
                .unwrap_or_default()
                .into();
            if let (Some(class), Some(layout)) = (&decision.class, layout) {
                for span in footprints_of(class, layout.footprint_minutes) {
                    overlap_spans.push((span, decision.set.members.len() as u64));
                }
            }
            for (&node_index, &wariness) in decision.set.members.iter().zip(&decision.wariness) {
                let node: &Node = &self.fleet.nodes[node_index];
                let strategy = match &policy.strategy {
                    UpdateStrategy::Periodic => PlannedStrategy::Periodic {
                        time_zone: policy.time_zone,
                        windows: windows.clone(),
                    },
                    UpdateStrategy::FleetLock { base_url } => PlannedStrategy::FleetLock {
                        base_url: base_url.clone(),
                        group: group.name.clone(),
                    },
                    UpdateStrategy::Immediate => PlannedStrategy::Immediate,
                };
                let container_update =
                    crate::container_updates::container_update_time(group, node, &strategy);
                nodes.push((
                    node_index,
                    NodePlan {
                        name: node.name.clone(),
                        hostname: node.hostname.clone(),
                        group: group.name.clone(),
                        role: decision.set.role,
                        role_pinned: node.pinned_role.is_some(),
                        rollout_wariness: wariness,
                        wariness_pinned: node.pinned_wariness.is_some(),
                        strategy,
                        container_update,
                    },
                ));
            }
        }
        nodes.sort_by_key(|(index, _)| *index);
        let worst_concurrent_down = match (&policy.strategy, layout) {
            (UpdateStrategy::Periodic, Some(_)) => deepest_overlap(overlap_spans),
            (UpdateStrategy::FleetLock { .. }, _) => bound as u64,
            _ => roles.len() as u64,
        };
        let group_plan = GroupPlan {
            name: group.name.clone(),
            nodes: roles.len(),
            canaries: roles.iter().filter(|role| **role == Role::Canary).count(),
            max_unavailable: bound,
            soak_minutes: group.rollout.soak_minutes,
            strategy: match policy.strategy {
                UpdateStrategy::Periodic => "periodic",
                UpdateStrategy::FleetLock { .. } => "fleet_lock",
                UpdateStrategy::Immediate => "immediate",
            },
            time_zone: policy.time_zone,
            window_minutes: policy.window_minutes,
            reboot_allowance_minutes: policy.reboot_allowance_minutes,
            windows_available: windowed.map(|(_, available)| available),
            worst_concurrent_down,
        };
        (group_plan, nodes)
    }
}

/// The unpinned cautious sets of a group placed so far: the highest wariness given, and per week the latest
/// reboot of the sets below that wariness and of the sets at it. Sets are placed with never-decreasing
/// wariness, so a new set must reboot no earlier than `below`, and than `at` too when it is more wary.
struct OrderSoFar {
    wariness: f64,
    below: Vec<i64>,
    at: Vec<i64>,
}

impl OrderSoFar {
    fn new(lowest: f64, weeks: usize) -> Self {
        OrderSoFar {
            wariness: lowest,
            below: vec![i64::MIN; weeks],
            at: vec![i64::MIN; weeks],
        }
    }

    /// Per week, the earliest a set of `wariness` may reboot.
    fn required(&self, wariness: f64) -> impl Iterator<Item = i64> + '_ {
        let above = wariness > self.wariness;
        self.below
            .iter()
            .zip(&self.at)
            .map(move |(&below, &at)| if above { below.max(at) } else { below })
    }

    fn record(&mut self, wariness: f64, reboots: Vec<i64>) {
        if wariness > self.wariness {
            for (below, at) in self.below.iter_mut().zip(&self.at) {
                *below = (*below).max(*at);
            }
            self.at = reboots;
            self.wariness = wariness;
        } else {
            for (at, reboot) in self.at.iter_mut().zip(reboots) {
                *at = (*at).max(reboot);
            }
        }
    }
}

/// Why a group's windows could not be assigned; `rollout` is the typical week the numbers come from.
#[derive(Debug, Clone)]
enum AssignFailure {
    FleetCap {
        placed: usize,
    },
    /// Every window that opens after the soak in every week is taken and cautious sets are left over.
    FewAfterSoak {
        rollout: Rollout,
        soak_end: i64,
        /// Classes that open only after the soak.
        safe: usize,
        /// Cautious nodes of the group, and the sets they form.
        cautious: usize,
        needed: usize,
    },
    Soak {
        rollout: Rollout,
        soak_end: i64,
        canaries_back: i64,
    },
    PinnedTooEager {
        rollout: Rollout,
        node: String,
        wariness: f64,
        eligible_minute: i64,
        soak_end: i64,
        minimum: f64,
    },
}

/// When canaries whose last reboot starts at `last_canary_reboot` are back and have soaked: plus Zincati's
/// re-check delay, the reboot allowance and the soak.
pub(crate) fn soak_end(
    last_canary_reboot: Option<i64>,
    reboot_allowance_minutes: u32,
    soak_minutes: u32,
) -> Option<i64> {
    last_canary_reboot.map(|last| {
        last + i64::from(ZINCATI_RECHECK_MINUTES)
            + i64::from(reboot_allowance_minutes)
            + i64::from(soak_minutes)
    })
}

fn footprints_of(class: &SlotClass, footprint_minutes: i64) -> Vec<WeekSpan> {
    class
        .iter()
        .map(|&start| WeekSpan::new(start, footprint_minutes))
        .collect()
}

/// A class of slots as Zincati window entries (one entry: the class shares its time of day).
fn zincati_windows(class: &SlotClass, window_minutes: u32) -> Vec<ZincatiWindow> {
    let mut by_time: std::collections::BTreeMap<i64, Vec<fleet_spec::Weekday>> =
        std::collections::BTreeMap::new();
    for &start in class {
        by_time
            .entry(start % MINUTES_PER_DAY)
            .or_default()
            .push(weekday_of(start));
    }
    by_time
        .into_iter()
        .map(|(minute_of_day, mut days)| {
            days.sort_by_key(|day| day.num_days_from_monday());
            days.dedup();
            ZincatiWindow {
                days,
                start: wall_time_of(minute_of_day),
                length_minutes: window_minutes,
            }
        })
        .collect()
}

/// `Tue–Thu 01:00–05:00, Sat 22:00–06:00`.
pub(crate) fn describe_periods(periods: &[fleet_spec::MaintenancePeriod]) -> String {
    periods
        .iter()
        .map(|period| {
            let start = crate::week::minute_of_day(period.start);
            format!(
                "{} {}–{}",
                days_label(&period.days),
                period.start,
                wall_time_of(start + i64::from(period.length_minutes))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_span(span: WeekSpan) -> String {
    format!(
        "{} {}–{}",
        crate::week::day_abbreviation(weekday_of(span.start)),
        wall_time_of(span.start),
        wall_time_of(span.start + span.length)
    )
}

/// A minute as people read it in a zone, within a rollout: `Wed 01:16 CEST`, with `the week after` or
/// `N weeks after` when it falls a week or more after the rollout's first day.
pub(crate) fn describe_in_rollout(minute: i64, zone: Tz, rollout: &Rollout) -> String {
    let local = zone.from_utc_datetime(&minute_to_time(minute).naive_utc());
    let first_day = zone
        .from_utc_datetime(&rollout.start.naive_utc())
        .date_naive();
    let weeks = (local.date_naive() - first_day).num_days().max(0) / 7;
    let text = local.format("%a %H:%M %Z").to_string();
    match weeks {
        0 => text,
        1 => format!("{text} the week after"),
        weeks => format!("{text} {weeks} weeks after"),
    }
}
