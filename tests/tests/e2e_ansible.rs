//! End-to-end proof of the Ansible playbooks on a real libvirtd. The deploy playbook
//! (`fleet.coreos.deploy`): run with `--check --diff` it reports a change and defines no domain; run
//! for real it deploys every node; run again it reports no change. The release playbook
//! (`fleet.coreos.roll_out`), over the shipped inventory script: it rebuilds the canaries on the new
//! image, waits for their health gate in `fleet status`, and only then rebuilds the rest; a canary
//! whose gate fails stops it before any other node is touched. The real ansible-core
//! (`fleet_tests::ansible`) runs the collection installed from the repository.
//!
//! Run by `cargo xtask e2e` (see docs/testing.md), which also installs Ansible.

use std::path::Path;

use fleet_tests::ansible::{RealAnsible, real_ansible, recap_changes, run_successfully};
use fleet_tests::binary::{fleet_binary, run_fleet_json};
use fleet_tests::checks::fleet_args;
use fleet_tests::e2e;
use fleet_tests::fleet_toml::{E2eFleet, E2eGroup};
use fleet_tests::virsh::Virsh;
use fleet_tests::workdir::WorkDir;

fn run_deploy_playbook(
    ansible: &RealAnsible,
    workdir: &WorkDir,
    collections: &Path,
    fleet_toml: &Path,
    extra: &[&str],
) -> String {
    let output = run_successfully(
        ansible
            .command("ansible-playbook", workdir.path())
            .arg("fleet.coreos.deploy")
            .arg("-e")
            .arg(format!("fleet_file={}", fleet_toml.display()))
            .arg("-e")
            .arg(format!(
                "fleet_binary={}",
                fleet_binary().unwrap().display()
            ))
            .args(extra)
            .env("ANSIBLE_COLLECTIONS_PATH", collections),
    )
    .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// `fleet destroy --yes --purge-image` succeeds, and libvirt's qemu logs of the nodes go too.
fn destroy_and_forget(virsh: &Virsh, fleet_toml: &Path, nodes: &[String]) {
    let destroy = run_fleet_json(fleet_args(
        "destroy",
        fleet_toml,
        &["--yes", "--purge-image"],
    ))
    .unwrap();
    assert!(destroy.status.success(), "{}", destroy.stderr);
    virsh.remove_qemu_logs(nodes);
}

#[test]
fn the_deploy_playbook_changes_nothing_in_check_mode_then_deploys_then_reports_no_change() {
    let test = "the_deploy_playbook_changes_nothing_in_check_mode";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let Some(ansible) = real_ansible(test) else {
        return;
    };
    let virsh = environment.virsh();
    let fleet = E2eFleet::new(
        &format!("e2e-a{}", std::process::id()),
        &environment.connect,
    )
    .group("web", 2);
    let workdir = WorkDir::new("ansible-deploy").unwrap();
    let files = fleet.write(&workdir, &environment.guest).unwrap();
    let collections = ansible.install_collection(workdir.path()).unwrap();
    let prefix = format!("{}-", fleet.name);

    let checked = run_deploy_playbook(
        &ansible,
        &workdir,
        &collections,
        &files.fleet_toml,
        &["--check", "--diff"],
    );
    assert_eq!(recap_changes(&checked)["localhost"], 1, "{checked}");
    for node in fleet.node_names() {
        assert!(
            checked.contains(&format!("node: {node}")),
            "--diff shows {node}:\n{checked}"
        );
    }
    assert_eq!(
        virsh.domains_named_like(&prefix).unwrap(),
        Vec::<String>::new()
    );

    let deployed = run_deploy_playbook(&ansible, &workdir, &collections, &files.fleet_toml, &[]);
    assert_eq!(recap_changes(&deployed)["localhost"], 1, "{deployed}");
    let mut domains = virsh.domains_named_like(&prefix).unwrap();
    domains.sort();
    let mut nodes = fleet.node_names();
    nodes.sort();
    assert_eq!(domains, nodes);

    let again = run_deploy_playbook(&ansible, &workdir, &collections, &files.fleet_toml, &[]);
    assert_eq!(recap_changes(&again)["localhost"], 0, "{again}");

    destroy_and_forget(&virsh, &files.fleet_toml, &fleet.node_names());
}

/// The health check of the release test's group: busybox's `true` passes, `false` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CanaryHealth {
    Passes,
    Fails,
}

