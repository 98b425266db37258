//! The `fleet.coreos` collection (`fleet/ansible/`) with the real ansible-core and ansible-lint
//! (`fleet_tests::ansible`): it installs with `ansible-galaxy` from the repository, its module's
//! documentation parses, every playbook passes `ansible-playbook --syntax-check` and the whole
//! collection is `ansible-lint` clean (production profile); and the module, run by
//! `ansible-playbook` on this machine with the example fleet on libvirt's test driver (its
//! `fleet/test-hosts/` twins), reports what fleet's own commands report: check and plan change
//! nothing, a broken file fails with fleet's located message, deploy in check mode is a dry run
//! that reports changed with a before/after per node, and deploy reports the nodes it created.
//!
//! libvirt's test driver lives in each process, so nothing a deploy makes persists for a second
//! run to find: "a second run is unchanged" is proven on a real libvirtd (docs/ansible.md, "The
//! end-to-end run").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fleet_tests::ansible::{RealAnsible, real_ansible, recap_changes, run_successfully};
use fleet_tests::binary::{fleet_binary, run_fleet_json};
use fleet_tests::checks::nodes_by_name;
use fleet_tests::workdir::WorkDir;
use serde_json::{Value, json};

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn install_collection(ansible: &RealAnsible, workdir: &WorkDir) -> PathBuf {
    ansible.install_collection(workdir.path()).unwrap()
}

