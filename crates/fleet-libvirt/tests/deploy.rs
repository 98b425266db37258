//! Deploy, status and destroy on libvirt's test driver, with hosts defined by files in tests/data/hosts.
//!
//! Each connection to a `test:///path.xml` URI has its own private state, so every test starts from
//! the file's contents and sees libvirt through its session's own connection.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::*;
use fleet_libvirt::{
    Action, DeployOptions, DeployOutcome, DestroyOptions, Error, Event, Field, NodeState, Repair,
    StatusOptions, Step, names,
};

fn actions(report: &fleet_libvirt::DeployReport) -> Vec<(String, String)> {
    summary(report)
        .into_iter()
        .map(|(node, action, outcome)| (node, format!("{action} {outcome}")))
        .collect()
}

fn expected(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(node, row)| ((*node).to_owned(), (*row).to_owned()))
        .collect()
}

#[test]
fn first_deploy_creates_everything_and_the_second_changes_nothing() {
    let scratch = Scratch::new();
    let hosts = [host("host-a"), host("host-b")];
    let session = open(&hosts);
    let desired = fleet_of(
        &scratch,
        "demo",
        vec![
            node("demo", "web-1", "host-a", 1, 0),
            node("demo", "web-2", "host-b", 2, 1),
            with_reservation(
                node("demo", "db-1", "host-a", 3, 1),
                Ipv4Addr::new(192, 168, 122, 31),
            ),
            node("demo", "db-2", "host-b", 4, 1),
        ],
    );

    let first = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        actions(&first),
        expected(&[
            ("web-1", "create done"),
            ("web-2", "create done"),
            ("db-1", "create done"),
            ("db-2", "create done"),
        ])
    );
    for report in &first.hosts {
        assert!(report.error.is_none(), "{report:?}");
        assert!(report.pool_created && report.image_imported, "{report:?}");
        assert_eq!(report.hypervisor, Some(fleet_libvirt::Hypervisor::Qemu));
    }

    // libvirt has exactly the fleet's domains, running, autostarted, marked complete.
    assert_eq!(
        domains(&session, "host-a"),
        ["db-1", "web-1"].map(str::to_owned).into()
    );
    assert_eq!(
        domains(&session, "host-b"),
        ["db-2", "web-2"].map(str::to_owned).into()
    );
    let web_1 = connection(&session, "host-a")
        .lookup_domain_by_name("web-1")
        .unwrap();
    assert!(web_1.is_active().unwrap() && web_1.autostart().unwrap());
    let xml = domain_xml(&session, "host-a", "web-1");
    assert!(xml.contains("<fleet:node xmlns:fleet="), "{xml}");
    assert!(xml.contains("<entry name='opt/com.coreos/config'"), "{xml}");

    // Volumes are named after fleet and node; the Ignition reached the file the domain reads.
    let base = volumes(&session, "host-a", "fleet-demo")
        .into_iter()
        .find(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        .expect("base image volume");
    assert_eq!(
        volumes(&session, "host-a", "fleet-demo"),
        [
            base.clone(),
            "demo.db-1.ign".into(),
            "demo.db-1.qcow2".into(),
            "demo.web-1.ign".into(),
            "demo.web-1.qcow2".into()
        ]
        .into()
    );
    let written = std::fs::read(scratch.pool().join("demo.web-1.ign")).unwrap();
    assert_eq!(written, desired.nodes[0].ignition);
    let image = std::fs::read(scratch.pool().join(&base)).unwrap();
    assert_eq!(image, std::fs::read(scratch.image()).unwrap());

    // The reservation exists for the reserved node only.
    assert_eq!(
        reservations(&session, "host-a"),
        vec!["<host mac='52:54:00:10:01:03' name='db-1' ip='192.168.122.31'/>".to_owned()]
    );
    assert!(reservations(&session, "host-b").is_empty());

    let second = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        actions(&second),
        expected(&[
            ("web-1", "unchanged done"),
            ("web-2", "unchanged done"),
            ("db-1", "unchanged done"),
            ("db-2", "unchanged done"),
        ])
    );
    for report in &second.hosts {
        assert!(!report.pool_created && !report.image_imported, "{report:?}");
    }

    let status = session.status(&desired, &StatusOptions::default());
    for node in &status.nodes {
        assert_eq!(node.state, NodeState::Running, "{node:?}");
        assert!(
            node.drift.is_empty() && node.repairs.is_empty() && node.error.is_none(),
            "{node:?}"
        );
    }
    let db_1 = status
        .nodes
        .iter()
        .find(|node| node.node == "db-1")
        .unwrap();
    assert!(db_1.address.is_some());
    assert!(status.strays.is_empty());
    session.close();
}

