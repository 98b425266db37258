//! A group's own container update schedule (`[container_updates]`): every node of the group with an
//! auto-updated container gets one weekly slot inside the schedule's periods, at most `max_unavailable`
//! nodes of the group to a slot, slots disjoint. The week is read from where the schedule begins (the
//! slot cutter's `cycle_start`: the first period opening after a pause): canaries' slots come first,
//! then the group's `soak_minutes` after the last of them ends, then the cautious nodes' slots.
//!
//! The slots are cut by the reboot windows' own cutter (`slots.rs`), with no reboot allowance (a
//! container restart is over within its slot) and around the zone's daylight-saving changes, so that a
//! timer fires exactly once a week at its wall-clock time. This applies to every strategy.

use fleet_spec::{AutoUpdate, ContainerUpdateSchedule, Fleet, Group, Role, Tz};

use crate::container_updates::ContainerUpdateTime;
use crate::error::{ContainerSlotShortage, PlanError};
use crate::planner::{DEFAULT_STAGING_ALLOWANCE_MINUTES, describe_periods, resolved_bound};
use crate::roles::assign_roles;
use crate::slots::{SlotLayout, cut_slots};
use crate::typical::zone_table_span;
use crate::week::{MINUTES_PER_WEEK, WeekSpan, wall_time_of, weekday_of};
use crate::zone::ZoneTable;

/// Slots open on 5-minute boundaries where the periods still hold enough that way, as windows do.
const SLOT_ALIGNMENT_MINUTES: i64 = crate::planner::WINDOW_ALIGNMENT_MINUTES as i64;

