//! Host placement: capacity, anti-affinity per host and per zone, pins, stability and clear errors.

#![expect(
    clippy::disallowed_methods,
    reason = "the case count and verbosity come from the environment, as proptest's do"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{FleetBuilder, GroupSpec, maintenance, period};
use expect_test::expect;
use fleet_plan::{
    MoveReason, PlaceOptions, Placement, PlacementPlan, PlanError, UnknownCapacity, place,
};
use fleet_spec::{Fleet, HostCapacity, MaxUnavailable, Weekday};
use proptest::prelude::*;

fn policy() -> fleet_spec::MaintenancePolicy {
    maintenance("UTC", vec![period(&[Weekday::Sat], "00:00", 600)], 30)
}

fn place_after(fleet: &Fleet, previous: &Placement) -> Result<PlacementPlan, PlanError> {
    place(
        fleet,
        &PlaceOptions {
            previous,
            measured: &BTreeMap::new(),
            unknown_capacity: UnknownCapacity::Refuse,
        },
    )
}

fn place_fresh(fleet: &Fleet) -> Result<PlacementPlan, PlanError> {
    place_after(fleet, &Placement::new())
}

/// Check every promise of a placement independently of how it was made.
fn check(fleet: &Fleet, placed: &PlacementPlan) -> Result<(), String> {
    let host_of: BTreeMap<&str, &str> = placed.placement.iter().collect();
    let mut used: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for node in &fleet.nodes {
        let host = host_of
            .get(node.name.as_str())
            .ok_or_else(|| format!("{} is not placed", node.name))?;
        if let Some(pinned) = &node.pinned_host
            && pinned != host
        {
            return Err(format!(
                "{} is pinned to {pinned} but placed on {host}",
                node.name
            ));
        }
        let entry = used.entry(host).or_default();
        entry.0 += u64::from(node.settings.vcpus);
        entry.1 += node.settings.memory_mib;
        entry.2 += node.settings.disk_gib;
    }
    for host in &fleet.hosts {
        let (vcpus, memory, disk) = used.get(host.name.as_str()).copied().unwrap_or_default();
        let capacity = host.capacity;
        let vcpu_limit =
            (f64::from(capacity.vcpus.unwrap_or(u32::MAX)) * host.vcpu_overcommit).floor() as u64;
        if vcpus > vcpu_limit
            || memory > capacity.memory_mib.unwrap_or(u64::MAX)
            || disk > capacity.disk_gib.unwrap_or(u64::MAX)
        {
            return Err(format!(
                "host {} is over capacity: {vcpus} vCPUs, {memory} MiB, {disk} GiB",
                host.name
            ));
        }
    }
    for group in &fleet.groups {
        let size = group.nodes.len();
        let bound = group
            .rollout
            .max_unavailable
            .resolve(size)
            .clamp(1, size.max(1));
        let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
        let mut per_zone: BTreeMap<String, usize> = BTreeMap::new();
        for node in fleet.group_nodes(group) {
            let host_name = host_of[node.name.as_str()];
            *per_host.entry(host_name).or_default() += 1;
            if let Some(label) = &group.spread_over {
                let host = fleet
                    .hosts
                    .iter()
                    .find(|host| host.name == host_name)
                    .ok_or("unknown host")?;
                let zone = host.labels.get(label).ok_or_else(|| {
                    format!(
                        "{} is on {host_name}, which lacks the {label} label",
                        node.name
                    )
                })?;
                *per_zone.entry(zone.clone()).or_default() += 1;
            }
        }
        if let Some((host, count)) = per_host.iter().find(|(_, count)| **count > bound) {
            return Err(format!(
                "group {}: {count} nodes on {host}, bound {bound}",
                group.name
            ));
        }
        if let Some((zone, count)) = per_zone.iter().find(|(_, count)| **count > bound) {
            return Err(format!(
                "group {}: {count} nodes in zone {zone}, bound {bound}",
                group.name
            ));
        }
    }
    Ok(())
}

#[test]
fn a_fleet_without_hosts_uses_its_single_connection() {
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("web", 3, policy()))
        .build();
    let placed = place_fresh(&fleet).expect("nothing to place");
    assert!(placed.placement.is_empty());
    assert!(placed.hosts.is_empty());
}

