//! End-to-end proof of a fleet on several libvirt hosts reached through libvirt's remote protocol
//! (issue 7): two separate hypervisors on this machine, both reached only as `qemu+tcp://` — the
//! first libvirtd on loopback TCP and the second one `cargo xtask e2e` runs in its own mount namespace
//! (own domains, pools, /var/lib/libvirt) — each boot a node whose guest reports the sha256 of the
//! Ignition uploaded through a libvirt stream over TCP and applies it with the real Ignition as the
//! config and the fleet ask (the `far` group is static: a keyfile); an unreachable host fails its node with a
//! clear error while the other proceeds; status and destroy work across the hosts. Each guest then
//! runs its generated health gate (issue 15): near's check passes, far's fails, and `fleet status`
//! shows near healthy and far unhealthy (first boot: no rollback), read from the console logs
//! through libvirt, with near reached both over TCP and through its local socket.
//!
//! Why two daemons: two `[[host]]` entries that reach the *same* libvirtd (`qemu:///system` and
//! `qemu+tcp://127.0.0.1/system`) show every domain on both hosts, so fleet would rightly report each
//! node as also present on the other host (see docs/testing.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use fleet_tests::binary::{render_fleet, run_fleet, run_fleet_json};
use fleet_tests::checks::{
    ExpectedHealth, GuestToCheck, check_guests_apply_their_own_ignition, check_pool_holds_exactly,
    check_rendered, check_status_shows_health, fleet_args, hosts_by_name, nodes_by_name, table_row,
    wait_for_health_lines,
};
use fleet_tests::e2e;
use fleet_tests::fleet_toml::{E2eFleet, E2eGroup, PoolLocation};
use fleet_tests::ignition_manifest::FleetExpectations;
use fleet_tests::virsh::Virsh;
use fleet_tests::workdir::WorkDir;

/// Nothing listens on port 1: connecting is refused at once.
const UNREACHABLE: &str = "qemu+tcp://127.0.0.1:1/system";

/// The health checks of the two groups: near's passes, far's fails on every try (busybox applets).
const PASSING_CHECK: &str = "/bin/true";
const FAILING_CHECK: &str = "/bin/false";

/// One of the fleet's hosts as the test sees it.
struct Host {
    name: &'static str,
    connect: String,
    virsh: Virsh,
    /// The fleet's pool directory on that host, as a path here.
    pool_dir: PathBuf,
}

