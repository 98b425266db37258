//! `fleet plan` over the example fleet and every fleet file in `tests/data/plan/`: the table, JSON and CSV
//! outputs (or the error for infeasible fleets) must equal their snapshots, the JSON must keep its
//! documented contract, output must be byte-identical across runs and tables must fit 100 columns.
//!
//! Snapshots are refreshed with `UPDATE_EXPECT=1 cargo test -p fleet-tests --test plan`.
//! Every run predicts for the same moment (`--now`), so snapshots never depend on the clock; the plan
//! itself (roles, wariness, windows) is the same whatever the moment, which a test checks across seasons.
//!
//! The binary under test is rebuilt once per run (`fleet_tests::binary::fresh_fleet_binary`), since
//! `cargo test` does not rebuild another package's binary; `FLEET_BIN` overrides it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use expect_test::expect_file;

/// Every run pretends it is this moment: the typical rollout is then Tuesday 2025-06-03 14:00 UTC.
const NOW: &str = "2025-06-01T00:00:00Z";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/plan")
}

/// The fleet files in `tests/data/plan/`, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/plan exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in tests/data/plan");
    cases
}

/// Run `fleet plan FLEET --now NOW ARGS` in `directory` (so messages name files relatively).
fn plan(directory: &Path, fleet: &str, arguments: &[&str]) -> Output {
    Command::new(fleet_tests::binary::fresh_fleet_binary().expect("the fleet binary builds"))
        .arg("plan")
        .arg(fleet)
        .args(["--now", NOW])
        .args(arguments)
        .current_dir(directory)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("the fleet binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

fn snapshot(name: &str) -> PathBuf {
    data_dir().join(name)
}

/// Compare a run's output to `<stem>.<extension>`, or its stderr to `<stem>.stderr` when it fails.
fn check_run(stem: &str, extension: &str, output: &Output) {
    if output.status.success() {
        assert!(
            output.stderr.is_empty(),
            "{stem}: unexpected stderr {}",
            text(&output.stderr)
        );
        expect_file![snapshot(&format!("{stem}.{extension}"))].assert_eq(&text(&output.stdout));
    } else {
        assert_eq!(output.status.code(), Some(1), "{stem}: exit status");
        assert!(output.stdout.is_empty(), "{stem}: stdout on failure");
        expect_file![snapshot(&format!("{stem}.stderr"))].assert_eq(&text(&output.stderr));
    }
}

fn assert_fits_100_columns(stem: &str, table: &str) {
    for line in table.lines() {
        let width = line.chars().count();
        assert!(width <= 100, "{stem}: a line of {width} columns: {line:?}");
    }
}

#[test]
fn every_case_matches_its_snapshots() {
    for case in cases() {
        let stem = case
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("UTF-8 name");
        let file = format!("{stem}.toml");
        let table = plan(&data_dir(), &file, &[]);
        check_run(stem, "table", &table);
        assert_fits_100_columns(stem, &text(&table.stdout));
        if table.status.success() {
            check_run(
                stem,
                "json",
                &plan(&data_dir(), &file, &["--format", "json"]),
            );
        }
    }
}

#[test]
fn the_example_fleet_matches_its_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let table = plan(&root, "fleet/fleet.toml", &[]);
    check_run("example", "table", &table);
    assert_fits_100_columns("example", &text(&table.stdout));
    check_run(
        "example",
        "json",
        &plan(&root, "fleet/fleet.toml", &["--format", "json"]),
    );
    check_run(
        "example",
        "csv",
        &plan(&root, "fleet/fleet.toml", &["--format", "csv"]),
    );
}

#[test]
fn the_same_input_gives_byte_identical_output() {
    for case in ["hosts.toml", "rounding.toml"] {
        for format in ["table", "json", "csv"] {
            let first = plan(&data_dir(), case, &["--format", format]);
            let second = plan(&data_dir(), case, &["--format", format]);
            assert!(first.status.success(), "{case}: {}", text(&first.stderr));
            assert_eq!(first.stdout, second.stdout, "{case} --format {format}");
        }
    }
}

/// What `fleet plan --format json` says nodes receive, without the predictions for one rollout.
fn assignment_of(plan: &serde_json::Value) -> serde_json::Value {
    let mut assignment = plan.clone();
    let object = assignment.as_object_mut().expect("an object");
    for key in ["rollout", "staging_allowance_minutes", "warnings"] {
        object.remove(key);
    }
    for group in object["groups"].as_array_mut().expect("groups") {
        let group = group.as_object_mut().expect("a group");
        for key in ["soak_ends_at", "first_reboot_at", "last_reboot_at"] {
            assert!(group.remove(key).is_some(), "{key}");
        }
    }
    for node in object["nodes"].as_array_mut().expect("nodes") {
        let node = node.as_object_mut().expect("a node");
        for key in ["eligible_at", "reboot_at"] {
            assert!(node.remove(key).is_some(), "{key}");
        }
    }
    assignment
}

#[test]
fn the_plan_is_the_same_in_every_season() {
    // Winter, the week before the EU's spring change, summer, the week before its autumn change: the
    // predictions move with the rollout and the zone's offset, what nodes receive does not.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plans: Vec<serde_json::Value> = [
        "2026-01-05T00:00:00Z",
        "2026-03-23T00:00:00Z",
        "2026-07-06T00:00:00Z",
        "2026-10-19T00:00:00Z",
    ]
    .iter()
    .map(|now| {
        let output = Command::new(fleet_tests::binary::fresh_fleet_binary().expect("fleet builds"))
            .args(["plan", "fleet/fleet.toml", "--format", "json", "--now", now])
            .current_dir(&root)
            .output()
            .expect("the fleet binary runs");
        assert!(output.status.success(), "{}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("JSON")
    })
    .collect();
    for plan in &plans {
        assert_eq!(
            plan["warnings"],
            serde_json::json!([]),
            "the typical rollout keeps canaries first"
        );
        assert_eq!(assignment_of(plan), assignment_of(&plans[0]));
    }
    // Winter and summer rollouts reboot web-01 at the same local time, an hour apart in UTC.
    let web_01 = |plan: &serde_json::Value| plan["nodes"][0]["reboot_at"].clone();
    assert_eq!(web_01(&plans[0]), "2026-01-07T00:00:00Z");
    assert_eq!(web_01(&plans[2]), "2026-07-07T23:00:00Z");
}

#[test]
fn a_rollout_that_breaks_canaries_first_is_warned_about() {
    // A 12-hour rollout offers the release to cautious nodes before the canaries have soaked: the plan is
    // not changed for it, the prediction says so, and planning still succeeds.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let short = ["--rollout-duration", "12h"];
    let table = plan(&root, "fleet/fleet.toml", &short);
    check_run("example-12h-rollout", "table", &table);
    assert_fits_100_columns("example-12h-rollout", &text(&table.stdout));
    let json = plan(
        &root,
        "fleet/fleet.toml",
        &[&short[..], &["--format", "json"]].concat(),
    );
    check_run("example-12h-rollout", "json", &json);
    let warned: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let groups: Vec<&str> = warned["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|warning| warning["group"].as_str().expect("a group"))
        .collect();
    assert_eq!(groups, ["web", "db"]);
    let typical: serde_json::Value =
        serde_json::from_slice(&plan(&root, "fleet/fleet.toml", &["--format", "json"]).stdout)
            .expect("JSON");
    assert_eq!(assignment_of(&warned), assignment_of(&typical));
    // CSV stays one line per node; the warnings go to stderr.
    let csv = plan(
        &root,
        "fleet/fleet.toml",
        &[&short[..], &["--format", "csv"]].concat(),
    );
    assert_eq!(csv.status.code(), Some(0));
    assert_eq!(text(&csv.stderr).matches("warning: group ").count(), 2);
}

#[test]
fn rollout_options_move_the_predictions() {
    let output = plan(
        &data_dir(),
        "pinned.toml",
        &[
            "--rollout-start",
            "2025-06-04T14:00:00Z",
            "--rollout-duration",
            "1d",
            "--rollout-start-fraction",
            "0.2",
            "--format",
            "csv",
        ],
    );
    // This rollout lets a cautious db node reboot before the canary has soaked: the plan is kept, the
    // CSV stays one line per node and the warning goes to stderr.
    assert_eq!(output.status.code(), Some(0));
    expect_file![snapshot("pinned-wednesday.csv")].assert_eq(&text(&output.stdout));
    expect_file![snapshot("pinned-wednesday.stderr")].assert_eq(&text(&output.stderr));
}

#[test]
fn bad_options_are_usage_errors() {
    for arguments in [
        &["--rollout-duration", "soon"][..],
        &["--rollout-start-fraction", "2"],
        &["--rollout-start", "Tuesday"],
        &["--format", "yaml"],
    ] {
        let output = plan(&data_dir(), "pinned.toml", arguments);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{arguments:?}: {}",
            text(&output.stderr)
        );
    }
}

/// The documented JSON contract (docs/planner.md): these keys exist with these types.
#[test]
fn the_json_contract_holds() {
    let output = plan(&data_dir(), "hosts.toml", &["--format", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(plan["reboot_allowance_minutes"].is_u64());
    assert_eq!(plan["rollout"]["start"], "2025-06-03T14:00:00Z");
    assert_eq!(plan["rollout"]["duration_minutes"], 2880);
    assert_eq!(plan["rollout"]["start_fraction"], 0.0);
    assert!(plan["warnings"].is_array());
    for group in plan["groups"].as_array().expect("groups") {
        assert!(group["name"].is_string());
        for key in ["nodes", "canaries", "max_unavailable", "soak_minutes"] {
            assert!(group[key].is_u64(), "group {key}");
        }
    }
    for node in plan["nodes"].as_array().expect("nodes") {
        for key in [
            "name",
            "hostname",
            "group",
            "time_zone",
            "eligible_at",
            "reboot_at",
            "host",
        ] {
            assert!(node[key].is_string(), "node {key}: {}", node[key]);
        }
        assert!(matches!(node["role"].as_str(), Some("canary" | "cautious")));
        let wariness = node["rollout_wariness"].as_f64().expect("wariness");
        assert!((0.0..=1.0).contains(&wariness));
        for time in ["eligible_at", "reboot_at"] {
            let value = node[time].as_str().expect("time");
            assert!(
                value.ends_with('Z') && value.len() == 20,
                "{time} {value} is RFC 3339 UTC"
            );
        }
        for window in node["windows"].as_array().expect("windows") {
            for day in window["days"].as_array().expect("days") {
                assert_eq!(day.as_str().map(str::len), Some(3), "three-letter days");
            }
            assert!(window["start_time"].is_string());
            assert!(window["length_minutes"].is_u64());
        }
    }
}

#[test]
fn airlock_config_is_written_for_fleet_lock_groups() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let target = directory.path().join("airlock.toml");
    let output = plan(
        &data_dir(),
        "strategies.toml",
        &[
            "--airlock-config",
            target.to_str().expect("UTF-8 path"),
            "--format",
            "json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(&target).expect("the airlock config was written");
    expect_file![snapshot("strategies.airlock")].assert_eq(&written);

    // A fleet without fleet_lock groups has nothing to write: a clear error, exit status 1.
    let output = plan(
        &data_dir(),
        "pinned.toml",
        &["--airlock-config", target.to_str().expect("UTF-8")],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no group uses the fleet_lock strategy"),
        "{}",
        text(&output.stderr)
    );
}