#[test]
fn groups_spread_over_hosts_within_their_bound() {
    let fleet = FleetBuilder::new()
        .host("a", 16, 32768, 500, &[])
        .host("b", 16, 32768, 500, &[])
        .host("c", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 6, policy()).max_unavailable(MaxUnavailable::Count(2)))
        .group(GroupSpec::new("db", 3, policy()))
        .build();
    let placed = place_fresh(&fleet).expect("fits");
    check(&fleet, &placed).expect("valid");
    let summary: Vec<String> = placed
        .placement
        .iter()
        .map(|(node, host)| format!("{node}@{host}"))
        .collect();
    expect!["db-01@a db-02@b db-03@c web-01@a web-02@b web-03@c web-04@a web-05@b web-06@c"]
        .assert_eq(&summary.join(" "));
    assert_eq!(
        placed
            .hosts
            .iter()
            .map(|host| host.nodes)
            .collect::<Vec<_>>(),
        vec![3, 3, 3]
    );
}

#[test]
fn spreading_over_zones_bounds_each_zone() {
    let fleet = FleetBuilder::new()
        .host("a1", 8, 16384, 200, &[("zone", "a")])
        .host("a2", 8, 16384, 200, &[("zone", "a")])
        .host("b1", 8, 16384, 200, &[("zone", "b")])
        .host("bare", 64, 65536, 900, &[])
        .group(GroupSpec::new("web", 2, policy()).spread_over("zone"))
        .build();
    let placed = place_fresh(&fleet).expect("two zones for two nodes");
    check(&fleet, &placed).expect("valid");
    let zones: BTreeSet<&str> = placed
        .placement
        .iter()
        .map(|(_, host)| if host.starts_with('a') { "a" } else { "b" })
        .collect();
    assert_eq!(zones.len(), 2);

    let fleet = FleetBuilder::new()
        .host("a1", 8, 16384, 200, &[("zone", "a")])
        .host("a2", 8, 16384, 200, &[("zone", "a")])
        .host("bare", 64, 65536, 900, &[])
        .group(GroupSpec::new("web", 2, policy()).spread_over("zone"))
        .build();
    let error = place_fresh(&fleet).expect_err("one zone for two nodes at bound 1");
    expect!["node web-02 (2 vCPUs, 2048 MiB, 10 GiB) fits on no host: a1 already carries 1 node of group web, its max_unavailable; zone a already carries 1 node of group web, its max_unavailable; bare has no zone label, which group web spreads over; group web (2 nodes at max_unavailable 1) needs at least 2 different zone values, the fleet has 1: add hosts or raise max_unavailable"].assert_eq(&error.to_string());
}

