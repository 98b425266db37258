//! End-to-end proof of the Ansible playbooks on a real libvirtd. The deploy playbook
//! (`fleet.coreos.deploy`): run with `--check --diff` it reports a change and defines no domain; run
//! for real it deploys every node; run again it reports no change. The release playbook
//! (`fleet.coreos.roll_out`), over the shipped inventory script: it rebuilds the canaries on the new
//! image, waits for their health gate in `fleet status`, and only then rebuilds the rest; a canary
//! whose gate fails stops it before any other node is touched. The shipped inventory script with
//! `FLEET_ADDRESSES=libvirt` gives a DHCP node the lease its guest really took from the network. The
//! real ansible-core (`fleet_tests::ansible`) runs the collection installed from the repository.
//!
//! Run by `cargo xtask e2e` (see docs/testing.md), which also installs Ansible.

use std::net::Ipv4Addr;
use std::path::Path;

use fleet_tests::ansible::{RealAnsible, real_ansible, recap_changes, run_successfully};
use fleet_tests::binary::{fleet_binary, run_fleet_json};
use fleet_tests::checks::{GuestToCheck, fleet_args, nodes_by_name, wait_for_leases};
use fleet_tests::e2e;
use fleet_tests::fleet_toml::{E2eFleet, E2eGroup};
use fleet_tests::virsh::{PowerOffOnFailure, Virsh};
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

/// A prepared machine and the real Ansible, or `None` (the test skips, as each gate says why).
fn environment_and_ansible(test: &str) -> Option<(e2e::E2eEnvironment, RealAnsible)> {
    let environment = e2e::environment(test)?;
    let ansible = real_ansible(test)?;
    Some((environment, ansible))
}

#[test]
fn the_deploy_playbook_changes_nothing_in_check_mode_then_deploys_then_reports_no_change() {
    let test = "the_deploy_playbook_changes_nothing_in_check_mode";
    let Some((environment, ansible)) = environment_and_ansible(test) else {
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
    let Some((environment, ansible)) = environment_and_ansible(test) else {
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

/// How long the lease test's guests stay up with their lease: far longer than the test needs, and
/// `fleet destroy` ends them sooner.
const LEASE_HOLD_SECONDS: u32 = 900;

/// The shipped inventory script, as `ansible-inventory -i` runs it, with `FLEET_ADDRESSES=addresses`.
fn inventory_list(
    ansible: &RealAnsible,
    workdir: &WorkDir,
    fleet_toml: &Path,
    addresses: &str,
) -> serde_json::Value {
    let inventory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/ansible/inventory/fleet.sh");
    let output = run_successfully(
        ansible
            .command("ansible-inventory", workdir.path())
            .arg("-i")
            .arg(&inventory)
            .arg("--list")
            .env("FLEET_FILE", fleet_toml)
            .env("FLEET_BIN", fleet_binary().unwrap())
            .env("FLEET_ADDRESSES", addresses),
    )
    .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A DHCP node's guest takes a lease from the network's dnsmasq (busybox udhcpc on its virtio NIC,
/// as NetworkManager would on Fedora CoreOS); a reserved node's guest is handed its reservation.
/// While they run, `fleet status` shows the DHCP node at the address its guest took, and the shipped
/// inventory script with `FLEET_ADDRESSES=libvirt` gives it that address as `ansible_host` (and the
/// reserved node its reservation); from the fleet file alone the DHCP node has no `ansible_host`.
#[test]
fn the_inventory_gives_a_dhcp_node_the_lease_its_guest_took_from_the_network() {
    let test = "the_inventory_gives_a_dhcp_node_the_lease_its_guest_took";
    let Some((environment, ansible)) = environment_and_ansible(test) else {
        return;
    };
    let virsh = environment.virsh();
    let reserved = virsh
        .free_addresses(
            "default",
            Ipv4Addr::new(192, 168, 122, 100)..=Ipv4Addr::new(192, 168, 122, 250),
            1,
        )
        .unwrap();
    let fleet = E2eFleet::new(
        &format!("e2e-l{}", std::process::id()),
        &environment.connect,
    )
    .guests_hold_a_lease(LEASE_HOLD_SECONDS)
    .group("web", 1)
    .with_group(E2eGroup::new("db", 1).reserved_from(reserved));
    let workdir = WorkDir::new("ansible-lease").unwrap();
    let files = fleet.write(&workdir, &environment.guest).unwrap();
    let nodes = fleet.node_names();
    let (web, db) = (
        fleet.group_node_names("web").remove(0),
        fleet.group_node_names("db").remove(0),
    );

    let _held = PowerOffOnFailure::new(&virsh, &nodes);
    let deploy = run_fleet_json(fleet_args("deploy", &files.fleet_toml, &[])).unwrap();
    assert!(
        deploy.status.success(),
        "{:#}\n{}",
        deploy.json,
        deploy.stderr
    );
    let guests: Vec<GuestToCheck> = nodes
        .iter()
        .map(|node| GuestToCheck {
            node: node.clone(),
            console_log: files.console_log(node),
            virsh: virsh.clone(),
        })
        .collect();
    let leases = wait_for_leases(&guests).unwrap();
    assert_eq!(
        leases[&db].address, reserved,
        "dnsmasq hands the reserved node its reservation"
    );
    let dhcp_lease = leases[&web].address.to_string();

    let status = run_fleet_json(fleet_args("status", &files.fleet_toml, &[])).unwrap();
    assert!(status.status.success(), "{}", status.stderr);
    let status_nodes = nodes_by_name(&status.json).unwrap();
    assert_eq!(status_nodes[&web]["state"], "running", "{:#}", status.json);
    assert_eq!(
        status_nodes[&web]["address"],
        dhcp_lease.as_str(),
        "{:#}",
        status.json
    );
    assert_eq!(
        status_nodes[&web]["address_source"], "lease",
        "{:#}",
        status.json
    );
    assert_eq!(
        status_nodes[&db]["address"],
        reserved.to_string().as_str(),
        "{:#}",
        status.json
    );

    let hostvars =
        |inventory: &serde_json::Value, node: &str| inventory["_meta"]["hostvars"][node].clone();
    let with_leases = inventory_list(&ansible, &workdir, &files.fleet_toml, "libvirt");
    for (node, lease) in &leases {
        assert_eq!(
            hostvars(&with_leases, node)["fleet_mac"],
            lease.mac.as_str(),
            "{node}'s guest took its lease on the NIC fleet gave it: {with_leases:#}"
        );
    }
    assert_eq!(
        hostvars(&with_leases, &web)["ansible_host"],
        dhcp_lease.as_str(),
        "{with_leases:#}"
    );
    assert_eq!(
        hostvars(&with_leases, &db)["ansible_host"],
        reserved.to_string().as_str(),
        "{with_leases:#}"
    );
    let from_the_file = inventory_list(&ansible, &workdir, &files.fleet_toml, "file");
    assert!(
        hostvars(&from_the_file, &web).get("ansible_host").is_none(),
        "{from_the_file:#}"
    );

    destroy_and_forget(&virsh, &files.fleet_toml, &nodes);
}
