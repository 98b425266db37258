//! `fleet diff` and `fleet deploy --plan` as processes on libvirt's in-library test driver: exit
//! statuses, the JSON report, removals and conflicts read from a hypervisor's state, and the
//! refusals of a saved diff once the fleet file or what runs has changed.
//!
//! Each process starts the test driver afresh, from `test:///default` or from a host file the test
//! writes (a hypervisor with domains already on it). Existing nodes that match, or differ in one
//! setting, are checked in process on a driver state that lives across commands
//! (`crates/fleet-connected/src/cmd/diff.rs`), since a test-driver host file cannot say that a
//! domain starts with its host (autostart).

use std::path::PathBuf;

use fleet_tests::binary::{run_fleet, run_fleet_json};
use serde_json::Value;

/// A two-node fleet `demo` in its own directory, with a placeholder image and its pool there.
struct Fleet {
    directory: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Fleet {
        let fleet = Fleet {
            directory: tempfile::tempdir().unwrap(),
        };
        std::fs::write(fleet.path("fcos.qcow2"), b"QFI\xfba placeholder").unwrap();
        fleet.write("vcpus = 2");
        fleet
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    fn fleet_toml(&self) -> String {
        self.path("fleet.toml").display().to_string()
    }

    /// The fleet file, with `line` in its group.
    fn write(&self, line: &str) {
        std::fs::write(
            self.path("fleet.toml"),
            format!(
                "[fleet]\nname = \"demo\"\nconnect = \"test:///default\"\n\n[fleet.image]\npath = \"fcos.qcow2\"\n\n[fleet.pool]\npath = \"{}\"\n\n[[maintenance.period]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength_minutes = 240\n\n[[group]]\nname = \"web\"\ncount = 2\n{line}\n",
                self.path("pool").display()
            ),
        )
        .unwrap();
    }

    /// A test-driver hypervisor holding `domains` (domain XML), written beside the fleet; its URI.
    fn host_with(&self, domains: &[String]) -> String {
        let path = self.path("host.xml");
        std::fs::write(
            &path,
            format!(
                "<node>\n<cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads><active>8</active></cpu>\n<memory>16777216</memory>\n{}\n<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d9</uuid><forward mode='nat'/><bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.100' end='192.168.122.254'/></dhcp></ip></network>\n</node>\n",
                domains.join("\n")
            ),
        )
        .unwrap();
        format!("test://{}", path.display())
    }
}

/// A domain named `name`, marked as fleet `owner`'s node when `owner` is given.
fn domain(name: &str, uuid_tail: u8, owner: Option<&str>) -> String {
    let metadata = owner.map_or(String::new(), |fleet| {
        format!("<metadata><fleet:node xmlns:fleet='https://example.invalid/fleet/xmlns/domain/1' fleet='{fleet}' node='{name}'/></metadata>")
    });
    format!(
        "<domain type='qemu'><name>{name}</name><uuid>4a2b7a39-9d77-4d5b-9a2f-0000000000{uuid_tail:02}</uuid>{metadata}<memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>"
    )
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn actions(json: &Value) -> Vec<(String, String)> {
    json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["node"].as_str().unwrap().to_owned(),
                node["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(node, action)| ((*node).to_owned(), (*action).to_owned()))
        .collect()
}

#[test]
fn a_fleet_not_deployed_yet_is_all_creates_and_exits_2() {
    let fleet = Fleet::new();
    let run = run_fleet_json(["diff", &fleet.fleet_toml()]).unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert_eq!(
        actions(&run.json),
        pairs(&[("web-1", "create"), ("web-2", "create")])
    );
    assert_eq!(run.json["changes"], 2);
    assert_eq!(run.json["errors"], 0);
    assert_eq!(run.json["fleet"], fleet.fleet_toml().as_str());
    let digest = run.json["fleet_digest"].as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 7 + 64,
        "{digest}"
    );
    for node in run.json["nodes"].as_array().unwrap() {
        assert_eq!(node["host"], "test:///default");
        assert_eq!(node["needs_replace"], false);
        assert_eq!(node["differences"], serde_json::json!([]));
    }
    // The table says the same, and the same fleet gives the same digest.
    let table = run_fleet(["diff", &fleet.fleet_toml()]).unwrap();
    assert_eq!(table.status.code(), Some(2));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("2 nodes: 2 create, 0 unchanged, 0 change, 0 remove, 0 cannot be deployed"),
        "{text}"
    );
    let again = run_fleet_json(["diff", &fleet.fleet_toml()]).unwrap();
    assert_eq!(again.json["fleet_digest"], run.json["fleet_digest"]);
}

#[test]
fn usage_errors_of_diff_exit_1_so_that_2_always_means_changes() {
    let diff = run_fleet(["diff", "--no-such-option"]).unwrap();
    assert_eq!(diff.status.code(), Some(1), "{}", stderr(&diff));
    assert!(stderr(&diff).contains("unexpected argument '--no-such-option'"));
    // Every other command keeps clap's 2, and help is still a success.
    let deploy = run_fleet(["deploy", "--no-such-option"]).unwrap();
    assert_eq!(deploy.status.code(), Some(2));
    let help = run_fleet(["diff", "--help"]).unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("terraform plan -detailed-exitcode"));
    let verbose = run_fleet(["-v", "diff", "--jobs", "0"]).unwrap();
    assert_eq!(verbose.status.code(), Some(1), "{}", stderr(&verbose));
}