#[test]
fn capacity_errors_give_the_numbers() {
    let fleet = FleetBuilder::new()
        .host("small", 2, 4096, 40, &[])
        .host("tiny", 1, 1024, 20, &[])
        .group(GroupSpec::new("web", 2, policy()).max_unavailable(MaxUnavailable::Count(2)))
        .group(GroupSpec::new("db", 1, policy()).resources(2, 8192, 50))
        .build();
    let error = place_fresh(&fleet).expect_err("db needs 8 GiB");
    expect![[r#"
        node web-02 (2 vCPUs, 2048 MiB, 10 GiB) fits on no host: small has 0 of 2 vCPUs free, 2 needed; tiny has 1 of 1 vCPUs free, 2 needed, 1024 of 1024 MiB free, 2048 needed; add hosts or capacity
        node db-01 (2 vCPUs, 8192 MiB, 50 GiB) fits on no host: small has 0 of 2 vCPUs free, 2 needed, 2048 of 4096 MiB free, 8192 needed, 30 of 40 GiB free, 50 needed; tiny has 1 of 1 vCPUs free, 2 needed, 1024 of 1024 MiB free, 8192 needed, 20 of 20 GiB free, 50 needed; add hosts or capacity"#]].assert_eq(&error.to_string());
}

#[test]
fn vcpu_overcommit_multiplies_cpus() {
    let mut fleet = FleetBuilder::new()
        .host("a", 2, 65536, 500, &[])
        .group(GroupSpec::new("web", 4, policy()).max_unavailable(MaxUnavailable::Percent(100)))
        .build();
    assert!(place_fresh(&fleet).is_err(), "8 vCPUs on 2");
    fleet.hosts[0].vcpu_overcommit = 4.0;
    let placed = place_fresh(&fleet).expect("8 vCPUs on 2 x 4");
    assert_eq!(placed.hosts[0].capacity.vcpus, Some(8));
}

#[test]
fn measured_capacity_fills_what_the_file_leaves_out() {
    let mut fleet = FleetBuilder::new()
        .host("a", 4, 8192, 100, &[])
        .group(GroupSpec::new("web", 1, policy()))
        .build();
    fleet.hosts[0].capacity.memory_mib = None;
    let error = place_fresh(&fleet).expect_err("memory unknown");
    expect!["host a: its memory_mib capacity is not in fleet.toml and was not read from the host; set capacity.memory_mib under [[host]] or let fleet read it through libvirt"].assert_eq(&error.to_string());
    let measured = BTreeMap::from([(
        "a".to_owned(),
        HostCapacity {
            vcpus: Some(1),
            memory_mib: Some(4096),
            disk_gib: None,
        },
    )]);
    let placed = place(
        &fleet,
        &PlaceOptions {
            previous: &Placement::new(),
            measured: &measured,
            unknown_capacity: UnknownCapacity::Refuse,
        },
    )
    .expect("measured memory");
    // fleet.toml's 4 vCPUs win over the measured 1; the measured memory fills the gap.
    assert_eq!(placed.hosts[0].capacity.vcpus, Some(4));
    assert_eq!(placed.hosts[0].capacity.memory_mib, Some(4096));
}

#[test]
fn pins_are_honoured_or_refused_with_reasons() {
    let fleet = FleetBuilder::new()
        .host("a", 16, 32768, 500, &[])
        .host("b", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 2, policy()))
        .pin_host("web-02", "a")
        .build();
    let placed = place_fresh(&fleet).expect("fits");
    assert_eq!(placed.placement.host_of("web-02"), Some("a"));
    assert_eq!(placed.placement.host_of("web-01"), Some("b"));

    let fleet = FleetBuilder::new()
        .host("a", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 2, policy()))
        .pin_host("web-01", "a")
        .pin_host("web-02", "a")
        .pin_host("web-02", "a")
        .build();
    let error = place_fresh(&fleet).expect_err("two of a bound-1 group on one host");
    expect!["node web-02 is pinned to host a but a already carries 1 node of group web, its max_unavailable"].assert_eq(&error.to_string());

    let fleet = FleetBuilder::new()
        .host("a", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 1, policy()))
        .pin_host("web-01", "nowhere")
        .build();
    let error = place_fresh(&fleet).expect_err("unknown host");
    expect!["node web-01 is pinned to host nowhere, which the fleet does not define (hosts: a)"]
        .assert_eq(&error.to_string());
}

