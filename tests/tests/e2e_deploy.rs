//! End-to-end proof of `fleet deploy`, `fleet status` and `fleet destroy` on a real libvirtd (issue 6):
//! tiny guests of type qemu booted by direct kernel boot each report the sha256 of the Ignition config
//! they received through fw_cfg, which must be exactly their own rendered one, and apply it with the
//! real Ignition (issue 13): it succeeds and writes exactly what the config asks for, and that holds
//! the node's hostname, its keyfile (mode 0600, static groups only), each user's keys and Zincati's
//! settings from `fleet plan`; a second deploy changes nothing; a deploy killed midway converges on the next run; a node that cannot start fails
//! alone; destroy leaves nothing behind. The first test's nodes run their generated health gate
//! (issue 15): `fleet status` on the local host shows web's nodes healthy and db's unhealthy; and
//! their real Ignition writes their containers' quadlets (issue 14): web's rootless, of `ops`, in
//! the directory of the user ID the fleet file fixes, with `ops`'s lingering file; db's rootful.
//!
//! Run by `cargo xtask e2e` (see docs/testing.md). Every wait polls a condition with a deadline; no
//! test sleeps to synchronise.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use fleet_tests::binary::{render_fleet, run_fleet, run_fleet_and_kill_when, run_fleet_json};
use fleet_tests::checks::{
    ExpectedHealth, GuestToCheck, check_guests_apply_their_own_ignition, check_pool_holds_exactly,
    check_rendered, check_status_shows_health, fleet_args, hosts_by_name, nodes_by_name, table_row,
    wait_for_health_lines,
};
use fleet_tests::e2e::{self, E2eEnvironment};
use fleet_tests::fleet_toml::{E2eFleet, E2eFleetFiles, E2eGroup};
use fleet_tests::ignition_manifest::FleetExpectations;
use fleet_tests::virsh::Virsh;
use fleet_tests::workdir::WorkDir;

/// The health checks of the first test's groups: web's passes, db's fails (busybox applets).
const PASSING_CHECK: &str = "/bin/true";
const FAILING_CHECK: &str = "/bin/false";

/// How long a deploy may take to show its first finished node before the kill test gives up.
const KILL_LIMIT: Duration = Duration::from_secs(120);

/// A test's fleet on the harness's daemon, with what it needs to check and clean up.
struct Deployment {
    virsh: Virsh,
    fleet: E2eFleet,
    files: E2eFleetFiles,
    workdir: WorkDir,
}

impl Deployment {
    /// Write the fleet into a new work directory (the pool lives there too).
    fn new(environment: &E2eEnvironment, test: &str, fleet: E2eFleet) -> Deployment {
        let workdir = WorkDir::new(test).unwrap();
        let files = fleet.write(&workdir, &environment.guest).unwrap();
        Deployment {
            virsh: environment.virsh(),
            fleet,
            files,
            workdir,
        }
    }

    fn args(&self, subcommand: &str, extra: &[&str]) -> Vec<std::ffi::OsString> {
        fleet_args(subcommand, &self.files.fleet_toml, extra)
    }

    fn nodes(&self) -> Vec<String> {
        self.fleet.node_names()
    }

    fn guests(&self, nodes: &[String]) -> Vec<GuestToCheck> {
        nodes
            .iter()
            .map(|node| GuestToCheck {
                node: node.clone(),
                console_log: self.files.console_log(node),
                virsh: self.virsh.clone(),
            })
            .collect()
    }

    /// What the fleet asks of each node, from `fleet plan` and `fleet nodes` of its file.
    fn expectations(&self) -> FleetExpectations {
        let mut expectations = FleetExpectations::gather(
            &self.files.fleet_toml,
            &self.fleet.static_groups(),
            &self.fleet.fleet_users(),
        )
        .unwrap();
        for (group, containers) in self.fleet.fleet_containers() {
            expectations.for_group(&group, &BTreeMap::new(), &containers);
        }
        expectations
    }

    /// This fleet's domains on the daemon (node names carry the fleet's name).
    fn domains(&self) -> Vec<String> {
        self.virsh
            .domains_named_like(&format!("{}-", self.fleet.name))
            .unwrap()
    }

    /// `fleet destroy --yes --purge-image` succeeds and nothing fleet made is left: no domain,
    /// volume, pool, pool file, console log or DHCP entry. libvirt's own qemu logs are libvirt's
    /// (fleet leaves them, see docs/provisioning.md); the test removes those of its nodes itself.
    fn destroy_and_check_nothing_is_left(&self) {
        let destroy = run_fleet_json(self.args("destroy", &["--yes", "--purge-image"])).unwrap();
        assert!(
            destroy.status.success(),
            "destroy failed: {:#}\n{}",
            destroy.json,
            destroy.stderr
        );
        let leftovers = self
            .virsh
            .leftovers(
                &self.nodes(),
                &self.files.pool_name,
                &self.files.pool_dir,
                &self.fleet.network,
            )
            .unwrap();
        assert!(
            leftovers.nothing_of_fleets_own(),
            "left after destroy: {leftovers:#?}"
        );
        assert!(!self.files.pool_dir.exists(), "the pool directory is gone");
        self.virsh.remove_qemu_logs(&self.nodes());
    }
}

