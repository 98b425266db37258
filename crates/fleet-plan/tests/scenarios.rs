//! Edge cases of the planner, each checked end to end by the independent simulation and with its
//! decisive numbers spelled out.

mod common;

use common::check::{Expect, check_plan, check_prediction, merge_fragments, simulation_ranges};
use common::{FleetBuilder, GroupSpec, at, maintenance, period};
use expect_test::expect;
use fleet_plan::{
    Plan, PlanError, PredictOptions, Prediction, Rollout, plan, predict, zincati_fragments,
};
use fleet_spec::{Canaries, Fleet, Location, MaxUnavailable, Role, UpdateStrategy, Weekday::*};

fn typical() -> PredictOptions {
    // The first Tuesday 14:00 UTC after this date is 2025-06-03.
    PredictOptions::new(Rollout::typical_after(at("2025-06-01T00:00:00Z")))
}

/// Plan `fleet`, check the plan on real instants and its predictions for the typical rollout of every week
/// of 2025, and predict the rollout of 2025-06-03.
fn plan_checked(fleet: &Fleet) -> (Plan, Prediction) {
    let plan = plan(fleet).unwrap_or_else(|error| panic!("{error}"));
    let zones: Vec<_> = fleet
        .groups
        .iter()
        .map(|group| group.maintenance.time_zone)
        .collect();
    let checked = check_plan(
        fleet,
        &plan,
        &simulation_ranges(&zones, at("2025-01-01T00:00:00Z")),
    )
    .unwrap_or_else(|problem| panic!("{problem}"));
    let mut week = Rollout::typical_after(at("2025-01-01T00:00:00Z"));
    while week.start < at("2026-01-01T00:00:00Z") {
        let prediction = predict(&plan, &PredictOptions::new(week)).expect("a valid rollout");
        check_prediction(fleet, &checked, &prediction, Expect::Typical)
            .unwrap_or_else(|problem| panic!("{problem}"));
        week.start += chrono::Duration::days(7);
    }
    let prediction = predict(&plan, &typical()).expect("a valid rollout");
    (plan, prediction)
}

/// `name role wariness windows reboot_at` per node, for compact expectations.
fn summary((plan, prediction): &(Plan, Prediction)) -> String {
    plan.nodes
        .iter()
        .zip(&prediction.nodes)
        .map(|(node, predicted)| {
            let windows: Vec<String> = node
                .windows()
                .iter()
                .map(|window| {
                    format!(
                        "{} {}+{}",
                        window.days_label(),
                        window.start,
                        window.length_minutes
                    )
                })
                .collect();
            format!(
                "{} {} {} [{}] {}\n",
                node.name,
                node.role.as_str(),
                node.rollout_wariness,
                windows.join(", "),
                predicted.reboot_at.format("%a %d %H:%MZ")
            )
        })
        .collect()
}

