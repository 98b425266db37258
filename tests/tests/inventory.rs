//! `fleet inventory`, the Ansible dynamic inventory, against fleet's own outputs: over the example
//! fleet every node's variables and every group's members are what `fleet plan --format json` and
//! `fleet nodes --format json` say (roles, wariness, windows, placement, addresses), labels group
//! the nodes of their hosts, `--host` prints the same variables, the output is byte-identical across
//! runs, and names Ansible would merge, an unknown host and a fleet without `[[host]]` are handled.
//!
//! The real `ansible-inventory` reading the same output is `tests/tests/ansible_inventory.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fleet_tests::binary::{run_fleet, run_fleet_json};
use fleet_tests::checks::nodes_by_name;
use serde_json::Value;

fn example_fleet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/fleet.toml")
}

fn inventory(fleet: &Path, arguments: &[&str]) -> Value {
    let output = run_fleet(
        ["inventory".as_ref(), fleet.as_os_str()]
            .into_iter()
            .chain(arguments.iter().map(|argument| argument.as_ref())),
    )
    .unwrap();
    assert!(
        output.status.success(),
        "fleet inventory failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn members(inventory: &Value, group: &str) -> BTreeSet<String> {
    inventory[group]["hosts"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .map(|host| host.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn names_where(nodes: &BTreeMap<String, Value>, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|(_, node)| keep(node))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The example fleet's `[[host]]` tables as written: name, connect URI and labels.
fn hosts_of(fleet: &Path) -> Vec<(String, String, BTreeMap<String, String>)> {
    let document: toml::Table = std::fs::read_to_string(fleet).unwrap().parse().unwrap();
    document["host"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| {
            let labels = host
                .get("labels")
                .and_then(toml::Value::as_table)
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (
                host["name"].as_str().unwrap().to_owned(),
                host["connect"].as_str().unwrap().to_owned(),
                labels,
            )
        })
        .collect()
}

#[test]
fn the_example_fleets_inventory_holds_what_the_plan_and_the_node_list_say() {
    let fleet = example_fleet();
    let inventory = inventory(&fleet, &["--list"]);
    let plan = run_fleet_json(["plan".as_ref(), fleet.as_os_str()]).unwrap();
    assert!(plan.status.success(), "{}", plan.stderr);
    let planned = nodes_by_name(&plan.json).unwrap();
    let listed = run_fleet_json(["nodes".as_ref(), fleet.as_os_str()]).unwrap();
    let listed: BTreeMap<String, Value> = listed
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (node["name"].as_str().unwrap().to_owned(), node.clone()))
        .collect();
    assert_eq!(
        planned.keys().collect::<Vec<_>>(),
        listed.keys().collect::<Vec<_>>()
    );

    let hostvars = inventory["_meta"]["hostvars"].as_object().unwrap();
    for (name, node) in &planned {
        let vars = &hostvars[name.as_str()];
        assert_eq!(vars["fleet_group"], node["group"], "{name}");
        assert_eq!(vars["fleet_role"], node["role"], "{name}");
        assert_eq!(vars["fleet_wariness"], node["rollout_wariness"], "{name}");
        assert_eq!(vars["fleet_windows"], node["windows"], "{name}");
        assert_eq!(vars["fleet_strategy"], node["strategy"], "{name}");
        assert_eq!(vars["fleet_time_zone"], node["time_zone"], "{name}");
        assert_eq!(vars["fleet_hypervisor"], node["host"], "{name}");
        assert_eq!(vars["fleet_hostname"], node["hostname"], "{name}");
        assert_eq!(vars["fleet_mac"], listed[name]["mac"], "{name}");
        // Static and reserved nodes are reached at their address; DHCP nodes by name.
        match listed[name]["address"].as_str() {
            Some(address) => assert_eq!(vars["ansible_host"], address, "{name}"),
            None => assert!(vars.get("ansible_host").is_none(), "{name}: {vars}"),
        }
        // The example's first user, core, has a key file.
        assert_eq!(vars["ansible_user"], "core", "{name}");
    }

    let groups: BTreeSet<String> = planned
        .values()
        .map(|node| node["group"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        inventory["nodes"]["children"],
        serde_json::json!(groups.iter().collect::<Vec<_>>())
    );
    for group in &groups {
        assert_eq!(
            members(&inventory, group),
            names_where(&planned, |node| node["group"] == group.as_str()),
            "group {group}"
        );
    }
    for role in ["canary", "cautious"] {
        let expected = names_where(&planned, |node| node["role"] == role);
        assert!(!expected.is_empty(), "the example has {role} nodes");
        assert_eq!(members(&inventory, role), expected, "role {role}");
    }

    let hosts = hosts_of(&fleet);
    assert_eq!(
        members(&inventory, "hypervisors"),
        hosts.iter().map(|(name, _, _)| name.clone()).collect()
    );
    let mut label_groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (host, connect, labels) in &hosts {
        let on_host = names_where(&planned, |node| node["host"] == host.as_str());
        assert!(!on_host.is_empty(), "the plan places nodes on {host}");
        assert_eq!(
            members(&inventory, &format!("on_{host}")),
            on_host,
            "on_{host}"
        );
        for (key, value) in labels {
            label_groups
                .entry(format!("{key}_{value}"))
                .or_default()
                .extend(on_host.iter().cloned());
        }
        let vars = &hostvars[host.as_str()];
        assert_eq!(vars["fleet_connect"], connect.as_str());
        // qemu+ssh://root@hv1.demo.internal/system: SSH's user and host; tls: the host only.
        let after_scheme = connect.split_once("://").unwrap().1;
        let authority = after_scheme.split('/').next().unwrap();
        let (user, machine) = match authority.split_once('@') {
            Some((user, machine)) => (Some(user), machine),
            None => (None, authority),
        };
        assert_eq!(vars["ansible_host"], machine, "{host}");
        if connect.starts_with("qemu+ssh://") {
            assert_eq!(vars["ansible_user"].as_str(), user, "{host}");
        } else {
            assert!(vars.get("ansible_user").is_none(), "{host}: {vars}");
        }
        assert!(vars.get("ansible_connection").is_none(), "{host}: {vars}");
    }
    assert!(label_groups.contains_key("zone_a"));
    for (group, expected) in &label_groups {
        assert_eq!(&members(&inventory, group), expected, "label group {group}");
    }
}

#[test]
fn host_prints_the_variables_the_list_holds_for_nodes_and_hypervisors_alike() {
    let fleet = example_fleet();
    let list = inventory(&fleet, &[]);
    for host in ["web-01", "db-2", "edge-2", "hv3"] {
        assert_eq!(
            inventory(&fleet, &["--host", host]),
            list["_meta"]["hostvars"][host],
            "{host}"
        );
    }
}

#[test]
fn the_same_fleet_gives_byte_identical_inventories() {
    let fleet = example_fleet();
    let first = run_fleet(["inventory".as_ref(), fleet.as_os_str()]).unwrap();
    let second = run_fleet(["inventory".as_ref(), fleet.as_os_str(), "--list".as_ref()]).unwrap();
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn an_unknown_host_is_refused_with_the_closest_name() {
    let fleet = example_fleet();
    let output = run_fleet([
        "inventory".as_ref(),
        fleet.as_os_str(),
        "--host".as_ref(),
        "web-1".as_ref(),
    ])
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no host named \"web-1\"") && stderr.contains("did you mean \"web-01\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

fn write_fleet(directory: &Path, groups_and_more: &str) -> PathBuf {
    let path = directory.join("fleet.toml");
    std::fs::write(
        &path,
        format!(
            "[fleet]\nname = \"inv\"\nconnect = \"test:///default\"\n\n[fleet.image]\npath = \"base.qcow2\"\n\n[maintenance]\nstrategy = \"immediate\"\n\n{groups_and_more}"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_fleet_without_hosts_has_one_local_hypervisor_reached_locally() {
    let directory = tempfile::tempdir().unwrap();
    let fleet = write_fleet(
        directory.path(),
        "[[group]]\nname = \"web-eu\"\ncount = 2\nhostname = \"web-{index}\"\n\n[group.rollout]\nmax_unavailable = 2\ncanaries = 0\n\n[[group.users]]\nname = \"ops\"\nssh_authorized_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com\"]\n",
    );
    let inventory = inventory(&fleet, &[]);
    assert_eq!(
        members(&inventory, "hypervisors"),
        ["localhost".to_owned()].into()
    );
    let localhost = &inventory["_meta"]["hostvars"]["localhost"];
    assert_eq!(localhost["ansible_connection"], "local");
    assert_eq!(
        localhost["ansible_python_interpreter"],
        "{{ ansible_playbook_python }}"
    );
    assert_eq!(localhost["fleet_connect"], "test:///default");
    // `web-eu` is no valid Ansible group name; its group is `web_eu`, of both nodes.
    assert_eq!(
        inventory["nodes"]["children"],
        serde_json::json!(["web_eu"])
    );
    assert_eq!(members(&inventory, "web_eu").len(), 2);
    assert_eq!(
        members(&inventory, "on_localhost"),
        members(&inventory, "web_eu")
    );
    for (name, vars) in inventory["_meta"]["hostvars"].as_object().unwrap() {
        if name != "localhost" {
            assert_eq!(vars["ansible_user"], "ops", "{name}");
            assert_eq!(vars["fleet_group"], "web-eu", "{name}");
            assert_eq!(vars["fleet_hypervisor"], "localhost", "{name}");
            assert_eq!(vars["fleet_addressing"], "dhcp", "{name}");
            assert!(vars.get("ansible_host").is_none(), "{name}");
        }
    }
}

#[test]
fn two_names_ansible_would_merge_are_refused_naming_both() {
    let directory = tempfile::tempdir().unwrap();
    let fleet = write_fleet(
        directory.path(),
        "[[group]]\nname = \"web-eu\"\ncount = 1\nhostname = \"a-{index}\"\n\n[[group]]\nname = \"web.eu\"\ncount = 1\nhostname = \"b-{index}\"\n",
    );
    let output = run_fleet(["inventory".as_ref(), fleet.as_os_str()]).unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "\"web_eu\" would name both the fleet group \"web-eu\" and the fleet group \"web.eu\""
        ),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// A DHCP group and a static one, on the test driver.
const DHCP_AND_STATIC: &str = "[[group]]\nname = \"web\"\ncount = 2\n\n[group.rollout]\nmax_unavailable = 2\n\n[[group]]\nname = \"db\"\ncount = 1\nhostname = \"db-{index}\"\n\n[group.network]\nmode = \"static\"\ncidr = \"192.168.122.0/24\"\nfirst_address = \"192.168.122.20\"\ngateway = \"192.168.122.1\"\ndns = [\"192.168.122.1\"]\n";

#[test]
fn addresses_from_libvirt_give_dhcp_nodes_no_address_when_libvirt_knows_no_lease() {
    // The test driver's domains have no lease: the libvirt inventory is the file's, static
    // addresses kept, DHCP nodes still without one, and nothing on stderr.
    let directory = tempfile::tempdir().unwrap();
    let fleet = write_fleet(directory.path(), DHCP_AND_STATIC);
    let from_file = inventory(&fleet, &["--list"]);
    let output = run_fleet([
        "inventory".as_ref(),
        fleet.as_os_str(),
        "--list".as_ref(),
        "--addresses".as_ref(),
        "libvirt".as_ref(),
    ])
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let from_libvirt: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_libvirt, from_file);
    let hostvars = &from_libvirt["_meta"]["hostvars"];
    assert_eq!(hostvars["db-1"]["ansible_host"], "192.168.122.20");
    assert!(hostvars["web-1"].get("ansible_host").is_none());
}

/// A test-driver hypervisor of 8 CPUs and 32 GiB whose libvirt holds `domains`.
fn test_driver_host(domains: &str) -> String {
    format!(
        "<node>\n  <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads><active>8</active></cpu>\n  <memory>33554432</memory>\n{domains}</node>\n"
    )
}

/// Node `node` of fleet `fleet` as libvirt holds it once fleet created it: named for the node,
/// with fleet's mark in its metadata.
fn fleets_domain(fleet: &str, node: &str) -> String {
    format!(
        "  <domain type='test'>\n    <name>{node}</name>\n    <memory unit='MiB'>2048</memory>\n    <vcpu>1</vcpu>\n    <os><type arch='x86_64'>hvm</type></os>\n    <metadata><fleet:node xmlns:fleet='https://example.invalid/fleet/xmlns/domain/1' fleet='{fleet}' node='{node}' ignition-sha256='' settings-sha256=''/></metadata>\n  </domain>\n"
    )
}

/// `fleet plan` puts web-1 on hypervisor `a`, but libvirt runs it on `b` (a deploy keeps a node
/// where it runs). From the file alone the inventory says `a`, as the plan does; with
/// `--addresses libvirt` it says `b`, as `fleet status` does, in `fleet_hypervisor`, the `on_HOST`
/// groups and the hosts' label groups alike.
#[test]
fn addresses_from_libvirt_place_a_node_where_it_runs_as_status_does() {
    let directory = tempfile::tempdir().unwrap();
    let host_a = directory.path().join("a.xml");
    let host_b = directory.path().join("b.xml");
    std::fs::write(&host_a, test_driver_host("")).unwrap();
    std::fs::write(&host_b, test_driver_host(&fleets_domain("inv", "web-1"))).unwrap();
    let fleet = write_fleet(
        directory.path(),
        &format!(
            "[defaults]\nmemory_mib = 2048\n\n[[host]]\nname = \"a\"\nconnect = \"test://{}\"\nlabels = {{ zone = \"a\" }}\n\n[[host]]\nname = \"b\"\nconnect = \"test://{}\"\nlabels = {{ zone = \"b\" }}\n\n[[group]]\nname = \"web\"\ncount = 4\n\n[group.rollout]\nmax_unavailable = 4\n",
            host_a.display(),
            host_b.display()
        ),
    );
    let plan = run_fleet_json(["plan".as_ref(), fleet.as_os_str()]).unwrap();
    let planned = nodes_by_name(&plan.json).unwrap();
    assert_eq!(planned["web-1"]["host"], "a", "{:#}", plan.json);
    let status = run_fleet_json(["status".as_ref(), fleet.as_os_str()]).unwrap();
    let found = nodes_by_name(&status.json).unwrap();
    assert_eq!(found["web-1"]["host"], "b", "{:#}", status.json);

    let from_file = inventory(&fleet, &["--list"]);
    assert_eq!(
        from_file["_meta"]["hostvars"]["web-1"]["fleet_hypervisor"],
        "a"
    );
    assert!(members(&from_file, "on_a").contains("web-1"));
    let from_libvirt = inventory(&fleet, &["--list", "--addresses", "libvirt"]);
    for (node, report) in &found {
        let host = report["host"].as_str().unwrap();
        assert_eq!(
            from_libvirt["_meta"]["hostvars"][node]["fleet_hypervisor"], host,
            "{node}: {from_libvirt:#}"
        );
        assert!(
            members(&from_libvirt, &format!("on_{host}")).contains(node),
            "{node}: {from_libvirt:#}"
        );
        assert!(
            members(&from_libvirt, &format!("zone_{host}")).contains(node),
            "{node}: {from_libvirt:#}"
        );
    }
    assert!(
        !members(&from_libvirt, "on_a").contains("web-1"),
        "{from_libvirt:#}"
    );
}

#[test]
fn a_hypervisor_that_cannot_be_reached_is_a_warning_naming_it_and_the_inventory_is_printed() {
    let directory = tempfile::tempdir().unwrap();
    let fleet = write_fleet(directory.path(), DHCP_AND_STATIC);
    let unreachable = "qemu+tcp://127.0.0.1:1/system";
    for host in [None, Some("db-1")] {
        let mut arguments = vec![
            "inventory",
            fleet.to_str().unwrap(),
            "--addresses",
            "libvirt",
            "--connect",
            unreachable,
        ];
        arguments.extend(host.iter().flat_map(|name| ["--host", name]));
        let output = run_fleet(arguments).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("warning: host {unreachable} could not be read")),
            "{stderr}"
        );
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
        match host {
            Some(_) => assert_eq!(printed["ansible_host"], "192.168.122.20"),
            None => assert_eq!(
                printed["_meta"]["hostvars"]["db-1"]["ansible_host"],
                "192.168.122.20"
            ),
        }
    }
}

#[test]
fn connect_without_addresses_from_libvirt_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let fleet = write_fleet(directory.path(), DHCP_AND_STATIC);
    let output = run_fleet([
        "inventory".as_ref(),
        fleet.as_os_str(),
        "--connect".as_ref(),
        "test:///default".as_ref(),
    ])
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--connect is for --addresses libvirt"),
        "{stderr}"
    );
}