#[test]
fn domains_the_file_no_longer_lists_are_removals_and_foreign_ones_conflicts() {
    let fleet = Fleet::new();
    let host = fleet.host_with(&[
        domain("web-0", 1, Some("demo")),
        domain("web-2", 2, Some("someone-else")),
        domain("db-1", 3, Some("someone-else")),
    ]);
    let run = run_fleet_json(["diff", &fleet.fleet_toml(), "--connect", &host]).unwrap();
    // A conflict is an error, whatever else would change.
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert_eq!(
        actions(&run.json),
        pairs(&[
            ("web-0", "remove"),
            ("web-1", "create"),
            ("web-2", "conflict")
        ])
    );
    let nodes = run.json["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["host"], host.as_str());
    assert_eq!(nodes[0]["error"], Value::Null);
    let conflict = nodes[2]["error"].as_str().unwrap();
    assert!(
        conflict.contains("belongs to fleet someone-else"),
        "{conflict}"
    );
    assert_eq!(
        (run.json["changes"].as_u64(), run.json["errors"].as_u64()),
        (Some(2), Some(1))
    );

    // Without the conflict, the removal alone is a change: exit 2.
    let host = fleet.host_with(&[domain("web-0", 1, Some("demo"))]);
    let run = run_fleet_json(["diff", &fleet.fleet_toml(), "--connect", &host]).unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert_eq!(
        actions(&run.json),
        pairs(&[
            ("web-0", "remove"),
            ("web-1", "create"),
            ("web-2", "create")
        ])
    );
}

#[test]
fn a_saved_diff_is_applied_and_refused_once_the_fleet_file_changed() {
    let fleet = Fleet::new();
    let plan = fleet.path("plan.json");
    let diff = run_fleet([
        "diff",
        &fleet.fleet_toml(),
        "--out",
        &plan.display().to_string(),
    ])
    .unwrap();
    assert_eq!(diff.status.code(), Some(2), "{}", stderr(&diff));
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    assert_eq!(
        actions(&saved),
        pairs(&[("web-1", "create"), ("web-2", "create")])
    );

    let deploy = run_fleet_json(["deploy", "--plan", &plan.display().to_string()]).unwrap();
    assert!(deploy.status.success(), "{}", deploy.stderr);
    let outcomes: Vec<(&str, &str)> = deploy.json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["action"].as_str().unwrap(),
                node["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("create", "done"), ("create", "done")]);

    // The fleet file changed after the review: nothing is deployed.
    fleet.write("vcpus = 4");
    let refused = run_fleet(["deploy", "--plan", &plan.display().to_string()]).unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        refused.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    let message = stderr(&refused);
    assert!(
        message.contains(&format!(
            "error: {} changed since the diff {} was made",
            fleet.fleet_toml(),
            plan.display()
        )) && message.contains("nothing was deployed; run `fleet diff --out"),
        "{message}"
    );
    // A plan names its own fleet file and connections: giving them again is a usage error.
    let both = run_fleet([
        "deploy",
        &fleet.fleet_toml(),
        "--plan",
        &plan.display().to_string(),
    ])
    .unwrap();
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    // A file that is not a diff is refused as such.
    std::fs::write(fleet.path("not-a-plan.json"), b"{\"nodes\": 3}").unwrap();
    let garbage = run_fleet([
        "deploy",
        "--plan",
        &fleet.path("not-a-plan.json").display().to_string(),
    ])
    .unwrap();
    assert_eq!(garbage.status.code(), Some(1));
    assert!(
        stderr(&garbage).contains("is not a diff saved by `fleet diff --out FILE`"),
        "{}",
        stderr(&garbage)
    );
}

#[test]
fn a_saved_diff_is_refused_once_what_runs_changed() {
    let fleet = Fleet::new();
    let host = fleet.host_with(&[]);
    let plan = fleet.path("plan.json");
    let plan_arg = plan.display().to_string();
    let diff = run_fleet([
        "diff",
        &fleet.fleet_toml(),
        "--connect",
        &host,
        "--out",
        &plan_arg,
    ])
    .unwrap();
    assert_eq!(diff.status.code(), Some(2), "{}", stderr(&diff));

    // Meanwhile an old node of the fleet appears on the hypervisor (someone restored it).
    fleet.host_with(&[domain("web-9", 9, Some("demo"))]);
    let refused = run_fleet(["deploy", "--plan", &plan_arg]).unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(
        message.contains(&format!(
            "error: what runs changed since the diff {plan_arg} was made; nothing was deployed"
        )) && message.contains(&format!("web-9 on {host}: new in the diff (remove)")),
        "{message}"
    );
    assert!(refused.stdout.is_empty());
    // As it was reviewed, it applies.
    fleet.host_with(&[]);
    let deploy = run_fleet(["deploy", "--plan", &plan_arg]).unwrap();
    assert!(deploy.status.success(), "{}", stderr(&deploy));
}

/// The `removals` of a deploy report: (node, outcome).
fn removals(json: &Value) -> Vec<(String, String)> {
    json["removals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|removal| {
            (
                removal["node"].as_str().unwrap().to_owned(),
                removal["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn deploy_removes_the_fleets_domains_the_file_no_longer_has_only_with_prune() {
    let fleet = Fleet::new();
    let toml = fleet.fleet_toml();
    let host = fleet.host_with(&[
        // This fleet's node, no longer in the file; a domain fleet did not make; another fleet's.
        domain("web-0", 1, Some("demo")),
        domain("old-1", 2, None),
        domain("db-1", 3, Some("someone-else")),
    ]);
    let plain = run_fleet_json(["deploy", &toml, "--connect", &host]).unwrap();
    assert!(plain.status.success(), "{}", plain.stderr);
    assert_eq!(removals(&plain.json), Vec::new());

    let dry =
        run_fleet_json(["deploy", &toml, "--connect", &host, "--prune", "--dry-run"]).unwrap();
    assert!(dry.status.success(), "{}", dry.stderr);
    assert_eq!(removals(&dry.json), pairs(&[("web-0", "planned")]));

    let pruned = run_fleet_json(["deploy", &toml, "--connect", &host, "--prune"]).unwrap();
    assert!(pruned.status.success(), "{}", pruned.stderr);
    assert_eq!(removals(&pruned.json), pairs(&[("web-0", "done")]));
    assert_eq!(
        pruned.json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["web-1", "web-2"]
    );
    let table = run_fleet(["deploy", &toml, "--connect", &host, "--prune"]).unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("remove web-0 on ") && text.contains("no longer in the fleet file: removed"),
        "{text}"
    );

    // Pruning is about the whole file: not with --node.
    let selected = run_fleet(["deploy", &toml, "--prune", "--node", "web-1"]).unwrap();
    assert_eq!(selected.status.code(), Some(2), "{}", stderr(&selected));

    // A diff saved with --prune removes what it lists; one saved without it leaves it.
    for (flags, expected) in [
        (&["--prune"][..], vec![("web-0", "done")]),
        (&[][..], vec![]),
    ] {
        let plan = fleet.path("plan.json");
        let mut diff = vec!["diff", toml.as_str(), "--connect", host.as_str(), "--out"];
        let plan_path = plan.display().to_string();
        diff.push(&plan_path);
        diff.extend(flags);
        let saved = run_fleet(diff).unwrap();
        assert_eq!(saved.status.code(), Some(2), "{}", stderr(&saved));
        let table = String::from_utf8_lossy(&saved.stdout);
        assert!(
            table.contains(if flags.is_empty() {
                "would be left as they are; `fleet diff --prune`"
            } else {
                "would be removed (--prune)"
            }),
            "{table}"
        );
        let applied = run_fleet_json(["deploy", "--plan", &plan_path]).unwrap();
        assert!(applied.status.success(), "{}", applied.stderr);
        assert_eq!(removals(&applied.json), pairs(&expected));
    }
}
