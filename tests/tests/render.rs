//! `fleet render` over the example fleet: every node's composed Butane equals its snapshot; the
//! Ignition files decode to what the plan and fleet.toml say (Zincati fragments, hostname, keyfile),
//! and the plan `fleet plan` shows in every season is what they carry; render takes no date or
//! rollout; files are private and byte-identical across runs; the manifest lists their hashes.
//!
//! Snapshots are refreshed with `UPDATE_EXPECT=1 cargo test -p fleet-tests --test render`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use expect_test::expect_file;
use fleet_ignition::ignition::data_url_contents;
use fleet_tests::binary::run_fleet;
use fleet_tests::console::sha256_hex;
use serde_json::Value;

/// `fleet plan` predicts as if it were this moment, so its times never depend on the clock.
const NOW: &str = "2025-06-01T00:00:00Z";

/// Moments in winter, just before the EU's spring change, in summer and in autumn: the plan shown at
/// each of them must be what render writes.
const SEASONS: [&str; 4] = [
    "2026-01-05T00:00:00Z",
    "2026-03-23T00:00:00Z",
    "2026-07-06T00:00:00Z",
    "2026-10-19T00:00:00Z",
];

fn example_fleet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/fleet.toml")
}

fn fleet_ok(arguments: &[&str]) -> String {
    let output = run_fleet(arguments).expect("fleet runs");
    assert!(
        output.status.success(),
        "fleet {arguments:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `fleet render` of the example fleet into `directory`; returns what it said on stderr.
fn render_into(directory: &Path) -> String {
    let fleet = example_fleet();
    let arguments = [
        "render",
        fleet.to_str().unwrap(),
        "--out",
        directory.to_str().unwrap(),
    ];
    let output = run_fleet(arguments).expect("fleet runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "fleet {arguments:?} failed:\n{stderr}"
    );
    stderr
}

/// Path → decoded contents and mode of every file in an Ignition config.
fn files_of(ignition: &Value) -> BTreeMap<String, (String, i64)> {
    let mut files = BTreeMap::new();
    for file in ignition["storage"]["files"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let contents = &file["contents"];
        let bytes = data_url_contents(
            contents["source"].as_str().expect("inline contents"),
            contents["compression"].as_str(),
        )
        .expect("data URL decodes");
        files.insert(
            file["path"].as_str().expect("path").to_owned(),
            (
                String::from_utf8(bytes).expect("text"),
                file["mode"].as_i64().unwrap_or(-1),
            ),
        );
    }
    files
}

#[test]
fn every_example_node_composes_as_its_snapshot() {
    let fleet = example_fleet();
    let plan: Value = serde_json::from_str(&fleet_ok(&[
        "plan",
        fleet.to_str().unwrap(),
        "--format",
        "json",
        "--now",
        NOW,
    ]))
    .unwrap();
    for node in plan["nodes"].as_array().unwrap() {
        let name = node["name"].as_str().unwrap();
        let butane = fleet_ok(&[
            "render",
            fleet.to_str().unwrap(),
            "--node",
            name,
            "--butane",
        ]);
        expect_file![format!("../data/render/example/{name}.bu")].assert_eq(&butane);
    }
}

#[test]
fn ignition_carries_the_plan_and_the_generated_files() {
    let directory = tempfile::tempdir().unwrap();
    render_into(directory.path());
    let fleet = example_fleet();
    for now in SEASONS {
        let plan: Value = serde_json::from_str(&fleet_ok(&[
            "plan",
            fleet.to_str().unwrap(),
            "--format",
            "json",
            "--now",
            now,
        ]))
        .unwrap();
        check_ignition_carries(directory.path(), &plan);
    }
}

/// Every node's Ignition in `directory` carries what `plan` (fleet plan's JSON) says.
fn check_ignition_carries(directory: &Path, plan: &Value) {
    let fleet = example_fleet();
    let nodes: Value = serde_json::from_str(&fleet_ok(&[
        "nodes",
        fleet.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();

    for node_plan in plan["nodes"].as_array().unwrap() {
        let name = node_plan["name"].as_str().unwrap();
        let path = directory.join(format!("{name}.ign"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}.ign must be private");
        let ignition: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(ignition["ignition"]["version"], "3.5.0");
        let files = files_of(&ignition);

        // Zincati reads fragments in file-name order, scalars last-wins, windows appended.
        let mut merged = toml::Table::new();
        let mut windows = Vec::new();
        for (file, (text, file_mode)) in files.range("/etc/zincati/config.d/".to_owned()..) {
            if !file.starts_with("/etc/zincati/config.d/") {
                break;
            }
            assert_eq!(*file_mode, 0o644, "{file}");
            let fragment: toml::Table = text
                .parse()
                .unwrap_or_else(|error| panic!("{file}: {error}"));
            for (section, value) in fragment {
                let entry = merged
                    .entry(section)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let (toml::Value::Table(into), toml::Value::Table(from)) = (entry, value) {
                    for (key, value) in from {
                        if key == "periodic"
                            && let Some(found) = value.get("window").and_then(|w| w.as_array())
                        {
                            windows.extend(found.iter().cloned());
                        }
                        into.insert(key, value);
                    }
                }
            }
        }
        let wariness = merged["identity"]["rollout_wariness"].as_float().unwrap();
        assert!(
            (wariness - node_plan["rollout_wariness"].as_f64().unwrap()).abs() < 1e-9,
            "{name}"
        );
        assert_eq!(
            merged["updates"]["strategy"].as_str().unwrap(),
            "periodic",
            "{name}"
        );
        assert_eq!(
            merged["updates"]["periodic"]["time_zone"].as_str().unwrap(),
            node_plan["time_zone"].as_str().unwrap(),
            "{name}"
        );
        let planned_windows: Vec<(Vec<String>, String, i64)> = node_plan["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|window| {
                (
                    window["days"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_owned())
                        .collect(),
                    window["start_time"].as_str().unwrap().to_owned(),
                    window["length_minutes"].as_i64().unwrap(),
                )
            })
            .collect();
        let written_windows: Vec<(Vec<String>, String, i64)> = windows
            .iter()
            .map(|window| {
                (
                    window["days"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_owned())
                        .collect(),
                    window["start_time"].as_str().unwrap().to_owned(),
                    window["length_minutes"].as_integer().unwrap(),
                )
            })
            .collect();
        assert_eq!(written_windows, planned_windows, "{name}");
        assert!(!written_windows.is_empty(), "{name} has windows");

        assert_eq!(
            files["/etc/hostname"].0,
            format!("{}\n", node_plan["hostname"].as_str().unwrap())
        );
        let node = nodes
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["name"] == name)
            .unwrap();
        let keyfile = files.get("/etc/NetworkManager/system-connections/fleet-static.nmconnection");
        if node["group"] == "web" {
            let (text, keyfile_mode) = keyfile.expect("web nodes have static addresses");
            assert_eq!(*keyfile_mode, 0o600);
            let address = node["address"].as_str().unwrap();
            assert!(
                text.contains(&format!("addresses={address}/24\ngateway=192.168.122.1\n")),
                "{text}"
            );
            assert!(
                text.contains(&format!("mac-address={}\n", node["mac"].as_str().unwrap())),
                "{text}"
            );
        } else {
            assert!(keyfile.is_none(), "{name} uses DHCP");
        }
    }
}

#[test]
fn rendering_twice_gives_the_same_bytes_and_the_manifest_lists_them() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    render_into(first.path());
    render_into(second.path());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(first.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["ignition_version"], "3.5.0");
    let listed = manifest["nodes"].as_object().unwrap();
    assert_eq!(listed.len(), 11);
    for (name, hash) in listed {
        let bytes = std::fs::read(first.path().join(format!("{name}.ign"))).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(second.path().join(format!("{name}.ign"))).unwrap(),
            "{name}"
        );
        assert_eq!(hash.as_str().unwrap(), sha256_hex(&bytes), "{name}");
    }
    assert_eq!(
        std::fs::read(first.path().join("manifest.json")).unwrap(),
        std::fs::read(second.path().join("manifest.json")).unwrap()
    );
}

#[test]
fn a_second_render_leaves_up_to_date_files_alone_and_repairs_the_others() {
    use std::os::unix::fs::MetadataExt as _;
    let directory = tempfile::tempdir().unwrap();
    render_into(directory.path());
    let path = |name: &str| directory.path().join(name);
    let inode = |name: &str| std::fs::metadata(path(name)).unwrap().ino();
    let before = inode("web-01.ign");
    let rendered = std::fs::read(path("web-02.ign")).unwrap();
    // Someone loosened one file's mode and edited another by hand.
    std::fs::set_permissions(path("db-1.ign"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path("web-02.ign"), b"{}").unwrap();
    render_into(directory.path());
    assert_eq!(
        inode("web-01.ign"),
        before,
        "an up-to-date file was rewritten"
    );
    let mode = std::fs::metadata(path("db-1.ign"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "a file with another mode was left alone"
    );
    assert_eq!(std::fs::read(path("web-02.ign")).unwrap(), rendered);
}

#[test]
fn files_of_nodes_that_left_the_fleet_are_removed_and_nothing_else() {
    let directory = tempfile::tempdir().unwrap();
    render_into(directory.path());
    // Pretend an earlier render had two nodes that are gone now: old-1.ign still holds what that
    // render wrote, old-2.ign was edited since. The user also keeps a file of their own.
    let manifest_path = directory.path().join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["nodes"]["old-1"] = Value::String(sha256_hex(b"{}"));
    manifest["nodes"]["old-2"] = Value::String(sha256_hex(b"{}"));
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    std::fs::write(directory.path().join("old-1.ign"), "{}").unwrap();
    std::fs::write(directory.path().join("old-2.ign"), "{\"edited\": true}").unwrap();
    std::fs::write(directory.path().join("mine.ign"), "{}").unwrap();
    let stderr = render_into(directory.path());
    assert!(
        stderr.contains("removed 1 .ign file of nodes no longer in the fleet")
            && stderr.contains("kept 1 .ign file of former nodes that changed"),
        "{stderr}"
    );
    assert!(!directory.path().join("old-1.ign").exists());
    assert!(directory.path().join("old-2.ign").exists());
    assert!(directory.path().join("mine.ign").exists());
}

#[test]
fn a_broken_snippet_is_reported_with_its_line_and_nothing_is_written() {
    let directory = tempfile::tempdir().unwrap();
    let fleet_dir = directory.path().join("fleet");
    std::fs::create_dir(&fleet_dir).unwrap();
    std::fs::write(
        fleet_dir.join("fleet.toml"),
        "[fleet]\nname = \"b\"\n[fleet.image]\nvolume = \"fcos.qcow2\"\n\n[defaults]\nbutane = [\"bad.bu\"]\n\n\
         [maintenance]\nstrategy = \"immediate\"\n\n[[group]]\nname = \"g\"\ncount = 1\nhostname = \"g-{index}\"\n",
    )
    .unwrap();
    std::fs::write(
        fleet_dir.join("bad.bu"),
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: etc/relative\n",
    )
    .unwrap();
    let out = directory.path().join("out");
    let output = run_fleet([
        "render",
        fleet_dir.join("fleet.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.bu:5:") && stderr.contains("path not absolute"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn every_failing_node_is_reported_with_its_own_reason_and_nothing_is_written() {
    // web-1 uses a field its spec lacks, db-1 a config Ignition refuses once composed: both are
    // reported, each at its group's line, and the count says two of two.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/render");
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    let output = fleet_tests::binary::fleet_command()
        .unwrap()
        .args(["render", "nodes-failing.toml", "--out"])
        .arg(&target)
        .current_dir(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    expect_file!["../data/render/nodes-failing.render.stderr"]
        .assert_eq(&String::from_utf8_lossy(&output.stderr));
    assert!(!target.exists(), "nothing is written");
}

#[test]
fn secrets_stay_out_of_logs() {
    let directory = tempfile::tempdir().unwrap();
    let fleet = example_fleet();
    let output = run_fleet([
        "-vvv",
        "render",
        fleet.to_str().unwrap(),
        "--out",
        directory.path().to_str().unwrap(),
    ])
    .unwrap();
    assert!(output.status.success());
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        !logs.contains("$y$") && !logs.contains("$6$"),
        "a password hash reached the logs"
    );
    assert!(
        !logs.contains("AAAAC3NzaC1lZDI1NTE5"),
        "a key reached the logs"
    );
}

#[test]
fn render_takes_no_date_and_no_rollout() {
    // What nodes receive depends on fleet.toml alone: there is nothing to say about when or which rollout.
    let directory = tempfile::tempdir().unwrap();
    let fleet = example_fleet();
    for option in [
        &["--now", NOW][..],
        &["--rollout-start", "2026-01-06T14:00:00Z"],
        &["--rollout-duration", "24h"],
        &["--rollout-start-fraction", "0.1"],
        &["--staging-allowance", "30m"],
    ] {
        let mut arguments = vec![
            "render",
            fleet.to_str().unwrap(),
            "--out",
            directory.path().to_str().unwrap(),
        ];
        arguments.extend_from_slice(option);
        let output = run_fleet(&arguments).unwrap();
        assert_eq!(output.status.code(), Some(2), "{option:?} is a usage error");
    }
}