#[test]
fn dry_run_touches_nothing() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "dry",
        vec![with_reservation(
            node("dry", "dry-1", "host-a", 1, 0),
            Ipv4Addr::new(192, 168, 122, 50),
        )],
    );
    let options = DeployOptions {
        dry_run: true,
        ..DeployOptions::default()
    };

    let planned = deploy(&session, &desired, &options);
    assert_eq!(actions(&planned), expected(&[("dry-1", "create planned")]));
    assert!(planned.hosts[0].pool_created && planned.hosts[0].image_imported);
    assert!(
        connection(&session, "host-a")
            .lookup_storage_pool_by_name("fleet-dry")
            .is_err()
    );
    assert!(domains(&session, "host-a").is_empty());
    assert!(reservations(&session, "host-a").is_empty());
    assert!(scratch.pool_files().is_empty());

    // After a real deploy, a changed Ignition is only reported by a dry run, even with replace.
    deploy(&session, &desired, &DeployOptions::default());
    let before_files = scratch.pool_files();
    let before_xml = domain_xml(&session, "host-a", "dry-1");
    desired.nodes[0].ignition = ignition("dry-1", "v2");
    let planned = deploy(
        &session,
        &desired,
        &DeployOptions {
            replace: true,
            ..options
        },
    );
    assert_eq!(actions(&planned), expected(&[("dry-1", "replace planned")]));
    assert_eq!(domain_xml(&session, "host-a", "dry-1"), before_xml);
    assert_eq!(scratch.pool_files(), before_files);
    assert_eq!(
        std::fs::read(scratch.pool().join("dry.dry-1.ign")).unwrap(),
        ignition("dry-1", "v1")
    );
}

#[test]
fn changes_are_reported_not_applied_without_replace() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "drift",
        vec![
            node("drift", "n-1", "host-a", 1, 0),
            node("drift", "n-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());

    desired.nodes[0].vcpus = 4;
    desired.nodes[0].ignition = ignition("n-1", "v2");
    desired.nodes[1].memory_mib = 4096;
    let report = deploy(&session, &desired, &DeployOptions::default());
    let Some(Action::Changed(differences)) = &report.nodes[0].action else {
        panic!("{report:?}");
    };
    let fields: Vec<Field> = differences
        .iter()
        .map(|difference| difference.field)
        .collect();
    assert_eq!(fields, [Field::Ignition, Field::Vcpus]);
    assert_eq!(
        (
            differences[1].desired.as_str(),
            differences[1].observed.as_str()
        ),
        ("4", "2")
    );
    let Some(Action::Changed(differences)) = &report.nodes[1].action else {
        panic!("{report:?}");
    };
    assert_eq!(
        differences
            .iter()
            .map(|difference| (
                difference.field,
                difference.desired.as_str(),
                difference.observed.as_str()
            ))
            .collect::<Vec<_>>(),
        [(Field::MemoryMib, "4096", "2048")]
    );
    assert!(matches!(report.nodes[0].outcome, DeployOutcome::Done));
    // Nothing was changed.
    assert!(domain_xml(&session, "host-a", "n-1").contains("<vcpu placement='static'>2</vcpu>"));

    let status = session.status(&desired, &StatusOptions::default());
    assert_eq!(status.nodes[0].drift.len(), 2);
    assert_eq!(status.nodes[1].drift.len(), 1);

    // Out-of-band edits that fleet fixes in place: autostart switched off, Ignition file gone.
    let domain = connection(&session, "host-a")
        .lookup_domain_by_name("n-2")
        .unwrap();
    domain.set_autostart(false).unwrap();
    desired.nodes[1].memory_mib = 2048;
    connection(&session, "host-a")
        .lookup_storage_pool_by_name("fleet-drift")
        .unwrap()
        .lookup_storage_vol_by_name("drift.n-2.ign")
        .unwrap()
        .delete(0)
        .unwrap();
    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        report.nodes[1].action,
        Some(Action::Repair(vec![
            Repair::IgnitionVolume,
            Repair::Autostart
        ]))
    );
    assert!(domain.autostart().unwrap());
    assert!(volumes(&session, "host-a", "fleet-drift").contains("drift.n-2.ign"));
    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(report.nodes[1].action, Some(Action::Unchanged));
}

