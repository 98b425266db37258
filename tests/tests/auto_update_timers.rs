//! The `podman-auto-update.timer` drop-ins fleet renders, read by the real systemd: every node whose
//! containers auto-update enables the timer (system-wide for root's containers, per user for rootless
//! ones) with a drop-in that `systemd-analyze verify` accepts without a word beside podman's own
//! timer and service, and whose calendar is the time `fleet plan --format json` shows for the node,
//! its first reboot window's start or, with a `container_updates` schedule, its slot
//! (docs/containers.md), with no random delay.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fleet_ignition::ignition::data_url_contents;
use fleet_tests::binary::run_fleet;
use fleet_tests::quadlet::{host_quadlet, shipped_units};
use serde_json::Value;

const TIMER: &str = "podman-auto-update.timer";
const DROPIN: &str = "10-fleet-schedule.conf";

fn fleet_json(arguments: &[&str]) -> Value {
    let output = run_fleet(arguments).expect("fleet runs");
    assert!(
        output.status.success(),
        "fleet {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// `fleet plan --format json` of the fleet file at `path` (from the tests package), and the directory
/// `fleet render` wrote its nodes' configs into.
fn plan_and_render(path: &str) -> (Value, tempfile::TempDir) {
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let fleet = fleet.to_str().unwrap();
    let plan = fleet_json(&["plan", fleet, "--format", "json"]);
    let rendered = tempfile::tempdir().unwrap();
    let output = run_fleet(["render", fleet, "--out", rendered.path().to_str().unwrap()]).unwrap();
    assert!(output.status.success());
    (plan, rendered)
}

/// (user?, drop-in text) of every auto-update drop-in in one node's config.
fn dropins(config: &Value) -> Vec<(bool, String)> {
    let mut found = Vec::new();
    for unit in config["systemd"]["units"].as_array().into_iter().flatten() {
        if unit["name"] == TIMER {
            assert_eq!(unit["enabled"], true, "the system timer is enabled: {unit}");
            for dropin in unit["dropins"].as_array().into_iter().flatten() {
                assert_eq!(dropin["name"], DROPIN);
                found.push((false, dropin["contents"].as_str().unwrap().to_owned()));
            }
        }
    }
    for file in config["storage"]["files"].as_array().into_iter().flatten() {
        let path = file["path"].as_str().unwrap();
        if path.ends_with(&format!("/.config/systemd/user/{TIMER}.d/{DROPIN}")) {
            let contents = &file["contents"];
            let bytes = data_url_contents(
                contents["source"].as_str().unwrap(),
                contents["compression"].as_str(),
            )
            .unwrap();
            found.push((true, String::from_utf8(bytes).unwrap()));
        }
    }
    found
}

fn verify(units: &Path, dropin: &str) -> (bool, String) {
    let scratch = tempfile::tempdir().unwrap();
    for unit in [TIMER, "podman-auto-update.service"] {
        std::fs::copy(units.join(unit), scratch.path().join(unit)).unwrap();
    }
    let dropin_directory = scratch.path().join(format!("{TIMER}.d"));
    std::fs::create_dir(&dropin_directory).unwrap();
    std::fs::write(dropin_directory.join(DROPIN), dropin).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(scratch.path().join(TIMER))
        .env(
            "SYSTEMD_UNIT_PATH",
            format!("{}:", scratch.path().display()),
        )
        .current_dir(scratch.path())
        .output()
        .expect("systemd-analyze runs (Debian's systemd package)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_auto_updating_node_gets_a_drop_in_systemd_accepts_at_its_first_window() {
    let Some(quadlet) = host_quadlet("every_auto_updating_node_gets_a_drop_in") else {
        return;
    };
    let (plan, rendered) = plan_and_render("../fleet/fleet.toml");

    let mut seen: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for node in plan["nodes"].as_array().unwrap() {
        let name = node["name"].as_str().unwrap();
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(rendered.path().join(format!("{name}.ign"))).unwrap(),
        )
        .unwrap();
        let window = &node["windows"][0];
        let days: Vec<&str> = window["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|day| day.as_str().unwrap())
            .collect();
        let expected_calendar = format!(
            "OnCalendar={} {}:00 {}",
            days.join(","),
            window["start_time"].as_str().unwrap(),
            node["time_zone"].as_str().unwrap()
        );
        // `fleet plan` shows the same time.
        let shown = &node["container_update"];
        if !shown.is_null() {
            assert_eq!(shown["days"], window["days"], "{name}: {shown}");
            assert_eq!(shown["start_time"], window["start_time"], "{name}: {shown}");
            assert_eq!(shown["time_zone"], node["time_zone"], "{name}: {shown}");
        }
        for (user, dropin) in dropins(&config) {
            let (accepted, complaints) = verify(&shipped_units(&quadlet, user), &dropin);
            assert!(
                accepted && complaints.is_empty(),
                "{name}: systemd-analyze verify: {complaints}\n{dropin}"
            );
            let lines: Vec<&str> = dropin.lines().collect();
            assert!(
                lines.contains(&expected_calendar.as_str()),
                "{name}: {dropin}"
            );
            assert!(
                lines.contains(&"OnCalendar="),
                "{name}: the shipped daily is cleared"
            );
            assert!(lines.contains(&"RandomizedDelaySec=0"), "{name}: {dropin}");
            assert!(
                !shown.is_null(),
                "{name}: a drop-in, but no time in `fleet plan`"
            );
            seen.entry(name.to_owned()).or_default().push(user);
        }
    }
    // The web nodes' rootless site updates in the user's manager, edge's rootful exporter in the
    // system's; db runs no container and gets no timer.
    assert_eq!(seen.get("web-01"), Some(&vec![true]), "{seen:?}");
    assert_eq!(seen.get("edge-1"), Some(&vec![false]), "{seen:?}");
    assert!(!seen.contains_key("db-1"), "{seen:?}");
    assert_eq!(seen.len(), 8, "6 web and 2 edge nodes: {seen:?}");
}

#[test]
fn a_schedule_driven_drop_in_is_accepted_and_fires_at_the_planned_slot() {
    let Some(quadlet) = host_quadlet("a_schedule_driven_drop_in") else {
        return;
    };
    // Immediate reboots, so no windows: the time comes from `[container_updates]` alone.
    let (plan, rendered) = plan_and_render("data/check/valid/containers.toml");

    let mut calendars: BTreeMap<String, String> = BTreeMap::new();
    for node in plan["nodes"].as_array().unwrap() {
        let name = node["name"].as_str().unwrap();
        let shown = &node["container_update"];
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(rendered.path().join(format!("{name}.ign"))).unwrap(),
        )
        .unwrap();
        for (user, dropin) in dropins(&config) {
            assert!(
                !shown.is_null(),
                "{name}: a drop-in, but no time in `fleet plan`"
            );
            let (accepted, complaints) = verify(&shipped_units(&quadlet, user), &dropin);
            assert!(
                accepted && complaints.is_empty(),
                "{name}: systemd-analyze verify: {complaints}\n{dropin}"
            );
            let days: Vec<&str> = shown["days"]
                .as_array()
                .unwrap()
                .iter()
                .map(|day| day.as_str().unwrap())
                .collect();
            let expected = format!(
                "OnCalendar={} {}:00 {}",
                days.join(","),
                shown["start_time"].as_str().unwrap(),
                shown["time_zone"].as_str().unwrap()
            );
            assert!(
                dropin.lines().any(|line| line == expected),
                "{name}: {dropin}"
            );
            calendars.insert(name.to_owned(), expected);
        }
    }
    // web-1, the web group's canary, and db-1, alone in its group, have the first slot of the schedule,
    // in its zone (the maintenance zone is UTC); web-2's own site does not auto-update.
    let first_slot = "OnCalendar=Tue 03:00:00 Europe/Berlin".to_owned();
    assert_eq!(
        calendars,
        BTreeMap::from([
            ("db-1".to_owned(), first_slot.clone()),
            ("web-1".to_owned(), first_slot),
        ])
    );
}