/// The container update time of every node in a group with a schedule (by index into `Fleet::nodes`),
/// or every group's reason why its schedule is too small.
pub(crate) fn plan_container_schedules(
    fleet: &Fleet,
) -> Result<Vec<(usize, ContainerUpdateTime)>, Vec<PlanError>> {
    let mut unsafe_spans_by_zone: Vec<(Tz, Vec<WeekSpan>)> = Vec::new();
    let mut times = Vec::new();
    let mut errors = Vec::new();
    for group in &fleet.groups {
        let Some(schedule) = &group.container_updates else {
            continue;
        };
        let zone = schedule.time_zone;
        let unsafe_spans = match unsafe_spans_by_zone
            .iter()
            .find(|(known, _)| *known == zone)
        {
            Some((_, spans)) => spans.clone(),
            None => {
                let (from, to) = zone_table_span(i64::from(DEFAULT_STAGING_ALLOWANCE_MINUTES));
                let spans = ZoneTable::build(zone, from, to).unsafe_spans();
                unsafe_spans_by_zone.push((zone, spans.clone()));
                spans
            }
        };
        match plan_group(fleet, group, schedule, &unsafe_spans) {
            Ok(mut group_times) => times.append(&mut group_times),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(times)
    } else {
        Err(errors)
    }
}

/// Nodes that share a slot: all canaries or all cautious, at most the group's bound.
struct SlotSets {
    canaries: Vec<Vec<usize>>,
    cautious: Vec<Vec<usize>>,
}

fn plan_group(
    fleet: &Fleet,
    group: &Group,
    schedule: &ContainerUpdateSchedule,
    unsafe_spans: &[WeekSpan],
) -> Result<Vec<(usize, ContainerUpdateTime)>, PlanError> {
    let nodes = fleet.group_nodes(group);
    let roles = assign_roles(group.rollout.canaries, nodes);
    let bound = resolved_bound(group, nodes.len());
    let updating = |role: Role| -> Vec<usize> {
        group
            .nodes
            .clone()
            .zip(&roles)
            .filter(|(index, node_role)| {
                **node_role == role
                    && fleet.nodes[*index]
                        .settings
                        .containers
                        .iter()
                        .any(|container| container.auto_update != AutoUpdate::Off)
            })
            .map(|(index, _)| index)
            .collect()
    };
    let chunks = |members: Vec<usize>| -> Vec<Vec<usize>> {
        members
            .chunks(bound.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    };
    let sets = SlotSets {
        canaries: chunks(updating(Role::Canary)),
        cautious: chunks(updating(Role::Cautious)),
    };
    if sets.canaries.is_empty() && sets.cautious.is_empty() {
        return Ok(Vec::new());
    }
    let cut = |alignment: i64| {
        cut_slots(
            &schedule.periods,
            schedule.window_minutes,
            0,
            unsafe_spans,
            alignment,
        )
    };
    let any_minute = cut(1);
    let aligned = cut(SLOT_ALIGNMENT_MINUTES);
    let starts = assign_slots(&aligned, &sets, schedule, group.rollout.soak_minutes)
        .or_else(|_| assign_slots(&any_minute, &sets, schedule, group.rollout.soak_minutes))
        .map_err(|after_soak| shortage(group, schedule, &sets, bound, &any_minute, after_soak))?;
    Ok(sets
        .canaries
        .iter()
        .chain(&sets.cautious)
        .zip(starts)
        .flat_map(|(members, start)| {
            members.iter().map(move |&index| {
                (
                    index,
                    ContainerUpdateTime {
                        days: vec![weekday_of(start)],
                        start: wall_time_of(start),
                        time_zone: schedule.time_zone,
                        window_minutes: schedule.window_minutes,
                    },
                )
            })
        })
        .collect())
}

/// The start (minute of the week) of each set's slot, canary sets first, in order; or, when the layout
/// is too small, how many of its slots open after the soak (`None` when the canaries alone do not fit).
fn assign_slots(
    layout: &SlotLayout,
    sets: &SlotSets,
    schedule: &ContainerUpdateSchedule,
    soak_minutes: u32,
) -> Result<Vec<i64>, Option<usize>> {
    // Minutes into the schedule's week, in its order.
    let mut relative: Vec<i64> = layout
        .slot_starts
        .iter()
        .map(|start| (start - layout.cycle_start).rem_euclid(MINUTES_PER_WEEK))
        .collect();
    relative.sort_unstable();
    let canary_count = sets.canaries.len();
    if relative.len() < canary_count {
        return Err(None);
    }
    let (canary_slots, rest) = relative.split_at(canary_count);
    let soak_end = match (canary_slots.last(), sets.cautious.is_empty()) {
        (Some(last), false) => last + i64::from(schedule.window_minutes) + i64::from(soak_minutes),
        _ => i64::MIN,
    };
    let after_soak: Vec<i64> = rest
        .iter()
        .copied()
        .filter(|&start| start >= soak_end)
        .collect();
    if after_soak.len() < sets.cautious.len() {
        return Err(Some(after_soak.len()));
    }
    Ok(canary_slots
        .iter()
        .chain(&after_soak[..sets.cautious.len()])
        .map(|start| (start + layout.cycle_start).rem_euclid(MINUTES_PER_WEEK))
        .collect())
}

fn shortage(
    group: &Group,
    schedule: &ContainerUpdateSchedule,
    sets: &SlotSets,
    bound: usize,
    layout: &SlotLayout,
    after_soak: Option<usize>,
) -> PlanError {
    let nodes: usize = sets
        .canaries
        .iter()
        .chain(&sets.cautious)
        .map(Vec::len)
        .sum();
    let plural = schedule.periods.len() != 1;
    let after_soak_note = match after_soak {
        Some(count) if !sets.canaries.is_empty() => format!(
            ", of which {count} open{} after the soak",
            if count == 1 { "s" } else { "" }
        ),
        _ => String::new(),
    };
    PlanError::NotEnoughContainerUpdateSlots(Box::new(ContainerSlotShortage {
        group: group.name.clone(),
        nodes,
        max_unavailable: bound,
        needed: sets.canaries.len() + sets.cautious.len(),
        canary_slots: sets.canaries.len(),
        cautious_slots: sets.cautious.len(),
        soak_minutes: group.rollout.soak_minutes,
        periods: format!(
            "the container update period{} {} ({})",
            if plural { "s" } else { "" },
            describe_periods(&schedule.periods),
            schedule.time_zone.name()
        ),
        window_minutes: schedule.window_minutes,
        hold: if plural { "hold" } else { "holds" },
        available: layout.slot_starts.len(),
        after_soak_note,
        at: schedule.declared_at,
    }))
}
