//! Property tests over random fleets and policies: every promise of the plan, checked on real instants by
//! an independent simulation (tests/common/check.rs), for the typical rollout of every week of a year and
//! for an arbitrary rollout (where a broken order must be warned about), or an explained error; never a panic.

#![expect(
    clippy::disallowed_methods,
    reason = "the case count and verbosity come from the environment, as proptest's do"
)]

mod common;

use common::check::{Expect, check_plan, check_prediction, simulation_ranges};
use common::{FleetBuilder, GroupSpec, at, maintenance, period, random_period, random_periods};
use fleet_plan::{PlanError, PredictOptions, Rollout, plan, predict};
use fleet_spec::{Canaries, Fleet, MaxUnavailable, Role, Tz, UpdateStrategy, Weekday};
use proptest::prelude::*;

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
];

#[derive(Debug, Clone)]
struct RandomGroup {
    count: usize,
    max_unavailable: MaxUnavailable,
    canaries: Canaries,
    soak_minutes: u32,
    zone: &'static str,
    periods: Vec<(u8, u16, u32)>,
    window_minutes: u32,
    allowance_minutes: u32,
    strategy: u8,
    pins: Vec<(usize, Option<Role>, Option<f64>)>,
}

fn random_group() -> impl Strategy<Value = RandomGroup> {
    (
        1_usize..12,
        prop_oneof![
            (1_u32..4).prop_map(MaxUnavailable::Count),
            (1_u32..=100).prop_map(MaxUnavailable::Percent)
        ],
        prop_oneof![
            (0_u32..3).prop_map(Canaries::Count),
            (0.0_f64..=1.0).prop_map(Canaries::Fraction)
        ],
        prop_oneof![Just(0_u32), 1_u32..180, 180_u32..2000],
        prop::sample::select(ZONES),
        prop::collection::vec((1_u8..128, 0_u16..(24 * 12), 30_u32..1800), 1..4),
        5_u32..90,
        0_u32..30,
        prop_oneof![8 => Just(0_u8), 1 => Just(1_u8), 1 => Just(2_u8)],
        prop::collection::vec(
            (
                0_usize..12,
                prop::option::of(prop_oneof![Just(Role::Canary), Just(Role::Cautious)]),
                prop::option::weighted(
                    0.3,
                    (0_u32..=1000).prop_map(|thousandths| f64::from(thousandths) / 1000.0),
                ),
            ),
            0..3,
        ),
    )
        .prop_map(
            |(
                count,
                max_unavailable,
                canaries,
                soak_minutes,
                zone,
                periods,
                window_minutes,
                allowance_minutes,
                strategy,
                pins,
            )| {
                RandomGroup {
                    count,
                    max_unavailable,
                    canaries,
                    soak_minutes,
                    zone,
                    periods,
                    window_minutes,
                    allowance_minutes,
                    strategy,
                    pins,
                }
            },
        )
}

fn build_fleet(groups: &[RandomGroup], cap: Option<u32>) -> Fleet {
    let mut builder = FleetBuilder::new();
    if let Some(cap) = cap {
        builder = builder.cap(cap);
    }
    for (index, random) in groups.iter().enumerate() {
        let periods = random_periods(&random.periods);
        let mut policy = maintenance(random.zone, periods, random.window_minutes);
        policy.reboot_allowance_minutes = random.allowance_minutes;
        policy.strategy = match random.strategy {
            1 => UpdateStrategy::FleetLock {
                base_url: "http://airlock.example:3333".to_owned(),
            },
            2 => UpdateStrategy::Immediate,
            _ => UpdateStrategy::Periodic,
        };
        let name = format!("g{index}");
        builder = builder.group(
            GroupSpec::new(&name, random.count, policy)
                .max_unavailable(random.max_unavailable)
                .canaries(random.canaries)
                .soak(random.soak_minutes),
        );
        for &(node, role, wariness) in &random.pins {
            if node >= random.count {
                continue;
            }
            let node_name = format!("{name}-{:02}", node + 1);
            if let Some(role) = role {
                builder = builder.pin_role(&node_name, role);
            }
            if let Some(wariness) = wariness {
                builder = builder.pin_wariness(&node_name, wariness);
            }
        }
    }
    builder.build()
}

fn zones_of(fleet: &Fleet) -> Vec<Tz> {
    fleet
        .groups
        .iter()
        .map(|group| group.maintenance.time_zone)
        .collect()
}

/// Errors the planner may rightly return for a random fleet: each names the group or node and the numbers.
fn is_explained(error: &PlanError) -> bool {
    error.problems().iter().all(|problem| {
        let text = problem.to_string();
        !text.is_empty()
            && (text.starts_with("group ")
                || text.starts_with("node ")
                || text.starts_with("max_concurrent_reboots"))
            && text.chars().next().is_some_and(|c| c.is_lowercase())
    })
}

