//! `fleet check` and `fleet nodes` over every fleet file in `tests/data/check/`: valid fleets pass and expand
//! to the nodes in their snapshots, invalid ones fail with exactly the messages in their `.stderr` snapshots.
//!
//! Snapshots are refreshed with `UPDATE_EXPECT=1 cargo test -p fleet-tests --test check`.
//!
//! The binary under test is rebuilt once per run (`fleet_tests::binary::fleet_binary`): `cargo test` does
//! not rebuild another package's binary, and a stale `fleet` would otherwise be tested silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use expect_test::expect_file;

/// `tests/data/check`, the working directory of every run so that messages name files relatively.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/check")
}

/// The fleet files of one kind (`valid` or `invalid`), sorted by name.
fn cases(kind: &str) -> Vec<PathBuf> {
    let directory = data_dir().join(kind);
    let cases = fleet_tests::data::toml_files(&directory);
    assert!(!cases.is_empty(), "no cases in {}", directory.display());
    cases
}

fn fleet(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(fleet_tests::binary::fleet_binary().expect("the fleet binary builds"))
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

/// `valid/minimal.toml` as the run names it.
fn relative(case: &Path) -> String {
    case.strip_prefix(data_dir())
        .expect("case under the data directory")
        .display()
        .to_string()
}

#[test]
fn valid_fleets_pass_and_expand_to_their_snapshot_nodes() {
    for case in cases("valid") {
        let name = relative(&case);
        let output = fleet(&data_dir(), &["check", &name]);
        assert_eq!(text(&output.stderr), "", "{name}: stderr");
        assert_eq!(output.status.code(), Some(0), "{name}: exit status");
        expect_file![case.with_extension("check")].assert_eq(&text(&output.stdout));

        // A 5,000-node table is not a useful snapshot; its summary line is.
        if name.contains("large") {
            continue;
        }
        let table = fleet(&data_dir(), &["nodes", &name]);
        assert_eq!(table.status.code(), Some(0), "{name}: fleet nodes");
        expect_file![case.with_extension("nodes")].assert_eq(&text(&table.stdout));
        let json = fleet(&data_dir(), &["nodes", "--format", "json", &name]);
        assert_eq!(
            json.status.code(),
            Some(0),
            "{name}: fleet nodes --format json"
        );
        expect_file![case.with_extension("nodes.json")].assert_eq(&text(&json.stdout));
    }
}

#[test]
fn invalid_fleets_fail_with_every_problem_in_their_snapshot() {
    for case in cases("invalid") {
        let name = relative(&case);
        let output = fleet(&data_dir(), &["check", &name]);
        assert_eq!(text(&output.stdout), "", "{name}: stdout");
        assert_eq!(output.status.code(), Some(1), "{name}: exit status");
        let stderr = text(&output.stderr);
        expect_file![case.with_extension("stderr")].assert_eq(&stderr);
        // Every problem line names a file, line and column.
        for line in stderr.lines().filter(|line| !line.starts_with("error: ")) {
            let mut parts = line.splitn(4, ':');
            let (file, line_number, column) = (parts.next(), parts.next(), parts.next());
            assert!(
                file.is_some_and(|file| !file.is_empty())
                    && line_number.is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
                    && column.is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0)),
                "{name}: `{line}` is not FILE:LINE:COL: error: MESSAGE"
            );
        }
    }
}

#[test]
fn messages_never_repeat_a_password_hash() {
    for case in cases("invalid").into_iter().chain(cases("valid")) {
        let source = std::fs::read(&case).expect("case readable");
        let source = String::from_utf8_lossy(&source);
        let hashes: Vec<&str> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("password_hash"))
            .filter_map(|rest| rest.split('"').nth(1))
            .filter(|hash| hash.len() >= 8)
            .collect();
        let output = fleet(&data_dir(), &["check", &relative(&case)]);
        let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
        for hash in hashes {
            assert!(
                !everything.contains(hash),
                "{}: output repeats a password hash",
                case.display()
            );
        }
    }
}

#[test]
fn the_example_fleet_is_valid() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let output = fleet(repository, &["check", "fleet/fleet.toml"]);
    assert_eq!(text(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        text(&output.stdout)
            .starts_with("fleet/fleet.toml: fleet demo is valid: 3 groups, 11 nodes"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn check_reads_fleet_toml_in_the_current_directory_by_default() {
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::copy(
        data_dir().join("valid/minimal.toml"),
        directory.path().join("fleet.toml"),
    )
    .expect("copy");
    let output = fleet(directory.path(), &["check"]);
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "fleet.toml: fleet mini is valid: 1 group, 2 nodes\n"
    );
}

#[test]
fn a_missing_fleet_file_is_an_error_and_a_bad_flag_a_usage_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let missing = fleet(directory.path(), &["check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).starts_with("error: cannot read the fleet file fleet.toml"),
        "{}",
        text(&missing.stderr)
    );
    let usage = fleet(directory.path(), &["check", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    let format = fleet(directory.path(), &["nodes", "--format", "yaml"]);
    assert_eq!(format.status.code(), Some(2));
}

#[test]
fn auto_updates_without_a_health_check_are_valid_but_warned_about() {
    let output = fleet(
        &data_dir(),
        &["check", "warnings/auto-update-without-health.toml"],
    );
    assert_eq!(output.status.code(), Some(0), "exit status");
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr,
        "warnings/auto-update-without-health.toml:16:8: warning: node web-1: container `site` has auto_update = \"registry\" but no health check: podman auto-update rolls back only an update whose service fails to start, and without `health` a container that starts but does not work counts as started; add `health = { command = \"...\" }`\n"
    );
}

/// A snippet writing a path fleet generates is warned about at the line that adds the snippet.
#[test]
fn a_snippet_path_fleet_generates_is_valid_but_warned_about_where_the_snippet_is_added() {
    let output = fleet(&data_dir(), &["check", "warnings/snippet-replaced.toml"]);
    assert_eq!(output.status.code(), Some(0), "exit status");
    assert_eq!(
        text(&output.stderr),
        "warnings/snippet-replaced.toml:15:11: warning: node web-1: /etc/hostname from snippet-replaced.bu is replaced by what fleet.toml generates for this node\n"
    );
}

#[test]
fn a_fleet_lock_group_updating_containers_without_a_schedule_is_valid_but_warned_about() {
    let output = fleet(
        &data_dir(),
        &["check", "warnings/container-updates-unstaggered.toml"],
    );
    assert_eq!(output.status.code(), Some(0), "exit status");
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr,
        "warnings/container-updates-unstaggered.toml:13:8: warning: group web: 3 nodes auto-update containers, but the fleet_lock strategy has no reboot windows to stagger them by: their podman-auto-update.timer keeps podman's daily midnight, all at once; give the group a [group.container_updates] schedule with a [[group.container_updates.period]]\n"
    );
}