#[test]
fn replace_rebuilds_changed_nodes() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "rep",
        vec![
            node("rep", "r-1", "host-a", 1, 0),
            node("rep", "r-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());
    desired.nodes[0].vcpus = 3;
    desired.nodes[0].disk_gib = 20;
    desired.nodes[0].ignition = ignition("r-1", "v2");

    let replace = DeployOptions {
        replace: true,
        ..DeployOptions::default()
    };
    let report = deploy(&session, &desired, &replace);
    assert_eq!(
        actions(&report)[1],
        ("r-2".to_owned(), "unchanged done".to_owned())
    );
    assert!(
        matches!(report.nodes[0].action, Some(Action::Replace(_))),
        "{report:?}"
    );
    assert!(
        matches!(report.nodes[0].outcome, DeployOutcome::Done),
        "{report:?}"
    );
    let xml = domain_xml(&session, "host-a", "r-1");
    assert!(xml.contains("<vcpu placement='static'>3</vcpu>"), "{xml}");
    assert_eq!(
        std::fs::read(scratch.pool().join("rep.r-1.ign")).unwrap(),
        ignition("r-1", "v2")
    );
    let overlay = connection(&session, "host-a")
        .lookup_storage_pool_by_name("fleet-rep")
        .unwrap()
        .lookup_storage_vol_by_name("rep.r-1.qcow2")
        .unwrap();
    assert_eq!(overlay.info().unwrap().capacity, 20 << 30);

    let again = deploy(&session, &desired, &replace);
    assert_eq!(
        actions(&again),
        expected(&[("r-1", "unchanged done"), ("r-2", "unchanged done")])
    );
}

#[test]
fn foreign_domains_are_conflicts_and_left_alone() {
    let scratch = Scratch::new();
    let session = open(&[host("host-c")]);
    let desired = fleet_of(
        &scratch,
        "mine",
        vec![
            node("mine", "clash-1", "host-c", 1, 0),
            node("mine", "other-1", "host-c", 2, 0),
            node("mine", "fine-1", "host-c", 3, 0),
        ],
    );
    let before_clash = domain_xml(&session, "host-c", "clash-1");
    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        actions(&report),
        expected(&[
            (
                "clash-1",
                "conflict failed at observe: domain clash-1 already exists and is not managed by fleet mine; rename the node or remove the domain by hand"
            ),
            (
                "other-1",
                "conflict failed at observe: domain other-1 already exists and is not managed by fleet mine (it belongs to fleet someone-else); rename the node or remove the domain by hand"
            ),
            ("fine-1", "create done"),
        ])
    );
    assert_eq!(report.failed_nodes(), 2);

    let destroyed = session.destroy(&desired, &DestroyOptions::default(), &|_| {});
    assert!(matches!(
        destroyed.nodes[0].error,
        Some(Error::ForeignDomain { .. })
    ));
    assert!(matches!(
        destroyed.nodes[1].error,
        Some(Error::ForeignDomain { .. })
    ));
    assert!(destroyed.nodes[2].removed_domain);
    assert_eq!(
        domains(&session, "host-c"),
        ["clash-1", "other-1"].map(str::to_owned).into()
    );
    assert_eq!(domain_xml(&session, "host-c", "clash-1"), before_clash);
}

#[test]
fn pruning_removes_only_this_fleets_domains_that_the_file_no_longer_has() {
    let scratch = Scratch::new();
    let session = open(&[host("host-c")]);
    let before = fleet_of(
        &scratch,
        "mine",
        vec![
            node("mine", "keep-1", "host-c", 3, 0),
            node("mine", "gone-1", "host-c", 4, 0),
        ],
    );
    deploy(&session, &before, &DeployOptions::default());

    // The file now has keep-1 only: what `fleet deploy --prune` asks after its deploy.
    let prune = DestroyOptions {
        keep: BTreeSet::from(["keep-1".to_owned()]),
        ..DestroyOptions::default()
    };
    let report = session.destroy(&fleet_of(&scratch, "mine", Vec::new()), &prune, &|_| {});
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    let removed: Vec<&str> = report.nodes.iter().map(|node| node.node.as_str()).collect();
    assert_eq!(removed, ["gone-1"], "{report:?}");
    assert!(report.nodes[0].removed_domain);
    // The foreign domains of the host (no mark, another fleet's) and the kept node stay.
    assert_eq!(
        domains(&session, "host-c"),
        ["clash-1", "keep-1", "other-1"].map(str::to_owned).into()
    );
    let left = volumes(&session, "host-c", "fleet-mine");
    assert!(
        left.iter().all(|volume| !volume.contains(".gone-1.")),
        "{left:?}"
    );
    assert!(
        left.contains("mine.keep-1.qcow2") && left.contains("mine.keep-1.ign"),
        "{left:?}"
    );
    // Pruning sweeps nothing else and keeps the pool.
    assert!(report.kept_volumes.is_empty(), "{report:?}");
    assert!(report.removed_pools.is_empty(), "{report:?}");
}

#[test]
fn a_failing_node_cleans_up_and_the_others_proceed() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let desired = fleet_of(
        &scratch,
        "fail",
        vec![
            node("fail", "ok-1", "host-a", 1, 0),
            node("fail", "bad-1", "host-a", 2, 0),
            node("fail", "ok-2", "host-a", 3, 0),
        ],
    );
    // A directory where bad-1's Ignition file goes: writing it fails after the overlay exists.
    std::fs::create_dir_all(scratch.pool().join("fail.bad-1.ign")).unwrap();

    let recorder = Recorder::default();
    let report = session.deploy(&desired, &DeployOptions::default(), &|event| {
        recorder.record(event)
    });
    let rows = actions(&report);
    assert_eq!(rows[0], ("ok-1".to_owned(), "create done".to_owned()));
    assert_eq!(rows[2], ("ok-2".to_owned(), "create done".to_owned()));
    assert!(
        rows[1].1.starts_with("create failed at ignition: writing "),
        "{rows:?}"
    );
    assert!(recorder.lines().contains(&"fail bad-1 ignition".to_owned()));

    // Nothing of bad-1 is left in libvirt.
    assert_eq!(
        domains(&session, "host-a"),
        ["ok-1", "ok-2"].map(str::to_owned).into()
    );
    let left: Vec<String> = volumes(&session, "host-a", "fleet-fail")
        .into_iter()
        .filter(|volume| volume.contains("bad-1"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Once the obstacle is gone the next deploy creates it and leaves the others alone.
    std::fs::remove_dir(scratch.pool().join("fail.bad-1.ign")).unwrap();
    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        actions(&report),
        expected(&[
            ("ok-1", "unchanged done"),
            ("bad-1", "create done"),
            ("ok-2", "unchanged done")
        ])
    );
}