/// Deploy, boot, prove, redeploy, show, destroy: the main job on a fleet of 5 nodes in two groups,
/// one with DHCP reservations.
#[test]
fn deploy_boots_every_node_with_its_own_ignition_a_second_deploy_changes_nothing_and_destroy_leaves_nothing()
 {
    let test = "deploy_boots_every_node_with_its_own_ignition";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let virsh = environment.virsh();
    let first_reserved = virsh
        .free_addresses(
            "default",
            Ipv4Addr::new(192, 168, 122, 100)..=Ipv4Addr::new(192, 168, 122, 250),
            2,
        )
        .unwrap();
    let fleet = E2eFleet::new(
        &format!("e2e-d{}", std::process::id()),
        &environment.connect,
    )
    .with_group(
        E2eGroup::new("web", 3)
            .health_command(&[PASSING_CHECK])
            .container("site", "ops", "docker.io/library/nginx:1.27"),
    )
    .with_group(
        E2eGroup::new("db", 2)
            .reserved_from(first_reserved)
            .health_command(&[FAILING_CHECK])
            .container("cache", "root", "docker.io/library/redis:7"),
    );
    let deployment = Deployment::new(&environment, "deploy", fleet);
    let nodes = deployment.nodes();
    let db_nodes = deployment.fleet.group_node_names("db");
    let reserved: Vec<String> = (0..2)
        .map(|offset| Ipv4Addr::from(u32::from(first_reserved) + offset).to_string())
        .collect();

    let rendered = render_fleet(
        &deployment.files.fleet_toml,
        &deployment.workdir.join("rendered"),
    )
    .unwrap();
    check_rendered(&rendered, &nodes).unwrap();

    // First deploy: every node created.
    let started = Instant::now();
    let first = run_fleet_json(deployment.args("deploy", &[])).unwrap();
    eprintln!(
        "first deploy of {} nodes: {:.1} s",
        nodes.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        first.status.success(),
        "first deploy failed: {:#}\n{}",
        first.json,
        first.stderr
    );
    let first_nodes = nodes_by_name(&first.json).unwrap();
    assert_eq!(
        first_nodes.keys().cloned().collect::<Vec<_>>(),
        {
            let mut sorted = nodes.clone();
            sorted.sort();
            sorted
        },
        "the report lists every node"
    );
    for (node, report) in &first_nodes {
        assert_eq!(report["action"], "create", "{node}: {report}");
        assert_eq!(report["outcome"], "done", "{node}: {report}");
    }
    let host = &hosts_by_name(&first.json).unwrap()[&environment.connect];
    assert_eq!(host["pool_created"], true, "{host}");
    assert_eq!(host["image_imported"], true, "{host}");

    // Each Ignition volume holds the rendered bytes, and each guest saw exactly its own.
    for node in &nodes {
        let uploaded = std::fs::read(deployment.files.ignition_volume(node)).unwrap();
        assert!(
            uploaded == rendered.ignition[node],
            "the Ignition volume of {node} differs from `fleet render`"
        );
    }
    check_guests_apply_their_own_ignition(
        &deployment.guests(&nodes),
        &rendered,
        &deployment.expectations(),
    )
    .unwrap();
    eprintln!(
        "every guest reported and applied its own Ignition {:.1} s after the first deploy began",
        started.elapsed().as_secs_f64()
    );
    // Then each runs its health gate: web's check passes, db's fails on every try.
    wait_for_health_lines(&deployment.guests(&nodes)).unwrap();
    let expected_health: BTreeMap<String, (ExpectedHealth, &str)> = nodes
        .iter()
        .map(|node| {
            let expected = if db_nodes.contains(node) {
                (ExpectedHealth::UnhealthyOnFirstBoot, FAILING_CHECK)
            } else {
                (ExpectedHealth::Healthy, PASSING_CHECK)
            };
            (node.clone(), expected)
        })
        .collect();

    // A second deploy finds nothing to do.
    let second = run_fleet_json(deployment.args("deploy", &[])).unwrap();
    assert!(
        second.status.success(),
        "second deploy failed: {:#}\n{}",
        second.json,
        second.stderr
    );
    for (node, report) in nodes_by_name(&second.json).unwrap() {
        assert_eq!(report["action"], "unchanged", "{node}: {report}");
        assert_eq!(report["outcome"], "done", "{node}: {report}");
    }
    for (host, report) in hosts_by_name(&second.json).unwrap() {
        assert_eq!(report["pool_created"], false, "{host}: {report}");
        assert_eq!(report["image_imported"], false, "{host}: {report}");
    }

    // Status shows every node, its state, and the reserved addresses.
    let status = run_fleet_json(deployment.args("status", &[])).unwrap();
    assert!(status.status.success(), "status failed: {}", status.stderr);
    let status_nodes = nodes_by_name(&status.json).unwrap();
    assert_eq!(status_nodes.len(), nodes.len(), "{:#}", status.json);
    for node in &nodes {
        let report = &status_nodes[node];
        // The tiny guest powers off once it has reported: running, on its way down or shut off,
        // never missing.
        let state = report["state"].as_str().unwrap();
        assert!(
            ["running", "shutting down", "shut off"].contains(&state),
            "{node}: {report}"
        );
        assert_eq!(report["drift"], serde_json::json!([]), "{node}: {report}");
        assert_eq!(report["repairs"], serde_json::json!([]), "{node}: {report}");
        assert!(report["error"].is_null(), "{node}: {report}");
    }
    for (node, address) in db_nodes.iter().zip(&reserved) {
        assert_eq!(status_nodes[node]["address"], address.as_str());
        assert_eq!(status_nodes[node]["address_source"], "reservation");
    }
    let table = run_fleet(deployment.args("status", &[])).unwrap();
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    for node in &nodes {
        let row = table_row(&table, node).unwrap();
        assert!(
            ["running", "shutting down", "shut off"].contains(&row["STATE"].as_str()),
            "{node}: {row:?}\n{table}"
        );
    }
    for (node, address) in db_nodes.iter().zip(&reserved) {
        assert_eq!(
            table_row(&table, node).unwrap()["ADDRESS"],
            format!("{address} (reserved)"),
            "{node}:\n{table}"
        );
    }
    assert!(
        table.contains(&format!("{} nodes:", nodes.len())),
        "{table}"
    );
    check_status_shows_health(&status.json, &table, &expected_health).unwrap();
    eprintln!("{table}");

    // The reservations are in the network while the nodes exist.
    let dhcp_hosts = virsh.dhcp_hosts("default").unwrap().join("\n");
    for (node, address) in db_nodes.iter().zip(&reserved) {
        assert!(
            dhcp_hosts.contains(&format!("'{node}'")) && dhcp_hosts.contains(address.as_str()),
            "{node} → {address} missing from the network:\n{dhcp_hosts}"
        );
    }

    deployment.destroy_and_check_nothing_is_left();
}

