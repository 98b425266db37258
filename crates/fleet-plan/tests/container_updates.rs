//! Property tests of container update times, checked on the times alone, apart from how the planner
//! makes them.
//!
//! Without a schedule, over random periodic groups: every node with an auto-updated container gets a
//! time, and no `max_unavailable + 1` nodes of a group start updating within one window's length of
//! each other in the week. With a `container_updates` schedule, over random groups of every strategy,
//! periods, zones and soaks: (a) no more than `max_unavailable` nodes of a group have overlapping
//! slots, (b) in the schedule's week (from the first period opening after a pause) every canary's slot
//! ends at least the soak before any cautious node's starts, (c) every slot lies inside the periods.

#![expect(
    clippy::disallowed_methods,
    reason = "the case count comes from the environment, as proptest's does"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{FleetBuilder, GroupSpec, maintenance, period, random_periods};
use fleet_plan::{PlanError, plan};
use fleet_spec::{
    AutoUpdate, Canaries, Container, ContainerLocations, ContainerOwner, ContainerUpdateSchedule,
    Fleet, Location, MaintenancePeriod, MaxUnavailable, NodeSettings, QuadletKeys, RestartPolicy,
    Role, Tz, UpdateStrategy, Weekday,
};
use proptest::prelude::*;

const WEEK: i64 = 7 * 1440;

fn site(auto_update: AutoUpdate) -> Container {
    Container {
        name: "site".to_owned(),
        image: "docker.io/library/nginx:1.27".to_owned(),
        owner: ContainerOwner::User("core".to_owned()),
        ports: Vec::new(),
        volumes: Vec::new(),
        environment: BTreeMap::new(),
        environment_files: Vec::new(),
        exec: None,
        health: None,
        auto_update,
        pod: None,
        network: None,
        memory: None,
        cpus: None,
        restart: RestartPolicy::Always,
        quadlet: QuadletKeys::default(),
        declared_at: ContainerLocations::default(),
    }
}

/// A period: day mask, start in five-minute steps, length in minutes.
type RandomPeriod = (u8, u16, u32);
/// A group: node count, max_unavailable, periods, window length.
type RandomGroup = (usize, u32, Vec<RandomPeriod>, u32);

/// A fleet of `groups` whose nodes all run `site`, auto-updated on every node but those `untouched`
/// says.
fn fleet(groups: &[RandomGroup], untouched: usize) -> Fleet {
    let mut builder = FleetBuilder::new();
    for (index, (count, max_unavailable, periods, window)) in groups.iter().enumerate() {
        let periods = random_periods(periods);
        builder = builder.group(
            GroupSpec::new(
                &format!("g{index}"),
                *count,
                maintenance("Europe/Berlin", periods, *window),
            )
            .max_unavailable(MaxUnavailable::Count(*max_unavailable))
            .canaries(Canaries::Count(1)),
        );
    }
    let mut fleet = builder.build();
    give_containers(&mut fleet, untouched);
    fleet
}

/// Every node runs `site`, auto-updated but on those `untouched` says.
fn give_containers(fleet: &mut Fleet, untouched: usize) {
    for (position, node) in fleet.nodes.iter_mut().enumerate() {
        let mut settings = NodeSettings::clone(&node.settings);
        let policy = if untouched > 0 && position % untouched == 0 {
            AutoUpdate::Off
        } else {
            AutoUpdate::Registry
        };
        settings.containers = vec![site(policy)];
        node.settings = Arc::new(settings);
    }
}

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
];

/// Where the test says group `index`'s schedule is written.
fn schedule_location(index: usize) -> Location {
    Location {
        line: 100 + index as u32,
        column: 1,
    }
}

/// A group with a schedule: node count, max_unavailable, canaries, soak, strategy (0 periodic,
/// 1 fleet_lock, 2 immediate), the schedule's periods, zone and slot length.
type ScheduledGroup = (
    usize,
    u32,
    u32,
    u32,
    u8,
    Vec<RandomPeriod>,
    &'static str,
    u32,
);