#[test]
fn destroy_leaves_nothing_behind() {
    let scratch = Scratch::new();
    let hosts = [host("host-a"), host("host-b")];
    let session = open(&hosts);
    let desired = fleet_of(
        &scratch,
        "gone",
        vec![
            with_reservation(
                node("gone", "g-1", "host-a", 1, 0),
                Ipv4Addr::new(192, 168, 122, 61),
            ),
            node("gone", "g-2", "host-b", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());
    // A console log as qemu would leave it, and a leftover of a node no longer in the fleet.
    std::fs::write(scratch.pool().join("gone.g-1.console.log"), b"boot log").unwrap();

    let recorder = Recorder::default();
    let report = session.destroy(&desired, &DestroyOptions::default(), &|event| {
        recorder.record(event)
    });
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    assert!(report.nodes.iter().all(|node| node.removed_domain));
    assert!(report.nodes[0].removed_reservation);
    assert!(
        report.nodes[0]
            .deleted_volumes
            .contains(&"gone.g-1.console.log".to_owned()),
        "{report:?}"
    );
    assert!(report.purged_images.is_empty());
    for host in ["host-a", "host-b"] {
        assert!(domains(&session, host).is_empty());
        assert!(reservations(&session, host).is_empty());
        let left = volumes(&session, host, "fleet-gone");
        assert_eq!(left.len(), 1, "only the base image stays: {left:?}");
        assert!(
            left.iter()
                .all(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        );
    }
    let files = scratch.pool_files();
    assert_eq!(files.len(), 1, "{files:?}");

    let purge = DestroyOptions {
        purge_image: true,
        ..DestroyOptions::default()
    };
    let report = session.destroy(&desired, &purge, &|_| {});
    assert_eq!(report.purged_images.len(), 2, "{report:?}");
    assert_eq!(
        report.removed_pools,
        [
            ("host-a".to_owned(), "fleet-gone".to_owned()),
            ("host-b".to_owned(), "fleet-gone".to_owned())
        ]
    );
    for host in ["host-a", "host-b"] {
        assert!(
            connection(&session, host)
                .lookup_storage_pool_by_name("fleet-gone")
                .is_err()
        );
    }
    assert!(!scratch.pool().exists());
}

#[test]
fn an_unreachable_host_fails_only_its_nodes() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a"), unreachable_host("host-x")]);
    assert_eq!(session.unreachable_hosts().len(), 1);
    let desired = fleet_of(
        &scratch,
        "reach",
        vec![
            node("reach", "a-1", "host-a", 1, 0),
            node("reach", "x-1", "host-x", 2, 0),
        ],
    );
    let report = deploy(&session, &desired, &DeployOptions::default());
    let rows = actions(&report);
    assert_eq!(rows[0], ("a-1".to_owned(), "create done".to_owned()));
    assert!(
        rows[1]
            .1
            .starts_with("none failed at observe: host host-x is unreachable: "),
        "{rows:?}"
    );
    assert!(
        report
            .hosts
            .iter()
            .any(|host| host.host == "host-x" && host.error.is_some())
    );

    let status = session.status(&desired, &StatusOptions::default());
    assert_eq!(status.nodes[0].state, NodeState::Running);
    assert_eq!(status.nodes[1].state, NodeState::Unknown);
    assert!(status.nodes[1].error.is_some());
}

#[test]
fn canaries_finish_before_any_other_domain_starts() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a"), host("host-b")]);
    let mut nodes = Vec::new();
    for index in 0..12_u8 {
        let wave = u32::from(index >= 2);
        let host = if index % 2 == 0 { "host-a" } else { "host-b" };
        nodes.push(node("waves", &format!("w-{index}"), host, index, wave));
    }
    let desired = fleet_of(&scratch, "waves", nodes);
    let recorder = Recorder::default();
    let report = session.deploy(
        &desired,
        &DeployOptions {
            jobs: 4,
            ..DeployOptions::default()
        },
        &|event| {
            // Slow canaries, as a real start is: the others reach their own start meanwhile.
            if let Event::NodeStep {
                node: "w-0" | "w-1",
                step: Step::Start,
                ..
            } = event
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            recorder.record(event)
        },
    );
    assert_eq!(report.failed_nodes(), 0);
    let lines = recorder.lines();
    // Meanwhile the others prepared their volumes and definitions ...
    let first_canary_start = lines
        .iter()
        .position(|line| line == "step w-0 start" || line == "step w-1 start")
        .unwrap();
    assert!(
        lines[..first_canary_start]
            .iter()
            .any(|line| line.starts_with("step w-2 ") || line.starts_with("step w-3 ")),
        "{lines:#?}"
    );
    let last_canary = lines
        .iter()
        .rposition(|line| line == "finish w-0" || line == "finish w-1")
        .unwrap();
    // ... but started no domain before every canary had finished.
    let first_other_start = lines
        .iter()
        .position(|line| {
            line.starts_with("step w-")
                && line.ends_with(" start")
                && !line.starts_with("step w-0 ")
                && !line.starts_with("step w-1 ")
        })
        .unwrap();
    assert!(last_canary < first_other_start, "{lines:#?}");
    // Every created node went through the steps in order.
    let steps: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("step w-5 "))
        .collect();
    assert_eq!(steps, ["define", "volume", "ignition", "start", "running"]);
}