/// SIGKILL a deploy as soon as it reports its first finished node (the others in flight, defined
/// and held until the canaries finish, or not yet begun), then deploy again: every node ends up
/// running its own Ignition and nothing is orphaned. Group `b` is static: its nodes' Ignition
/// carries a keyfile.
#[test]
fn a_deploy_killed_midway_converges_on_the_next_run_with_nothing_orphaned() {
    let test = "a_deploy_killed_midway_converges";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let fleet = E2eFleet::new(
        &format!("e2e-k{}", std::process::id()),
        &environment.connect,
    )
    .group("a", 2)
    // Static addresses are registered nowhere and the tiny guest never uses them: any will do.
    .with_group(E2eGroup::new("b", 2).static_from(Ipv4Addr::new(192, 168, 122, 226)));
    let deployment = Deployment::new(&environment, "killed", fleet);
    let nodes = deployment.nodes();
    let rendered = render_fleet(
        &deployment.files.fleet_toml,
        &deployment.workdir.join("rendered"),
    )
    .unwrap();
    check_rendered(&rendered, &nodes).unwrap();

    // Without a terminal, deploy prints `NODE: done` on stderr when a node is finished.
    let killed = run_fleet_and_kill_when(deployment.args("deploy", &[]), KILL_LIMIT, |line| {
        line.ends_with(": done")
    })
    .unwrap();
    let killed_at = killed.killed_at.clone().unwrap_or_else(|| {
        panic!(
            "the deploy ended before it could be killed: {}\n{}",
            killed.status,
            killed.stderr.join("\n")
        )
    });
    assert!(!killed.status.success());
    let domains_after_kill = deployment.domains();
    let volumes_after_kill = deployment
        .virsh
        .volume_names(&deployment.files.pool_name)
        .unwrap_or_default();
    let running_after_kill: Vec<String> = domains_after_kill
        .iter()
        .filter(|domain| deployment.virsh.is_running(domain))
        .cloned()
        .collect();
    eprintln!(
        "killed at `{killed_at}`; left: domains {domains_after_kill:?} ({running_after_kill:?} running), volumes {volumes_after_kill:?}"
    );
    // Canaries (one per group) form the first wave, and no other domain starts before every canary
    // has finished: at the first finished node the second wave is at most defined, not running.
    assert!(
        running_after_kill.len() < nodes.len(),
        "the kill came after every node was running: {running_after_kill:?}"
    );

    // The next run converges.
    let again = run_fleet_json(deployment.args("deploy", &[])).unwrap();
    assert!(
        again.status.success(),
        "the deploy after the kill failed: {:#}\n{}",
        again.json,
        again.stderr
    );
    let reports = nodes_by_name(&again.json).unwrap();
    for node in &nodes {
        let report = &reports[node];
        assert_eq!(report["outcome"], "done", "{node}: {report}");
        if !domains_after_kill.contains(node) {
            assert_eq!(report["action"], "create", "{node}: {report}");
        } else if !running_after_kill.contains(node) {
            // Defined before the kill, never started (or started by libvirt after fleet died, but
            // without autostart): the next run repairs it in place.
            assert_eq!(report["action"], "repair", "{node}: {report}");
        }
    }
    let finished = killed_at.trim_end_matches(": done");
    assert_eq!(
        reports[finished]["action"], "unchanged",
        "{finished} was finished before the kill: {}",
        reports[finished]
    );

    check_guests_apply_their_own_ignition(
        &deployment.guests(&nodes),
        &rendered,
        &deployment.expectations(),
    )
    .unwrap();
    assert_eq!(deployment.domains(), {
        let mut sorted = nodes.clone();
        sorted.sort();
        sorted
    });
    check_pool_holds_exactly(
        &deployment.virsh,
        &deployment.files.pool_name,
        &deployment.fleet.name,
        &nodes,
    )
    .unwrap();

    // Converged: one more run has nothing to do.
    let third = run_fleet_json(deployment.args("deploy", &[])).unwrap();
    assert!(third.status.success(), "{}", third.stderr);
    for (node, report) in nodes_by_name(&third.json).unwrap() {
        assert_eq!(report["action"], "unchanged", "{node}: {report}");
    }

    deployment.destroy_and_check_nothing_is_left();
}