#[test]
fn a_refused_pin_does_not_hide_the_other_groups_problems() {
    let fleet = FleetBuilder::new()
        .host("a", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 2, policy()))
        .pin_host("web-01", "a")
        .pin_host("web-02", "a")
        .group(GroupSpec::new("db", 1, policy()).resources(64, 2048, 10))
        .build();
    let error = place_fresh(&fleet).expect_err("a pin and a size problem");
    let problems: Vec<(Option<fleet_spec::Location>, String)> = error
        .problems()
        .into_iter()
        .map(|problem| (problem.location(), problem.to_string()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(problems[0].0, Some(common::group_location(0)));
    assert!(
        problems[0]
            .1
            .starts_with("node web-02 is pinned to host a but")
    );
    assert_eq!(problems[1].0, Some(common::group_location(1)));
    assert!(
        problems[1].1.starts_with("node db-01 (64 vCPUs"),
        "{}",
        problems[1].1
    );
}

#[test]
fn nodes_stay_put_unless_their_host_goes() {
    let hosts = |builder: FleetBuilder| {
        builder
            .host("a", 16, 32768, 500, &[])
            .host("b", 16, 32768, 500, &[])
            .host("c", 16, 32768, 500, &[])
    };
    let before = hosts(FleetBuilder::new())
        .group(GroupSpec::new("web", 4, policy()).max_unavailable(MaxUnavailable::Count(2)))
        .build();
    let first = place_fresh(&before).expect("fits");

    // Adding a node, a group and a host moves nobody.
    let after = hosts(FleetBuilder::new())
        .host("d", 16, 32768, 500, &[])
        .group(GroupSpec::new("web", 5, policy()).max_unavailable(MaxUnavailable::Count(2)))
        .group(GroupSpec::new("db", 2, policy()))
        .build();
    let second = place_after(&after, &first.placement).expect("fits");
    assert!(second.moves.is_empty(), "{:?}", second.moves);
    check(&after, &second).expect("valid");

    // Removing host b moves exactly b's nodes, for that reason.
    let mut without_b = after.clone();
    without_b.hosts.retain(|host| host.name != "b");
    let third = place_after(&without_b, &second.placement).expect("fits");
    let on_b: BTreeSet<&str> = second
        .placement
        .iter()
        .filter(|(_, host)| *host == "b")
        .map(|(node, _)| node)
        .collect();
    let moved: BTreeSet<&str> = third
        .moves
        .iter()
        .map(|change| change.node.as_str())
        .collect();
    assert_eq!(moved, on_b);
    assert!(
        third
            .moves
            .iter()
            .all(|change| change.reason == MoveReason::HostGone)
    );
}

#[derive(Debug, Clone)]
struct RandomFleet {
    hosts: Vec<(u32, u64, u64, u8, f64)>,
    groups: Vec<(usize, u32, bool, u32, u64, u64)>,
}

fn random_fleet() -> impl Strategy<Value = RandomFleet> {
    (
        prop::collection::vec(
            (
                1_u32..32,
                1024_u64..65536,
                20_u64..800,
                0_u8..4,
                prop_oneof![Just(1.0), Just(2.0), Just(1.5)],
            ),
            1..8,
        ),
        prop::collection::vec(
            (
                1_usize..10,
                1_u32..4,
                any::<bool>(),
                1_u32..5,
                512_u64..8192,
                5_u64..80,
            ),
            1..5,
        ),
    )
        .prop_map(|(hosts, groups)| RandomFleet { hosts, groups })
}

fn build(random: &RandomFleet, extra_nodes: usize) -> Fleet {
    let mut builder = FleetBuilder::new();
    for (index, &(vcpus, memory, disk, zone, _)) in random.hosts.iter().enumerate() {
        let zone = format!("z{zone}");
        builder = builder.host(
            &format!("h{index}"),
            vcpus,
            memory,
            disk,
            &[("zone", zone.as_str())],
        );
    }
    for (index, &(count, bound, spread, vcpus, memory, disk)) in random.groups.iter().enumerate() {
        let count = if index == 0 {
            count + extra_nodes
        } else {
            count
        };
        let mut spec = GroupSpec::new(&format!("g{index}"), count, policy())
            .max_unavailable(MaxUnavailable::Count(bound))
            .resources(vcpus, memory, disk);
        if spread {
            spec = spec.spread_over("zone");
        }
        builder = builder.group(spec);
    }
    let mut fleet = builder.build();
    for (host, random_host) in fleet.hosts.iter_mut().zip(&random.hosts) {
        host.vcpu_overcommit = random_host.4;
    }
    fleet
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn placements_respect_capacity_and_bounds_and_stay_put(random in random_fleet(), extra in 1_usize..3) {
        let fleet = build(&random, 0);
        let verbose = std::env::var_os("PLAN_PROPTEST_VERBOSE").is_some();
        match place_fresh(&fleet) {
            Ok(placed) => {
                if verbose {
                    eprintln!("OK {} nodes on {} hosts", fleet.nodes.len(), fleet.hosts.len());
                }
                if let Err(problem) = check(&fleet, &placed) {
                    prop_assert!(false, "{}", problem);
                }
                prop_assert_eq!(&placed, &place_fresh(&fleet).expect("again"), "deterministic");
                // Adding nodes to the first group moves nobody already placed.
                let grown = build(&random, extra);
                if let Ok(again) = place_after(&grown, &placed.placement) {
                    prop_assert!(again.moves.is_empty(), "moves: {:?}", again.moves);
                    if let Err(problem) = check(&grown, &again) {
                        prop_assert!(false, "{}", problem);
                    }
                }
            }
            Err(error) => {
                let text = error.to_string();
                if verbose {
                    eprintln!("ERR {}", text.split(':').next().unwrap_or_default());
                }
                prop_assert!(text.starts_with("node ") || text.starts_with("host "), "{}", text);
            }
        }
    }
}