#[test]
fn the_issue_example_is_infeasible_with_numbers_and_remedies() {
    let policy = maintenance("UTC", vec![period(&[Sat, Sun], "22:00", 240)], 60);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("web", 12, policy).canaries(Canaries::Count(0)))
        .build();
    let error = plan(&fleet).expect_err("12 windows do not fit in 6");
    expect![[r#"group web: 12 nodes at max_unavailable 1 need 12 disjoint windows; the maintenance period Sat,Sun 22:00–02:00 (UTC) with 60-minute windows and a 10-minute allowance holds 6; widen the period, shorten the windows or raise max_unavailable"#]]
        .assert_eq(&error.to_string());
    let PlanError::NotEnoughWindows(shortage) = error else {
        panic!("wrong error")
    };
    assert_eq!((shortage.needed, shortage.available), (12, 6));
}

#[test]
fn canaries_need_windows_of_their_own() {
    let policy = maintenance("UTC", vec![period(&[Sat, Sun], "22:00", 240)], 60);
    let fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("web", 6, policy)
                .max_unavailable(MaxUnavailable::Count(2))
                .canaries(Canaries::Count(1)),
        )
        .build();
    // 1 canary + 5 cautious at 2 per window: 1 + 3 = 4 windows; 6 nodes alone would need 3.
    let planned = plan_checked(&fleet);
    expect![[r#"
        web-01 canary 0 [Sat 22:00+60] Sat 07 22:00Z
        web-02 cautious 1 [Sun 00:30+60] Sun 08 00:30Z
        web-03 cautious 1 [Sun 00:30+60] Sun 08 00:30Z
        web-04 cautious 1 [Sun 22:00+60] Sun 08 22:00Z
        web-05 cautious 1 [Sun 22:00+60] Sun 08 22:00Z
        web-06 cautious 1 [Sun 23:15+60] Sun 08 23:15Z
    "#]]
    .assert_eq(&summary(&planned));
}

#[test]
fn one_node_group_is_cautious_unless_pinned() {
    let policy = maintenance(
        "Europe/Berlin",
        vec![period(&[Tue, Wed, Thu], "01:00", 240)],
        30,
    );
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("solo", 1, policy.clone()))
        .group(GroupSpec::new("pinned", 1, policy))
        .pin_role("pinned-01", Role::Canary)
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    assert_eq!(
        plan.node("solo-01").map(|node| node.role),
        Some(Role::Cautious)
    );
    assert_eq!(
        plan.node("pinned-01").map(|node| node.role),
        Some(Role::Canary)
    );
    assert!(plan.node("pinned-01").is_some_and(|node| node.role_pinned));
    assert_eq!(plan.group("solo").map(|group| group.canaries), Some(0));
}

#[test]
fn percentages_round_down_but_never_below_one() {
    let policy = maintenance(
        "UTC",
        vec![period(&[Mon, Tue, Wed, Thu, Fri], "00:00", 1440)],
        30,
    );
    let group = |name: &str, count: usize, percent: u32| {
        GroupSpec::new(name, count, policy.clone())
            .max_unavailable(MaxUnavailable::Percent(percent))
    };
    let fleet = FleetBuilder::new()
        .group(group("a", 6, 34))
        .group(group("b", 3, 10))
        .group(group("c", 10, 25))
        .group(group("d", 4, 100))
        .group(GroupSpec::new("e", 10, policy.clone()).canaries(Canaries::Fraction(0.3)))
        .group(GroupSpec::new("f", 10, policy.clone()).canaries(Canaries::Fraction(0.25)))
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    let bounds: Vec<usize> = plan
        .groups
        .iter()
        .map(|group| group.max_unavailable)
        .collect();
    assert_eq!(bounds, vec![2, 1, 2, 4, 1, 1]);
    let canaries: Vec<usize> = plan.groups.iter().map(|group| group.canaries).collect();
    assert_eq!(canaries, vec![1, 1, 1, 1, 3, 2]);
    assert!(
        plan.groups
            .iter()
            .all(|group| group.worst_concurrent_down <= group.max_unavailable as u64)
    );
}

#[test]
fn windows_cross_midnight_and_the_week_end() {
    // Sunday 23:00 for 3 hours runs into Monday; a 40-minute window at 23:55 crosses midnight and the week.
    let policy = maintenance("America/New_York", vec![period(&[Sun], "23:00", 180)], 40);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("night", 3, policy).canaries(Canaries::Count(0)))
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    expect![[r#"
        night-01 cautious 1 [Sun 23:00+40] Mon 09 03:00Z
        night-02 cautious 1 [Sun 23:55+40] Mon 09 03:55Z
        night-03 cautious 1 [Mon 00:50+40] Mon 09 04:50Z
    "#]]
    .assert_eq(&summary(&planned));
    // Zincati reads Sunday 23:55 + 40 as two pieces, Sunday to the week's end and Monday from 00:00.
    let fragments = zincati_fragments(&plan.nodes[1]).expect("valid");
    let merged = merge_fragments(&fragments);
    assert_eq!(
        merged.windows,
        vec![("Sun".to_owned(), "23:55".to_owned(), 40)]
    );
}

#[test]
fn pinned_roles_and_wariness_are_honoured() {
    let policy = maintenance(
        "Europe/Berlin",
        vec![
            period(&[Tue, Wed, Thu], "01:00", 240),
            period(&[Sat], "22:00", 480),
        ],
        60,
    );
    let fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("db", 3, policy)
                .canaries(Canaries::Count(0))
                .soak(1440),
        )
        .pin_role("db-01", Role::Canary)
        .pin_wariness("db-03", 0.9)
        .build();
    let planned = plan_checked(&fleet);
    expect![[r#"
        db-01 canary 0 [Tue–Thu 01:00+60] Tue 03 23:00Z
        db-02 cautious 0.714 [Tue–Thu 03:30+60] Thu 05 01:30Z
        db-03 cautious 0.9 [Sat 22:00+60] Sat 07 20:00Z
    "#]]
    .assert_eq(&summary(&planned));
}

#[test]
fn a_pinned_wariness_too_eager_for_the_soak_is_refused() {
    // Windows all week and an eight-day soak: the unpinned cautious node (wariness 1.0, eligible Thursday)
    // still finds a Thursday-morning window after the soak, but the pin at 0.05 sees the release on
    // Tuesday and every window of the week would come first.
    let policy = maintenance(
        "UTC",
        vec![period(&[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "00:00", 1440)],
        30,
    );
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("api", 3, policy).soak(8 * 1440))
        .pin_wariness("api-03", 0.05)
        .build();
    let error = plan(&fleet).expect_err("0.05 sees the release within the soak");
    assert!(
        matches!(error, PlanError::PinnedWarinessTooEager { .. }),
        "{error}"
    );
    expect!["node api-03: its pinned rollout_wariness 0.05 lets it see the release at Tue 16:25 UTC, before the canaries of group api finish soaking at Wed 14:32 UTC the week after, in a typical rollout (Tuesday 14:00 UTC over 48 hours); raise it to at least 1 or remove the pin"].assert_eq(&error.to_string());

    // With windows every day, a window after the soak exists even for the eager pin: it is chosen.
    let policy = maintenance(
        "UTC",
        vec![period(&[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "00:00", 1440)],
        30,
    );
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("api", 3, policy).soak(600))
        .pin_wariness("api-03", 0.05)
        .build();
    let planned = plan_checked(&fleet);
    expect![[r#"
        api-01 canary 0 [Mon–Sun 14:15+30] Tue 03 14:15Z
        api-02 cautious 0.22 [Mon–Sun 01:30+30] Wed 04 01:30Z
        api-03 cautious 0.05 [Mon–Sun 00:45+30] Wed 04 00:45Z
    "#]]
    .assert_eq(&summary(&planned));
}

#[test]
fn a_soak_longer_than_the_rollout_needs_windows_that_wait() {
    // Fridays only, a ten-day soak: every Friday window comes before the soak ends, even for wariness 1.0.
    let fridays = maintenance("UTC", vec![period(&[Fri], "03:00", 120)], 30);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("slow", 3, fridays).soak(10 * 1440))
        .build();
    let error = plan(&fleet).expect_err("a ten-day soak outlasts the rollout");
    assert!(matches!(error, PlanError::SoakImpossible(_)), "{error}");
    expect!["group slow: the cautious nodes cannot wait out the canaries' soak in a typical rollout (Tuesday 14:00 UTC over 48 hours): the canaries are back by Fri 03:16 UTC and soak 14400 minutes until Mon 03:16 UTC the week after, but even at rollout_wariness 1.0 a node sees the release at Thu 14:00 UTC and every window left for the cautious nodes opens between then and the end of the soak; shorten soak_minutes or widen the maintenance periods"].assert_eq(&error.to_string());

    // Windows every day and a four-day soak: the cautious nodes get windows after the soak ends, days of
    // their own where the classes of seven days would open before it.
    let daily = maintenance(
        "UTC",
        vec![period(&[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "03:00", 120)],
        30,
    );
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("daily", 3, daily).soak(4 * 1440))
        .build();
    let planned = plan_checked(&fleet);
    expect![[r#"
        daily-01 canary 0 [Wed 03:00+30] Wed 04 03:00Z
        daily-02 cautious 1 [Mon 03:00+30] Mon 09 03:00Z
        daily-03 cautious 1 [Tue 03:00+30] Tue 10 03:00Z
    "#]]
    .assert_eq(&summary(&planned));

    // Sundays only and a three-day soak: Zincati cannot skip a window, so the cautious nodes (eligible by
    // Thursday at the latest) would reboot on the canary's Sunday.
    let sundays = maintenance("UTC", vec![period(&[Sun], "03:00", 120)], 30);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("weekly", 3, sundays).soak(3 * 1440))
        .build();
    assert!(matches!(
        fleet_plan::plan(&fleet),
        Err(PlanError::SoakImpossible(_))
    ));
}

#[test]
fn the_fleet_cap_spreads_groups_apart() {
    let policy = maintenance(
        "Europe/Berlin",
        vec![period(&[Tue, Wed, Thu], "01:00", 240)],
        30,
    );
    let fleet = FleetBuilder::new()
        .cap(1)
        .group(GroupSpec::new("a", 3, policy.clone()))
        .group(GroupSpec::new("b", 3, policy.clone()))
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    assert_eq!(plan.worst_concurrent_reboots, 1);
    // Three groups of three need nine windows; the period holds five slots a night on 5-minute boundaries
    // (six at any minute), one node each, in classes of three days: after the first group takes three
    // classes, the others get single days.
    let fleet = FleetBuilder::new()
        .cap(1)
        .group(GroupSpec::new("a", 3, policy.clone()))
        .group(GroupSpec::new("b", 3, policy.clone()))
        .group(GroupSpec::new("c", 3, policy.clone()))
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    assert_eq!(plan.worst_concurrent_reboots, 1);
    let single_days = |group: &str| {
        plan.nodes
            .iter()
            .filter(|node| node.group == group)
            .all(|node| node.windows().iter().all(|window| window.days.len() == 1))
    };
    assert!(!single_days("a") && single_days("b") && single_days("c"));
    // Seven groups need 21 windows: the 18 slots cannot hold them.
    let mut builder = FleetBuilder::new().cap(1);
    for name in ["a", "b", "c", "d", "e", "f", "g"] {
        builder = builder.group(GroupSpec::new(name, 3, policy.clone()));
    }
    let error = fleet_plan::plan(&builder.build()).expect_err("21 windows in 18 slots");
    expect!["group g: the fleet-wide max_concurrent_reboots 1 leaves room for 0 of the 3 windows it needs beside the groups planned before it (a, b, c, d, e, f); raise max_concurrent_reboots, give the groups different maintenance periods or lower max_unavailable"].assert_eq(&error.to_string());
}

#[test]
fn the_fleet_cap_too_small_for_unwindowed_groups_is_refused() {
    let mut policy = maintenance("UTC", vec![period(&[Sun], "00:00", 600)], 30);
    policy.strategy = UpdateStrategy::FleetLock {
        base_url: "http://airlock:3333".to_owned(),
    };
    let fleet = FleetBuilder::new()
        .cap(2)
        .group(GroupSpec::new("locked", 6, policy).max_unavailable(MaxUnavailable::Count(3)))
        .build();
    let error = plan(&fleet).expect_err("3 slots exceed the cap of 2");
    expect![[r#"max_concurrent_reboots 2 leaves no room for windows: groups that reboot outside windows may already have 3 nodes down at once (locked 3); raise max_concurrent_reboots or move those groups to the periodic strategy"#]]
        .assert_eq(&error.to_string());
}

#[test]
fn daylight_saving_spans_are_left_out_and_said_so() {
    let policy = maintenance("Europe/Berlin", vec![period(&[Sun], "01:00", 180)], 50);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("dst", 4, policy).canaries(Canaries::Count(0)))
        .build();
    let error = plan(&fleet).expect_err("the hour 02:00–03:00 is unusable");
    expect![[r#"group dst: 4 nodes at max_unavailable 1 need 4 disjoint windows; the maintenance period Sun 01:00–04:00 (Europe/Berlin) with 50-minute windows and a 10-minute allowance holds 1 (Sun 02:00–03:00 left out: daylight-saving changes in Europe/Berlin skip or repeat it); widen the period, shorten the windows or raise max_unavailable"#]]
        .assert_eq(&error.to_string());
}

#[test]
fn fleet_lock_groups_order_by_wariness_alone() {
    let mut policy = maintenance("UTC", vec![], 30);
    policy.strategy = UpdateStrategy::FleetLock {
        base_url: "http://airlock.example:3333/".to_owned(),
    };
    let fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("locked", 4, policy)
                .max_unavailable(MaxUnavailable::Count(2))
                .soak(120),
        )
        .build();
    let planned = plan_checked(&fleet);
    let plan = &planned.0;
    expect![[r#"
        locked-01 canary 0 [] Tue 03 14:15Z
        locked-02 cautious 0.1 [] Tue 03 19:04Z
        locked-03 cautious 0.55 [] Wed 04 16:40Z
        locked-04 cautious 1 [] Thu 05 14:15Z
    "#]]
    .assert_eq(&summary(&planned));
    let airlock =
        fleet_plan::airlock_config(plan, &fleet_plan::AirlockOptions::default()).expect("one URL");
    expect![[r#"
        # airlock configuration written by `fleet plan --airlock-config`: one reboot group per fleet
        # group using the fleet_lock strategy, with as many slots as the group's max_unavailable.
        # airlock writes slot counts into etcd only when a group's key is first created: after changing
        # max_unavailable, update the semaphore in etcd too.
        [service]
        address = "0.0.0.0"
        port = 3333
        tls = false

        [etcd3]
        endpoints = ["http://127.0.0.1:2379"]

        [lock]
        default_group_name = "default"
        default_slots = 1

        [[lock.groups]]
        name = "locked"
        slots = 2
    "#]]
    .assert_eq(&airlock);
}

#[test]
fn a_rollout_other_than_the_typical_one_is_predicted_and_warned_about() {
    // Windows every night, two hours of soak: made for 48-hour rollouts. A 6-hour rollout from Wednesday
    // offers the release to the cautious nodes before the canary's window, so they could reboot first.
    let policy = maintenance(
        "Europe/Berlin",
        vec![period(&[Mon, Tue, Wed, Thu, Fri, Sat, Sun], "01:00", 240)],
        30,
    );
    let fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("web", 4, policy)
                .max_unavailable(MaxUnavailable::Count(1))
                .soak(120),
        )
        .build();
    let (plan, _) = plan_checked(&fleet);
    let checked = check_plan(
        &fleet,
        &plan,
        &simulation_ranges(
            &[fleet.groups[0].maintenance.time_zone],
            at("2025-06-01T00:00:00Z"),
        ),
    )
    .expect("the plan holds");
    let short = PredictOptions::new(Rollout {
        start: at("2025-06-04T14:00:00Z"),
        duration_minutes: 6 * 60,
        start_fraction: 0.0,
    });
    let prediction = predict(&plan, &short).expect("a valid rollout");
    check_prediction(&fleet, &checked, &prediction, Expect::AnyRollout)
        .unwrap_or_else(|problem| panic!("{problem}"));
    expect![[r#"
        web-01 canary 0 [Mon–Sun 01:00+30] Wed 04 23:00Z
        web-02 cautious 0.678 [Mon–Sat 01:45+30] Wed 04 23:45Z
        web-03 cautious 0.693 [Mon–Sat 02:30+30] Thu 05 00:30Z
        web-04 cautious 0.724 [Mon–Sat 04:00+30] Thu 05 02:00Z
    "#]]
    .assert_eq(&summary(&(plan.clone(), prediction.clone())));
    let warnings: Vec<String> = prediction
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    expect![[r#"
        [
            "group web: in this rollout cautious nodes web-02 and web-03 could reboot from Thu 2025-06-05 01:45 CEST, before the canaries finish soaking at Thu 2025-06-05 03:16 CEST; the plan keeps canaries first in the typical rollout (Tuesday 14:00 UTC, 48 hours, from 0, 15-minute staging), not in this one",
        ]
    "#]]
    .assert_debug_eq(&warnings);
    // The typical rollout of that week keeps the order: no warning.
    let typical = predict(&plan, &typical()).expect("a valid rollout");
    assert!(typical.warnings.is_empty(), "{:?}", typical.warnings);
}

#[test]
fn every_problem_of_every_group_is_reported_at_once_where_it_is_caused() {
    let saturday = maintenance("UTC", vec![period(&[Sat], "02:00", 120)], 60);
    let mut immediate = saturday.clone();
    immediate.strategy = UpdateStrategy::Immediate;
    // A cap the unwindowed group alone exceeds, a group whose period holds too few windows, and one
    // that would be fine: the cap's problem does not hide the window shortage.
    let fleet = FleetBuilder::new()
        .cap(2)
        .group(GroupSpec::new("batch", 3, immediate).max_unavailable(MaxUnavailable::Percent(100)))
        .group(GroupSpec::new("web", 6, saturday.clone()))
        .group(GroupSpec::new("one", 1, saturday))
        .build();
    let error = plan(&fleet).expect_err("two problems");
    let problems: Vec<(Option<Location>, String)> = error
        .problems()
        .into_iter()
        .map(|problem| (problem.location(), problem.to_string()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(problems[0].0, Some(common::CAP_LOCATION));
    assert!(
        problems[0].1.starts_with(
            "max_concurrent_reboots 2 leaves no room for windows: groups that reboot outside windows \
             may already have 3 nodes down at once (batch 3)"
        ),
        "{}",
        problems[0].1
    );
    assert_eq!(problems[1].0, Some(common::group_location(1)));
    assert!(
        problems[1]
            .1
            .starts_with("group web: 6 nodes at max_unavailable 1 need 6 disjoint windows;"),
        "{}",
        problems[1].1
    );
}

#[test]
fn too_few_windows_after_the_soak_say_so_instead_of_blaming_a_cap_nobody_set() {
    // Six windows on Saturday; the canary takes 01:00 and soaks until 02:16, so only four open later.
    let saturday = maintenance("UTC", vec![period(&[Sat], "01:00", 480)], 60);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("web", 6, saturday))
        .build();
    let error = plan(&fleet).expect_err("too few windows after the soak");
    let problems = error.problems();
    assert_eq!(problems.len(), 1, "{error}");
    assert_eq!(problems[0].location(), Some(common::group_location(0)));
    expect![[r#"group web: the canaries are back and have soaked by Sat 02:16 UTC in a typical rollout (Tuesday 14:00 UTC over 48 hours), and only 4 of the group's windows open after that before the next rollout; its 5 cautious nodes at max_unavailable 1 need 5 windows; widen the maintenance periods, shorten soak_minutes or window_minutes, or raise max_unavailable"#]]
    .assert_eq(&problems[0].to_string());
}

#[test]
fn one_node_needs_one_window_in_the_singular() {
    // Sunday 02:00-02:30 in Berlin is skipped or repeated by a daylight-saving change: no window fits.
    let gap = maintenance("Europe/Berlin", vec![period(&[Sun], "02:00", 30)], 5);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("solo", 1, gap))
        .build();
    let error = plan(&fleet).expect_err("no window");
    let message = error.to_string();
    assert!(
        message.starts_with("group solo: 1 node at max_unavailable 1 needs 1 window;"),
        "{message}"
    );
    assert_eq!(error.location(), Some(common::group_location(0)));
}

#[test]
fn plans_find_their_nodes_and_groups_by_name() {
    let policy = maintenance("UTC", vec![period(&[Tue, Wed, Thu], "01:00", 300)], 30);
    let fleet = FleetBuilder::new()
        .group(GroupSpec::new("a", 40, policy.clone()).max_unavailable(MaxUnavailable::Percent(20)))
        .group(GroupSpec::new("b", 40, policy).max_unavailable(MaxUnavailable::Percent(20)))
        .build();
    let plan = plan(&fleet).expect("plannable");
    for (position, node) in fleet.nodes.iter().enumerate() {
        let found = plan.node(&node.name).expect("every node has a plan");
        assert!(std::ptr::eq(found, &plan.nodes[position]), "{}", node.name);
    }
    assert_eq!(plan.group("b").map(|group| group.nodes), Some(40));
    assert!(plan.node("a-41").is_none());
    assert!(plan.group("c").is_none());
}