#[test]
fn a_killed_run_converges_with_nothing_orphaned() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let desired = fleet_of(
        &scratch,
        "crash",
        vec![
            node("crash", "c-1", "host-a", 1, 0),
            node("crash", "c-2", "host-a", 2, 0),
            node("crash", "c-3", "host-a", 3, 0),
            node("crash", "c-4", "host-a", 4, 0),
        ],
    );
    // Stop the run dead at different points for different nodes, as SIGKILL would: a panic in the
    // progress callback unwinds past fleet's own cleanup.
    let killed = catch_unwind(AssertUnwindSafe(|| {
        session.deploy(&desired, &DeployOptions::default(), &|event| {
            if let Event::NodeStep { node, step, .. } = event {
                match (node, step) {
                    ("c-1", Step::Volume) | ("c-2", Step::Start) | ("c-3", Step::Ignition) => {
                        panic!("killed")
                    }
                    _ => {}
                }
            }
        })
    }));
    assert!(killed.is_err());
    // Half-made nodes: each has its domain (defined first, without autostart), and every volume
    // named for a node is one its domain refers to, so nothing is orphaned.
    assert_eq!(domains(&session, "host-a").len(), 4);
    let left = volumes(&session, "host-a", "fleet-crash");
    assert!(
        !left.iter().any(|volume| volume.starts_with("crash.c-1.")),
        "{left:?}"
    );
    assert!(
        left.contains("crash.c-3.qcow2") && !left.contains("crash.c-3.ign"),
        "{left:?}"
    );
    assert_every_node_volume_is_referenced_by_its_domain(&session, "crash");

    // A run killed in the middle of the upload leaves c-2's Ignition volume as a new raw volume
    // is: zeros of the right size. The guest must never boot with that.
    let c_2_ignition = scratch.pool().join("crash.c-2.ign");
    let length = std::fs::metadata(&c_2_ignition).unwrap().len();
    std::fs::write(&c_2_ignition, vec![0_u8; length as usize]).unwrap();

    let status = session.status(&desired, &StatusOptions::default());
    let states: Vec<NodeState> = status.nodes.iter().map(|node| node.state).collect();
    assert_eq!(states[..3], [NodeState::ShutOff; 3]);
    assert_eq!(
        status.nodes[1].repairs,
        [Repair::IgnitionVolume, Repair::Start, Repair::Autostart]
    );

    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    let actions: Vec<Option<Action>> = report
        .nodes
        .iter()
        .map(|node| node.action.clone())
        .collect();
    assert_eq!(
        actions,
        [
            Some(Action::Repair(vec![
                Repair::Overlay,
                Repair::IgnitionVolume,
                Repair::Start,
                Repair::Autostart
            ])),
            Some(Action::Repair(vec![
                Repair::IgnitionVolume,
                Repair::Start,
                Repair::Autostart
            ])),
            Some(Action::Repair(vec![
                Repair::IgnitionVolume,
                Repair::Start,
                Repair::Autostart
            ])),
            Some(Action::Unchanged)
        ]
    );
    assert_eq!(
        std::fs::read(&c_2_ignition).unwrap(),
        desired.nodes[1].ignition
    );
    for node in ["c-1", "c-2", "c-3", "c-4"] {
        let domain = connection(&session, "host-a")
            .lookup_domain_by_name(node)
            .unwrap();
        assert!(
            domain.is_active().unwrap() && domain.autostart().unwrap(),
            "{node}"
        );
    }
    let mut expected_volumes: Vec<String> = (1..=4)
        .flat_map(|index| {
            [
                format!("crash.c-{index}.ign"),
                format!("crash.c-{index}.qcow2"),
            ]
        })
        .collect();
    let base = volumes(&session, "host-a", "fleet-crash")
        .into_iter()
        .find(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        .unwrap();
    expected_volumes.push(base);
    expected_volumes.sort();
    assert_eq!(
        volumes(&session, "host-a", "fleet-crash")
            .into_iter()
            .collect::<Vec<_>>(),
        expected_volumes
    );
    let again = deploy(&session, &desired, &DeployOptions::default());
    assert!(
        again
            .nodes
            .iter()
            .all(|node| node.action == Some(Action::Unchanged)),
        "{again:?}"
    );
}

