//! End-to-end proof on a real libvirtd that `fleet destroy` and `fleet deploy --replace` leave alone the volumes of a domain fleet did not make (issue 11, item 3).
//!
//! A fleet node's domain is replaced by a domain of the same name made with virsh, without fleet's
//! metadata, whose disk, fw_cfg Ignition entry and console log are the volumes fleet had made for
//! the node. destroy refuses that domain and must keep all three; before the fix its "leftover
//! volume" sweep deleted them.

use fleet_tests::binary::run_fleet_json;
use fleet_tests::checks::{fleet_args, nodes_by_name};
use fleet_tests::e2e;
use fleet_tests::fleet_toml::E2eFleet;
use fleet_tests::workdir::WorkDir;

#[test]
fn destroy_keeps_the_volumes_of_a_domain_fleet_did_not_make() {
    let test = "destroy_keeps_the_volumes_of_a_domain_fleet_did_not_make";
    let Some(environment) = e2e::environment(test) else {
        return;
    };
    let virsh = environment.virsh();
    let fleet = E2eFleet::new(
        &format!("e2e-o{}", std::process::id()),
        &environment.connect,
    )
    .group("web", 2);
    let workdir = WorkDir::new("ownership").unwrap();
    let files = fleet.write(&workdir, &environment.guest).unwrap();
    let nodes = fleet.node_names();
    let (taken, kept_node) = (&nodes[0], &nodes[1]);
    let args = |subcommand: &str, extra: &[&str]| fleet_args(subcommand, &files.fleet_toml, extra);

    let deploy = run_fleet_json(args("deploy", &[])).unwrap();
    assert!(
        deploy.status.success(),
        "{:#}\n{}",
        deploy.json,
        deploy.stderr
    );

    // Someone takes the node over: fleet's domain goes, theirs comes, on fleet's volumes.
    let _ = virsh.run(["destroy", taken.as_str()]);
    virsh.run(["undefine", "--nvram", taken.as_str()]).unwrap();
    let [overlay, ignition, console_log] = files.node_volumes(taken);
    let path = |volume: &str| files.pool_dir.join(volume).display().to_string();
    let definition = workdir.join("foreign.xml");
    std::fs::write(
        &definition,
        format!(
            "<domain type='qemu'><name>{taken}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>\
             <sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='{}'/></sysinfo>\
             <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>\
             <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk>\
             <serial type='file'><source path='{}'/><target port='0'/></serial>\
             </devices></domain>",
            path(&ignition),
            path(&overlay),
            path(&console_log)
        ),
    )
    .unwrap();
    let foreign = virsh.define(taken, &definition).unwrap();
    let foreign_xml = virsh
        .run(["dumpxml", "--inactive", taken.as_str()])
        .unwrap();
    let has_its_volumes = || {
        let volumes = virsh.volume_names(&files.pool_name).unwrap();
        [&overlay, &ignition, &console_log]
            .iter()
            .all(|volume| volumes.contains(volume))
    };
    assert!(has_its_volumes());

    // Rebuilding the node over it is a conflict: nothing is touched.
    let replace = run_fleet_json(args("deploy", &["--node", taken, "--replace"])).unwrap();
    assert_eq!(replace.status.code(), Some(1), "{:#}", replace.json);
    let reports = nodes_by_name(&replace.json).unwrap();
    assert_eq!(reports[taken]["action"], "conflict", "{}", reports[taken]);
    assert!(has_its_volumes());

    // The whole fleet's destroy: the other node goes, the foreign domain and its volumes stay.
    let destroy = run_fleet_json(args("destroy", &["--yes"])).unwrap();
    assert!(
        has_its_volumes(),
        "destroy deleted the foreign domain's volumes: {:#}",
        destroy.json
    );
    assert_eq!(
        destroy.status.code(),
        Some(1),
        "{:#}\n{}",
        destroy.json,
        destroy.stderr
    );
    let reports = nodes_by_name(&destroy.json).unwrap();
    assert!(
        reports[taken]["error"]
            .as_str()
            .is_some_and(|error| error.contains("is not managed by fleet")),
        "{}",
        reports[taken]
    );
    assert_eq!(
        reports[kept_node]["removed_domain"], true,
        "{}",
        reports[kept_node]
    );
    let kept: Vec<(String, String)> = destroy.json["kept_volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kept| {
            (
                kept["name"].as_str().unwrap().to_owned(),
                kept["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let used = format!("domain {taken} uses it");
    let mut expected = vec![
        (console_log.clone(), used.clone()),
        (ignition.clone(), used.clone()),
        (overlay.clone(), used),
    ];
    expected.sort();
    assert_eq!(kept, expected, "{:#}", destroy.json);
    assert_eq!(
        virsh
            .run(["dumpxml", "--inactive", taken.as_str()])
            .unwrap(),
        foreign_xml
    );

    // Clean up: the foreign domain and its volumes by hand, then the rest of the fleet.
    foreign.remove().unwrap();
    for volume in [&overlay, &ignition, &console_log] {
        virsh
            .run([
                "vol-delete",
                "--pool",
                files.pool_name.as_str(),
                volume.as_str(),
            ])
            .unwrap();
    }
    let purge = run_fleet_json(args("destroy", &["--yes", "--purge-image"])).unwrap();
    assert!(purge.status.success(), "{:#}\n{}", purge.json, purge.stderr);
    let leftovers = virsh
        .leftovers(&nodes, &files.pool_name, &files.pool_dir, &fleet.network)
        .unwrap();
    assert!(leftovers.nothing_of_fleets_own(), "left: {leftovers:#?}");
    virsh.remove_qemu_logs(&nodes);
}
