//! The real `ansible-inventory` (ansible-core from PyPI, `fleet_tests::ansible`) reads the example
//! fleet through the shipped script `fleet/ansible/inventory/fleet.sh`: without a warning, with
//! every group and every host's variables (group variables merged, as Ansible merges them) as
//! fleet's own plan says, `--graph` showing the same tree, and `--host` agreeing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fleet_tests::ansible::{RealAnsible, real_ansible, run_successfully};
use fleet_tests::binary::{fleet_binary, run_fleet_json};
use fleet_tests::checks::nodes_by_name;
use fleet_tests::workdir::WorkDir;
use serde_json::Value;

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn ansible_inventory(ansible: &RealAnsible, state: &Path, arguments: &[&str]) -> (String, String) {
    ansible_inventory_of(
        ansible,
        state,
        &repository_path("fleet/fleet.toml"),
        arguments,
    )
}

fn ansible_inventory_of(
    ansible: &RealAnsible,
    state: &Path,
    fleet: &Path,
    arguments: &[&str],
) -> (String, String) {
    ansible_inventory_with(ansible, state, fleet, arguments, "file")
}

/// `ansible-inventory` through the shipped script, with `FLEET_ADDRESSES=addresses`.
fn ansible_inventory_with(
    ansible: &RealAnsible,
    state: &Path,
    fleet: &Path,
    arguments: &[&str],
    addresses: &str,
) -> (String, String) {
    let output = run_successfully(
        ansible
            .command("ansible-inventory", state)
            .arg("-i")
            .arg(repository_path("fleet/ansible/inventory/fleet.sh"))
            .args(arguments)
            .env("FLEET_BIN", fleet_binary().unwrap())
            .env("FLEET_FILE", fleet)
            .env("FLEET_ADDRESSES", addresses),
    )
    .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `--graph`'s tree as group → direct members (hosts and child groups).
fn graph(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut tree: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut path: Vec<String> = Vec::new();
    for line in text.lines() {
        let depth = line.matches("|  ").count() + usize::from(line.contains("|--"));
        let name = line
            .trim_start_matches(['|', ' ', '-'])
            .trim_end_matches(':');
        path.truncate(depth);
        if let Some(parent) = path.last() {
            tree.entry(parent.clone())
                .or_default()
                .insert(name.trim_start_matches('@').to_owned());
        }
        if let Some(group) = name.strip_prefix('@') {
            tree.entry(group.to_owned()).or_default();
            path.push(group.to_owned());
        }
    }
    tree
}

#[test]
fn ansible_inventory_reads_the_example_fleet_as_its_plan_says() {
    let Some(ansible) = real_ansible("ansible_inventory_reads_the_example_fleet_as_its_plan_says")
    else {
        return;
    };
    let workdir = WorkDir::new("ansible-inventory").unwrap();
    let (list, warnings) = ansible_inventory(&ansible, workdir.path(), &["--list"]);
    assert!(
        !warnings.contains("WARNING"),
        "ansible-inventory warned:\n{warnings}"
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    let fleet = repository_path("fleet/fleet.toml");
    let plan = run_fleet_json(["plan".as_ref(), fleet.as_os_str()]).unwrap();
    let planned = nodes_by_name(&plan.json).unwrap();
    let hostvars = list["_meta"]["hostvars"].as_object().unwrap();

    for (name, node) in &planned {
        let vars = &hostvars[name.as_str()];
        assert_eq!(vars["fleet_role"], node["role"], "{name}");
        assert_eq!(vars["fleet_wariness"], node["rollout_wariness"], "{name}");
        assert_eq!(vars["fleet_windows"], node["windows"], "{name}");
        assert_eq!(vars["fleet_hypervisor"], node["host"], "{name}");
        assert_eq!(vars["fleet_group"], node["group"], "{name}");
        // `all`'s variables reach every host.
        assert_eq!(vars["fleet_name"], "demo", "{name}");
    }
    let hosts: BTreeSet<String> = planned
        .values()
        .filter_map(|node| node["host"].as_str().map(str::to_owned))
        .collect();
    for host in &hosts {
        // The hypervisors group's variables reach its hosts, and only them.
        assert_eq!(hostvars[host.as_str()]["fleet_pool_name"], "fleet-demo");
    }
    assert!(hostvars["web-01"].get("fleet_pool_name").is_none());

    let tree = graph(&ansible_inventory(&ansible, workdir.path(), &["--graph"]).0);
    let members = |group: &str| tree.get(group).cloned().unwrap_or_default();
    let of = |keep: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        planned
            .iter()
            .filter(|(_, node)| keep(node))
            .map(|(name, _)| name.clone())
            .collect()
    };
    assert_eq!(members("hypervisors"), hosts);
    let groups: BTreeSet<String> = planned
        .values()
        .map(|node| node["group"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(members("nodes"), groups);
    for group in &groups {
        assert_eq!(
            members(group),
            of(&|node| node["group"] == group.as_str()),
            "{group}"
        );
    }
    for role in ["canary", "cautious"] {
        assert_eq!(members(role), of(&|node| node["role"] == role), "{role}");
    }
    for host in &hosts {
        assert_eq!(
            members(&format!("on_{host}")),
            of(&|node| node["host"] == host.as_str()),
            "on_{host}"
        );
    }
    // The example's hosts hv1, hv2 and hv3 are labelled zone a, b and c.
    for (zone, host) in [("zone_a", "hv1"), ("zone_b", "hv2"), ("zone_c", "hv3")] {
        assert_eq!(members(zone), of(&|node| node["host"] == host), "{zone}");
    }

    let (one, _) = ansible_inventory(&ansible, workdir.path(), &["--host", "db-3"]);
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one, hostvars["db-3"]);
}

/// A fleet without `[[host]]` and without canaries: its one hypervisor is the local machine, and
/// the empty `canary` group stays an empty group (Ansible takes `{}` for a host of that name).
#[test]
fn ansible_inventory_reads_empty_groups_and_a_local_hypervisor_without_a_warning() {
    let Some(ansible) = real_ansible("ansible_inventory_reads_empty_groups_and_a_local_hypervisor")
    else {
        return;
    };
    let workdir = WorkDir::new("ansible-inventory-local").unwrap();
    let fleet = workdir
        .write(
            "fleet.toml",
            "[fleet]\nname = \"local\"\nconnect = \"test:///default\"\n\n[fleet.image]\npath = \"base.qcow2\"\n\n\
             [maintenance]\nstrategy = \"immediate\"\n\n[[group]]\nname = \"web-eu\"\ncount = 2\nhostname = \"web-{index}\"\n\n\
             [group.rollout]\nmax_unavailable = 2\ncanaries = 0\n",
        )
        .unwrap();
    let (list, warnings) = ansible_inventory_of(&ansible, workdir.path(), &fleet, &["--list"]);
    assert!(
        !warnings.contains("WARNING"),
        "ansible-inventory warned:\n{warnings}"
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    let hostvars = list["_meta"]["hostvars"].as_object().unwrap();
    assert_eq!(
        hostvars.keys().collect::<Vec<_>>(),
        ["localhost", "web-1", "web-2"]
    );
    assert_eq!(hostvars["localhost"]["ansible_connection"], "local");
    assert_eq!(
        list["web_eu"]["hosts"],
        serde_json::json!(["web-1", "web-2"])
    );
    assert_eq!(
        list["on_localhost"]["hosts"],
        serde_json::json!(["web-1", "web-2"])
    );
    assert!(list["canary"].get("hosts").is_none(), "{}", list["canary"]);
}

/// `FLEET_ADDRESSES=libvirt` makes the shipped script ask libvirt for leases: on the test driver
/// (no leases) the inventory is the file's; with its hypervisor unreachable, Ansible still gets
/// every host.
#[test]
fn ansible_inventory_reads_the_libvirt_addressed_inventory_even_with_its_hypervisor_down() {
    let Some(ansible) = real_ansible("ansible_inventory_reads_the_libvirt_addressed_inventory")
    else {
        return;
    };
    let workdir = WorkDir::new("ansible-inventory-libvirt").unwrap();
    for (name, connect) in [
        ("up.toml", "test:///default"),
        ("down.toml", "qemu+tcp://127.0.0.1:1/system"),
    ] {
        let fleet = workdir
            .write(
                name,
                format!(
                    "[fleet]\nname = \"local\"\nconnect = \"{connect}\"\n\n[fleet.image]\npath = \"base.qcow2\"\n\n\
                     [maintenance]\nstrategy = \"immediate\"\n\n[[group]]\nname = \"web\"\ncount = 2\n\n\
                     [group.rollout]\nmax_unavailable = 2\ncanaries = 0\n"
                ),
            )
            .unwrap();
        let (from_file, _) = ansible_inventory_of(&ansible, workdir.path(), &fleet, &["--list"]);
        let (from_libvirt, _) =
            ansible_inventory_with(&ansible, workdir.path(), &fleet, &["--list"], "libvirt");
        let from_libvirt: Value = serde_json::from_str(&from_libvirt).unwrap();
        assert_eq!(
            from_libvirt["web"]["hosts"],
            serde_json::json!(["web-1", "web-2"]),
            "{name}"
        );
        assert_eq!(
            from_libvirt,
            serde_json::from_str::<Value>(&from_file).unwrap(),
            "{name}"
        );
    }
}