#[test]
fn the_roll_out_playbook_rebuilds_the_canaries_waits_for_their_health_then_rebuilds_the_rest() {
    roll_out(
        "the_roll_out_playbook_rebuilds_the_canaries_waits_for_their_health",
        CanaryHealth::Passes,
    );
}

#[test]
fn the_roll_out_playbook_stops_at_a_sick_canary_before_touching_the_rest() {
    roll_out(
        "the_roll_out_playbook_stops_at_a_sick_canary",
        CanaryHealth::Fails,
    );
}

/// Deploy a health-gated group, then roll a new base image out with `fleet.coreos.roll_out`.
fn roll_out(test: &str, health: CanaryHealth) {
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let Some(ansible) = real_ansible(test) else {
        return;
    };
    let virsh = environment.virsh();
    let (tag, check) = match health {
        CanaryHealth::Passes => ("p", "/bin/true"),
        CanaryHealth::Fails => ("f", "/bin/false"),
    };
    let fleet = E2eFleet::new(
        &format!("e2e-r{tag}{}", std::process::id()),
        &environment.connect,
    )
    .with_group(E2eGroup::new("web", 2).health_command(&[check]));
    let workdir = WorkDir::new("ansible-roll-out").unwrap();
    let files = fleet.write(&workdir, &environment.guest).unwrap();
    let collections = ansible.install_collection(workdir.path()).unwrap();

    let deploy = run_fleet_json(fleet_args("deploy", &files.fleet_toml, &[])).unwrap();
    assert!(
        deploy.status.success(),
        "{:#}\n{}",
        deploy.json,
        deploy.stderr
    );
    let plan = run_fleet_json(fleet_args("plan", &files.fleet_toml, &[])).unwrap();
    let role_of = |role: &str| -> Vec<String> {
        plan.json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|node| node["role"] == role)
            .map(|node| node["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (canaries, cautious) = (role_of("canary"), role_of("cautious"));
    assert!(
        !canaries.is_empty() && !cautious.is_empty(),
        "{:#}",
        plan.json
    );
    // The new release: another image (a different size makes different bytes, so every node differs).
    let release = workdir.join("release-2.qcow2");
    let created = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&release)
        .arg("65M")
        .status()
        .unwrap();
    assert!(created.success());
    let inventory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/ansible/inventory/fleet.sh");
    let output = ansible
        .command("ansible-playbook", workdir.path())
        .arg("-i")
        .arg(&inventory)
        .arg("fleet.coreos.roll_out")
        .args(["-e", &format!("fleet_file={}", files.fleet_toml.display())])
        .args([
            "-e",
            &format!("fleet_binary={}", fleet_binary().unwrap().display()),
        ])
        .args(["-e", &format!("fleet_release_image={}", release.display())])
        .args([
            "-e",
            "fleet_health_delay=5",
            "-e",
            "fleet_health_retries=60",
        ])
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("FLEET_FILE", &files.fleet_toml)
        .env("FLEET_BIN", fleet_binary().unwrap())
        .output()
        .unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let fleet_toml = std::fs::read_to_string(&files.fleet_toml).unwrap();
    assert!(
        fleet_toml.contains(&release.display().to_string()),
        "the release is not in the fleet file:\n{fleet_toml}\n{log}"
    );
    // What is left to roll out: `fleet diff` names every node not rebuilt on the new image.
    let diff = run_fleet_json(fleet_args("diff", &files.fleet_toml, &[])).unwrap();
    let left: Vec<String> = diff.json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["action"] != "unchanged")
        .map(|node| node["node"].as_str().unwrap().to_owned())
        .collect();
    let nodes = fleet.node_names();
    match health {
        CanaryHealth::Passes => {
            assert!(output.status.success(), "{log}");
            assert_eq!(left, Vec::<String>::new(), "{:#}\n{log}", diff.json);
            let waited = log.find("Wait until every health-gated canary").unwrap();
            let rest = log.find("TASK [Rebuild the other nodes]").unwrap();
            assert!(waited < rest, "{log}");
            assert!(log.contains("changed: [localhost]"), "{log}");
        }
        CanaryHealth::Fails => {
            assert!(!output.status.success(), "{log}");
            assert!(log.contains("rollback-skipped"), "{log}");
            assert!(!log.contains("TASK [Rebuild the other nodes]"), "{log}");
            assert_eq!(
                left, cautious,
                "only the canaries are rebuilt:\n{:#}\n{log}",
                diff.json
            );
        }
    }

    destroy_and_forget(&virsh, &files.fleet_toml, &nodes);
}