fn scheduled_fleet(groups: &[ScheduledGroup], untouched: usize) -> Fleet {
    let mut builder = FleetBuilder::new();
    for (index, group) in groups.iter().enumerate() {
        let (count, max_unavailable, canaries, soak, strategy, periods, zone, window) = group;
        // Reboot windows that always fit: every day, all day, 30-minute windows.
        let mut policy = maintenance("UTC", random_periods(&[(127, 0, 1440)]), 30);
        let mut bound = MaxUnavailable::Count(*max_unavailable);
        policy.strategy = match *strategy {
            1 => UpdateStrategy::FleetLock {
                base_url: "http://airlock.example:3333".to_owned(),
            },
            2 => {
                // Immediate reboots are accepted only unbounded.
                bound = MaxUnavailable::Percent(100);
                UpdateStrategy::Immediate
            }
            _ => UpdateStrategy::Periodic,
        };
        builder = builder.group(
            GroupSpec::new(&format!("g{index}"), *count, policy)
                .max_unavailable(bound)
                .canaries(Canaries::Count(*canaries))
                .soak(*soak)
                .container_updates(ContainerUpdateSchedule {
                    time_zone: zone.parse::<Tz>().expect("known zone"),
                    periods: random_periods(periods),
                    window_minutes: *window,
                    declared_at: schedule_location(index),
                }),
        );
    }
    let mut fleet = builder.build();
    give_containers(&mut fleet, untouched);
    fleet
}

/// The wall-clock minutes of the week inside `periods`.
fn inside(periods: &[MaintenancePeriod]) -> Vec<bool> {
    let mut allowed = vec![false; WEEK as usize];
    for period in periods {
        let start = i64::from(period.start.hour) * 60 + i64::from(period.start.minute);
        for day in &period.days {
            let opens = i64::from(day.num_days_from_monday()) * 1440 + start;
            for offset in 0..i64::from(period.length_minutes) {
                allowed[(opens + offset).rem_euclid(WEEK) as usize] = true;
            }
        }
    }
    allowed
}

