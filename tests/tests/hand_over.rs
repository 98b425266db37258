//! `fleet` hands the connected commands to its companion `fleet-connected` in its own place: same
//! process id, same arguments, the companion's exit status; every other command stays in `fleet`.
//!
//! A stand-in companion (a shell script named by `FLEET_CONNECTED`) reports what it was given, so
//! the hand-over itself is observed, not what deploy does afterwards.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fleet_tests::binary::{fleet_binary, fleet_command};

/// The stand-in's exit status: not one `fleet` uses itself, so it can only come from the stand-in.
const STAND_IN_STATUS: i32 = 42;

/// A companion that prints its process id, then each argument on a line, and exits 42.
fn stand_in_companion(directory: &Path) -> PathBuf {
    let path = directory.join("fleet-connected");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$$\"\nprintf '%s\\n' \"$@\"\nexit {STAND_IN_STATUS}\n"),
    )
    .expect("write the stand-in");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Run `fleet ARGS` with the stand-in as its companion: (pid of the `fleet` process, stdout lines,
/// exit status).
fn run_with_stand_in(arguments: &[&str]) -> (u32, Vec<String>, Option<i32>, String) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let stand_in = stand_in_companion(directory.path());
    let child = fleet_command()
        .expect("the fleet binary")
        .args(arguments)
        .env("FLEET_CONNECTED", &stand_in)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fleet starts");
    let pid = child.id();
    let output = child.wait_with_output().expect("fleet ends");
    (
        pid,
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn each_connected_command_runs_in_the_companion_in_place_of_fleet() {
    for arguments in [
        &[
            "deploy",
            "--dry-run",
            "--node",
            "two words",
            "my fleet.toml",
        ][..],
        &[
            "-v",
            "status",
            "--connect",
            "test:///default",
            "--format",
            "json",
        ][..],
        &["destroy", "--yes", "--jobs", "3"][..],
    ] {
        let (pid, lines, status, stderr) = run_with_stand_in(arguments);
        assert_eq!(
            status,
            Some(STAND_IN_STATUS),
            "fleet {arguments:?} did not end with the companion's exit status; stderr: {stderr}"
        );
        assert_eq!(
            lines.first().map(String::as_str),
            Some(pid.to_string().as_str()),
            "fleet {arguments:?}: the companion ran in another process than fleet's"
        );
        assert_eq!(
            &lines[1..],
            arguments,
            "fleet {arguments:?}: the companion was given other arguments"
        );
    }
}

#[test]
fn other_commands_and_usage_errors_stay_in_fleet() {
    let (_, lines, status, stderr) = run_with_stand_in(&["schema"]);
    assert_eq!(status, Some(0), "fleet schema failed: {stderr}");
    assert!(
        lines.first().is_some_and(|line| line.starts_with('{')),
        "fleet schema did not print the schema itself: {lines:?}"
    );
    // clap refuses a bad command line before anything is handed over (exit status 2).
    let (_, lines, status, stderr) = run_with_stand_in(&["deploy", "--jobs", "0"]);
    assert_eq!(status, Some(2), "{lines:?} {stderr}");
    assert!(lines.is_empty(), "the companion ran: {lines:?}");
}

/// Without `FLEET_CONNECTED`, the companion is looked for beside `fleet` and on `PATH`; when it is
/// in neither, the error says which commands need it and how to build it.
#[test]
fn a_missing_companion_is_named_with_the_commands_that_need_it() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let lonely = directory.path().join("fleet");
    // A hard link keeps the copy cheap; `fleet` looks beside the path it was started from.
    let original = fleet_binary().expect("the fleet binary");
    if std::fs::hard_link(&original, &lonely).is_err() {
        std::fs::copy(&original, &lonely).expect("copy the fleet binary");
    }
    let output = Command::new(&lonely)
        .arg("status")
        .env_remove("FLEET_CONNECTED")
        .env("PATH", directory.path().join("nothing-here"))
        .env("NO_COLOR", "1")
        .output()
        .expect("fleet runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let beside = directory.path().join("fleet-connected");
    assert!(
        stderr.starts_with(&format!(
            "error: deploy, diff, status, destroy and image run in fleet-connected, the dynamically linked part \
             of fleet (it loads libvirt, resolves names and talks to the network), and it is \
             neither beside this fleet ({}) nor on PATH; build both with",
            beside.display()
        )),
        "unexpected error: {stderr}"
    );
}