/// A run killed at any step of a create leaves no volume that its node's domain does not refer
/// to: what fleet made stays provably fleet's, and the next destroy removes all of it. (Teardown
/// deletes volumes before it undefines the domain, so it keeps the same rule at every point.)
#[test]
fn a_run_killed_at_any_step_leaves_only_volumes_its_domains_prove() {
    for kill_at in [
        Step::Define,
        Step::Volume,
        Step::Ignition,
        Step::Start,
        Step::Running,
    ] {
        let scratch = Scratch::new();
        let session = open(&[host("host-a")]);
        let desired = fleet_of(
            &scratch,
            "kill",
            vec![
                node("kill", "k-1", "host-a", 1, 0),
                node("kill", "k-2", "host-a", 2, 0),
            ],
        );
        let killed = catch_unwind(AssertUnwindSafe(|| {
            session.deploy(&desired, &DeployOptions::default(), &|event| {
                if let Event::NodeStep {
                    node: "k-1", step, ..
                } = event
                    && step == kill_at
                {
                    panic!("killed at {step}")
                }
            })
        }));
        assert!(killed.is_err(), "{kill_at}");
        assert_every_node_volume_is_referenced_by_its_domain(&session, "kill");

        let report = session.destroy(&desired, &DestroyOptions::default(), &|_| {});
        assert_eq!(report.failed_nodes(), 0, "{kill_at}: {report:?}");
        assert!(report.kept_volumes.is_empty(), "{kill_at}: {report:?}");
        assert!(domains(&session, "host-a").is_empty(), "{kill_at}");
        let left = volumes(&session, "host-a", "fleet-kill");
        assert!(
            left.iter()
                .all(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX)),
            "{kill_at}: {left:?}"
        );
        session.close();
    }
}

/// Every volume with a node's names is referred to by that node's domain, which carries the fleet's mark.
fn assert_every_node_volume_is_referenced_by_its_domain(
    session: &fleet_libvirt::Session,
    fleet: &str,
) {
    let pool = format!("fleet-{fleet}");
    for volume in volumes(session, "host-a", &pool) {
        let Some(rest) = volume.strip_prefix(&format!("{fleet}.")) else {
            continue;
        };
        let node = rest.split('.').next().unwrap();
        let xml = connection(session, "host-a")
            .lookup_domain_by_name(node)
            .ok()
            .and_then(|domain| domain.xml_desc(0).ok())
            .unwrap_or_else(|| panic!("{volume}: no domain {node}"));
        assert!(
            xml.contains(&format!("fleet='{fleet}' node='{node}'"))
                || xml.contains(&format!("fleet=\"{fleet}\" node=\"{node}\"")),
            "{volume}: domain {node} is not the fleet's: {xml}"
        );
        assert!(
            xml.contains(&format!("/{volume}'")),
            "{volume}: domain {node} does not refer to it: {xml}"
        );
    }
}

#[test]
fn reservations_that_exist_are_kept_and_taken_addresses_fail_the_node() {
    let scratch = Scratch::new();
    let session = open(&[host("host-c")]);
    let desired = fleet_of(
        &scratch,
        "dhcp",
        vec![
            with_reservation(
                node("dhcp", "d-1", "host-c", 1, 0),
                Ipv4Addr::new(192, 168, 122, 41),
            ),
            // 192.168.122.40 is reserved for the printer in host-c.xml.
            with_reservation(
                node("dhcp", "d-2", "host-c", 2, 0),
                Ipv4Addr::new(192, 168, 122, 40),
            ),
        ],
    );
    // The identical entry already exists (a run killed after reserving): that is success.
    let network = connection(&session, "host-c")
        .lookup_network_by_name("default")
        .unwrap();
    network
        .update(
            virt::sys::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
            virt::sys::VIR_NETWORK_SECTION_IP_DHCP_HOST,
            -1,
            "<host mac='52:54:00:10:00:01' name='d-1' ip='192.168.122.41'/>",
            virt::sys::VIR_NETWORK_UPDATE_AFFECT_LIVE | virt::sys::VIR_NETWORK_UPDATE_AFFECT_CONFIG,
        )
        .unwrap();
    let report = deploy(&session, &desired, &DeployOptions::default());
    let rows = actions(&report);
    assert_eq!(rows[0], ("d-1".to_owned(), "create done".to_owned()));
    assert_eq!(
        rows[1].1,
        "create failed at reservation: address 192.168.122.40 is already reserved for 52:54:00:99:99:99 in network default"
    );
    assert!(!domains(&session, "host-c").contains("d-2"));
    assert_eq!(reservations(&session, "host-c").len(), 2);

    session.destroy(&desired, &DestroyOptions::default(), &|_| {});
    assert_eq!(
        reservations(&session, "host-c"),
        vec!["<host mac='52:54:00:99:99:99' name='printer' ip='192.168.122.40'/>".to_owned()]
    );
}