proptest! {
    // 48 cases by default; PROPTEST_CASES=1000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_promise_holds_on_real_instants(
        groups in prop::collection::vec(random_group(), 1..4),
        cap in prop::option::weighted(0.4, 1_u32..8),
        first_day in 0_i64..(19 * 365),
        rollout_day in 0_i64..7,
        duration_hours in prop_oneof![Just(48_u32), 12_u32..96],
        start_fraction in prop_oneof![Just(0.0_f64), 0.0_f64..0.5],
        staging in prop_oneof![Just(15_u32), 0_u32..120],
    ) {
        let fleet = build_fleet(&groups, cap);
        let year_start = at("2025-01-01T00:00:00Z") + chrono::Duration::days(first_day);
        match plan(&fleet) {
            Ok(planned) => {
                if std::env::var_os("PLAN_PROPTEST_VERBOSE").is_some() { eprintln!("OK {} nodes", planned.nodes.len()); }
                let again = plan(&fleet).expect("the same input plans again");
                prop_assert_eq!(&planned, &again, "planning is deterministic");
                let ranges = simulation_ranges(&zones_of(&fleet), year_start);
                let checked = match check_plan(&fleet, &planned, &ranges) {
                    Ok(checked) => checked,
                    Err(problem) => return Err(TestCaseError::fail(problem)),
                };
                // The typical rollout of every week of a year: canaries first with the soak, no warning.
                let mut week = Rollout::typical_after(year_start);
                for _ in 0..53 {
                    let prediction = predict(&planned, &PredictOptions::new(week)).expect("a valid rollout");
                    if let Err(problem) = check_prediction(&fleet, &checked, &prediction, Expect::Typical) {
                        prop_assert!(false, "{}", problem);
                    }
                    week.start += chrono::Duration::days(7);
                }
                // Any other rollout: predictions follow the formulas, and a broken order is warned about.
                let mut rollout = Rollout::typical_after(year_start + chrono::Duration::days(rollout_day));
                rollout.duration_minutes = duration_hours * 60;
                rollout.start_fraction = start_fraction;
                let options = PredictOptions { rollout, staging_allowance_minutes: staging };
                let prediction = predict(&planned, &options).expect("a valid rollout");
                if let Err(problem) = check_prediction(&fleet, &checked, &prediction, Expect::AnyRollout) {
                    prop_assert!(false, "{}", problem);
                }
            }
            Err(error) => {
                if std::env::var_os("PLAN_PROPTEST_VERBOSE").is_some() { eprintln!("ERR {error}"); }
                prop_assert!(is_explained(&error), "unexplained error: {error}")
            }
        }
    }
}

#[test]
fn a_period_straddling_each_transition_keeps_the_bound() {
    // Sunday 00:00–05:00 covers the change in Berlin and New York (02:00/03:00) and Lord Howe (01:30–02:30).
    for zone in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
        let sunday_night = vec![period(&[Weekday::Sun], "00:00", 300)];
        let fleet = FleetBuilder::new()
            .cap(3)
            .group(GroupSpec::new("a", 4, maintenance(zone, sunday_night.clone(), 20)).soak(0))
            .group(
                GroupSpec::new("b", 4, maintenance(zone, sunday_night, 15))
                    .max_unavailable(MaxUnavailable::Count(2))
                    .canaries(Canaries::Count(0)),
            )
            .build();
        let planned = plan(&fleet).unwrap_or_else(|error| panic!("{zone}: {error}"));
        for start in ["2025-03-01T00:00:00Z", "2025-09-20T00:00:00Z"] {
            let ranges = simulation_ranges(&zones_of(&fleet), at(start));
            check_plan(&fleet, &planned, &ranges)
                .unwrap_or_else(|problem| panic!("{zone}: {problem}"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Whatever the fleet file allows (windows up to a week, allowances up to a week, any periods,
    /// rollouts from one minute to years), planning returns a plan within its bounds or an explained
    /// error, and never panics or hangs.
    #[test]
    fn extreme_policies_never_panic(
        count in 1_usize..40,
        bound in 1_u32..50,
        window_minutes in prop_oneof![1_u32..10, 10_u32..=10080],
        allowance_minutes in prop_oneof![0_u32..60, 60_u32..=10080],
        periods in prop::collection::vec((1_u8..128, 0_u16..(24 * 60), 1_u32..=10080), 1..5),
        zone in prop::sample::select(ZONES),
        soak_minutes in prop_oneof![0_u32..100, 100_u32..=100_000],
        duration_minutes in prop_oneof![1_u32..100, 100_u32..=1_000_000],
        start_fraction in 0.0_f64..=1.0,
        staging in 0_u32..10_000,
        cap in prop::option::of(1_u32..100),
        pinned in prop::option::of(0_u32..=1000),
    ) {
        let periods = periods
            .iter()
            .map(|&(day_mask, minute, length)| random_period(day_mask, minute, length))
            .collect();
        let mut policy = maintenance(zone, periods, window_minutes);
        policy.reboot_allowance_minutes = allowance_minutes;
        let mut builder = FleetBuilder::new().group(
            GroupSpec::new("g", count, policy)
                .max_unavailable(MaxUnavailable::Count(bound))
                .soak(soak_minutes),
        );
        if let Some(cap) = cap {
            builder = builder.cap(cap);
        }
        if let Some(thousandths) = pinned {
            builder = builder.pin_wariness("g-01", f64::from(thousandths) / 1000.0);
        }
        let fleet = builder.build();
        let options = PredictOptions {
            rollout: Rollout {
                start: at("2025-03-25T14:00:00Z"),
                duration_minutes,
                start_fraction,
            },
            staging_allowance_minutes: staging,
        };
        match plan(&fleet) {
            Ok(planned) => {
                let prediction = predict(&planned, &options).expect("a valid rollout");
                prop_assert_eq!(prediction.nodes.len(), count);
                prop_assert_eq!(planned.nodes.len(), count);
                for group in &planned.groups {
                    prop_assert!(group.worst_concurrent_down <= group.max_unavailable as u64);
                }
                if let Some(cap) = cap {
                    prop_assert!(planned.worst_concurrent_reboots <= u64::from(cap));
                }
                for node in &planned.nodes {
                    prop_assert!(fleet_plan::zincati_fragments(node).is_ok());
                }
            }
            Err(error) => prop_assert!(is_explained(&error), "unexplained error: {error}"),
        }
    }
}
