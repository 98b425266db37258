//! Property test of container update times over random periodic groups: every node with an
//! auto-updated container gets a time, and however its group is planned, no `max_unavailable + 1`
//! nodes of a group start updating within one window's length of each other in the week (so no more
//! than `max_unavailable` restart their containers at once while an update takes at most a window).
//! Checked on the times alone, apart from how the planner makes them.

#![expect(
    clippy::disallowed_methods,
    reason = "the case count comes from the environment, as proptest's does"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{FleetBuilder, GroupSpec, maintenance, period};
use fleet_plan::plan;
use fleet_spec::{
    AutoUpdate, Canaries, Container, ContainerLocations, ContainerOwner, Fleet, MaxUnavailable,
    NodeSettings, QuadletKeys, RestartPolicy, Weekday,
};
use proptest::prelude::*;

const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];
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
        let periods = periods
            .iter()
            .map(|&(mask, five_minutes, length)| {
                let days: Vec<Weekday> = DAYS
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| mask & (1 << bit) != 0)
                    .map(|(_, day)| *day)
                    .collect();
                let minutes = five_minutes * 5;
                period(&days, &format!("{}:{}", minutes / 60, minutes % 60), length)
            })
            .collect();
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
    fleet
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