#[test]
fn nodes_placed_on_another_host_move_only_with_replace() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a"), host("host-b")]);
    let mut desired = fleet_of(&scratch, "move", vec![node("move", "m-1", "host-a", 1, 0)]);
    deploy(&session, &desired, &DeployOptions::default());
    // A host without nodes is only looked at: no pool, no image there.
    assert!(
        connection(&session, "host-b")
            .lookup_storage_pool_by_name("fleet-move")
            .is_err()
    );
    let (located, failures) = session.locate("move");
    assert_eq!(located, [("m-1".to_owned(), "host-a".to_owned())].into());
    assert!(failures.is_empty());
    desired.nodes[0].host = "host-b".to_owned();

    let report = deploy(&session, &desired, &DeployOptions::default());
    let Some(Action::Changed(differences)) = &report.nodes[0].action else {
        panic!("{report:?}");
    };
    assert_eq!(differences[0].field, Field::Host);
    assert_eq!(differences[0].observed, "host-a");
    assert!(domains(&session, "host-b").is_empty());

    let report = deploy(
        &session,
        &desired,
        &DeployOptions {
            replace: true,
            ..DeployOptions::default()
        },
    );
    assert!(
        matches!(report.nodes[0].outcome, DeployOutcome::Done),
        "{report:?}"
    );
    assert!(domains(&session, "host-a").is_empty());
    assert_eq!(domains(&session, "host-b"), ["m-1".to_owned()].into());
    assert!(
        !volumes(&session, "host-a", "fleet-move")
            .iter()
            .any(|volume| volume.starts_with("move."))
    );
}

#[test]
fn status_lists_domains_no_node_accounts_for() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "stray",
        vec![
            node("stray", "s-1", "host-a", 1, 0),
            node("stray", "s-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());
    desired.nodes.pop();
    let status = session.status(&desired, &StatusOptions::default());
    assert_eq!(status.strays.len(), 1);
    assert_eq!(status.strays[0].domain, "s-2");

    // Destroying the whole (smaller) fleet removes the stray and its volumes too.
    let report = session.destroy(&desired, &DestroyOptions::default(), &|_| {});
    assert_eq!(report.nodes.len(), 2);
    assert!(domains(&session, "host-a").is_empty());
    assert!(
        !volumes(&session, "host-a", "fleet-stray")
            .iter()
            .any(|volume| volume.starts_with("stray."))
    );
}

#[test]
fn capacity_is_read_from_each_host() {
    let scratch = Scratch::new();
    let session = open(&[
        host("host-a"),
        host("host-b"),
        host("host-c"),
        unreachable_host("host-x"),
    ]);
    let target = scratch.target("cap");
    let readings: Vec<(u32, u64)> = ["host-a", "host-b", "host-c"]
        .iter()
        .map(|host| {
            let reading = fleet_libvirt::read_host_capacity(&session, host, &target).unwrap();
            (reading.cpus, reading.memory_mib)
        })
        .collect();
    assert_eq!(readings, [(16, 65536), (8, 32768), (4, 8192)]);
    let reading = fleet_libvirt::read_host_capacity(&session, "host-c", &target).unwrap();
    let capacity = reading.to_host_capacity();
    assert_eq!(
        (capacity.vcpus, capacity.memory_mib, capacity.disk_gib),
        (Some(4), Some(8192), None)
    );
    assert!(matches!(
        fleet_libvirt::read_host_capacity(&session, "host-x", &target),
        Err(Error::HostUnreachable { .. })
    ));
}

/// `fleet diff` reads a dry run: it lists the fleet's domains no desired node accounts for, and a
/// node made from another base image than the fleet now names differs in `image`.
#[test]
fn a_dry_run_lists_strays_and_nodes_made_from_another_image() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "rebase",
        vec![
            node("rebase", "r-1", "host-a", 1, 0),
            node("rebase", "r-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());
    let dry_run = DeployOptions {
        dry_run: true,
        ..DeployOptions::default()
    };
    let report = deploy(&session, &desired, &dry_run);
    assert!(report.strays.is_empty(), "{report:?}");
    assert_eq!(
        summary(&report)
            .into_iter()
            .map(|(_, action, _)| action)
            .collect::<Vec<_>>(),
        ["unchanged", "unchanged"]
    );

    desired.nodes.pop();
    let newer = scratch.directory.path().join("newer.qcow2");
    std::fs::write(&newer, b"QFI\xfbanother build").unwrap();
    let old_base = names::base_image_volume(&sha256_of(&scratch.image()));
    let new_base = names::base_image_volume(&sha256_of(&newer));
    desired.target.image = fleet_libvirt::BackingImage::File(newer);
    let report = deploy(&session, &desired, &dry_run);
    assert_eq!(
        report.nodes[0].action,
        Some(Action::Changed(vec![fleet_libvirt::Difference {
            field: Field::Image,
            desired: new_base,
            observed: old_base,
        }])),
        "{report:?}"
    );
    assert_eq!(
        report
            .strays
            .iter()
            .map(|stray| (stray.host.as_str(), stray.domain.as_str()))
            .collect::<Vec<_>>(),
        [("host-a", "r-2")]
    );
    // A real deploy reports the image, touches nothing, and the stray stays.
    let report = deploy(&session, &desired, &DeployOptions::default());
    assert_eq!(
        report.nodes[0].action.as_ref().map(Action::as_str),
        Some("changed")
    );
    assert!(domains(&session, "host-a").contains("r-2"));
}

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A node remembers the release of the image it was created from, when the image's record is of
/// that very file; `fleet status` reads it back.
#[test]
fn a_node_records_the_release_of_the_image_it_was_made_from() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut desired = fleet_of(
        &scratch,
        "release",
        vec![
            node("release", "v-1", "host-a", 1, 0),
            node("release", "v-2", "host-a", 2, 0),
        ],
    );
    desired.target.image_release = Some(fleet_libvirt::ImageRelease {
        release: "43.20261115.3.0".to_owned(),
        uncompressed_sha256: sha256_of(&scratch.image()),
    });
    let mut first = desired.clone();
    first.nodes.pop();
    deploy(&session, &first, &DeployOptions::default());
    // A record of other bytes (the file was replaced after the pull) is not believed.
    desired.target.image_release = Some(fleet_libvirt::ImageRelease {
        release: "44.20270101.1.0".to_owned(),
        uncompressed_sha256: "0".repeat(64),
    });
    deploy(&session, &desired, &DeployOptions::default());
    let status = session.status(&desired, &StatusOptions::default());
    let releases: Vec<Option<&str>> = status
        .nodes
        .iter()
        .map(|node| node.release.as_deref())
        .collect();
    assert_eq!(releases, [Some("43.20261115.3.0"), None]);
    assert!(
        domain_xml(&session, "host-a", "v-1").contains("release=\"43.20261115.3.0\"")
            || domain_xml(&session, "host-a", "v-1").contains("release='43.20261115.3.0'")
    );
}

/// `fleet deploy --plan` holds the deploy to the reviewed actions: a node whose decision differs
/// (or that the plan does not list) fails untouched, the others proceed.
#[test]
fn a_deploy_held_to_reviewed_actions_touches_no_node_that_needs_another() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let desired = fleet_of(
        &scratch,
        "held",
        vec![
            node("held", "h-1", "host-a", 1, 0),
            node("held", "h-2", "host-a", 2, 0),
            node("held", "h-3", "host-a", 3, 0),
        ],
    );
    let options = DeployOptions {
        reviewed: Some(
            [
                ("h-1".to_owned(), Action::Create),
                ("h-2".to_owned(), Action::Unchanged),
            ]
            .into(),
        ),
        ..DeployOptions::default()
    };
    let report = deploy(&session, &desired, &options);
    let rows = summary(&report);
    assert_eq!(
        rows[0],
        ("h-1".to_owned(), "create".to_owned(), "done".to_owned())
    );
    assert_eq!(
        rows[1].2,
        "failed at observe: node h-2 now needs create, but the reviewed plan says unchanged; nothing was done to it: review a new diff"
    );
    assert!(
        rows[2]
            .2
            .contains("the reviewed plan says nothing (the node is not in it)"),
        "{rows:?}"
    );
    assert_eq!(domains(&session, "host-a"), ["h-1".to_owned()].into());
}

