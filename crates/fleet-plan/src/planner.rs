//! The rollout planner: roles, explicit wariness, staggered Zincati windows that keep every group within
//! its max-unavailable bound (and the fleet within its reboot cap), and predicted reboots.
//!
//! The reasoning behind every choice here is written down in docs/planner.md.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use fleet_spec::{Fleet, Group, MaintenancePolicy, Node, Role, Tz, UpdateStrategy};

use crate::PlanError;
use crate::error::{SoakShortage, WindowShortage};
use crate::fleet_load::{FleetLoad, deepest_overlap};
use crate::roles::assign_roles;
use crate::rollout::{Rollout, minute_to_time, seconds_to_minute_ceiling};
use crate::slots::{SlotClass, SlotLayout, cut_slots, single_slot_classes, slot_classes};
use crate::week::{MINUTES_PER_DAY, WeekSpan, ZincatiWindow, days_label, wall_time_of, weekday_of};
use crate::zone::ZoneTable;

/// Time from a node first seeing a release to having it staged: Zincati polls every 300 s plus up to
/// 10 % jitter (5.5 minutes), then downloads and stages the update (allowed 9.5 minutes).
pub const DEFAULT_STAGING_ALLOWANCE_MINUTES: u32 = 15;

/// A staged update waiting for a window is re-checked every 300 s plus up to 10 % jitter: a node reboots
/// at most this long after its window opens.
pub const ZINCATI_RECHECK_MINUTES: u32 = 6;

/// Windows shorter than this can fall between two of Zincati's re-checks (every 5.5 minutes at most;
/// a window of N minutes admits N + 1 whole minutes).
pub const MIN_WINDOW_MINUTES: u32 = 5;

/// The wariness of canaries that are not pinned: they see a release as soon as it is published.
pub const CANARY_WARINESS: f64 = 0.0;

/// The least wariness of a cautious node, so that no cautious node is as eager as a canary.
pub const CAUTIOUS_MIN_WARINESS: f64 = 0.1;

/// A cautious node is made eligible this long before its first window (plus the staging allowance), so a
/// slow download still makes the window.
pub const ELIGIBILITY_LEAD_MINUTES: u32 = 60;

/// Daylight-saving rules are read from the zone database over this many days from the rollout.
pub const DST_HORIZON_DAYS: i64 = 2 * 366;

/// What to plan for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// The rollout to order canaries before cautious nodes for, and to predict reboots in.
    pub rollout: Rollout,
    /// Minutes from eligibility to a staged update (poll delay plus download), see the default's docs.
    pub staging_allowance_minutes: u32,
}

impl PlanOptions {
    pub fn new(rollout: Rollout) -> Self {
        PlanOptions {
            rollout,
            staging_allowance_minutes: DEFAULT_STAGING_ALLOWANCE_MINUTES,
        }
    }
}

/// The whole plan: one entry per group and per node, in fleet order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub rollout: Rollout,
    pub staging_allowance_minutes: u32,
    /// The fleet-wide cap on concurrent reboots, if the fleet sets one.
    pub max_concurrent_reboots: Option<u32>,
    /// The most nodes of the whole fleet that can be down at one instant under this plan.
    pub worst_concurrent_reboots: u64,
    pub groups: Vec<GroupPlan>,
    pub nodes: Vec<NodePlan>,
}