/// Where the schedule's week begins: the first minute from Monday 00:00 inside a period whose minute
/// before is outside every period; Monday 00:00 when the periods leave no pause.
fn week_begins(allowed: &[bool]) -> i64 {
    (0..WEEK)
        .find(|&minute| {
            allowed[minute as usize] && !allowed[(minute - 1).rem_euclid(WEEK) as usize]
        })
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_more_than_max_unavailable_nodes_of_a_group_update_containers_within_a_window(
        groups in prop::collection::vec(
            (
                1_usize..12,
                1_u32..4,
                prop::collection::vec((1_u8..128, 0_u16..288, 30_u32..600), 1..3),
                prop_oneof![Just(30_u32), 5_u32..120],
            ),
            1..3,
        ),
        untouched in 0_usize..4,
    ) {
        let fleet = fleet(&groups, untouched);
        let Ok(planned) = plan(&fleet) else {
            // Periods too short for the group: the reboot invariants' tests cover the refusal.
            return Ok(());
        };
        for (group_index, group) in fleet.groups.iter().enumerate() {
            let bound = group.rollout.max_unavailable.resolve(group.nodes.len());
            let window = i64::from(group.maintenance.window_minutes);
            let mut starts: Vec<(i64, usize)> = Vec::new();
            for node_index in group.nodes.clone() {
                let node = &fleet.nodes[node_index];
                let node_plan = &planned.nodes[node_index];
                let updates = node.settings.containers.iter().any(|container| container.auto_update != AutoUpdate::Off);
                prop_assert_eq!(
                    node_plan.container_update.is_some(),
                    updates,
                    "{}: a time exactly when a container auto-updates", node.name
                );
                if let Some(time) = &node_plan.container_update {
                    prop_assert_eq!(time.time_zone, group.maintenance.time_zone);
                    for day in &time.days {
                        let minute = i64::from(day.num_days_from_monday()) * 1440
                            + i64::from(time.start.hour) * 60
                            + i64::from(time.start.minute);
                        starts.push((minute, node_index));
                    }
                }
            }
            for &(first, _) in &starts {
                let mut updating: Vec<usize> = starts
                    .iter()
                    .filter(|(minute, _)| (minute - first).rem_euclid(WEEK) < window)
                    .map(|(_, node)| *node)
                    .collect();
                updating.sort_unstable();
                updating.dedup();
                prop_assert!(
                    updating.len() <= bound,
                    "group {group_index}: {} nodes start updating containers within {window} minutes of minute {first} of the week, max_unavailable is {bound}: {updating:?}",
                    updating.len()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_schedule_bounds_orders_and_contains_every_groups_container_updates(
        groups in prop::collection::vec(
            (
                1_usize..12,
                1_u32..4,
                0_u32..3,
                prop_oneof![Just(0_u32), 1_u32..240],
                prop_oneof![4 => Just(0_u8), 1 => Just(1_u8), 1 => Just(2_u8)],
                prop::collection::vec((1_u8..128, 0_u16..288, 30_u32..900), 1..3),
                prop::sample::select(ZONES),
                prop_oneof![Just(15_u32), 5_u32..90],
            ),
            1..3,
        ),
        untouched in 0_usize..4,
    ) {
        let fleet = scheduled_fleet(&groups, untouched);
        let planned = match plan(&fleet) {
            Ok(planned) => planned,
            Err(error) => {
                // Only a schedule too small for its group, said at the schedule's line.
                for problem in error.problems() {
                    let PlanError::NotEnoughContainerUpdateSlots(shortage) = problem else {
                        return Err(TestCaseError::fail(format!("unexpected error: {problem}")));
                    };
                    let index: usize = shortage.group[1..].parse().expect("gN");
                    prop_assert_eq!(problem.location(), Some(schedule_location(index)));
                    prop_assert!(shortage.available < shortage.needed || shortage.after_soak_note.contains("after the soak"), "{}", problem);
                }
                return Ok(());
            }
        };
        for (group_index, group) in fleet.groups.iter().enumerate() {
            let schedule = group.container_updates.as_ref().expect("every group has one");
            let bound = group.rollout.max_unavailable.resolve(group.nodes.len()).max(1);
            let window = i64::from(schedule.window_minutes);
            let allowed = inside(&schedule.periods);
            let begins = week_begins(&allowed);
            // Each node's slot: its start minute in the week, and its role.
            let mut slots: Vec<(i64, usize, Role)> = Vec::new();
            for node_index in group.nodes.clone() {
                let node = &fleet.nodes[node_index];
                let node_plan = &planned.nodes[node_index];
                let updates = node.settings.containers.iter().any(|container| container.auto_update != AutoUpdate::Off);
                prop_assert_eq!(node_plan.container_update.is_some(), updates, "{}: a time exactly when a container auto-updates", &node.name);
                let Some(time) = &node_plan.container_update else { continue };
                prop_assert_eq!(time.time_zone, schedule.time_zone);
                prop_assert_eq!(i64::from(time.window_minutes), window);
                prop_assert_eq!(time.days.len(), 1, "one slot a week");
                let start = i64::from(time.days[0].num_days_from_monday()) * 1440
                    + i64::from(time.start.hour) * 60
                    + i64::from(time.start.minute);
                // (c) The whole slot, its closing minute too, inside the periods.
                for offset in 0..=window {
                    prop_assert!(
                        allowed[(start + offset).rem_euclid(WEEK) as usize],
                        "group {group_index}: {}'s slot at minute {start} leaves the periods at +{offset}", &node.name
                    );
                }
                slots.push((start, node_index, node_plan.role));
            }
            // (a) Slots overlapping any one slot's start: at most the bound.
            for &(first, _, _) in &slots {
                let overlapping = slots
                    .iter()
                    .filter(|(start, _, _)| (first - start).rem_euclid(WEEK) < window)
                    .count();
                prop_assert!(
                    overlapping <= bound,
                    "group {group_index}: {overlapping} nodes update containers at minute {first}, max_unavailable is {bound}"
                );
            }
            // (b) In the schedule's week, canaries' slots end the soak before cautious nodes' start.
            let relative = |start: i64| (start - begins).rem_euclid(WEEK);
            let soak = i64::from(group.rollout.soak_minutes);
            for &(canary, canary_node, _) in slots.iter().filter(|slot| slot.2 == Role::Canary) {
                for &(cautious, cautious_node, _) in slots.iter().filter(|slot| slot.2 == Role::Cautious) {
                    prop_assert!(
                        relative(canary) + window + soak <= relative(cautious),
                        "group {group_index}: canary {} updates at minute {canary}, cautious {} at {cautious}: less than the {soak}-minute soak after the canary's slot (week from minute {begins})",
                        &fleet.nodes[canary_node].name,
                        &fleet.nodes[cautious_node].name
                    );
                }
            }
        }
    }
}

#[test]
fn a_fleet_lock_group_with_a_schedule_is_staggered_canaries_first() {
    // Tue and Thu 03:00–04:00 Berlin, 15-minute slots (03:00, 03:20, 03:40 on 5-minute boundaries), 2
    // at a time, one canary, a 30-minute soak: the canary at Tue 03:00; its slot ends 03:15 and the soak
    // 03:45, after Tuesday's last slot, so the four cautious nodes go two by two on Thursday.
    let mut policy = maintenance("UTC", Vec::new(), 60);
    policy.strategy = UpdateStrategy::FleetLock {
        base_url: "http://airlock.example:3333".to_owned(),
    };
    let schedule = ContainerUpdateSchedule {
        time_zone: "Europe/Berlin".parse().expect("zone"),
        periods: vec![period(&[Weekday::Tue, Weekday::Thu], "03:00", 60)],
        window_minutes: 15,
        declared_at: schedule_location(0),
    };
    let mut fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("edge", 5, policy)
                .max_unavailable(MaxUnavailable::Count(2))
                .soak(30)
                .container_updates(schedule),
        )
        .build();
    give_containers(&mut fleet, 0);
    let planned = plan(&fleet).expect("the schedule holds the group");
    let calendars: Vec<String> = planned
        .nodes
        .iter()
        .map(|node| {
            node.container_update
                .as_ref()
                .expect("a time")
                .on_calendar()
        })
        .collect();
    assert_eq!(
        calendars,
        [
            "Tue 03:00:00 Europe/Berlin",
            "Thu 03:00:00 Europe/Berlin",
            "Thu 03:00:00 Europe/Berlin",
            "Thu 03:20:00 Europe/Berlin",
            "Thu 03:20:00 Europe/Berlin",
        ]
    );

    // Tuesday 03:00–04:15 alone: at any minute it holds four slots (03:00, 03:16, 03:32, 03:48), of
    // which one starts after the soak, and four cautious nodes need two.
    let mut smaller = fleet.clone();
    smaller.groups[0]
        .container_updates
        .as_mut()
        .expect("schedule")
        .periods = vec![period(&[Weekday::Tue], "03:00", 75)];
    let error = plan(&smaller).expect_err("too small");
    assert_eq!(error.location(), Some(schedule_location(0)));
    assert_eq!(
        error.to_string(),
        "group edge: 5 nodes with auto-updated containers at max_unavailable 2 need 3 disjoint container \
         update slots (1 for canaries, then the 30-minute soak, then 2 for cautious nodes); the container \
         update period Tue 03:00–04:15 (Europe/Berlin) with 15-minute slots holds 4, of which 1 opens after \
         the soak; widen the periods, shorten window_minutes or soak_minutes, or raise max_unavailable"
    );
}
