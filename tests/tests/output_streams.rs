//! What fleet does with its standard streams: a reader that goes away (`| head -1`) ends the
//! output quietly with the command's own exit status, for every format of every command and of
//! both binaries; a full disk behind `>` is an error; `-v` logs are coloured only on a terminal
//! and never with NO_COLOR set.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fleet_tests::binary::fleet_command;
use fleet_tests::hostile::{make_char_device, output_within};

const LIMIT: Duration = Duration::from_secs(120);

fn workspace_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A two-node fleet on libvirt's in-library test driver (every process starts with an empty
/// one), so that deploy, status and destroy run for real without a daemon.
fn test_driver_fleet(directory: &Path) -> PathBuf {
    let image = directory.join("base.qcow2");
    let mut bytes = b"QFI\xfb".to_vec();
    bytes.extend((0..4096_u32).map(|index| (index % 251) as u8));
    std::fs::write(&image, bytes).unwrap();
    let fleet_toml = directory.join("fleet.toml");
    std::fs::write(
        &fleet_toml,
        format!(
            "[fleet]\nname = \"pipes\"\nconnect = \"test:///default\"\n\
             [fleet.image]\npath = \"base.qcow2\"\n\
             [fleet.pool]\nname = \"pipes\"\npath = \"{}\"\n\
             [maintenance]\nstrategy = \"immediate\"\n\
             [[group]]\nname = \"g\"\ncount = 2\nhostname = \"g-{{index}}\"\n\
             [group.rollout]\nmax_unavailable = 2\ncanaries = 0\nsoak_minutes = 0\n",
            directory.join("pool").display()
        ),
    )
    .unwrap();
    fleet_toml
}

/// Every command line that prints something on stdout, in each of its formats.
fn printing_commands(test_fleet: &Path) -> Vec<Vec<String>> {
    let example = workspace_file("fleet/fleet.toml").display().to_string();
    let test_fleet = test_fleet.display().to_string();
    let butane = workspace_file("fleet/butane/web.bu").display().to_string();
    let now = "--now=2025-06-01T00:00:00Z";
    let lines: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["check", &example],
        vec!["plan", &example, now, "--format", "json"],
        vec!["plan", &example, now, "--format", "csv"],
        vec!["plan", &example, now],
        vec!["nodes", &example, "--format", "json"],
        vec!["nodes", &example],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["render", &example, "--node", "web-01"],
        vec!["render", &example, "--node", "web-01", "--butane"],
        vec!["butane", &butane],
        vec!["deploy", &test_fleet, "--format", "json"],
        vec!["deploy", &test_fleet],
        vec!["status", &test_fleet, "--format", "json"],
        vec!["status", &test_fleet],
        vec!["destroy", &test_fleet, "--yes", "--format", "json"],
    ];
    lines
        .into_iter()
        .map(|line| line.into_iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn a_reader_that_goes_away_ends_every_output_quietly() {
    let directory = tempfile::tempdir().unwrap();
    let test_fleet = test_driver_fleet(directory.path());
    let mut failures = Vec::new();
    for arguments in printing_commands(&test_fleet) {
        // A pipe whose reading end is closed before fleet starts: its first write fails with EPIPE,
        // exactly what `| head -1` does to the rest of the output, without a race.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = fleet_command().unwrap();
        command.args(&arguments).stdout(Stdio::from(writer));
        let output = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() || stderr.contains("Broken pipe") || stderr.contains("panick") {
            failures.push(format!(
                "fleet {}: {}\n{}",
                arguments.join(" "),
                output.status,
                stderr.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_full_disk_behind_stdout_is_an_error() {
    let directory = tempfile::tempdir().unwrap();
    let Some(full) = make_char_device(&directory.path().join("full"), 1, 7) else {
        eprintln!("skipped: only root can make a /dev/full twin");
        return;
    };
    let example = workspace_file("fleet/fleet.toml");
    for arguments in [
        vec!["check", example.to_str().unwrap()],
        vec!["nodes", example.to_str().unwrap(), "--format", "json"],
        vec!["plan", example.to_str().unwrap(), "--format", "csv"],
        vec!["schema"],
    ] {
        let mut command = fleet_command().unwrap();
        command
            .args(&arguments)
            .stdout(std::fs::OpenOptions::new().write(true).open(&full).unwrap());
        let output = command.stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output: No space left on device"),
            "{arguments:?}: {stderr}"
        );
    }
}

/// `fleet -vv render --node web-01` with stderr on a pipe, or on a terminal (`script` runs it on
/// a pseudo-terminal), with NO_COLOR as given (removed when `None`); returns its stderr.
fn verbose_stderr(on_terminal: bool, no_color: Option<&str>) -> String {
    let example = workspace_file("fleet/fleet.toml");
    let mut command = if on_terminal {
        let mut command = Command::new("script");
        command.args(["-q", "-e", "-c"]).arg(format!(
            "'{}' -vv render '{}' --node web-01 >/dev/null",
            fleet_tests::binary::fleet_binary().unwrap().display(),
            example.display()
        ));
        command.arg("/dev/null");
        command
    } else {
        let mut command = fleet_command().unwrap();
        command
            .args(["-vv", "render"])
            .arg(&example)
            .args(["--node", "web-01"]);
        command
    };
    command.env_remove("NO_COLOR").env_remove("RUST_LOG");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = output_within(&mut command, LIMIT).unwrap();
    assert!(output.status.success(), "{}", output.stderr);
    // `script` copies the terminal's output to its own stdout.
    let text = if on_terminal {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        output.stderr
    };
    assert!(text.contains("DEBUG"), "no debug logs: {text}");
    text
}

#[test]
fn logs_are_coloured_only_on_a_terminal_without_no_color() {
    const ESCAPE: char = '\u{1b}';
    assert!(
        !verbose_stderr(false, None).contains(ESCAPE),
        "colour on a pipe"
    );
    assert!(
        verbose_stderr(true, None).contains(ESCAPE),
        "no colour on a terminal"
    );
    assert!(
        verbose_stderr(true, Some("")).contains(ESCAPE),
        "an empty NO_COLOR counts as unset (no-color.org)"
    );
    assert!(
        !verbose_stderr(true, Some("1")).contains(ESCAPE),
        "colour on a terminal despite NO_COLOR=1"
    );
}