impl Plan {
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|node| node.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&GroupPlan> {
        self.groups.iter().find(|group| group.name == name)
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
        windows: Vec<ZincatiWindow>,
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
    /// When the last canary is back and has soaked, for this rollout.
    pub soak_ends_at: Option<DateTime<Utc>>,
    pub first_reboot_at: Option<DateTime<Utc>>,
    pub last_reboot_at: Option<DateTime<Utc>>,
}

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
    /// When the update server first offers this node the release.
    pub eligible_at: DateTime<Utc>,
    /// The first moment the node may reboot: inside one of its windows, at or after eligibility plus the
    /// staging allowance (Zincati reboots within `ZINCATI_RECHECK_MINUTES` after it).
    pub reboot_at: DateTime<Utc>,
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

/// Plan every group of `fleet` for `options.rollout`.
pub fn plan(fleet: &Fleet, options: &PlanOptions) -> Result<Plan, PlanError> {
    options.rollout.validate()?;
    let cap = fleet.max_concurrent_reboots.map(u64::from);
    let unwindowed = unwindowed_reboots(fleet);
    let unwindowed_total: u64 = unwindowed.iter().map(|(_, count)| count).sum();
    let windowed_cap = match cap {
        Some(cap)
            if unwindowed_total > cap || unwindowed_total == cap && has_windowed_group(fleet) =>
        {
            return Err(PlanError::FleetCapTooSmall {
                cap: u32::try_from(cap).unwrap_or(u32::MAX),
                unwindowed: unwindowed_total,
                detail: unwindowed
                    .iter()
                    .map(|(name, count)| format!("{name} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Some(cap) => cap - unwindowed_total,
        None => u64::MAX,
    };
    // Multi-day windows (same time on several days) read best, but under a binding fleet cap the groups
    // planned first would take whole classes and starve the later ones: then plan single days throughout.
    match plan_fleet(
        fleet,
        options,
        windowed_cap,
        unwindowed_total,
        ClassMode::SameTimeAcrossDays,
    ) {
        Err(error)
            if error
                .problems()
                .iter()
                .any(|problem| matches!(problem, PlanError::FleetCapExceeded { .. })) =>
        {
            plan_fleet(
                fleet,
                options,
                windowed_cap,
                unwindowed_total,
                ClassMode::SingleDays,
            )
        }
        result => result,
    }
}

/// How slots are gathered into window entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassMode {
    /// Slots at the same time of day share one entry (split only when there are too few).
    SameTimeAcrossDays,
    /// Every slot is its own entry.
    SingleDays,
}

fn plan_fleet(
    fleet: &Fleet,
    options: &PlanOptions,
    windowed_cap: u64,
    unwindowed_total: u64,
    mode: ClassMode,
) -> Result<Plan, PlanError> {
    let mut planner = Planner::new(fleet, options, mode);
    let mut errors = Vec::new();
    let mut groups = Vec::with_capacity(fleet.groups.len());
    let mut node_plans: Vec<Option<NodePlan>> = vec![None; fleet.nodes.len()];
    let cap = fleet.max_concurrent_reboots.map(u64::from);
    planner.start_fleet_load(windowed_cap);

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
    let worst_concurrent_reboots =
        planner.load.as_ref().map_or(0, FleetLoad::worst) + unwindowed_total;
    Ok(Plan {
        rollout: options.rollout,
        staging_allowance_minutes: options.staging_allowance_minutes,
        max_concurrent_reboots: fleet.max_concurrent_reboots,
        worst_concurrent_reboots,
        groups,
        nodes: node_plans.into_iter().flatten().collect(),
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

fn resolved_bound(group: &Group, size: usize) -> usize {
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
    options: &'a PlanOptions,
    zones: Vec<ZoneTable>,
    layouts: Vec<(MaintenancePolicy, SlotLayout)>,
    load: Option<FleetLoad>,
    mode: ClassMode,
}

type GroupOutcome = Result<(GroupPlan, Vec<(usize, NodePlan)>), Vec<PlanError>>;

impl<'a> Planner<'a> {
    fn new(fleet: &'a Fleet, options: &'a PlanOptions, mode: ClassMode) -> Self {
        Planner {
            fleet,
            options,
            zones: Vec::new(),
            layouts: Vec::new(),
            load: None,
            mode,
        }
    }

    fn horizon(&self) -> (i64, i64) {
        let start = self.options.rollout.start_minute();
        (
            start - 8 * MINUTES_PER_DAY,
            start + DST_HORIZON_DAYS * MINUTES_PER_DAY,
        )
    }

    fn zone_index(&mut self, zone: Tz) -> usize {
        if let Some(index) = self.zones.iter().position(|table| table.zone == zone) {
            return index;
        }
        let (from, to) = self.horizon();
        self.zones.push(ZoneTable::build(zone, from, to));
        self.zones.len() - 1
    }

    /// Build the fleet-wide load over the zones of every windowed group.
    fn start_fleet_load(&mut self, cap: u64) {
        let zones: Vec<Tz> = self
            .fleet
            .groups
            .iter()
            .filter(|group| {
                !group.nodes.is_empty()
                    && matches!(group.maintenance.strategy, UpdateStrategy::Periodic)
            })
            .map(|group| group.maintenance.time_zone)
            .collect();
        for zone in zones {
            self.zone_index(zone);
        }
        let tables: Vec<&ZoneTable> = self.zones.iter().collect();
        self.load = Some(FleetLoad::new(cap, &tables));
    }

    fn layout(&mut self, policy: &MaintenancePolicy, zone_index: usize) -> SlotLayout {
        if let Some((_, layout)) = self.layouts.iter().find(|(known, _)| known == policy) {
            return layout.clone();
        }
        let unsafe_spans = self.zones[zone_index].unsafe_spans();
        let layout = cut_slots(
            &policy.periods,
            policy.window_minutes,
            policy.reboot_allowance_minutes,
            &unsafe_spans,
        );
        self.layouts.push((policy.clone(), layout.clone()));
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
                    }]);
                }
                self.plan_unwindowed_group(group, &roles, bound)
            }
        }
    }

    fn staging(&self) -> i64 {
        i64::from(self.options.staging_allowance_minutes)
    }

    fn rollout(&self) -> &Rollout {
        &self.options.rollout
    }

    /// When the canaries of a group are back and have soaked: the latest canary reboot, plus Zincati's
    /// re-check delay and the reboot allowance, plus the soak.
    fn soak_end(&self, group: &Group, canary_reboots: &[i64]) -> Option<i64> {
        canary_reboots.iter().max().map(|&last| {
            last + i64::from(ZINCATI_RECHECK_MINUTES)
                + i64::from(group.maintenance.reboot_allowance_minutes)
                + i64::from(group.rollout.soak_minutes)
        })
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
            }]);
        }
        if policy.window_minutes < MIN_WINDOW_MINUTES {
            return Err(vec![PlanError::WindowTooShort {
                group: group.name.clone(),
                window_minutes: policy.window_minutes,
            }]);
        }
        let zone_index = self.zone_index(policy.time_zone);
        let layout = self.layout(policy, zone_index);
        let windowed_cap = self.load.as_ref().map_or(u64::MAX, |load| load.cap());
        let set_bound = bound
            .min(usize::try_from(windowed_cap).unwrap_or(usize::MAX))
            .max(1);
        let sets = form_sets(self.fleet, group, roles, set_bound);
        if sets.len() > layout.slot_starts.len() {
            return Err(vec![
                self.not_enough_windows(group, roles, bound, &sets, &layout),
            ]);
        }
        let needed = sets.len();
        let grouped = match self.mode {
            ClassMode::SameTimeAcrossDays => slot_classes(&layout, needed),
            ClassMode::SingleDays => single_slot_classes(&layout),
        };
        let decisions =
            match self.assign_windows(group, &layout, zone_index, sets.clone(), &grouped) {
                Ok(decisions) => decisions,
                Err(failure) => {
                    // Whole classes did not fit (soak or fleet cap): single-day windows are more flexible.
                    let retry = (grouped.len() < layout.slot_starts.len()).then(|| {
                        self.assign_windows(
                            group,
                            &layout,
                            zone_index,
                            sets,
                            &single_slot_classes(&layout),
                        )
                    });
                    match retry {
                        Some(Ok(decisions)) => decisions,
                        Some(Err(retry_failure)) => {
                            return Err(vec![self.describe_failure(
                                retry_failure,
                                group,
                                needed,
                                earlier_windowed,
                                cap,
                            )]);
                        }
                        None => {
                            return Err(vec![self.describe_failure(
                                failure,
                                group,
                                needed,
                                earlier_windowed,
                                cap,
                            )]);
                        }
                    }
                }
            };

        // Commit this group's windows to the fleet-wide load.
        for decision in &decisions {
            if let Some(class) = &decision.class {
                let footprints = footprints_of(class, layout.footprint_minutes);
                if let Some(load) = self.load.as_mut() {
                    load.add(zone_index, &footprints, decision.set.members.len() as u32);
                }
            }
        }
        Ok(self.finish_group(group, roles, bound, decisions, Some((&layout, zone_index))))
    }

    /// Choose a class of windows and a wariness for every set. Canary sets take the classes whose windows
    /// come first after the rollout starts; cautious sets take the first classes after the canaries'
    /// soak, with wariness raised until just before their window (never below the soak).
    fn assign_windows(
        &self,
        group: &Group,
        layout: &SlotLayout,
        zone_index: usize,
        sets: Vec<NodeSet>,
        classes: &[SlotClass],
    ) -> Result<Vec<SetDecision>, AssignFailure> {
        let zone = &self.zones[zone_index];
        let rollout = *self.rollout();
        let staging = self.staging();
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
        let fits = |class: usize, nodes: usize| -> bool {
            self.load
                .as_ref()
                .is_none_or(|load| load.fits(zone_index, &footprints[class], nodes as u32))
        };
        // Rankings of classes by first admitted minute from a given minute, shared by sets with the same start.
        let mut rankings: HashMap<i64, Vec<(i64, usize)>> = HashMap::new();
        let mut ranking = |from_minute: i64, valid: &dyn Fn(usize) -> bool| -> Vec<(i64, usize)> {
            rankings
                .entry(from_minute)
                .or_insert_with(|| {
                    let mut order: Vec<(i64, usize)> = (0..classes.len())
                        .map(|class| (first_opening(class, from_minute), class))
                        .collect();
                    order.sort_unstable();
                    order
                })
                .iter()
                .copied()
                .filter(|(_, class)| valid(*class))
                .collect()
        };

        let mut decisions = Vec::with_capacity(sets.len());
        let mut canary_reboots = Vec::new();
        let (canary_sets, cautious_sets): (Vec<NodeSet>, Vec<NodeSet>) =
            sets.into_iter().partition(|set| set.role == Role::Canary);

        for set in canary_sets {
            let wariness: Vec<f64> = set
                .pinned
                .clone()
                .unwrap_or_else(|| vec![CANARY_WARINESS; set.members.len()]);
            let latest = wariness.iter().copied().fold(0.0, f64::max);
            let from = seconds_to_minute_ceiling(rollout.eligible_second(latest)) + staging;
            let choice = ranking(from, &|_| true)
                .into_iter()
                .find(|(_, class)| !taken[*class] && fits(*class, set.members.len()));
            let Some((_, class)) = choice else {
                return Err(AssignFailure::FleetCap {
                    placed: decisions.len(),
                });
            };
            taken[class] = true;
            for &member_wariness in &wariness {
                let from =
                    seconds_to_minute_ceiling(rollout.eligible_second(member_wariness)) + staging;
                canary_reboots.push(first_admitted(class, from));
            }
            decisions.push(SetDecision {
                set,
                class: Some(classes[class].clone()),
                wariness,
            });
        }

        let soak_end = if cautious_sets.is_empty() {
            None
        } else {
            self.soak_end(group, &canary_reboots)
        };
        let floor = soak_end.map_or(0.0, |end| rollout.wariness_not_before(end * 60));
        let lowest = floor.clamp(CAUTIOUS_MIN_WARINESS, 1.0);
        let lowest_eligible = seconds_to_minute_ceiling(rollout.eligible_second(lowest));
        // A class is safe for a cautious set when not even an instantly staged update could reboot in it
        // before the soak ends.
        let safe_from = |class: usize, eligible_minute: i64| {
            soak_end.is_none_or(|end| first_admitted(class, eligible_minute) >= end)
        };
        let unpinned_order = ranking(lowest_eligible + staging, &|class| {
            safe_from(class, lowest_eligible)
        });

        for set in cautious_sets {
            let choice;
            let wariness: Vec<f64>;
            match &set.pinned {
                None => {
                    choice = unpinned_order
                        .iter()
                        .copied()
                        .find(|(_, class)| !taken[*class] && fits(*class, set.members.len()));
                    let Some((first_minute, _)) = choice else {
                        let any_safe = !unpinned_order.is_empty();
                        return Err(if any_safe {
                            AssignFailure::FleetCap {
                                placed: decisions.len(),
                            }
                        } else {
                            AssignFailure::Soak {
                                soak_end: soak_end.unwrap_or_default(),
                                canaries_back: canary_reboots
                                    .iter()
                                    .max()
                                    .copied()
                                    .unwrap_or_default(),
                            }
                        });
                    };
                    let target = first_minute - staging - i64::from(ELIGIBILITY_LEAD_MINUTES);
                    let value = rollout
                        .wariness_not_before(target * 60)
                        .max(lowest)
                        .min(1.0);
                    wariness = vec![value; set.members.len()];
                }
                Some(pinned) => {
                    let earliest = pinned.iter().copied().fold(f64::INFINITY, f64::min);
                    let latest = pinned.iter().copied().fold(0.0, f64::max);
                    let earliest_minute =
                        seconds_to_minute_ceiling(rollout.eligible_second(earliest));
                    let latest_minute = seconds_to_minute_ceiling(rollout.eligible_second(latest));
                    let safe = ranking(latest_minute + staging, &|class| {
                        safe_from(class, earliest_minute)
                    });
                    if safe.is_empty() {
                        let node = &self.fleet.nodes[set.members[0]];
                        return Err(AssignFailure::PinnedTooEager {
                            node: node.name.clone(),
                            wariness: earliest,
                            eligible_minute: earliest_minute,
                            soak_end: soak_end.unwrap_or_default(),
                            minimum: lowest,
                        });
                    }
                    choice = safe
                        .into_iter()
                        .find(|(_, class)| !taken[*class] && fits(*class, set.members.len()));
                    if choice.is_none() {
                        return Err(AssignFailure::FleetCap {
                            placed: decisions.len(),
                        });
                    }
                    wariness = pinned.clone();
                }
            }
            let Some((_, class)) = choice else {
                continue;
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

    fn describe_failure(
        &self,
        failure: AssignFailure,
        group: &Group,
        needed: usize,
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
            },
            AssignFailure::Soak {
                soak_end,
                canaries_back,
            } => {
                let latest = seconds_to_minute_ceiling(self.rollout().latest_eligible_second());
                PlanError::SoakImpossible(Box::new(SoakShortage {
                    group: group.name.clone(),
                    canaries_back: describe_minute(
                        canaries_back
                            + i64::from(ZINCATI_RECHECK_MINUTES)
                            + i64::from(group.maintenance.reboot_allowance_minutes),
                        zone,
                    ),
                    soak_minutes: group.rollout.soak_minutes,
                    soak_end: describe_minute(soak_end, zone),
                    latest_eligible: describe_minute(latest, zone),
                    window_note: " and every window left for the cautious nodes opens between then and the end \
                                  of the soak"
                        .to_owned(),
                }))
            }
            AssignFailure::PinnedTooEager {
                node,
                wariness,
                eligible_minute,
                soak_end,
                minimum,
            } => PlanError::PinnedWarinessTooEager {
                node,
                group: group.name.clone(),
                wariness,
                eligible: describe_minute(eligible_minute, zone),
                soak_end: describe_minute(soak_end, zone),
                minimum,
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
        let cap_note = match self.load.as_ref().map(FleetLoad::cap) {
            Some(cap) if (cap as usize) < bound => {
                format!(" (at most {cap} per window under the fleet-wide max_concurrent_reboots)")
            }
            _ => String::new(),
        };
        let periods = describe_periods(policy);
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
        }))
    }

    /// Groups without windows (fleet_lock, immediate): wariness alone orders canaries before cautious nodes.
    fn plan_unwindowed_group(
        &mut self,
        group: &Group,
        roles: &[Role],
        bound: usize,
    ) -> GroupOutcome {
        let rollout = *self.rollout();
        let staging = self.staging();
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
                canaries_back: describe_minute(
                    canary_reboots.iter().max().copied().unwrap_or_default()
                        + i64::from(ZINCATI_RECHECK_MINUTES)
                        + i64::from(group.maintenance.reboot_allowance_minutes),
                    zone,
                ),
                soak_minutes: group.rollout.soak_minutes,
                soak_end: describe_minute(end, zone),
                latest_eligible: describe_minute(latest, zone),
                window_note: String::new(),
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
                            eligible: describe_minute(eligible, zone),
                            soak_end: describe_minute(end, zone),
                            minimum: lowest,
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
                    let rounded =
                        crate::rollout::round_up_thousandths(value).clamp(0, 1000) as f64 / 1000.0;
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
        let rollout = self.rollout();
        let staging = self.staging();
        let policy = &group.maintenance;
        let mut nodes = Vec::with_capacity(roles.len());
        let mut canary_reboots = Vec::new();
        let mut reboots = Vec::new();
        let mut overlap_spans = Vec::new();
        for decision in &decisions {
            let windows = decision
                .class
                .as_ref()
                .map(|class| zincati_windows(class, policy.window_minutes))
                .unwrap_or_default();
            if let (Some(class), Some((layout, _))) = (&decision.class, windowed) {
                for span in footprints_of(class, layout.footprint_minutes) {
                    overlap_spans.push((span, decision.set.members.len() as u64));
                }
            }
            for (&node_index, &wariness) in decision.set.members.iter().zip(&decision.wariness) {
                let node: &Node = &self.fleet.nodes[node_index];
                let eligible_second = rollout.eligible_second(wariness);
                let staged = seconds_to_minute_ceiling(eligible_second) + staging;
                let reboot_minute = match (&decision.class, windowed) {
                    (Some(class), Some((layout, zone_index))) => {
                        let spans: Vec<WeekSpan> = class
                            .iter()
                            .map(|&start| WeekSpan::new(start, layout.admitted_minutes))
                            .collect();
                        self.zones[zone_index]
                            .first_admitted_minute(&spans, staged)
                            .unwrap_or(staged)
                    }
                    _ => staged,
                };
                if decision.set.role == Role::Canary {
                    canary_reboots.push(reboot_minute);
                }
                reboots.push(reboot_minute);
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
                        eligible_at: DateTime::from_timestamp(eligible_second, 0)
                            .unwrap_or(rollout.start),
                        reboot_at: minute_to_time(reboot_minute),
                    },
                ));
            }
        }
        nodes.sort_by_key(|(index, _)| *index);
        let has_cautious = roles.contains(&Role::Cautious);
        let soak_end = if has_cautious {
            self.soak_end(group, &canary_reboots)
        } else {
            None
        };
        let worst_concurrent_down = match (&policy.strategy, windowed) {
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
            windows_available: windowed.map(|(layout, _)| layout.slot_starts.len()),
            worst_concurrent_down,
            soak_ends_at: soak_end.map(minute_to_time),
            first_reboot_at: reboots.iter().min().copied().map(minute_to_time),
            last_reboot_at: reboots.iter().max().copied().map(minute_to_time),
        };
        (group_plan, nodes)
    }
}

/// Why a group's windows could not be assigned.
#[derive(Debug, Clone)]
enum AssignFailure {
    FleetCap {
        placed: usize,
    },
    Soak {
        soak_end: i64,
        canaries_back: i64,
    },
    PinnedTooEager {
        node: String,
        wariness: f64,
        eligible_minute: i64,
        soak_end: i64,
        minimum: f64,
    },
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
pub(crate) fn describe_periods(policy: &MaintenancePolicy) -> String {
    policy
        .periods
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

/// A minute as people read it in a zone: `Wed 2025-06-04 01:16 CEST`.
pub(crate) fn describe_minute(minute: i64, zone: Tz) -> String {
    zone.from_utc_datetime(&minute_to_time(minute).naive_utc())
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}
