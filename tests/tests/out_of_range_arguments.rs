//! Command-line values outside what fleet can use get a message that says the range: a rollout
//! reaching past the year 9999 (which RFC 3339 cannot write), negative job counts and fractions
//! (which clap took for unknown options).

use std::path::{Path, PathBuf};

use fleet_tests::binary::run_fleet;

fn example_fleet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/fleet.toml")
}

fn run(arguments: &[&str]) -> (Option<i32>, String, String) {
    let output = run_fleet(arguments).unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_rollout_past_the_year_9999_is_refused_in_every_format() {
    let fleet = example_fleet();
    let fleet = fleet.to_str().unwrap();
    for moment in [
        &["--rollout-start", "9999-12-31T00:00:00Z"][..],
        &["--now", "9999-12-30T00:00:00Z"],
        &[
            "--rollout-start",
            "5000-01-04T14:00:00Z",
            "--rollout-duration",
            "4294967295m",
        ],
    ] {
        for format in ["json", "csv", "table"] {
            let mut arguments = vec!["plan", fleet, "--format", format];
            arguments.extend_from_slice(moment);
            let (code, stdout, stderr) = run(&arguments);
            assert_eq!(code, Some(1), "{arguments:?}: {stderr}");
            assert!(
                stderr.contains("RFC 3339, which has the years 0000 to 9999"),
                "{arguments:?}: {stderr}"
            );
            assert!(!stdout.contains("+1"), "{arguments:?} wrote {stdout}");
        }
    }
    // The last rollout that still ends within 9999 is planned and written as RFC 3339.
    let (code, stdout, stderr) = run(&[
        "plan",
        fleet,
        "--format",
        "json",
        "--rollout-start",
        "9999-06-01T14:00:00Z",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"start\": \"9999-06-01T14:00:00Z\""));
}

#[test]
fn negative_jobs_and_fractions_get_a_message_with_the_range() {
    let fleet = example_fleet();
    let fleet = fleet.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["render", fleet, "--out", "unused", "--jobs", "-1"],
            "-1 is not in 1..=1024",
        ),
        (
            &["render", fleet, "--out", "unused", "-j", "0"],
            "0 is not in 1..=1024",
        ),
        (&["deploy", fleet, "--jobs", "-1"], "-1 is not in 1..=256"),
        (&["status", fleet, "--jobs", "-2"], "-2 is not in 1..=256"),
        (&["destroy", fleet, "--jobs", "-3"], "-3 is not in 1..=256"),
        (
            &["plan", fleet, "--rollout-start-fraction", "-0.5"],
            "\"-0.5\" is not a fraction between 0.0 and 1.0",
        ),
        (
            &["plan", fleet, "--rollout-duration", "-5m"],
            "\"-5m\" is not a duration",
        ),
    ];
    for (arguments, message) in cases {
        let (code, _, stderr) = run(arguments);
        assert_eq!(code, Some(2), "{arguments:?}: {stderr}");
        assert!(stderr.contains(message), "{arguments:?}: {stderr}");
        assert!(
            !stderr.contains("unexpected argument"),
            "{arguments:?}: {stderr}"
        );
    }
    assert!(!Path::new("unused").exists());
}