/// A node asking for more memory than the machine has fails at start with libvirt's error, exit
/// status 1, and takes back what it created; the other nodes come up.
#[test]
fn a_node_that_cannot_start_fails_alone_and_leaves_nothing_of_its_own() {
    let test = "a_node_that_cannot_start_fails_alone";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    // With heuristic (0) or strict (2) overcommit the kernel refuses qemu a mapping far beyond the
    // machine's memory; with `always` (1) it would grant it and the guest would try to boot.
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    assert_ne!(
        overcommit.trim(),
        "1",
        "vm.overcommit_memory = 1 lets qemu map 16 TiB: this test needs 0 or 2"
    );
    let fleet = E2eFleet::new(
        &format!("e2e-f{}", std::process::id()),
        &environment.connect,
    )
    .group("ok", 2)
    // 16 TiB, the most fleet.toml accepts: more than any test machine has.
    .with_group(E2eGroup::new("huge", 1).memory_mib(16 * 1024 * 1024));
    let deployment = Deployment::new(&environment, "failing", fleet);
    let nodes = deployment.nodes();
    let ok_nodes = deployment.fleet.group_node_names("ok");
    let huge = deployment.fleet.group_node_names("huge").remove(0);
    let rendered = render_fleet(
        &deployment.files.fleet_toml,
        &deployment.workdir.join("rendered"),
    )
    .unwrap();
    check_rendered(&rendered, &nodes).unwrap();

    let deploy = run_fleet_json(deployment.args("deploy", &[])).unwrap();
    assert_eq!(
        deploy.status.code(),
        Some(1),
        "a failed node makes the exit status 1: {:#}\n{}",
        deploy.json,
        deploy.stderr
    );
    assert_eq!(deploy.json["failed"], 1, "{:#}", deploy.json);
    let reports = nodes_by_name(&deploy.json).unwrap();
    let failed = &reports[&huge];
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["step"], "start", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&huge) && error.to_lowercase().contains("memory"),
        "the error names the node and says why: {error}"
    );
    assert!(
        deploy.stderr.contains(&format!("{huge} (")) && deploy.stderr.contains("failed at start"),
        "the progress says so too:\n{}",
        deploy.stderr
    );
    for node in &ok_nodes {
        assert_eq!(reports[node]["outcome"], "done", "{}", reports[node]);
    }

    // The failed node took back its domain, volumes and console log; the others are whole.
    assert!(
        !deployment.domains().contains(&huge),
        "the failed node's domain is gone"
    );
    check_pool_holds_exactly(
        &deployment.virsh,
        &deployment.files.pool_name,
        &deployment.fleet.name,
        &ok_nodes,
    )
    .unwrap();
    check_guests_apply_their_own_ignition(
        &deployment.guests(&ok_nodes),
        &rendered,
        &deployment.expectations(),
    )
    .unwrap();

    deployment.destroy_and_check_nothing_is_left();
}
