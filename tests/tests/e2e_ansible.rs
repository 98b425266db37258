//! End-to-end proof of the Ansible deploy playbook (`fleet.coreos.deploy`) on a real libvirtd: run
//! with `--check --diff` it reports a change and defines no domain; run for real it deploys every
//! node; run again it reports no change. The real ansible-core (`fleet_tests::ansible`) runs the
//! collection installed from the repository.
//!
//! Run by `cargo xtask e2e` (see docs/testing.md), which also installs Ansible.

use std::path::Path;

use fleet_tests::ansible::{RealAnsible, real_ansible, recap_changes, run_successfully};
use fleet_tests::binary::{fleet_binary, run_fleet_json};
use fleet_tests::checks::fleet_args;
use fleet_tests::e2e;
use fleet_tests::fleet_toml::E2eFleet;
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

    let destroy = run_fleet_json(fleet_args(
        "destroy",
        &files.fleet_toml,
        &["--yes", "--purge-image"],
    ))
    .unwrap();
    assert!(destroy.status.success(), "{}", destroy.stderr);
    virsh.remove_qemu_logs(&fleet.node_names());
}