fn playbooks() -> Vec<PathBuf> {
    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(repository_path("fleet/ansible/playbooks"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yml"))
        .collect();
    playbooks.sort();
    playbooks
}

#[test]
fn the_collection_installs_and_every_playbook_passes_syntax_check_and_ansible_lint() {
    let Some(ansible) = real_ansible("the_collection_installs_and_every_playbook_passes") else {
        return;
    };
    let workdir = WorkDir::new("ansible-lint").unwrap();
    let collections = install_collection(&ansible, &workdir);

    let documentation = run_successfully(
        ansible
            .command("ansible-doc", workdir.path())
            .args(["--json", "fleet.coreos.fleet"])
            .env("ANSIBLE_COLLECTIONS_PATH", &collections),
    )
    .unwrap();
    let documentation: Value = serde_json::from_slice(&documentation.stdout).unwrap();
    let options = &documentation["fleet.coreos.fleet"]["doc"]["options"];
    for option in ["command", "fleet_file", "connect", "nodes", "replace"] {
        assert!(options.get(option).is_some(), "option {option}: {options}");
    }

    let playbooks = playbooks();
    let names: Vec<String> = playbooks
        .iter()
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["deploy", "prepare_hypervisors", "roll_out", "updates"]
    );
    for playbook in &playbooks {
        run_successfully(
            ansible
                .command("ansible-playbook", workdir.path())
                .arg("--syntax-check")
                .arg(playbook)
                .env("ANSIBLE_COLLECTIONS_PATH", &collections),
        )
        .unwrap();
    }

    let lint = ansible
        .command("ansible-lint", workdir.path())
        .args(["--nocolor", "--offline", "--profile", "production"])
        .current_dir(repository_path("fleet/ansible"))
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    assert!(lint.status.success(), "ansible-lint failed:\n{report}");
    assert!(
        report.contains("Passed: 0 failure(s), 0 warning(s)"),
        "{report}"
    );
}

/// `--connect` values that put the example's hosts on their test-driver twins.
fn test_host_twins() -> Vec<String> {
    ["hv1", "hv2", "hv3"]
        .iter()
        .map(|host| {
            let twin = repository_path(&format!("fleet/test-hosts/{host}.xml"));
            format!("{host}=test://{}", twin.canonicalize().unwrap().display())
        })
        .collect()
}

/// The variables every test-driver playbook takes: the example fleet, the binary under test, the
/// example's hosts on their test-driver twins, and a placeholder base image in `workdir`.
fn test_driver_variables(workdir: &WorkDir) -> Value {
    let image = workdir.write("placeholder.qcow2", b"").unwrap();
    json!({
        "fleet_file": repository_path("fleet/fleet.toml"),
        "fleet_binary": fleet_binary().unwrap(),
        "fleet_connect": test_host_twins(),
        "fleet_image": image,
    })
}

/// Run `tests/data/ansible/PLAYBOOK` with `variables` (and `results_file`) as extra variables;
/// what it kept in its results file.
fn run_data_playbook(
    ansible: &RealAnsible,
    workdir: &WorkDir,
    collections: &Path,
    playbook: &str,
    mut variables: Value,
) -> Value {
    let results = workdir.join(format!("{playbook}.results.json"));
    variables["results_file"] = json!(results);
    let variables = workdir
        .write(format!("{playbook}.variables.json"), variables.to_string())
        .unwrap();
    run_successfully(
        ansible
            .command("ansible-playbook", workdir.path())
            .arg(repository_path("tests/data/ansible").join(playbook))
            .arg("-e")
            .arg(format!("@{}", variables.display()))
            .env("ANSIBLE_COLLECTIONS_PATH", collections)
            .env("XDG_CACHE_HOME", workdir.join("cache")),
    )
    .unwrap();
    serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap()
}

/// A fleet file with a mistyped key.
fn broken_fleet(workdir: &WorkDir) -> PathBuf {
    workdir
        .write(
            "broken.toml",
            "[fleet]\nname = \"broken\"\nconect = \"test:///default\"\n",
        )
        .unwrap()
}

#[test]
fn the_module_reports_what_fleet_reports_in_check_mode_and_for_real_on_the_test_driver() {
    let Some(ansible) = real_ansible("the_module_reports_what_fleet_reports") else {
        return;
    };
    let workdir = WorkDir::new("ansible-module").unwrap();
    let collections = install_collection(&ansible, &workdir);
    let fleet = repository_path("fleet/fleet.toml");
    let mut variables = test_driver_variables(&workdir);
    variables["broken_fleet_file"] = json!(broken_fleet(&workdir));
    let results = run_data_playbook(&ansible, &workdir, &collections, "module.yml", variables);

    assert_eq!(results["checked"]["changed"], false);
    assert_eq!(results["checked"]["failed"], false);
    let refused = &results["refused"];
    assert_eq!(refused["failed"], true, "{refused}");
    assert_eq!(refused["rc"], 1, "{refused}");
    assert!(
        refused["stderr"]
            .as_str()
            .unwrap()
            .contains("broken.toml:3:1: error: unknown key `conect` in [fleet]"),
        "{refused}"
    );

    // The plan, as a result and as a fact, is fleet's plan: the same nodes in the same roles.
    let plan = run_fleet_json(["plan".as_ref(), fleet.as_os_str()]).unwrap();
    let roles = |plan: &Value| -> BTreeMap<String, Value> {
        nodes_by_name(plan)
            .unwrap()
            .into_iter()
            .map(|(name, node)| {
                (
                    name,
                    json!([node["role"], node["rollout_wariness"], node["windows"]]),
                )
            })
            .collect()
    };
    assert_eq!(results["planned"]["changed"], false);
    assert_eq!(roles(&results["planned"]["plan"]), roles(&plan.json));
    assert_eq!(results["plan_fact"], results["planned"]["plan"]);

    // Check mode is fleet's dry run: every node would be created, nothing is done, and --diff
    // shows each node's creation.
    let dry_run = &results["dry_run"];
    assert_eq!(dry_run["changed"], true, "{dry_run}");
    let report = &dry_run["deploy"];
    assert_eq!(report["dry_run"], true);
    let nodes = report["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), nodes_by_name(&plan.json).unwrap().len());
    for node in nodes {
        assert_eq!(node["action"], "create", "{node}");
        assert_eq!(node["outcome"], "planned", "{node}");
    }
    let diffs = dry_run["diff"].as_array().unwrap();
    assert_eq!(diffs.len(), nodes.len());
    for (diff, node) in diffs.iter().zip(nodes) {
        assert_eq!(diff["before"], "");
        assert!(
            diff["after"].as_str().unwrap().starts_with(&format!(
                "node: {}\nhost: {}\n",
                node["name"].as_str().unwrap(),
                node["host"].as_str().unwrap()
            )),
            "{diff}"
        );
    }

    // For real, only the selected nodes, each created (in fleet order).
    let deployed = &results["deployed"];
    assert_eq!(deployed["changed"], true, "{deployed}");
    let report = &deployed["deploy"];
    assert_eq!(report["dry_run"], false);
    let created: Vec<(&str, &str, &str)> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["name"].as_str().unwrap(),
                node["action"].as_str().unwrap(),
                node["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        created,
        [("web-01", "create", "done"), ("db-1", "create", "done")]
    );
    assert_eq!(results["deploy_fact"], deployed["deploy"]);
}

/// The diff command needs `fleet diff` (issue 16's other half): until the binary under test has
/// it, this test says so and passes without running (in CI too, since the command is missing, not
/// an environment).
#[test]
fn the_modules_diff_is_fleet_diff_and_reports_changed_when_it_finds_changes() {
    let Some(ansible) = real_ansible("the_modules_diff_is_fleet_diff") else {
        return;
    };
    let diff_help = fleet_tests::binary::run_fleet(["diff", "--help"]).unwrap();
    if !diff_help.status.success() {
        fleet_tests::ansible::say_skipped(
            "the_modules_diff_is_fleet_diff",
            "needs `fleet diff`, which the binary under test does not have yet",
        );
        return;
    }
    let workdir = WorkDir::new("ansible-diff").unwrap();
    let collections = install_collection(&ansible, &workdir);
    let fleet = repository_path("fleet/fleet.toml");
    let connect = test_host_twins();
    let image = workdir.join("placeholder.qcow2");
    let saved_plan = workdir.join("plan.json");
    let mut variables = test_driver_variables(&workdir);
    variables["saved_plan"] = json!(saved_plan);
    let results = run_data_playbook(&ansible, &workdir, &collections, "diff.yml", variables);

    let mut arguments: Vec<std::ffi::OsString> = vec![
        "diff".into(),
        fleet.clone().into(),
        "--image".into(),
        image.into(),
    ];
    for value in &connect {
        arguments.push("--connect".into());
        arguments.push(value.into());
    }
    let direct = run_fleet_json(&arguments).unwrap();
    assert_eq!(direct.status.code(), Some(2), "{}", direct.stderr);
    let compared = &results["compared"];
    assert_eq!(compared["changed"], true, "{compared}");
    assert_eq!(compared["fleet_diff"]["nodes"], direct.json["nodes"]);
    assert_eq!(results["diff_fact"], compared["fleet_diff"]);
    let nodes = direct.json["nodes"].as_array().unwrap();
    assert!(
        nodes.iter().all(|node| node["action"] == "create"),
        "{nodes:?}"
    );
    assert_eq!(compared["diff"].as_array().unwrap().len(), nodes.len());
    // The saved plan, for `deploy` with `saved_plan`, is the same diff.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved_plan).unwrap()).unwrap();
    assert_eq!(saved["nodes"], direct.json["nodes"]);

    // Deploying the saved diff: in check mode, what it holds; for real, exactly its nodes.
    let saved_dry_run = &results["saved_dry_run"];
    assert_eq!(saved_dry_run["changed"], true, "{saved_dry_run}");
    assert_eq!(saved_dry_run["fleet_diff"]["nodes"], direct.json["nodes"]);
    let saved_deployed = &results["saved_deployed"];
    assert_eq!(saved_deployed["changed"], true, "{saved_deployed}");
    let deployed: std::collections::BTreeSet<&str> = saved_deployed["deploy"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["name"].as_str().unwrap())
        .collect();
    let diffed: std::collections::BTreeSet<&str> = nodes
        .iter()
        .map(|node| node["node"].as_str().unwrap())
        .collect();
    assert_eq!(deployed, diffed);
    assert!(
        saved_deployed["deploy"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|node| node["outcome"] == "done"),
        "{saved_deployed}"
    );
}

/// The shipped deploy playbook itself, on the test driver: with `--check --diff` it reports one
/// change and shows every node it would create; for real it deploys. (A second run reporting no
/// change needs a libvirt that keeps state: `tests/tests/e2e_ansible.rs`.)
#[test]
fn the_deploy_playbook_runs_in_check_mode_and_for_real_on_the_test_driver() {
    let Some(ansible) = real_ansible("the_deploy_playbook_runs_on_the_test_driver") else {
        return;
    };
    let workdir = WorkDir::new("ansible-deploy-playbook").unwrap();
    let collections = install_collection(&ansible, &workdir);
    let variables = workdir
        .write(
            "variables.json",
            test_driver_variables(&workdir).to_string(),
        )
        .unwrap();
    let run = |extra: &[&str]| -> String {
        let output = run_successfully(
            ansible
                .command("ansible-playbook", workdir.path())
                .arg("fleet.coreos.deploy")
                .arg("-e")
                .arg(format!("@{}", variables.display()))
                .args(extra)
                .env("ANSIBLE_COLLECTIONS_PATH", &collections)
                .env("XDG_CACHE_HOME", workdir.join("cache")),
        )
        .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let plan = run_fleet_json([
        "plan".as_ref(),
        repository_path("fleet/fleet.toml").as_os_str(),
    ])
    .unwrap();
    let nodes = nodes_by_name(&plan.json).unwrap();

    let checked = run(&["--check", "--diff"]);
    assert_eq!(recap_changes(&checked)["localhost"], 1, "{checked}");
    for node in nodes.keys() {
        assert!(
            checked.contains(&format!("node: {node}\n")),
            "--diff shows {node}:\n{checked}"
        );
        assert!(checked.contains(&format!("{node}: create")), "{checked}");
    }
    let deployed = run(&[]);
    assert_eq!(recap_changes(&deployed)["localhost"], 1, "{deployed}");
    assert!(
        !deployed.contains("node: web-01\n"),
        "no diff without --diff:\n{deployed}"
    );
}

/// A one-node fleet `demo` on a test-driver hypervisor that also holds `web-0`, a node of `demo`
/// the file no longer has; the playbook's variables.
fn fleet_with_a_stray(workdir: &WorkDir) -> Value {
    let image = workdir
        .write("fcos.qcow2", "QFI\u{fb}a placeholder")
        .unwrap();
    let fleet = workdir
        .write(
            "prune.toml",
            format!(
                "[fleet]\nname = \"demo\"\n\n[fleet.image]\npath = \"{}\"\n\n[fleet.pool]\npath = \"{}\"\n\n[[maintenance.period]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength_minutes = 240\n\n[[group]]\nname = \"web\"\ncount = 1\n",
                image.display(),
                workdir.join("pool").display()
            ),
        )
        .unwrap();
    let host = workdir
        .write(
            "host.xml",
            "<node>\n<cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads><active>8</active></cpu>\n<memory>16777216</memory>\n<domain type='qemu'><name>web-0</name><uuid>4a2b7a39-9d77-4d5b-9a2f-000000000001</uuid><metadata><fleet:node xmlns:fleet='https://example.invalid/fleet/xmlns/domain/1' fleet='demo' node='web-0'/></metadata><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>\n<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5d9</uuid><forward mode='nat'/><bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.100' end='192.168.122.254'/></dhcp></ip></network>\n</node>\n",
        )
        .unwrap();
    json!({
        "fleet_file": fleet,
        "fleet_binary": fleet_binary().unwrap(),
        "fleet_connect": [format!("test://{}", host.display())],
    })
}

#[test]
fn the_modules_prune_removes_a_node_the_file_no_longer_has_and_check_mode_only_shows_it() {
    let Some(ansible) = real_ansible("the_modules_prune_removes_a_node") else {
        return;
    };
    let workdir = WorkDir::new("ansible-prune").unwrap();
    let collections = install_collection(&ansible, &workdir);
    let variables = fleet_with_a_stray(&workdir);
    let results = run_data_playbook(&ansible, &workdir, &collections, "prune.yml", variables);

    let kept = &results["kept"];
    assert_eq!(kept["deploy"]["removals"], json!([]), "{kept}");
    let checked = &results["prune_checked"];
    assert_eq!(checked["changed"], true, "{checked}");
    assert_eq!(
        checked["deploy"]["removals"][0]["node"], "web-0",
        "{checked}"
    );
    assert_eq!(
        checked["deploy"]["removals"][0]["outcome"], "planned",
        "{checked}"
    );
    let removal_diff = checked["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|diff| {
            diff["before"]
                .as_str()
                .is_some_and(|before| before.starts_with("node: web-0\n"))
        })
        .cloned();
    assert!(
        removal_diff.is_some_and(|diff| diff["after"] == ""),
        "{checked}"
    );
    let pruned = &results["pruned"];
    assert_eq!(pruned["changed"], true, "{pruned}");
    assert_eq!(
        pruned["deploy"]["removals"][0]["outcome"], "done",
        "{pruned}"
    );
}
