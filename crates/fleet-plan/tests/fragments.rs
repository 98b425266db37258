//! Zincati fragments: their exact text, their merge as Zincati does it, and refusal of anything Zincati
//! would reject.

mod common;

use common::check::{admitted_minutes, merge_fragments};
use common::{FleetBuilder, GroupSpec, maintenance, period};
use expect_test::expect;
use fleet_plan::{
    NodePlan, PlannedStrategy, ZincatiFragment, ZincatiWindow, plan, zincati_fragments,
};
use fleet_spec::{Canaries, MaxUnavailable, Role, UpdateStrategy, WallTime, Weekday};

fn render(fragments: &[ZincatiFragment]) -> String {
    fragments
        .iter()
        .map(|fragment| format!("--- {}\n{}", fragment.file_name, fragment.contents))
        .collect()
}

fn sample_node(strategy: PlannedStrategy) -> NodePlan {
    NodePlan {
        name: "web-01".to_owned(),
        hostname: "web-01".to_owned(),
        group: "web".to_owned(),
        role: Role::Cautious,
        role_pinned: false,
        rollout_wariness: 0.25,
        wariness_pinned: false,
        strategy,
        container_update: None,
    }
}

fn window(days: &[Weekday], hour: u8, minute: u8, length_minutes: u32) -> ZincatiWindow {
    ZincatiWindow {
        days: days.to_vec(),
        start: WallTime { hour, minute },
        length_minutes,
    }
}