#[test]
fn a_fleet_on_two_remote_hosts_boots_each_node_with_its_own_ignition_and_survives_an_unreachable_host()
 {
    let test = "a_fleet_on_two_remote_hosts";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let second = environment.require_second_host(test).clone();
    let fleet_name = format!("e2e-r{}", std::process::id());
    let fleet = E2eFleet::new(&fleet_name, &environment.connect)
        .with_group(
            E2eGroup::new("near", 1)
                .on_host("near")
                .health_command(&[PASSING_CHECK]),
        )
        .with_group(
            E2eGroup::new("far", 1)
                .on_host("far")
                .static_from(std::net::Ipv4Addr::new(192, 168, 122, 224))
                .health_command(&[FAILING_CHECK]),
        )
        .host("near", &environment.tcp_connect)
        .host("far", &second.connect)
        // /var/lib/libvirt/fleet-NAME: each hypervisor has its own, as separate machines would.
        .pool(PoolLocation::HostDefault);
    let workdir = WorkDir::new("remote").unwrap();
    let files = fleet.write(&workdir, &environment.guest).unwrap();
    let near_node = fleet.group_node_names("near").remove(0);
    let far_node = fleet.group_node_names("far").remove(0);
    let nodes = fleet.node_names();
    let near = Host {
        name: "near",
        connect: environment.tcp_connect.clone(),
        virsh: environment.tcp_virsh(),
        pool_dir: files.pool_dir.clone(),
    };
    let far = Host {
        name: "far",
        connect: second.connect.clone(),
        virsh: second.virsh(),
        pool_dir: second.local_path(&files.pool_dir).unwrap(),
    };
    let args = |subcommand: &str, extra: &[&str]| fleet_args(subcommand, &files.fleet_toml, extra);

    let rendered = render_fleet(&files.fleet_toml, &workdir.join("rendered")).unwrap();
    check_rendered(&rendered, &nodes).unwrap();

    // Host `far` unreachable: its node fails with the connection error, `near` proceeds.
    let far_unreachable = format!("far={UNREACHABLE}");
    let partial = run_fleet_json(args("deploy", &["--connect", &far_unreachable])).unwrap();
    assert_eq!(
        partial.status.code(),
        Some(1),
        "{:#}\n{}",
        partial.json,
        partial.stderr
    );
    let reports = nodes_by_name(&partial.json).unwrap();
    assert_eq!(
        reports[&near_node]["action"], "create",
        "{:#}",
        partial.json
    );
    assert_eq!(reports[&near_node]["outcome"], "done", "{:#}", partial.json);
    assert_eq!(reports[&near_node]["host"], "near");
    assert_eq!(
        reports[&far_node]["outcome"], "failed",
        "{:#}",
        partial.json
    );
    let node_error = reports[&far_node]["error"].as_str().unwrap_or_default();
    assert!(
        node_error.contains("far") && node_error.contains("unreachable"),
        "the node's error names its host: {node_error}"
    );
    let host_error = hosts_by_name(&partial.json).unwrap()["far"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        host_error.contains("127.0.0.1:1"),
        "the host's error names the URI it could not reach: {host_error}"
    );
    assert!(
        partial.stderr.contains("host far:"),
        "the progress reports the host:\n{}",
        partial.stderr
    );
    assert!(
        far.virsh
            .domains_named_like(&format!("{fleet_name}-"))
            .unwrap()
            .is_empty(),
        "nothing was created on far"
    );
    let status = run_fleet_json(args("status", &["--connect", &far_unreachable])).unwrap();
    assert_eq!(status.status.code(), Some(1), "{}", status.stderr);
    let status_nodes = nodes_by_name(&status.json).unwrap();
    assert_ne!(status_nodes[&near_node]["state"], "missing");
    assert!(
        !status_nodes[&far_node]["error"].is_null(),
        "{:#}",
        status.json
    );

    // Both hosts reachable: the missing node is created on far, near's is left alone.
    let full = run_fleet_json(args("deploy", &[])).unwrap();
    assert!(full.status.success(), "{:#}\n{}", full.json, full.stderr);
    let reports = nodes_by_name(&full.json).unwrap();
    assert_eq!(
        reports[&near_node]["action"], "unchanged",
        "{:#}",
        full.json
    );
    assert_eq!(reports[&far_node]["action"], "create", "{:#}", full.json);
    assert_eq!(reports[&far_node]["host"], "far");
    for (host, report) in hosts_by_name(&full.json).unwrap() {
        let expected = if host == "near" { &near } else { &far };
        assert_eq!(report["uri"], expected.connect.as_str(), "{host}: {report}");
        assert!(report["error"].is_null(), "{host}: {report}");
    }

    // The Ignition went through a libvirt stream over TCP (fleet writes no file for a remote URI)
    // and each guest saw exactly its own.
    for (host, node) in [(&near, &near_node), (&far, &far_node)] {
        let volume = host.pool_dir.join(format!("{fleet_name}.{node}.ign"));
        let uploaded = std::fs::read(&volume).unwrap();
        assert!(
            uploaded == rendered.ignition[node],
            "{} on {} differs from `fleet render`",
            volume.display(),
            host.name
        );
    }
    let guests = [(&near, &near_node), (&far, &far_node)].map(|(host, node)| GuestToCheck {
        node: node.clone(),
        console_log: host
            .pool_dir
            .join(format!("{fleet_name}.{node}.console.log")),
        virsh: host.virsh.clone(),
    });
    let expectations = FleetExpectations::gather(
        &files.fleet_toml,
        &fleet.static_groups(),
        &fleet.fleet_users(),
    )
    .unwrap();
    check_guests_apply_their_own_ignition(&guests, &rendered, &expectations).unwrap();
    // Then each runs its health gate and prints its line; status reads it back through libvirt.
    wait_for_health_lines(&guests).unwrap();
    let expected_health = BTreeMap::from([
        (near_node.clone(), (ExpectedHealth::Healthy, PASSING_CHECK)),
        (
            far_node.clone(),
            (ExpectedHealth::UnhealthyOnFirstBoot, FAILING_CHECK),
        ),
    ]);

    // Each hypervisor holds its own node and nothing of the other's.
    for (host, node) in [(&near, &near_node), (&far, &far_node)] {
        assert_eq!(
            host.virsh
                .domains_named_like(&format!("{fleet_name}-"))
                .unwrap(),
            std::slice::from_ref(node),
            "domains of the fleet on {}",
            host.name
        );
        check_pool_holds_exactly(
            &host.virsh,
            &files.pool_name,
            &fleet_name,
            std::slice::from_ref(node),
        )
        .unwrap();
    }

    // Converged across hosts.
    let again = run_fleet_json(args("deploy", &[])).unwrap();
    assert!(again.status.success(), "{}", again.stderr);
    for (node, report) in nodes_by_name(&again.json).unwrap() {
        assert_eq!(report["action"], "unchanged", "{node}: {report}");
    }

    // Status across hosts, also with host near reached through its local socket instead.
    for extra in [&[][..], &["--connect", "near=qemu:///system"][..]] {
        let status = run_fleet_json(args("status", extra)).unwrap();
        assert!(status.status.success(), "{extra:?}: {}", status.stderr);
        let status_nodes = nodes_by_name(&status.json).unwrap();
        for (node, host) in [(&near_node, "near"), (&far_node, "far")] {
            let report = &status_nodes[node];
            assert_eq!(report["host"], host, "{extra:?}: {report}");
            let state = report["state"].as_str().unwrap_or_default();
            assert!(
                ["running", "shutting down", "shut off"].contains(&state),
                "{extra:?}: {report}"
            );
            assert_eq!(
                report["drift"],
                serde_json::json!([]),
                "{extra:?}: {report}"
            );
        }
        assert_eq!(status.json["strays"], serde_json::json!([]));
        // Each node's health from its console log: near's through qemu+tcp or the local socket,
        // far's always as a stream download from the second hypervisor.
        let table = run_fleet(args("status", extra)).unwrap();
        assert!(table.status.success());
        let table = String::from_utf8(table.stdout).unwrap();
        check_status_shows_health(&status.json, &table, &expected_health)
            .unwrap_or_else(|error| panic!("{extra:?}: {error:#}"));
    }
    let table = run_fleet(args("status", &[])).unwrap();
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    for (node, host) in [(&near_node, "near"), (&far_node, "far")] {
        assert_eq!(table_row(&table, node).unwrap()["HOST"], host, "{table}");
    }
    eprintln!("{table}");

    // Destroy across hosts leaves nothing on either.
    let destroy = run_fleet_json(args("destroy", &["--yes", "--purge-image"])).unwrap();
    assert!(
        destroy.status.success(),
        "{:#}\n{}",
        destroy.json,
        destroy.stderr
    );
    for host in [&near, &far] {
        let leftovers = host
            .virsh
            .leftovers(&nodes, &files.pool_name, &host.pool_dir, &fleet.network)
            .unwrap();
        assert!(
            leftovers.nothing_of_fleets_own(),
            "left on {} after destroy: {leftovers:#?}",
            host.name
        );
        host.virsh.remove_qemu_logs(&nodes);
    }
}