/// `fleet status` reads each node's console log back through libvirt: the log is a volume of the
/// fleet's pool (qemu writes it; the pool refresh makes it a volume). The test driver cannot
/// download, so on its local connection the file is read, its last `CONSOLE_TAIL_BYTES` only; a
/// node without a log has none.
#[test]
fn status_reads_the_end_of_each_nodes_console_log_from_its_pool() {
    let scratch = Scratch::new();
    let hosts = [host("host-a")];
    let session = open(&hosts);
    let desired = fleet_of(
        &scratch,
        "demo",
        vec![
            node("demo", "web-1", "host-a", 1, 0),
            node("demo", "web-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &desired, &DeployOptions::default());
    let log_name = names::console_log_volume("demo", "web-1");
    let pool = connection(&session, "host-a")
        .lookup_storage_pool_by_name("fleet-demo")
        .unwrap();
    let volume_xml = format!(
        "<volume><name>{log_name}</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>"
    );
    virt::storage_vol::StorageVol::create_xml(&pool, &volume_xml, 0).unwrap();
    let mut log = vec![b'x'; 100_000];
    log.extend_from_slice(b"\nFLEET-HEALTH {\"state\":\"healthy\"}\r\nlogin: ");
    std::fs::write(scratch.pool().join(&log_name), &log).unwrap();

    let options = StatusOptions {
        console_marker: Some("FLEET-HEALTH ".to_owned()),
        ..StatusOptions::default()
    };
    let status = session.status(&desired, &options);
    let line_of = |name: &str| {
        let node = status.nodes.iter().find(|node| node.node == name).unwrap();
        match &node.console_line {
            Ok(line) => line.clone(),
            Err(error) => panic!("{name}: {error}"),
        }
    };
    assert_eq!(
        line_of("web-1").as_deref(),
        Some("FLEET-HEALTH {\"state\":\"healthy\"}")
    );
    assert_eq!(line_of("web-2"), None);
    // Only the last CONSOLE_TAIL_BYTES are read: a line before them is not seen.
    let mut old = b"FLEET-HEALTH {\"state\":\"old\"}\n".to_vec();
    old.extend(std::iter::repeat_n(
        b'x',
        fleet_libvirt::CONSOLE_TAIL_BYTES as usize,
    ));
    std::fs::write(scratch.pool().join(&log_name), &old).unwrap();
    let status = session.status(&desired, &options);
    assert!(
        matches!(status.nodes[0].console_line, Ok(None)),
        "{:?}",
        status.nodes[0]
    );
    // Without a marker no console is read.
    let status = session.status(&desired, &StatusOptions::default());
    assert!(matches!(status.nodes[0].console_line, Ok(None)));
}