#[test]
fn periodic_fragments_are_sectioned_toml() {
    let node = sample_node(PlannedStrategy::Periodic {
        time_zone: "Europe/Berlin".parse().expect("zone"),
        windows: vec![
            window(&[Weekday::Tue, Weekday::Wed, Weekday::Thu], 1, 0, 30),
            window(&[Weekday::Sun], 23, 51, 40),
        ]
        .into(),
    });
    let fragments = zincati_fragments(&node).expect("valid");
    expect![[r#"
        --- 51-rollout-wariness.toml
        # Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.
        [identity]
        rollout_wariness = 0.25
        --- 55-updates-strategy.toml
        # Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.
        [updates]
        strategy = "periodic"

        [updates.periodic]
        time_zone = "Europe/Berlin"

        [[updates.periodic.window]]
        days = ["Tue", "Wed", "Thu"]
        start_time = "01:00"
        length_minutes = 30

        [[updates.periodic.window]]
        days = ["Sun"]
        start_time = "23:51"
        length_minutes = 40
    "#]]
    .assert_eq(&render(&fragments));
    let merged = merge_fragments(&fragments);
    assert_eq!(merged.rollout_wariness, Some(0.25));
    assert_eq!(merged.strategy.as_deref(), Some("periodic"));
    assert_eq!(merged.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(merged.windows.len(), 4);
    // Zincati's own day and time parsing accepts them; Sunday 23:51 + 40 wraps into Monday 00:31.
    let admitted = admitted_minutes(&merged.windows).expect("Zincati accepts these windows");
    assert!(admitted[31] && !admitted[32]);
}

#[test]
fn fleet_lock_fragments_carry_the_group_and_url() {
    let node = sample_node(PlannedStrategy::FleetLock {
        base_url: "http://airlock.example.com:3333".to_owned(),
        group: "web".to_owned(),
    });
    let fragments = zincati_fragments(&node).expect("valid");
    expect![[r#"
        --- 51-rollout-wariness.toml
        # Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.
        [identity]
        rollout_wariness = 0.25
        --- 52-reboot-group.toml
        # Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.
        [identity]
        group = "web"
        --- 55-updates-strategy.toml
        # Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.
        [updates]
        strategy = "fleet_lock"

        [updates.fleet_lock]
        base_url = "http://airlock.example.com:3333"
    "#]]
    .assert_eq(&render(&fragments));
    let merged = merge_fragments(&fragments);
    // Both [identity] fragments merge: the wariness of one and the group of the other survive.
    assert_eq!(merged.rollout_wariness, Some(0.25));
    assert_eq!(merged.group.as_deref(), Some("web"));
}

#[test]
fn anything_zincati_would_reject_is_refused() {
    let berlin = "Europe/Berlin".parse().expect("zone");
    let periodic = |windows: Vec<ZincatiWindow>| {
        sample_node(PlannedStrategy::Periodic {
            time_zone: berlin,
            windows: windows.into(),
        })
    };
    let mut too_wary = periodic(vec![window(&[Weekday::Mon], 1, 0, 30)]);
    too_wary.rollout_wariness = 1.5;
    let mut not_a_number = periodic(vec![window(&[Weekday::Mon], 1, 0, 30)]);
    not_a_number.rollout_wariness = f64::NAN;
    let cases = [
        too_wary,
        not_a_number,
        periodic(vec![]),
        periodic(vec![window(&[Weekday::Mon], 1, 0, 0)]),
        periodic(vec![window(&[Weekday::Mon], 1, 0, 10081)]),
        periodic(vec![window(&[], 1, 0, 30)]),
        periodic(vec![window(&[Weekday::Mon], 24, 0, 30)]),
        periodic(vec![window(&[Weekday::Mon], 1, 60, 30)]),
        sample_node(PlannedStrategy::FleetLock {
            base_url: " ".to_owned(),
            group: "web".to_owned(),
        }),
        sample_node(PlannedStrategy::FleetLock {
            base_url: "http://airlock".to_owned(),
            group: "web_servers".to_owned(),
        }),
    ];
    let messages: Vec<String> = cases
        .iter()
        .map(|node| zincati_fragments(node).expect_err("refused").to_string())
        .collect();
    expect![[r#"
        node web-01: Zincati would reject its configuration: rollout_wariness 1.5 is outside 0.0..=1.0
        node web-01: Zincati would reject its configuration: rollout_wariness NaN is outside 0.0..=1.0
        node web-01: Zincati would reject its configuration: the periodic strategy needs at least one window ("weekly calendar length is zero")
        node web-01: Zincati would reject its configuration: length_minutes 0 is outside 1..=10080
        node web-01: Zincati would reject its configuration: length_minutes 10081 is outside 1..=10080
        node web-01: Zincati would reject its configuration: a window without days would admit nothing
        node web-01: Zincati would reject its configuration: start_time 24:00 is not a time of day
        node web-01: Zincati would reject its configuration: start_time 01:60 is not a time of day
        node web-01: Zincati would reject its configuration: fleet_lock needs a non-empty base_url
        node web-01: Zincati would reject its configuration: group "web_servers" is not a valid Zincati group (letters, digits, '.' and '-' only)"#]].assert_eq(&messages.join("\n"));
    // The longest window Zincati takes, a whole week, is fine.
    assert!(zincati_fragments(&periodic(vec![window(&[Weekday::Mon], 0, 0, 10080)])).is_ok());
}

#[test]
fn planned_fragments_merge_back_into_the_plan() {
    let policy = maintenance(
        "America/New_York",
        vec![period(&[Weekday::Sat, Weekday::Sun], "22:00", 300)],
        45,
    );
    let mut locked = policy.clone();
    locked.strategy = UpdateStrategy::FleetLock {
        base_url: "https://airlock.example.com/".to_owned(),
    };
    let fleet = FleetBuilder::new()
        .group(
            GroupSpec::new("web", 5, policy)
                .max_unavailable(MaxUnavailable::Count(2))
                .canaries(Canaries::Count(1)),
        )
        .group(GroupSpec::new("api", 3, locked))
        .build();
    let planned = plan(&fleet).expect("plannable");
    for node in &planned.nodes {
        let merged = merge_fragments(&zincati_fragments(node).expect("valid"));
        assert_eq!(merged.rollout_wariness, Some(node.rollout_wariness));
        assert_eq!(merged.strategy.as_deref(), Some(node.strategy.name()));
        match &node.strategy {
            PlannedStrategy::Periodic { time_zone, windows } => {
                assert_eq!(merged.time_zone.as_deref(), Some(time_zone.name()));
                let expected: Vec<(String, String, i64)> = windows
                    .iter()
                    .flat_map(|window| {
                        window.days.iter().map(move |day| {
                            (
                                fleet_plan::day_abbreviation(*day).to_owned(),
                                window.start_time(),
                                i64::from(window.length_minutes),
                            )
                        })
                    })
                    .collect();
                assert_eq!(merged.windows, expected, "{}", node.name);
            }
            PlannedStrategy::FleetLock { base_url, group } => {
                assert_eq!(
                    merged.fleet_lock_base_url.as_deref(),
                    Some(base_url.as_str())
                );
                assert_eq!(merged.group.as_deref(), Some(group.as_str()));
            }
            PlannedStrategy::Immediate => {}
        }
    }
}
